"""Specification of ``SynthDataset``: the Sample contract, determinism, exact multi-view geometry
(reprojection between frames, stereo disparity f·B/z), analytic normals, and enough variety that a
constant depth is a poor predictor."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from depthforge.data.registry import open_dataset
from depthforge.eval.baselines import weighted_median
from depthforge.geometry.camera import intrinsics_from_fov
from depthforge.geometry.normals import normals_from_depth
from depthforge.synth.dataset import SynthDataset, parse_size, stereo_right_pose
from depthforge.synth.scene import Label
from depthforge.types import Sample

SIZE = (64, 48)


def bilinear(image: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Sample ``(H, W, C)`` ``image`` at real pixel coordinates (integer = pixel centre)."""
    h, w = image.shape[:2]
    u0 = np.clip(np.floor(u).astype(int), 0, w - 2)
    v0 = np.clip(np.floor(v).astype(int), 0, h - 2)
    a, b = (u - u0)[:, None], (v - v0)[:, None]
    top = image[v0, u0] * (1 - a) + image[v0, u0 + 1] * a
    bottom = image[v0 + 1, u0] * (1 - a) + image[v0 + 1, u0 + 1] * a
    return top * (1 - b) + bottom * b


def to_hwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(1, 2, 0).double().numpy()


def camera_points(depth: np.ndarray, K: np.ndarray) -> np.ndarray:
    """``(H·W, 3)`` camera-frame points of a z-depth map (written out for zero skew)."""
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w].astype(float)
    x = (u - K[0, 2]) / K[0, 0] * depth
    y = (v - K[1, 2]) / K[1, 1] * depth
    return np.stack([x, y, depth], axis=-1).reshape(-1, 3)


def warp_error(target: Sample, source: Sample, target_to_source: np.ndarray) -> tuple[float, float]:
    """Mean |target − source warped into target| over textured pixels of the target that are
    visible (not occluded, inside the image) in the source, and the same error without warping
    (identity pose)."""
    K = target.K.double().numpy()
    depth = target.depth[0].double().numpy()
    h, w = depth.shape
    points = camera_points(depth, K) @ target_to_source[:3, :3].T + target_to_source[:3, 3]
    z = points[:, 2]
    u = K[0, 0] * points[:, 0] / z + K[0, 2]
    v = K[1, 1] * points[:, 1] / z + K[1, 2]
    src_depth = source.depth[0].double().numpy()[..., None]
    # Textured: the target's grey level changes across the pixel (central differences).
    grey = to_hwc(target.image).mean(axis=2)
    gradient = np.zeros_like(grey)
    gradient[1:-1, 1:-1] = np.hypot(
        grey[1:-1, 2:] - grey[1:-1, :-2], grey[2:, 1:-1] - grey[:-2, 1:-1]
    )
    textured = (gradient > 0.01).reshape(-1)
    inside = target.mask.numpy().reshape(-1) & textured
    inside &= (u >= 0) & (u <= w - 1) & (v >= 0) & (v <= h - 1)
    u, v, z = u[inside], v[inside], z[inside]
    # Visible in the source: the source's own depth there agrees with the transformed point.
    visible = np.abs(bilinear(src_depth, u, v)[:, 0] - z) < 0.01 * z
    warped = bilinear(to_hwc(source.image), u[visible], v[visible])
    tgt = to_hwc(target.image).reshape(-1, 3)[inside][visible]
    identity = to_hwc(source.image).reshape(-1, 3)[inside][visible]
    assert visible.sum() > 0.2 * h * w, "too few co-visible pixels for a meaningful test"
    return float(np.abs(warped - tgt).mean()), float(np.abs(identity - tgt).mean())


@pytest.mark.parametrize("kind", ["indoor", "outdoor"])
def test_reprojection_with_ground_truth_pose_matches_the_next_frame(kind):
    data = SynthDataset(scenes=2, frames=3, size=SIZE, kind=kind, pairs=0)
    for scene in range(2):
        t = scene * 3 + 1
        target, source = data[t], data[t + 1]
        # X_source = inv(pose_source) · pose_target · X_target
        relative = np.linalg.inv(source.pose.double().numpy()) @ target.pose.double().numpy()
        error, identity = warp_error(target, source, relative)
        assert error < 0.02, f"{kind} scene {scene}: warp error {error:.4f}"
        assert error < 0.4 * identity, f"{kind}: warp {error:.4f} vs identity {identity:.4f}"


@pytest.mark.parametrize("kind", ["indoor", "outdoor"])
def test_stereo_right_view_is_shifted_by_disparity_f_b_over_z(kind):
    data = SynthDataset(scenes=1, frames=1, size=SIZE, kind=kind, stereo=True, pairs=0)
    sample = data[0]
    assert sample.stereo is not None and sample.stereo.baseline == data.baseline
    K = sample.K.double().numpy()
    depth = sample.depth[0].double().numpy()
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w].astype(float)
    valid = sample.mask[0].numpy()
    right = to_hwc(sample.stereo.image)
    left = to_hwc(sample.image)

    def error(baseline: float) -> float:
        disparity = K[0, 0] * baseline / np.where(valid, depth, 1.0)
        ur = u - disparity  # a left pixel at u appears at u − f·B/z in the right image
        ok = valid & (ur >= 0) & (ur <= w - 1)
        warped = bilinear(right, ur[ok], v[ok])
        return float(np.abs(warped - left[ok]).mean())

    exact = error(data.baseline)
    assert exact < 0.03
    assert exact < 0.5 * error(0.0) and exact < error(1.5 * data.baseline)


def test_right_camera_pose_is_the_baseline_along_x():
    data = SynthDataset(scenes=1, frames=1, size=SIZE, stereo=True, pairs=0)
    pose = data.pose(0, 0)
    right = stereo_right_pose(pose, data.baseline)
    np.testing.assert_allclose(right[:3, :3], pose[:3, :3])
    np.testing.assert_allclose(right[:3, 3] - pose[:3, 3], data.baseline * pose[:3, 0])


@pytest.mark.parametrize("kind", ["indoor", "outdoor"])
def test_analytic_normals_agree_with_normals_from_depth(kind):
    data = SynthDataset(scenes=2, frames=1, size=SIZE, kind=kind, pairs=0)
    for index in range(len(data)):
        sample = data[index]
        normals, valid = normals_from_depth(sample.depth[None].double(), sample.K.double())
        analytic = sample.normals.double()
        cos = (normals[0] * analytic).sum(0).clamp(-1.0, 1.0)
        angles = torch.rad2deg(torch.acos(cos))[valid[0, 0]]
        assert valid.sum() > 0.5 * valid.numel()
        assert angles.mean() < 2.0, f"{kind} {index}: mean angle {angles.mean():.2f}°"


def test_sample_contract():
    data = SynthDataset(scenes=1, frames=2, size=SIZE, kind="outdoor", pairs=7)
    sample = data[1]
    w, h = SIZE
    assert sample.image.shape == (3, h, w) and sample.image.dtype == torch.float32
    assert 0.0 <= float(sample.image.min()) and float(sample.image.max()) <= 1.0
    assert sample.depth.shape == (1, h, w) and sample.depth.dtype == torch.float32
    assert sample.mask.dtype == torch.bool and torch.isfinite(sample.depth).all()
    assert (sample.depth[~sample.mask] == 0).all() and (sample.depth[sample.mask] > 0).all()
    assert torch.allclose(sample.K, intrinsics_from_fov(w, h, 80.0))
    rotation = sample.pose[:3, :3].double()
    assert torch.allclose(rotation.T @ rotation, torch.eye(3, dtype=torch.float64), atol=1e-6)
    assert sample.normals.shape == (3, h, w) and sample.labels.shape == (h, w)
    norms = sample.normals.norm(dim=0)
    assert torch.allclose(norms[sample.mask[0]], torch.ones(()), atol=1e-5)
    # Sky: no depth, label sky, zero normal.
    sky = sample.labels == Label.SKY
    assert sky.any() and not sample.mask[0][sky].any() and (norms[sky] == 0).all()
    assert sample.pairs.shape == (7, 4) and sample.relations.shape == (7,)
    assert sample.id == "scene_000/000001" and sample.meta["depth_kind"] == "dense"
    assert sample.neighbours is None and sample.stereo is None


def test_same_seed_gives_identical_frames_in_any_order():
    a = SynthDataset(scenes=3, frames=2, size=SIZE, seed=4, pairs=5)
    b = SynthDataset(scenes=3, frames=2, size=SIZE, seed=4, pairs=5)
    order_a = [a[i] for i in range(len(a))]
    order_b = {i: b[i] for i in reversed(range(len(b)))}
    for i, sample in enumerate(order_a):
        other = order_b[i]
        assert torch.equal(sample.image, other.image) and torch.equal(sample.depth, other.depth)
        assert torch.equal(sample.pairs, other.pairs) and torch.equal(sample.pose, other.pose)


def test_a_pickled_copy_renders_the_same_samples_as_a_dataloader_worker_would():
    data = SynthDataset(scenes=2, frames=2, size=SIZE, seed=6, pairs=5, holes=True)
    data[3]  # fills the world cache of the original only
    copy = pickle.loads(pickle.dumps(data))
    for index in (3, 0):
        a, b = data[index], copy[index]
        assert torch.equal(a.image, b.image) and torch.equal(a.mask, b.mask)
        assert torch.equal(a.relations, b.relations)


def test_different_seeds_and_splits_give_different_scenes():
    base = SynthDataset(scenes=1, frames=1, size=SIZE, seed=0, pairs=0)[0]
    other_seed = SynthDataset(scenes=1, frames=1, size=SIZE, seed=1, pairs=0)[0]
    other_split = SynthDataset(split="val", scenes=1, frames=1, size=SIZE, seed=0, pairs=0)[0]
    for other in (other_seed, other_split):
        assert (base.depth - other.depth).abs().mean() > 0.1
        assert not torch.equal(base.image, other.image)


def test_neighbours_are_the_adjacent_frames_with_their_poses():
    plain = SynthDataset(scenes=1, frames=4, size=SIZE, pairs=0)
    video = SynthDataset(scenes=1, frames=4, size=SIZE, pairs=0, neighbour_offsets=(-1, 1))
    assert len(video) == len(plain) == 4  # the path extends beyond the sequence: no frame dropped
    sample = video[2]
    assert sample.neighbours.shape == (2, 3, SIZE[1], SIZE[0])
    assert torch.equal(sample.neighbours[0], plain[1].image)
    assert torch.equal(sample.neighbours[1], plain[3].image)
    assert torch.equal(sample.neighbour_poses[1], plain[3].pose)
    first = video[0]  # frame −1 is rendered from the continuous camera path
    assert first.neighbours.shape[0] == 2 and not torch.equal(first.neighbours[0], first.image)


def test_ordinal_pairs_follow_the_depth_ratio():
    sample = SynthDataset(scenes=1, frames=1, size=SIZE, pairs=200)[0]
    p = sample.pairs
    za = sample.depth[0, p[:, 0], p[:, 1]].double()
    zb = sample.depth[0, p[:, 2], p[:, 3]].double()
    assert (za > 0).all() and (zb > 0).all()
    expected = torch.where(za >= 1.02 * zb, 1, torch.where(zb >= 1.02 * za, -1, 0))
    assert torch.equal(sample.relations, expected)
    assert (sample.relations == 1).any() and (sample.relations == -1).any()


def test_kinect_holes_remove_edges_and_keep_a_subset():
    options = {"scenes": 3, "frames": 1, "size": SIZE, "pairs": 0}
    dense_set, holes_set = SynthDataset(**options), SynthDataset(**options, holes=True)
    jumps_seen = 0
    for index in range(len(dense_set)):
        dense, holes = dense_set[index], holes_set[index]
        assert holes.meta["depth_kind"] == "kinect_holes"
        assert not (holes.mask & ~dense.mask).any()
        assert torch.equal(holes.depth[holes.mask], dense.depth[holes.mask])
        assert (holes.depth[~holes.mask] == 0).all()
        missing = 1.0 - holes.mask.float().mean() / dense.mask.float().mean()
        assert 0.005 < missing < 0.6
        # Where depth jumps by > 5 % between horizontal neighbours, neither keeps its depth.
        d = dense.depth[0]
        jump = (d[:, 1:] - d[:, :-1]).abs() > 0.05 * torch.minimum(d[:, 1:], d[:, :-1])
        assert not holes.mask[0, :, 1:][jump].any() and not holes.mask[0, :, :-1][jump].any()
        jumps_seen += int(jump.sum())
    assert jumps_seen > 0


def test_sparse_points_lie_on_at_most_64_rows_at_about_5_percent():
    data = SynthDataset(
        scenes=1, frames=1, size=(320, 240), kind="outdoor", pairs=0, sparse_points=True
    )
    sample = data[0]
    assert sample.meta["depth_kind"] == "lidar"
    rows = sample.mask[0].any(dim=1)
    assert 10 < int(rows.sum()) <= 64
    density = float(sample.mask.float().mean())
    assert 0.02 < density <= 0.055  # 5 % of the pixels minus those without a surface (sky)


def absrel_of_constant(g: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """AbsRel = mean |g − c| / g of the constant prediction(s) ``c``."""
    return ((g[None, :] - c.reshape(-1, 1)).abs() / g[None, :]).mean(dim=1)


def best_constant(g: torch.Tensor) -> torch.Tensor:
    """The constant minimising AbsRel: Σ|g − c|/g is a weighted L1 in c, minimised by the
    weighted median of g with weights 1/g (the library's, checked by brute force below)."""
    return torch.tensor(weighted_median(g.double(), 1.0 / g.double()), dtype=torch.float64)


def test_weighted_median_is_the_exact_minimiser():
    g = 0.5 + 9.5 * torch.rand(301, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    # Brute force: a weighted-L1 minimum lies at a data point; try every one.
    brute = absrel_of_constant(g, g).min()
    assert absrel_of_constant(g, best_constant(g)).item() == pytest.approx(brute.item(), abs=1e-12)


def test_best_constant_depth_scores_poorly_on_the_indoor_set():
    data = SynthDataset(scenes=6, frames=3, size=(48, 36), pairs=0)
    scores = []
    for scene in range(data.scenes):
        samples = [data[scene * 3 + f] for f in range(3)]
        g = torch.cat([s.depth[s.mask] for s in samples]).double()
        scores.append(absrel_of_constant(g, best_constant(g)).item())
    assert np.mean(scores) > 0.25, scores


def test_open_dataset_by_name_ignores_the_root():
    data = open_dataset("synth", None, scenes=1, frames=2, size=SIZE, pairs=0)
    assert isinstance(data, SynthDataset) and len(data) == 2 and data[0].meta["dataset"] == "synth"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kind": "forest"}, "kind must be one of"),
        ({"split": "holdout"}, "split must be one of"),
        ({"size": (1, 10)}, "size must be"),
        ({"frames": 0}, "must be ≥ 1"),
        ({"neighbour_offsets": (0,)}, "neighbour_offsets"),
        ({"neighbour_offsets": (5,)}, "neighbour_offsets"),
        ({"fov": 190.0}, "field of view"),
        ({"baseline": -0.1}, "baseline"),
        ({"pairs": -1}, "pairs"),
    ],
)
def test_bad_arguments_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        SynthDataset(**options)


def test_index_out_of_range():
    with pytest.raises(IndexError):
        SynthDataset(scenes=1, frames=2, size=SIZE)[2]


def test_parse_size():
    assert parse_size("160x120") == (160, 120)
    with pytest.raises(ValueError, match="WIDTHxHEIGHT"):
        parse_size("160")
