"""sRGB encoding and decoding (IEC 61966-2-1): renderers blur and mix colours in linear light."""

from __future__ import annotations

import torch


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    """sRGB-encoded values in [0, 1] → linear light (IEC 61966-2-1, the sRGB decoding function)."""
    # The clamp keeps the unused branch of `where` finite, so gradients never turn NaN.
    return torch.where(x <= 0.04045, x / 12.92, ((x.clamp_min(0.04045) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    """Linear light in [0, 1] → sRGB-encoded values (IEC 61966-2-1, the sRGB encoding function)."""
    return torch.where(
        x <= 0.0031308, 12.92 * x, 1.055 * x.clamp_min(0.0031308) ** (1.0 / 2.4) - 0.055
    )
