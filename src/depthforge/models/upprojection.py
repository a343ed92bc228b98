"""Laina et al. 2016 (3DV, FCRN) up-sampling blocks: up-convolution and up-projection.

Two implementations of "unpool ×2 + 5×5 conv" (Laina et al. 2016, Sec. 3.1 and Fig. 2):

* :class:`UnpoolConv` — the plain form: unpooling that puts each value at the **top-left** of its
  2×2 block (zeros elsewhere), then a 5×5 'same' convolution. It spends 3/4 of its MACs on zeros.
* :class:`FastUpConv` — the fast form: four convolutions on the low-resolution input, 3×3 (A),
  2×3 (B, rows×cols), 3×2 (C) and 2×2 (D), interleaved as ``Y[2i,2j]=A, Y[2i+1,2j]=B,
  Y[2i,2j+1]=C, Y[2i+1,2j+1]=D`` (the TF reference ``tensorflow/models/network.py::interleave``).

``padding="exact"`` pads the 2-tap dimensions bottom/right; then the fast form equals the plain
form exactly, with sub-kernels ``A = K[0::2, 0::2]``, ``B = K[1::2, 0::2]``, ``C = K[0::2, 1::2]``,
``D = K[1::2, 1::2]`` of the 5×5 kernel K (tested). ``padding="tf"`` pads them top/left as the
authors' TensorFlow code does (needed to reproduce their released weights); it is a valid learnable
layer but NOT equal to the plain form (its odd rows/columns are shifted by one low-res pixel).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from depthforge.models.layout import channels_innermost

# Where each sub-kernel A, B, C, D sits inside a 3×3 window centred on the low-res pixel, as
# F.pad amounts (left, right, top, bottom) of the kernel. "exact": the 2-tap dimensions see
# (i, i+1) / (j, j+1), i.e. input padding bottom/right; "tf": (i−1, i) / (j−1, j), padding top/left.
KERNEL_PADDINGS = {
    "exact": ((0, 0, 0, 0), (0, 0, 1, 0), (1, 0, 0, 0), (1, 0, 1, 0)),
    "tf": ((0, 0, 0, 0), (0, 0, 0, 1), (0, 1, 0, 0), (0, 1, 0, 1)),
}
KERNELS = ((3, 3), (2, 3), (3, 2), (2, 2))


def interleave_phases(
    a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, d: torch.Tensor
) -> torch.Tensor:
    """Interleave four ``(B, C, H, W)`` maps into ``(B, C, 2H, 2W)``:
    ``Y[2i,2j]=a, Y[2i+1,2j]=b, Y[2i,2j+1]=c, Y[2i+1,2j+1]=d``.

    Built from ``stack`` + ``flatten`` (no Python shape arithmetic, so ONNX export stays dynamic).
    Equivalent to ``pixel_shuffle(stack([a, c, b, d], dim=2).flatten(1, 2), 2)``: pixel_shuffle
    reads phase (row, col) from channel ``4c + 2·row + col``; concatenating ``[a, b, c, d]`` along
    channels instead (a common bug) gives each output channel's four phases from one conv.

    Maps whose channels are innermost in memory (channels_last, as in a prepared model, or
    channel slices of such a map) are interleaved in that memory order, as ``(B, H, 2, W, 2, C)``,
    and the output is channels_last: stacking them along the logical W axis instead took 7.2
    against 3.6 ms of CPU time for four ``(1, 64, 64, 80)`` maps on one thread (1.4 against
    0.26 ms for ``(1, 128, 32, 40)``), and gave an NCHW output that the next convolution copied
    back (``benchmarks/layout_speed.py``, ``benchmarks/RESULTS.md``).
    """
    if channels_innermost(a):
        pixels = [t.permute(0, 2, 3, 1) for t in (a, b, c, d)]  # (B, H, W, C) views
        even_rows = torch.stack(pixels[0::2], dim=3)  # a, c → (B, H, W, 2, C)
        odd_rows = torch.stack(pixels[1::2], dim=3)  # b, d
        blocks = torch.stack([even_rows, odd_rows], dim=2)  # (B, H, 2, W, 2, C)
        return blocks.flatten(3, 4).flatten(1, 2).permute(0, 3, 1, 2)
    even_rows = torch.stack([a, c], dim=-1).flatten(-2)  # (B, C, H, 2W): a, c, a, c, ...
    odd_rows = torch.stack([b, d], dim=-1).flatten(-2)
    return torch.stack([even_rows, odd_rows], dim=-2).flatten(-3, -2)


def unpool_top_left(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W)`` → ``(B, C, 2H, 2W)`` with ``x[i, j]`` at ``[2i, 2j]`` and zeros elsewhere."""
    zeros = torch.zeros_like(x)
    return interleave_phases(x, zeros, zeros, zeros)


def phase_kernels(weight: torch.Tensor) -> torch.Tensor:
    """The four sub-kernels of a 5×5 kernel applied to an unpooled map, as one ``(4·out, in,
    3, 3)`` kernel (module docstring, ``padding="exact"``): phase ``(r, c)`` of the output reads
    taps ``weight[:, :, r::2, c::2]``, zero-padded to 3×3, in the order of
    :func:`interleave_phases` (a, b, c, d)."""
    phases = ((0, 0), (1, 0), (0, 1), (1, 1))
    return torch.cat(
        [
            F.pad(weight[:, :, r::2, c::2], pads)
            for (r, c), pads in zip(phases, KERNEL_PADDINGS["exact"], strict=True)
        ]
    )


def unpool_conv5x5(x: torch.Tensor, phases: torch.Tensor) -> torch.Tensor:
    """``F.conv2d(unpool_top_left(x), weight, padding=2)`` computed on the low-res input, from
    ``phases = phase_kernels(weight)``: the four sub-kernels run as one 3×3 convolution with
    ``4·out`` outputs, interleaved; the same sums as the plain form (a quarter of its MACs),
    without a bias.

    Args:
        x: ``(B, in, H, W)``.
        phases: ``(4·out, in, 3, 3)`` (:func:`phase_kernels` of the ``(out, in, 5, 5)`` weight).

    Returns:
        ``(B, out, 2H, 2W)``.
    """
    return interleave_phases(*F.conv2d(x, phases, padding=1).chunk(4, dim=1))


class UnpoolConv(nn.Module):
    """Plain up-convolution: :func:`unpool_top_left` then a 5×5 conv (padding 2, with bias).

    Input ``(B, in_channels, H, W)``; output ``(B, out_channels, 2H, 2W)``.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=5, padding=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(unpool_top_left(x))


class FastUpConv(nn.Module):
    """Fast up-convolution: four small convs (3×3, 2×3, 3×2, 2×2, each with bias) interleaved.

    Each sub-kernel runs as its own convolution on the input padded for its position in the
    3×3 window (25 taps per low-resolution pixel, against the plain form's 100 on the
    zero-inserted map). This is also the exported ONNX graph. One 3×3 convolution with
    ``4·out_channels`` outputs holding the zero-padded sub-kernels gives the same result with 36
    taps; on the CPU it measured slower than the four convolutions at every FCRN decoder shape,
    forward and backward (``benchmarks/upconv_speed.py``), so it is not used.

    Args:
        padding: ``"exact"`` (equals :class:`UnpoolConv`) or ``"tf"`` (the authors' TF layer).

    Input ``(B, in_channels, H, W)``; output ``(B, out_channels, 2H, 2W)``.
    """

    def __init__(self, in_channels: int, out_channels: int, padding: str = "exact"):
        super().__init__()
        if padding not in KERNEL_PADDINGS:
            raise ValueError(f"padding must be one of {sorted(KERNEL_PADDINGS)}, got {padding!r}")
        # A kernel padded by (l, r, t, b) inside the 3×3 window = the input padded 1 − each.
        self.input_pads = tuple(tuple(1 - p for p in pads) for pads in KERNEL_PADDINGS[padding])
        self.convs = nn.ModuleList(nn.Conv2d(in_channels, out_channels, k) for k in KERNELS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        phases = [
            conv(F.pad(x, pads)) for conv, pads in zip(self.convs, self.input_pads, strict=True)
        ]
        return interleave_phases(*phases)

    @torch.no_grad()
    def load_from_unpool_conv(self, slow: UnpoolConv) -> FastUpConv:
        """Copy the 5×5 kernel of ``slow`` into the four sub-kernels (exact only for "exact")."""
        k = slow.conv.weight
        for conv, (r, c) in zip(self.convs, ((0, 0), (1, 0), (0, 1), (1, 1)), strict=True):
            conv.weight.copy_(k[:, :, r::2, c::2])
            conv.bias.copy_(slow.conv.bias)
        return self


def make_up_conv(in_channels: int, out_channels: int, upsample: str, padding: str) -> nn.Module:
    """``FastUpConv`` (``upsample="fast"``) or ``UnpoolConv`` (``"slow"``)."""
    if upsample == "fast":
        return FastUpConv(in_channels, out_channels, padding)
    if upsample == "slow":
        return UnpoolConv(in_channels, out_channels)
    raise ValueError(f"upsample must be 'fast' or 'slow', got {upsample!r}")


class UpProjection(nn.Module):
    """Up-projection block (Laina et al. 2016, Fig. 2(d)); TF reference ``up_project``.

    ``relu(BN(conv3×3(relu(BN(upconv₁(x))))) + BN(upconv₂(x)))``; BN (eps 1e-4 as in the TF code)
    is applied once to each interleaved map.

    Input ``(B, in_channels, H, W)``; output ``(B, out_channels, 2H, 2W)``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, upsample: str = "fast", padding: str = "exact"
    ):
        super().__init__()
        self.main = nn.Sequential(
            make_up_conv(in_channels, out_channels, upsample, padding),
            nn.BatchNorm2d(out_channels, eps=1e-4),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1),
            nn.BatchNorm2d(out_channels, eps=1e-4),
        )
        self.projection = nn.Sequential(
            make_up_conv(in_channels, out_channels, upsample, padding),
            nn.BatchNorm2d(out_channels, eps=1e-4),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.main(x) + self.projection(x))
