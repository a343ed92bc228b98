"""Synthetic depth of field from an all-in-focus image and metric depth.

The renderer, in order:

1. **Linear light.** sRGB is decoded to linear light (IEC 61966-2-1) before blurring and encoded
   back after: a lens adds light, not gamma-encoded values.
2. **Thin-lens blur.** Every pixel's signed circle of confusion (CoC) comes from its depth, the
   focus distance, focal length, f-number and sensor width (:mod:`depthforge.render.lens`).
3. **Layers.** The signed CoC range of the scene is split into ``L`` layers whose centres are
   evenly spaced in signed CoC (so evenly spaced in inverse depth, since the CoC is linear in
   ``1/z``), nearest to farthest; each pixel goes to the nearest centre. The two extreme layers
   sit exactly at the scene's nearest and farthest CoC.
4. **Blur per layer.** Each layer's premultiplied colour ``α·rgb`` and its coverage ``α`` are
   blurred with that layer's aperture kernel (a disc of the CoC's diameter, or the hexagon
   inscribed in it), by FFT with replicated borders: the layers that share a resolution in one
   batched transform, over just the box their pixels cover (grown by the kernel's reach).
5. **Compositing.** Layers are composited back to front with "over"
   (``out = C_l + (1 − A_l)·out``), so a blurred layer in front spreads over what lies behind it
   (partial occlusion) and a sharp layer in front is never covered by a blurred one behind it.
   Behind a foreground object the background is unknown (one view); where the accumulated
   coverage is below 1, the colour is divided by it (normalised), which fills such holes with
   the colours of the layers present instead of darkening them. Because the layers' coverages
   sum to 1 at every pixel, the accumulated coverage is at least ``1/L``, never 0.
6. **Highlights** (``highlight_boost > 0``). sRGB photos clip bright lights at 1, so blurred
   lights look dull; bokeh renderers therefore brighten linear values above a threshold before
   blurring so that highlights bloom into bright discs. Here a pixel's linear colour is
   multiplied by ``1 + boost · clamp((Y − t)/(1 − t), 0, 1)`` (``Y`` the Rec. 709 luminance,
   ``t = highlight_threshold``), faded in with the layer's blur radius (full from a 2 px radius,
   none for in-focus layers, which therefore stay untouched); the result is clipped to [0, 1].

The same compositing with *soft* assignment of pixels to layers is differentiable w.r.t. depth
(:func:`render_dof_soft`), as in the aperture-supervision renderer of Srinivasan et al. 2018,
"Aperture Supervision for Monocular Depth Estimation" (CVPR): a stack of images blurred with
fixed per-plane kernels, combined with per-pixel soft weights over depth planes.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from depthforge.errors import check_name
from depthforge.render.colour import linear_to_srgb, srgb_to_linear
from depthforge.render.lens import PRESETS, check_lens, signed_coc_px

APERTURES = ("disc", "hexagon")
MAX_AUTO_LAYERS = 24  # auto layer count: 1 px of CoC diameter per layer, at most this many
# Below this radius both apertures cover only the centre pixel (disc: r + 0.5 < 1; hexagon:
# r·cos 30° + 0.5 < cos 30°).
DELTA_RADIUS = 1.0 - 0.5 / (math.sqrt(3.0) / 2.0)
MIN_LOWRES_RADIUS = 3.0  # blur at 1/s resolution only when the reduced radius stays ≥ 3 px
FOCUS_WINDOW = 5  # --focus-at: median of the valid depth in a 5 × 5 window
# Rec. 709 / sRGB luminance weights (ITU-R BT.709), for the highlight boost.
LUMA = (0.2126, 0.7152, 0.0722)


def aperture_kernels(
    radii: torch.Tensor, half: int, aperture: str = "disc", dtype: torch.dtype | None = None
) -> torch.Tensor:
    """Normalised aperture kernels, one per radius, with anti-aliased edges.

    Each pixel's weight is its approximate coverage by the aperture shape: ``clamp(s + 0.5, 0, 1)``
    with ``s`` the signed distance (pixels) from the pixel centre to the shape's edge (positive
    inside). A radius of 0 gives a delta (identity blur).

    Args:
        radii: ``(L,)`` radii in pixels (CoC diameter / 2; the hexagon's circumradius).
        half: kernels are ``(2·half + 1)²``; must be ≥ ``ceil(max radius)``.
        aperture: ``"disc"`` or ``"hexagon"`` (flat top and bottom, vertices on the x axis).
        dtype: defaults to ``radii.dtype``.

    Returns:
        ``(L, 2·half + 1, 2·half + 1)`` kernels, each summing to 1.
    """
    check_name("aperture", aperture, APERTURES)
    dtype = dtype or radii.dtype
    r = radii.to(dtype).reshape(-1, 1, 1)
    offsets = torch.arange(-half, half + 1, dtype=dtype, device=radii.device)
    y, x = offsets[:, None], offsets[None, :]
    if aperture == "disc":
        inside = r - torch.sqrt(x * x + y * y)
    else:
        apothem = math.sqrt(3.0) / 2.0
        inside = r * apothem - torch.maximum(y.abs(), apothem * x.abs() + 0.5 * y.abs())
    weights = (inside + 0.5).clamp(0.0, 1.0)
    return weights / weights.sum(dim=(-2, -1), keepdim=True)


def kernel_half_width(radius: float) -> int:
    """Half width of the smallest kernel holding every pixel of non-zero coverage: the disc
    reaches offsets ``< r + 0.5``, the hexagon ``< r + 0.5/cos 30°`` along its vertex axis."""
    return max(0, math.ceil(radius + 0.5 / (math.sqrt(3.0) / 2.0)) - 1)


def next_fast_len(n: int) -> int:
    """Smallest 5-smooth integer ≥ n (FFT sizes with small prime factors are fast)."""
    m = n
    while True:
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
        m += 1


def fft_blur(stack: torch.Tensor, radii: torch.Tensor, aperture: str) -> torch.Tensor:
    """Blur each layer of ``stack`` ``(B, L, C, H, W)`` with its own ``(L,)`` radius: one batched
    FFT convolution, image borders replicated.

    Only the box around the non-zero pixels (grown by the kernel's reach) is transformed:
    outside it every output is exactly 0, because no input within a kernel's reach is non-zero
    (a replicated border copies only rows and columns of the image itself). Layers of a depth
    band usually cover a fraction of the frame, so this saves much of the work at no cost in
    accuracy.
    """
    b, n_layers, c, h, w = stack.shape
    half = kernel_half_width(float(radii.max()))
    if half == 0:
        return stack
    nonzero = (stack != 0).flatten(0, 2).any(dim=0)  # (H, W)
    rows, cols = nonzero.any(dim=1).nonzero()[:, 0], nonzero.any(dim=0).nonzero()[:, 0]
    if len(rows) == 0:
        return torch.zeros_like(stack)
    top, bottom = max(0, int(rows[0]) - half), min(h, int(rows[-1]) + half + 1)
    left, right = max(0, int(cols[0]) - half), min(w, int(cols[-1]) + half + 1)
    # The window's input: `half` more pixels each side, replicated where that passes the border.
    window = stack[..., max(0, top - half) : bottom + half, max(0, left - half) : right + half]
    pads = (
        max(0, half - left),
        max(0, right + half - w),
        max(0, half - top),
        max(0, bottom + half - h),
    )
    window = window.reshape(b, n_layers * c, *window.shape[-2:])
    if any(pads):
        window = F.pad(window, pads, mode="replicate")
    wh, ww = bottom - top, right - left
    size = (next_fast_len(wh + 2 * half), next_fast_len(ww + 2 * half))
    kernels = aperture_kernels(radii.to(stack.device), half, aperture, dtype=stack.dtype)
    # The kernel's centre goes to index (0, 0); with the window padded by `half`, the circular
    # convolution never wraps into the kept region [half, half + wh) × [half, half + ww).
    k = F.pad(kernels, (0, size[1] - kernels.shape[-1], 0, size[0] - kernels.shape[-2]))
    k = torch.roll(k, shifts=(-half, -half), dims=(-2, -1))
    spectrum = torch.fft.rfft2(window, s=size).reshape(b, n_layers, c, size[0], -1)
    blurred = torch.fft.irfft2(spectrum * torch.fft.rfft2(k)[None, :, None], s=size)
    blurred = blurred[..., half : half + wh, half : half + ww]
    if (wh, ww) == (h, w):
        return blurred
    out = stack.new_zeros(stack.shape)
    out[..., top:bottom, left:right] = blurred
    return out


def blur_scales(radii: torch.Tensor, max_downsample: int) -> torch.Tensor:
    """Per-layer downsampling factor: the largest power of 2 ≤ ``max_downsample`` that keeps the
    reduced radius ≥ ``MIN_LOWRES_RADIUS`` px (1 for small blurs, 0 for no blur at all)."""
    scales = torch.ones_like(radii, dtype=torch.long)
    scales[radii < DELTA_RADIUS] = 0  # 0: the kernel is a single pixel, nothing to blur
    s = 2
    while s <= max_downsample:
        scales[radii / s >= MIN_LOWRES_RADIUS] = s
        s *= 2
    return scales


def blur_group(stack: torch.Tensor, radii: torch.Tensor, scale: int, aperture: str) -> torch.Tensor:
    """Blur layers ``(B, L, C, H, W)`` that share one :func:`blur_scales` factor ``scale``.

    0: no blur; 1: full resolution; ``s ≥ 2``: at reduced resolution, as in pyramidal
    depth-of-field renderers (Kraus & Strengert 2007, "Depth-of-Field Rendering by Pyramidal
    Image Processing"): layers of radius ``r ≥ 3·s`` are box-averaged by ``s``, blurred with
    radius ``r/s`` and upsampled bilinearly. The extra smoothing is about ``s/2`` px at
    ``r ≥ 3·s`` px, i.e. at most ~17 % of the radius.

    Returns:
        ``(B, L, C, H, W)``: each layer convolved with its kernel, image borders replicated.
    """
    if scale == 0:
        return stack
    if scale == 1:
        return fft_blur(stack, radii, aperture)
    b, n, c, h, w = stack.shape
    ph, pw = -h % scale, -w % scale
    flat = stack.reshape(b, n * c, h, w)
    if ph or pw:
        flat = F.pad(flat, (0, pw, 0, ph), mode="replicate")
    small = F.avg_pool2d(flat, scale).reshape(b, n, c, (h + ph) // scale, (w + pw) // scale)
    small = fft_blur(small, radii / scale, aperture).reshape(b, n * c, *small.shape[-2:])
    big = F.interpolate(small, size=(h + ph, w + pw), mode="bilinear", align_corners=False)
    return big[..., :h, :w].reshape(b, n, c, h, w)


def layer_stack(colour: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``(B, L, 4, H, W)``: premultiplied colour ``weights · colour`` and coverage ``weights``.

    Args:
        colour: ``(B, 1 or L, 3, H, W)`` linear RGB (per layer when highlights are boosted).
        weights: ``(B, L, H, W)`` coverage of each pixel by each layer.
    """
    b, n_layers, h, w = weights.shape
    if torch.is_grad_enabled() and (weights.requires_grad or colour.requires_grad):
        return torch.cat([weights[:, :, None] * colour, weights[:, :, None]], dim=2)
    stack = torch.empty(b, n_layers, 4, h, w, dtype=colour.dtype, device=colour.device)
    torch.mul(weights[:, :, None], colour, out=stack[:, :, :3])  # no autograd: one buffer
    stack[:, :, 3] = weights
    return stack


def composite_layers(
    linear: torch.Tensor,
    weights: torch.Tensor,
    radii: torch.Tensor,
    *,
    aperture: str = "disc",
    highlight_boost: float = 0.0,
    highlight_threshold: float = 0.9,
    max_downsample: int = 8,
) -> torch.Tensor:
    """Blur and composite a layered image (steps 4–6 of the module docstring).

    The layers are blurred in groups that share a resolution (:func:`blur_scales`,
    :func:`blur_group`), then composited one at a time, near to far, so that no stack of all
    blurred layers is ever assembled.

    Args:
        linear: ``(B, 3, H, W)`` linear-light RGB.
        weights: ``(B, L, H, W)`` coverage of each pixel by each layer, layers ordered near → far,
            summing to 1 over ``L`` (one-hot for the hard renderer).
        radii: ``(L,)`` blur radius of each layer in pixels.
        max_downsample: largest reduction factor (a power of 2) for blurring wide layers at
            reduced resolution (:func:`blur_group`); 1 = always full resolution.

    Returns:
        ``(B, 3, H, W)`` linear-light RGB (not clipped).
    """
    colour = linear[:, None]  # (B, 1, 3, H, W)
    if highlight_boost > 0:
        luma = torch.tensor(LUMA, dtype=linear.dtype, device=linear.device).reshape(1, 1, 3, 1, 1)
        y = (colour * luma).sum(dim=2, keepdim=True)
        excess = ((y - highlight_threshold) / (1.0 - highlight_threshold)).clamp(0.0, 1.0)
    scales = blur_scales(radii, max_downsample)
    layer = {}  # layer index → (its group's blurred stack, position in it)
    for s in scales.unique().tolist():  # at most log2(max_downsample) + 2 groups
        idx = (scales == s).nonzero().flatten()
        group_colour = colour
        if highlight_boost > 0:
            fade = (radii[idx] / 2.0).clamp(0.0, 1.0).to(linear.dtype).reshape(1, -1, 1, 1, 1)
            group_colour = colour * (1.0 + highlight_boost * fade * excess)
        blurred = blur_group(layer_stack(group_colour, weights[:, idx]), radii[idx], s, aperture)
        layer.update({int(l): (blurred, j) for j, l in enumerate(idx)})
    # "over", back to front, written front to back: layer l is seen through Π_{m<l} (1 − A_m).
    rgb = torch.zeros_like(linear)
    seen = torch.ones_like(linear[:, :1])
    for l in range(len(radii)):
        blurred, j = layer[l]
        rgb = torch.addcmul(rgb, seen, blurred[:, j, :3])
        seen = torch.addcmul(seen, seen, blurred[:, j, 3:], value=-1.0)
    return rgb / (1.0 - seen).clamp_min(1e-6)


def layer_centres(coc_min: float, coc_max: float, layers: int | None) -> torch.Tensor:
    """``(L,)`` signed CoC diameters (px) of the layers, evenly spaced from near to far.

    ``layers=None`` picks one layer per pixel of CoC diameter range, between 1 and
    ``MAX_AUTO_LAYERS``.
    """
    span = coc_max - coc_min
    if layers is None:
        layers = min(MAX_AUTO_LAYERS, math.ceil(span) + 1) if span > 1e-6 else 1
    if layers < 1:
        raise ValueError(f"layers must be ≥ 1, got {layers}")
    if layers == 1:
        return torch.tensor([0.5 * (coc_min + coc_max)], dtype=torch.float64)
    return torch.linspace(coc_min, coc_max, layers, dtype=torch.float64)


def _lens_coc(depth: torch.Tensor, width: int, lens: dict) -> torch.Tensor:
    return signed_coc_px(depth, image_width_px=width, **lens)


def _as_float_image(image: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, bool]:
    """``(H, W, 3)`` uint8 or float sRGB → ``(1, 3, H, W)`` float32 in [0, 1]; was it uint8?"""
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3), got shape {array.shape}")
    is_uint8 = array.dtype == np.uint8
    if is_uint8:
        array = array.astype(np.float32) / 255.0
    elif not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"image must be uint8 or float sRGB, got dtype {array.dtype}")
    elif not np.isfinite(array).all():
        raise ValueError("image holds NaN or inf values")
    tensor = torch.from_numpy(np.clip(array, 0.0, 1.0).astype(np.float32))
    return tensor.permute(2, 0, 1)[None].contiguous(), is_uint8


def render_dof(
    image: np.ndarray | torch.Tensor,
    depth: np.ndarray | torch.Tensor,
    *,
    focus_m: float,
    f_number: float,
    focal_mm: float = PRESETS["phone"].focal_mm,
    sensor_width_mm: float = PRESETS["phone"].sensor_width_mm,
    aperture: str = "disc",
    layers: int | None = None,
    highlight_boost: float = 0.0,
    highlight_threshold: float = 0.9,
    max_downsample: int = 8,
) -> np.ndarray:
    """Render a thin-lens shallow depth of field (the layered renderer of the module docstring).

    Args:
        image: ``(H, W, 3)`` sRGB, uint8 or float in [0, 1].
        depth: ``(H, W)`` z-depth in metres, all > 0 (fill holes first: :func:`fill_depth_holes`).
        focus_m: focus distance in metres.
        f_number: N > 0.
        focal_mm, sensor_width_mm: the lens and the sensor width in mm (default: phone preset);
            the image is assumed to span the sensor's full width.
        aperture: ``"disc"`` or ``"hexagon"``.
        layers: number of depth layers; ``None`` = one per pixel of CoC range (at most 24).
        highlight_boost: gain above ``highlight_threshold`` (linear luminance) before blurring.
        max_downsample: blur large radii at reduced resolution (:func:`blur_group`); 1 = never.

    Returns:
        ``(H, W, 3)`` sRGB, uint8 when ``image`` is uint8, else float32 in [0, 1].

    Raises:
        ValueError: an impossible lens (f-number ≤ 0, ...), sizes that differ, depth ≤ 0.

    Example:
        >>> img = np.full((8, 8, 3), 128, np.uint8)
        >>> out = render_dof(img, np.full((8, 8), 2.0), focus_m=1.0, f_number=2.0)
        >>> out.shape, int(out[4, 4, 0])
        ((8, 8, 3), 128)
    """
    check_lens(focus_m, f_number, focal_mm, sensor_width_mm)
    srgb, is_uint8 = _as_float_image(image)
    if is_uint8:  # 256-entry table: the same function, evaluated once per code value
        lut = srgb_to_linear(torch.arange(256, dtype=torch.float32) / 255.0)
        codes = torch.from_numpy(np.asarray(image).astype(np.int64))
        linear = lut[codes.permute(2, 0, 1)[None]]
    else:
        linear = srgb_to_linear(srgb)
    depth_t = torch.from_numpy(np.array(depth, dtype=np.float32))
    h, w = srgb.shape[-2:]
    if depth_t.shape != (h, w):
        raise ValueError(
            f"depth size {tuple(depth_t.shape)} differs from image size {(h, w)} (H, W)"
        )
    if not torch.isfinite(depth_t).all() or not (depth_t > 0).all():
        raise ValueError("depth must be finite and > 0 everywhere (fill holes first)")
    lens = dict(
        focus_m=focus_m, f_number=f_number, focal_mm=focal_mm, sensor_width_mm=sensor_width_mm
    )
    coc = _lens_coc(depth_t.double(), w, lens)
    centres = layer_centres(float(coc.min()), float(coc.max()), layers)
    step = float(centres[1] - centres[0]) if len(centres) > 1 else 1.0
    index = ((coc - centres[0]) / step).round().clamp(0, len(centres) - 1).long()
    used = torch.bincount(index.flatten(), minlength=len(centres)) > 0
    centres = centres[used]  # empty layers change nothing: skip them
    weights = (index == used.nonzero()[:, :, None]).float()[None]
    out = composite_layers(
        linear,
        weights,
        limit_radii(centres.abs() / 2.0, h, w).float(),
        aperture=aperture,
        highlight_boost=highlight_boost,
        highlight_threshold=highlight_threshold,
        max_downsample=max_downsample,
    )
    result = linear_to_srgb(out.clamp(0.0, 1.0))[0].permute(1, 2, 0).numpy()
    if is_uint8:
        return np.round(result * 255.0).astype(np.uint8)
    return result.astype(np.float32)


def limit_radii(radii: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Clamp blur radii to half the image's smaller side (warns when it does)."""
    cap = max(1.0, min(h, w) / 2.0)
    if float(radii.max()) > cap:
        warnings.warn(
            f"blur radius {float(radii.max()):.1f} px clamped to {cap:.1f} px (half the image's "
            "smaller side)",
            stacklevel=3,
        )
    return radii.clamp(max=cap)


def render_dof_soft(
    image: torch.Tensor,
    depth: torch.Tensor,
    *,
    focus_m: float,
    f_number: float,
    focal_mm: float,
    sensor_width_mm: float,
    coc_range: tuple[float, float],
    layers: int,
    softness: float = 0.5,
    aperture: str = "disc",
    max_downsample: int = 8,
) -> torch.Tensor:
    """Differentiable depth of field: soft assignment of pixels to fixed CoC layers.

    A stack of layers with fixed kernels (centres evenly spaced over ``coc_range``) is composited
    as in :func:`render_dof`, but each pixel is spread over the layers with weights
    ``softmax_l(−(c − c_l)² / (2·softness²))`` of its signed CoC ``c`` (Srinivasan et al. 2018,
    aperture supervision: differentiable compositing of a blurred stack with soft plane
    assignment). As ``softness → 0`` the weights become the hard nearest-layer assignment and the
    output tends to :func:`render_dof` with the same layers. Gradients flow to ``depth`` (and to
    ``image``); the layer centres do not depend on the depth, so pass a fixed ``coc_range``.

    Args:
        image: ``(B, 3, H, W)`` sRGB in [0, 1] (float32 or float64).
        depth: ``(B, 1, H, W)`` metres, > 0.
        coc_range: ``(near, far)`` signed CoC diameters in pixels of the first and last layers.
        layers: number of layers L ≥ 2.
        softness: width of the soft assignment, in pixels of signed CoC diameter (> 0).
        max_downsample: see :func:`composite_layers`.

    Returns:
        ``(B, 3, H, W)`` sRGB, clipped to [0, 1].
    """
    check_lens(focus_m, f_number, focal_mm, sensor_width_mm)
    if image.ndim != 4 or image.shape[1] != 3:
        raise ValueError(f"image must be (B, 3, H, W), got {tuple(image.shape)}")
    if depth.shape != (image.shape[0], 1, *image.shape[-2:]):
        raise ValueError(
            f"depth size {tuple(depth.shape)} differs from image size {tuple(image.shape)}"
        )
    if layers < 2 or not softness > 0:
        raise ValueError(f"need layers ≥ 2 and softness > 0, got {layers} and {softness}")
    lens = dict(
        focus_m=focus_m, f_number=f_number, focal_mm=focal_mm, sensor_width_mm=sensor_width_mm
    )
    coc = _lens_coc(depth, image.shape[-1], lens)  # (B, 1, H, W)
    centres = torch.linspace(*coc_range, layers, dtype=image.dtype, device=image.device)
    logits = -((coc - centres.reshape(1, -1, 1, 1)) ** 2) / (2.0 * softness**2)
    weights = torch.softmax(logits, dim=1)
    out = composite_layers(
        srgb_to_linear(image),
        weights,
        centres.abs() / 2.0,
        aperture=aperture,
        max_downsample=max_downsample,
    )
    return linear_to_srgb(out.clamp(0.0, 1.0))


def depth_at(depth: np.ndarray, x: int, y: int, window: int = FOCUS_WINDOW) -> float:
    """Median valid depth in a ``window × window`` box centred on pixel ``(x, y)`` (column, row)."""
    h, w = depth.shape
    if not (0 <= x < w and 0 <= y < h):
        raise ValueError(f"focus point ({x}, {y}) lies outside the {w}×{h} image (W×H)")
    r = window // 2
    box = depth[max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1]
    valid = box[np.isfinite(box) & (box > 0)]
    if valid.size == 0:
        raise ValueError(f"no valid depth in the {window}×{window} window around ({x}, {y})")
    return float(np.median(valid))


