"""Sparse-to-Dense release converter against the authors' network, on the CPU.

Usage::

    python benchmarks/validate_sparse_to_dense_release.py REFERENCE_CHECKOUT [--size 228x304]

``REFERENCE_CHECKOUT`` is a checkout of ``fangchangma/sparse-to-dense.pytorch`` (its
``models.py`` and ``metrics.py`` are imported from there; nothing of it is shipped with
depthforge). For each setting (ResNet-50 and ResNet-18; RGB-D and RGB; decoder ``upproj``):

1. the authors' ``models.ResNet`` is built (``pretrained=False``; their ``Unpool`` calls
   ``.cuda()`` in its constructor, which is made a no-op while it is built) and every parameter
   and BatchNorm statistic is drawn at random;
2. it is saved as a release is: ``torch.save`` of ``{'args', 'epoch', 'arch', 'model',
   'best_result', 'optimizer'}`` with the whole pickled module, an ``argparse.Namespace``, their
   ``metrics.Result`` and an SGD optimizer with momentum buffers, in PyTorch's legacy
   (pre-1.6, non-zip) format as the 2018 files are;
3. depthforge converts the file (restricted unpickler, nothing in it runs) into
   ``sparse_to_dense_*`` with the release's config, and both networks predict the same random
   input in eval mode (``upsample="fast"`` and ``"slow"``).

Prints the max abs difference of the outputs and its ratio to the output's range (target
≤ 1e-5), and, to show that the comparison can fail, the same with depthforge's BatchNorm eps set
to 1e-4 (the FCRN-TF value the former architecture used).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path
from unittest import mock

import torch

from depthforge.models import create_model
from depthforge.models.io import load_checked_state
from depthforge.models.pretrained.converters import CONVERTERS


def randomise(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Draw every weight and BatchNorm statistic at random: convolutions ~ N(0, 1/fan_in), BN
    running variance in [0.02, 0.2] (small, so that the BN eps matters) with γ = √var·(1 + 0.2·n)
    (so that activations keep their scale through 50 layers), running mean and β ~ N(0, 0.2²)."""

    def normal(shape, std=1.0):
        return torch.randn(shape, generator=generator) * std

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                module.weight.copy_(normal(module.weight.shape, module.weight[0].numel() ** -0.5))
            elif isinstance(module, torch.nn.BatchNorm2d):
                var = 0.02 + 0.18 * torch.rand(module.running_var.shape, generator=generator)
                module.running_var.copy_(var)
                module.running_mean.copy_(normal(var.shape, 0.2))
                module.weight.copy_(var.sqrt() * (1 + normal(var.shape, 0.2)))
                module.bias.copy_(normal(var.shape, 0.2))


def save_like_release(models_module, metrics_module, arch: str, modality: str, path: Path):
    """Build, randomise and save the authors' network as their ``main.py`` does; return it."""
    layers = int(arch.removeprefix("resnet"))
    with CUDA_IS_IDENTITY, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchvision's notice about `pretrained`
        model = models_module.ResNet(
            layers=layers,
            decoder="upproj",
            output_size=SIZE,
            in_channels=len(modality),
            pretrained=False,
        )
    randomise(model, torch.Generator().manual_seed(layers + len(modality)))
    optimizer = torch.optim.SGD(model.parameters(), 0.01, momentum=0.9, weight_decay=1e-4)
    for param in model.parameters():
        optimizer.state[param]["momentum_buffer"] = torch.randn_like(param)
    args = argparse.Namespace(
        arch=arch, data="nyudepthv2", modality=modality, num_samples=200 if modality == "rgbd"
        else 0, max_depth=float("inf"), sparsifier="uar", decoder="upproj", workers=10,
        epochs=15, criterion="l1", batch_size=16, lr=0.01, momentum=0.9, weight_decay=1e-4,
        print_freq=10, resume="", evaluate="", pretrained=True,
    )  # fmt: skip
    best = metrics_module.Result()
    best.set_to_worst()
    checkpoint = {
        "args": args,
        "epoch": 14,
        "arch": arch,
        "model": model,
        "best_result": best,
        "optimizer": optimizer,
    }
    torch.save(checkpoint, path, _use_new_zipfile_serialization=False)
    return model.eval()


def compare(reference: torch.nn.Module, path: Path, arch: str, modality: str) -> None:
    state = CONVERTERS["sparse_to_dense_pth_tar"](path)
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(2, 3, *SIZE, generator=generator)
    sparse = torch.zeros(2, 1, *SIZE)
    keep = torch.rand(2, 1, *SIZE, generator=generator) < 200 / (SIZE[0] * SIZE[1])
    sparse[keep] = 0.5 + 9.5 * torch.rand(int(keep.sum()), generator=generator)
    rgbd = modality == "rgbd"
    with torch.no_grad():
        expected = reference(torch.cat([images, sparse], 1) if rgbd else images)
    for upsample in ("fast", "slow"):
        model = create_model(
            f"sparse_to_dense_{arch}", modality=modality, upsample=upsample, input_size=SIZE
        )
        load_checked_state(model, state, path)
        with torch.no_grad():
            got = model.eval()(images, sparse) if rgbd else model.eval()(images)
        span = (expected.max() - expected.min()).item()
        line = f"{arch:9s} {modality:5s} {upsample:5s} | output range {span:8.4g} | "
        print(line + relative_difference(got, expected))
    # Sensitivity: the same comparison with the two details the release depends on undone.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eps = 1e-4
    with torch.no_grad():
        got = model(images, sparse) if rgbd else model(images)
    print(f"{'':25s}  with BN eps 1e-4 instead: " + relative_difference(got, expected))


def relative_difference(got: torch.Tensor, expected: torch.Tensor) -> str:
    """``max |got − expected|`` and its ratio to the range of ``expected``."""
    diff = (got - expected).abs().max().item()
    span = (expected.max() - expected.min()).item()
    return f"max |diff| {diff:.3g} | relative {diff / span:.2e}"


def main() -> None:
    global SIZE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="fangchangma/sparse-to-dense.pytorch checkout")
    parser.add_argument("--size", default="228x304", help="HxW (the release's 228x304)")
    parser.add_argument("--arch", nargs="+", default=["resnet50", "resnet18"])
    options = parser.parse_args()
    SIZE = tuple(int(v) for v in options.size.split("x"))
    sys.path.insert(0, str(options.checkout.resolve()))
    import metrics  # the authors' modules, from the checkout
    import models

    torch.set_num_threads(max(1, torch.get_num_threads()))
    with tempfile.TemporaryDirectory() as tmp:
        for arch in options.arch:
            for modality in ("rgbd", "rgb"):
                path = Path(tmp) / f"{arch}_{modality}.pth.tar"
                reference = save_like_release(models, metrics, arch, modality, path)
                compare(reference, path, arch, modality)


SIZE: tuple[int, int] = (228, 304)
CUDA_IS_IDENTITY = mock.patch.object(torch.Tensor, "cuda", lambda self, *args, **kwargs: self)
"""Makes ``Tensor.cuda`` a no-op (the authors' ``Unpool`` constructor calls it)."""

if __name__ == "__main__":
    main()
