"""FCRN's TensorFlow release, converted by depthforge, against the authors' own TensorFlow graph.

    python benchmarks/validate_fcrn_release.py FCRN_CHECKOUT [--tf-python PYTHON]

``FCRN_CHECKOUT`` is a checkout of iro-cp/FCRN-DepthPrediction. ``--tf-python`` names a Python
with TensorFlow 2 installed (default: this one); the reference side runs there, in a separate
process, and needs only TensorFlow and NumPy.

1. Reference side: imports the checkout's ``tensorflow/models`` (``fcrn.py``, ``network.py``)
   with ``tensorflow`` bound to ``tf.compat.v1`` (graph mode), builds ``ResNet50UpProj`` for a
   batch of 228×304 images, gives every variable random values (BN statistics included), saves
   them in the release's layout — an ``.npy`` holding ``{op_name: {param_name: array}}``, the
   structure ``Network.load`` reads — and runs the graph on random 0–255 images.
2. depthforge side: converts that file with the ``fcrn_tf_npy`` converter into
   ``fcrn_resnet50_tf``, runs it on the same images (given in [0, 1]: the model multiplies by
   255 inside) and prints the maximum absolute difference, relative to the output range.

The reference code is executed only in the TensorFlow process and nothing of it is copied.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

BATCH, HEIGHT, WIDTH = 2, 228, 304


def random_value(name: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Random values for TF variable ``op/param`` keeping activations of order one."""
    param = name.rsplit("/", 1)[1]
    if param == "weights":
        fan_in = int(np.prod(shape[:-1]))
        value = rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)
        if name.startswith("conv1/"):
            value /= 255.0
        return value
    if param == "biases":
        return rng.standard_normal(shape) * 0.1 + (0.5 if name.startswith("ConvPred/") else 0.0)
    if param in ("scale", "variance"):
        gain = 0.5 if param == "scale" and "branch2c" in name else 1.0
        return rng.uniform(0.5, 1.5, shape) * gain
    return rng.standard_normal(shape) * 0.1  # offset, mean


def reference_side(checkout: Path, workdir: Path) -> None:
    """Build the authors' graph, write ``release.npy``, ``images.npy`` and ``reference.npy``."""
    import importlib

    import tensorflow as tf_module

    tf = tf_module.compat.v1
    tf.disable_v2_behavior()
    sys.path.insert(0, str(checkout / "tensorflow"))
    saved = sys.modules["tensorflow"]
    sys.modules["tensorflow"] = tf  # their `import tensorflow as tf` is TF1 code
    try:
        models = importlib.import_module("models")
    finally:
        sys.modules["tensorflow"] = saved
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (BATCH, HEIGHT, WIDTH, 3)).astype(np.float32)
    node = tf.placeholder(tf.float32, shape=(None, HEIGHT, WIDTH, 3))
    net = models.ResNet50UpProj({"data": node}, BATCH, 1, False)
    release: dict[str, dict[str, np.ndarray]] = {}
    with tf.Session() as sess:
        for var in tf.global_variables():
            name = var.name.split(":")[0]
            value = random_value(name, tuple(var.shape.as_list()), rng).astype(np.float32)
            sess.run(var.assign(value))
            op, param = name.rsplit("/", 1)
            release.setdefault(op, {})[param] = value
        output = sess.run(net.get_output(), feed_dict={node: images})
    np.save(workdir / "release.npy", np.array(release, dtype=object), allow_pickle=True)
    np.save(workdir / "images.npy", images)
    np.save(workdir / "reference.npy", output)
    print(
        f"reference: TensorFlow {tf_module.__version__}, {len(release)} ops, output {output.shape}"
    )


def depthforge_side(workdir: Path) -> float:
    """Convert, run, print and return the max abs difference relative to the output range."""
    import torch

    from depthforge.models import create_model
    from depthforge.models.io import load_checked_state
    from depthforge.models.pretrained.converters import CONVERTERS

    path = workdir / "release.npy"
    model = create_model("fcrn_resnet50_tf")
    load_checked_state(model, CONVERTERS["fcrn_tf_npy"](path), path)
    images = np.load(workdir / "images.npy")
    reference = np.load(workdir / "reference.npy").transpose(0, 3, 1, 2)
    with torch.no_grad():
        ours = model.eval()(torch.from_numpy(images / 255.0).permute(0, 3, 1, 2).float()).numpy()
    span = float(reference.max() - reference.min())
    diff = float(np.abs(ours - reference).max())
    print(f"output {ours.shape} (reference {reference.shape}); range {span:.4f}")
    print(f"max |depthforge − TF| = {diff:.3e}  ({diff / span:.3e} of the output range)")
    print(
        f"reference mean {reference.mean():.4f}, std {reference.std():.4f}, "
        f"positive fraction {(reference > 0).mean():.3f}"
    )
    return diff / span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="iro-cp/FCRN-DepthPrediction checkout")
    parser.add_argument("--tf-python", default=sys.executable, help="a Python with TensorFlow")
    parser.add_argument("--reference-side", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference_side is not None:
        reference_side(args.checkout, args.reference_side)
        return
    if not (args.checkout / "tensorflow" / "models" / "fcrn.py").is_file():
        raise SystemExit(f"{args.checkout}: not an FCRN-DepthPrediction checkout")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2")
        command = [args.tf_python, __file__, str(args.checkout), "--reference-side", tmp]
        subprocess.run(command, check=True, env=env)
        relative = depthforge_side(Path(tmp))
    print("PASS" if relative <= 1e-5 else "FAIL", "(tolerance 1e-5 of the output range)")


if __name__ == "__main__":
    main()
