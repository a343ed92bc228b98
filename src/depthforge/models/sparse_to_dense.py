"""Sparse-to-Dense: Ma & Karaman 2018 (ICRA), "Sparse-to-Dense: Depth Prediction from Sparse
Depth Samples and a Single Image" — RGB (+ sparse depth) → dense metric depth.

Layout (paper §III-A, Fig. 2; authors' ``models.py::ResNet`` with ``decoder="upproj"``, the
decoder of their released NYU models): the input (the image, and for ``modality="rgbd"`` the
sparse depth in metres stacked as a 4th channel) enters a ResNet (``conv1`` + BN + ReLU +
max-pool, then ``layer1``…``layer4``) → 1×1 conv to half the channels + BN (``conv2``, ``bn2``) →
four ``UpProj`` blocks halving the channels (``decoder.layer1..4``) → 3×3 conv to 1 channel
(``conv3``) → bilinear upsampling to the input size with ``align_corners=True``. Every
convolution outside the torchvision trunk is bias-free; every BatchNorm has eps 1e-5.

``UpProj`` block (authors' ``UpProj.UpProjModule``): unpool ×2 (each value at the top-left of
its 2×2 block, zeros elsewhere), then ``upper_branch`` = 5×5 conv → BN → ReLU → 3×3 conv → BN and
``bottom_branch`` = 5×5 conv → BN on the same unpooled map; output ReLU(upper + bottom).
``upsample="fast"`` computes both 5×5 convolutions on the low-res input
(:func:`~depthforge.models.upprojection.unpool_conv5x5`: the same sums, a quarter of the MACs);
``"slow"`` runs them literally on the unpooled map.

Input normalisation, as the authors' data loader: RGB/255 (images in [0, 1]), no mean
subtraction, 228×304 (NYU: 480×640 resized to 240×320, centre-cropped); sparse depth in metres,
0 = no sample. Output ``(B, 1, H, W)`` metres.

Interface: ``forward(images, sparse)`` with ``images`` ``(B, 3, H, W)`` in [0, 1] and ``sparse``
``(B, 1, H, W)`` (``modality="rgbd"``, ``takes_sparse`` True), or ``forward(images)``
(``modality="rgb"``).

Initialisation as the authors' ``weights_init``: the new layers (``conv1``/``bn1`` for RGB-D,
``conv2``, ``bn2``, decoder, ``conv3``) get convolution weights ~ N(0, 2/(k·k·out)) and BN γ = 1,
β = 0; the trunk keeps torchvision's initialisation or ``encoder_weights``.

Deviations: the final upsampling goes to the input's size (the authors' ``nn.Upsample`` has a
fixed ``output_size``; equal at 228×304).

``variant="fcrn"`` is depthforge's earlier approximation of this network, kept so that folders
saved before ``variant`` existed still load (a saved config without the field means ``"fcrn"``):
the FCRN-TF up-projection of :class:`~depthforge.models.upprojection.UpProjection` (separate
up-convolutions with biases per branch, BN eps 1e-4), ImageNet normalisation inside the model,
``align_corners=False``, and an RGB-D ``conv1`` that keeps the ResNet's RGB filters and starts its
depth filter at zero. It cannot load the authors' weights.
"""

from __future__ import annotations

import dataclasses
import math
from collections import OrderedDict
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from depthforge.models.backbones import ImageNetNormalize, ResNetEncoder
from depthforge.models.base import DepthModel, ModelConfig
from depthforge.models.layout import cat_channels
from depthforge.models.upprojection import (
    UpProjection,
    phase_kernels,
    unpool_conv5x5,
    unpool_top_left,
)
from depthforge.types import OutputSpace

VARIANTS = ("reference", "fcrn")
MODALITIES = ("rgbd", "rgb")


@dataclasses.dataclass(frozen=True)
class SparseToDenseConfig(ModelConfig):
    """Attributes (besides ``input_size``/``resize``):
    encoder: ``"resnet50"`` (paper) or ``"resnet18"``/``"resnet34"`` (CPU-sized).
    upsample: ``"fast"`` or ``"slow"`` computation of the up-convolutions (same result).
    encoder_weights: None, ``"imagenet"`` or a local file (see ``backbones``).
    modality: ``"rgbd"`` (RGB + sparse depth) or ``"rgb"`` (the image alone).
    variant: ``"reference"`` (the authors' network) or ``"fcrn"`` (module docstring).
    """

    input_size: tuple[int, int] = (228, 304)
    encoder: str = "resnet50"
    upsample: str = "fast"
    encoder_weights: str | None = None
    modality: str = "rgbd"
    variant: str = "reference"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {self.modality!r}")
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")
        if self.upsample not in ("fast", "slow"):
            raise ValueError(f"upsample must be 'fast' or 'slow', got {self.upsample!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SparseToDenseConfig:
        """As :meth:`ModelConfig.from_dict`; a config saved before ``variant`` existed is
        ``"fcrn"`` (the architecture it was saved with)."""
        return super().from_dict({"variant": "fcrn", **data})


def init_like_authors(module: nn.Module) -> None:
    """The authors' ``weights_init``, for ``module.apply``: conv weights ~ N(0, 2/(k_h·k_w·out)),
    conv biases 0; BatchNorm γ = 1, β = 0."""
    if isinstance(module, nn.Conv2d):
        fan = module.kernel_size[0] * module.kernel_size[1] * module.out_channels
        nn.init.normal_(module.weight, 0.0, math.sqrt(2.0 / fan))
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class UpProjBlock(nn.Module):
    """The authors' ``UpProj.UpProjModule`` (module docstring): ``(B, C, H, W)`` →
    ``(B, C // 2, 2H, 2W)``; submodule names as theirs."""

    def __init__(self, in_channels: int, upsample: str = "fast"):
        super().__init__()
        out = in_channels // 2
        self.upsample = upsample
        self.phases: torch.Tensor | None = None  # phase_kernels(weight()) once precomputed
        self.upper_branch = nn.Sequential(
            OrderedDict(
                conv1=nn.Conv2d(in_channels, out, kernel_size=5, padding=2, bias=False),
                batchnorm1=nn.BatchNorm2d(out),
                relu=nn.ReLU(),
                conv2=nn.Conv2d(out, out, kernel_size=3, padding=1, bias=False),
                batchnorm2=nn.BatchNorm2d(out),
            )
        )
        self.bottom_branch = nn.Sequential(
            OrderedDict(
                conv=nn.Conv2d(in_channels, out, kernel_size=5, padding=2, bias=False),
                batchnorm=nn.BatchNorm2d(out),
            )
        )

    def weight(self) -> torch.Tensor:
        """``(2·out, in, 5, 5)``: both branches' first 5×5 kernels, which read the same
        unpooled map, as one."""
        return torch.cat([self.upper_branch.conv1.weight, self.bottom_branch.conv.weight])

    def precompute(self) -> None:
        """Keep the fused phase kernel of the fast path (called on an inference copy, whose
        weights do not change: :func:`depthforge.models.inference.prepare_for_inference`)."""
        self.phases = phase_kernels(self.weight()).contiguous(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample == "slow" or torch.onnx.is_in_onnx_export():
            upper, bottom = F.conv2d(unpool_top_left(x), self.weight(), padding=2).chunk(2, 1)
        else:
            phases = phase_kernels(self.weight()) if self.phases is None else self.phases
            upper, bottom = unpool_conv5x5(x, phases).chunk(2, dim=1)
        upper = self.upper_branch[1:](upper)
        return torch.relu(upper + self.bottom_branch.batchnorm(bottom))


def rgbd_stem_conv(rgb_conv: nn.Conv2d) -> nn.Conv2d:
    """A copy of a ResNet's ``conv1`` taking RGB + depth: RGB filters kept, depth filter 0."""
    conv = nn.Conv2d(4, rgb_conv.out_channels, kernel_size=7, stride=2, padding=3, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[:, :3] = rgb_conv.weight
    return conv


def resize_sparse(sparse: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Move sparse depth ``(B, 1, H, W)`` (0 = no sample) to a ``size`` grid without blending
    samples with holes: each sample goes to the target pixel containing its centre (pixel
    centres map as with ``align_corners=False``); samples landing together are averaged.

    Returns:
        ``(B, 1, h, w)`` sparse depth, same dtype and device.
    """
    if sparse.ndim != 4 or sparse.shape[1] != 1:
        raise ValueError(f"sparse must be (B, 1, H, W), got {tuple(sparse.shape)}")
    if tuple(sparse.shape[-2:]) == tuple(size):
        return sparse
    batch, _, height, width = sparse.shape
    out_h, out_w = size
    b, _, v, u = torch.nonzero(sparse > 0, as_tuple=True)
    row = ((v.to(torch.float64) + 0.5) * out_h / height).floor().long().clamp(max=out_h - 1)
    col = ((u.to(torch.float64) + 0.5) * out_w / width).floor().long().clamp(max=out_w - 1)
    target = (b * out_h + row) * out_w + col
    total = sparse.new_zeros(batch * out_h * out_w).index_add_(0, target, sparse[b, 0, v, u])
    count = sparse.new_zeros(batch * out_h * out_w).index_add_(
        0, target, torch.ones_like(sparse[b, 0, v, u])
    )
    return (total / count.clamp_min(1)).reshape(batch, 1, out_h, out_w)


class SparseToDense(DepthModel):
    """Sparse-to-Dense ResNet-UpProj (module docstring); ``forward(images[, sparse])`` →
    ``(B, 1, H, W)`` metres.

    ``takes_sparse`` (True for ``modality="rgbd"``) tells :func:`depthforge.models.predict.predict`,
    the completion app and the completion strategy to pass the sparse depth.
    """

    config_class = SparseToDenseConfig
    output_space = OutputSpace.METRIC_DEPTH

    def __init__(self, config: SparseToDenseConfig | None = None):
        super().__init__(config or SparseToDenseConfig())
        cfg = self.config
        self.takes_sparse = cfg.modality == "rgbd"
        reference = cfg.variant == "reference"
        if not reference:
            self.normalize = ImageNetNormalize()
        self.encoder = ResNetEncoder(cfg.encoder, cfg.encoder_weights)
        channels = self.encoder.out_channels // 2
        self.bottleneck = nn.Sequential(
            nn.Conv2d(self.encoder.out_channels, channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        if reference:
            self.decoder = nn.Sequential(
                OrderedDict(
                    (f"layer{i + 1}", UpProjBlock(channels >> i, cfg.upsample)) for i in range(4)
                )
            )
        else:
            self.decoder = nn.Sequential(
                *(UpProjection(channels >> i, channels >> (i + 1), cfg.upsample) for i in range(4))
            )
        self.head = nn.Conv2d(channels >> 4, 1, kernel_size=3, padding=1, bias=False)
        if self.takes_sparse:
            if reference:
                self.encoder.stem[0] = nn.Conv2d(4, 64, 7, stride=2, padding=3, bias=False)
                self.encoder.stem[1] = nn.BatchNorm2d(64)
                self.encoder.stem[:2].apply(init_like_authors)
            else:
                self.encoder.stem[0] = rgbd_stem_conv(self.encoder.stem[0])
        if reference:
            for part in (self.bottleneck, self.decoder, self.head):
                part.apply(init_like_authors)

    def forward(self, images: torch.Tensor, sparse: torch.Tensor | None = None) -> torch.Tensor:
        if self.takes_sparse != (sparse is not None):
            raise ValueError(
                f"Sparse-to-Dense ({self.config.modality}) "
                + ("needs sparse depth" if self.takes_sparse else "takes no sparse depth")
            )
        reference = self.config.variant == "reference"
        x = images if reference else self.normalize(images)
        if sparse is not None:
            x = cat_channels([x, sparse])
        depth = self.head(self.decoder(self.bottleneck(self.encoder(x))))
        return F.interpolate(
            depth, size=images.shape[-2:], mode="bilinear", align_corners=reference
        )
