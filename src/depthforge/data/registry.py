"""Dataset names used by the CLI and ``open_dataset``, resolved lazily to reader classes."""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING, Any

from depthforge.errors import UnknownNameError, check_name

if TYPE_CHECKING:  # the names are listed without PyTorch (`depthforge datasets`)
    from depthforge.data.base import DepthDataset

# name -> "module:Class"; modules import only when the dataset is opened (h5py, scipy, ...).
DATASETS: dict[str, str] = {
    "folder": "depthforge.data.folder:FolderDataset",
    "nyu": "depthforge.data.nyu:NYULabeled",
    "nyu_raw": "depthforge.data.nyu_raw:NYURawFrames",
    "kitti": "depthforge.data.kitti:KittiRaw",
    "make3d": "depthforge.data.make3d:Make3D",
    "sunrgbd": "depthforge.data.sunrgbd:SunRGBD",
    "tum": "depthforge.data.tum:TumRGBD",
    "diw": "depthforge.data.diw:DIW",
    "synth": "depthforge.synth.dataset:SynthDataset",
    "colmap": "depthforge.data.colmap:ColmapMVS",
    "web_stereo": "depthforge.data.web_stereo:WebStereo",
    "aperture_pairs": "depthforge.render.aperture_pairs:AperturePairs",
    "domain_pairs": "depthforge.data.domain_pairs:DomainPairs",
}


def register_dataset(name: str, target: str) -> None:
    """Make ``open_dataset(name, ...)`` build ``target`` (``"package.module:Class"``)."""
    DATASETS[name] = target


def list_datasets() -> list[str]:
    """Names accepted by :func:`open_dataset` and ``--dataset``."""
    return sorted(DATASETS)


def open_dataset(name: str, root: str, split: str | None = None, **options: Any) -> DepthDataset:
    """Open dataset ``name`` at ``root`` (its original release layout) for ``split``.

    Raises:
        UnknownNameError: unknown name (a KeyError; the message lists the known ones).
    """
    if name not in DATASETS:
        raise UnknownNameError("dataset", name, list_datasets())
    module, cls = DATASETS[name].split(":")
    reader = getattr(importlib.import_module(module), cls)
    params = inspect.signature(reader).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        known = [k for k in params if k not in ("self", "root", "split")]
        for key in options:
            check_name(f"{name} reader option", key, known)
    return reader(root, split=split, **options)
