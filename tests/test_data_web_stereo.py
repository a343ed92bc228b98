"""Web stereo (Xian et al. 2018): flow disparity, consistency mask, relative target, dataset
wrapper, online ranking pairs and the ``synth_web_stereo`` recipe."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.stats import spearmanr
from torch import nn

from depthforge.data.collate import collate_samples
from depthforge.data.registry import open_dataset
from depthforge.data.web_stereo import (
    DEPTH_KIND,
    WebStereo,
    disparity_from_flow,
    relative_disparity_target,
)
from depthforge.errors import DataError, DepthforgeError
from depthforge.io import read_rgb
from depthforge.losses.ranking import ordinal_relations, sample_xian_pairs
from depthforge.synth.dataset import SynthDataset
from depthforge.train.config import load_config, resolve_recipe
from depthforge.train.run import build_training
from depthforge.train.strategies import STRATEGIES
from depthforge.train.strategies.web_stereo import WebStereoRanking
from depthforge.types import OutputSpace

# scene: left, right, GT file, GT scale (value / scale = disparity in px; SOURCE.md)
MIDDLEBURY = {
    "tsukuba": ("im3.png", "im4.png", "disp3.pgm", 16.0),
    "teddy": ("im2.png", "im6.png", "disp2.png", 4.0),
}


def as_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(rgb)).permute(2, 0, 1).float() / 255.0


def middlebury(shared_data, scene):
    left, right, gt, scale = MIDDLEBURY[scene]
    folder = shared_data / "middlebury_2001_2003" / scene
    disparity = np.array(Image.open(folder / gt), dtype=np.float32) / scale
    return as_tensor(read_rgb(folder / left)), as_tensor(read_rgb(folder / right)), disparity


def occluded_in_right(disparity: torch.Tensor, tolerance: float = 1.0) -> torch.Tensor:
    """``(H, W)`` True where a left pixel is hidden in the right view: a nearer left pixel (larger
    disparity) lands on the same right pixel (a z-buffer along each row, from the GT)."""
    width = disparity.shape[-1]
    landing = (torch.arange(width, dtype=disparity.dtype) - disparity).round().long()
    landing = landing.clamp(0, width - 1)
    nearest = torch.full_like(disparity, -1.0).scatter_reduce(1, landing, disparity, "amax")
    return disparity < nearest.gather(1, landing) - tolerance


def horizontal_texture(image: torch.Tensor, threshold: float = 0.02) -> torch.Tensor:
    """``(1, H, W)`` True where the grey image's central x difference exceeds ``threshold``."""
    grey = image.mean(0)
    gradient = torch.zeros_like(grey)
    gradient[:, 1:-1] = (grey[:, 2:] - grey[:, :-2]).abs() / 2
    return (gradient > threshold)[None]


# --- flow disparity ----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_a_pure_horizontal_shift_is_recovered(method):
    g = torch.Generator().manual_seed(0)
    coarse = torch.rand(1, 3, 13, 17, generator=g)
    right = nn.functional.interpolate(coarse, size=(48, 64), mode="bilinear")[0]
    left = torch.roll(right, shifts=3, dims=-1)  # left(u) = right(u − 3): disparity 3
    out = disparity_from_flow(left, right, method)
    assert out.disparity.shape == out.mask.shape == (1, 48, 64)
    assert out.mask[:, 4:-4, 8:-4].float().mean() > 0.8
    assert (out.disparity[out.mask] - 3.0).abs().median() < 0.25


@pytest.mark.parametrize("kind", ["indoor", "outdoor"])
def test_flow_disparity_matches_f_b_over_z_on_the_synthetic_world(kind):
    # Measured with DIS at 160×120, scenes 0–2: median |d − f·B/z| on textured, visible,
    # consistent pixels 0.09–0.35 px indoor, 0.24–0.54 px outdoor.
    dataset = SynthDataset(kind=kind, stereo=True, scenes=3, frames=1, size=(160, 120), pairs=0)
    for index in range(len(dataset)):
        sample = dataset[index]
        focal_baseline = float(sample.K[0, 0]) * sample.stereo.baseline
        gt = torch.where(sample.mask, focal_baseline / sample.depth.clamp(min=1e-6), 0.0)
        out = disparity_from_flow(sample.image, sample.stereo.image, "dis")
        inside = torch.arange(gt.shape[-1]) - gt >= 0
        visible = sample.mask & inside & ~occluded_in_right(gt[0])[None]
        selected = visible & horizontal_texture(sample.image) & out.mask
        assert selected.sum() > 1000
        assert (out.disparity - gt)[selected].abs().median() < 0.8, sample.id


def test_flow_disparity_agrees_with_middlebury_ground_truth(shared_data):
    # Measured on tsukuba (384×288): among consistent pixels with GT, DIS is within 2 px on
    # 96 % (Spearman ρ 0.86), Farnebäck on 87 % (ρ 0.71); over all GT pixels DIS 93 %.
    left, right, gt = middlebury(shared_data, "tsukuba")
    valid = gt > 0
    for method, within, rho in (("dis", 0.9, 0.8), ("farneback", 0.8, 0.6)):
        out = disparity_from_flow(left, right, method)
        d, keep = out.disparity[0].numpy(), out.mask[0].numpy() & valid
        error = np.abs(d - gt)
        assert np.mean(error[keep] < 2.0) > within, method
        assert spearmanr(d[keep], gt[keep])[0] > rho, method
        assert np.mean(error[keep] < 2.0) > np.mean(error[valid] < 2.0), method  # mask helps


@pytest.mark.parametrize("scene", ["tsukuba", "teddy"])
def test_consistency_mask_rejects_occluded_pixels(shared_data, scene):
    # Measured with DIS: occluded pixels rejected 42 % (tsukuba) / 74 % (teddy), visible ones
    # 6 % / 12 %.
    left, right, gt = middlebury(shared_data, scene)
    gt = torch.from_numpy(gt)
    occluded = occluded_in_right(gt) & (gt > 0)
    visible = ~occluded & (gt > 0)
    rejected = ~disparity_from_flow(left, right, "dis").mask[0]
    occluded_rate, visible_rate = (
        rejected[occluded].float().mean(),
        rejected[visible].float().mean(),
    )
    assert occluded.sum() > 1000
    assert occluded_rate > 0.3
    assert occluded_rate > 3 * visible_rate


def test_flow_checks_its_inputs():
    image = torch.rand(3, 8, 8)
    with pytest.raises(ValueError, match="differ in shape"):
        disparity_from_flow(image, torch.rand(3, 8, 9))
    with pytest.raises(ValueError, match="method"):
        disparity_from_flow(image, image, "raft")
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        disparity_from_flow(image[:1], image[:1])


# --- relative target and the dataset wrapper ------------------------------------------------


def test_relative_target_keeps_rectified_disparity_and_shifts_converging_pairs():
    disparity = torch.tensor([[[2.0, 4.0, -9.0], [-1.0, 3.0, 0.5]]])
    mask = torch.tensor([[[True, True, False], [True, True, False]]])
    shifted = relative_disparity_target(disparity, mask)  # lowest valid −1 → 0
    assert torch.equal(shifted, torch.tensor([[[3.0, 5.0, 0.0], [0.0, 4.0, 0.0]]]))
    positive = relative_disparity_target(disparity.abs(), mask)
    assert torch.equal(positive, torch.tensor([[[2.0, 4.0, 0.0], [1.0, 3.0, 0.0]]]))
    assert not relative_disparity_target(disparity, torch.zeros_like(mask)).any()


def stereo_options(**extra):
    return {"scenes": 1, "frames": 2, "size": (64, 48), "stereo": True, "pairs": 10, **extra}


def test_web_stereo_replaces_the_target_by_the_flow_disparity():
    dataset = open_dataset("web_stereo", None, split="train", source_options=stereo_options())
    source = SynthDataset(**stereo_options())
    sample, original = dataset[1], source[1]
    flow = disparity_from_flow(original.image, original.stereo.image, "dis")
    assert torch.equal(sample.image, original.image) and torch.equal(sample.K, original.K)
    assert torch.equal(sample.mask, flow.mask)
    assert torch.equal(sample.depth, relative_disparity_target(flow.disparity, flow.mask))
    assert sample.meta["depth_kind"] == DEPTH_KIND
    assert sample.meta["target_space"] == OutputSpace.AFFINE_INVARIANT_DISPARITY.value
    assert sample.meta["consistent_fraction"] == pytest.approx(float(flow.mask.float().mean()))
    # nothing from the ground truth is left to supervise with
    assert sample.pairs is None and sample.normals is None and sample.labels is None
    assert sample.stereo is None
    assert list(dataset.ids) == list(source.ids)


def test_web_stereo_needs_right_views():
    dataset = WebStereo(source=SynthDataset(scenes=1, frames=1, size=(16, 12)))
    with pytest.raises(DataError, match="no right view"):
        dataset[0]
    with pytest.raises(DepthforgeError, match="itself"):
        WebStereo(source="web_stereo")


# --- online pairs and the strategy -------------------------------------------------------------


def test_online_pairs_are_labelled_by_the_disparity_order():
    dataset = WebStereo(source=SynthDataset(**stereo_options(kind="outdoor")))
    batch = collate_samples([dataset[0], dataset[1]])
    generator = torch.Generator().manual_seed(0)
    pairs, sampled, valid = sample_xian_pairs(batch.depth, batch.image, batch.mask, generator)
    sigma = 0.02
    relations = ordinal_relations(batch.depth, pairs, sigma=sigma, disparity_like=True)
    b = torch.arange(2)[:, None]
    d_a = batch.depth[b, 0, pairs[..., 0], pairs[..., 1]]
    d_b = batch.depth[b, 0, pairs[..., 2], pairs[..., 3]]
    real = valid & sampled
    assert real.sum() > 100
    farther, nearer, equal = (
        (relations == 1) & real,
        (relations == -1) & real,
        (relations == 0) & real,
    )
    assert farther.any() and nearer.any()
    assert (d_a[farther] < d_b[farther]).all()  # +1: A farther = smaller disparity
    assert (d_a[nearer] > d_b[nearer]).all()
    ratio = (d_a[equal] + 1e-6) / (d_b[equal] + 1e-6)
    assert ((ratio < 1 + sigma) & (ratio > 1 / (1 + sigma))).all()


class FixedDepth(nn.Module):
    def __init__(self, depth: torch.Tensor):
        super().__init__()
        self.depth, self.bias = depth, nn.Parameter(torch.zeros(()))

    def forward(self, images):
        return self.depth + 0.0 * self.bias


def test_strategy_prefers_the_depth_order_of_the_flow_target():
    dataset = WebStereo(source=SynthDataset(**stereo_options(kind="outdoor")))
    batch = collate_samples([dataset[0]])
    # −disparity is depth-like (any monotone map ranks alike); measured 0.25 vs 1.16.
    losses = {}
    for name, depth in (("ordered", -batch.depth), ("reversed", batch.depth)):
        strategy = STRATEGIES["web_stereo"]("xian_ranking", {"seed": 3}, OutputSpace.METRIC_DEPTH)
        losses[name], logs = strategy(FixedDepth(depth), batch)
    assert losses["ordered"] < 0.5 * losses["reversed"]
    assert logs["target_coverage"] == pytest.approx(float(batch.mask.float().mean()))


def test_strategy_refuses_metric_targets_and_unknown_losses():
    batch = collate_samples([SynthDataset(scenes=1, frames=1, size=(16, 12))[0]])
    strategy = WebStereoRanking(OutputSpace.METRIC_DEPTH)
    with pytest.raises(DepthforgeError, match="relative disparity"):
        strategy(FixedDepth(torch.ones(1, 1, 12, 16)), batch)
    with pytest.raises(DepthforgeError, match="unknown web_stereo loss"):
        STRATEGIES["web_stereo"]("ranking", {}, OutputSpace.METRIC_DEPTH)


def test_synth_web_stereo_recipe_trains_two_steps(tmp_path):
    overrides = [
        f"out_dir={tmp_path}",
        "loop.steps=2",
        "loop.batch_size=1",
        "loop.val_every=2",
        "loop.ckpt_every=2",
        "model.overrides.input_size=[48, 64]",
        "train_data.options.source_options.scenes=2",
        "train_data.options.source_options.frames=1",
        "train_data.options.source_options.size=[64, 48]",
        "val_data.options.scenes=1",
        "val_data.options.frames=1",
        "val_data.options.size=[64, 48]",
    ]
    cfg = load_config(resolve_recipe("synth_web_stereo"), overrides)
    assert cfg.train_data.dataset == "web_stereo" and cfg.protocol == "diw"
    run = build_training(cfg)
    assert run.train_set[0].meta["depth_kind"] == DEPTH_KIND
    result = run.trainer.fit()
    assert len(result.losses) == 2 and all(np.isfinite(result.losses))
    assert 0.0 <= result.best_metric <= 1.0  # WHDR
