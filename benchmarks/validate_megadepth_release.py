"""MegaDepth's ``*_net_G.pth`` converter against the authors' network.

Usage::

    python benchmarks/validate_megadepth_release.py MEGADEPTH_CHECKOUT [--size 240x320]

``MEGADEPTH_CHECKOUT`` is a checkout of zhengqili/MegaDepth; its ``pytorch_DIW_scratch.py`` (the
hourglass as a Lua-converted ``nn.Sequential``) is imported from there, wrapped in
``DataParallel`` as ``models/HG_model.py`` does, given random weights and BatchNorm statistics,
and its state dict saved as the release is (keys ``module.<positional path>``, no
``num_batches_tracked``: PyTorch 0.2). The file is converted (``megadepth_pth``) into
``megadepth_hourglass`` and both networks run on the same random images in eval mode; the
reference output is log depth, compared with our ``log_depth`` (and ``exp`` of it with ``depth``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

from release_check import converted, import_reference, randomize, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout")
    parser.add_argument("--size", default="240x320", help="H x W, multiples of 16")
    args = parser.parse_args()
    height, width = map(int, args.size.lower().split("x"))
    torch.manual_seed(0)
    reference = import_reference(args.checkout, "pytorch_DIW_scratch.py", "pytorch_DIW_scratch")
    network = torch.nn.DataParallel(reference.pytorch_DIW_scratch)
    randomize(network)
    network.eval()
    state = {k: v for k, v in network.state_dict().items() if not k.endswith("num_batches_tracked")}
    images = torch.rand(2, 3, height, width)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "best_generalization_net_G.pth"
        torch.save(state, path)
        ours = converted("megadepth_hourglass", "megadepth_pth", path)
    with torch.no_grad():
        expected = network(images)
        output = ours(images)
    print(
        f"release tensors: {len(state)} (ours with num_batches_tracked: {len(ours.state_dict())})"
    )
    ok = report("log depth", expected, output.log_depth)
    ok &= report("depth = exp(log depth)", expected.exp(), output.depth)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
