"""The hourglass network of Chen, Fu, Yang & Deng 2016 (NIPS), "Single-Image Depth Perception in
the Wild" (DIW), reused unchanged by Li & Snavely 2018 (CVPR), "MegaDepth: Learning Single-View
Depth Prediction from Internet Photos".

Layout (DIW ``src/experiment/models/hourglass3.lua`` and ``layers/inception_new.lua``; MegaDepth's
Torch7-to-PyTorch conversion ``pytorch_DIW_scratch.py`` has the same modules in the same order):

* ``conv1`` 7×7 (3→128, bias) → ``bn1`` (affine BatchNorm, eps 1e-5) → ReLU;
* four nested hourglass levels, each the sum of a ``skip`` branch at the level's resolution and a
  ``down`` branch (2×2 pooling → inceptions → the next level → inceptions → nearest ×2
  upsampling); levels 1–2 (128 channels in, full and ½ resolution) pool with max, levels 3–4
  (256 channels, ¼ and ⅛) with average;
* every inception is the channel concatenation of a 1×1 conv branch and three 1×1 → k×k conv
  branches ("same" padding), each conv followed by a BatchNorm **without** affine parameters
  (``nn.SpatialBatchNormalization(n, nil, nil, false)``) and ReLU;
* ``head`` 3×3 conv 64→1 (bias): one output at the input resolution.

The level-1 input has 128 channels and its output 64, so ``H`` and ``W`` must be multiples of 16
(four 2×2 poolings undone by four ×2 upsamplings).

Parameter layout: an :class:`Inception` is an ``nn.ModuleList`` of its branches, each an
``nn.Sequential`` (conv, BN, ReLU[, conv, BN, ReLU]), so its keys end as in the releases
(``<branch>.<layer>.weight``); :func:`release_key` maps the releases' positional paths to ours.

Inputs are RGB in ``[0, 1]`` with no normalisation: DIW loads images with ``image.load`` (``[0,
1]``) and MegaDepth's ``demo.py`` divides by 255; neither subtracts a mean. Outputs:

* :class:`DIWHourglass`: the raw network output, relative depth, larger = farther (the ranking
  loss of DIW Eq. 1–2 is applied to it directly) → ``OutputSpace.ORDINAL``;
* :class:`MegaDepthHourglass`: the network output is the natural log of depth up to an unknown
  scale (MegaDepth's losses are scale-invariant in log space, Eq. 1–4; its test code applies
  ``exp``): :class:`LogDepthOutput` carries ``log_depth`` and ``depth = exp(log_depth)``, declared
  ``SCALE_INVARIANT_DEPTH`` — not ``LOG_DEPTH``, which depthforge reserves for the log of metric
  depth and would exponentiate to metres. Its predictions are best resized in log depth.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
from torch import nn

from depthforge.models.base import DepthModel, ModelConfig
from depthforge.types import OutputSpace, ResizeSpace

DEPTH_LEVELS = 4
"""Nested hourglass levels; the input must be divisible by ``2**DEPTH_LEVELS``."""

InceptionSpec = tuple[int, int, tuple[tuple[int, int, int], ...]]
"""``(in_channels, out_1x1, ((kernel, reduce, out), …))``: the DIW Lua's ``inception(in, config)``."""

# The nine inception configurations of hourglass3.lua, named by where they occur.
A = (128, 32, ((3, 32, 32), (5, 32, 32), (7, 32, 32)))  # 128 → 128
B = (128, 64, ((3, 32, 64), (5, 32, 64), (7, 32, 64)))  # 128 → 256
C = (256, 64, ((3, 32, 64), (5, 32, 64), (7, 32, 64)))  # 256 → 256
D = (256, 64, ((3, 64, 64), (7, 64, 64), (11, 64, 64)))  # 256 → 256
E = (256, 32, ((3, 32, 32), (5, 32, 32), (7, 32, 32)))  # 256 → 128
F = (128, 32, ((3, 64, 32), (7, 64, 32), (11, 64, 32)))  # 128 → 128
G = (128, 32, ((3, 64, 32), (5, 64, 32), (7, 64, 32)))  # 128 → 128
H = (128, 16, ((3, 32, 16), (7, 32, 16), (11, 32, 16)))  # 128 → 64
I = (128, 16, ((3, 64, 16), (7, 64, 16), (11, 64, 16)))  # 128 → 64

LEVELS: dict[
    int, tuple[tuple[InceptionSpec, ...], tuple[InceptionSpec, ...], tuple[InceptionSpec, ...]]
]
LEVELS = {
    # level: (skip branch, down branch before the inner level, down branch after it)
    1: ((I,), (A, A), (G, H)),
    2: ((A, F), (A, B), (C, E)),
    3: ((C, D), (C, C), (C, D)),
    4: ((C, C), (C, C, C), ()),
}
POOLING = {1: nn.MaxPool2d, 2: nn.MaxPool2d, 3: nn.AvgPool2d, 4: nn.AvgPool2d}
RELEASE_BRANCH_ORDER = {
    1: ("down", "skip"),
    2: ("down", "skip"),
    3: ("skip", "down"),
    4: ("skip", "down"),
}
"""Order of the two branches inside each level's ``ConcatTable`` in the Lua model (and so in the
positional keys of MegaDepth's state dicts)."""
INNER_INDEX = 3
"""Position of the inner level inside a ``down`` branch (after the pooling and two inceptions)."""


def conv_bn_relu(in_channels: int, out_channels: int, kernel: int) -> list[nn.Module]:
    """k×k conv ("same" padding, bias) → BatchNorm without affine parameters → ReLU."""
    return [
        nn.Conv2d(in_channels, out_channels, kernel, padding=(kernel - 1) // 2),
        nn.BatchNorm2d(out_channels, eps=1e-5, momentum=0.1, affine=False),
        nn.ReLU(inplace=True),
    ]


class Inception(nn.ModuleList):
    """DIW's inception module: channel concatenation of a 1×1 branch and 1×1 → k×k branches.

    ``forward(x (B, in, H, W)) -> (B, out_1x1 + Σ out, H, W)``.
    """

    def __init__(self, spec: InceptionSpec):
        in_channels, out_1x1, branches = spec
        modules = [nn.Sequential(*conv_bn_relu(in_channels, out_1x1, 1))]
        for kernel, reduce, out in branches:
            modules.append(
                nn.Sequential(
                    *conv_bn_relu(in_channels, reduce, 1), *conv_bn_relu(reduce, out, kernel)
                )
            )
        super().__init__(modules)
        self.out_channels = out_1x1 + sum(out for _, _, out in branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self], dim=1)


class HourglassLevel(nn.Module):
    """One level: ``skip(x) + down(x)``; ``down`` = pool, inceptions, [inner level], inceptions,
    nearest ×2 upsampling. ``forward(x (B, C, H, W)) -> (B, C', H, W)``."""

    def __init__(self, level: int):
        super().__init__()
        skip, before, after = LEVELS[level]
        self.skip = nn.Sequential(*map(Inception, skip))
        inner = [HourglassLevel(level + 1)] if level < DEPTH_LEVELS else []
        self.down = nn.Sequential(
            POOLING[level](2, 2),
            *map(Inception, before),
            *inner,
            *map(Inception, after),
            nn.Upsample(scale_factor=2, mode="nearest"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.down(x)


def release_key(positional: str) -> str:
    """Our parameter name for a positional key of the released hourglass.

    The releases (MegaDepth's ``DataParallel`` state dict after its ``module.`` prefix, or the
    paths :func:`~depthforge.models.pretrained.converters.torch7.positional_parameters` reads from
    DIW's Torch7 model) number modules by position: ``0``/``1`` the first conv and BN, ``4`` the
    last conv, ``3.0.<b>.<i>…`` the level-1 ``ConcatTable`` branch ``b``, module ``i``, and so on
    down the levels (each level's ``Sequential(ConcatTable, CAddTable)``). Example:

    >>> release_key("3.0.0.3.0.1.0.2.1.running_mean")
    'hourglass.down.3.skip.0.2.1.running_mean'

    Raises:
        KeyError: a key that has no place in the hourglass.
    """
    parts = positional.split(".")
    top = {"0": "conv1", "1": "bn1", "4": "head"}
    if parts[0] in top and len(parts) == 2:
        return f"{top[parts[0]]}.{parts[1]}"
    if parts[0] == "3":
        return "hourglass." + ".".join(_level_path(parts[1:], 1, positional))
    raise KeyError(f"{positional!r} is not a parameter of the hourglass")


def _level_path(parts: Sequence[str], level: int, key: str) -> list[str]:
    """Our path below a level, from the release's ``0.<branch>.<index>…`` (see release_key)."""
    if len(parts) < 4 or parts[0] != "0" or parts[1] not in ("0", "1"):
        raise KeyError(f"{key!r} is not a parameter of the hourglass")
    branch = RELEASE_BRANCH_ORDER[level][int(parts[1])]
    if branch == "down" and parts[2] == str(INNER_INDEX) and level < DEPTH_LEVELS:
        return [branch, parts[2], *_level_path(parts[3:], level + 1, key)]
    return [branch, *parts[2:]]


@dataclasses.dataclass(frozen=True)
class HourglassConfig(ModelConfig):
    """``input_size``: DIW runs at 240×320, MegaDepth's demo at 384×512; multiples of 16."""

    input_size: tuple[int, int] = (240, 320)

    def __post_init__(self) -> None:
        super().__post_init__()
        if any(s % 2**DEPTH_LEVELS for s in self.input_size):
            raise ValueError(f"input_size must be multiples of 16, got {self.input_size}")


class DIWHourglass(DepthModel):
    """Chen et al. 2016's hourglass (see the module docstring).

    ``forward(images (B, 3, H, W) RGB in [0, 1], H and W multiples of 16) -> (B, 1, H, W)``
    relative depth, larger = farther (``ORDINAL``).
    """

    config_class = HourglassConfig
    output_space = OutputSpace.ORDINAL

    def __init__(self, config: HourglassConfig | None = None):
        super().__init__(config or HourglassConfig())
        self.conv1 = nn.Conv2d(3, 128, 7, padding=3)
        self.bn1 = nn.BatchNorm2d(128, eps=1e-5, momentum=0.1)
        self.hourglass = HourglassLevel(1)
        self.head = nn.Conv2d(64, 1, 3, padding=1)

    def network(self, images: torch.Tensor) -> torch.Tensor:
        """The raw network output ``(B, 1, H, W)`` (no normalisation of the input)."""
        if images.shape[-2] % 2**DEPTH_LEVELS or images.shape[-1] % 2**DEPTH_LEVELS:
            raise ValueError(
                f"the hourglass needs H and W multiples of 16, got {tuple(images.shape[-2:])}"
            )
        x = torch.relu(self.bn1(self.conv1(images)))
        return self.head(self.hourglass(x))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network(images)


@dataclasses.dataclass
class LogDepthOutput:
    """What :class:`MegaDepthHourglass` returns.

    Attributes:
        depth: ``(B, 1, H, W)`` ``exp(log_depth)``: depth up to an unknown scale.
        log_depth: ``(B, 1, H, W)`` the network output, natural log of that depth.
    """

    depth: torch.Tensor
    log_depth: torch.Tensor


class MegaDepthHourglass(DIWHourglass):
    """The same hourglass as trained by MegaDepth (Li & Snavely 2018): the output is log depth
    up to an additive constant. ``forward(images (B, 3, H, W) in [0, 1]) -> LogDepthOutput``
    (``SCALE_INVARIANT_DEPTH``)."""

    output_space = OutputSpace.SCALE_INVARIANT_DEPTH
    resize_space = ResizeSpace.LOG_DEPTH  # the network regresses log depth

    def __init__(self, config: HourglassConfig | None = None):
        super().__init__(config or HourglassConfig(input_size=(384, 512)))

    def forward(self, images: torch.Tensor) -> LogDepthOutput:  # type: ignore[override]
        log_depth = self.network(images)
        return LogDepthOutput(depth=log_depth.exp(), log_depth=log_depth)
