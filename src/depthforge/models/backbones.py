"""Torchvision trunks used as encoders, and the in-model ImageNet normalisation.

Weights: ``None`` (random initialisation, the default and what tests use), a local file path
(a ``state_dict`` saved by ``torch.save`` or a ``.safetensors`` file, keys as in torchvision), or
``"imagenet"`` for torchvision's default ImageNet weights (downloaded through torchvision's hub
cache on first use; never used in tests).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torchvision
from torch import nn

from depthforge.errors import DataError, UnknownNameError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

RESNET_CHANNELS = {"resnet18": 512, "resnet34": 512, "resnet50": 2048}
RESNET_PYRAMID_CHANNELS = {
    "resnet18": (64, 64, 128, 256, 512),
    "resnet34": (64, 64, 128, 256, 512),
    "resnet50": (64, 256, 512, 1024, 2048),
}
"""Channels of :meth:`ResNetEncoder.pyramid`'s five levels (monodepth2 ``num_ch_enc``)."""


class ImageNetNormalize(nn.Module):
    """``(x − mean) / std`` with the ImageNet statistics held as (non-persistent) buffers.

    Input ``(B, 3·F, H, W)``: F ≥ 1 RGB frames stacked along channels, in ``[0, 1]``; output the
    same shape, each frame normalised. Keeping it inside the model means inference and ONNX
    export need no outside constants.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer(
            "mean", torch.tensor(IMAGENET_MEAN).view(1, 1, 3, 1, 1), persistent=False
        )
        self.register_buffer(
            "std", torch.tensor(IMAGENET_STD).view(1, 1, 3, 1, 1), persistent=False
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        frames = images.unflatten(1, (-1, 3))  # (B, F, 3, H, W)
        return ((frames - self.mean) / self.std).flatten(1, 2)


def load_weights(module: nn.Module, weights: str | Path | None, arch: str) -> nn.Module:
    """Load ``weights`` (None, ``"imagenet"`` or a local file) into torchvision model ``module``."""
    if weights is None:
        return module
    if weights == "imagenet":
        pretrained = getattr(torchvision.models, arch)(weights="DEFAULT")
        module.load_state_dict(pretrained.state_dict())
        return module
    path = Path(weights)
    if not path.is_file():
        raise DataError(path, f"backbone weights for {arch} not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load and safetensors raise many types on a bad file
        raise DataError(path, f"not a readable {arch} state_dict ({exc})") from exc
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise DataError(path, f"weights do not fit torchvision {arch}: {exc}") from exc
    return module


class ResNetEncoder(nn.Module):
    """Torchvision ResNet without its pooling and classifier: stride-32 feature map.

    Args:
        arch: ``"resnet18"``, ``"resnet34"`` or ``"resnet50"``.
        weights: see the module docstring.
        in_channels: input channels of ``conv1`` (3·frames for a pose network). For pretrained
            weights and ``in_channels`` a multiple of 3 the RGB filters are tiled and divided by
            the number of copies (as monodepth2 does for its pose encoder).

    Input ``(B, in_channels, H, W)`` (already normalised); output ``(B, C, ⌈H/32⌉, ⌈W/32⌉)`` with
    C = 512 (ResNet-18/34) or 2048 (ResNet-50), see ``out_channels``.
    """

    def __init__(self, arch: str, weights: str | Path | None = None, in_channels: int = 3):
        super().__init__()
        if arch not in RESNET_CHANNELS:
            raise UnknownNameError("ResNet", arch, RESNET_CHANNELS)
        net = load_weights(getattr(torchvision.models, arch)(weights=None), weights, arch)
        if in_channels != 3:
            copies = in_channels // 3
            if in_channels % 3:
                raise ValueError(f"in_channels must be a multiple of 3, got {in_channels}")
            old = net.conv1
            net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
            with torch.no_grad():
                net.conv1.weight.copy_(old.weight.repeat(1, copies, 1, 1) / copies)
        self.out_channels = RESNET_CHANNELS[arch]
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.layers = nn.Sequential(net.layer1, net.layer2, net.layer3, net.layer4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.stem(x))

    def pyramid(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five feature maps monodepth2's ``ResnetEncoder`` returns: ``relu(bn1(conv1))`` at
        stride 2, then ``layer1`` (after the max-pool) … ``layer4`` at strides 4, 8, 16, 32;
        channels ``RESNET_PYRAMID_CHANNELS[arch]``."""
        features = [self.stem[2](self.stem[1](self.stem[0](x)))]
        features.append(self.layers[0](self.stem[3](features[0])))
        for layer in self.layers[1:]:
            features.append(layer(features[-1]))
        return features


def convolutional_trunk(arch: str, weights: str | Path | None = None) -> nn.Sequential:
    """The ``features`` part of torchvision ``vgg16`` or ``alexnet`` (stride 32)."""
    if arch not in ("vgg16", "alexnet"):
        raise UnknownNameError("trunk", arch, ("vgg16", "alexnet"))
    return load_weights(getattr(torchvision.models, arch)(weights=None), weights, arch).features
