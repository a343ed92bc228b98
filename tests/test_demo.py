"""The demo pipeline end to end at toy size: report contents, saved model, honest baseline."""

from __future__ import annotations

import re

import pytest
import torch

from depthforge.demo import run_demo
from depthforge.models import load_model

TINY = [
    "loop.steps=3",
    "loop.batch_size=2",
    "loop.val_every=3",
    "model.overrides.input_size=[48,64]",
    "train_data.options={scenes: 2, frames: 2, size: [64, 48], kind: indoor}",
    "val_data.options={scenes: 1, frames: 2, size: [64, 48], kind: indoor}",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return run_demo(tmp_path_factory.mktemp("demo") / "out", overrides=TINY)


def test_report_holds_panels_table_curve_and_config(demo):
    html = demo.report.read_text()
    assert len(re.findall(r"data:image/png;base64,", html)) == 2  # one row per validation frame
    assert "best constant" in html and "<svg" in html and "loss:" in html
    assert f"{demo.metrics['abs_rel']:.4f}" in html


def test_baseline_is_the_constant_scored_by_the_same_protocol(demo):
    from depthforge.eval import Evaluator
    from depthforge.synth import SynthDataset

    val = SynthDataset(split="val", scenes=1, frames=2, size=(64, 48), kind="indoor")
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
    for sample in SynthDataset(split="val", scenes=1, frames=2, size=(64, 48), kind="indoor"):
        evaluator.add(
            predict(model, sample.image[None]).depth, sample.depth[None], sample.mask[None]
        )
    assert evaluator.result().metrics["abs_rel"] == pytest.approx(demo.metrics["abs_rel"], rel=1e-5)
