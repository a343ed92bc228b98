"""The ResNet-50 trunk of FCRN's TensorFlow release (Caffe ResNet-50 converted by caffe-tensorflow).

It differs from torchvision's ResNet-50 (the ``ResNetEncoder`` default) in four ways, all of which
change the output of the released weights (reference ``tensorflow/models/fcrn.py`` and
``network.py``):

1. ``conv1`` has a bias (``conv(7, 7, 64, 2, 2, relu=False, name='conv1')``, biased by default);
2. every BN uses epsilon 1e-4 (``network.py::batch_normalization``), not 1e-5;
3. the first block of stages 3–5 strides in its first 1×1 convolution (``res3a_branch2a`` …,
   ResNet v1 as in Caffe), not in the 3×3 one (torchvision's "v1.5");
4. the max-pool is TF ``'SAME'`` with stride 2: the padding is ``total = max((⌈n/2⌉ − 1)·2 + 3 − n,
   0)`` split ``total // 2`` before and the rest after, so an even input is padded only at the
   bottom/right (torchvision pads one on every side, shifting every window by one pixel).
   Padded cells never win the max (TF ignores them), hence ``-inf`` padding.

The convolutions themselves pad symmetrically by ``(k − 1) // 2`` (``network.py::conv`` pads
explicitly before a VALID convolution), exactly as torchvision's do, so they need no change.
Module and parameter names stay torchvision's, so the trunk is still a :class:`ResNetEncoder`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from depthforge.models.backbones import ResNetEncoder

TF_BN_EPS = 1e-4


def tf_same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF ``'SAME'`` padding ``(before, after)`` of one axis of length ``size``.

    Example:
        >>> tf_same_padding(114, 3, 2), tf_same_padding(115, 3, 2)
        ((0, 1), (1, 1))
    """
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class TFSameMaxPool(nn.Module):
    """``tf.nn.max_pool(x, k, s, padding='SAME')``: ``(B, C, H, W)`` → ``(B, C, ⌈H/s⌉, ⌈W/s⌉)``.

    The padding depends on the input size; an ONNX export records it for the export size.
    """

    def __init__(self, kernel: int = 3, stride: int = 2):
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom = tf_same_padding(x.shape[-2], self.kernel, self.stride)
        left, right = tf_same_padding(x.shape[-1], self.kernel, self.stride)
        x = F.pad(x, (left, right, top, bottom), value=-math.inf)
        return F.max_pool2d(x, self.kernel, self.stride)


def tf_release_resnet50() -> ResNetEncoder:
    """A randomly initialised :class:`ResNetEncoder` of ResNet-50 rebuilt as the TF release's trunk
    (the four changes of the module docstring). Input ``(B, 3, H, W)`` RGB in 0–255 (FCRN feeds it
    unnormalised); output ``(B, 2048, H/32, W/32)`` (rounded up)."""
    encoder = ResNetEncoder("resnet50")
    old = encoder.stem[0]
    encoder.stem[0] = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=True)
    encoder.stem[0].weight.data.copy_(old.weight.data)
    encoder.stem[3] = TFSameMaxPool(3, 2)
    for module in encoder.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eps = TF_BN_EPS
    for stage in encoder.layers[1:]:
        first = stage[0]
        first.conv1.stride, first.conv2.stride = first.conv2.stride, (1, 1)
    return encoder
