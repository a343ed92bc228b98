"""DDVO's depth network: Wang, Buenaposada, Zhu & Lucey 2018 (CVPR), "Learning Depth from
Monocular Videos using Direct Methods" — the VGG-style ``VggDepthEstimator`` of its code
(MightyChaos/LKVOLearner ``src/networks.py``), whose state dict is the released checkpoint.

Layout:

* input ``(B, 3, H, W)`` RGB in ``[0, 1]``; DDVO feeds ``(I − 127) / 127`` on 0–255 images, done
  inside as ``(255·x − 127) / 127``; paper resolution 128×416;
* every convolution is preceded by replication padding ``(k − 1)/2`` (no zero padding anywhere)
  and followed by ELU unless said otherwise;
* encoder ``conv_layers.0``…``6``: ``conv1`` (k×k + ELU), ``conv2`` (k×k, no activation), then
  replication padding of one column/row on the right/bottom where the width/height is odd,
  ELU, 2×2 average pooling; k = 7, 5, 3, 3, 3, 3, 3, channels 32, 64, 128, 256, 512, 512, 512;
* decoder, i = 0 … 6: ``upconv_layers.i`` (2×2 transposed conv, stride 2, + ELU; channels 512,
  512, 256, 128, 64, 32, 16), cropped to the skip's size (i < 6); concatenated with encoder
  output 5 − i (i < 6) and, for i ≥ 4, with the previous inverse depth's **sigmoid** upsampled ×2
  (bilinear); ``iconv_layers.i`` (3×3 + ELU); for i ≥ 1 ``invdepth_layers.(i−1)`` (3×3 + sigmoid);
* inverse depth = 10·sigmoid + 0.01 for the five finest outputs (full … 1/16 resolution).

``invdepth_layers.0`` (at 1/32) exists in the release and is computed by DDVO's forward but never
used: it is kept with ``requires_grad=False`` so the release loads, and not evaluated.

Where H or W is not a multiple of 32 the upsampled inverse depth can be one row or column larger
than the skip; DDVO's code then fails to concatenate, here it is cropped like the up-convolution.

``align_corners`` of the bilinear ×2 upsampling: DDVO ran on PyTorch 0.3.1 (its README), whose
``nn.Upsample(mode='bilinear')`` aligns corners; the release was trained that way, so the default is
``True``. Today's PyTorch runs DDVO's code with ``align_corners=False``; set it to compare with
that.

Output: :class:`~depthforge.models.disparity.DisparityOutput` (``SCALE_INVARIANT_DEPTH``) with the
five inverse depths, finest first, shaped ``(B, 1, h, w)`` (DDVO squeezes the channel).
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from depthforge.models.base import ModelConfig
from depthforge.models.disparity import DisparityNet, DisparityOutput, scale_sigmoid
from depthforge.models.layout import cat_channels

ENCODER = ((32, 7), (64, 5), (128, 3), (256, 3), (512, 3), (512, 3), (512, 3))
"""``(channels, kernel)`` of ``conv_layers.0`` … ``6``."""
DECODER = (512, 512, 256, 128, 64, 32, 16)
"""Channels of ``upconv_layers.0`` … ``6`` (and ``iconv_layers``)."""
NUM_OUTPUTS = 5
"""Inverse depths returned (DDVO ``invdepth_pyramid[0:5]``)."""
FIRST_FED_BACK = 4
"""First decoder step that takes the upsampled previous inverse depth."""


class PaddedConv(nn.Module):
    """DDVO ``Conv``: replication padding, k×k convolution (bias, no zero padding), activation."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel: int, activation: nn.Module | None
    ):
        super().__init__()
        self.pad = nn.ReplicationPad2d((kernel - 1) // 2)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.pad(x))
        return x if self.activation is None else self.activation(x)


class DownBlock(nn.Module):
    """DDVO ``ConvBlock``: conv + ELU, conv, replicate an odd last column/row, ELU, 2×2 mean."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int):
        super().__init__()
        self.conv1 = PaddedConv(in_channels, out_channels, kernel, nn.ELU())
        self.conv2 = PaddedConv(out_channels, out_channels, kernel, None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        y = F.pad(self.conv2(self.conv1(x)), (0, width % 2, 0, height % 2), mode="replicate")
        return F.avg_pool2d(F.elu(y), 2)


class UpBlock(nn.Module):
    """DDVO ``UpConv``: 2×2 transposed convolution, stride 2, then ELU."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.elu(self.deconv(x))


@dataclasses.dataclass(frozen=True)
class DDVOConfig(ModelConfig):
    """``input_size``: 128×416 (paper). ``align_corners``: see the module docstring."""

    input_size: tuple[int, int] = (128, 416)
    align_corners: bool = True


class DDVODepthNet(DisparityNet):
    """``forward(images (B, 3, H, W) RGB in [0, 1]) -> DisparityOutput`` (see the module docstring)."""

    config_class = DDVOConfig

    def __init__(self, config: DDVOConfig | None = None):
        super().__init__(config or DDVOConfig())
        channels = [3] + [c for c, _ in ENCODER]
        self.conv_layers = nn.ModuleList(
            DownBlock(channels[i], c, k) for i, (c, k) in enumerate(ENCODER)
        )
        self.upconv_layers = nn.ModuleList()
        self.iconv_layers = nn.ModuleList()
        self.invdepth_layers = nn.ModuleList()
        for i, out in enumerate(DECODER):
            self.upconv_layers.append(UpBlock(ENCODER[-1][0] if i == 0 else DECODER[i - 1], out))
            skip = channels[len(ENCODER) - 1 - i] if i < len(DECODER) - 1 else 0
            fed_back = 1 if i >= FIRST_FED_BACK else 0
            self.iconv_layers.append(PaddedConv(out + skip + fed_back, out, 3, nn.ELU()))
            if i >= 1:
                self.invdepth_layers.append(PaddedConv(out, 1, 3, nn.Sigmoid()))
        self.invdepth_layers[0].requires_grad_(False)  # unused by DDVO's outputs

    def forward(self, images: torch.Tensor) -> DisparityOutput:
        features = [(255.0 * images - 127.0) / 127.0]
        for block in self.conv_layers:
            features.append(block(features[-1]))
        x, sigmoids = features[-1], []
        last = len(DECODER) - 1
        for i in range(len(DECODER)):
            x = self.upconv_layers[i](x)
            parts = [x]
            if i < last:
                skip = features[last - i]
                x = x[..., : skip.shape[-2], : skip.shape[-1]]
                parts = [x, skip]
            if i >= FIRST_FED_BACK:
                up = F.interpolate(
                    sigmoids[-1], scale_factor=2.0, mode="bilinear",
                    align_corners=self.config.align_corners,
                )  # fmt: skip
                parts.append(up[..., : x.shape[-2], : x.shape[-1]])
            x = self.iconv_layers[i](cat_channels(parts))
            if i > len(DECODER) - 1 - NUM_OUTPUTS:
                sigmoids.append(self.invdepth_layers[i - 1](x))
        # DDVO scales the sigmoids once the pyramid is built (the fed-back maps stay sigmoids).
        return self.output([scale_sigmoid(s) for s in reversed(sigmoids)])
