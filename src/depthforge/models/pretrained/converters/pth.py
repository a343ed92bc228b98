"""Reading PyTorch ``.pth`` releases without executing code: ``torch.load(weights_only=True)``."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from depthforge.errors import DataError


def read_state_dict(
    path: Path, key: str | None = None, prefix: str = ""
) -> dict[str, torch.Tensor]:
    """The tensors of a ``.pth`` state dict, loaded with ``weights_only=True`` (no code runs).

    Args:
        path: the release file.
        key: the entry holding the state dict in a checkpoint dict (``"state_dict"``), or ``None``
            when the file is the state dict itself.
        prefix: a prefix every key carries and that is stripped (``"module."`` of a state dict
            saved from ``nn.DataParallel``); keys without it are kept as they are.

    Raises:
        DataError: unreadable file, a pickle that needs code to load, a missing ``key``, or an
            entry that is not a tensor.
    """
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, zipfile.BadZipFile) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(path, f"not a readable PyTorch state dict ({first})") from exc
    if key is not None:
        if not isinstance(loaded, dict) or key not in loaded:
            raise DataError(path, f"no {key!r} entry in the checkpoint")
        loaded = loaded[key]
    if not isinstance(loaded, dict):
        raise DataError(path, f"holds a {type(loaded).__name__}, not a state dict")
    state: dict[str, torch.Tensor] = {}
    for name, value in loaded.items():
        if not isinstance(value, torch.Tensor):
            raise DataError(path, f"entry {name!r} is a {type(value).__name__}, not a tensor")
        state[name.removeprefix(prefix) if prefix else name] = value
    return state
