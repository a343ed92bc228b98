"""Eigen, Puhrsch & Fergus 2014 (NIPS), "Depth Map Prediction from a Single Image using a
Multi-Scale Deep Network": the coarse (global) and fine (local) networks, log-depth output.

Layer sizes (paper Fig. 1, NYU). The paper text was not available to re-read; the sizes are the
figure's as recalled, and coarse1/coarse2/coarse6/coarse7 agree with independent public
re-implementations (11×11/4 valid conv + pool, 5×5 pad-2 conv + pool, FC 4096 → 4070). The
placement of the third pooling is our reading, chosen so the maps have the figure's sizes:

====================  ===============================================  ==============
layer                 operation                                        output (H×W×C)
====================  ===============================================  ==============
input                 RGB                                              228×304×3
coarse1               conv 11×11 stride 4, ReLU, max-pool 2×2          27×37×96
coarse2               conv 5×5 (pad 2), ReLU, max-pool 2×2             13×18×256
coarse3               conv 3×3 (valid), ReLU, max-pool 2×2 (ceil)      6×8×384
coarse4               conv 3×3 (pad 1), ReLU                           6×8×384
coarse5               conv 3×3 (pad 1), ReLU                           6×8×256
coarse6               fully connected, ReLU, dropout 0.5               4096
coarse7               fully connected, linear                          55×74 (4070)
fine1                 conv 9×9 stride 2, ReLU, max-pool 2×2            55×74×63
fine2                 concat coarse7 as the 64th feature map           55×74×64
fine3                 conv 5×5 (pad 2), ReLU                           55×74×64
fine4                 conv 5×5 (pad 2), linear                         55×74×1
====================  ===============================================  ==============

The output grid (55×74, 1/4 of the input) is what both networks produce; it is derived from
``input_size`` at construction (the fine network's conv1 + pool grid) so smaller inputs work too.
Training goes coarse first, then fine with the coarse net frozen (``freeze_coarse``).
Fully connected layers fix the input size (``fixed_input_size``).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from depthforge.models.backbones import ImageNetNormalize
from depthforge.models.base import DepthModel, ModelConfig
from depthforge.models.layout import cat_channels
from depthforge.types import OutputSpace, ResizeSpace


@dataclasses.dataclass(frozen=True)
class Eigen2014Config(ModelConfig):
    """Attributes (besides ``input_size``/``resize``):
    stage: ``"coarse"`` (output coarse7) or ``"fine"`` (coarse feeds the fine network).
    freeze_coarse: stop gradients into the coarse network (second training stage).
    fc_features: width of coarse6 (4096 in the paper).
    dropout: dropout probability after coarse6 (0.5).
    """

    input_size: tuple[int, int] = (228, 304)
    stage: str = "fine"
    freeze_coarse: bool = False
    fc_features: int = 4096
    dropout: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.stage not in ("coarse", "fine"):
            raise ValueError(f"stage must be 'coarse' or 'fine', got {self.stage!r}")


def output_grid(input_size: tuple[int, int]) -> tuple[int, int]:
    """``(H, W)`` of the prediction: 9×9 stride-2 valid conv then 2×2 pool (228×304 → 55×74)."""
    return tuple(((n - 9) // 2 + 1) // 2 for n in input_size)  # type: ignore[return-value]


class CoarseNet(nn.Module):
    """Global coarse-scale network: ``(B, 3, H, W)`` normalised → ``(B, 1, h, w)`` log depth."""

    def __init__(self, input_size: tuple[int, int], fc_features: int, dropout: float):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(96, 256, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(256, 384, 3), nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
        )  # fmt: skip
        with torch.no_grad():
            flat = self.features(torch.zeros(1, 3, *input_size)).numel()
        self.grid = output_grid(input_size)
        self.fc = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, fc_features),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(fc_features, self.grid[0] * self.grid[1]),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x)).unflatten(1, (1, *self.grid))


class FineNet(nn.Module):
    """Local fine-scale network: image + coarse log depth → refined ``(B, 1, h, w)`` log depth."""

    def __init__(self) -> None:
        super().__init__()
        self.fine1 = nn.Sequential(
            nn.Conv2d(3, 63, 9, stride=2), nn.ReLU(inplace=True), nn.MaxPool2d(2)
        )
        self.refine = nn.Sequential(
            nn.Conv2d(64, 64, 5, padding=2), nn.ReLU(inplace=True), nn.Conv2d(64, 1, 5, padding=2)
        )

    def forward(self, x: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
        return self.refine(cat_channels([self.fine1(x), coarse]))


class Eigen2014(DepthModel):
    """Coarse + fine network. ``forward(images (B,3,H,W) in [0,1]) -> (B,1,h,w)`` natural-log
    depth (``LOG_DEPTH``), h×w = 55×74 for the paper's 228×304 input. The input must have exactly
    ``config.input_size`` (``predict`` resizes to it)."""

    config_class = Eigen2014Config
    output_space = OutputSpace.LOG_DEPTH
    resize_space = ResizeSpace.LOG_DEPTH  # the network regresses log depth
    fixed_input_size = True

    def __init__(self, config: Eigen2014Config | None = None):
        super().__init__(config or Eigen2014Config())
        cfg = self.config
        self.normalize = ImageNetNormalize()
        self.coarse = CoarseNet(cfg.input_size, cfg.fc_features, cfg.dropout)
        self.fine = FineNet() if cfg.stage == "fine" else None
        self.coarse.requires_grad_(not cfg.freeze_coarse)

    def train(self, mode: bool = True) -> Eigen2014:
        """Like ``nn.Module.train``, but a frozen coarse network stays in eval mode (no dropout)."""
        super().train(mode)
        if self.config.freeze_coarse:
            self.coarse.eval()
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.normalize(images)
        coarse = self.coarse(x)
        if self.fine is None:
            return coarse
        if self.config.freeze_coarse:
            coarse = coarse.detach()
        return self.fine(x, coarse)
