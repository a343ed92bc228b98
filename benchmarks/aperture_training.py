"""Accuracy of a short aperture-supervised run (Srinivasan et al. 2018) against baselines
scored in the same run.

Usage::

    python benchmarks/aperture_training.py OUT_DIR [--steps 300] [--size 128 96] [--scenes 30]

Trains the shipped ``synth_aperture`` recipe (no depth labels: shallow-DoF pairs rendered from
the synthetic world's depth) at a reduced size, then scores the final model on unseen scenes
under the ``dense`` protocol:

* without alignment (the lens is known, so the prediction is metric) and with per-image median
  scaling;
* the best constant depth, fit on the validation ground truth itself (an oracle floor), without
  alignment and with median scaling (which makes it the per-image median depth).

Prints one JSON record with AbsRel / RMSE / δ<1.25 and the ratios of AbsRel to the baseline.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from depthforge.eval import Evaluator
from depthforge.eval.baselines import best_constant_depth
from depthforge.train.config import load_config, resolve_recipe
from depthforge.train.run import build_training, make_validator

KEYS = ("abs_rel", "rmse", "d1")


def constant_scores(dataset, depth: float, align: str | None, output_space) -> dict[str, float]:
    """Metrics of a constant ``depth`` prediction for every image of ``dataset``."""
    evaluator = Evaluator("dense", align=align, output_space=output_space)
    for sample in dataset:
        pred = torch.full_like(sample.depth[None], depth)
        evaluator.add(pred, sample.depth[None], sample.mask[None], ids=[sample.id])
    return evaluator.result().metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--size", type=int, nargs=2, default=(128, 96), metavar=("W", "H"))
    parser.add_argument("--scenes", type=int, default=30)
    args = parser.parse_args()
    w, h = args.size
    world = f"size: [{w}, {h}], kind: indoor, pairs: 0"
    overrides = [
        f"out_dir={args.out_dir}",
        f"train_data.options.source.options={{scenes: {args.scenes}, frames: 4, {world}}}",
        f"val_data.options={{scenes: 4, frames: 2, {world}}}",
        f"model.overrides.input_size=[{h},{w}]",
        "loss.kwargs.layers=16",
        "loop.batch_size=4",
        f"loop.steps={args.steps}",
        f"loop.val_every={args.steps}",
        f"loop.ckpt_every={args.steps}",
    ]
    start = time.perf_counter()
    run = build_training(load_config(resolve_recipe("synth_aperture"), overrides))
    run.trainer.fit(overwrite=True)
    minutes = (time.perf_counter() - start) / 60.0
    model = run.trainer.bare_model.eval()
    depth = best_constant_depth(run.val_set)
    report: dict[str, object] = {"overrides": overrides, "train_minutes": round(minutes, 1)}
    for align in (None, "median"):
        name = align or "none"
        ours = make_validator(run.val_set, "dense", align=align)(model)
        floor = constant_scores(run.val_set, depth, align, model.output_space)
        report[f"aperture_{name}"] = {k: round(ours[k], 4) for k in KEYS}
        report[f"constant_{name}"] = {k: round(floor[k], 4) for k in KEYS}
        report[f"abs_rel_ratio_{name}"] = round(ours["abs_rel"] / floor["abs_rel"], 3)
    report["constant_depth_m"] = round(depth, 3)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
