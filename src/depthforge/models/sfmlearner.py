"""SfMLearner's depth network: Zhou, Brown, Snavely & Lowe 2017 (CVPR), "Unsupervised Learning
of Depth and Ego-Motion from Video", §3.4 / Fig. 4 — a DispNet-style encoder–decoder with skips
and four disparity outputs, in the layout of its PyTorch port (ClementPinard/SfmLearner-Pytorch
``models/DispNetS.py``), whose checkpoint is the released one depthforge converts.

Layout (channels of the TF original ``nets.py::disp_net`` and the port):

* input ``(B, 3, H, W)`` RGB in ``[0, 1]``, normalised inside as ``(x − 0.5) / 0.5`` (the port's
  ``run_inference.py``; TF: ``image·2 − 1``); paper resolution 128×416;
* encoder ``conv1``…``conv7``: each a stride-2 k×k conv + ReLU and a k×k conv + ReLU ("same"
  zero padding ``(k − 1)/2``), k = 7, 5, 3, 3, 3, 3, 3, channels 32, 64, 128, 256, 512, 512, 512;
* decoder, level ℓ = 7 … 1: ``upconv``\\ ℓ (3×3 transposed conv, stride 2, padding 1, output padding
  1, + ReLU; channels 512, 512, 256, 128, 64, 32, 16) cropped to the skip's size, concatenated
  with the encoder output ``conv``\\ (ℓ−1) (none at ℓ = 1) and, for ℓ ≤ 3, the disparity of level
  ℓ+1 upsampled ×2 (bilinear, ``align_corners=False`` as the port) and cropped; then ``iconv``\\ ℓ
  (3×3 conv + ReLU);
* ``predict_disp``\\ ℓ for ℓ = 4 … 1: 3×3 conv to one channel; disparity = 10·sigmoid + 0.01.

Output: :class:`~depthforge.models.disparity.DisparityOutput` with the four disparities (levels 1
… 4, i.e. full, ½, ¼ and ⅛ resolution) and depth ``1 / disparity`` of level 1
(``SCALE_INVARIANT_DEPTH``); the port returns only level 1 in eval mode.

Parameter names are the port's (``conv1.0``, ``conv1.2``, ``upconv7.0``, ``iconv7.0``,
``predict_disp4.0``), so its state dict loads as it is.

Deviations from the TF original (which the port shares): convolutions pad symmetrically
(TF 'SAME' pads stride-2 convolutions asymmetrically), the upsampled disparity is bilinear with
``align_corners=False`` (TF ``resize_bilinear`` without half-pixel centres is the
``align_corners=False`` of an older convention) and the crops replace TF's resizes of the up
convolutions to the skip's size.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from depthforge.models.base import ModelConfig
from depthforge.models.disparity import DisparityNet, DisparityOutput, bounded_disparity
from depthforge.models.layout import cat_channels

ENCODER = ((32, 7), (64, 5), (128, 3), (256, 3), (512, 3), (512, 3), (512, 3))
"""``(channels, kernel)`` of ``conv1`` … ``conv7``."""
DECODER = (16, 32, 64, 128, 256, 512, 512)
"""Channels of ``upconv1`` … ``upconv7`` (and ``iconv``)."""
DISPARITY_LEVELS = (1, 2, 3, 4)
"""Levels with a ``predict_disp`` head; each level ℓ ≤ 3 also takes the disparity of ℓ + 1."""


def crop_to(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``x`` cut to ``reference``'s ``(H, W)`` from the top-left corner (the port's ``crop_like``)."""
    return x[..., : reference.shape[-2], : reference.shape[-1]]


@dataclasses.dataclass(frozen=True)
class SfMLearnerConfig(ModelConfig):
    """``input_size``: 128×416 (paper). ``align_corners`` of the ×2 upsampling of the coarser
    disparity (the port: False)."""

    input_size: tuple[int, int] = (128, 416)
    align_corners: bool = False


class SfMLearnerDispNet(DisparityNet):
    """``forward(images (B, 3, H, W) RGB in [0, 1]) -> DisparityOutput`` (see the module docstring)."""

    config_class = SfMLearnerConfig

    def __init__(self, config: SfMLearnerConfig | None = None):
        super().__init__(config or SfMLearnerConfig())
        channels_in = 3
        for level, (channels, kernel) in enumerate(ENCODER, start=1):
            pad = (kernel - 1) // 2
            self.add_module(
                f"conv{level}",
                nn.Sequential(
                    nn.Conv2d(channels_in, channels, kernel, stride=2, padding=pad),
                    nn.ReLU(inplace=True),
                    nn.Conv2d(channels, channels, kernel, padding=pad),
                    nn.ReLU(inplace=True),
                ),
            )
            channels_in = channels
        for level in range(7, 0, -1):
            up_in = ENCODER[-1][0] if level == 7 else DECODER[level]
            out = DECODER[level - 1]
            skip = ENCODER[level - 2][0] if level > 1 else 0
            extra = 1 if level + 1 in DISPARITY_LEVELS else 0
            self.add_module(
                f"upconv{level}",
                nn.Sequential(
                    nn.ConvTranspose2d(up_in, out, 3, stride=2, padding=1, output_padding=1),
                    nn.ReLU(inplace=True),
                ),
            )
            self.add_module(
                f"iconv{level}",
                nn.Sequential(
                    nn.Conv2d(out + skip + extra, out, 3, padding=1), nn.ReLU(inplace=True)
                ),
            )
        for level in sorted(DISPARITY_LEVELS, reverse=True):
            self.add_module(
                f"predict_disp{level}",
                nn.Sequential(nn.Conv2d(DECODER[level - 1], 1, 3, padding=1)),
            )

    def forward(self, images: torch.Tensor) -> DisparityOutput:
        x = (images - 0.5) / 0.5
        features = [x]
        for level in range(1, 8):
            features.append(getattr(self, f"conv{level}")(features[-1]))
        x, disparity, disparities = features[7], None, {}
        for level in range(7, 0, -1):
            reference = features[level - 1]  # conv(ℓ−1), or the input at ℓ = 1
            parts = [crop_to(getattr(self, f"upconv{level}")(x), reference)]
            if level > 1:
                parts.append(reference)
            if disparity is not None:
                up = F.interpolate(
                    disparity, scale_factor=2.0, mode="bilinear",
                    align_corners=self.config.align_corners,
                )  # fmt: skip
                parts.append(crop_to(up, reference))
            x = getattr(self, f"iconv{level}")(cat_channels(parts))
            if level in DISPARITY_LEVELS:
                disparity = bounded_disparity(getattr(self, f"predict_disp{level}")(x))
                disparities[level] = disparity
        return self.output([disparities[level] for level in sorted(disparities)])
