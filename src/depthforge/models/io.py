"""Save and load models: a folder with ``config.json`` and ``model.safetensors``.

``config.json`` holds ``{"format": 1, "architecture": <class name>, "config": {...}}``; the
weights are the ``state_dict`` (parameters and persistent buffers such as BN running statistics)
in safetensors format. Both files are written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from depthforge.errors import DataError
from depthforge.io import atomic_path
from depthforge.models.base import DepthModel
from depthforge.models.registry import ARCHITECTURES

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
FORMAT_VERSION = 1


def save_model(model: DepthModel, folder: str | Path) -> Path:
    """Write ``model``'s config and weights into ``folder`` (created if needed). Returns it."""
    folder = Path(folder)
    record = {
        "format": FORMAT_VERSION,
        "architecture": type(model).__name__,
        "config": model.config.to_dict(),
    }
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    with atomic_path(folder / WEIGHTS_FILE) as tmp:
        save_file(state, str(tmp))
    with atomic_path(folder / CONFIG_FILE) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")
    return folder


def read_config(folder: Path) -> DepthModel:
    """Build the (randomly initialised) model described by ``folder/config.json``."""
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise DataError(folder, f"not a saved model: {CONFIG_FILE} is missing")
    try:
        record = json.loads(path.read_text())
        architecture = ARCHITECTURES[record["architecture"]]
        config = architecture.config_class.from_dict(record["config"])
    except json.JSONDecodeError as exc:
        raise DataError(path, f"not valid JSON ({exc})") from exc
    except KeyError as exc:
        raise DataError(
            path, f"missing or unknown entry {exc}; architectures: {', '.join(ARCHITECTURES)}"
        ) from exc
    except (TypeError, ValueError) as exc:
        raise DataError(path, f"invalid model config ({exc})") from exc
    return architecture(config)


def load_checked_state(
    module: torch.nn.Module, state: dict[str, torch.Tensor], source: str | Path, context: str = ""
) -> None:
    """Load ``state`` into ``module`` after checking it tensor for tensor.

    Raises:
        DataError: naming ``source`` and the first missing, misshapen or unexpected tensor
            (each message starts with ``context``).
    """
    expected = module.state_dict()
    for key, tensor in expected.items():
        if key not in state:
            raise DataError(source, f"{context}tensor {key!r} is missing")
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise DataError(
                source,
                f"{context}tensor {key!r} has shape {tuple(state[key].shape)}, "
                f"{type(module).__name__} expects {tuple(tensor.shape)}",
            )
    extra = sorted(set(state) - set(expected))
    if extra:
        raise DataError(source, f"{context}unexpected tensor {extra[0]!r}")
    with torch.no_grad():
        module.load_state_dict(state)


def load_model(folder: str | Path, map_location: str | torch.device = "cpu") -> DepthModel:
    """Rebuild the model saved in ``folder`` by :func:`save_model`, in eval mode.

    Raises:
        DataError: missing files, unreadable JSON/safetensors, or weights that do not match the
            config (the message names the folder and the first mismatching tensor).
    """
    folder = Path(folder)
    model = read_config(folder)
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise DataError(folder, f"not a saved model: {WEIGHTS_FILE} is missing")
    try:
        state = load_file(str(weights), device=str(map_location))
    except (SafetensorError, OSError) as exc:
        raise DataError(weights, f"unreadable safetensors file ({exc})") from exc
    load_checked_state(model, state, folder, "weights do not match config.json: ")
    return model.to(map_location).eval()
