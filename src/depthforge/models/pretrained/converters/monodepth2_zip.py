"""monodepth2's released model zips → state dict of ``monodepth2_resnet18`` (or ``_resnet50``).

A zip (``mono_640x192.zip`` …, nianticlabs/monodepth2 ``utils.py::download_model_if_doesnt_exist``)
holds ``encoder.pth`` (the ResNet state dict with keys ``encoder.conv1.weight`` …, plus the ints
``height``, ``width`` and the bool ``use_stereo``), ``depth.pth`` (decoder keys
``decoder.N.conv.conv.weight``), ``pose_encoder.pth`` and ``pose.pth``, at the top level or in one
folder. Only the depth network is converted (the pose files are left aside). Each ``.pth`` is
read with ``torch.load(weights_only=True)``: plain tensors and numbers, no code executed.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import torch

from depthforge.errors import DataError
from depthforge.models.monodepth2 import monodepth2_state_dict

REQUIRED = ("encoder.pth", "depth.pth")


def read_zip_members(path: Path, names: tuple[str, ...]) -> dict[str, dict]:
    """``name → torch.load(weights_only=True)`` of each member whose base name is in ``names``.

    Raises:
        DataError: not a zip, a member missing or twice, or not a plain state dict.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            members = {}
            for info in archive.infolist():
                base = info.filename.rsplit("/", 1)[-1]
                if base in names:
                    if base in members:
                        raise DataError(path, f"holds {base} twice")
                    members[base] = archive.read(info)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(path, f"not a readable zip file ({exc})") from exc
    out = {}
    for name in names:
        if name not in members:
            raise DataError(path, f"{name} is missing from the zip")
        try:
            state = torch.load(io.BytesIO(members[name]), map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
            raise DataError(path, f"{name} is not a plain state dict ({exc})") from exc
        if not isinstance(state, dict):
            raise DataError(path, f"{name} holds {type(state).__name__}, not a state dict")
        out[name] = state
    return out


def convert_monodepth2_zip(path: Path) -> dict[str, torch.Tensor]:
    """State dict of :class:`~depthforge.models.Monodepth2` from a monodepth2 release zip.

    Raises:
        DataError: see :func:`read_zip_members`.
    """
    files = read_zip_members(Path(path), REQUIRED)
    encoder = {k: v for k, v in files["encoder.pth"].items() if isinstance(v, torch.Tensor)}
    state = monodepth2_state_dict(encoder, files["depth.pth"])
    for key in [k for k in state if k.endswith(".running_mean")]:
        # BN counters that files saved before PyTorch 0.4.1 lack; unused at inference
        state.setdefault(key.replace("running_mean", "num_batches_tracked"), torch.tensor(0))
    return state
