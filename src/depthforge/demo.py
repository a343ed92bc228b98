"""``depthforge demo``: the whole toolkit on the embedded synthetic world, in one command.

Renders a training and a validation set, fits the best constant depth as the baseline, trains a
small FCRN for a few minutes, scores both with the same protocol, predicts held-out frames and
writes a self-contained HTML report (inputs, ground truth, predictions, error maps, learning
curve, metrics table and the exact config).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import yaml

from depthforge.eval import Evaluator
from depthforge.eval.baselines import best_constant_depth
from depthforge.models.predict import predict
from depthforge.report import HtmlReport, svg_line_chart
from depthforge.train.config import (
    TrainConfig,
    apply_overrides,
    build_config,
    load_yaml_composed,
    resolve_recipe,
)
from depthforge.train.logging import METRICS_LOG, read_metrics
from depthforge.train.run import InMemoryDataset, build_training, finish_run, open_data
from depthforge.train.threads import cpu_threads
from depthforge.viz import depth_preview, depth_range, error_preview, hstack

DEMO_RECIPE = "synth_demo"
REPORT_FILE = "report.html"
PANEL_FRAMES = 4


@dataclass
class DemoResult:
    """What the demo measured."""

    out_dir: Path
    report: Path
    model_dir: Path
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    baseline_depth: float
    seconds: float
    steps: int

    @property
    def beats_baseline(self) -> bool:
        """Whether the model's AbsRel is below the best constant depth's."""
        return self.metrics["abs_rel"] < self.baseline_metrics["abs_rel"]


def constant_baseline_metrics(dataset, depth_m: float, protocol: str) -> dict[str, float]:
    """Metrics of predicting ``depth_m`` everywhere, under ``protocol``."""
    evaluator = Evaluator(protocol)
    for sample in dataset:
        evaluator.add(
            torch.full_like(sample.depth, depth_m), sample.depth, sample.mask, ids=[sample.id]
        )
    return evaluator.result().metrics


def _uint8_image(image: torch.Tensor) -> np.ndarray:
    return (image.permute(1, 2, 0).clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)


def panel_indices(ids: list[str], count: int) -> list[int]:
    """Indices of ``count`` frames from as many different scenes as possible: the scenes (the id
    up to its last ``/``) evenly spaced over the data set, the first frame of each, then further
    frames of the same scenes when there are fewer scenes than ``count``."""
    scenes: dict[str, list[int]] = {}
    for index, sample_id in enumerate(ids):
        scenes.setdefault(sample_id.rsplit("/", 1)[0], []).append(index)
    groups = list(scenes.values())
    picked = np.linspace(0, len(groups) - 1, min(count, len(groups))).round().astype(int)
    order = [groups[g] for g in picked] + [g for i, g in enumerate(groups) if i not in picked]
    rounds = (group[k] for k in range(max(map(len, groups))) for group in order if k < len(group))
    return [index for index, _ in zip(rounds, range(count), strict=False)]


def prediction_panels(model, dataset, count: int) -> list[tuple[str, np.ndarray]]:
    """Input | ground truth | prediction | relative error, for ``count`` frames of different
    scenes (:func:`panel_indices`)."""
    panels = []
    ids = [dataset[i].id for i in range(len(dataset))]
    for sample in [dataset[i] for i in panel_indices(ids, count)]:
        pred = predict(model, sample.image[None]).depth[0, 0].numpy()
        gt, valid = sample.depth[0].numpy(), sample.mask[0].numpy()
        lo, hi = depth_range(gt, valid)
        row = hstack(
            [
                _uint8_image(sample.image),
                depth_preview(np.where(valid, gt, 0.0), lo, hi),
                depth_preview(pred, lo, hi),
                error_preview(pred, gt, valid),
            ]
        )
        panels.append(
            (f"{sample.id}: input | ground truth | prediction | relative error |p − g|/g", row)
        )
    return panels


def run_demo(
    out_dir: str | Path = "depthforge-demo",
    *,
    overrides: list[str] | None = None,
    stage: Callable[[str], None] | None = None,
    render_progress: Callable[[int, int], None] | None = None,
    train_progress: Callable[[int, int, float], None] | None = None,
    overwrite: bool = False,
) -> DemoResult:
    """Run the demo into ``out_dir`` (see the module docstring); ``overrides`` are ``key=value``
    changes of the ``synth_demo`` recipe (e.g. ``loop.steps=50``); ``overwrite`` replaces a
    previous demo run in ``out_dir``."""
    started = time.perf_counter()
    out = Path(out_dir)
    raw = apply_overrides(
        load_yaml_composed(resolve_recipe(DEMO_RECIPE)),
        [f"out_dir={out / 'run'}", *(overrides or [])],
    )
    cfg: TrainConfig = build_config(raw)
    say = stage or (lambda _text: None)

    with cpu_threads(
        cfg.loop.threads
    ):  # the whole run: its numbers do not depend on the core count
        say("rendering the synthetic world")
        train_set = InMemoryDataset(open_data(cfg.train_data), render_progress)
        val_set = InMemoryDataset(open_data(cfg.val_data), render_progress)

        say("fitting the constant-depth baseline")
        constant = best_constant_depth(train_set)
        baseline = constant_baseline_metrics(val_set, constant, cfg.protocol)

        say(f"training {cfg.model.name} for {cfg.loop.steps} steps")
        run = build_training(cfg, progress=train_progress, train_set=train_set, val_set=val_set)
        result = run.trainer.fit(overwrite=overwrite)
        model_dir = finish_run(run, result)
        model = run.trainer.bare_model.eval()

        say("evaluating and writing the report")
        metrics = run.trainer.validate(model)
        seconds = time.perf_counter() - started
        report_path = write_report(
            out, cfg, metrics, baseline, constant, model, val_set, seconds, result.steps
        )
    return DemoResult(
        out, report_path, model_dir, metrics, baseline, constant, seconds, result.steps
    )


def recipe_steps() -> int:
    """Training steps of the demo recipe as shipped."""
    return build_config(load_yaml_composed(resolve_recipe(DEMO_RECIPE))).loop.steps


def describe_config(cfg: TrainConfig) -> list[str]:
    """The recipe in words, one sentence per part (model, data, loss, optimiser, schedule)."""

    def data_words(data) -> str:
        opts = data.options
        size = "×".join(str(v) for v in opts.get("size", [])) or "their own size"
        return (
            f"{opts.get('scenes', '?')} {opts.get('kind', '')} scenes × {opts.get('frames', '?')} "
            f"frames of the synthetic world at {size} pixels"
        )

    loss_args = ", ".join(f"{k} = {v}" for k, v in cfg.loss.kwargs.items())
    optim = cfg.optim
    clip = f", gradients clipped at norm {optim.grad_clip:g}" if optim.grad_clip else ""
    schedule = {
        "cosine": "cosine decay to zero",
        "constant": "a constant rate",
        "step": f"a step decay (×{optim.gamma} every {optim.step_size} steps)",
    }.get(optim.schedule, optim.schedule)
    return [
        f"Model: {cfg.model.name}, trained from scratch (seed {cfg.seed}).",
        f"Training data: {data_words(cfg.train_data)}; validation: {data_words(cfg.val_data)} "
        f"(scenes not seen in training), scored under the '{cfg.protocol}' protocol.",
        f"Loss: {cfg.loss.name}" + (f" with {loss_args}." if loss_args else "."),
        f"Optimiser: {optim.name}, learning rate {optim.lr:g}, weight decay "
        f"{optim.weight_decay:g}{clip}; {optim.warmup_steps} warm-up steps, then {schedule}.",
        f"Schedule: {cfg.loop.steps} steps of {cfg.loop.batch_size} frames, validated every "
        f"{cfg.loop.val_every} steps.",
    ]


def write_report(
    out: Path, cfg: TrainConfig, metrics, baseline, constant, model, val_set, seconds, steps
) -> Path:
    """The demo's HTML report."""
    report = HtmlReport("depthforge demo: monocular depth on the synthetic world")
    report.paragraph(
        f"{cfg.model.name} trained from scratch for {steps} steps "
        f"({seconds / 60:.1f} min end to end on {torch.get_num_threads()} CPU threads); "
        f"validation: {len(val_set)} held-out frames of unseen scenes, protocol '{cfg.protocol}'."
    )
    report.heading("Metrics on the validation frames")
    keys = ["abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "silog", "d1", "d2", "d3"]
    report.table(
        ["predictor", *keys],
        [
            [cfg.model.name, *(f"{metrics[k]:.4f}" for k in keys)],
            [f"best constant ({constant:.2f} m)", *(f"{baseline[k]:.4f}" for k in keys)],
        ],
    )
    ratio = metrics["abs_rel"] / baseline["abs_rel"]
    report.paragraph(
        f"AbsRel of the model is {ratio:.2f}× that of the best constant depth (the constant "
        "minimising AbsRel on the training set)."
        + (
            " The model is no better than that constant yet: train longer (the recipe's "
            f"{recipe_steps()} steps)."
            if ratio >= 1
            else ""
        )
    )
    report.heading("Predictions on held-out frames of different scenes")
    report.images(prediction_panels(model, val_set, PANEL_FRAMES), zoom=2)
    records = read_metrics(Path(cfg.out_dir) / METRICS_LOG)
    report.heading("Learning curves")
    report.raw_svg(
        svg_line_chart(
            {"training loss": [(r["step"], r["loss"]) for r in records if "loss" in r]},
            y_label="training loss",
        )
    )
    report.raw_svg(
        svg_line_chart(
            {
                "validation AbsRel": [
                    (r["step"], r["val"]["abs_rel"]) for r in records if "val" in r
                ]
            },
            y_label="validation AbsRel",
        )
    )
    report.heading("The recipe")
    for sentence in describe_config(cfg):
        report.paragraph(sentence)
    report.paragraph(
        f"The exact config (YAML), to train the same model with depthforge train; it is also in "
        f"{Path(cfg.out_dir) / 'run.json'}:"
    )
    report.code(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
    return report.save(out / "report.html")
