"""SfMLearner's ``dispnet_model_best.pth.tar`` converter (PyTorch port) against the port's network.

Usage::

    python benchmarks/validate_sfmlearner_release.py SFMLEARNER_PYTORCH_CHECKOUT [--size 128x416]

``DispNetS`` is imported from ``models/DispNetS.py`` of a ClementPinard/SfmLearner-Pytorch checkout,
given random weights (its ``init_weights`` + random biases) and saved as the port's ``train.py``
saves its best model (``{'epoch', 'state_dict'}``). The file is converted (``sfmlearner_pth``)
into ``sfmlearner_dispnet``. The reference gets ``(x − 0.5)/0.5`` of the images in [0, 1] (the
port's ``run_inference.py``), ours the images; compared: eval-mode disparity (level 1) and, in
training mode, the four disparities.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

from release_check import converted, import_reference, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout")
    parser.add_argument("--size", default="128x416", help="H x W")
    args = parser.parse_args()
    height, width = map(int, args.size.lower().split("x"))
    torch.manual_seed(0)
    reference = import_reference(args.checkout, "models/DispNetS.py", "DispNetS")
    network = reference.DispNetS()
    network.init_weights()
    with torch.no_grad():
        for name, tensor in network.named_parameters():
            if name.endswith("bias"):
                tensor.uniform_(-0.1, 0.1)
    images = torch.rand(2, 3, height, width)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "dispnet_model_best.pth.tar"
        torch.save({"epoch": 1, "state_dict": network.state_dict()}, path)
        ours = converted("sfmlearner_dispnet", "sfmlearner_pth", path)
    with torch.no_grad():
        output = ours(images)
        ok = report("disparity (eval)", network.eval()((images - 0.5) / 0.5), output.disparities[0])
        ok &= report("depth = 1/disparity", 1.0 / network((images - 0.5) / 0.5), output.depth)
        scales = network.train()((images - 0.5) / 0.5)
        for level, (expected, got) in enumerate(
            zip(scales, output.disparities, strict=True), start=1
        ):
            ok &= report(f"disparity level {level} (train)", expected, got)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
