"""One training step of the monocular-video recipe: depthforge against the monodepth2 reference
implementation, same input size, same batch, same weights, same process, on the CPU.

Usage::

    pip install --no-deps monodepth2     # PyPI 1.0.0: a repackaging of nianticlabs/monodepth2
    python benchmarks/selfsup_step.py [--size 96x320] [--batch 4] [--steps 5] [--threads 1]

monodepth2 is *not* a depthforge dependency (non-commercial licence); this script only imports
it. The wheel installs its files as top-level modules (``networks``, ``layers``, ``trainer``, ...);
its ResNet-18 networks, ``layers.py`` and ``Trainer`` loss code are those of the upstream
repository (the wheel differs only in a ResNet-50 block type of the pose encoder).

Setup (both sides): ResNet-18 depth encoder + monodepth2 decoder, a separate ResNet-18 pose
encoder on frame pairs + pose decoder, frames (0, −1, +1), scales 0–3 upsampled to the input
size, SSIM + L1, per-pixel minimum with auto-masking, smoothness 1e-3, float32, Adam (lr 1e-4)
over all parameters, training mode (batch norm on batch statistics).

* monodepth2: its ``networks`` and its ``Trainer.process_batch`` → ``predict_poses`` →
  ``generate_images_pred`` → ``compute_losses``, driven on a Trainer built without its
  ``__init__`` (which opens the KITTI dataset); the imports the Trainer module needs and we do
  not use (``tensorboardX``, ``datasets``, ``IPython``) are stubbed, and the CPU-breaking
  ``.cuda()`` of the tie-breaking noise is made a no-op during the step.
* depthforge: ``create_model("monodepth2_resnet18")`` and ``build_monocular`` (the
  ``MonocularVideo`` strategy, which owns the PoseNet).

Equality: monodepth2's weights are loaded into depthforge's networks (depth: the documented
``load_monodepth2_state_dict``; pose: module by module, the pose decoder's last layer cut to the
one frame it is used for), and the first step's losses and gradients are compared. For that
comparison two things are made equal that otherwise differ (see RESULTS.md): the PoseNet's input
normalisation is set to monodepth2's ``(x − 0.45)/0.225`` and monodepth2's ``grid_sample`` runs
with ``align_corners=True`` (its published PyTorch 0.4.1 behaviour; the loss under the modern
default is printed too).

Timing: after ``--warmup`` untimed steps each, the two sides alternate for ``--steps`` rounds
(the load of a shared machine drifts); each step is zero_grad + forward + loss + backward + Adam
step; the median wall time and the median process CPU time are reported (on a shared machine the
CPU time is the steadier of the two).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import types
from contextlib import contextmanager
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from depthforge.data.collate import Batch
from depthforge.models import create_model
from depthforge.models.monodepth2 import load_monodepth2_state_dict
from depthforge.models.predict import resize
from depthforge.train.strategies.monocular import build_monocular
from depthforge.types import OutputSpace

FRAME_IDS = [0, -1, 1]
SCALES = [0, 1, 2, 3]
KITTI_K = ((0.58, 0.0, 0.5), (0.0, 1.92, 0.5))  # monodepth2's normalised KITTI intrinsics
LEARNING_RATE = 1e-4


def import_monodepth2():
    """``(networks, layers, trainer)`` modules of the installed monodepth2 wheel."""
    # Imported by trainer.py / utils.py for logging, data and downloads; unused here.
    for name in ("tensorboardX", "datasets", "IPython", "six", "six.moves"):
        try:
            __import__(name)
        except ImportError:
            stub = types.ModuleType(name)
            stub.SummaryWriter = stub.embed = stub.urllib = None
            sys.modules[name] = stub
    try:
        import layers
        import networks
        import trainer
    except ImportError as exc:
        raise SystemExit(
            f"monodepth2 is not installed ({exc}): pip install --no-deps monodepth2"
        ) from None
    return networks, layers, trainer


@contextmanager
def cuda_calls_stay_on_cpu():
    """monodepth2's ``compute_losses`` calls ``torch.randn(...).cuda()``: a no-op for the step."""
    original = torch.Tensor.cuda
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    try:
        yield
    finally:
        torch.Tensor.cuda = original


class Monodepth2Side:
    """monodepth2's networks, optimiser and Trainer loss code for one fixed input size."""

    def __init__(self, height: int, width: int, batch: int, align_corners: bool):
        networks, layers, trainer = import_monodepth2()
        opt = types.SimpleNamespace(
            height=height, width=width, batch_size=batch, scales=SCALES, frame_ids=FRAME_IDS,
            min_depth=0.1, max_depth=100.0, disparity_smoothness=1e-3, v1_multiscale=False,
            disable_automasking=False, avg_reprojection=False, predictive_mask=False,
            no_ssim=False, pose_model_type="separate_resnet", use_stereo=False,
        )  # fmt: skip
        self.models = {
            "encoder": networks.ResnetEncoder(18, False),
            "pose_encoder": networks.ResnetEncoder(18, False, num_input_images=2),
        }
        self.models["depth"] = networks.DepthDecoder(self.models["encoder"].num_ch_enc, SCALES)
        self.models["pose"] = networks.PoseDecoder(
            self.models["pose_encoder"].num_ch_enc, num_input_features=1,
            num_frames_to_predict_for=2,
        )  # fmt: skip
        t = object.__new__(trainer.Trainer)  # its __init__ opens the KITTI dataset
        t.opt, t.models, t.device = opt, self.models, torch.device("cpu")
        t.num_scales, t.num_input_frames, t.num_pose_frames = len(SCALES), len(FRAME_IDS), 2
        t.use_pose_net, t.ssim = True, layers.SSIM()
        t.backproject_depth = {0: layers.BackprojectDepth(batch, height, width)}
        t.project_3d = {0: layers.Project3D(batch, height, width)}
        self.trainer, self.trainer_module = t, trainer
        self.set_align_corners(align_corners)
        params = [p for m in self.models.values() for p in m.parameters()]
        self.optimizer = torch.optim.Adam(params, LEARNING_RATE)

    def set_align_corners(self, value: bool) -> None:
        """True: PyTorch 0.4.1's grid_sample, which monodepth2 was written for; False: ≥ 1.3."""
        functional = types.SimpleNamespace(**vars(F))
        functional.grid_sample = partial(F.grid_sample, align_corners=value)
        self.trainer_module.F = functional

    def inputs(self, target, sources, K):
        """monodepth2's input dictionary; the scaled targets are made as depthforge makes them
        (its data loader would resize with PIL's Lanczos filter)."""
        K4 = torch.eye(4).repeat(len(target), 1, 1)
        K4[:, :3, :3] = K
        inputs = {("K", 0): K4, ("inv_K", 0): torch.linalg.pinv(K4)}
        for frame, image in zip(FRAME_IDS, [target, sources[:, 0], sources[:, 1]], strict=True):
            inputs[("color", frame, 0)] = inputs[("color_aug", frame, 0)] = image
        h, w = target.shape[-2:]
        for s in SCALES[1:]:
            inputs[("color", 0, s)] = resize(target, (h // 2**s, w // 2**s))
        return inputs

    def loss(self, inputs) -> torch.Tensor:
        for m in self.models.values():
            m.train()
        with cuda_calls_stay_on_cpu():
            _, losses = self.trainer.process_batch(dict(inputs))
        return losses["loss"]

    def step(self, inputs) -> float:
        self.optimizer.zero_grad()
        loss = self.loss(inputs)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())


class Monodepth2Normalize(nn.Module):
    """``(x − 0.45)/0.225`` on every channel (monodepth2 ``ResnetEncoder.forward``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - 0.45) / 0.225


class DepthforgeSide:
    """depthforge's monodepth2 model and MonocularVideo strategy with monodepth2's weights."""

    def __init__(self, height: int, width: int, reference: Monodepth2Side):
        self.model = create_model("monodepth2_resnet18", input_size=(height, width))
        self.strategy = build_monocular(
            "photometric", {"frame_offsets": (-1, 1)}, OutputSpace.SCALE_INVARIANT_DEPTH
        )
        m = reference.models
        load_monodepth2_state_dict(self.model, m["encoder"].state_dict(), m["depth"].state_dict())
        pose = self.strategy.pose_net
        pose.normalize = Monodepth2Normalize()  # PoseNet normalises with ImageNet mean/std
        src = m["pose_encoder"].encoder
        pairs = zip(
            [*pose.encoder.stem[:2], *pose.encoder.layers],
            [src.conv1, src.bn1, src.layer1, src.layer2, src.layer3, src.layer4],
            strict=True,
        )
        for ours, theirs in pairs:
            ours.load_state_dict(theirs.state_dict())
        convs = [pose.decoder[i] for i in (0, 2, 4, 6)]
        for ours, theirs in zip(convs, m["pose"].net, strict=True):
            n = ours.out_channels  # the last layer predicts 2 frames there, 1 is used
            ours.load_state_dict({k: v[:n] for k, v in theirs.state_dict().items()})
        params = [*self.model.parameters(), *self.strategy.parameters()]
        self.optimizer = torch.optim.Adam(params, LEARNING_RATE)

    def loss(self, batch: Batch) -> torch.Tensor:
        self.model.train()
        self.strategy.train()
        return self.strategy(self.model, batch)[0]

    def step(self, batch: Batch) -> float:
        self.optimizer.zero_grad()
        loss = self.loss(batch)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach())


def random_batch(batch: int, height: int, width: int, seed: int):
    """A smooth random target and two sources shifted by ±2 px with noise; KITTI-like K."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(batch, 3, height // 8, width // 8 + 1, generator=g)
    big = F.interpolate(coarse, size=(height, width + 8), mode="bilinear", align_corners=False)
    target = big[..., 4 : 4 + width]
    sources = torch.stack([big[..., 2 : 2 + width], big[..., 6 : 6 + width]], dim=1)
    sources = (sources + 0.02 * torch.randn(sources.shape, generator=g)).clamp(0, 1)
    K = torch.eye(3).repeat(batch, 1, 1)
    K[:, :2] = torch.tensor(KITTI_K) * torch.tensor([[width], [height]])
    return target.contiguous(), sources.contiguous(), K


def gradient_difference(ours: DepthforgeSide, theirs: Monodepth2Side) -> float:
    """max |g_ours − g_theirs| / max |g_theirs| over the depth networks' parameters."""
    m = theirs.models
    pairs = [
        (ours.model.decoder.decoder, m["depth"].decoder),
        (ours.model.encoder.layers, nn.ModuleList([m["encoder"].encoder.get_submodule(f"layer{i}") for i in range(1, 5)])),
    ]  # fmt: skip
    diff = scale = 0.0
    for a, b in pairs:
        for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
            diff = max(diff, float((pa.grad - pb.grad).abs().max()))
            scale = max(scale, float(pb.grad.abs().max()))
    return diff / scale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="96x320", help="HxW, multiples of 32")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per side")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per side")
    parser.add_argument("--threads", type=int, default=1, help="1: stable on a shared machine")
    args = parser.parse_args()
    height, width = (int(v) for v in args.size.lower().split("x"))
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    theirs = Monodepth2Side(height, width, args.batch, align_corners=True)
    ours = DepthforgeSide(height, width, theirs)
    target, sources, K = random_batch(args.batch, height, width, seed=1)
    inputs = theirs.inputs(target, sources, K)
    batch = Batch(
        image=target,
        depth=torch.zeros(args.batch, 1, height, width),
        mask=torch.zeros(args.batch, 1, height, width, dtype=torch.bool),
        K=K,
        neighbours=sources,
    )
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, input {height}×{width}, "
        f"batch {args.batch}, frames (0, −1, +1), 4 scales, float32, CPU, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    # Equality on identical weights, before any optimiser step.
    loss_theirs, loss_ours = theirs.loss(inputs), ours.loss(batch)
    loss_theirs.backward()
    loss_ours.backward()
    loss_theirs, loss_ours = loss_theirs.item(), loss_ours.item()
    relative = abs(loss_ours - loss_theirs) / abs(loss_theirs)
    grad = gradient_difference(ours, theirs)
    theirs.set_align_corners(False)
    with torch.no_grad():
        loss_modern = float(theirs.loss(inputs))
    theirs.set_align_corners(True)
    print(
        f"loss monodepth2 {loss_theirs:.7f}, depthforge {loss_ours:.7f}: relative "
        f"difference {relative:.2e}; depth-network gradients differ by {grad:.2e} of their max"
    )
    print(
        f"(monodepth2 under PyTorch ≥ 1.3's default align_corners=False: loss {loss_modern:.7f}, "
        f"{abs(loss_modern - loss_theirs) / loss_theirs:.2e} from its published form)"
    )
    if relative > 1e-4:
        raise SystemExit(f"losses differ by {relative:.2e} > 1e-4: the comparison is not valid")

    for _ in range(args.warmup):
        theirs.step(inputs)
        ours.step(batch)
    wall: dict[str, list[float]] = {"monodepth2": [], "depthforge": []}
    cpu: dict[str, list[float]] = {"monodepth2": [], "depthforge": []}
    for _ in range(args.steps):
        for name, run in (("monodepth2", partial(theirs.step, inputs)), ("depthforge", partial(ours.step, batch))):  # fmt: skip
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    # CPU time (all threads of this process) is what the step costs; wall time also counts the
    # waits for a core on a shared machine.
    base_wall, base_cpu = (statistics.median(t["monodepth2"]) for t in (wall, cpu))
    print("| implementation | wall ms/step: median | min | max | CPU ms/step: median | vs monodepth2 (wall, CPU) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|")
    for name in wall:
        median_wall, median_cpu = statistics.median(wall[name]), statistics.median(cpu[name])
        print(
            f"| {name} | {1000 * median_wall:.0f} | {1000 * min(wall[name]):.0f} | "
            f"{1000 * max(wall[name]):.0f} | {1000 * median_cpu:.0f} | "
            f"×{base_wall / median_wall:.2f}, ×{base_cpu / median_cpu:.2f} |"
        )
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
