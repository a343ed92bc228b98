"""MegaDepth's releases (Li & Snavely 2018): ``best_generalization_net_G.pth`` and
``best_vanila_net_G.pth``, state dicts of ``DataParallel(pytorch_DIW_scratch)``.

Their keys are ``module.`` + the positional path of the Lua-converted ``nn.Sequential``
(``module.3.0.0.1.2.3.weight``); they hold conv weights and biases, the first BatchNorm's affine
parameters and every BatchNorm's running statistics, but no ``num_batches_tracked`` (PyTorch 0.2).
"""

from __future__ import annotations

from pathlib import Path

import torch

from depthforge.errors import DataError
from depthforge.models.hourglass import release_key
from depthforge.models.pretrained.converters.pth import read_state_dict


def hourglass_state(
    positional: dict[str, torch.Tensor], source: Path, prefix: str = ""
) -> dict[str, torch.Tensor]:
    """Our hourglass state dict from the release's positional one (see
    :func:`~depthforge.models.hourglass.release_key`), with ``num_batches_tracked = 0`` added for
    every BatchNorm (the releases predate that buffer; it only matters for ``momentum=None``).

    ``prefix`` is what the file's keys carried before ``positional``'s (named in errors).

    Raises:
        DataError: a key that has no place in the hourglass.
    """
    state: dict[str, torch.Tensor] = {}
    for key, value in positional.items():
        try:
            name = release_key(key)
        except KeyError as exc:
            raise DataError(
                source, f"unexpected tensor {prefix + key!r} for the hourglass"
            ) from exc
        state[name] = value.float()
        if name.endswith(".running_var"):
            state[name.removesuffix("running_var") + "num_batches_tracked"] = torch.tensor(0)
    return state


def convert_megadepth(path: Path) -> dict[str, torch.Tensor]:
    """State dict of :class:`~depthforge.models.hourglass.MegaDepthHourglass` from a MegaDepth
    ``*_net_G.pth`` file (read with ``weights_only=True``)."""
    state = read_state_dict(Path(path), prefix="module.")
    return hourglass_state(state, Path(path), prefix="module.")
