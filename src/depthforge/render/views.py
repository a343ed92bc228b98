"""Novel views from one RGB-D image: forward warping, hole filling, the "3D photo" camera
swing, stereo pairs and anaglyphs.

The renderer, in order:

1. **Forward warp with a z-buffer** (:func:`forward_warp`). Every source pixel ``p`` with depth
   ``z`` is lifted to ``X = z·K⁻¹p`` (:func:`depthforge.geometry.camera.backproject`), moved into
   the new camera by ``T`` and projected, ``p' ~ K·T·X`` (Zhou et al. 2017, Eq. 2, run forwards:
   source → target instead of target → source). It is splatted into the target pixels whose
   centres lie within ``splat_radius`` px of ``p'`` along each axis (at most 2 × 2 of them), with
   bilinear weights ``(1 − |Δu|)(1 − |Δv|)``. A z-buffer keeps, per target pixel, only the splats
   of the nearest surface (depth within ``surface_tol`` of the nearest splat) and blends those
   by weight — a hard z-test in front of a weighted blend, as in the surface splatting of
   Zwicker et al. 2001 ("Surface Splatting", SIGGRAPH: splats within a depth threshold of the
   nearest are blended, farther ones discarded). Vectorised: one ``scatter_reduce(amin)`` for
   the z-buffer and one ``index_add`` for the blend; no loop over pixels.
2. **Cracks.** A radius of 0.75 px (a footprint of 1.5 px) means neighbouring points of a
   surface leave no gap as long as the view magnifies it by less than 1.5×, while an unmoved
   view still maps each pixel onto itself alone (its neighbours lie 1 px away), so the identity
   reproduces the image exactly.
3. **Holes from the background side** (:func:`fill_holes`). A disocclusion (what the source
   never saw) lies between an object and the surface behind it, and what it hides belongs to
   that farther surface — the rule of depth-image-based rendering (Fehn 2004, "Depth-Image-Based
   Rendering (DIBR), Compression and Transmission for a New Approach on 3D-TV", SPIE 5291). Gaps
   open along the epipolar lines (parallax moves every pixel along its line through the
   epipole), so each hole pixel searches both ways along its line for the first covered pixel
   and takes the colour of the *farther* end: the DIBR scanline rule, which compares the two
   ends of a horizontal gap of a stereo pair, for any camera translation.
   Depth-blind inpainting (``cv2.inpaint``) or a plain dilation would smear the foreground's
   colours into the gap instead. Holes at the image border (what lay outside the source's field
   of view) are filled the same way.

Known limits: one view holds no colour for what it never saw, so large disocclusions are
stretched background (no learned inpainting as in Shih et al. 2020, "3D Photography using
Context-aware Layered Depth Inpainting"); a surface magnified by more than 1.5× can show the
background through its cracks before they are filled.

*Convention*: pixel ``(u, v)`` = (column, row), centres at integers; camera frame x right, y
down, z forward; a pose is camera-to-world of the new camera expressed in the source camera's
frame, so a pose translated by ``+t`` along x moves every point by ``−f·t/z`` px.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from depthforge.geometry.camera import backproject, pixel_grid, project
from depthforge.geometry.warp import as_batch_matrix
from depthforge.render.colour import linear_to_srgb, srgb_to_linear
from depthforge.types import image_to_tensor

SPLAT_RADIUS = 0.75  # px; footprint 1.5 px: no cracks below 1.5× magnification (module doc)
SURFACE_TOL = 0.02  # splats within 2 % of the nearest depth belong to the same surface
HUMAN_BASELINE_M = 0.065  # a typical adult interpupillary distance (≈ 63–65 mm)
# Stereographers' "1/30 rule": the camera baseline is about 1/30 of the distance to the nearest
# object, which keeps the on-screen disparity comfortable; used when depth has no metric scale.
BASELINE_PER_NEAR_DEPTH = 1.0 / 30.0
DEFAULT_PARALLAX = 0.03  # the near/far parallax of a 3D photo, as a fraction of the width
NEAR_FAR_PERCENTILES = (2.0, 98.0)  # robust scene range: ignore a few stray depths
MIN_SPREAD_PER_NEAR = 0.5  # the near depth moves by at most parallax / 0.5 of the width

# Dubois, "Conversion of a Stereo Pair to Anaglyph with the Least-Squares Projection Method"
# (University of Ottawa, March 2009; method of Dubois, ICASSP 2001, "A projection method to
# generate anaglyph stereo images"): red-cyan matrices, applied to linear RGB.
DUBOIS_LEFT = ((0.437, 0.449, 0.164), (-0.062, -0.062, -0.024), (-0.048, -0.050, -0.017))
DUBOIS_RIGHT = ((-0.011, -0.032, -0.007), (0.377, 0.761, 0.009), (-0.026, -0.093, 1.234))
ANAGLYPH_METHODS = ("dubois", "color")


@dataclass
class WarpedView:
    """The result of :func:`forward_warp`.

    Attributes:
        image: ``(B, C, H, W)`` warped image, 0 where nothing landed.
        depth: ``(B, 1, H, W)`` z-depth in the target camera (metres), 0 where nothing landed.
        covered: ``(B, 1, H, W)`` bool, True where at least one source point landed.
        epipole: ``(B, 3)`` homogeneous pixel coordinates ``K·t`` of the source camera's centre
            in the target view (``t`` the translation of ``T_src_to_tgt``): parallax moves every
            pixel along its line through this point (``(x, y, 0)``: a direction, for sideways
            motion; all zero: no translation, no parallax).
        max_shift: the largest distance in px that any splatted point moved: no disocclusion
            is wider, so the hole filling searches no farther.
    """

    image: torch.Tensor
    depth: torch.Tensor
    covered: torch.Tensor
    epipole: torch.Tensor
    max_shift: float


def forward_warp(
    image: torch.Tensor,
    depth: torch.Tensor,
    K: torch.Tensor,
    T_src_to_tgt: torch.Tensor,
    *,
    splat_radius: float = SPLAT_RADIUS,
    surface_tol: float = SURFACE_TOL,
) -> WarpedView:
    """Splat ``image`` into a new camera with a z-buffer (steps 1–2 of the module docstring).

    Args:
        image: ``(B, C, H, W)`` float image (any channels).
        depth: ``(B, 1, H, W)`` source z-depth in metres (or any unit, consistently with ``T``);
            ``≤ 0`` or non-finite: the pixel is not splatted.
        K: ``(3, 3)`` or ``(B, 3, 3)`` intrinsics in pixels, shared by both views.
        T_src_to_tgt: ``(4, 4)`` or ``(B, 4, 4)`` rigid transform taking points from the source
            camera frame to the target camera frame (the inverse of the target's pose).
        splat_radius: half width in px of each point's square footprint, in ``[0.5, 1)``.
        surface_tol: relative depth band behind the nearest splat that is blended with it.

    Returns:
        :class:`WarpedView` of the target view.

    Example:
        >>> K = torch.tensor([[10.0, 0, 2], [0, 10.0, 2], [0, 0, 1]])
        >>> T = torch.eye(4)
        >>> T[0, 3] = -0.2  # the camera moves 0.2 right: a plane at 2 m shifts 1 px left
        >>> img = torch.arange(5.0).expand(1, 1, 5, 5)
        >>> forward_warp(img, torch.full((1, 1, 5, 5), 2.0), K, T).image[0, 0, 0].tolist()
        [1.0, 2.0, 3.0, 4.0, 0.0]
    """
    if image.ndim != 4:
        raise ValueError(f"image must be (B, C, H, W), got {tuple(image.shape)}")
    b, c, h, w = image.shape
    if depth.shape != (b, 1, h, w):
        raise ValueError(
            f"depth must be {(b, 1, h, w)} to match the image, got {tuple(depth.shape)}"
        )
    if not 0.5 <= splat_radius < 1.0:
        raise ValueError(f"splat_radius must be in [0.5, 1) px, got {splat_radius}")
    if surface_tol < 0:
        raise ValueError(f"surface_tol must be ≥ 0, got {surface_tol}")
    K = as_batch_matrix("K", torch.as_tensor(K).to(depth), 3, b)
    T = as_batch_matrix("T_src_to_tgt", torch.as_tensor(T_src_to_tgt).to(depth), 4, b)
    n = h * w
    ok = torch.isfinite(depth) & (depth > 0)
    points = backproject(torch.where(ok, depth, 1.0), K).reshape(b, 3, n)
    uv, z = project(T[:, :3, :3] @ points + T[:, :3, 3:], K)  # (B, 2, N), (B, 1, N)
    u, v, z = uv[:, 0], uv[:, 1], z[:, 0]  # (B, N) each
    ok = ok.reshape(b, n) & (z > 1e-6) & torch.isfinite(u) & torch.isfinite(v)
    # Four candidate target pixels per point, all kept in place (no compaction): the footprint
    # starts at column/row ceil(u − r) and, with r < 1, spans at most two of each. Weights and
    # bounds are computed per axis, (2, B, N), and combined into the 2 × 2 corners, (4, B, N);
    # misses get weight 0 and go to a spare slot at index B·N.
    xs = torch.ceil(u - splat_radius)
    ys = torch.ceil(v - splat_radius)
    xs, ys = torch.stack([xs, xs + 1.0]), torch.stack([ys, ys + 1.0])
    wx = (1.0 - (xs - u).abs()) * ((xs <= u + splat_radius) & (xs >= 0) & (xs <= w - 1))
    wy = (1.0 - (ys - v).abs()) * ((ys <= v + splat_radius) & (ys >= 0) & (ys <= h - 1))
    weight = torch.where(ok, (wy[:, None] * wx[None]).reshape(4, b, n), 0.0)  # > 0 on hits
    first = torch.arange(b, device=u.device)[:, None] * n
    rows = ys.clamp(0, h - 1).long() * w + first
    pixel = (rows[:, None] + xs.clamp(0, w - 1).long()[None]).reshape(4, b, n)
    hit = weight > 0
    target = torch.where(hit, pixel, b * n).reshape(-1)
    z_hit = torch.where(hit, z, math.inf)
    nearest = torch.full((b * n + 1,), math.inf, dtype=z.dtype, device=z.device)
    nearest.scatter_reduce_(0, target, z_hit.reshape(-1), reduce="amin")
    weight = weight * (z_hit <= nearest[target].reshape(z_hit.shape) * (1.0 + surface_tol))
    values = torch.cat([image.reshape(b, c, n), z[:, None].to(image.dtype)], 1)
    values = torch.cat([values, torch.ones_like(values[:, :1])], 1).transpose(1, 2)  # (B, N, C+2)
    sums = torch.zeros(b * n + 1, c + 2, dtype=image.dtype, device=image.device)
    sums.index_add_(0, target, (weight.to(image.dtype)[..., None] * values).reshape(-1, c + 2))
    sums = sums[:-1]
    total = sums[:, -1:]
    covered = total > 0
    blended = torch.where(covered, sums[:, :-1] / torch.where(covered, total, 1.0), 0.0)
    blended = blended.reshape(b, h, w, c + 1).permute(0, 3, 1, 2)
    grid = pixel_grid(h, w, device=u.device, dtype=u.dtype)
    moved_by = uv - grid[:2]
    shift = torch.where(ok, moved_by[:, 0].square() + moved_by[:, 1].square(), 0.0)
    return WarpedView(
        image=blended[:, :c].contiguous(),
        depth=blended[:, c:].contiguous(),
        covered=covered.reshape(b, 1, h, w),
        epipole=(K @ T[:, :3, 3:])[..., 0],
        max_shift=math.sqrt(float(shift.max())) if shift.numel() else 0.0,
    )


def fill_holes(view: WarpedView, *, depth_tol: float = 0.02) -> tuple[torch.Tensor, torch.Tensor]:
    """Fill the uncovered pixels of a warped view from the background side (step 3 of the
    module docstring).

    From each hole pixel, the search runs both ways along its epipolar line (the direction in
    which parallax moves that pixel) to the first covered pixel on each side. The farther of the
    two ends is the background: its colour and depth fill the pixel; when both ends lie on one
    surface (depth within ``depth_tol``, relative) they are blended by inverse distance, i.e.
    linearly interpolated. The search stops after ``view.max_shift`` + 2 px (no gap opened by the
    motion is wider); a hole whose line finds no covered pixel by then (a camera that only
    turned, a strip along the image border) takes its nearest covered pixel (Euclidean distance
    transform). Vectorised over the hole pixels; the loop runs over search steps, never over
    pixels.

    Args:
        view: the output of :func:`forward_warp` (its ``epipole`` sets the search lines); each
            image needs at least one covered pixel.
        depth_tol: relative depth difference within which the two ends count as one surface.

    Returns:
        ``(image, depth)``: ``(B, C, H, W)`` and ``(B, 1, H, W)``, every pixel filled; covered
        pixels are unchanged.
    """
    image, depth, covered = view.image, view.depth, view.covered
    b, c, h, w = image.shape
    if not bool(covered.flatten(1).any(dim=1).all()):
        raise ValueError("an image has no covered pixel: nothing to fill its holes from")
    values = torch.cat([image, depth.to(image.dtype)], 1).permute(0, 2, 3, 1).reshape(-1, c + 1)
    known = covered.reshape(-1)
    holes = (~known).nonzero()[:, 0]
    if len(holes) == 0:
        return image, depth
    batch, row, col = holes // (h * w), (holes // w) % h, holes % w
    xy = torch.stack([col, row], 1).to(view.epipole.dtype)
    epipole = view.epipole[batch]  # (n, 3) homogeneous: the line through p and e is (e − e_z·p)
    direction = epipole[:, :2] - epipole[:, 2:] * xy
    length = direction.norm(dim=1, keepdim=True)
    direction = torch.where(length > 1e-9, direction / length.clamp_min(1e-30), 0.0)
    ends = torch.full((2, len(holes)), -1, dtype=torch.long, device=holes.device)
    distance = torch.ones(2, len(holes), dtype=image.dtype, device=holes.device)
    reach = math.ceil(view.max_shift) + 2  # no gap is wider than the largest shift
    for side, sign in enumerate((1.0, -1.0)):
        searching = (length[:, 0] > 1e-9).nonzero()[:, 0]
        step = 1
        while len(searching) and step <= reach:
            q = (xy[searching] + sign * step * direction[searching]).round().long()
            inside = (q[:, 0] >= 0) & (q[:, 0] < w) & (q[:, 1] >= 0) & (q[:, 1] < h)
            flat = (
                batch[searching] * (h * w) + q[:, 1].clamp(0, h - 1) * w + q[:, 0].clamp(0, w - 1)
            )
            hit = inside & known[flat]
            ends[side, searching[hit]] = flat[hit]
            distance[side, searching[hit]] = step
            searching = searching[inside & ~hit]
            step += 1
    found = ends >= 0
    ends_z = torch.where(found, values[ends.clamp_min(0), -1], -math.inf)
    farthest = ends_z.max(dim=0).values
    weight = (found & (ends_z >= farthest / (1.0 + depth_tol))) / distance
    fill = (values[ends.clamp_min(0)] * weight[..., None]).sum(0)
    fill = fill / weight.sum(0).clamp_min(1e-30)[:, None]
    lost = ~found.any(dim=0)
    if bool(lost.any()):
        fill[lost] = values[nearest_covered(covered)[holes[lost]]]
    values = values.clone()
    values[holes] = fill
    filled = values.reshape(b, h, w, c + 1).permute(0, 3, 1, 2)
    return filled[:, :c].contiguous(), filled[:, c:].to(depth.dtype).contiguous()


def nearest_covered(covered: torch.Tensor) -> torch.Tensor:
    """``(B·H·W,)`` flat index of each pixel's nearest covered pixel in its own image
    (Euclidean distance transform, :func:`scipy.ndimage.distance_transform_edt`)."""
    from scipy.ndimage import distance_transform_edt

    b, _, h, w = covered.shape
    mask = covered[:, 0].cpu().numpy()
    index = np.empty((b, h, w), dtype=np.int64)
    for i in range(b):  # one transform per image of the batch
        _, (rows, cols) = distance_transform_edt(~mask[i], return_indices=True)
        index[i] = i * h * w + rows * w + cols
    return torch.from_numpy(index).reshape(-1).to(covered.device)


def render_view(
    image: np.ndarray, depth: np.ndarray, K: np.ndarray, pose: np.ndarray
) -> np.ndarray:
    """The view of an RGB-D photo from a moved camera: :func:`forward_warp` + :func:`fill_holes`.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        depth: ``(H, W)`` z-depth (metres, or any unit consistent with ``pose``), ``> 0`` where
            known; pixels without depth are not carried (fill them first to keep them).
        K: ``(3, 3)`` intrinsics in pixels.
        pose: ``(4, 4)`` camera-to-world pose of the new camera in the source camera's frame.

    Returns:
        ``(H, W, 3)`` uint8 RGB.
    """
    views = render_views(image, depth, K, pose[None])
    return views[0]


def render_views(
    image: np.ndarray, depth: np.ndarray, K: np.ndarray, poses: np.ndarray
) -> list[np.ndarray]:
    """:func:`render_view` for each of ``(F, 4, 4)`` poses; returns ``F`` uint8 ``(H, W, 3)``."""
    rgb = image_to_tensor(image)[None]
    z = torch.from_numpy(np.array(depth, dtype=np.float32))[None, None]
    Kt = torch.as_tensor(np.asarray(K), dtype=torch.float32)
    frames = []
    for pose in np.asarray(poses, dtype=np.float64):
        T = torch.from_numpy(np.linalg.inv(pose)).float()
        view = forward_warp(rgb, z, Kt, T)
        filled, _ = fill_holes(view)
        out = (filled[0].permute(1, 2, 0) * 255.0).round().clamp(0, 255)
        frames.append(out.to(torch.uint8).numpy())
    return frames


def scene_range(depth: np.ndarray) -> tuple[float, float]:
    """Robust ``(near, far)`` of the valid depth: its 2nd and 98th percentiles."""
    valid = depth[np.isfinite(depth) & (depth > 0)]
    if valid.size == 0:
        raise ValueError("depth has no valid pixel")
    near, far = np.percentile(valid, NEAR_FAR_PERCENTILES)
    return float(near), float(far)


def parallax_amplitude(
    depth: np.ndarray, fx: float, width: int, parallax: float = DEFAULT_PARALLAX
) -> float:
    """Camera translation that moves the near scene by ``parallax · width`` px against the far one.

    A sideways move ``t`` shifts a point at depth ``z`` by ``fx·t/z`` px (pinhole projection),
    so the near (2nd percentile) and far (98th) depths part by ``fx·t·(1/z_near − 1/z_far)``;
    solved for ``t``. In a shallow scene (``z_far < 2·z_near``) that ``t`` would sweep the near
    depth itself out of view, so the near depth never moves by more than
    ``2 · parallax · width`` (for a flat scene, a plain shift of that size).
    """
    if not parallax > 0:
        raise ValueError(f"parallax must be > 0 (a fraction of the width), got {parallax}")
    near, far = scene_range(depth)
    spread = max(1.0 / near - 1.0 / far, MIN_SPREAD_PER_NEAR / near)
    return parallax * width / (fx * spread)


def swing_path(frames: int, amplitude: float, dolly: float) -> np.ndarray:
    """``(F, 4, 4)`` camera poses of a looping "3D photo" move, in the source camera's frame.

    The camera runs once around an ellipse through the original viewpoint, ``x = a·sin θ``,
    ``y = (a/2)·(1 − cos θ)`` (half as much vertical motion: screens are wider than tall), while
    it dollies forward and back, ``z = d·(1 − cos θ)/2``, for ``θ = 2π k/F``; frame 0 is the
    original view and the last frame leads back into it, so the video loops seamlessly. The
    orientation does not change.
    """
    if frames < 1:
        raise ValueError(f"frames must be ≥ 1, got {frames}")
    theta = 2.0 * np.pi * np.arange(frames) / frames
    poses = np.tile(np.eye(4), (frames, 1, 1))
    poses[:, 0, 3] = amplitude * np.sin(theta)
    poses[:, 1, 3] = 0.5 * amplitude * (1.0 - np.cos(theta))
    poses[:, 2, 3] = 0.5 * dolly * (1.0 - np.cos(theta))
    return poses


def default_baseline(depth: np.ndarray, metric: bool) -> float:
    """Stereo baseline: human eyes (65 mm) for metric depth, else 1/30 of the near depth."""
    return HUMAN_BASELINE_M if metric else BASELINE_PER_NEAR_DEPTH * scene_range(depth)[0]


def stereo_pair(
    image: np.ndarray, depth: np.ndarray, K: np.ndarray, baseline: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(left, right)`` uint8 views: the photo itself and the camera moved ``baseline`` along +x.

    A point at depth ``z`` lies ``fx·baseline/z`` px further left in the right view (its
    disparity, as in :func:`depthforge.geometry.warp.warp_by_disparity`).
    """
    if not baseline > 0:
        raise ValueError(f"baseline must be > 0, got {baseline}")
    pose = np.eye(4)
    pose[0, 3] = baseline
    return np.asarray(image), render_view(image, depth, K, pose)


def anaglyph(left: np.ndarray, right: np.ndarray, method: str = "dubois") -> np.ndarray:
    """Red-cyan anaglyph ``(H, W, 3)`` uint8 of a stereo pair (red filter on the left eye).

    ``"color"``: the plain colour anaglyph, red from the left view, green and blue from the
    right. ``"dubois"``: Dubois's least-squares projection, ``out = L·left + R·right`` with the
    matrices :data:`DUBOIS_LEFT` / :data:`DUBOIS_RIGHT` on linear RGB (sRGB decoded first and
    encoded after), clipped to [0, 1]: less retinal rivalry and ghosting for the same glasses.
    """
    if method not in ANAGLYPH_METHODS:
        raise ValueError(f"anaglyph method must be one of {ANAGLYPH_METHODS}, got {method!r}")
    if left.shape != right.shape or left.ndim != 3 or left.shape[2] != 3:
        raise ValueError(
            f"need two (H, W, 3) views of one size, got {left.shape} and {right.shape}"
        )
    if method == "color":
        return np.concatenate([left[..., :1], right[..., 1:]], axis=2)
    lin = [
        srgb_to_linear(torch.tensor(np.asarray(x), dtype=torch.float64) / 255.0)
        for x in (left, right)
    ]
    mix = lin[0] @ torch.tensor(DUBOIS_LEFT, dtype=torch.float64).T
    mix += lin[1] @ torch.tensor(DUBOIS_RIGHT, dtype=torch.float64).T
    out = linear_to_srgb(mix.clamp(0.0, 1.0)) * 255.0
    return out.round().to(torch.uint8).numpy()


