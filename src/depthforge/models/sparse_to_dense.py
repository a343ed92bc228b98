"""Sparse-to-Dense: Ma & Karaman 2018 (ICRA), "Sparse-to-Dense: Depth Prediction from Sparse
Depth Samples and a Single Image" — RGB + sparse depth → dense metric depth.

Layout (paper §III-A, Fig. 2; authors' ``models.py::ResNet``): the RGBd input (image and the
sparse depth map stacked, 4 channels) enters a ResNet whose first convolution takes 4 channels
(``conv1`` + BN + ReLU + max-pool, then ``layer1``…``layer4``) → 1×1 conv to half the channels +
BN → four up-projection blocks (Laina et al. 2016; the paper's best decoder, "UpProj") → 3×3
conv to 1 channel → bilinear upsampling to the input size (``align_corners=False``).

Interface: ``forward(images, sparse)`` with ``images`` ``(B, 3, H, W)`` RGB in [0, 1] and
``sparse`` ``(B, 1, H, W)`` metres, 0 = no sample; output ``(B, 1, H, W)`` metric depth in metres.

Deviations: the RGB channels are ImageNet-normalised inside the model (depthforge convention;
the authors feed [0, 1] RGB); the 4-channel ``conv1`` keeps the ResNet's RGB filters (pretrained
ones when ``encoder_weights`` is given) and starts its depth filter at zero, where the authors
initialise the whole new ``conv1`` randomly; no bias in ``conv1`` (torchvision's).
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import nn

from depthforge.models.backbones import ImageNetNormalize, ResNetEncoder
from depthforge.models.base import DepthModel, ModelConfig
from depthforge.models.upprojection import UpProjection
from depthforge.types import OutputSpace


@dataclasses.dataclass(frozen=True)
class SparseToDenseConfig(ModelConfig):
    """Attributes (besides ``input_size``/``resize``):
    encoder: ``"resnet50"`` (paper) or ``"resnet18"``/``"resnet34"`` (CPU-sized).
    upsample: ``"fast"`` or ``"slow"`` up-convolution of the up-projection blocks.
    encoder_weights: None, ``"imagenet"`` or a local file (see ``backbones``).
    """

    input_size: tuple[int, int] = (228, 304)
    encoder: str = "resnet50"
    upsample: str = "fast"
    encoder_weights: str | None = None


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
    """RGBd ResNet-UpProj (module docstring); ``forward(images, sparse) -> (B, 1, H, W)`` metres.

    Class attribute ``takes_sparse = True`` tells :func:`depthforge.models.predict.predict`, the
    completion app and the completion strategy to pass the sparse depth.
    """

    config_class = SparseToDenseConfig
    output_space = OutputSpace.METRIC_DEPTH
    takes_sparse = True

    def __init__(self, config: SparseToDenseConfig | None = None):
        super().__init__(config or SparseToDenseConfig())
        cfg = self.config
        self.normalize = ImageNetNormalize()
        self.encoder = ResNetEncoder(cfg.encoder, cfg.encoder_weights)
        self.encoder.stem[0] = rgbd_stem_conv(self.encoder.stem[0])
        channels = self.encoder.out_channels // 2
        self.bottleneck = nn.Sequential(
            nn.Conv2d(self.encoder.out_channels, channels, kernel_size=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        self.decoder = nn.Sequential(
            *(UpProjection(channels >> i, channels >> (i + 1), cfg.upsample) for i in range(4))
        )
        self.head = nn.Conv2d(channels >> 4, 1, kernel_size=3, padding=1, bias=False)

    def forward(self, images: torch.Tensor, sparse: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.normalize(images), sparse], dim=1)
        depth = self.head(self.decoder(self.bottleneck(self.encoder(x))))
        return F.interpolate(depth, size=images.shape[-2:], mode="bilinear", align_corners=False)
