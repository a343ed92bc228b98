"""Specification of the Winograd F(2×2, 3×3) convolution: the paper's one-tile identity by hand,
equality with a shift-and-add convolution in float64 (padded by 1 and unpadded, odd sizes,
one-pixel maps, chunks that split the batch and the rows), the layout it returns, which
convolutions it and the inference preparation take, and the maps too small for it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from depthforge.models import create_model, winograd
from depthforge.models.inference import prepare_for_inference
from depthforge.models.winograd import (
    WinogradConv2d,
    prefers_winograd,
    winograd_conv3x3,
    winograd_kernels,
)


def shift_and_add(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding: int = 1
) -> torch.Tensor:
    """Reference cross-correlation with zero padding, in float64: the sum over the nine taps
    of the shifted input times the tap's ``(K, C)`` matrix."""
    x, weight = x.double(), weight.double()
    padded = F.pad(x, (padding,) * 4)
    h, w = padded.shape[-2] - 2, padded.shape[-1] - 2
    out = torch.zeros(x.shape[0], weight.shape[0], h, w, dtype=torch.float64)
    for i in range(3):
        for j in range(3):
            window = padded[:, :, i : i + h, j : j + w]
            out += torch.einsum("kc,nchw->nkhw", weight[:, :, i, j], window)
    if bias is not None:
        out += bias.double().view(1, -1, 1, 1)
    return out


def test_one_tile_by_hand():
    # one channel, a 2×2 map (one tile), kernel with a single tap at the centre = identity;
    # with the tap at the top-left corner, output (i, j) reads input (i−1, j−1)
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    centre = torch.zeros(1, 1, 3, 3)
    centre[0, 0, 1, 1] = 1.0
    assert winograd_conv3x3(x, winograd_kernels(centre)).tolist() == x.tolist()
    corner = torch.zeros(1, 1, 3, 3)
    corner[0, 0, 0, 0] = 2.0
    out = winograd_conv3x3(x, winograd_kernels(corner), torch.tensor([0.5]))
    assert out.tolist() == [[[[0.5, 0.5], [0.5, 2.5]]]]  # 2·x[0, 0] + 0.5 at (1, 1)


@pytest.mark.parametrize(
    ("n", "c", "k", "h", "w", "padding"),
    [
        (1, 3, 5, 7, 9, 1),  # odd output: the last tile row and column are cropped
        (2, 4, 6, 8, 8, 1),
        (1, 2, 3, 1, 1, 1),  # one pixel
        (3, 5, 2, 2, 3, 1),
        (2, 8, 8, 11, 6, 1),
        (1, 3, 5, 7, 9, 0),
        (2, 4, 6, 8, 8, 0),
        (3, 5, 2, 3, 4, 0),  # one output row
        (2, 8, 8, 11, 6, 0),
    ],
)
@pytest.mark.parametrize("with_bias", [True, False])
def test_equals_shift_and_add(n, c, k, h, w, padding, with_bias):
    generator = torch.Generator().manual_seed(n * 100 + h)
    x = torch.randn(n, c, h, w, generator=generator)
    weight = torch.randn(k, c, 3, 3, generator=generator)
    bias = torch.randn(k, generator=generator) if with_bias else None
    reference = shift_and_add(x, weight, bias, padding)
    for layout in (torch.contiguous_format, torch.channels_last):
        x_in = x.contiguous(memory_format=layout)
        out = winograd_conv3x3(x_in, winograd_kernels(weight), bias, padding)
        assert out.shape == reference.shape
        assert out.is_contiguous(memory_format=torch.channels_last)
        assert (out.double() - reference).abs().max() <= 2e-6 * reference.abs().max()


@pytest.mark.parametrize("chunk_bytes", [1, 16 * 4 * 8 * 10, 16 * 4 * 8 * 40])
def test_chunks_split_rows_and_images_without_changing_the_result(monkeypatch, chunk_bytes):
    # 20 tiles (4 rows of 5) per image; chunks of 1 byte: one tile row each; of 10 tiles: bands
    # of 2 rows; of 40 tiles: two images
    monkeypatch.setattr(winograd, "CHUNK_BYTES", chunk_bytes)
    generator = torch.Generator().manual_seed(3)
    x = torch.randn(5, 8, 7, 9, generator=generator)
    weight = torch.randn(8, 8, 3, 3, generator=generator)
    bias = torch.randn(8, generator=generator)
    reference = shift_and_add(x, weight, bias)
    out = winograd_conv3x3(x, winograd_kernels(weight), bias)
    assert (out.double() - reference).abs().max() <= 2e-6 * reference.abs().max()


def test_kernels_must_be_3x3():
    with pytest.raises(ValueError, match="3×3"):
        winograd_kernels(torch.zeros(4, 4, 5, 5))


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, True),
        ({"stride": 2}, False),
        ({"dilation": 2, "padding": 2}, False),
        ({"groups": 2}, False),
        ({"padding": 0}, True),  # after a reflection or replication pad module
        ({"padding": 2}, False),
        ({"padding": "same"}, False),
        ({"padding_mode": "reflect"}, False),
        ({"kernel_size": 5, "padding": 2}, False),
    ],
)
def test_which_convolutions_it_takes(kwargs, expected):
    settings = {"kernel_size": 3, "padding": 1, **kwargs}
    assert prefers_winograd(nn.Conv2d(256, 256, **settings)) is expected
    assert prefers_winograd(nn.Conv2d(128, 256, **settings)) is expected  # harmonic mean 171


@pytest.mark.parametrize(("c", "k"), [(128, 128), (64, 512), (512, 64), (3, 64)])
def test_too_few_channels_stay_direct(c, k):
    # harmonic mean 2·C·K / (C + K) below 160: 128, 114, 114, 6
    assert not prefers_winograd(nn.Conv2d(c, k, 3, padding=1))


def test_module_shares_the_parameters_and_equals_the_convolution():
    torch.manual_seed(0)
    channels = 256
    conv = nn.Conv2d(channels, channels, 3, padding=1).eval().requires_grad_(False)
    fast = WinogradConv2d.from_conv(conv)
    assert fast.weight is conv.weight and fast.bias is conv.bias
    assert "kernels" not in fast.state_dict()  # derived, not saved
    x = torch.randn(2, channels, 5, 6)
    reference = shift_and_add(x, conv.weight, conv.bias)
    with torch.no_grad():
        assert (fast(x).double() - reference).abs().max() <= 2e-6 * reference.abs().max()
    with pytest.raises(ValueError, match="3×3 stride-1"):
        WinogradConv2d.from_conv(nn.Conv2d(channels, channels, 3, stride=2, padding=1))


@pytest.mark.parametrize(
    ("shape", "padding", "tiles"),
    [
        ((1, 256, 1, 4), 1, 2),  # SfMLearner's deepest map: 1×2 tiles, half empty
        ((1, 256, 2, 13), 1, 7),
        ((1, 256, 4, 9), 0, 4),  # unpadded: a 2×7 output
        ((3, 256, 2, 4), 1, 6),  # counted over the batch
        ((1, 256, 2, 15), 1, 8),
        ((1, 256, 6, 9), 0, 8),
        ((2, 256, 2, 7), 1, 8),
    ],
)
def test_too_few_tiles_run_the_direct_convolution(monkeypatch, shape, padding, tiles):
    calls = []

    def counted(*args, **kwargs):
        calls.append(args[0].shape)
        return winograd_conv3x3(*args, **kwargs)

    monkeypatch.setattr(winograd, "winograd_conv3x3", counted)
    conv = nn.Conv2d(256, 256, 3, padding=padding).eval().requires_grad_(False)
    fast = WinogradConv2d.from_conv(conv)
    x = torch.randn(*shape)
    with torch.no_grad():
        out = fast(x)
        direct = F.conv2d(x, conv.weight, conv.bias, padding=padding)
    reference = shift_and_add(x, conv.weight, conv.bias, padding=padding)
    assert (out.double() - reference).abs().max() <= 2e-6 * reference.abs().max()
    assert winograd.output_tiles(x.shape, padding) == tiles
    assert len(calls) == (tiles >= winograd.MIN_TILES)
    if tiles < winograd.MIN_TILES:
        assert torch.equal(out, direct)
    fast.min_tiles = 0  # the measuring knob of benchmarks/winograd_speed.py: Winograd everywhere
    with torch.no_grad():
        everywhere = fast(x)
    assert len(calls) == 1 + (tiles >= winograd.MIN_TILES)
    assert (everywhere.double() - reference).abs().max() <= 2e-6 * reference.abs().max()


def test_unpadded_module_equals_the_convolution():
    conv = nn.Conv2d(256, 160, 3).eval().requires_grad_(False)
    x = torch.randn(1, 256, 6, 9)
    with torch.no_grad():
        out = WinogradConv2d.from_conv(conv)(x)
    reference = shift_and_add(x, conv.weight, conv.bias, padding=0)
    assert out.shape == (1, 160, 4, 7)
    assert (out.double() - reference).abs().max() <= 2e-6 * reference.abs().max()


def test_preparation_takes_exactly_the_wide_3x3_convolutions():
    model = create_model("fcrn_resnet18", input_size=(64, 64)).eval()
    convs = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    wide = {name for name, conv in convs if prefers_winograd(conv)}
    assert 0 < len(wide) < len(convs)
    prepared = prepare_for_inference(model)
    assert {n for n, m in prepared.named_modules() if isinstance(m, WinogradConv2d)} == wide
    plain = prepare_for_inference(model, winograd=False)
    assert not any(isinstance(m, WinogradConv2d) for m in plain.modules())
