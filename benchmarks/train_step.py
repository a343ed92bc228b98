"""Training-step throughput (steps/s) of two shipped supervised recipes on the CPU, and the share
of the step time spent waiting for data (``TrainResult.data_wait_fraction``).

Usage::

    python benchmarks/train_step.py [--steps 5] [--rounds 3] [--threads 1] [--fcrn-batch 4]

Recipes (random init, synthetic indoor world, no validation):

* ``synth_fcrn_berhu`` at the paper's 228×304 input (FCRN ResNet-18, berHu, Adam);
* ``synth_demo`` at 160×120 (FCRN ResNet-18, log-depth L2, batch 8), the demo's own settings.

Each recipe runs in three data modes, in the same process:

* ``render``: :class:`~depthforge.synth.SynthDataset` renders every sample in the training
  process (``num_workers=0``), what the recipe does as shipped — the baseline;
* ``workers2``: the same rendering in two ``DataLoader`` worker processes;
* ``memory``: the samples rendered once beforehand into
  :class:`~depthforge.train.run.InMemoryDataset` (what ``depthforge demo`` does).

steps/s is measured from the end of step 1 to the end of step ``steps − 1`` (the first step pays
for allocations and, with workers, their start-up; the last one writes ``last.pt``); the data
wait share is the Trainer's own, over the whole run. The modes run interleaved, ``rounds``
times each, and the fastest run of each mode is reported (with its own data-wait share). One
untimed 3-step run of each recipe comes first (one-time kernel selection and allocations).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from depthforge.train.config import RECIPES_DIR, load_config
from depthforge.train.run import InMemoryDataset, build_training, open_data

MODES = ("render", "workers2", "memory")


def run_recipe(recipe: str, overrides: list[str], mode: str, steps: int, out: Path):
    """``(steps/s, data_wait_fraction, seconds to pre-render or 0)`` of one short run."""
    workers = 2 if mode == "workers2" else 0
    cfg = load_config(
        RECIPES_DIR / f"{recipe}.yaml",
        [
            *overrides,
            f"out_dir={out}",
            f"loop.steps={steps}",
            f"loop.num_workers={workers}",
            "loop.ckpt_every=1000000",
            "loop.log_every=1000000",
            "loop.device=cpu",
            "val_data=null",
        ],
    )
    prepare = 0.0
    train_set = None
    if mode == "memory":
        t0 = time.perf_counter()
        train_set = InMemoryDataset(open_data(cfg.train_data))
        prepare = time.perf_counter() - t0
    stamps: list[float] = []
    run = build_training(
        cfg, train_set=train_set, progress=lambda *_: stamps.append(time.perf_counter())
    )
    result = run.trainer.fit()
    rate = (len(stamps) - 2) / (stamps[-2] - stamps[0])
    return rate, result.data_wait_fraction, prepare


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="steps per run (≥ 3)")
    parser.add_argument("--threads", type=int, default=1, help="1: stable on a shared machine")
    parser.add_argument("--rounds", type=int, default=3, help="runs per mode; the fastest counts")
    parser.add_argument("--fcrn-batch", type=int, default=4, help="batch of the 228×304 recipe")
    args = parser.parse_args()
    if args.steps < 3:
        parser.error("--steps must be ≥ 3")
    torch.set_num_threads(args.threads)
    samples = args.steps * max(8, args.fcrn_batch)
    frames = 4
    scenes = -(-samples // frames)  # every step sees new samples, as in a real epoch
    cases = {
        "synth_fcrn_berhu @ 228×304": (
            "synth_fcrn_berhu",
            [
                "model.overrides.input_size=[228,304]",
                f"loop.batch_size={args.fcrn_batch}",
                f"train_data.options={{scenes: {scenes}, frames: {frames}, size: [304, 228]}}",
            ],
        ),
        "synth_demo @ 160×120": (
            "synth_demo",
            [f"train_data.options={{scenes: {scenes}, frames: {frames}, size: [160, 120]}}"],
        ),
    }
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.steps} steps per "
        f"run, load average {os.getloadavg()[0]:.2f}"
    )
    print("| recipe | data | batch | steps/s | samples/s | data wait | vs render | pre-render s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, (recipe, overrides) in cases.items():
            batch = args.fcrn_batch if "fcrn" in recipe else 8
            # Warm-up (one-time kernel selection and allocations), not reported.
            run_recipe(recipe, overrides, "memory", 3, Path(tmp) / f"{recipe}_warmup")
            best: dict[str, tuple[float, float, float]] = {}
            for round_ in range(args.rounds):  # modes interleaved: the load drifts over time
                for mode in MODES:
                    got = run_recipe(
                        recipe, overrides, mode, args.steps, Path(tmp) / f"{recipe}_{mode}{round_}"
                    )
                    if mode not in best or got[0] > best[mode][0]:
                        best[mode] = got
            base = best["render"][0]
            for mode in MODES:
                rate, wait, prepare = best[mode]
                print(
                    f"| {label} | {mode} | {batch} | {rate:.3f} | {rate * batch:.2f} | "
                    f"{100 * wait:.0f} % | ×{rate / base:.2f} | {prepare:.1f} |",
                    flush=True,
                )
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
