"""Reading images and writing any output file atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from depthforge.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm")
"""The suffixes of the image files depthforge looks for in folders (Pillow decodes each)."""


def open_image(path: str | Path) -> Image.Image:
    """Open and fully decode an image with Pillow; a missing, truncated or corrupt file raises
    :class:`DataError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    try:
        img = Image.open(path)
        img.load()
    except Image.DecompressionBombError as exc:
        raise DataError(path, f"refused: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(path, f"corrupt or truncated image ({exc})") from exc
    return img


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an image as ``(H, W, 3)`` uint8 RGB.

    Greyscale is replicated to three channels and an alpha channel is dropped (the RGB values are
    kept as they are); 16-bit colour is not a photo and is refused.
    """
    img = open_image(path)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        raise DataError(path, f"expected a colour photo, got a {img.mode} image (a depth map?)")
    return np.asarray(img.convert("RGB"))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary path beside ``path``; on success rename it over ``path`` atomically.

    A crash or a full disk leaves the previous file intact and no partial file behind. The file
    gets the permissions of any new file (``0o666`` less the umask), not the owner-only ``0o600``
    of a temporary file.
    """
    path = Path(path)
    try:  # the one check of every output place: a file in the way, no permission, a full disk
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp" + path.suffix, dir=path.parent
        )
    except OSError as exc:
        raise DataError(path, f"cannot write here: {exc.strerror} ({exc.filename})") from exc
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def refuse_overwrite(path: str | Path, overwrite: bool, *, folder: bool = False) -> None:
    """The one guard of what the user wrote: unless ``overwrite``, raise :class:`DataError` when
    the file ``path`` exists (``folder=True``: when the folder ``path`` holds any file)."""
    path = Path(path)
    if overwrite:
        return
    if folder and path.is_dir() and any(path.iterdir()):
        raise DataError(path, "folder already holds files; pass overwrite=True (--overwrite)")
    if not folder and path.exists():
        raise DataError(path, "already exists; pass overwrite=True (--overwrite) to replace it")
def _umask() -> int:
    """The process's file-creation mask (reading it means setting it; it is set straight back)."""
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and move the result to ``path`` atomically. Returns ``path``."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def save_rgb(path: str | Path, image: np.ndarray) -> Path:
    """Write ``(H, W, 3)`` uint8 RGB (PNG or JPEG by suffix) atomically."""
    fmt = "JPEG" if Path(path).suffix.lower() in (".jpg", ".jpeg") else "PNG"
    return write_atomic(
        path, lambda tmp: Image.fromarray(np.asarray(image, np.uint8)).save(tmp, format=fmt)
    )


def save_array(path: str | Path, array: np.ndarray) -> Path:
    """Write a NumPy array as ``.npy`` atomically."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, np.asarray(array))

    return write_atomic(path, write)
