"""GeoNet's ResFlowNet (Yin & Shi 2018, §3.4 and §4.1): residual non-rigid flow on top of the
rigid flow of depth + pose.

Input, as GeoNet (``geonet_model.py::build_flownet``, ``flownet_type="residual"``), concatenated
along channels: target ``I_t`` (3), source ``I_s`` (3), the source warped by the rigid flow
``Ĩ_s^rig`` (3), the rigid flow ``f^rig_{t→s}`` (2, pixels) and the rigid reconstruction error
(1) — 12 channels, built inside :meth:`ResFlowNet.forward` from ``(target, source, rigid_flow)``.
Output: the residual flow ``f^res_{t→s}`` ``(B, 2, H, W)`` in pixels;
:func:`depthforge.geometry.warp.full_flow` adds it to the rigid flow.

How it differs from the paper's network, to stay small enough to train on a CPU:

* **Encoder.** Four stride-2 3×3 conv stages (widths ``channels``, default 32-64-96-128, BN +
  ReLU) instead of GeoNet's ResNet-50 encoder.
* **Decoder.** Nearest ×2 upsampling + 3×3 conv with U-Net skips, one full-resolution output
  (GeoNet: deconvolutions and 4 output scales).
* **Output scaling** is GeoNet's: a linear 3×3 conv times ``0.1 · (W, H)`` (``FLOW_SCALING``:
  flow in tenths of the image size), but that last layer starts at **zero**, so an
  untrained ResFlowNet leaves the rigid flow unchanged (GeoNet trains it after freezing
  DepthNet and PoseNet; starting from zero residual makes that stage start from the rigid
  solution).
* **Error channel.** ``photometric_error`` (mean over colour channels of the SSIM + L1 term)
  instead of GeoNet's L2 norm over channels of the per-channel error.

It is a :class:`~depthforge.models.base.DepthModel` with ``output_space = None`` (like
:class:`~depthforge.models.posenet.PoseNet`): it predicts no depth, so evaluation and
``predict`` must never treat it as a depth model, but it shares the config record and the
save/load machinery.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from depthforge.geometry.warp import warp_by_flow
from depthforge.losses.photometric import photometric_error
from depthforge.models.base import DepthModel, ModelConfig

FLOW_SCALING = 0.1  # GeoNet geonet_nets.py: flow = 0.1 · conv output, in units of (W, H)
INPUT_CHANNELS = 12  # I_t, I_s, warped I_s (3 each), rigid flow (2), rigid error (1)


@dataclasses.dataclass(frozen=True)
class ResFlowNetConfig(ModelConfig):
    """Attributes (besides ``input_size``/``resize``): channels — encoder widths per stride-2
    stage (the decoder mirrors them)."""

    input_size: tuple[int, int] = (128, 416)  # GeoNet's KITTI training resolution
    channels: tuple[int, ...] = (32, 64, 96, 128)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.channels or min(self.channels) < 1:
            raise ValueError(f"channels must be positive widths, got {self.channels}")


def _conv(in_channels: int, out_channels: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class ResFlowNet(DepthModel):
    """``forward(target, source, rigid_flow) -> (B, 2, H, W)`` residual flow in pixels.

    Example:
        >>> net = ResFlowNet(ResFlowNetConfig(channels=(8, 16)))
        >>> image = torch.rand(1, 3, 24, 32)
        >>> net(image, image, torch.zeros(1, 2, 24, 32)).abs().max().item()  # zero-initialised
        0.0
    """

    config_class = ResFlowNetConfig
    output_space = None

    def __init__(self, config: ResFlowNetConfig | None = None):
        super().__init__(config or ResFlowNetConfig())
        widths = self.config.channels
        ins = (INPUT_CHANNELS, *widths[:-1])
        self.encoder = nn.ModuleList(
            _conv(i, o, stride=2) for i, o in zip(ins, widths, strict=True)
        )
        # decoder, deepest first: upsample to the next skip, concatenate it, fuse; the skips are
        # the encoder inputs (the 12-channel input last) and the full-resolution stage keeps
        # the first width
        skip_widths = (INPUT_CHANNELS, *widths[:-1])
        out_widths = (widths[0], *widths[:-1])
        stages, deep = [], widths[-1]
        for skip, out in zip(reversed(skip_widths), reversed(out_widths), strict=True):
            stages.append(_conv(deep + skip, out))
            deep = out
        self.decoder = nn.ModuleList(stages)
        self.head = nn.Conv2d(widths[0], 2, 3, padding=1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @staticmethod
    def inputs(
        target: torch.Tensor, source: torch.Tensor, rigid_flow: torch.Tensor
    ) -> torch.Tensor:
        """The 12-channel GeoNet input ``[I_t, I_s, Ĩ_s^rig, f^rig, error]`` ``(B, 12, H, W)``."""
        warped = warp_by_flow(source, rigid_flow)
        error = photometric_error(warped, target).to(target.dtype)
        return torch.cat([target, source, warped, rigid_flow, error], dim=1)

    def forward(
        self, target: torch.Tensor, source: torch.Tensor, rigid_flow: torch.Tensor
    ) -> torch.Tensor:
        x = self.inputs(target, source, rigid_flow)
        features = [x]
        for stage in self.encoder:
            features.append(stage(features[-1]))
        y = features.pop()
        for stage in self.decoder:
            skip = features.pop()
            y = F.interpolate(y, size=skip.shape[-2:], mode="nearest")
            y = stage(torch.cat([y, skip], dim=1))
        raw = FLOW_SCALING * self.head(y)
        return torch.cat([raw[:, :1] * target.shape[-1], raw[:, 1:] * target.shape[-2]], dim=1)
