"""The demo pipeline end to end at toy size: report contents, saved model, honest baseline."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import replace

import numpy as np
import pytest
import torch

from depthforge.demo import PANEL_FRAMES, panel_indices, run_demo
from depthforge.models import load_model
from depthforge.train.logging import METRICS_LOG, read_metrics
from depthforge.train.threads import cpu_threads
from depthforge.viz import ERROR_LUT, LEGEND_WIDTH, LUT, error_preview
from tests.test_cli import run_cli

TINY = [
    "loop.steps=3",
    "loop.batch_size=2",
    "loop.val_every=3",
    "model.overrides.input_size=[48,64]",
    "train_data.options={scenes: 2, frames: 2, size: [64, 48], kind: indoor}",
    "val_data.options={scenes: 3, frames: 2, size: [64, 48], kind: indoor}",
]
VAL = {"split": "val", "scenes": 3, "frames": 2, "size": (64, 48), "kind": "indoor"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return run_demo(tmp_path_factory.mktemp("demo") / "out", overrides=TINY)


def test_report_holds_panels_table_curves_and_config(demo):
    html = demo.report.read_text()
    assert len(re.findall(r"data:image/png;base64,", html)) == PANEL_FRAMES
    # frames of the three different validation scenes first, then a second frame of the first
    captions = re.findall(r"<figcaption>(scene_\d+/\d+):", html)
    assert captions == ["scene_000/000000", "scene_001/000000", "scene_002/000000"] + [
        "scene_000/000001"
    ]
    assert "best constant" in html and f"{demo.metrics['abs_rel']:.4f}" in html
    assert html.count("<svg") == 2  # the loss and AbsRel on separate axes
    assert "training loss (log)" in html and "validation AbsRel (log)" in html
    assert "Loss: scale_invariant with lam = 0.0." in html  # words, not a Python dict
    assert "{&#x27;lam&#x27;" not in html and "{'lam'" not in html
    assert "loss:" in html  # and the exact YAML


def test_report_is_readable_like_any_new_file(demo):
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(demo.report.stat().st_mode) == 0o666 & ~umask


def test_panels_show_different_scenes_before_a_second_frame_of_one():
    ids = [f"scene_{s:03d}/{f:06d}" for s in range(8) for f in range(8)]
    assert panel_indices(ids, 4) == [0, 16, 40, 56]  # scenes 0, 2, 5, 7 (evenly spread)
    assert panel_indices(ids[:2], 4) == [0, 1]  # one scene, two frames
    assert panel_indices(["a", "b", "c"], 2) == [0, 2]  # ids without a scene part


def test_error_panel_has_its_own_colour_map_and_a_colour_bar():
    gt = np.full((40, 30), 2.0)
    pred = gt * np.linspace(1.0, 1.5, 30)[None, :]  # relative error 0 … 0.5 left to right
    valid = np.ones_like(gt, bool)
    panel = error_preview(pred, gt, valid)
    assert panel.shape == (40, 30 + LEGEND_WIDTH, 3)
    np.testing.assert_array_equal(panel[0, 0], ERROR_LUT[0])  # no error: pale yellow
    np.testing.assert_array_equal(panel[0, 29], ERROR_LUT[255])  # 0.5: dark red
    shown = {tuple(c) for c in panel[:, :30].reshape(-1, 3)}
    assert not shown & {tuple(c) for c in LUT}  # no colour of the depth map
    np.testing.assert_array_equal(panel[0, 30 + 10], ERROR_LUT[0])  # the bar: 0 at the top
    np.testing.assert_array_equal(panel[39, 30 + 10], ERROR_LUT[255])


@pytest.mark.parametrize("worse", [True, False])
def test_cli_demo_prints_progress_lines_off_a_terminal_and_warns_when_worse(
    monkeypatch, capsys, demo, tmp_path, worse
):
    base = demo.baseline_metrics["abs_rel"]
    result = replace(demo, metrics={**demo.metrics, "abs_rel": base * (1.2 if worse else 0.5)})

    def fake_run_demo(out, *, overrides, stage, render_progress, train_progress, overwrite):
        assert overrides == ["loop.steps=40"]
        stage("training")
        for step in range(41):
            train_progress(step, 40, None if step == 0 else 1.0)
        return result

    monkeypatch.setattr("depthforge.demo.run_demo", fake_run_demo)
    code, _, err = run_cli(
        monkeypatch, capsys, "demo", "--out", str(tmp_path / "d"), "--steps", "40"
    )
    assert code == 0
    lines = [line for line in err.splitlines() if line.startswith("training: ")]
    assert lines[0] == "training: 0/40 (0 %) preparing the first batch"
    assert lines[-1] == "training: 40/40 (100 %) loss 1.0000"
    assert len(lines) == 21  # every 5 % (2 steps) and the start
    assert ("warning:" in err and "no better than the best constant depth" in err) == worse


def test_baseline_is_the_constant_scored_by_the_same_protocol(demo):
    from depthforge.eval import Evaluator
    from depthforge.synth import SynthDataset

    val = SynthDataset(**VAL)
    evaluator = Evaluator("dense")
    for sample in val:
        evaluator.add(torch.full_like(sample.depth, demo.baseline_depth), sample.depth, sample.mask)
    assert evaluator.result().metrics["abs_rel"] == pytest.approx(demo.baseline_metrics["abs_rel"])
    assert demo.steps == 3


def test_saved_model_reproduces_the_reported_metrics(demo):
    from depthforge.eval import Evaluator
    from depthforge.models.predict import predict
    from depthforge.synth import SynthDataset

    model = load_model(demo.model_dir)
    evaluator = Evaluator("dense")
    for sample in SynthDataset(**VAL):
        evaluator.add(
            predict(model, sample.image[None]).depth, sample.depth[None], sample.mask[None]
        )
    assert evaluator.result().metrics["abs_rel"] == pytest.approx(demo.metrics["abs_rel"], rel=1e-5)


def test_a_second_run_with_the_same_seed_on_another_core_count_gives_identical_numbers(
    demo, tmp_path
):
    """The recipe pins the CPU threads (loop.threads): the order of the sums inside
    convolutions, and so every bit of the result, would otherwise follow the core count."""
    other = 1 if torch.get_num_threads() != 1 else 2
    threads_in_training = []
    with cpu_threads(other):
        again = run_demo(
            tmp_path / "again",
            overrides=TINY,
            train_progress=lambda *_: threads_in_training.append(torch.get_num_threads()),
        )
        assert torch.get_num_threads() == other  # restored after the run
    assert set(threads_in_training) == {2}
    assert again.metrics == demo.metrics and again.baseline_metrics == demo.baseline_metrics
    first, second = (read_metrics(r.out_dir / "run" / METRICS_LOG) for r in (demo, again))
    assert first == second and [sorted(r) for r in first] == [
        ["loss", "lr", "step"],
        ["step", "val"],
    ]
