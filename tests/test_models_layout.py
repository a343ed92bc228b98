"""Memory-layout helpers of prepared (channels_last) models: same values as ``torch.cat``."""

from __future__ import annotations

import torch

from depthforge.models.layout import cat_channels, channels_innermost

CL = torch.channels_last


def test_channels_innermost_by_strides():
    x = torch.randn(2, 4, 3, 5)
    assert not channels_innermost(x)
    assert channels_innermost(x.contiguous(memory_format=CL))
    assert channels_innermost(x.contiguous(memory_format=CL)[:, 1:3])  # a channel slice
    # one channel: its strides say nothing about a channel order
    assert not channels_innermost(torch.randn(2, 1, 3, 5).contiguous(memory_format=CL))


def test_cat_of_mixed_layouts_is_channels_last_with_torch_cat_values():
    features = torch.randn(2, 6, 4, 5).contiguous(memory_format=CL)
    disparity = torch.randn(2, 1, 4, 5)  # NCHW strides, as F.interpolate returns it
    sliced = torch.randn(2, 3, 4, 7).contiguous(memory_format=CL)[..., 1:6]
    maps = [features, disparity, sliced]
    y = cat_channels(maps)
    assert torch.equal(y, torch.cat(maps, dim=1))
    assert y.is_contiguous(memory_format=CL)
    assert not torch.cat(maps, dim=1).is_contiguous(memory_format=CL)  # what it avoids


def test_cat_of_nchw_maps_is_torch_cat():
    maps = [torch.randn(2, 3, 4, 5), torch.randn(2, 1, 4, 5)]
    y = cat_channels(maps)
    assert torch.equal(y, torch.cat(maps, dim=1)) and y.is_contiguous()


def test_cat_channels_passes_gradients_like_torch_cat():
    a = torch.randn(1, 3, 4, 5).contiguous(memory_format=CL).requires_grad_()
    b = torch.randn(1, 1, 4, 5, requires_grad=True)
    weight = torch.randn(1, 4, 4, 5)
    (cat_channels([a, b]) * weight).sum().backward()
    assert torch.equal(a.grad, weight[:, :3]) and torch.equal(b.grad, weight[:, 3:])
