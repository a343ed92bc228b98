"""File I/O: images, depth files of every kind, atomic writes."""

from depthforge.io.depth import DEPTH_KINDS, read_depth, save_depth_npy, save_depth_png16
from depthforge.io.image import (
    IMAGE_SUFFIXES,
    atomic_path,
    open_image,
    read_rgb,
    refuse_overwrite,
    save_array,
    save_rgb,
    write_atomic,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "DEPTH_KINDS",
    "atomic_path",
    "open_image",
    "read_depth",
    "read_rgb",
    "refuse_overwrite",
    "save_depth_npy",
    "save_array",
    "save_depth_png16",
    "save_rgb",
    "write_atomic",
]
