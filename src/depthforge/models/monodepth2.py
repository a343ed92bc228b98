"""monodepth2's depth network: Godard, Mac Aodha, Firman & Brostow 2019 (ICCV), "Digging Into
Self-Supervised Monocular Depth Estimation" — ResNet encoder + multi-scale disparity decoder.

Layout (monodepth2 ``networks/resnet_encoder.py``, ``networks/depth_decoder.py``, ``layers.py``):

* input ``(B, 3, H, W)`` RGB in ``[0, 1]``, H and W multiples of 32, normalised inside as
  ``(x − 0.45) / 0.225`` (monodepth2's constants, not the per-channel ImageNet ones);
* encoder: torchvision ResNet-18/50; features ``relu(bn1(conv1))`` (stride 2, 64 ch), ``layer1``
  after the max-pool (stride 4), ``layer2``–``layer4`` (strides 8–32): ``num_ch_enc`` =
  64, 64, 128, 256, 512 (ResNet-50: 64, 256, 512, 1024, 2048);
* decoder, for level i = 4 … 0 (``num_ch_dec`` = 16, 32, 64, 128, 256):
  ``upconv(i, 0)`` ConvBlock → nearest ×2 upsampling → concatenation with encoder feature i − 1
  (skip, i > 0) → ``upconv(i, 1)`` ConvBlock; at i ∈ {0, 1, 2, 3} ``dispconv(i)`` (3×3 conv with
  reflection padding) + sigmoid gives the disparity at scale i (``H/2^i × W/2^i``);
* ConvBlock = 3×3 conv with reflection padding 1, then ELU.

Parameter layout: the decoder's modules sit in one ``nn.ModuleList`` named ``decoder`` in
monodepth2's order (``upconv(4,0), upconv(4,1), …, upconv(0,1), dispconv(0) … dispconv(3)``), with
monodepth2's sub-module names (``ConvBlock.conv.conv``, ``Conv3x3.conv``), so the keys of a
monodepth2 ``depth.pth`` (``decoder.7.conv.conv.weight``) are ours with the prefix ``decoder.``. Only the encoder is renamed
(``encoder.conv1`` → ``encoder.stem.0``, ``bn1`` → ``stem.1``, ``layerN`` → ``layers.N−1``, the
unused ``fc`` dropped): see :func:`load_monodepth2_state_dict`.

Output: :class:`Monodepth2Output` with full-resolution ``depth`` (``disp_to_depth`` of scale 0) and
the four sigmoid ``disparities``. Trained from monocular video the depth is known only up to
scale, hence ``output_space = scale_invariant_depth`` (evaluate with median scaling). Its
``resize_space`` is ``disparity``: ``predict`` brings the output to the image size as
``evaluate_depth.py`` does (bilinear on ``1/depth`` = the scaled disparity, then inverted).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from depthforge.models.backbones import RESNET_PYRAMID_CHANNELS, ResNetEncoder
from depthforge.models.base import DepthModel, ModelConfig
from depthforge.types import OutputSpace, ResizeSpace

DECODER_CHANNELS = (16, 32, 64, 128, 256)
"""monodepth2 ``num_ch_dec``: decoder channels at levels 0 … 4."""
NUM_SCALES = 4
"""Disparity outputs at scales 0 … 3 (monodepth2 ``--scales 0 1 2 3``)."""
INPUT_MEAN, INPUT_STD = 0.45, 0.225
"""monodepth2 ``ResnetEncoder.forward``: ``(input_image − 0.45) / 0.225``."""


def disp_to_depth(
    disp: torch.Tensor, min_depth: float = 0.1, max_depth: float = 100.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sigmoid output → ``(scaled_disp, depth)`` (monodepth2 ``layers.py::disp_to_depth``).

    ``scaled = 1/max_depth + (1/min_depth − 1/max_depth)·disp`` and ``depth = 1/scaled``, so depth
    lies in ``[min_depth, max_depth]``.

    Args:
        disp: ``(B, 1, H, W)`` sigmoid output in ``[0, 1]``.
        min_depth, max_depth: depth range in the scene's unit (metres or an unknown scale).

    Returns:
        ``(scaled_disp, depth)``, both ``(B, 1, H, W)``.

    Example:
        >>> _, depth = disp_to_depth(torch.zeros(1, 1, 1, 1))
        >>> round(depth.item(), 3)
        100.0
    """
    min_disp, max_disp = 1.0 / max_depth, 1.0 / min_depth
    scaled = min_disp + (max_disp - min_disp) * disp
    return scaled, 1.0 / scaled


class Conv3x3(nn.Module):
    """monodepth2 ``Conv3x3``: reflection padding 1, then a 3×3 convolution (with bias)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.pad = nn.ReflectionPad2d(1)
        self.conv = nn.Conv2d(in_channels, out_channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.pad(x))


class ConvBlock(nn.Module):
    """monodepth2 ``ConvBlock``: :class:`Conv3x3` followed by ELU."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = Conv3x3(in_channels, out_channels)
        self.nonlin = nn.ELU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlin(self.conv(x))


class DepthDecoder(nn.Module):
    """monodepth2 ``DepthDecoder`` (skips on, one output channel, scales 0–3).

    ``forward(features)`` takes the encoder's five maps (strides 2 … 32) and returns the four
    sigmoid disparities ``[(B,1,H,W), (B,1,H/2,W/2), (B,1,H/4,W/4), (B,1,H/8,W/8)]`` (scale 0
    first), where ``H × W`` is twice the first feature map's size.
    """

    def __init__(self, encoder_channels: tuple[int, ...]):
        super().__init__()
        if len(encoder_channels) != 5:
            raise ValueError(f"need 5 encoder levels, got {len(encoder_channels)}")
        layers: list[nn.Module] = []
        for i in range(4, -1, -1):  # monodepth2's construction order (= its state_dict indices)
            in_0 = encoder_channels[-1] if i == 4 else DECODER_CHANNELS[i + 1]
            layers.append(ConvBlock(in_0, DECODER_CHANNELS[i]))
            in_1 = DECODER_CHANNELS[i] + (encoder_channels[i - 1] if i > 0 else 0)
            layers.append(ConvBlock(in_1, DECODER_CHANNELS[i]))
        layers += [Conv3x3(DECODER_CHANNELS[s], 1) for s in range(NUM_SCALES)]
        self.decoder = nn.ModuleList(layers)

    def upconv(self, level: int, index: int) -> nn.Module:
        """monodepth2 ``convs[("upconv", level, index)]``."""
        return self.decoder[2 * (4 - level) + index]

    def dispconv(self, scale: int) -> nn.Module:
        """monodepth2 ``convs[("dispconv", scale)]``."""
        return self.decoder[10 + scale]

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        coarse_first: list[torch.Tensor] = []
        x = features[-1]
        for i in range(4, -1, -1):
            x = F.interpolate(self.upconv(i, 0)(x), scale_factor=2.0, mode="nearest")
            if i > 0:
                x = torch.cat([x, features[i - 1]], dim=1)
            x = self.upconv(i, 1)(x)
            if i < NUM_SCALES:
                coarse_first.append(torch.sigmoid(self.dispconv(i)(x)))
        return coarse_first[::-1]


@dataclasses.dataclass
class Monodepth2Output:
    """What :class:`Monodepth2` returns.

    Attributes:
        depth: ``(B, 1, H, W)`` depth of scale 0 via :func:`disp_to_depth` (scale-ambiguous;
            in metres when the config has a ``metric_scale``).
        disparities: four ``(B, 1, H/2^s, W/2^s)`` sigmoid outputs in ``[0, 1]``, scale 0 first.
    """

    depth: torch.Tensor
    disparities: list[torch.Tensor]


@dataclasses.dataclass(frozen=True)
class Monodepth2Config(ModelConfig):
    """Attributes (besides ``input_size``/``resize``): encoder (``"resnet18"`` or ``"resnet50"``);
    encoder_weights (None, ``"imagenet"`` or a file, see ``backbones``); min_depth and max_depth
    of :func:`disp_to_depth` (monodepth2 defaults 0.1 and 100); metric_scale: metres per unit of
    a stereo-trained model's depth (monodepth2 ``STEREO_SCALE_FACTOR`` 5.4, its training baseline
    being 0.1 units for KITTI's 0.54 m): ``depth`` is then multiplied by it and the model's output
    space is metric depth; ``None`` (monocular training) keeps scale-invariant depth."""

    input_size: tuple[int, int] = (192, 640)
    encoder: str = "resnet18"
    encoder_weights: str | None = None
    min_depth: float = 0.1
    max_depth: float = 100.0
    metric_scale: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.metric_scale is not None and not self.metric_scale > 0:
            raise ValueError(f"metric_scale must be positive, got {self.metric_scale}")
        if any(s % 32 for s in self.input_size):
            raise ValueError(f"input_size must be multiples of 32, got {self.input_size}")
        if not 0 < self.min_depth < self.max_depth:
            raise ValueError(
                f"need 0 < min_depth < max_depth, got {self.min_depth}, {self.max_depth}"
            )


class Monodepth2(DepthModel):
    """``forward(images (B,3,H,W) in [0,1], H, W multiples of 32) -> Monodepth2Output``."""

    config_class = Monodepth2Config
    output_space = OutputSpace.SCALE_INVARIANT_DEPTH
    # evaluate_depth.py resizes the disparity to the GT size (cv2.resize), then inverts it.
    resize_space = ResizeSpace.DISPARITY

    def __init__(self, config: Monodepth2Config | None = None):
        super().__init__(config or Monodepth2Config())
        cfg = self.config
        if cfg.encoder not in ("resnet18", "resnet50"):
            raise ValueError(f"monodepth2 uses resnet18 or resnet50, got {cfg.encoder!r}")
        self.encoder = ResNetEncoder(cfg.encoder, cfg.encoder_weights)
        self.decoder = DepthDecoder(RESNET_PYRAMID_CHANNELS[cfg.encoder])
        if cfg.metric_scale is not None:
            self.output_space = OutputSpace.METRIC_DEPTH

    def to_depth(self, disp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:func:`disp_to_depth` with this model's depth range."""
        return disp_to_depth(disp, self.config.min_depth, self.config.max_depth)

    def forward(self, images: torch.Tensor) -> Monodepth2Output:
        if images.shape[-2] % 32 or images.shape[-1] % 32:
            raise ValueError(
                f"monodepth2 needs H and W multiples of 32, got {tuple(images.shape[-2:])}"
            )
        disparities = self.decoder(self.encoder.pyramid((images - INPUT_MEAN) / INPUT_STD))
        depth = self.to_depth(disparities[0])[1]
        if self.config.metric_scale is not None:
            depth = depth * self.config.metric_scale
        return Monodepth2Output(depth, disparities)


def load_monodepth2_state_dict(
    model: Monodepth2,
    encoder_state: Mapping[str, torch.Tensor],
    decoder_state: Mapping[str, torch.Tensor],
) -> None:
    """Load monodepth2's ``encoder.pth`` and ``depth.pth`` state dicts into ``model``.

    ``encoder_state`` keys look like ``encoder.conv1.weight`` / ``encoder.layer3.1.bn2.bias``
    (monodepth2 also stores ``height``, ``width``, ``use_stereo`` and the unused ``encoder.fc``;
    they are skipped); ``decoder_state`` keys (``decoder.7.conv.conv.weight``) are ours already.

    Raises:
        RuntimeError: a missing or unexpected key after the renaming (``load_state_dict`` strict).
    """
    model.load_state_dict(monodepth2_state_dict(encoder_state, decoder_state), strict=True)


def monodepth2_state_dict(
    encoder_state: Mapping[str, torch.Tensor], decoder_state: Mapping[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """monodepth2's ``encoder.pth`` and ``depth.pth`` state dicts renamed to :class:`Monodepth2`'s
    keys (see :func:`load_monodepth2_state_dict`); non-tensor entries and ``encoder.fc`` dropped."""
    renamed = {"conv1": "stem.0", "bn1": "stem.1"}
    renamed |= {f"layer{n}": f"layers.{n - 1}" for n in range(1, 5)}
    state: dict[str, torch.Tensor] = {}
    for key, value in encoder_state.items():
        parts = key.split(".")
        if parts[0] != "encoder" or parts[1] == "fc":
            continue
        state[".".join(["encoder", renamed[parts[1]], *parts[2:]])] = value
    state |= {f"decoder.{key}": value for key, value in decoder_state.items()}
    return state
