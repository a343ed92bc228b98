"""Flow disparity of a stereo pair at 640×480 on the CPU: OpenCV DIS vs Farnebäck, same run.

Times :func:`depthforge.data.web_stereo.disparity_from_flow` (two flows + the forward-backward
check) and the bare forward flow, and scores each method against the exact disparity ``f·B/z``
of the synthetic outdoor world (median |error| over pixels that pass the consistency check and
have ground truth, and the fraction of those pixels).

Usage::

    python benchmarks/web_stereo_speed.py [--repeats 3] [--frames 3] [--threads N]
"""

from __future__ import annotations

import argparse

import cv2
import torch

from depthforge.data.web_stereo import FLOW_METHODS, disparity_from_flow, grey_uint8, optical_flow
from depthforge.synth import SynthDataset
from timing import best_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        cv2.setNumThreads(args.threads)

    dataset = SynthDataset(
        split="val", scenes=args.frames, frames=1, size=(640, 480), kind="outdoor", stereo=True
    )
    samples = [dataset[i] for i in range(len(dataset))]
    print(
        f"{len(samples)} synthetic outdoor pairs 640×480 (baseline {samples[0].stereo.baseline} m), "
        f"OpenCV {cv2.__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    first = samples[0]
    left, right = grey_uint8(first.image, "left"), grey_uint8(first.stereo.image, "right")
    rows = {}
    for method in FLOW_METHODS:
        flow_s = best_seconds(lambda m=method: optical_flow(left, right, m), args.repeats)
        pair_s = best_seconds(
            lambda m=method: disparity_from_flow(first.image, first.stereo.image, m), args.repeats
        )
        errors, kept = [], []
        for sample in samples:
            out = disparity_from_flow(sample.image, sample.stereo.image, method)
            gt = float(sample.K[0, 0]) * sample.stereo.baseline / sample.depth.clamp(min=1e-6)
            selected = out.mask & sample.mask
            errors.append((out.disparity - gt)[selected].abs())
            kept.append(float(out.mask.float().mean()))
        error = torch.cat(errors)
        rows[method] = (flow_s, pair_s, float(error.median()), float((error < 1).float().mean()))
        rows[method] += (sum(kept) / len(kept),)
    base = rows["farneback"][1]
    print(
        "| method | one flow (s) | disparity + check (s) | pairs/s | vs Farnebäck | median err (px) | < 1 px | kept |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for method, (flow_s, pair_s, median, within, kept) in rows.items():
        print(
            f"| {method} | {flow_s:.3f} | {pair_s:.3f} | {1 / pair_s:.1f} | ×{base / pair_s:.2f} "
            f"| {median:.2f} | {within:.0%} | {kept:.0%} |"
        )


if __name__ == "__main__":
    main()
