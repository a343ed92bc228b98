"""Torch7 models for tests, written from the Lua sources rather than from depthforge's code.

* :class:`LuaModule` and :func:`write_t7`: a writer of Torch7's binary serialisation
  (``torch.save`` of an ``nn`` module, as ``torchfile`` reads it): little-endian int32 type tags,
  float64 numbers, int64 sizes/strides, tables as key/value pairs with a reference index, torch
  objects as ``"V 1"`` + class name + their field table, tensors as sizes, strides, a 1-based
  storage offset and a ``torch.CudaStorage`` (the DIW releases were saved from the GPU).
* :func:`diw_hourglass_lua`: the model of DIW's ``hourglass3.lua`` / ``inception_new.lua``, module
  for module, with random weights and running statistics.
* :func:`lua_forward`: a Torch7-semantics interpreter of such a tree (a reference forward pass).
* :func:`positional_tensors`: the positional parameter names MegaDepth's conversion gives it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch
import torch.nn.functional as F

NIL, NUMBER, STRING, TABLE, TORCH, BOOLEAN = 0, 1, 2, 3, 4, 5


@dataclass
class LuaModule:
    """An ``nn`` module: Torch class name, fields (numbers, bools, strings, float arrays) and
    children (its ``modules`` table)."""

    typename: str
    fields: dict[str, Any] = field(default_factory=dict)
    children: list[LuaModule] = field(default_factory=list)


class _Writer:
    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.index = 0

    def _pack(self, fmt: str, *values: Any) -> None:
        self.stream.write(struct.pack(fmt, *values))

    def _string(self, text: str) -> None:
        data = text.encode()
        self._pack("<i", len(data))
        self.stream.write(data)

    def _reference(self, tag: int) -> None:
        self.index += 1
        self._pack("<ii", tag, self.index)

    def _torch_header(self, typename: str) -> None:
        self._reference(TORCH)
        self._string("V 1")
        self._string(typename)

    def _table(self, items: list[tuple[Any, Any]]) -> None:
        self._reference(TABLE)
        self._pack("<i", len(items))
        for key, value in items:
            self.write(key)
            self.write(value)

    def write(self, value: Any) -> None:
        if value is None:
            self._pack("<i", NIL)
        elif isinstance(value, bool):
            self._pack("<ii", BOOLEAN, int(value))
        elif isinstance(value, (int, float)):
            self._pack("<id", NUMBER, float(value))
        elif isinstance(value, str):
            self._pack("<i", STRING)
            self._string(value)
        elif isinstance(value, np.ndarray):
            array = np.ascontiguousarray(value, dtype="<f4")
            self._torch_header("torch.CudaTensor")
            self._pack("<i", array.ndim)
            strides = [s // array.itemsize for s in array.strides]
            self._pack(f"<{array.ndim}q{array.ndim}qq", *array.shape, *strides, 1)
            self._torch_header("torch.CudaStorage")
            self._pack("<q", array.size)
            self.stream.write(array.tobytes())
        elif isinstance(value, list):
            self._table([(i + 1, item) for i, item in enumerate(value)])
        elif isinstance(value, LuaModule):
            self._torch_header(value.typename)
            items = list(value.fields.items()) + [("train", False)]
            if value.children or value.typename.endswith(("Sequential", "Concat", "ConcatTable")):
                items.append(("modules", value.children))
            self._table(items)
        else:
            raise TypeError(f"cannot write {type(value).__name__}")


def write_t7(path: Path, module: LuaModule) -> None:
    """``torch.save(path, module)`` in Torch7's binary format."""
    with open(path, "wb") as stream:
        _Writer(stream).write(module)


def _conv(rng: np.random.Generator, n_in: int, n_out: int, k: int) -> LuaModule:
    scale = 1.0 / np.sqrt(n_in * k * k)
    return LuaModule(
        "cudnn.SpatialConvolution",
        {
            "nInputPlane": n_in, "nOutputPlane": n_out, "kW": k, "kH": k, "dW": 1, "dH": 1,
            "padW": (k - 1) // 2, "padH": (k - 1) // 2, "groups": 1,
            "weight": rng.uniform(-scale, scale, (n_out, n_in, k, k)),
            "bias": rng.uniform(-scale, scale, n_out),
        },
    )  # fmt: skip


def _batchnorm(rng: np.random.Generator, n: int, affine: bool, legacy: bool) -> LuaModule:
    """``nn.SpatialBatchNormalization``; ``legacy``: the pre-2016 ``running_std`` (inverse std)."""
    fields: dict[str, Any] = {"eps": 1e-5, "momentum": 0.1, "affine": affine}
    fields["running_mean"] = rng.normal(0.0, 0.2, n)
    var = rng.uniform(0.5, 2.0, n)
    if legacy:
        fields["running_std"] = 1.0 / np.sqrt(var + 1e-5)
    else:
        fields["running_var"] = var
    if affine:
        fields["weight"] = rng.uniform(0.5, 1.5, n)
        fields["bias"] = rng.normal(0.0, 0.2, n)
    return LuaModule("nn.SpatialBatchNormalization", fields)


def _relu() -> LuaModule:
    return LuaModule("cudnn.ReLU", {"inplace": True})


def inception_lua(
    rng: np.random.Generator, n_in: int, config: list[list[int]], legacy: bool
) -> LuaModule:
    """``inception_new.lua::inception(input_size, config)``."""
    branches = [
        LuaModule(
            "nn.Sequential",
            children=[
                _conv(rng, n_in, config[0][0], 1),
                _batchnorm(rng, config[0][0], False, legacy),
                _relu(),
            ],
        )
    ]
    for k, reduce, out in config[1:]:
        branches.append(
            LuaModule(
                "nn.Sequential",
                children=[
                    _conv(rng, n_in, reduce, 1),
                    _batchnorm(rng, reduce, False, legacy),
                    _relu(),
                    _conv(rng, reduce, out, k),
                    _batchnorm(rng, out, False, legacy),
                    _relu(),
                ],
            )  # fmt: skip
        )
    return LuaModule("nn.Concat", {"dimension": 2}, branches)


def diw_hourglass_lua(seed: int = 0, legacy_batchnorm: bool = False) -> LuaModule:
    """``hourglass3.lua::get_model()`` with random weights (``legacy_batchnorm``: ``running_std``)."""
    rng = np.random.default_rng(seed)

    def inc(n_in: int, config: list[list[int]]) -> LuaModule:
        return inception_lua(rng, n_in, config, legacy_batchnorm)

    def seq(*children: LuaModule) -> LuaModule:
        return LuaModule("nn.Sequential", children=list(children))

    def pool(kind: str) -> LuaModule:
        return LuaModule(kind, {"kW": 2, "kH": 2, "dW": 2, "dH": 2})

    def up() -> LuaModule:
        return LuaModule("nn.SpatialUpSamplingNearest", {"scale_factor": 2})

    def level(first: LuaModule, second: LuaModule) -> LuaModule:
        return seq(LuaModule("nn.ConcatTable", children=[first, second]), LuaModule("nn.CAddTable"))

    c256 = [[64], [3, 32, 64], [5, 32, 64], [7, 32, 64]]
    c256_wide = [[64], [3, 64, 64], [7, 64, 64], [11, 64, 64]]
    c128 = [[32], [3, 32, 32], [5, 32, 32], [7, 32, 32]]
    avg, mx = "nn.SpatialAveragePooling", "cudnn.SpatialMaxPooling"
    ch1 = level(
        seq(inc(256, c256), inc(256, c256)),
        seq(pool(avg), inc(256, c256), inc(256, c256), inc(256, c256), up()),
    )
    ch2 = level(
        seq(inc(256, c256), inc(256, c256_wide)),
        seq(
            pool(avg),
            inc(256, c256),
            inc(256, c256),
            ch1,
            inc(256, c256),
            inc(256, c256_wide),
            up(),
        ),
    )
    ch3 = level(
        seq(pool(mx), inc(128, c128), inc(128, [[64], [3, 32, 64], [5, 32, 64], [7, 32, 64]]), ch2,
            inc(256, c256), inc(256, [[32], [3, 32, 32], [5, 32, 32], [7, 32, 32]]), up()),
        seq(inc(128, c128), inc(128, [[32], [3, 64, 32], [7, 64, 32], [11, 64, 32]])),
    )  # fmt: skip
    ch4 = level(
        seq(pool(mx), inc(128, c128), inc(128, c128), ch3,
            inc(128, [[32], [3, 64, 32], [5, 64, 32], [7, 64, 32]]),
            inc(128, [[16], [3, 32, 16], [7, 32, 16], [11, 32, 16]]), up()),
        seq(inc(128, [[16], [3, 64, 16], [7, 64, 16], [11, 64, 16]])),
    )  # fmt: skip
    first_bn = _batchnorm(rng, 128, True, legacy_batchnorm)
    return seq(_conv(rng, 3, 128, 7), first_bn, _relu(), ch4, _conv(rng, 64, 1, 3))


def _tensor(value: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(value, dtype=np.float32))


def lua_forward(module: LuaModule, x: Any) -> Any:
    """Torch7's ``module:forward(x)`` for the module types of the DIW hourglass (inference)."""
    kind, f = module.typename.rsplit(".", 1)[-1], module.fields
    if kind == "Sequential":
        for child in module.children:
            x = lua_forward(child, x)
        return x
    if kind == "ConcatTable":
        return [lua_forward(child, x) for child in module.children]
    if kind == "Concat":
        return torch.cat(
            [lua_forward(child, x) for child in module.children], dim=f["dimension"] - 1
        )
    if kind == "CAddTable":
        return sum(x[1:], x[0])
    if kind == "SpatialConvolution":
        return F.conv2d(
            x, _tensor(f["weight"]), _tensor(f["bias"]), (f["dH"], f["dW"]), (f["padH"], f["padW"])
        )
    if kind == "SpatialBatchNormalization":
        if "running_var" in f:
            std = np.sqrt(f["running_var"] + f["eps"])
        else:
            std = 1.0 / f["running_std"]
        y = (x - _tensor(f["running_mean"])[:, None, None]) / _tensor(std)[:, None, None]
        if f["affine"]:
            y = y * _tensor(f["weight"])[:, None, None] + _tensor(f["bias"])[:, None, None]
        return y
    if kind == "ReLU":
        return torch.relu(x)
    if kind == "SpatialMaxPooling":
        return F.max_pool2d(x, (f["kH"], f["kW"]), (f["dH"], f["dW"]))
    if kind == "SpatialAveragePooling":
        return F.avg_pool2d(x, (f["kH"], f["kW"]), (f["dH"], f["dW"]))
    if kind == "SpatialUpSamplingNearest":
        return x.repeat_interleave(f["scale_factor"], dim=-2).repeat_interleave(
            f["scale_factor"], dim=-1
        )
    raise ValueError(f"no forward for {module.typename}")


def positional_tensors(module: LuaModule, prefix: str = "") -> dict[str, torch.Tensor]:
    """Parameters and running statistics under their positional names (``3.0.1.0.0.weight``),
    as MegaDepth's Torch7-to-PyTorch conversion of the same model names them."""
    kind, f = module.typename.rsplit(".", 1)[-1], module.fields
    if kind == "SpatialConvolution":
        return {f"{prefix}weight": _tensor(f["weight"]), f"{prefix}bias": _tensor(f["bias"])}
    if kind == "SpatialBatchNormalization":
        out = {}
        if f["affine"]:
            out = {f"{prefix}weight": _tensor(f["weight"]), f"{prefix}bias": _tensor(f["bias"])}
        var = f["running_var"] if "running_var" in f else f["running_std"] ** -2.0 - f["eps"]
        return out | {
            f"{prefix}running_mean": _tensor(f["running_mean"]),
            f"{prefix}running_var": _tensor(var),
        }
    tensors: dict[str, torch.Tensor] = {}
    for index, child in enumerate(module.children):
        tensors |= positional_tensors(child, f"{prefix}{index}.")
    return tensors
