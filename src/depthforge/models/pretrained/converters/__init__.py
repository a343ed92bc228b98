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

from depthforge.models.pretrained.converters.ddvo import convert_ddvo
from depthforge.models.pretrained.converters.fcrn_tf_npy import convert_fcrn_tf_npy
from depthforge.models.pretrained.converters.megadepth import convert_megadepth
from depthforge.models.pretrained.converters.monodepth2_zip import convert_monodepth2_zip
from depthforge.models.pretrained.converters.sfmlearner import convert_sfmlearner
from depthforge.models.pretrained.converters.sparse_to_dense import convert_sparse_to_dense
from depthforge.models.pretrained.converters.torch7 import convert_diw, diw_tarball_converter

CONVERTERS: dict[str, Callable[[Path], dict[str, torch.Tensor]]] = {
    "fcrn_tf_npy": convert_fcrn_tf_npy,
    "monodepth2_zip": convert_monodepth2_zip,
    "megadepth_pth": convert_megadepth,
    "diw_t7": convert_diw,
    "sfmlearner_pth": convert_sfmlearner,
    "ddvo_pth": convert_ddvo,
    "sparse_to_dense_pth_tar": convert_sparse_to_dense,
}
DIW_MODELS = {
    "diw_tgz_nyu795": "NYU_795_800_c9_1e-3/Best_model_period1.t7",
    "diw_tgz_nyu_full": "1e-3_Drop_205315_NYU_fs_c9/Best_model_period1.t7",
    "diw_tgz_diw": "AMT_from_scratch_1e-4_release/Best_model_period1.t7",
    "diw_tgz_nyu_diw": "AMT_from_205315_1e-4_release/Best_model_period2.t7",
}
"""Models of DIW's ``hourglass3.tar.gz`` (its README's test commands): release format → member."""
CONVERTERS |= {name: diw_tarball_converter(member) for name, member in DIW_MODELS.items()}

__all__ = ["CONVERTERS"]
