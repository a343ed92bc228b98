"""Sparse-to-Dense releases (Ma & Karaman 2018, ``fangchangma/sparse-to-dense.pytorch``):
``model_best.pth.tar`` → state dict of :class:`~depthforge.models.sparse_to_dense.SparseToDense`
(``variant="reference"``).

The file is the authors' ``torch.save`` of ``{'args', 'epoch', 'arch', 'model', 'best_result',
'optimizer'}`` where ``'model'`` is the whole pickled network (their ``models.ResNet`` with
torchvision blocks and the ``UpProj`` decoder), ``'args'`` an ``argparse.Namespace``,
``'best_result'`` their ``metrics.Result`` and ``'optimizer'`` a ``torch.optim.SGD``. It is read
with :mod:`.restricted_pickle`: those classes become inert stand-ins, nothing in the file runs.

Key mapping (theirs → depthforge): ``conv1``/``bn1`` → ``encoder.stem.0``/``encoder.stem.1``,
``layerN`` → ``encoder.layers.{N−1}``, ``conv2``/``bn2`` → ``bottleneck.0``/``bottleneck.1``,
``decoder.*`` unchanged, ``conv3`` → ``head``. The ``Unpool`` modules hold no parameter (their
fixed kernel is a plain attribute). BatchNorm counters (``num_batches_tracked``), which PyTorch
0.4.0 did not save, are set to 0 (they only matter to BN with ``momentum=None``).
"""

from __future__ import annotations

from pathlib import Path

import torch

from depthforge.errors import DataError
from depthforge.models.pretrained.converters.restricted_pickle import (
    StandIn,
    load_restricted,
    module_tensors,
)

RELEASE_CLASSES = (
    # the authors' models.py, metrics.py and training script
    "models.ResNet",
    "models.Decoder",
    "models.DeConv",
    "models.UpConv",
    "models.UpProj",
    "models.UpProj.UpProjModule",
    "models.Unpool",
    "metrics.Result",
    "argparse.Namespace",
    "torch.optim.sgd.SGD",
    # the layers their network is built from
    "torchvision.models.resnet.BasicBlock",
    "torchvision.models.resnet.Bottleneck",
    "torch.nn.modules.container.Sequential",
    "torch.nn.modules.conv.Conv2d",
    "torch.nn.modules.conv.ConvTranspose2d",
    "torch.nn.modules.batchnorm.BatchNorm2d",
    "torch.nn.modules.activation.ReLU",
    "torch.nn.modules.pooling.MaxPool2d",
    "torch.nn.modules.upsampling.Upsample",
)
"""Classes a release pickle may name; each becomes an inert stand-in."""

KEY_PREFIXES = (
    ("conv1.", "encoder.stem.0."),
    ("bn1.", "encoder.stem.1."),
    ("layer1.", "encoder.layers.0."),
    ("layer2.", "encoder.layers.1."),
    ("layer3.", "encoder.layers.2."),
    ("layer4.", "encoder.layers.3."),
    ("conv2.", "bottleneck.0."),
    ("bn2.", "bottleneck.1."),
    ("decoder.", "decoder."),
    ("conv3.", "head."),
)
WHAT = "a Sparse-to-Dense release (model_best.pth.tar)"


def rename_key(key: str, source: Path) -> str:
    """The depthforge name of the authors' state-dict key ``key`` (module docstring)."""
    for theirs, ours in KEY_PREFIXES:
        if key.startswith(theirs):
            return ours + key[len(theirs) :]
    raise DataError(source, f"unexpected tensor {key!r} in the pickled model")


def convert_sparse_to_dense(path: Path) -> dict[str, torch.Tensor]:
    """State dict of ``SparseToDense(variant="reference")`` from the release file ``path``
    (modality and encoder as the release: check with ``load_checked_state``).

    Raises:
        DataError: not such a file, a global outside the release's classes (nothing of it is
            run), or a decoder other than ``upproj``.
    """
    path = Path(path)
    checkpoint = load_restricted(path, RELEASE_CLASSES, WHAT)
    model = checkpoint.get("model") if isinstance(checkpoint, dict) else None
    if not isinstance(model, StandIn) or model.pickled_name != "models.ResNet":
        raise DataError(path, f"not {WHAT}: no pickled models.ResNet under 'model'")
    tensors = module_tensors(model, path)
    decoder = getattr(checkpoint.get("args"), "state", None)
    decoder = decoder.get("decoder") if isinstance(decoder, dict) else None
    if not any(key.startswith("decoder.layer1.upper_branch.") for key in tensors):
        raise DataError(
            path,
            f"decoder {decoder or 'other than upproj'!r}: depthforge implements the 'upproj' "
            "decoder of the released models only",
        )
    state = {rename_key(key, path): tensor for key, tensor in tensors.items()}
    for key in [k for k in state if k.endswith(".running_mean")]:
        counter = key[: -len("running_mean")] + "num_batches_tracked"
        state.setdefault(counter, torch.zeros((), dtype=torch.long))
    return state
