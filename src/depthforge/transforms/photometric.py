"""Photometric transforms: they change the colours of the image(s) and nothing else.

Every function takes ``(..., 3, H, W)`` float RGB in ``[0, 1]`` and returns the same shape,
clamped to ``[0, 1]`` so the image convention holds after augmentation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import torch

from depthforge.types import Sample, Stereo

# ITU-R BT.601 luma weights, the grey level torchvision's contrast / saturation blend towards.
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def _check_image(image: torch.Tensor) -> None:
    if image.ndim < 3 or image.shape[-3] != 3:
        raise ValueError(f"image must be (..., 3, H, W), got shape {tuple(image.shape)}")


def grayscale(image: torch.Tensor) -> torch.Tensor:
    """``(..., 1, H, W)`` BT.601 luma ``0.299 R + 0.587 G + 0.114 B``."""
    _check_image(image)
    w = image.new_tensor(LUMA_WEIGHTS).view(3, 1, 1)
    return (image * w).sum(dim=-3, keepdim=True)


def adjust_brightness(image: torch.Tensor, factor: float) -> torch.Tensor:
    """``clamp(factor · image)``."""
    _check_image(image)
    return (image * factor).clamp(0.0, 1.0)


def adjust_contrast(image: torch.Tensor, factor: float) -> torch.Tensor:
    """Blend with the image's mean grey level: ``clamp(f · image + (1 − f) · mean(luma))``.

    Factor 0 gives a uniform grey image, 1 the image itself (torchvision's definition).
    """
    mean = grayscale(image).mean(dim=(-3, -2, -1), keepdim=True)
    return (factor * image + (1.0 - factor) * mean).clamp(0.0, 1.0)


def adjust_saturation(image: torch.Tensor, factor: float) -> torch.Tensor:
    """Blend with the per-pixel grey level: ``clamp(f · image + (1 − f) · luma)``.

    Factor 0 gives the greyscale image, 1 the image itself (torchvision's definition).
    """
    return (factor * image + (1.0 - factor) * grayscale(image)).clamp(0.0, 1.0)


def adjust_gamma(image: torch.Tensor, gamma: float) -> torch.Tensor:
    """``image ** gamma`` (Godard et al. 2017 §4 augment with ``gamma ~ U[0.8, 1.2]``)."""
    _check_image(image)
    if gamma <= 0:
        raise ValueError(f"gamma must be positive, got {gamma}")
    return image.clamp(0.0, 1.0).pow(gamma)


def scale_colors(image: torch.Tensor, rgb: Sequence[float] | torch.Tensor) -> torch.Tensor:
    """Multiply each channel by its factor: Eigen et al. 2014 §3.3's colour augmentation
    (``c ∈ [0.8, 1.2]³``), clamped to ``[0, 1]`` (the paper does not say how it clips)."""
    _check_image(image)
    c = torch.as_tensor(rgb, dtype=image.dtype, device=image.device)
    if c.shape != (3,):
        raise ValueError(f"rgb must hold 3 factors, got shape {tuple(c.shape)}")
    return (image * c.view(3, 1, 1)).clamp(0.0, 1.0)


Range = tuple[float, float]


class ColorJitter:
    """Random brightness, contrast, saturation, gamma and per-channel colour scaling.

    Each argument is a ``(low, high)`` range for a factor drawn uniformly, or ``None`` to skip it.
    They are applied in this fixed order: brightness, contrast, saturation, gamma, colour scale.
    The same factors are applied to the image, the video ``neighbours`` and the stereo view (so
    the photometric losses that compare them stay valid); depth, mask, ``K`` and every other
    field are untouched.

    Settings of the literature: Eigen et al. 2014 §3.3 ``color_scale=(0.8, 1.2)``; Godard et al.
    2017 §4 (recalled, not checked against the paper's text) ``gamma=(0.8, 1.2)``,
    ``brightness=(0.5, 2.0)``, ``color_scale=(0.8, 1.2)`` with ``p=0.5``.

    Args:
        p: probability of applying the jitter at all.
    """

    def __init__(
        self,
        brightness: Range | None = None,
        contrast: Range | None = None,
        saturation: Range | None = None,
        gamma: Range | None = None,
        color_scale: Range | None = None,
        p: float = 1.0,
    ):
        for name, rng in (
            ("brightness", brightness),
            ("contrast", contrast),
            ("saturation", saturation),
            ("gamma", gamma),
            ("color_scale", color_scale),
        ):
            if rng is not None and not 0 <= rng[0] <= rng[1]:
                raise ValueError(f"{name} must be a range 0 <= low <= high, got {rng}")
        if gamma is not None and gamma[0] <= 0:
            raise ValueError(f"gamma must be positive, got {gamma}")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.brightness, self.contrast, self.saturation = brightness, contrast, saturation
        self.gamma, self.color_scale, self.p = gamma, color_scale, p

    def __call__(self, sample: Sample, generator: torch.Generator | None = None) -> Sample:
        if float(torch.rand((), generator=generator)) >= self.p:
            return sample

        def draw(rng: Range | None, n: int = 1) -> torch.Tensor | None:
            if rng is None:
                return None
            u = torch.rand(n, generator=generator, dtype=torch.float64)
            return rng[0] + (rng[1] - rng[0]) * u

        b, c, s = draw(self.brightness), draw(self.contrast), draw(self.saturation)
        g, rgb = draw(self.gamma), draw(self.color_scale, 3)

        def jitter(image: torch.Tensor) -> torch.Tensor:
            if b is not None:
                image = adjust_brightness(image, float(b))
            if c is not None:
                image = adjust_contrast(image, float(c))
            if s is not None:
                image = adjust_saturation(image, float(s))
            if g is not None:
                image = adjust_gamma(image, float(g))
            if rgb is not None:
                image = scale_colors(image, rgb.to(image.dtype))
            return image

        stereo = sample.stereo
        if stereo is not None:
            stereo = Stereo(image=jitter(stereo.image), baseline=stereo.baseline)
        return replace(
            sample,
            image=jitter(sample.image),
            neighbours=None if sample.neighbours is None else jitter(sample.neighbours),
            stereo=stereo,
        )
