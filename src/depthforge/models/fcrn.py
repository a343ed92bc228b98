"""FCRN: Laina, Rupprecht, Belagiannis, Tombari & Navab 2016 (3DV), "Deeper Depth Prediction with
Fully Convolutional Residual Networks" — the ResNet-UpProj model.

Layout (TF reference ``tensorflow/models/fcrn.py::ResNet50UpProj``): ResNet encoder to the
stride-32 map (2048 channels for ResNet-50) → 1×1 conv with bias to half the channels + BN (no
ReLU) → four up-projection blocks, each halving the channels (1024→512→256→128→64 for ResNet-50)
→ 3×3 conv with bias to 1 channel → ReLU (the reference's ``conv`` default ``relu=True``; ports
often drop it). Dropout with keep_prob 1 in the reference is omitted (it is the identity).

Sizes: input ``(B, 3, 228, 304)`` → output ``(B, 1, 128, 160)`` metric depth in metres
(16 × the stride-32 grid: 228→8, 304→10). Any input size works (fully convolutional).

Deviation (default ``encoder_style="torchvision"``): torchvision's ResNet ``conv1`` has no bias
while the TF model's has one, so our ResNet-50 FCRN has 64 parameters fewer than the reference
count 63,572,737 (§3.4); BN eps is torchvision's 1e-5 in the encoder and the TF 1e-4 in the
decoder; the input is ImageNet-normalised. ``encoder_style="tf_release"`` with
``input_range="raw255"`` and ``padding="tf"`` (registered as ``fcrn_resnet50_tf``) is the authors'
TensorFlow graph exactly (:mod:`depthforge.models.tf_resnet`; its released NYU weights load through
:mod:`depthforge.models.pretrained`): 63,572,737 parameters, input RGB × 255 without mean
subtraction (``predict.py``, ``evaluateNYU.m``).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from depthforge.models.backbones import ImageNetNormalize, ResNetEncoder
from depthforge.models.base import DepthModel, ModelConfig
from depthforge.models.tf_resnet import tf_release_resnet50
from depthforge.models.upprojection import UpProjection
from depthforge.types import OutputSpace, ResizeSpace


@dataclasses.dataclass(frozen=True)
class FCRNConfig(ModelConfig):
    """Attributes (besides ``input_size``/``resize``):
    encoder: ``"resnet50"`` (paper), ``"resnet18"`` or ``"resnet34"`` (CPU-sized).
    upsample: ``"fast"`` (four-kernel up-convolution) or ``"slow"`` (unpool + 5×5).
    padding: ``"exact"`` (fast == slow) or ``"tf"`` (authors' TF layer, for released weights).
    final_relu: keep the reference's ReLU after the last conv (depth ≥ 0).
    encoder_weights: None, ``"imagenet"`` or a local file (see ``backbones``).
    encoder_style: ``"torchvision"`` or ``"tf_release"`` (the TF release's Caffe ResNet-50 trunk,
        ResNet-50 only, see :mod:`~depthforge.models.tf_resnet`).
    input_range: ``"imagenet"`` (ImageNet mean/std normalisation inside) or ``"raw255"`` (RGB
        scaled to 0–255, nothing subtracted: the TF release).
    """

    input_size: tuple[int, int] = (228, 304)
    encoder: str = "resnet50"
    upsample: str = "fast"
    padding: str = "exact"
    final_relu: bool = True
    encoder_weights: str | None = None
    encoder_style: str = "torchvision"
    input_range: str = "imagenet"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.encoder_style not in ("torchvision", "tf_release"):
            raise ValueError(
                f"encoder_style must be torchvision or tf_release, got {self.encoder_style!r}"
            )
        if self.encoder_style == "tf_release" and (self.encoder, self.encoder_weights) != (
            "resnet50",
            None,
        ):
            raise ValueError("encoder_style='tf_release' is ResNet-50 without torchvision weights")
        if self.input_range not in ("imagenet", "raw255"):
            raise ValueError(f"input_range must be imagenet or raw255, got {self.input_range!r}")


class Scale(nn.Module):
    """Multiply by a constant: ``(B, C, H, W)`` in [0, 1] → the same times ``factor``."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


class FCRN(DepthModel):
    """ResNet-UpProj depth network; ``forward(images (B,3,H,W) in [0,1]) -> (B,1,H/32·16, W/32·16)``
    metric depth in metres (non-negative with ``final_relu``)."""

    config_class = FCRNConfig
    output_space = OutputSpace.METRIC_DEPTH
    resize_space = ResizeSpace.DEPTH

    def __init__(self, config: FCRNConfig | None = None):
        super().__init__(config or FCRNConfig())
        cfg = self.config
        self.normalize = ImageNetNormalize() if cfg.input_range == "imagenet" else Scale(255.0)
        self.encoder = (
            tf_release_resnet50()
            if cfg.encoder_style == "tf_release"
            else ResNetEncoder(cfg.encoder, cfg.encoder_weights)
        )
        channels = self.encoder.out_channels // 2
        self.bottleneck = nn.Sequential(
            nn.Conv2d(self.encoder.out_channels, channels, kernel_size=1),
            nn.BatchNorm2d(channels, eps=1e-4),
        )
        self.decoder = nn.Sequential(
            *(
                UpProjection(channels >> i, channels >> (i + 1), cfg.upsample, cfg.padding)
                for i in range(4)
            )
        )
        self.head = nn.Sequential(
            nn.Conv2d(channels >> 4, 1, kernel_size=3, padding=1),
            nn.ReLU() if cfg.final_relu else nn.Identity(),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.encoder(self.normalize(images))
        return self.head(self.decoder(self.bottleneck(features)))
