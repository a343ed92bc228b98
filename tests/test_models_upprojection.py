"""Specification of the FCRN up-sampling blocks (Laina et al. 2016; REFERENCE.md §3.2)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from depthforge.models.upprojection import (
    FastUpConv,
    UnpoolConv,
    UpProjection,
    interleave_phases,
    unpool_top_left,
)


def test_interleave_places_each_phase_by_hand():
    a, b, c, d = (torch.full((1, 1, 1, 2), float(v)) for v in (1, 2, 3, 4))
    a[..., 1] = 10.0
    y = interleave_phases(a, b, c, d)
    assert y[0, 0].tolist() == [[1.0, 3.0, 10.0, 3.0], [2.0, 4.0, 2.0, 4.0]]


def test_interleave_equals_pixel_shuffle_with_the_right_phase_order():
    a, b, c, d = torch.randn(4, 2, 5, 3, 4).unbind(0)
    # pixel_shuffle takes phase (row, col) from channel 4c + 2·row + col.
    shuffled = F.pixel_shuffle(torch.stack([a, c, b, d], dim=2).flatten(1, 2), 2)
    torch.testing.assert_close(interleave_phases(a, b, c, d), shuffled)
    # The common bug: concatenating the four maps along channels before the shuffle.
    buggy = F.pixel_shuffle(torch.cat([a, b, c, d], dim=1), 2)
    assert not torch.allclose(interleave_phases(a, b, c, d), buggy)


@pytest.mark.parametrize("layout", ["channels_last", "channel_slices"])
def test_interleave_of_channels_innermost_maps_is_channels_last_and_equal(layout):
    a, b, c, d = torch.randn(4, 2, 6, 5, 3).unbind(0)
    # pixel_shuffle takes phase (row, col) from channel 4c + 2·row + col.
    expected = F.pixel_shuffle(torch.stack([a, c, b, d], dim=2).flatten(1, 2), 2)
    if layout == "channels_last":
        maps = [t.contiguous(memory_format=torch.channels_last) for t in (a, b, c, d)]
    else:  # chunks of one channels_last map, as a fused phase convolution returns them
        whole = torch.cat([a, b, c, d], dim=1).contiguous(memory_format=torch.channels_last)
        maps = list(whole.chunk(4, dim=1))
    y = interleave_phases(*maps)
    assert torch.equal(y, expected)
    assert y.is_contiguous(memory_format=torch.channels_last)
    assert interleave_phases(a, b, c, d).is_contiguous()  # NCHW maps keep their layout


def test_unpool_puts_values_top_left_of_each_block():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    expected = [[1.0, 0, 2.0, 0], [0, 0, 0, 0], [3.0, 0, 4.0, 0], [0, 0, 0, 0]]
    assert unpool_top_left(x)[0, 0].tolist() == expected


def reference_unpool_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor):
    """Brute force: zero-insert with explicit loops, then a 5×5 'same' cross-correlation."""
    b, c, h, w = x.shape
    up = torch.zeros(b, c, 2 * h, 2 * w, dtype=x.dtype)
    for i in range(h):
        for j in range(w):
            up[:, :, 2 * i, 2 * j] = x[:, :, i, j]
    padded = F.pad(up, (2, 2, 2, 2))
    out = torch.zeros(b, weight.shape[0], 2 * h, 2 * w, dtype=x.dtype)
    for r in range(5):
        for s in range(5):
            window = padded[:, :, r : r + 2 * h, s : s + 2 * w]
            out += torch.einsum("bchw,oc->bohw", window, weight[:, :, r, s])
    return out + bias.view(1, -1, 1, 1)


def test_slow_form_matches_a_brute_force_reference():
    torch.manual_seed(0)
    slow = UnpoolConv(3, 2).double()
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    expected = reference_unpool_conv(x, slow.conv.weight.detach(), slow.conv.bias.detach())
    torch.testing.assert_close(slow(x), expected)


@pytest.mark.parametrize("shape", [(2, 8, 7, 9), (1, 8, 1, 1), (1, 8, 2, 3)])
def test_fast_exact_form_equals_unpool_plus_5x5_with_shared_weights(shape):
    torch.manual_seed(1)
    slow = UnpoolConv(8, 6)
    fast = FastUpConv(8, 6, padding="exact").load_from_unpool_conv(slow)
    x = torch.randn(*shape)
    assert (fast(x) - slow(x)).abs().max().item() <= 1e-5


def test_tf_padding_matches_only_the_even_even_phase_and_shifts_odd_rows():
    torch.manual_seed(2)
    slow = UnpoolConv(4, 3)
    tf = FastUpConv(4, 3, padding="tf").load_from_unpool_conv(slow)
    x = torch.randn(1, 4, 6, 6)
    y_tf, y_slow = tf(x), slow(x)
    torch.testing.assert_close(y_tf[..., 0::2, 0::2], y_slow[..., 0::2, 0::2])
    assert (y_tf[..., 1::2, 0::2] - y_slow[..., 1::2, 0::2]).abs().max() > 1e-2
    # REFERENCE §3.2: TF's Y[2i+1, ·] equals the slow form's Y[2i−1, ·] on the even columns.
    torch.testing.assert_close(y_tf[..., 3::2, 0::2], y_slow[..., 1:-2:2, 0::2])


def test_up_projection_doubles_size_and_is_non_negative():
    block = UpProjection(8, 4).eval()
    y = block(torch.randn(2, 8, 3, 5))
    assert y.shape == (2, 4, 6, 10)
    assert (y >= 0).all()


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="padding must be one of"):
        FastUpConv(2, 2, padding="same")
    with pytest.raises(ValueError, match="upsample must be 'fast' or 'slow'"):
        UpProjection(2, 2, upsample="bilinear")


def test_fast_form_gradients_are_the_slow_kernel_gradients_at_the_sub_kernel_taps():
    torch.manual_seed(3)
    slow = UnpoolConv(4, 2).double()
    fast = FastUpConv(4, 2).double().load_from_unpool_conv(slow)
    x = torch.randn(2, 4, 3, 5, dtype=torch.float64)
    weights = torch.randn(2, 2, 6, 10, dtype=torch.float64)
    (slow(x) * weights).sum().backward()
    (fast(x) * weights).sum().backward()
    for conv, (r, c) in zip(fast.convs, ((0, 0), (1, 0), (0, 1), (1, 1)), strict=True):
        torch.testing.assert_close(conv.weight.grad, slow.conv.weight.grad[:, :, r::2, c::2])
        # each phase's bias reaches only its own quarter of the output
        torch.testing.assert_close(conv.bias.grad, weights[:, :, r::2, c::2].sum((0, 2, 3)))
