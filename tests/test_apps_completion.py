"""Depth completion: the NYU-toolbox colorization fill, fusion refinement, Sparse-to-Dense, CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from depthforge.apps.completion import (
    NEIGHBOUR_OFFSETS,
    StencilMatrix,
    align_to_sparse,
    colorization_fill,
    colorization_weights,
    complete_depth,
    refine_with_gradients,
    to_gray,
)
from depthforge.errors import DepthforgeError
from depthforge.types import OutputSpace
from tests.cli_runner import run_cli


@pytest.fixture(autouse=True)
def one_torch_thread():
    """The tensors here are tiny: one thread avoids oversubscribing a shared CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------- colorization fill


def toolbox_fill_bruteforce(rgb: np.ndarray, depth: np.ndarray, alpha: float) -> np.ndarray:
    """Literal per-pixel transcription of the NYU toolbox's fill_depth_colorization.m loops,
    assembled as a dense matrix and solved with numpy (a slow, independent reference)."""
    gray = rgb @ np.array([0.2989, 0.5870, 0.1140])
    h, w = depth.shape
    known = depth > 0
    a = np.eye(h * w)
    for i in range(h):
        for j in range(w):
            row = i * w + j
            cols, vals = [], []
            for ii in range(max(0, i - 1), min(i + 2, h)):
                for jj in range(max(0, j - 1), min(j + 2, w)):
                    if (ii, jj) != (i, j):
                        cols.append(ii * w + jj)
                        vals.append(gray[ii, jj])
            window = np.array([*vals, gray[i, j]])
            csig = np.mean((window - window.mean()) ** 2) * 0.6
            mgv = np.min((np.array(vals) - gray[i, j]) ** 2)
            csig = max(csig, -mgv / math.log(0.01), 0.000002)
            g = np.exp(-((np.array(vals) - gray[i, j]) ** 2) / csig)
            a[row, cols] = -g / g.sum()
    prior = alpha * known.ravel()
    return np.linalg.solve(a + np.diag(prior), prior * depth.ravel()).reshape(h, w)


@pytest.mark.parametrize("alpha", [1.0, 0.8])
def test_fill_equals_bruteforce_toolbox_solve(alpha):
    rng = np.random.default_rng(0)
    rgb = rng.random((7, 9, 3))
    rgb[:, 5:] += 0.5  # an edge, so the clamps and both weight regimes occur
    rgb = np.clip(rgb, 0, 1)
    depth = np.where(rng.random((7, 9)) < 0.3, rng.uniform(1, 5, (7, 9)), 0.0)
    expected = toolbox_fill_bruteforce(rgb, depth, alpha)
    np.testing.assert_allclose(
        colorization_fill(rgb, depth, data_weight=alpha), expected, rtol=1e-5
    )


def test_weights_are_row_stochastic_8_neighbours_cut_at_the_border():
    W = colorization_weights(to_gray(np.random.default_rng(1).random((5, 6, 3))))
    np.testing.assert_allclose(np.asarray(W.sum(1)).ravel(), 1.0, rtol=1e-12)
    per_row = np.diff(W.indptr).reshape(5, 6)
    assert per_row[0, 0] == 3 and per_row[0, 3] == 5 and per_row[2, 3] == 8


def test_stencil_blocks_equal_dense_indexing_of_the_whole_matrix():
    rng = np.random.default_rng(2)
    h, w = 5, 7
    weights = rng.random((8, h, w))
    inside = rng.random((8, h, w)) < 0.8
    inside[:, 0], inside[:, -1], inside[:, :, 0], inside[:, :, -1] = False, False, False, False
    matrix = StencilMatrix.from_weights(rng.random((h, w)), weights, inside)
    dense = np.zeros((h * w, h * w))  # filled entry by entry from the definition
    for k, (dy, dx) in enumerate(NEIGHBOUR_OFFSETS):
        for v, u in zip(*np.nonzero(inside[k]), strict=True):
            dense[v * w + u, (v + dy) * w + u + dx] = weights[k, v, u]
    dense[np.arange(h * w), np.arange(h * w)] = matrix.values[:, 4]
    rows, cols = rng.random(h * w) < 0.4, rng.random(h * w) < 0.6
    np.testing.assert_array_equal(matrix.block().toarray(), dense)
    np.testing.assert_array_equal(matrix.block(rows, cols).toarray(), dense[rows][:, cols])
    np.testing.assert_array_equal(matrix.block(~rows).toarray(), dense[~rows])


def test_fill_does_not_bleed_across_an_intensity_edge():
    rgb = np.zeros((24, 32, 3))
    rgb[:, 16:] = 0.8  # two flat regions
    depth = np.zeros((24, 32))
    depth[[3, 20], 2], depth[[4, 19], 29] = 1.0, 5.0  # near region left, far region right
    filled = colorization_fill(rgb, depth)  # measured: at most 0.051 m off (1.3 % of the step)
    assert np.abs(filled[:, :16] - 1.0).max() < 0.1
    assert np.abs(filled[:, 16:] - 5.0).max() < 0.1
    flat = colorization_fill(np.full_like(rgb, 0.5), depth)  # without the edge it does bleed
    assert np.abs(flat[:, 15] - 1.0).min() > 1.0


def test_fill_of_a_ramp_on_a_flat_image():
    # A flat image gives uniform weights: the fill is 8-neighbour harmonic, and a linear ramp is
    # harmonic in the interior, so with the border known it is reproduced exactly.
    v, u = np.mgrid[0:20, 0:30]
    ramp = 1.0 + 0.05 * u + 0.02 * v
    rgb = np.full((20, 30, 3), 0.5)
    known = np.zeros((20, 30), bool)
    known[[0, -1], :] = known[:, [0, -1]] = True
    filled = colorization_fill(rgb, np.where(known, ramp, 0.0), data_weight=None)
    np.testing.assert_allclose(filled, ramp, rtol=1e-5)
    # ~8 % random samples only (the window is cut at the border there): close, not exact.
    sampled = np.random.default_rng(2).random((20, 30)) < 0.08
    error = np.abs(colorization_fill(rgb, np.where(sampled, ramp, 0.0)) - ramp)
    assert error.mean() < 0.08  # measured 0.059: worst at the corners, which are extrapolated
    assert error[3:-3, 3:-3].mean() < 0.04 and error[3:-3, 3:-3].max() < 0.15  # 0.028, 0.114


def test_known_pixels_kept_exactly_with_hard_constraints():
    rng = np.random.default_rng(3)
    rgb = rng.random((12, 16, 3))
    depth = np.where(rng.random((12, 16)) < 0.2, rng.uniform(1, 4, (12, 16)), 0.0)
    filled = colorization_fill(rgb, depth, data_weight=None)
    assert np.array_equal(filled[depth > 0], depth[depth > 0].astype(np.float32))
    assert (filled > 0.99).all() and (filled < 4.01).all()  # a convex combination of samples


def test_fill_rejects_bad_input():
    with pytest.raises(ValueError, match="no valid sample"):
        colorization_fill(np.zeros((4, 4, 3)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="5×4 but the image is 4×4"):
        colorization_fill(np.zeros((4, 4, 3)), np.ones((4, 5)))


def test_fill_matches_the_nyu_filled_depth_of_a_real_frame(shared_data):
    """rcnn-depth's depth.png is the NYU labeled set's ``depths``, i.e. the toolbox fill of
    ``rawDepths`` (SOURCE.md). On a 160×120 crop (the toolbox filled the full frame, so pixels
    near the crop border see other neighbours) our fill agrees within millimetres, where a
    nearest-valid-pixel fill is off by 0.4 m. Measured: hole MAE 2.0 mm, known 0.47 mm."""
    from depthforge.io import read_depth, read_rgb
    from depthforge.render.depth import fill_depth_holes

    folder = shared_data / "nyu_labeled_sample_rcnn_depth"
    crop = (slice(100, 220), slice(100, 260))
    rgb = read_rgb(folder / "images.png")[crop]
    raw = read_depth(folder / "rawdepth.png", "png16", 1000.0)[crop]
    toolbox = read_depth(folder / "depth.png", "png16", 1000.0)[crop]
    filled = colorization_fill(rgb, raw)
    holes = raw == 0
    inner = np.zeros_like(holes)
    inner[12:-12, 12:-12] = True
    assert 0.1 < holes.mean() < 0.4
    error = np.abs(filled - toolbox)
    assert error[holes & inner].mean() < 0.003
    assert error[~holes].mean() < 0.001
    nearest = np.abs(fill_depth_holes(raw) - toolbox)[holes & inner].mean()
    assert nearest > 50 * error[holes & inner].mean()


def direct_soft_fill(image: np.ndarray, depth: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """The toolbox system ``(I − W + αK) x = αK d`` solved directly (SuperLU), the reference."""
    import scipy.sparse
    from scipy.sparse.linalg import spsolve

    known = (depth > 0).ravel().astype(np.float64)
    system = scipy.sparse.identity(depth.size) - colorization_weights(to_gray(image))
    system = (system + scipy.sparse.diags(alpha * known)).tocsc()
    return spsolve(system, alpha * known * depth.ravel()).reshape(depth.shape)


def test_iterative_fill_equals_the_direct_solve_on_a_real_frame(shared_data):
    from depthforge.io import read_depth, read_rgb

    folder = shared_data / "nyu_labeled_sample_rcnn_depth"
    crop = (slice(60, 260), slice(80, 340))
    rgb = read_rgb(folder / "images.png")[crop]
    raw = read_depth(folder / "rawdepth.png", "png16", 1000.0)[crop]
    assert 0.1 < (raw == 0).mean() < 0.4
    error = np.abs(colorization_fill(rgb, raw) - direct_soft_fill(rgb, raw))
    assert error.max() < 1e-4  # metres; float32 output rounding is ~5e-7 here


@pytest.mark.parametrize("share", [0.3, 0.8])
def test_a_solution_outside_the_samples_range_falls_back_to_pivoted_lu(monkeypatch, share):
    """The unpivoted nested-dissection LU is checked by the maximum principle; a broken one
    (here: returning 1e6) is replaced by SuperLU with pivoting, with the same result."""
    import depthforge.apps.completion as completion

    class BrokenLU:
        def __init__(self, system, pixels):
            pass

        def solve(self, rhs):
            return np.full(len(rhs), 1e6)

    rng = np.random.default_rng(6)
    image = rng.random((12, 14, 3))
    depth = np.where(rng.random((12, 14)) < share, 1.0 + 4.0 * rng.random((12, 14)), 0.0)
    monkeypatch.setattr(completion, "GridLU", BrokenLU)
    filled = colorization_fill(image, depth)
    np.testing.assert_allclose(filled, direct_soft_fill(image, depth), atol=2e-5, rtol=0)
    hard = colorization_fill(image, depth, data_weight=None)
    assert np.abs(hard[depth > 0] - depth[depth > 0]).max() < 1e-6
    assert hard.max() <= depth.max() + 1e-6 and hard.min() >= depth[depth > 0].min() - 1e-6


@pytest.mark.parametrize("alpha", [1e-3, 5.0])
def test_iterative_fill_equals_the_direct_solve_for_weak_and_strong_data_terms(alpha):
    rng = np.random.default_rng(4)
    image = rng.random((24, 30, 3))
    depth = np.where(rng.random((24, 30)) < 0.5, 1.0 + 4.0 * rng.random((24, 30)), 0.0)
    filled = colorization_fill(image, depth, data_weight=alpha)
    np.testing.assert_allclose(filled, direct_soft_fill(image, depth, alpha), atol=2e-5, rtol=0)


def test_fill_without_holes_still_smooths_the_samples_as_the_toolbox_does():
    rng = np.random.default_rng(5)
    image = rng.random((10, 12, 3))
    depth = 1.0 + rng.random((10, 12))
    filled = colorization_fill(image, depth)
    np.testing.assert_allclose(filled, direct_soft_fill(image, depth), atol=2e-6, rtol=0)
    assert np.abs(filled - depth).max() > 1e-3


# ---------------------------------------------------------------- fusion refinement, alignment


def test_refinement_keeps_a_depth_whose_gradients_already_match():
    v, u = np.mgrid[0:16, 0:20]
    source = np.sin(u / 3.0) + 0.1 * v
    refined = refine_with_gradients(source + 2.0, source, alpha=5.0)
    np.testing.assert_allclose(refined, source + 2.0, atol=1e-5)
    noisy = source + 0.3 * np.random.default_rng(0).standard_normal(source.shape)
    smoothed = refine_with_gradients(noisy, source, alpha=5.0)
    assert np.abs(smoothed - source).mean() < 0.5 * np.abs(noisy - source).mean()


def test_plain_prediction_is_scale_aligned_to_the_samples():
    truth = np.linspace(1.0, 4.0, 48).reshape(6, 8)
    sparse = np.where(np.arange(48).reshape(6, 8) % 5 == 0, truth, 0.0)
    np.testing.assert_allclose(
        align_to_sparse(2.0 * truth, "metric_depth", sparse), truth, rtol=1e-5
    )
    disparity = 3.0 / truth + 0.5
    aligned = align_to_sparse(disparity, "affine_invariant_disparity", sparse)
    np.testing.assert_allclose(aligned, truth, rtol=1e-4)


# ---------------------------------------------------------------- Sparse-to-Dense


def test_resize_sparse_moves_samples_without_blending():
    from depthforge.models.sparse_to_dense import resize_sparse

    sparse = torch.zeros(1, 1, 4, 4)
    sparse[0, 0, 0, 0], sparse[0, 0, 1, 1], sparse[0, 0, 3, 2] = 2.0, 4.0, 7.0
    out = resize_sparse(sparse, (2, 2))
    assert out[0, 0].tolist() == [[3.0, 0.0], [0.0, 7.0]]  # (0,0),(1,1) share a cell: mean


def test_sparse_to_dense_shapes_init_and_predict(tmp_path):
    from depthforge.models import create_model, load_model, predict, save_model

    model = create_model("sparse_to_dense_resnet18", input_size=(48, 64)).eval()
    images, sparse = torch.rand(2, 3, 40, 56), torch.zeros(2, 1, 40, 56)
    assert model(images, sparse).shape == (2, 1, 40, 56)  # upsampled to the input size
    # variant "fcrn": the depth filter of conv1 starts at zero, so at init the samples do not
    # change the output; the authors' network ("reference") starts it at random.
    sparse[:, :, ::7, ::5] = 3.0
    fcrn = create_model("sparse_to_dense_resnet18", variant="fcrn", input_size=(48, 64)).eval()
    with torch.no_grad():
        assert torch.equal(fcrn(images, sparse), fcrn(images, torch.zeros_like(sparse)))
        assert not torch.equal(model(images, sparse), model(images, torch.zeros_like(sparse)))
    loaded = load_model(save_model(model, tmp_path / "s2d"))
    pred = predict(loaded, images, sparse=sparse)
    assert pred.depth.shape == (2, 1, 40, 56) and pred.output_space.value == "metric_depth"
    with pytest.raises(ValueError, match="needs sparse depth"):
        predict(loaded, images)


def test_completion_sampler_and_loss_on_a_hand_built_batch():
    from depthforge.data.collate import Batch
    from depthforge.train.strategies.completion import SparseSampler, build_completion

    depth = torch.full((2, 1, 30, 40), 2.0)
    mask = torch.ones_like(depth, dtype=torch.bool)
    mask[1, :, :15] = False
    sparse = SparseSampler("uniform", samples=100)(
        depth, mask, None, torch.Generator().manual_seed(0)
    )
    counts = (sparse > 0).flatten(1).sum(1).tolist()
    assert all(60 < c < 140 for c in counts) and not sparse[1, :, :15].any()
    strategy = build_completion("l1", {"samples": 50}, OutputSpace.METRIC_DEPTH)

    def model(image, sparse):  # predicts 2.5 m everywhere: the L1 loss is 0.5
        return torch.full_like(sparse, 2.5)

    loss, logs = strategy(model, Batch(image=torch.rand(2, 3, 30, 40), depth=depth, mask=mask))
    assert loss.item() == pytest.approx(0.5) and logs["samples_per_image"] > 0
    with pytest.raises(DepthforgeError, match="trains with loss"):
        build_completion("mse", {}, OutputSpace.METRIC_DEPTH)


def test_synth_completion_recipe_trains_two_steps(tmp_path):
    import json

    from depthforge.train.config import load_config, resolve_recipe
    from depthforge.train.run import build_training

    data = "{scenes: 1, frames: 2, size: [64, 48], kind: outdoor, pairs: 0}"
    cfg = load_config(
        resolve_recipe("synth_completion"),
        [
            f"out_dir={tmp_path / 'run'}",
            "loop.steps=2",
            "loop.batch_size=2",
            "loop.val_every=2",
            "loop.ckpt_every=2",
            "model.overrides.input_size=[48,64]",
            f"train_data.options={data}",
            f"val_data.options={data}",
        ],
    )
    run = build_training(cfg)
    assert run.trainer.best_metric == "rmse"
    result = run.trainer.fit()
    assert len(result.losses) == 2 and all(math.isfinite(v) for v in result.losses)
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    val = [json.loads(line)["val"] for line in lines if "val" in json.loads(line)][-1]
    assert set(val) == {"rmse", "mae", "irmse", "imae"} and val["rmse"] >= val["mae"] > 0


# ---------------------------------------------------------------- API and CLI


def test_plain_model_needs_fusion_and_sparse_model_completes():
    from depthforge.models import create_model

    image = np.full((24, 32, 3), 128, np.uint8)
    sparse = np.zeros((24, 32))
    sparse[::4, ::4] = 2.0
    plain = create_model("fcrn_resnet18", input_size=(24, 32))
    with pytest.raises(DepthforgeError, match="--method fusion"):
        complete_depth(image, sparse, model=plain)
    result = complete_depth(image, sparse, method="fusion", model=plain)
    assert result.depth.shape == (24, 32) and "scale-aligned" in result.how
    s2d = create_model("sparse_to_dense_resnet18", input_size=(24, 32))
    assert complete_depth(image, sparse, model=s2d).depth.shape == (24, 32)


def test_cli_complete_writes_depth_and_preview(monkeypatch, capsys, tmp_path):
    from depthforge.io import read_depth, save_depth_npy, save_rgb

    rgb = np.zeros((24, 32, 3), np.uint8)
    rgb[:, 16:] = 200
    sparse = np.zeros((24, 32), np.float32)
    sparse[2::6, 1:16:5], sparse[2::6, 17::5] = 1.5, 3.0
    save_rgb(tmp_path / "im.png", rgb)
    save_depth_npy(tmp_path / "sparse.npy", sparse)
    args = ["complete", str(tmp_path / "im.png"), "--sparse", str(tmp_path / "sparse.npy")]
    code, out, err = run_cli(monkeypatch, capsys, *args, "--out", str(tmp_path / "d.png"))
    assert code == 0, err
    assert "colorization" in out and (tmp_path / "d_preview.png").is_file()
    dense = read_depth(tmp_path / "d.png", "png16", 1000.0)
    assert np.abs(dense[:, :16] - 1.5).max() < 0.01 and np.abs(dense[:, 16:] - 3.0).max() < 0.01
    code, out, err = run_cli(monkeypatch, capsys, *args, "--out", str(tmp_path / "d.png"))
    assert code == 2 and "already exists" in err
    code, out, err = run_cli(
        monkeypatch, capsys, *args, "--method", "fusion", "--out", str(tmp_path / "f.npy")
    )
    assert code == 0 and np.load(tmp_path / "f.npy").shape == (24, 32), err
    from depthforge.models import create_model, save_model

    save_model(create_model("sparse_to_dense_resnet18", input_size=(24, 32)), tmp_path / "s2d")
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        *args,
        "--model",
        str(tmp_path / "s2d"),
        "--out",
        str(tmp_path / "m.npy"),
    )
    assert code == 0 and "SparseToDense (RGB + sparse)" in out, err
    save_depth_npy(tmp_path / "small.npy", sparse[:, :30])
    code, _, err = run_cli(
        monkeypatch, capsys, "complete", str(tmp_path / "im.png"), "--sparse",
        str(tmp_path / "small.npy"), "--out", str(tmp_path / "e.npy"),
    )  # fmt: skip
    assert code == 2 and "30×24" in err and "32×24" in err
