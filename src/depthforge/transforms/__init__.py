"""Transforms on :class:`~depthforge.types.Sample`: joint geometric ones that keep image, depth,
mask, ``K``, normals, labels and ordinal pairs consistent, and photometric ones on images only.

Every transform is called as ``transform(sample, generator=None)`` and returns a new sample.
"""

from depthforge.transforms.joint import (
    CenterCrop,
    Compose,
    Crop,
    EigenScale,
    HorizontalFlip,
    RandomCrop,
    Resize,
    Rotation,
    crop,
    eigen_scale,
    hflip,
    resize,
    roll_matrix,
    rotate,
)
from depthforge.transforms.photometric import (
    ColorJitter,
    adjust_brightness,
    adjust_contrast,
    adjust_gamma,
    adjust_saturation,
    grayscale,
    scale_colors,
)

__all__ = [
    "CenterCrop",
    "ColorJitter",
    "Compose",
    "Crop",
    "EigenScale",
    "HorizontalFlip",
    "RandomCrop",
    "Resize",
    "Rotation",
    "adjust_brightness",
    "adjust_contrast",
    "adjust_gamma",
    "adjust_saturation",
    "crop",
    "eigen_scale",
    "grayscale",
    "hflip",
    "resize",
    "roll_matrix",
    "rotate",
    "scale_colors",
]
