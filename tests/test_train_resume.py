"""``depthforge train --resume RUN``: the run folder alone continues a run exactly."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest

from depthforge import cli
from depthforge.train.logging import METRICS_LOG, read_metrics
from depthforge.train.resume import RUN_RECORD
from tests.test_cli import run_cli

TINY = [
    "loop.steps=4",
    "loop.batch_size=2",
    "loop.log_every=1",
    "loop.val_every=4",
    "loop.ckpt_every=2",
    "model.overrides.input_size=[48,64]",
    "train_data.options={scenes: 2, frames: 2, size: [64, 48], kind: indoor}",
    "val_data.options={scenes: 1, frames: 2, size: [64, 48], kind: indoor}",
]


class Killed(Exception):
    """Stands in for the process being killed."""


def losses(run) -> list[tuple[int, float]]:
    return [(r["step"], r["loss"]) for r in read_metrics(run / METRICS_LOG) if "loss" in r]


def train(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    return run_cli(monkeypatch, capsys, "train", *args)


def test_resume_needs_only_the_run_folder(monkeypatch, capsys, tmp_path):
    code, _, err = train(monkeypatch, capsys, "synth_demo", f"out_dir={tmp_path / 'a'}", *TINY)
    assert code == 0, err
    # off a terminal: what is being prepared, then progress as lines
    assert "· building fcrn_resnet18" in err
    assert "· opening the training data (synth, split train)" in err
    assert "training: 0/4 (0 %) preparing the first batch" in err
    assert "training: 4/4 (100 %) loss" in err

    @contextmanager
    def killed_after_step_3(description, enabled=True):
        def update(done, total, loss=None):
            if done == 3:  # logged step 3; the last checkpoint is step 2's
                raise Killed

        yield update

    run = tmp_path / "b"
    with monkeypatch.context() as patch:
        patch.setattr(cli.training, "train_progress", killed_after_step_3)
        with pytest.raises(Killed):
            train(patch, capsys, "synth_demo", f"out_dir={run}", *TINY)
    assert [step for step, _ in losses(run)] == [1, 2, 3]
    record = json.loads((run / RUN_RECORD).read_text())
    assert record["recipe"] == "synth_demo" and record["overrides"][0] == f"out_dir={run}"

    code, out, err = train(monkeypatch, capsys, "--resume", str(run))
    assert code == 0, err
    assert "trained 4 steps" in out
    straight, resumed = losses(tmp_path / "a"), losses(run)
    assert [s for s, _ in resumed] == [1, 2, 3, 4]  # step 3, replayed, is logged once
    assert [loss for _, loss in resumed] == pytest.approx([loss for _, loss in straight], rel=1e-6)
    assert straight[3][1] != straight[2][1]  # not a comparison of constants

    # the recipe and out_dir form still works, and keeps the run's overrides (4 steps, not 1200)
    code, out, err = train(monkeypatch, capsys, "synth_demo", f"out_dir={run}", "--resume")
    assert code == 0 and "trained 4 steps" in out, err


def test_resume_refuses_another_recipe_or_model_naming_both(monkeypatch, capsys, tmp_path):
    run = tmp_path / "run"
    tiny = [t for t in TINY if not t.startswith("loop.steps")]
    code, _, err = train(monkeypatch, capsys, "synth_demo", f"out_dir={run}", "loop.steps=2", *tiny)
    assert code == 0, err
    code, _, err = train(monkeypatch, capsys, "synth_fcrn_berhu", f"out_dir={run}", "--resume")
    assert code == 2 and "'synth_demo'" in err and "'synth_fcrn_berhu'" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = train(monkeypatch, capsys, "--resume", str(run), "model.name=fcrn_resnet50")
    assert code == 2 and "'fcrn_resnet18'" in err and "'fcrn_resnet50'" in err
    code, _, err = train(monkeypatch, capsys, str(run))
    assert code == 2 and "is a run folder, not a recipe: continue it with --resume" in err
    code, _, err = train(monkeypatch, capsys, "--resume", str(tmp_path / "nothing"))
    assert code == 2 and "nothing" in err and "Traceback" not in err


def test_recipes_lists_every_shipped_recipe_with_a_line_of_description(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run_cli(monkeypatch, capsys, "recipes")
    assert code == 0
    assert "synth_demo" in out and "The demo recipe: FCRN (ResNet-18 encoder" in out
    assert "megadepth_colmap" in out and "MegaDepth-style mixed supervision" in out
