"""DIW's Torch7 ``Best_model_period*.t7`` converter against the same hourglass run by MegaDepth's
PyTorch port of it (no Torch7 runtime is needed).

Usage::

    python benchmarks/validate_diw_release.py MEGADEPTH_CHECKOUT [--size 240x320] [--legacy-bn]

The network of ``pytorch_DIW_scratch.py`` (imported from the zhengqili/MegaDepth checkout; it is
the Torch7-to-PyTorch conversion of DIW's ``hourglass3.lua``) gets random weights and BatchNorm
statistics; its module tree is written as the Torch7 model the release holds
(``nn.Sequential`` / ``nn.ConcatTable`` / ``nn.Concat`` / ``nn.CAddTable``,
``cudnn.SpatialConvolution``, ``nn.SpatialBatchNormalization``, ``cudnn.ReLU``, the poolings and
``nn.SpatialUpSamplingNearest``, CUDA tensors) with the test suite's ``.t7`` writer; the file is
converted (``diw_t7``) into ``diw_hourglass`` and both run on the same random images.
``--legacy-bn`` writes BatchNorm statistics as pre-2016 Torch did (``running_std`` = inverse std).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from release_check import converted, import_reference, randomize, report

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.torch7_format import LuaModule, write_t7  # noqa: E402


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def lua_tree(module: nn.Module, legacy_bn: bool) -> LuaModule:
    """The Torch7 module a ``pytorch_DIW_scratch`` module was converted from."""
    kind = type(module).__name__
    children = [lua_tree(child, legacy_bn) for child in module.children()]
    if kind == "Sequential":
        return LuaModule("nn.Sequential", children=children)
    if kind == "LambdaMap":
        return LuaModule("nn.ConcatTable", children=children)
    if kind == "LambdaReduce":
        probe = module.lambda_func(torch.zeros(1, 1), torch.zeros(1, 1))
        if probe.shape[1] == 2:
            return LuaModule("nn.Concat", {"dimension": 2}, children)
        return LuaModule("nn.CAddTable")
    if isinstance(module, nn.Conv2d):
        (kh, kw), (dh, dw), (ph, pw) = module.kernel_size, module.stride, module.padding
        return LuaModule(
            "cudnn.SpatialConvolution",
            {
                "nInputPlane": module.in_channels, "nOutputPlane": module.out_channels,
                "kW": kw, "kH": kh, "dW": dw, "dH": dh, "padW": pw, "padH": ph, "groups": 1,
                "weight": module.weight.detach().numpy(), "bias": module.bias.detach().numpy(),
            },
        )  # fmt: skip
    if isinstance(module, nn.BatchNorm2d):
        fields = {"eps": module.eps, "momentum": module.momentum, "affine": module.affine}
        fields["running_mean"] = module.running_mean.numpy()
        var = module.running_var.numpy().astype(np.float64)
        if legacy_bn:
            fields["running_std"] = 1.0 / np.sqrt(var + module.eps)
        else:
            fields["running_var"] = var
        if module.affine:
            fields["weight"] = module.weight.detach().numpy()
            fields["bias"] = module.bias.detach().numpy()
        return LuaModule("nn.SpatialBatchNormalization", fields)
    if isinstance(module, nn.ReLU):
        return LuaModule("cudnn.ReLU", {"inplace": True})
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        (kh, kw), (dh, dw) = _pair(module.kernel_size), _pair(module.stride)
        name = (
            "cudnn.SpatialMaxPooling"
            if isinstance(module, nn.MaxPool2d)
            else "nn.SpatialAveragePooling"
        )
        return LuaModule(name, {"kW": kw, "kH": kh, "dW": dw, "dH": dh})
    if isinstance(module, nn.UpsamplingNearest2d):
        return LuaModule("nn.SpatialUpSamplingNearest", {"scale_factor": int(module.scale_factor)})
    raise SystemExit(f"no Torch7 counterpart for {kind}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout")
    parser.add_argument("--size", default="240x320", help="H x W, multiples of 16")
    parser.add_argument("--legacy-bn", action="store_true")
    args = parser.parse_args()
    height, width = map(int, args.size.lower().split("x"))
    torch.manual_seed(0)
    reference = import_reference(args.checkout, "pytorch_DIW_scratch.py", "pytorch_DIW_scratch")
    network = reference.pytorch_DIW_scratch
    randomize(network, seed=1)
    network.eval()
    images = torch.rand(2, 3, height, width)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "Best_model_period1.t7"
        write_t7(path, lua_tree(network, args.legacy_bn))
        print(f"wrote a {path.stat().st_size / 2**20:.1f} MiB Torch7 model")
        ours = converted("diw_hourglass", "diw_t7", path)
    with torch.no_grad():
        ok = report("relative depth", network(images), ours(images))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
