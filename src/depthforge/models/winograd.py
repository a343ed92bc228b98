"""3×3 convolutions by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, CVPR 2016).

For one input channel, a 2×2 output tile ``Y`` of a 3×3 kernel ``g`` over the 4×4 input tile
``d`` it reads is (Lavin & Gray 2016, Eq. 8)

    Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,

    Bᵀ = ⎡1  0 −1  0⎤    G = ⎡ 1    0    0 ⎤    Aᵀ = ⎡1 1  1  0⎤
         ⎢0  1  1  0⎥        ⎢1/2  1/2  1/2⎥         ⎣0 1 −1 −1⎦
         ⎢0 −1  1  0⎥        ⎢1/2 −1/2  1/2⎥
         ⎣0  1  0 −1⎦        ⎣ 0    0    1 ⎦

and the sum over input channels moves inside, between the two transforms: for each of the 16
positions ξ of the 4×4 transformed tile, ``M_ξ = V_ξ U_ξ`` is one matrix product of the tiles'
transformed inputs ``V_ξ`` (tiles × C) with the transformed kernels ``U_ξ`` (C × K) (their
Eq. 12). That is 16 multiplies per channel pair and output tile where direct convolution needs
36 (2.25× fewer), plus transforms that cost additions only, linear in C + K.

On the CPU this beats PyTorch's direct convolution (oneDNN, channels_last) where the channels
are many, the deep layers of the encoders: 512 → 512 at 8×10 to 16×20 took 1.3–1.8× less time,
256 → 512 at 30×40 1.4×; with few channels the transforms' memory traffic costs more than the
multiplies saved (128 → 128: 0.87–1.15×), hence :func:`prefers_winograd`; and on maps of a
few tiles the transformed kernels' memory traffic does, hence :data:`MIN_TILES`. Whole prepared
models ran 1.04–1.15× faster with it (``benchmarks/winograd_speed.py``,
``benchmarks/RESULTS.md``). It is the same convolution to float rounding: the transforms'
entries are 0, ±1 and ±1/2, so they add only their additions' rounding; against a float64
convolution its largest error was 3–6e-7 of the output's largest magnitude, below the direct
convolution's 0.9–2.3e-6 (same benchmark).

Data conventions: the tiles are cut from an ``(N, H, W, C)`` view of the input, so a
channels_last input (:func:`~depthforge.models.inference.to_inference_layout`) is read in its
memory order, and the output is channels_last.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_BT = torch.tensor([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=torch.float64)
_G = torch.tensor([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=torch.float64)
_AT = torch.tensor([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=torch.float64)
# the 2-D transforms acting on a tile flattened row-major: vec(Bᵀ d B) = (Bᵀ ⊗ Bᵀ) vec(d)
INPUT_TRANSFORM = torch.kron(_BT, _BT)  # (16, 16)
OUTPUT_TRANSFORM = torch.kron(_AT, _AT)  # (4, 16)
CHUNK_BYTES = 4 << 20
"""Transformed input per chunk (:func:`winograd_conv3x3`). Of 256 KiB, 1, 4, 16 MiB and no
chunks, 4 MiB was fastest summed over the ResNet-50 FCRN's 3×3 layers at batch 8 on one thread
(321 ms, against 380 ms direct in the same run; 480 ms unchunked: 84 MB of tiles for 64×80
maps); 16 MiB was no better on two threads (``benchmarks/RESULTS.md``)."""
MIN_MEAN_CHANNELS = 160
"""Least harmonic mean ``2·C·K / (C + K)`` of the channel counts (:func:`prefers_winograd`)."""
MIN_TILES = 8
"""Least number of 2×2 output tiles in one call for :class:`WinogradConv2d` to use F(2×2, 3×3);
fewer go to the direct convolution. With a handful of tiles each of the 16 products streams its
``C × K`` block of transformed kernels (16/9 the size of the direct weights) for a few rows of
arithmetic. On the AVX2 machine (one thread, batch 1, channels 128 → 256 to 1024 → 512),
Winograd ran at 0.38–0.62× the direct convolution's speed on 1×4 maps (2 tiles) and
0.54–0.66× on 2×7 maps (4 tiles). From 8 tiles on it ran at 0.41–1.91×, depending on the
channels and the map (the lowest for batches of 1×4 maps, whose tiles are half empty), and
mostly above 1; those calls stay as they were (``benchmarks/winograd_speed.py``,
``benchmarks/RESULTS.md``)."""


def output_tiles(shape: torch.Size | tuple[int, ...], padding: int) -> int:
    """2×2 output tiles of one call on an ``(N, C, H, W)`` input: ``N · ⌈H'/2⌉ · ⌈W'/2⌉`` for
    the ``H' × W'`` output of a 3×3 kernel with ``padding`` (the quantity :data:`MIN_TILES`
    bounds)."""
    n, _, h, w = shape
    return n * ((h + 2 * padding - 1) // 2) * ((w + 2 * padding - 1) // 2)


def winograd_kernels(weight: torch.Tensor) -> torch.Tensor:
    """``(K, C, 3, 3)`` kernels → ``(16, C, K)`` transformed kernels ``U_ξ = (G g Gᵀ)_ξ``,
    computed in float64, returned in ``weight``'s dtype."""
    if weight.shape[-2:] != (3, 3):
        raise ValueError(f"Winograd F(2×2, 3×3) needs 3×3 kernels, got {tuple(weight.shape)}")
    g = _G.to(weight.device)
    u = torch.einsum("ai,kcij,bj->abck", g, weight.double(), g)
    return u.reshape(16, weight.shape[1], weight.shape[0]).to(weight.dtype).contiguous()


def winograd_conv3x3(
    x: torch.Tensor, kernels: torch.Tensor, bias: torch.Tensor | None = None, padding: int = 1
) -> torch.Tensor:
    """``conv2d(x, weight, bias, padding=padding)`` by F(2×2, 3×3) (module docstring).

    The tiles are transformed, multiplied and transformed back in chunks of about
    :data:`CHUNK_BYTES` of transformed input, so that each chunk's intermediates stay in the
    core's cache: whole images when an image has few tiles, else bands of tile rows.

    Args:
        x: ``(N, C, H, W)`` input, best channels_last.
        kernels: ``(16, C, K)`` from :func:`winograd_kernels`.
        bias: optional ``(K,)``.
        padding: zeros added on each side.

    Returns:
        ``(N, K, H + 2·padding − 2, W + 2·padding − 2)``, channels_last.
    """
    n, c, h, w = x.shape
    out_h, out_w = h + 2 * padding - 2, w + 2 * padding - 2
    rows, cols = (out_h + 1) // 2, (out_w + 1) // 2
    k = kernels.shape[2]
    like = {"dtype": x.dtype, "device": x.device}
    to_tiles = INPUT_TRANSFORM.to(**like)
    from_tiles = OUTPUT_TRANSFORM.to(**like)
    # the padding, plus one row/column more where the output's is odd, so the tiles cover it
    bottom, right = 2 * rows + 2 - h - padding, 2 * cols + 2 - w - padding
    padded = F.pad(x.permute(0, 2, 3, 1), (0, 0, padding, right, padding, bottom))
    out = torch.empty((n, rows, 2, cols, 2, k), **like)
    budget = max(1, CHUNK_BYTES // (16 * x.element_size() * max(c, k)))  # tiles per chunk
    images = max(1, budget // (rows * cols))
    band = rows if images > 1 else max(1, budget // cols)
    for first in range(0, n, images):
        for top in range(0, rows, band):
            part = padded[first : first + images, 2 * top : 2 * (top + band) + 2]
            # (n', r', cols, C, 4, 4) overlapping tiles at stride 2 → (16, tiles·C)
            tiles = part.unfold(1, 4, 2).unfold(2, 4, 2)
            count = tiles.shape[0] * tiles.shape[1] * cols
            d = tiles.permute(4, 5, 0, 1, 2, 3).reshape(16, count * c)
            v = (to_tiles @ d).view(16, count, c)
            m = torch.bmm(v, kernels)  # (16, tiles, K): Eq. 12
            y = (from_tiles @ m.view(16, count * k)).view(2, 2, *tiles.shape[:3], k)
            y = y.permute(2, 3, 0, 4, 1, 5)
            target = out[first : first + images, top : top + band]
            if bias is None:
                target.copy_(y)
            else:
                torch.add(y, bias, out=target)
    out = out.view(n, 2 * rows, 2 * cols, k)
    if 2 * rows != out_h or 2 * cols != out_w:
        out = out[:, :out_h, :out_w].contiguous()
    return out.permute(0, 3, 1, 2)


def prefers_winograd(conv: nn.Conv2d) -> bool:
    """A 3×3, stride-1, ungrouped, undilated convolution, unpadded or zero-padded by 1 (the
    unpadded ones follow a reflection or replication pad in monodepth2 and DDVO), with channels enough
    for the multiplies saved to outweigh the transforms: per tile the multiplies saved grow as
    ``C·K``, the transforms' cost as ``C + K``, so the test is on the harmonic mean
    ``2·C·K / (C + K) ≥`` :data:`MIN_MEAN_CHANNELS`. 128 → 128 (mean 128) ran at 0.87–1.15× the
    direct convolution's speed depending on the map and batch; the layers it takes, 128 → 256
    (mean 171) and wider, at 1.00–1.80× (``benchmarks/winograd_speed.py``)."""
    c, k = conv.in_channels, conv.out_channels
    return (
        type(conv) is nn.Conv2d
        and conv.kernel_size == (3, 3)
        and conv.stride == (1, 1)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and (conv.padding == (0, 0) or (conv.padding == (1, 1) and conv.padding_mode == "zeros"))
        and 2 * c * k >= MIN_MEAN_CHANNELS * (c + k)
    )


class WinogradConv2d(nn.Conv2d):
    """An inference-only ``nn.Conv2d`` (3×3, stride 1, padding 0 or 1) that runs
    :func:`winograd_conv3x3` on kernels transformed once, from the weights it is built with, and
    the direct convolution on calls with fewer than :data:`MIN_TILES` output tiles, counted over
    the batch."""

    kernels: torch.Tensor
    min_tiles = MIN_TILES
    """Fewer output tiles than this per call run the direct convolution (:data:`MIN_TILES`)."""

    @classmethod
    def from_conv(cls, conv: nn.Conv2d) -> WinogradConv2d:
        """The same convolution, sharing ``conv``'s weight and bias parameters."""
        if not prefers_winograd(conv):
            raise ValueError(f"not a 3×3 stride-1 convolution padded by 0 or 1: {conv}")
        new = cls(
            conv.in_channels, conv.out_channels, 3, padding=conv.padding, bias=False, device="meta"
        )
        new.weight, new.bias = conv.weight, conv.bias
        new.register_buffer("kernels", winograd_kernels(conv.weight.detach()), persistent=False)
        return new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = self.padding[0]
        if output_tiles(x.shape, pad) < self.min_tiles:
            return F.conv2d(x, self.weight, self.bias, padding=pad)
        return winograd_conv3x3(x, self.kernels, self.bias, pad)
