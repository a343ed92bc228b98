"""Eigen & Fergus 2015 (ICCV), "Predicting Depth, Surface Normals and Semantic Labels with a
Common Multi-Scale Convolutional Architecture": three scales on a VGG-16 or AlexNet trunk.

* Scale 1 (global): trunk convolutions (torchvision ``vgg16``/``alexnet`` ``features``) → fully
  connected 4096 → fully connected to a 64-channel map on the 1/16 grid, upsampled ×4 (bilinear)
  to the 1/4 grid. Shared by all tasks.
* Scale 2 (1/4 resolution), per task: conv 9×9 stride 2 on the image (96 features, ReLU,
  max-pool 2) → concat the scale-1 map → four 5×5 convs (64, 64, 64, then C outputs) → ×2 upsample.
* Scale 3 (1/2 resolution), per task: conv 9×9 stride 2 on the image (64 features, ReLU) → concat
  the scale-2 prediction → 5×5 convs 64, 64, then C outputs.

Heads: depth (1 channel, natural-log depth as in the paper's log-space loss), surface normals
(3 channels, unit-normalised along the channel axis), semantic labels (``num_classes`` logits).

Sizes: the paper runs NYU at 320×240 and predicts 147×109 (its convolutions are 'valid', with
crops). We pad every convolution ('same'), so the outputs are exactly half the input resolution:
input ``(B, 3, 240, 320)`` → outputs ``(B, C, 120, 160)``; the input size must be divisible by 16
and is fixed by the scale-1 fully connected layers. The exact channel widths of the per-task
stacks are recalled from the paper, not re-verified.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from depthforge.models.backbones import ImageNetNormalize, convolutional_trunk
from depthforge.models.base import DepthModel, ModelConfig
from depthforge.models.layout import cat_channels
from depthforge.types import OutputSpace, ResizeSpace

TASK_CHANNELS = {"depth": 1, "normals": 3}


@dataclasses.dataclass(frozen=True)
class Eigen2015Config(ModelConfig):
    """Attributes (besides ``input_size``/``resize``):
    trunk: ``"vgg16"`` or ``"alexnet"``; trunk_weights: None, ``"imagenet"`` or a local file.
    tasks: subset of ``("depth", "normals", "labels")``.
    num_classes: semantic classes of the label head (NYU-40 by default).
    fc_features: width of the scale-1 hidden layer (4096); coarse_channels: scale-1 map (64).
    """

    input_size: tuple[int, int] = (240, 320)
    trunk: str = "vgg16"
    trunk_weights: str | None = None
    tasks: tuple[str, ...] = ("depth", "normals", "labels")
    num_classes: int = 40
    fc_features: int = 4096
    coarse_channels: int = 64

    def __post_init__(self) -> None:
        super().__post_init__()
        if any(n % 16 for n in self.input_size):
            raise ValueError(f"input_size must be divisible by 16, got {self.input_size}")
        unknown = set(self.tasks) - {"depth", "normals", "labels"}
        if unknown or not self.tasks:
            raise ValueError(
                f"tasks must be a non-empty subset of depth/normals/labels: {self.tasks}"
            )


@dataclasses.dataclass
class MultiTaskOutput:
    """Eigen 2015 outputs at half the input resolution; a task not in ``config.tasks`` is None.

    Attributes:
        depth: ``(B, 1, H/2, W/2)`` natural-log depth.
        normals: ``(B, 3, H/2, W/2)`` unit normals (camera frame).
        labels: ``(B, num_classes, H/2, W/2)`` class logits.
    """

    depth: torch.Tensor | None = None
    normals: torch.Tensor | None = None
    labels: torch.Tensor | None = None


def conv_stack(widths: list[int]) -> nn.Sequential:
    """5×5 'same' convs ``widths[0]→widths[1]→…``, ReLU between them, linear last layer."""
    layers: list[nn.Module] = []
    for i, (cin, cout) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Conv2d(cin, cout, 5, padding=2))
        if i < len(widths) - 2:
            layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class TaskHead(nn.Module):
    """Scales 2 and 3 for one task with ``out_channels`` outputs."""

    def __init__(self, coarse_channels: int, out_channels: int):
        super().__init__()
        self.image2 = nn.Sequential(
            nn.Conv2d(3, 96, 9, stride=2, padding=4), nn.ReLU(inplace=True), nn.MaxPool2d(2)
        )
        self.scale2 = conv_stack([96 + coarse_channels, 64, 64, 64, out_channels])
        self.image3 = nn.Sequential(nn.Conv2d(3, 64, 9, stride=2, padding=4), nn.ReLU(inplace=True))
        self.scale3 = conv_stack([64 + out_channels, 64, 64, out_channels])

    def forward(self, x: torch.Tensor, coarse: torch.Tensor) -> torch.Tensor:
        mid = self.scale2(cat_channels([self.image2(x), coarse]))
        mid = F.interpolate(mid, scale_factor=2.0, mode="bilinear", align_corners=False)
        return self.scale3(cat_channels([self.image3(x), mid]))


class Eigen2015(DepthModel):
    """Multi-scale multi-task network. ``forward(images (B,3,H,W) in [0,1]) -> MultiTaskOutput``;
    ``output_space`` refers to the depth head (``LOG_DEPTH``)."""

    config_class = Eigen2015Config
    output_space = OutputSpace.LOG_DEPTH
    resize_space = ResizeSpace.LOG_DEPTH  # the network regresses log depth
    fixed_input_size = True

    def __init__(self, config: Eigen2015Config | None = None):
        super().__init__(config or Eigen2015Config())
        cfg = self.config
        self.normalize = ImageNetNormalize()
        self.trunk = convolutional_trunk(cfg.trunk, cfg.trunk_weights)
        with torch.no_grad():
            flat = self.trunk(torch.zeros(1, 3, *cfg.input_size)).numel()
        self.grid = (cfg.input_size[0] // 16, cfg.input_size[1] // 16)
        self.scale1 = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, cfg.fc_features),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(cfg.fc_features, cfg.coarse_channels * self.grid[0] * self.grid[1]),
        )
        channels = {**TASK_CHANNELS, "labels": cfg.num_classes}
        self.heads = nn.ModuleDict(
            {task: TaskHead(cfg.coarse_channels, channels[task]) for task in cfg.tasks}
        )

    def forward(
        self, images: torch.Tensor, tasks: tuple[str, ...] | None = None
    ) -> MultiTaskOutput:
        """Run the trunk and the heads of ``tasks`` (default: every head of ``config.tasks``);
        the other fields of the output are None."""
        tasks = self.config.tasks if tasks is None else tasks
        missing = [task for task in tasks if task not in self.heads]
        if missing:
            raise ValueError(f"this model has no {missing} head; its heads: {self.config.tasks}")
        x = self.normalize(images)
        coarse = self.scale1(self.trunk(x)).unflatten(1, (self.config.coarse_channels, *self.grid))
        coarse = F.interpolate(coarse, scale_factor=4.0, mode="bilinear", align_corners=False)
        out = {task: self.heads[task](x, coarse) for task in tasks}
        if "normals" in out:
            out["normals"] = F.normalize(out["normals"], dim=1)
        return MultiTaskOutput(**out)

    def forward_depth(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 1, H/2, W/2)`` log depth, without running the normals and labels heads."""
        return self(images, tasks=("depth",)).depth
