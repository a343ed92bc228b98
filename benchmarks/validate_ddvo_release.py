"""DDVO's ``.pth`` converter against the authors' ``VggDepthEstimator``.

Usage::

    python benchmarks/validate_ddvo_release.py LKVOLEARNER_CHECKOUT [--size 128x416]

``VggDepthEstimator`` is imported from ``src/networks.py`` of a MightyChaos/LKVOLearner checkout,
given random weights (default init + random biases; the authors' ``init_weights`` zeroes the
biases, which would leave them out of the comparison) and its state dict saved, as the release
is. The file is converted (``ddvo_pth``) into ``ddvo_vgg``. The reference gets
``(255·x − 127)/127`` (``testKITTI.py``), ours the images in [0, 1]; the five inverse depths are
compared (the reference squeezes the channel). Today's PyTorch runs the reference's
``nn.Upsample(mode='bilinear')`` with ``align_corners=False``; our default is the release's
PyTorch 0.3.1 behaviour (``True``), so the comparison runs ours with ``align_corners=False`` and
then prints how far the two conventions are apart.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
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
    reference = import_reference(args.checkout, "src/networks.py", "networks")
    network = reference.VggDepthEstimator([height, width])
    with torch.no_grad():
        for name, tensor in network.named_parameters():
            if name.endswith("bias"):
                tensor.uniform_(-0.1, 0.1)
    network.eval()
    images = torch.rand(2, 3, height, width)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ddvo_depth.pth"
        torch.save(network.state_dict(), path)
        ours = converted("ddvo_vgg", "ddvo_pth", path, align_corners=False)
        release_default = converted("ddvo_vgg", "ddvo_pth", path)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reference's Upsample warns about align_corners
        expected = network((255.0 * images - 127.0) / 127.0)
        output = ours(images)
        ok = len(expected) == len(output.disparities)
        print(f"outputs: reference {len(expected)}, ours {len(output.disparities)}")
        for scale, (ref, got) in enumerate(zip(expected, output.disparities, strict=False)):
            ok &= report(f"inverse depth scale {scale}", ref, got[:, 0])
        ok &= report("depth = 1/inverse depth", 1.0 / expected[0], output.depth[:, 0])
        aligned = release_default(images).disparities[0][:, 0]
        gap = (aligned - expected[0]).abs().max().item()
        print(
            f"align_corners=True (release default) vs the reference on today's PyTorch: max |diff| {gap:.3g}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
