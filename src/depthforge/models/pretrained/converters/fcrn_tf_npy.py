"""FCRN's TensorFlow release ``NYU_ResNet-UpProj.npy`` → state dict of ``fcrn_resnet50_tf``.

The file (``iro-cp/FCRN-DepthPrediction``, loaded there by ``network.py::Network.load``) is a 0-d
numpy object array holding a pickled ``{op_name: {param_name: array}}`` written by Python 2; it is
read with a restricted unpickler (:func:`depthforge.io.safe_pickle.load_npy_dict`), never executed.

Op names (``tensorflow/models/fcrn.py::ResNet50UpProj`` and ``network.py::up_project``):

* trunk: ``conv1`` + ``bn_conv1``; ``res{S}{b}_branch2{a,b,c}`` + ``bn{S}{b}_branch2{a,b,c}`` for
  stage S = 2…5 and block b = a, b, c(, d, e, f); ``res{S}a_branch1`` + ``bn{S}a_branch1``;
* decoder: ``layer1`` + ``layer1_BN``; per level L in 2x, 4x, 8x, 16x: ``layer{L}_br1_Conv{A,B,C,D}``,
  ``layer{L}_br1_BN``, ``layer{L}_Conv``, ``layer{L}_BN``, ``layer{L}_br2_Conv{A,B,C,D}``,
  ``layer{L}_br2_BN``; ``ConvPred``.

Parameters: convolutions ``weights`` (HWIO: rows, cols, in, out → transposed to PyTorch's OIHW)
and ``biases``; BN ``scale``, ``offset``, ``mean``, ``variance`` (→ ``weight``, ``bias``,
``running_mean``, ``running_var``; epsilon 1e-4 lives in the model).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from depthforge.errors import DataError
from depthforge.io.safe_pickle import load_npy_dict

BLOCKS = {2: "abc", 3: "abcd", 4: "abcdef", 5: "abc"}
"""ResNet-50 blocks per stage, by their letter in the Caffe names."""
LEVELS = ("2x", "4x", "8x", "16x")
PHASES = "ABCD"
BN_PARAMS = {"scale": "weight", "offset": "bias", "mean": "running_mean", "variance": "running_var"}


def op_names() -> dict[str, tuple[str, str]]:
    """TF op name → (depthforge module prefix, ``"conv"`` or ``"bn"``), for the whole network."""
    ops = {"conv1": ("encoder.stem.0", "conv"), "bn_conv1": ("encoder.stem.1", "bn")}
    for stage, letters in BLOCKS.items():
        for index, letter in enumerate(letters):
            block = f"encoder.layers.{stage - 2}.{index}"
            for branch, n in (("2a", 1), ("2b", 2), ("2c", 3)):
                ops[f"res{stage}{letter}_branch{branch}"] = (f"{block}.conv{n}", "conv")
                ops[f"bn{stage}{letter}_branch{branch}"] = (f"{block}.bn{n}", "bn")
        ops[f"res{stage}a_branch1"] = (f"encoder.layers.{stage - 2}.0.downsample.0", "conv")
        ops[f"bn{stage}a_branch1"] = (f"encoder.layers.{stage - 2}.0.downsample.1", "bn")
    ops["layer1"] = ("bottleneck.0", "conv")
    ops["layer1_BN"] = ("bottleneck.1", "bn")
    for i, level in enumerate(LEVELS):
        up = f"decoder.{i}"
        for k, phase in enumerate(PHASES):
            ops[f"layer{level}_br1_Conv{phase}"] = (f"{up}.main.0.convs.{k}", "conv")
            ops[f"layer{level}_br2_Conv{phase}"] = (f"{up}.projection.0.convs.{k}", "conv")
        ops[f"layer{level}_br1_BN"] = (f"{up}.main.1", "bn")
        ops[f"layer{level}_Conv"] = (f"{up}.main.3", "conv")
        ops[f"layer{level}_BN"] = (f"{up}.main.4", "bn")
        ops[f"layer{level}_br2_BN"] = (f"{up}.projection.1", "bn")
    ops["ConvPred"] = ("head.0", "conv")
    return ops


def convert_fcrn_tf_npy(path: Path) -> dict[str, torch.Tensor]:
    """State dict of ``fcrn_resnet50_tf`` from the TF release file at ``path``.

    Raises:
        DataError: unreadable file, a missing or unexpected op or parameter, or a weight that is
            not a 4-d HWIO array (the message names the op).
    """
    ops = load_npy_dict(path)
    expected = op_names()
    unexpected = sorted(set(ops) - set(expected))
    if unexpected:
        raise DataError(path, f"unexpected op {unexpected[0]!r} for FCRN ResNet-50 UpProj")
    state: dict[str, torch.Tensor] = {}
    for op, (prefix, kind) in expected.items():
        if op not in ops:
            raise DataError(path, f"op {op!r} is missing")
        params = ops[op]
        if not isinstance(params, dict):
            raise DataError(path, f"op {op!r} holds {type(params).__name__}, expected a dict")
        names = {"weights": "weight", "biases": "bias"} if kind == "conv" else BN_PARAMS
        required = set(names) if kind == "bn" else {"weights"}
        if not required <= set(params) <= set(names):
            raise DataError(
                path, f"op {op!r} has parameters {sorted(params)}, expected {sorted(names)}"
            )
        for tf_name, value in params.items():
            array = np.asarray(value, dtype=np.float32)
            if tf_name == "weights":
                if array.ndim != 4:
                    raise DataError(path, f"{op}/weights has shape {array.shape}, expected HWIO")
                array = array.transpose(3, 2, 0, 1)
            state[f"{prefix}.{names[tf_name]}"] = torch.from_numpy(np.ascontiguousarray(array))
        if kind == "bn":
            state[f"{prefix}.num_batches_tracked"] = torch.tensor(0)
    return state
