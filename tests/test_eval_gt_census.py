"""Ground truth that leaves nothing to score gets its own one-line reason, naming the file."""

from __future__ import annotations

import numpy as np
import pytest

from depthforge.data.folder import FolderDataset, write_folder_sample
from depthforge.errors import DataError
from depthforge.eval import evaluate_predictions, save_prediction
from tests.cli_runner import run_cli

IMAGE = np.zeros((4, 5, 3), np.uint8)


def folder_with_depth(tmp_path, values, depth_format="npy"):
    """Two samples whose ground truth is ``values`` (4×5 each), and predictions of 2 m."""
    root, preds = tmp_path / "data", tmp_path / "pred"
    for sid in ("a", "b"):
        depth = np.broadcast_to(np.asarray(values, np.float32), (4, 5)).copy()
        write_folder_sample(root, sid, IMAGE, depth, depth_format=depth_format)
        save_prediction(preds, sid, np.full((4, 5), 2.0, np.float32))
    return root, preds


def reason(tmp_path, values, depth_format="npy") -> DataError:
    root, preds = folder_with_depth(tmp_path, values, depth_format)
    with pytest.raises(DataError) as info:
        evaluate_predictions(preds, FolderDataset(root), "dense")
    assert "\n" not in str(info.value)
    return info.value


def test_all_nan_ground_truth_says_nan_and_names_the_file(tmp_path):
    err = reason(tmp_path, np.nan)
    assert "is NaN" in err.problem and "'a'" in err.problem and "all 2 samples" in err.problem
    assert err.path == tmp_path / "data" / "depth" / "a.npy"


def test_all_zero_ground_truth_says_zero(tmp_path):
    err = reason(tmp_path, 0.0)
    assert "is 0 (no measurement)" in err.problem and "NaN" not in err.problem


def test_all_zero_png_ground_truth_says_zero(tmp_path):
    err = reason(tmp_path, 0.0, depth_format="png16")
    assert "is 0 (no measurement)" in err.problem
    assert err.path == tmp_path / "data" / "depth" / "a.png"


def test_all_infinite_or_negative_ground_truth_says_which(tmp_path):
    assert "is infinite" in reason(tmp_path / "inf", np.inf).problem
    assert "negative" in reason(tmp_path / "neg", [-1.0, 0.0, -2.0, -3.0, -4.0]).problem


def test_millimetres_declared_as_metres_give_the_median_and_the_scale(tmp_path):
    err = reason(tmp_path, [2400.0, 2300.0, 2500.0, 0.0, 2400.0])
    problem = err.problem
    assert "beyond the cap of protocol 'dense' (150 m)" in problem
    assert "median is 2,400" in problem
    assert "millimetres declared as metres" in problem and "1000 units per metre" in problem
    assert "2.4 m" in problem


def test_a_mixture_of_nan_and_zero_is_reported_as_such(tmp_path):
    err = reason(tmp_path, [np.nan, 0.0, np.nan, 0.0, 0.0])
    assert "0, negative or not a number" in err.problem


def test_the_command_line_prints_the_reason_on_one_line(tmp_path, monkeypatch, capsys):
    root, preds = folder_with_depth(tmp_path, np.nan)
    code, _, err = run_cli(
        monkeypatch, capsys, "eval", str(preds), "--dataset", "folder", "--root", str(root)
    )
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "is NaN" in lines[0] and "a.npy" in lines[0]
    assert "Traceback" not in err
