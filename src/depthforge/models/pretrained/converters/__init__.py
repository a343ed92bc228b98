"""Converters: pure functions from a release file to a state dict, one module per release format.

``CONVERTERS[release_format](path)`` returns the state dict that
``load_checked_state(create_model(record.model, **record.config), state, path)`` accepts; a file
that does not hold what the format promises raises :class:`~depthforge.errors.DataError`.
Nothing here downloads anything or executes code stored in a file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from depthforge.models.pretrained.converters.fcrn_tf_npy import convert_fcrn_tf_npy
from depthforge.models.pretrained.converters.monodepth2_zip import convert_monodepth2_zip

CONVERTERS: dict[str, Callable[[Path], dict[str, torch.Tensor]]] = {
    "fcrn_tf_npy": convert_fcrn_tf_npy,
    "monodepth2_zip": convert_monodepth2_zip,
}

__all__ = ["CONVERTERS"]
