"""Pose network: monodepth2's pose decoder on a ResNet-18 encoder of concatenated frames
(Godard et al. 2019, "Digging Into Self-Supervised Monocular Depth Estimation"; the 0.01 output
scaling also appears in Zhou et al. 2017 SfMLearner).

Input ``(B, 3·F, H, W)``: F frames (2 or 3) concatenated along channels, each RGB in ``[0, 1]``,
normalised inside as monodepth2's ``ResnetEncoder.forward`` does, ``(x − 0.45) / 0.225`` on every
channel (``normalization="monodepth2"``, the default, so that monodepth2's released pose weights
compute what they computed there), or per channel with the ImageNet statistics
(``"imagenet"``: what a ``config.json`` without the field means, as depthforge's pose networks
were trained before the choice existed). Decoder: 1×1 conv 512→256 + ReLU, 3×3 conv 256→256 + ReLU,
3×3 conv 256→256 + ReLU, 1×1 conv 256→6·(F−1), spatial mean, ×0.01.
Output ``(B, F−1, 6)``: ``[axis-angle (rad), translation]`` per source frame, relative to the
first frame of the stack; :func:`depthforge.geometry.se3.pose_vec_to_matrix` turns them into 4×4.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from torch import nn

from depthforge.models.backbones import ImageNetNormalize, ResNetEncoder
from depthforge.models.base import DepthModel, ModelConfig
from depthforge.models.monodepth2 import INPUT_MEAN, INPUT_STD

POSE_SCALE = 0.01  # SfMLearner and monodepth2 scale the raw pose output by 0.01
NORMALIZATIONS = ("monodepth2", "imagenet")


@dataclasses.dataclass(frozen=True)
class PoseNetConfig(ModelConfig):
    """Attributes (besides ``input_size``/``resize``): num_frames (2 or 3); encoder (ResNet name);
    encoder_weights (pretrained conv1 filters are tiled over the frames and divided by F);
    normalization: ``"monodepth2"`` (``(x − 0.45)/0.225``) or ``"imagenet"`` (per-channel
    ImageNet mean and std)."""

    input_size: tuple[int, int] = (192, 640)
    num_frames: int = 2
    encoder: str = "resnet18"
    encoder_weights: str | None = None
    normalization: str = "monodepth2"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.num_frames not in (2, 3):
            raise ValueError(f"num_frames must be 2 or 3, got {self.num_frames}")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {NORMALIZATIONS}, got {self.normalization!r}"
            )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """As :meth:`ModelConfig.from_dict`; a config saved before ``normalization`` existed
        describes a network trained with the ImageNet statistics."""
        return super().from_dict({"normalization": "imagenet", **data})


class Monodepth2Normalize(nn.Module):
    """``(x − 0.45) / 0.225`` on every channel (monodepth2 ``ResnetEncoder.forward``)."""

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return (frames - INPUT_MEAN) / INPUT_STD


class PoseNet(DepthModel):
    """``forward(frames (B, 3·F, H, W)) -> (B, F−1, 6)`` relative poses (no depth output)."""

    config_class = PoseNetConfig

    def __init__(self, config: PoseNetConfig | None = None):
        super().__init__(config or PoseNetConfig())
        cfg = self.config
        self.normalize = (
            ImageNetNormalize() if cfg.normalization == "imagenet" else Monodepth2Normalize()
        )
        self.encoder = ResNetEncoder(cfg.encoder, cfg.encoder_weights, 3 * cfg.num_frames)
        self.decoder = nn.Sequential(
            nn.Conv2d(self.encoder.out_channels, 256, 1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 6 * (cfg.num_frames - 1), 1),
        )  # fmt: skip

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = self.normalize(frames)
        return POSE_SCALE * self.decoder(self.encoder(x)).mean(dim=(2, 3)).unflatten(1, (-1, 6))
