"""Multi-stage training: start one recipe from the weights another recipe produced.

Eigen, Puhrsch & Fergus 2014 (NIPS), Sec. 3.3 ("Training Procedure"): the coarse (global)
network is trained first; it is then held fixed and the fine (local) network is trained on top
of its output. In depthforge the two stages are two recipes:

1. ``eigen2014_nyu_coarse`` trains the model ``eigen2014_coarse`` and saves it to
   ``<out_dir>/model`` (:func:`depthforge.train.run.finish_run`);
2. ``eigen2014_nyu_fine`` trains ``eigen2014_fine`` (``freeze_coarse=True``) with
   ``model.init_from: <that folder>``: :func:`init_fine_from_coarse` copies the trained coarse
   network into the fine model before the optimiser is built, so the frozen coarse parameters
   (``requires_grad`` False) never reach it.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from depthforge.errors import DataError, DepthforgeError
from depthforge.models.base import DepthModel
from depthforge.models.eigen2014 import Eigen2014
from depthforge.models.io import load_checked_state

COARSE_PREFIX = "coarse."
"""Key prefix of the coarse network in an :class:`Eigen2014` ``state_dict``."""


Source = str | Path | nn.Module | dict
"""A model, a saved model folder, a trainer checkpoint file or a ``state_dict``."""


def _source_state(source: Source) -> tuple[dict[str, torch.Tensor], object, str]:
    """``(state_dict, config or None, description)`` of a model, a saved model folder
    (:func:`depthforge.models.save_model`), a trainer checkpoint file (``last.pt``/``best.pt``)
    or a ``state_dict``."""
    if isinstance(source, dict):
        return source, None, "state_dict"
    if isinstance(source, nn.Module):
        return source.state_dict(), getattr(source, "config", None), type(source).__name__
    path = Path(source).expanduser()
    if path.is_dir():
        from depthforge.models.io import load_model

        model = load_model(path)
        return model.state_dict(), model.config, str(path)
    if path.is_file():
        from depthforge.train.checkpoint import load_checkpoint

        return load_checkpoint(path)["model"], None, str(path)
    raise DataError(path, "no saved model folder or checkpoint file here")


def init_fine_from_coarse(fine_model: Eigen2014, coarse: Source) -> Eigen2014:
    """Load a trained coarse network into ``fine_model.coarse`` (in place; returns the model).

    Eigen et al. 2014, Sec. 3.3: stage two starts from the trained coarse network and holds it
    fixed. ``coarse`` is an :class:`Eigen2014` (either stage: only its ``coarse.*`` tensors are
    used), a folder written by :func:`depthforge.models.save_model` (what a run writes to
    ``<out_dir>/model``), or a trainer checkpoint (``last.pt``/``best.pt``).

    After loading, the coarse parameters' ``requires_grad`` is ``not freeze_coarse`` (as the
    model was built), so an optimiser built afterwards over the trainable parameters leaves the
    coarse network untouched when ``freeze_coarse`` is set.

    Raises:
        DepthforgeError: ``fine_model`` is not a fine-stage :class:`Eigen2014`, or the source
            holds no coarse network.
        DataError: the source's coarse network has other shapes (another ``input_size`` or
            ``fc_features``); the message names the first mismatching tensor.
    """
    if not isinstance(fine_model, Eigen2014) or fine_model.fine is None:
        raise DepthforgeError(
            f"init_fine_from_coarse needs a fine-stage Eigen2014 model, got "
            f"{type(fine_model).__name__}"
            + (" (stage 'coarse')" if isinstance(fine_model, Eigen2014) else "")
        )
    state, _, where = _source_state(coarse)
    sub = {k[len(COARSE_PREFIX) :]: v for k, v in state.items() if k.startswith(COARSE_PREFIX)}
    if not sub:
        raise DataError(where, "holds no Eigen2014 coarse network (no 'coarse.*' tensors)")
    # same input_size and fc_features are needed for the shapes to match
    load_checked_state(fine_model.coarse, sub, where, "coarse network: ")
    fine_model.coarse.requires_grad_(not fine_model.config.freeze_coarse)
    fine_model.train(fine_model.training)  # a frozen coarse net stays in eval mode
    return fine_model


def initialize_from(model: DepthModel, source: Source) -> DepthModel:
    """Start ``model`` from trained weights (``model.init_from`` in a recipe).

    A fine-stage :class:`Eigen2014` given a source without a fine network (a coarse-stage model)
    takes its coarse network (:func:`init_fine_from_coarse`); otherwise ``model`` takes all of
    ``source``'s weights, which must match its own tensor for tensor (fine-tuning a saved model
    of the same architecture, e.g. a fine-stage model).
    """
    state, _, where = _source_state(source)
    if (
        isinstance(model, Eigen2014)
        and model.fine is not None
        and not any(k.startswith("fine.") for k in state)
    ):
        return init_fine_from_coarse(model, state)
    load_checked_state(model, state, where)
    return model
