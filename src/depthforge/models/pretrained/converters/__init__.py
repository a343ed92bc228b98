"""Converters: release format → pure function from the release file to a state dict that
``load_checked_state(create_model(record.model, **record.config), state, path)`` accepts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from depthforge.models.pretrained.converters.sparse_to_dense import convert_sparse_to_dense

CONVERTERS: dict[str, Callable[[Path], dict[str, torch.Tensor]]] = {
    "sparse_to_dense_pth_tar": convert_sparse_to_dense,
}
