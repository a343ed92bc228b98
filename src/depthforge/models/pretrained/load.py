"""Resolve a pretrained name into a model: cache → download → convert once → model folder.

Cache layout (``<cache>`` = :func:`depthforge.io.download.cache_dir`):

* ``<cache>/downloads/<record.file_name>`` — the release file as published;
* ``<cache>/models/<name>/`` — the converted model (``config.json`` + ``model.safetensors``), an
  ordinary model folder that :func:`~depthforge.models.load_model` reads without any pickle.

:func:`load_pretrained` uses the converted folder when present, else converts the release file
(downloading it first if needed, after showing its licence) and writes the folder atomically: it is
built under a temporary name and renamed, so an interrupted conversion is never mistaken for a
model. Nothing happens at import time.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from depthforge.errors import DataError, DepthforgeError
from depthforge.io.download import cache_dir as default_cache_dir
from depthforge.io.download import download, file_digest, is_offline, say
from depthforge.models.base import DepthModel
from depthforge.models.io import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    load_checked_state,
    load_model,
    save_model,
)
from depthforge.models.pretrained.catalog import PRETRAINED
from depthforge.models.pretrained.converters import CONVERTERS
from depthforge.models.pretrained.record import PretrainedWeights
from depthforge.models.registry import create_model

if TYPE_CHECKING:
    import torch


def get_record(name: str) -> PretrainedWeights:
    """The record of pretrained ``name``; an unknown name is a one-line error listing the known."""
    if name not in PRETRAINED:
        raise DepthforgeError(
            f"unknown pretrained model {name!r}; known: {', '.join(sorted(PRETRAINED))} "
            "(or give a saved model folder)"
        )
    return PRETRAINED[name]


def convert_hint(record: PretrainedWeights, target: Path) -> str:
    """How to use a hand-downloaded release file (appended to download errors)."""
    return (
        f"then run `depthforge convert FILE --from {record.release_format} --out FOLDER "
        f"--name {record.name}` and use --model FOLDER, or place the file at {target}"
    )


def licence_notice(record: PretrainedWeights) -> str:
    """The line shown before the first download of ``record``."""
    if record.commercial_use:
        terms = ""
    elif "no licence" in record.licence.lower():
        terms = " — the authors grant no rights: research use at most, NO COMMERCIAL USE"
    else:
        terms = " — NON-COMMERCIAL USE ONLY"
    if "gpl" in record.licence.lower():
        terms += " — GPL: derived works must be released under the GPL"
    return f"{record.name}: {record.paper}; licence: {record.licence}{terms}"


def convert_release(
    path: str | Path,
    release_format: str,
    out_folder: str | Path,
    *,
    model: str,
    config: Mapping[str, Any] | None = None,
) -> Path:
    """Convert the release file ``path`` into the model folder ``out_folder`` (files written
    atomically). Returns ``out_folder``.

    Args:
        release_format: a key of ``CONVERTERS``.
        model, config: the registered architecture and its overrides the state dict loads into.

    Raises:
        DataError: unknown format, unreadable file, or weights that do not fit the architecture.
    """
    path = Path(path)
    if release_format not in CONVERTERS:
        raise DepthforgeError(
            f"unknown release format {release_format!r}; known: {', '.join(sorted(CONVERTERS))}"
        )
    if not path.is_file():
        raise DataError(path, "release file not found")
    net = create_model(model, **dict(config or {}))
    load_checked_state(net, CONVERTERS[release_format](path), path)
    return save_model(net.eval(), out_folder)


def verify_release(record: PretrainedWeights, path: Path) -> None:
    """Check a release file that was placed in the cache by hand against the record's digest.

    Raises:
        DataError: the digest differs (the file is left where it is, for the user to inspect).
    """
    for name, want in (("sha256", record.sha256), ("md5", record.md5)):
        if want is not None and (got := file_digest(path, name)) != want.lower():
            raise DataError(
                path, f"{name} {got} differs from {record.name}'s {want}: not the released file"
            )


def load_pretrained(
    name: str,
    *,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    weights: str | Path | None = None,
) -> DepthModel:
    """The released model ``name`` (a key of ``PRETRAINED``), in eval mode, on the CPU.

    Args:
        cache_dir: the cache folder (default ``$DEPTHFORGE_CACHE`` or ``~/.cache/depthforge``).
        progress: show the download progress bar.
        weights: a release file downloaded by hand, converted instead of downloading.

    Raises:
        DepthforgeError: unknown name; offline or unreachable (one line naming the URL and the
            ``depthforge convert`` way); a checksum mismatch; an unreadable release file.
    """
    record = get_record(name)
    root = default_cache_dir(cache_dir)
    folder = root / "models" / name
    if weights is None and (folder / CONFIG_FILE).is_file() and (folder / WEIGHTS_FILE).is_file():
        return load_model(folder)
    release = Path(weights) if weights is not None else root / "downloads" / record.file_name
    if release.is_file():
        verify_release(record, release)
    elif weights is not None:
        raise DataError(release, "release file not found")
    else:
        if not is_offline():
            say(licence_notice(record))
        download(
            record.urls,
            release,
            sha256=record.sha256,
            md5=record.md5,
            progress=progress,
            hint=convert_hint(record, release),
        )
    return load_model(convert_into_cache(record, release, folder))


def convert_into_cache(record: PretrainedWeights, release: Path, folder: Path) -> Path:
    """Convert ``release`` into ``folder`` via a temporary sibling folder renamed at the end."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        convert_release(
            release, record.release_format, tmp, model=record.model, config=record.config
        )
        if folder.exists():  # a concurrent run (or --weights) got there first: replace it
            shutil.rmtree(folder)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def resolve_model(
    model: str | Path, *, weights: str | Path | None = None, device: str | torch.device = "cpu"
) -> DepthModel:
    """A saved model folder, or a pretrained name (downloaded and converted on first use, or
    converted from ``weights``, its release file downloaded by hand), in eval mode on ``device``
    (:func:`depthforge.devices.choose_device` turns ``--device`` into one)."""
    path = Path(model)
    if str(model) in PRETRAINED and not path.is_dir():
        return load_pretrained(str(model), weights=weights).to(device).eval()
    if weights is not None:
        raise DepthforgeError("--weights goes with a pretrained name, not a model folder")
    if path.is_dir():
        return load_model(path, map_location=device)
    if path.exists():
        raise DataError(path, "not a model folder")
    raise DepthforgeError(
        f"{model}: neither a saved model folder nor a pretrained name "
        f"({', '.join(sorted(PRETRAINED))})"
    )
