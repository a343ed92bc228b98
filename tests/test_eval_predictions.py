"""Scoring predictions saved on disk against a tiny folder-format dataset."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from rich.console import Console

from depthforge.data.base import DepthDataset
from depthforge.data.folder import FolderDataset, write_folder_sample
from depthforge.errors import DataError, OutputSpaceError
from depthforge.eval import (
    compute_metrics,
    evaluate_predictions,
    prediction_filename,
    read_prediction,
    render_table,
    sample_id_from_filename,
    save_prediction,
)
from depthforge.eval.protocols import Protocol
from depthforge.io import read_depth
from depthforge.types import Sample

KITTI_ID = "2011_09_26/2011_09_26_drive_0002_sync 0000000069 l"
# no crop, 0 < g < 20, predictions clamped to [0.01, 20]
TINY = Protocol("tiny", "test protocol", max_depth=20.0, clamp=(0.01, 20.0))
IDS = ("seq a/000", "seq a/001", "seq b/000")


@pytest.fixture
def dataset(tmp_path):
    """Three 4×5 samples with ids holding '/' and ' '; GT depth 1..4 m in millimetre PNGs."""
    root = tmp_path / "data"
    image = np.zeros((4, 5, 3), np.uint8)
    for k, sid in enumerate(IDS):
        depth = np.full((4, 5), 1.0 + k, np.float32)
        depth[0, 0] = 0.0  # one invalid pixel
        write_folder_sample(root, sid, image, depth)
    return FolderDataset(root)


def write_scaled(pred_dir, dataset, factor: float, file_format: str = "npy") -> None:
    for i in range(len(dataset)):
        sample = dataset[i]
        save_prediction(
            pred_dir,
            sample.id,
            sample.depth[0] * factor + (~sample.mask[0]) * 1.0,
            file_format=file_format,
        )


def test_filename_mapping_is_flat_reversible_and_one_to_one():
    name = prediction_filename(KITTI_ID)
    assert name == "2011_09_26%2F2011_09_26_drive_0002_sync%200000000069%20l.npy"
    assert "/" not in name and " " not in name
    assert sample_id_from_filename(name) == KITTI_ID
    assert prediction_filename("00001", ".png") == "00001.png"
    names = {prediction_filename(i) for i in ("a/b", "a_b", "a b", "a%2Fb", "a%20b")}
    assert len(names) == 5
    with pytest.raises(ValueError, match="suffix"):
        prediction_filename("a", ".tif")


def test_save_and_read_round_trip_npy_and_png(tmp_path):
    depth = np.array([[0.5, 1.25], [3.0, 7.5]], np.float32)
    save_prediction(tmp_path / "npy", KITTI_ID, depth)
    assert np.array_equal(read_prediction(tmp_path / "npy", KITTI_ID), depth)
    save_prediction(tmp_path / "png", KITTI_ID, torch.from_numpy(depth)[None], file_format="png")
    assert np.allclose(read_prediction(tmp_path / "png", KITTI_ID), depth, atol=5e-4)
    assert read_prediction(tmp_path / "png", "absent") is None


def test_relative_predictions_keep_negative_values(tmp_path):
    disparity = np.array([[-0.5, 0.25]], np.float32)
    save_prediction(tmp_path, "x", disparity)
    assert np.array_equal(read_prediction(tmp_path, "x"), disparity)


def test_ambiguous_or_corrupt_prediction_files_are_data_errors(tmp_path):
    save_prediction(tmp_path, "x", np.ones((2, 2)))
    save_prediction(tmp_path, "x", np.ones((2, 2)), file_format="png")
    with pytest.raises(DataError, match="keep one"):
        read_prediction(tmp_path, "x")
    (tmp_path / "y.npy").write_bytes(b"not numpy")
    with pytest.raises(DataError, match=r"y\.npy: not a readable"):
        read_prediction(tmp_path, "y")


def test_evaluate_predictions_scores_a_known_error(dataset, tmp_path):
    write_scaled(tmp_path / "pred", dataset, 1.25)
    calls = []
    result = evaluate_predictions(
        tmp_path / "pred", dataset, TINY, progress=lambda i, n: calls.append((i, n))
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]
    assert result.n_images == 3
    assert result.metrics["abs_rel"] == pytest.approx(0.25, rel=1e-6)
    assert (result.metrics["d1"], result.metrics["d2"]) == (0.0, 1.0)  # ratio exactly 1.25
    assert result.protocol is TINY


def test_png_predictions_use_the_given_scale(dataset, tmp_path):
    for i in range(len(dataset)):
        s = dataset[i]
        save_prediction(tmp_path / "p", s.id, s.depth[0] * 2, file_format="png", png_scale=256.0)
    result = evaluate_predictions(tmp_path / "p", dataset, TINY, png_scale=256.0)
    assert result.metrics["abs_rel"] == pytest.approx(1.0, rel=1e-3)


def test_missing_prediction_is_an_error_unless_allowed(dataset, tmp_path):
    write_scaled(tmp_path / "pred", dataset, 1.0)
    (tmp_path / "pred" / prediction_filename(IDS[1])).unlink()
    with pytest.raises(
        DataError, match=r"seq%20a%2F001\.npy: no prediction for sample 'seq a/001'"
    ):
        evaluate_predictions(tmp_path / "pred", dataset, TINY)
    result = evaluate_predictions(tmp_path / "pred", dataset, TINY, allow_missing=True)
    assert result.missing_ids == (IDS[1],)
    assert result.n_images == 2


def test_size_mismatch_is_an_error_unless_resize_is_asked(dataset, tmp_path):
    for sid in IDS:
        save_prediction(tmp_path / "pred", sid, np.full((2, 3), 2.0, np.float32))
    with pytest.raises(DataError, match=r"prediction is 3×2 \(W×H\) but the ground truth is 5×4"):
        evaluate_predictions(tmp_path / "pred", dataset, TINY)
    result = evaluate_predictions(tmp_path / "pred", dataset, TINY, resize=True)
    # a constant map stays constant under bilinear resizing: |2 − g| / g for g = 1, 2, 3
    assert result.metrics["abs_rel"] == pytest.approx((1.0 + 0.0 + 1 / 3) / 3, rel=1e-6)
    assert result.settings["resize"] is True


def test_relative_predictions_need_an_alignment(dataset, tmp_path):
    write_scaled(tmp_path / "pred", dataset, 0.1)
    with pytest.raises(OutputSpaceError, match="align it with"):
        evaluate_predictions(tmp_path / "pred", dataset, TINY, output_space="scale_invariant_depth")
    result = evaluate_predictions(
        tmp_path / "pred", dataset, TINY, align="median", output_space="scale_invariant_depth"
    )
    assert result.metrics["abs_rel"] == pytest.approx(0.0, abs=1e-6)
    assert result.extras["scale_median"] == pytest.approx(10.0, rel=1e-5)


def test_sample_without_valid_depth_is_excluded_by_id(tmp_path):
    root = tmp_path / "data"
    image = np.zeros((2, 2, 3), np.uint8)
    write_folder_sample(root, "good", image, np.full((2, 2), 2.0, np.float32))
    write_folder_sample(root, "empty", image, np.zeros((2, 2), np.float32))
    data = FolderDataset(root)
    for sid in data.ids:
        save_prediction(tmp_path / "pred", sid, np.full((2, 2), 3.0, np.float32))
    result = evaluate_predictions(tmp_path / "pred", data, TINY)
    assert result.excluded_ids == ("empty",)
    assert result.n_excluded == 1
    assert result.metrics["abs_rel"] == pytest.approx(0.5)


def test_result_json_records_protocol_and_every_setting(dataset, tmp_path):
    write_scaled(tmp_path / "pred", dataset, 1.1)
    result = evaluate_predictions(tmp_path / "pred", dataset, "kitti_benchmark")
    out = result.to_json(tmp_path / "out" / "result.json")
    record = json.loads(out.read_text())
    assert record["protocol"]["name"] == "kitti_eigen_benchmark"
    assert record["protocol"]["clamp"] == [0.001, 80.0]
    assert record["settings"]["alignment"] == "none"
    assert record["settings"]["output_space"] == "metric_depth"
    assert record["settings"]["predictions"] == str(tmp_path / "pred")
    assert record["n_images"] == 3 and record["n_excluded"] == 0
    assert record["metrics"]["abs_rel"] == pytest.approx(0.1, rel=1e-5)
    assert sorted(p.name for p in out.parent.iterdir()) == ["result.json"]  # no temp files left


def test_render_table_shows_metrics_and_protocol(dataset, tmp_path):
    write_scaled(tmp_path / "pred", dataset, 1.1)
    result = evaluate_predictions(tmp_path / "pred", dataset, TINY)
    console = Console(record=True, width=200)
    console.print(render_table([result, result], labels=["model a", "model b"]))
    text = console.export_text()
    assert "abs_rel ↓" in text and "d1 ↑" in text
    assert "model b" in text and "protocol: tiny" in text
    assert "0.1000" in text


def test_missing_folder_is_a_data_error(dataset, tmp_path):
    with pytest.raises(DataError, match="predictions folder not found"):
        evaluate_predictions(tmp_path / "nope", dataset, TINY)


def test_real_nyu_frame_filled_depth_scored_against_raw_depth(shared_data, tmp_path):
    """The NYU toolbox fill keeps the raw Kinect values, so the filled map scores as nearly perfect
    against the raw one; only raw pixels count, and the result matches a plain NumPy computation."""
    folder = shared_data / "nyu_labeled_sample_rcnn_depth"
    raw = read_depth(folder / "rawdepth.png", "png16", 1000.0)
    filled = read_depth(folder / "depth.png", "png16", 1000.0)
    m = compute_metrics(filled, raw)
    valid = raw > 0
    g, p = raw[valid].astype(np.float64), filled[valid].astype(np.float64)
    assert m["abs_rel"] == pytest.approx(np.mean(np.abs(g - p) / g), rel=1e-9)
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean((g - p) ** 2)), rel=1e-9)
    assert m["d1"] == pytest.approx(np.mean(np.maximum(g / p, p / g) < 1.25), rel=1e-12)
    assert m["abs_rel"] < 0.01 and m["d1"] > 0.999
    # the sample is the 425×560 Gupta crop, not the 480×640 frame the Eigen crop is defined on
    with pytest.raises(ValueError, match="480×640 ground truth, got 425×560"):
        compute_metrics(filled, raw, protocol="nyu_eigen")


class _FilledDepthDataset(DepthDataset):
    """One 480×640 sample that declares in-painted ('filled') ground truth."""

    name = "filled"
    ids = ("only",)

    def load(self, index: int) -> Sample:
        depth = torch.full((1, 480, 640), 2.0)
        meta = {"id": "only", "depth_kind": "filled"}
        return Sample(torch.zeros(3, 480, 640), depth, depth > 0, meta=meta)


def test_a_ground_truth_variant_other_than_the_protocols_is_flagged(tmp_path):
    save_prediction(tmp_path, "only", np.full((480, 640), 2.0, np.float32))
    with pytest.warns(UserWarning, match="expects 'raw' ground truth but the dataset provides"):
        result = evaluate_predictions(tmp_path, _FilledDepthDataset(), "nyu_eigen")
    assert result.settings["gt_variants_seen"] == ["filled"]
    assert result.metrics["abs_rel"] == 0.0
