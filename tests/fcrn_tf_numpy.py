"""An independent NumPy (NHWC) evaluation of FCRN's TensorFlow graph, and a writer of random
weights in the layout of its ``NYU_ResNet-UpProj.npy`` release.

Written from the reference's ``tensorflow/models/fcrn.py`` (op names, strides, biases) and
``network.py`` (``conv`` pads ``(k − 1) // 2`` on both sides and then runs a VALID convolution,
``max_pool`` is TF ``'SAME'``, ``batch_normalization`` uses epsilon 1e-4, ``unpool_as_conv``
pads the input explicitly for the 2×3, 3×2 and 2×2 kernels, ``interleave`` stacks on
``axis + 1`` and reshapes) — it shares no code with depthforge's PyTorch model.
"""

from __future__ import annotations

import pickle

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

BLOCKS = {2: "abc", 3: "abcd", 4: "abcdef", 5: "abc"}
WIDTH = {2: 64, 3: 128, 4: 256, 5: 512}
EPS = 1e-4


def conv(x, p, stride=1, pad=None):
    """VALID cross-correlation of NHWC ``x`` with HWIO ``p['weights']`` after zero padding ``pad``
    (``((top, bottom), (left, right))``; default the reference's symmetric ``(k − 1) // 2``)."""
    w = p["weights"]
    kh, kw = w.shape[:2]
    if pad is None:
        pad = (((kh - 1) // 2,) * 2, ((kw - 1) // 2,) * 2)
    x = np.pad(x, ((0, 0), pad[0], pad[1], (0, 0)))
    windows = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]
    y = np.tensordot(windows, w.transpose(2, 0, 1, 3), axes=([3, 4, 5], [0, 1, 2]))
    return y + p["biases"] if "biases" in p else y


def bn(x, p):
    return (x - p["mean"]) / np.sqrt(p["variance"] + EPS) * p["scale"] + p["offset"]


def relu(x):
    return np.maximum(x, 0)


def max_pool_same(x, k=3, s=2):
    """TF 'SAME' max pooling: output ⌈n/s⌉, padding split (total // 2, rest), pads never win."""
    pads = []
    for n in x.shape[1:3]:
        total = max((-(-n // s) - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    x = np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=-np.inf)
    return sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s].max(axis=(-2, -1))


def interleave(tensors, axis):
    shape = list(tensors[0].shape[1:])
    shape[axis - 1] *= len(tensors)  # axis counts the batch dimension
    return np.stack(tensors, axis + 1).reshape([-1, *shape])


def unpool_as_conv(x, ops, name):
    a = conv(x, ops[f"layer{name}_ConvA"])
    b = conv(x, ops[f"layer{name}_ConvB"], pad=((1, 0), (1, 1)))
    c = conv(x, ops[f"layer{name}_ConvC"], pad=((1, 1), (1, 0)))
    d = conv(x, ops[f"layer{name}_ConvD"], pad=((1, 0), (1, 0)))
    y = interleave([interleave([a, b], 1), interleave([c, d], 1)], 2)
    return bn(y, ops[f"layer{name}_BN"])


def up_project(x, ops, level):
    branch1 = relu(unpool_as_conv(x, ops, f"{level}_br1"))
    branch1 = bn(conv(branch1, ops[f"layer{level}_Conv"]), ops[f"layer{level}_BN"])
    return relu(branch1 + unpool_as_conv(x, ops, f"{level}_br2"))


def forward(ops, images):
    """``images`` NHWC RGB 0–255 → NHWC depth, as ``ResNet50UpProj`` computes it at test time."""
    x = max_pool_same(relu(bn(conv(images, ops["conv1"], stride=2), ops["bn_conv1"])))
    for stage, letters in BLOCKS.items():
        for letter in letters:
            stride = 2 if letter == "a" and stage > 2 else 1
            name = f"{stage}{letter}"
            y = relu(bn(conv(x, ops[f"res{name}_branch2a"], stride), ops[f"bn{name}_branch2a"]))
            y = relu(bn(conv(y, ops[f"res{name}_branch2b"]), ops[f"bn{name}_branch2b"]))
            y = bn(conv(y, ops[f"res{name}_branch2c"]), ops[f"bn{name}_branch2c"])
            if letter == "a":
                x = bn(conv(x, ops[f"res{name}_branch1"], stride), ops[f"bn{name}_branch1"])
            x = relu(x + y)
    x = bn(conv(x, ops["layer1"]), ops["layer1_BN"])
    for level in ("2x", "4x", "8x", "16x"):
        x = up_project(x, ops, level)
    return relu(conv(x, ops["ConvPred"]))


def random_release(seed: int = 0, dtype=np.float32) -> dict[str, dict[str, np.ndarray]]:
    """Random weights under the release's op and parameter names, HWIO, scaled so activations
    stay of order one through the 50 layers."""
    rng = np.random.default_rng(seed)
    ops: dict[str, dict[str, np.ndarray]] = {}

    def add_conv(name, kh, kw, cin, cout, biased=False):
        std = np.sqrt(2.0 / (kh * kw * cin))
        ops[name] = {"weights": (rng.standard_normal((kh, kw, cin, cout)) * std).astype(dtype)}
        if biased:
            ops[name]["biases"] = (rng.standard_normal(cout) * 0.1).astype(dtype)

    def add_bn(name, c, gain=1.0):
        ops[name] = {
            "scale": (rng.uniform(0.5, 1.5, c) * gain).astype(dtype),
            "offset": (rng.standard_normal(c) * 0.1).astype(dtype),
            "mean": (rng.standard_normal(c) * 0.1).astype(dtype),
            "variance": rng.uniform(0.5, 1.5, c).astype(dtype),
        }

    add_conv("conv1", 7, 7, 3, 64, biased=True)
    ops["conv1"]["weights"] /= 255.0  # the input is 0–255
    add_bn("bn_conv1", 64)
    cin = 64
    for stage, letters in BLOCKS.items():
        width = WIDTH[stage]
        for letter in letters:
            name = f"{stage}{letter}"
            if letter == "a":
                add_conv(f"res{name}_branch1", 1, 1, cin, 4 * width)
                add_bn(f"bn{name}_branch1", 4 * width, 0.5)
            add_conv(f"res{name}_branch2a", 1, 1, cin if letter == "a" else 4 * width, width)
            add_bn(f"bn{name}_branch2a", width)
            add_conv(f"res{name}_branch2b", 3, 3, width, width)
            add_bn(f"bn{name}_branch2b", width)
            add_conv(f"res{name}_branch2c", 1, 1, width, 4 * width)
            add_bn(f"bn{name}_branch2c", 4 * width, 0.3)
        cin = 4 * width
    add_conv("layer1", 1, 1, 2048, 1024, biased=True)
    add_bn("layer1_BN", 1024, 0.2)
    for level, c in (("2x", 1024), ("4x", 512), ("8x", 256), ("16x", 128)):
        for branch in ("br1", "br2"):
            for phase, (kh, kw) in zip("ABCD", ((3, 3), (2, 3), (3, 2), (2, 2)), strict=True):
                add_conv(f"layer{level}_{branch}_Conv{phase}", kh, kw, c, c // 2, biased=True)
            add_bn(f"layer{level}_{branch}_BN", c // 2, 0.5)
        add_conv(f"layer{level}_Conv", 3, 3, c // 2, c // 2, biased=True)
        add_bn(f"layer{level}_BN", c // 2, 0.5)
    add_conv("ConvPred", 3, 3, 64, 1, biased=True)
    ops["ConvPred"]["biases"] += 1.0  # keep most of the output above the final ReLU
    return ops


def save_release(path, ops) -> None:
    """Write ``ops`` as the release does: a 0-d object array holding the dict, in an ``.npy``
    (format 1.0), pickled at protocol 2 as Python 2's ``np.save`` did."""
    array = np.empty((), dtype=object)
    array[()] = ops
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "|O", "fortran_order": False, "shape": ()}
        )
        pickle.dump(array, f, protocol=2)
