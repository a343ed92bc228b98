"""Self-supervised monocular video: monodepth2's depth network, view synthesis with known geometry,
the strategy's loss against a direct per-source computation, and the recipe end to end."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from depthforge.data.collate import Batch
from depthforge.data.tum import poses_from_tum
from depthforge.errors import DepthforgeError
from depthforge.geometry.se3 import pose_vec_to_matrix
from depthforge.geometry.warp import synthesize_view
from depthforge.io import read_depth, read_rgb
from depthforge.losses.photometric import photometric_error
from depthforge.losses.smoothness import edge_aware_smoothness
from depthforge.models import create_model
from depthforge.models.monodepth2 import (
    DECODER_CHANNELS,
    Monodepth2,
    disp_to_depth,
    load_monodepth2_state_dict,
)
from depthforge.models.predict import resize
from depthforge.synth.dataset import SynthDataset
from depthforge.train.strategies import STRATEGIES
from depthforge.train.strategies.monocular import MonocularVideo, build_monocular
from depthforge.types import OutputSpace
from tests.monodepth2_loss_reference import reprojection_error

SLAMBOOK_K = torch.tensor([[518.0, 0.0, 325.5], [0.0, 519.0, 253.5], [0.0, 0.0, 1.0]])


def relative_pose(camera_to_world_t: torch.Tensor, camera_to_world_s: torch.Tensor):
    """``T_{t→s} = (T_world←s)⁻¹ · T_world←t`` in float64."""
    return torch.linalg.inv(camera_to_world_s.double()) @ camera_to_world_t.double()


# ---------------------------------------------------------------------------- view synthesis


@pytest.fixture(scope="module")
def indoor_video() -> SynthDataset:
    return SynthDataset(
        scenes=2, frames=3, size=(64, 48), kind="indoor", neighbour_offsets=(-1, 1), pairs=0
    )


def test_ground_truth_depth_and_pose_reproduce_the_target(indoor_video):
    # Measured on these 12 (frame, source) pairs: warped error 0.008–0.025 against identity
    # 0.060–0.117, at most 0.24 of it; per-pixel median L1 ≤ 0.0016 (the rest is resampling of
    # 64×48 textures and disocclusions). The inverted pose convention must do clearly worse.
    for index in range(len(indoor_video)):
        sample = indoor_video[index]
        target = sample.image[None]
        for k in range(2):
            source = sample.neighbours[k][None]
            T = relative_pose(sample.pose, sample.neighbour_poses[k]).float()[None]
            warped, inside = synthesize_view(
                source, sample.depth[None], sample.K[None], T, align_corners=True
            )
            valid = inside & sample.mask[None]
            assert valid.float().mean() > 0.85
            error = photometric_error(warped, target)[valid].mean()
            identity = photometric_error(source, target)[valid].mean()
            assert error < 0.03 and error < 0.3 * identity, (index, k, error, identity)
            l1 = (warped - target).abs().mean(1, keepdim=True)[valid]
            assert l1.median() < 0.003
            wrong, _ = synthesize_view(
                source, sample.depth[None], sample.K[None], torch.linalg.inv(T), align_corners=True
            )
            assert photometric_error(wrong, target)[valid].mean() > 2 * error


def rgb_tensor(path: Path) -> torch.Tensor:
    """``(1, 3, H, W)`` float in [0, 1]."""
    return torch.from_numpy(read_rgb(path).astype(np.float32) / 255.0).permute(2, 0, 1)[None]


def test_real_rgbd_frames_warp_with_their_poses(shared_data):
    root = shared_data / "slambook2_rgbd_5frames"
    rows = np.loadtxt(root / "pose.txt")  # tx ty tz qx qy qz qw, camera → world
    poses = torch.from_numpy(poses_from_tum(rows[:, :3], rows[:, 3:]))
    # Measured mean L1 on pixels with depth that land inside the source (63 % / 31 % of them):
    # 4→5 (0.23 m, 4.3°) 0.048 vs 0.088 unwarped; 1→2 (0.41 m, 25.5°) 0.085 vs 0.232 — real sensor
    # noise, exposure changes, occlusions and SLAM poses keep it far from 0. The inverted pose
    # convention gives 0.102 and 0.257: worse than not moving at all.
    for t, s in [(4, 5), (1, 2)]:  # 1-based file names
        target, source = (rgb_tensor(root / f"color/{i}.png") for i in (t, s))
        depth = torch.from_numpy(read_depth(root / f"depth/{t}.pgm", "png16", 1000.0))[None, None]
        T = relative_pose(poses[t - 1], poses[s - 1]).float()[None]
        warped, inside = synthesize_view(source, depth, SLAMBOOK_K, T, align_corners=True)
        valid = inside & (depth > 0)
        assert valid.float().mean() > 0.3
        l1 = (warped - target).abs().mean(1, keepdim=True)[valid].mean()
        identity = (source - target).abs().mean(1, keepdim=True)[valid].mean()
        assert l1 < 0.6 * identity, (t, s, l1, identity)
        inverted, _ = synthesize_view(
            source, depth, SLAMBOOK_K, torch.linalg.inv(T), align_corners=True
        )
        assert (inverted - target).abs().mean(1, keepdim=True)[valid].mean() > 1.5 * l1


# ---------------------------------------------------------------------------- depth network


def test_decoder_levels_scales_and_sigmoid_range():
    model = create_model("monodepth2_resnet18", input_size=(64, 64))
    encoder_channels = (64, 64, 128, 256, 512)
    for level in range(5):
        first = model.decoder.upconv(level, 0).conv.conv
        second = model.decoder.upconv(level, 1).conv.conv
        expected_in = encoder_channels[-1] if level == 4 else DECODER_CHANNELS[level + 1]
        assert (first.in_channels, first.out_channels) == (expected_in, DECODER_CHANNELS[level])
        skip = encoder_channels[level - 1] if level > 0 else 0
        assert second.in_channels == DECODER_CHANNELS[level] + skip
        assert first.kernel_size == (3, 3) and first.padding == (0, 0)  # padding by reflection
        assert isinstance(model.decoder.upconv(level, 0).conv.pad, torch.nn.ReflectionPad2d)
        assert isinstance(model.decoder.upconv(level, 0).nonlin, torch.nn.ELU)
    for scale in range(4):
        assert model.decoder.dispconv(scale).conv.in_channels == DECODER_CHANNELS[scale]
        assert model.decoder.dispconv(scale).conv.out_channels == 1
    assert model.output_space is OutputSpace.SCALE_INVARIANT_DEPTH
    torch.manual_seed(0)
    out = model.eval()(torch.rand(1, 3, 64, 96) * 4 - 1.5)  # far outside [0, 1]: still in range
    assert [tuple(d.shape) for d in out.disparities] == [(1, 1, 64 >> s, 96 >> s) for s in range(4)]
    for disp in out.disparities:
        assert disp.min() >= 0 and disp.max() <= 1
    torch.testing.assert_close(out.depth, disp_to_depth(out.disparities[0])[1])
    assert out.depth.min() >= 0.1 - 1e-5 and out.depth.max() <= 100.0 + 1e-3
    with pytest.raises(ValueError, match="multiples of 32"):
        model(torch.rand(1, 3, 48, 96))
    resnet50 = create_model("monodepth2_resnet50", input_size=(64, 64))
    assert resnet50.decoder.upconv(4, 0).conv.conv.in_channels == 2048
    assert resnet50.decoder.upconv(1, 1).conv.conv.in_channels == 32 + 64


def test_disp_to_depth_by_hand():
    scaled, depth = disp_to_depth(torch.tensor([0.0, 0.5, 1.0]), 0.1, 100.0)
    # 1/100 + (10 − 1/100)·d
    torch.testing.assert_close(scaled, torch.tensor([0.01, 0.01 + 9.99 / 2, 10.0]))
    torch.testing.assert_close(depth, torch.tensor([100.0, 1 / 5.005, 0.1]))


def test_monodepth2_weights_load_key_for_key():
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(weights=None)
    encoder_state = {f"encoder.{k}": v for k, v in reference.state_dict().items()}
    encoder_state |= {"height": torch.tensor(192), "width": torch.tensor(640)}
    source = Monodepth2()
    decoder_state = {
        k[len("decoder.") :]: v for k, v in source.state_dict().items() if "decoder" in k
    }
    assert "decoder.10.conv.weight" in decoder_state  # dispconv(0), monodepth2's index
    model = Monodepth2()
    load_monodepth2_state_dict(model, encoder_state, decoder_state)
    torch.testing.assert_close(model.encoder.stem[0].weight, reference.conv1.weight)
    torch.testing.assert_close(model.encoder.layers[2][1].bn2.bias, reference.layer3[1].bn2.bias)
    torch.testing.assert_close(
        model.decoder.dispconv(3).conv.weight, source.decoder.dispconv(3).conv.weight
    )
    # Features equal monodepth2's ResnetEncoder: relu(bn1(conv1)), layer1(maxpool), ... layer4.
    x = torch.rand(1, 3, 64, 64)
    reference.eval(), model.eval()
    features = model.encoder.pyramid(x)
    stem = reference.relu(reference.bn1(reference.conv1(x)))
    torch.testing.assert_close(features[0], stem)
    torch.testing.assert_close(
        features[4],
        reference.layer4(
            reference.layer3(reference.layer2(reference.layer1(reference.maxpool(stem))))
        ),
    )
    with pytest.raises(RuntimeError, match="Missing"):
        load_monodepth2_state_dict(model, {}, decoder_state)


# ---------------------------------------------------------------------------- the strategy


def video_batch(image: torch.Tensor, sources: torch.Tensor, K: torch.Tensor) -> Batch:
    b = image.shape[0]
    return Batch(
        image=image,
        depth=torch.zeros(b, 1, *image.shape[-2:]),
        mask=torch.zeros(b, 1, *image.shape[-2:], dtype=torch.bool),
        K=K.expand(b, 3, 3),
        neighbours=sources,
    )


@pytest.fixture(scope="module")
def small_model() -> Monodepth2:
    torch.manual_seed(0)
    return create_model("monodepth2_resnet18", input_size=(64, 64))


K_SMALL = torch.tensor([[60.0, 0.0, 31.5], [0.0, 60.0, 31.5], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize("upsample", [True, False])
def test_constant_images_leave_only_the_smoothness_term(small_model, upsample):
    # Black frames: every warp of 0 is exactly 0 (a grey level would leave ~1e-5 of SSIM term from
    # float rounding in the bilinear weights, as large as the smoothness term checked here).
    image = torch.zeros(1, 3, 64, 64)
    batch = video_batch(image, image[:, None].repeat(1, 2, 1, 1, 1), K_SMALL)
    # without auto-masking: its tie-breaking noise (σ = 1e-5) would be as large as this term
    strategy = MonocularVideo(upsample=upsample, automask=False)
    loss, logs = strategy(small_model, batch)
    disparities = small_model(image).disparities
    smooth = [edge_aware_smoothness(d, resize(image, d.shape[-2:])) for d in disparities]
    expected = sum(1e-3 * value / 2**s for s, value in enumerate(smooth)) / 4
    torch.testing.assert_close(loss, expected, rtol=1e-5, atol=1e-9)
    assert logs["photometric"] == 0.0

    explained = MonocularVideo(upsample=upsample, explainability=True)(small_model, batch)[0]
    # zero-initialised head: Ê = ½ everywhere, L_reg = −log σ(0) = log 2 per scale (weight 0.2)
    torch.testing.assert_close(explained, expected + 0.2 * math.log(2), rtol=1e-5, atol=1e-7)


def test_loss_equals_a_per_source_per_scale_computation(small_model):
    torch.manual_seed(1)
    image = torch.rand(2, 3, 64, 64)
    sources = (image[:, None] + 0.1 * torch.rand(2, 2, 3, 64, 64)).clamp(0, 1)
    batch = video_batch(image, sources, K_SMALL)
    strategy = MonocularVideo(frame_offsets=(-1, 1))
    loss, _ = strategy(small_model, batch)

    poses = strategy.relative_poses(image, sources)
    total = 0.0
    for scale, disp in enumerate(small_model(image).disparities):
        depth = disp_to_depth(
            torch.nn.functional.interpolate(disp, size=(64, 64), mode="bilinear")
        )[1]
        reprojection, identity = [], []
        for k in range(2):
            warped, _ = synthesize_view(
                sources[:, k], depth, K_SMALL, poses[:, k], align_corners=True
            )
            reprojection.append(photometric_error(warped, image))
            identity.append(photometric_error(sources[:, k], image))
        per_pixel = torch.cat(identity + reprojection, dim=1).min(1).values
        guide = resize(image, disp.shape[-2:])
        total = total + per_pixel.mean() + 1e-3 * edge_aware_smoothness(disp, guide) / 2**scale
    # the tie-breaking noise (σ = 1e-5) is the only difference
    torch.testing.assert_close(loss, total / 4, rtol=0, atol=5e-5)

    strategy.automask = False  # same pose network: the minimum over fewer maps can only grow
    no_mask = strategy(small_model, batch)[0]
    assert no_mask > loss - 5e-5


def _straightforward_monodepth2_loss(model, pose_net_poses, image, sources, noise_seed):
    """monodepth2's ``compute_losses`` written out per scale and per source with the test's own
    SSIM (reflection pad + five average pools), the tie-breaking noise drawn in the strategy's
    order from its seed."""
    generator = torch.Generator().manual_seed(noise_seed)
    height, width = image.shape[-2:]
    identity = torch.cat([reprojection_error(sources[:, k], image) for k in range(2)], dim=1)
    total = 0.0
    for scale, disp in enumerate(model(image).disparities):
        upsampled = torch.nn.functional.interpolate(disp, size=(height, width), mode="bilinear")
        depth = disp_to_depth(upsampled)[1]
        reprojection = []
        for k in range(2):
            warped, _ = synthesize_view(
                sources[:, k], depth, K_SMALL.double(), pose_net_poses[:, k], padding_mode="border"
            )
            reprojection.append(reprojection_error(warped, image))
        noise = torch.randn(identity.shape, generator=generator, dtype=identity.dtype)
        per_pixel = torch.cat([identity + 1e-5 * noise, *reprojection], dim=1).min(1).values
        guide = torch.nn.functional.interpolate(
            image, size=disp.shape[-2:], mode="bilinear", antialias=True
        )
        total = total + per_pixel.mean() + 1e-3 * edge_aware_smoothness(disp, guide) / 2**scale
    return total / 4


def test_loss_and_gradients_equal_a_straightforward_monodepth2_loss():
    # float64, so that the comparison is not limited by float32 sums taken in another order
    # (the pose gradients sum over every pixel: in float32 they differ by ~1e-4 of their size).
    torch.manual_seed(3)
    model = create_model("monodepth2_resnet18", input_size=(64, 64)).double()
    image = torch.rand(1, 3, 64, 64, dtype=torch.float64)
    sources = (image[:, None] + 0.1 * torch.randn(1, 2, 3, 64, 64)).clamp(0, 1)
    strategy = MonocularVideo(frame_offsets=(-1, 1), seed=5).double()
    networks = [*model.parameters(), *strategy.pose_net.parameters()]
    loss, _ = strategy(model, video_batch(image, sources, K_SMALL.double()))
    grads = torch.autograd.grad(loss, networks)
    # the strategy stores the convolution weights channels-last: the same values
    assert model.decoder.dispconv(0).conv.weight.is_contiguous(memory_format=torch.channels_last)
    poses = strategy.relative_poses(image, sources)
    want = _straightforward_monodepth2_loss(model, poses, image, sources, noise_seed=5)
    grads_want = torch.autograd.grad(want, networks)
    torch.testing.assert_close(loss, want, rtol=1e-12, atol=0)
    largest = max(float(g.abs().max()) for g in grads_want)
    worst = max(float((a - b).abs().max()) for a, b in zip(grads, grads_want, strict=True))
    assert worst < 1e-10 * largest, worst / largest  # measured: 6.5e-15


class FixedPose(torch.nn.Module):
    """Stands in for the pose network: records its inputs, returns one fixed 6-vector."""

    def __init__(self, vector: torch.Tensor):
        super().__init__()
        self.vector, self.inputs = vector, []

    def forward(self, frames):
        self.inputs.append(frames)
        return self.vector.expand(frames.shape[0], 1, 6)


def test_pose_inputs_in_temporal_order_and_earlier_frames_inverted():
    strategy = MonocularVideo(frame_offsets=(-1, 1))
    vector = torch.tensor([0.02, -0.01, 0.03, 0.1, 0.0, 0.5])
    strategy.pose_net = FixedPose(vector)
    target = torch.zeros(1, 3, 4, 4)
    sources = torch.stack([torch.full((1, 3, 4, 4), 1.0), torch.full((1, 3, 4, 4), 2.0)], 1)
    poses = strategy.relative_poses(target, sources)
    first, second = strategy.pose_net.inputs
    assert first[:, :3].eq(1).all() and first[:, 3:].eq(0).all()  # (I_{−1}, I_t)
    assert second[:, :3].eq(0).all() and second[:, 3:].eq(2).all()  # (I_t, I_{+1})
    forward = pose_vec_to_matrix(vector)
    torch.testing.assert_close(poses[0, 1], forward)
    torch.testing.assert_close(poses[0, 0], torch.linalg.inv(forward), atol=1e-6, rtol=1e-6)


def test_ddvo_refinement_moves_the_pose_towards_the_truth_and_reaches_depth(indoor_video):
    sample = indoor_video[0]
    target, source = sample.image[None], sample.neighbours[1:2][None]  # offset +1
    truth = relative_pose(sample.pose, sample.neighbour_poses[1])
    strategy = MonocularVideo(frame_offsets=(1,), ddvo_iterations=10)
    strategy.pose_net = FixedPose(torch.zeros(6))  # the pose network says "no motion"
    depth = sample.depth[None].clamp_min(0.1).requires_grad_(True)
    refined = strategy.relative_poses(target, source, depth, sample.K[None])[0, 0]
    plain = strategy.relative_poses(target, source)[0, 0]  # without depth: no refinement
    torch.testing.assert_close(plain, torch.eye(4))
    error = (refined[:3, 3] - truth[:3, 3]).norm()
    assert error < 0.5 * truth[:3, 3].norm()  # measured: 0.011 m left of a 0.124 m motion
    refined[:3, 3].sum().backward()
    assert depth.grad is not None and depth.grad.abs().sum() > 0


def test_geonet_flow_stage_adds_its_terms_and_trains_only_the_flow_network(small_model):
    torch.manual_seed(2)
    image = torch.rand(1, 3, 64, 64)
    sources = (image[:, None] + 0.1 * torch.rand(1, 2, 3, 64, 64)).clamp(0, 1)
    batch = video_batch(image, sources, K_SMALL)
    plain = MonocularVideo(frame_offsets=(-1, 1), automask=False)
    with_flow = MonocularVideo(frame_offsets=(-1, 1), automask=False, geonet_flow=True)
    with_flow.pose_net.load_state_dict(plain.pose_net.state_dict())
    base, _ = plain(small_model, batch)
    loss, logs = with_flow(small_model, batch)
    assert set(with_flow.extra_models) == {"pose_model", "resflow_model"}
    depth0 = small_model.to_depth(small_model(image).disparities[0])[1]
    poses = with_flow.relative_poses(image, sources).flatten(0, 1)
    terms = with_flow._geonet_flow_terms(
        small_model, image, sources.flatten(0, 1), depth0, K_SMALL[None], poses
    )
    torch.testing.assert_close(loss, base + terms["loss"], rtol=1e-5, atol=1e-6)
    assert terms["loss"] > 0 and logs["flow_consistency"] >= 0
    small_model.zero_grad()
    terms["loss"].backward()  # GeoNet's flow stage leaves depth and pose untouched
    assert any(
        p.grad is not None and p.grad.abs().sum() > 0 for p in with_flow.resflow.parameters()
    )
    assert all(p.grad is None for p in small_model.parameters())
    assert all(p.grad is None for p in with_flow.pose_net.parameters())


def test_bad_batches_and_settings_are_explained(small_model):
    image = torch.rand(1, 3, 64, 64)
    with pytest.raises(DepthforgeError, match="neighbours"):
        MonocularVideo()(small_model, Batch(image, image[:, :1], image[:, :1] > 0, K=K_SMALL[None]))
    with pytest.raises(DepthforgeError, match="2 source frames but frame_offsets"):
        MonocularVideo(frame_offsets=(1,))(
            small_model, video_batch(image, image[:, None].repeat(1, 2, 1, 1, 1), K_SMALL)
        )
    with pytest.raises(DepthforgeError, match="loss 'photometric'"):
        build_monocular("berhu", {}, OutputSpace.SCALE_INVARIANT_DEPTH)
    with pytest.raises(DepthforgeError, match="scale_invariant_depth"):
        build_monocular("photometric", {}, OutputSpace.METRIC_DEPTH)
    with pytest.raises(DepthforgeError, match="kwargs"):
        build_monocular("photometric", {"smoothnes_weight": 1.0}, OutputSpace.SCALE_INVARIANT_DEPTH)
    assert STRATEGIES["monocular"] is build_monocular


# ---------------------------------------------------------------------------- the recipe


def test_two_steps_of_the_recipe_and_the_saved_pose_model(tmp_path: Path):
    from depthforge.models import load_model
    from depthforge.models.posenet import PoseNet
    from depthforge.train.config import load_config, resolve_recipe
    from depthforge.train.run import build_training, finish_run

    overrides = [
        f"out_dir={tmp_path / 'run'}",
        "loop.steps=2",
        "loop.batch_size=2",
        "loop.val_every=2",
        "loop.ckpt_every=2",
        "model.overrides.input_size=[64,64]",
        "train_data.options.scenes=1",
        "train_data.options.frames=2",
        "train_data.options.kind=indoor",
        "train_data.options.size=[64,64]",
        "val_data.options.scenes=1",
        "val_data.options.frames=1",
        "val_data.options.kind=indoor",
        "val_data.options.size=[64,64]",
    ]
    cfg = load_config(resolve_recipe("synth_monocular"), overrides)
    assert cfg.strategy == "monocular" and cfg.align == "median"
    run = build_training(cfg)
    result = run.trainer.fit()
    assert result.steps == 2 and all(math.isfinite(x) for x in result.losses)
    model_dir = finish_run(run, result)
    assert isinstance(load_model(model_dir), Monodepth2)
    pose_model = load_model(tmp_path / "run" / "pose_model")
    assert isinstance(pose_model, PoseNet)
    trained = run.trainer.strategy.pose_net.state_dict()
    for key, value in pose_model.state_dict().items():
        torch.testing.assert_close(value, trained[key].cpu())
    metrics = run.trainer.validate(run.trainer.bare_model)  # median-scaled, dense protocol
    assert 0 < metrics["abs_rel"] < 1
