"""Novel views from one RGB-D image: "3D photo" parallax videos, stereo pairs and anaglyphs.

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
from pathlib import Path

import numpy as np
import torch

from depthforge.apps.depth_input import depth_for_photo
from depthforge.apps.dof import fill_depth_holes, linear_to_srgb, srgb_to_linear
from depthforge.apps.pointcloud import (
    check_inputs,
    depth_in_metres,
    resolve_intrinsics,
)
from depthforge.errors import DataError, DepthforgeError
from depthforge.geometry.camera import backproject, pixel_grid, project
from depthforge.geometry.warp import as_batch_matrix
from depthforge.io import atomic_path, read_rgb, save_rgb
from depthforge.types import OutputSpace

SPLAT_RADIUS = 0.75  # px; footprint 1.5 px: no cracks below 1.5× magnification (module doc)
SURFACE_TOL = 0.02  # splats within 2 % of the nearest depth belong to the same surface
HUMAN_BASELINE_M = 0.065  # a typical adult interpupillary distance (≈ 63–65 mm)
# Stereographers' "1/30 rule": the camera baseline is about 1/30 of the distance to the nearest
# object, which keeps the on-screen disparity comfortable; used when depth has no metric scale.
BASELINE_PER_NEAR_DEPTH = 1.0 / 30.0
DEFAULT_PARALLAX = 0.03  # the near/far parallax of a 3D photo, as a fraction of the width
# The dolly goes at most 10 % of the near depth forward: it magnifies the nearest surface by at
# most 1/(1 − 0.1) ≈ 1.11×, well inside the 1.5× that the splats cover without cracks.
MAX_DOLLY_PER_NEAR_DEPTH = 0.1
DEFAULT_FOV = 60.0  # degrees; a phone's main camera, when neither --fov nor --intrinsics is given
VIDEO_SUFFIXES = (".mp4", ".gif", ".webp")
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
    rgb = torch.from_numpy(np.array(image, dtype=np.uint8)).permute(2, 0, 1)[None].float() / 255.0
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


def write_video(frames: list[np.ndarray], path: str | Path, fps: float) -> Path:
    """Write ``(H, W, 3)`` uint8 frames atomically as ``.mp4`` (H.264 through imageio-ffmpeg,
    extra ``video``), or as a looping animated ``.gif`` / ``.webp`` (Pillow only)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ValueError(
            f"{path}: unknown video format {suffix or '(no suffix)'!r}; "
            f"use one of {', '.join(VIDEO_SUFFIXES)}"
        )
    if not frames:
        raise ValueError("no frames to write")
    if not fps > 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    if suffix == ".mp4":
        return _write_mp4(frames, path, fps)
    from PIL import Image

    images = [Image.fromarray(np.asarray(f, np.uint8)) for f in frames]
    options = {"quality": 90} if suffix == ".webp" else {"optimize": False}
    with atomic_path(path) as tmp:
        images[0].save(
            tmp,
            format=suffix[1:].upper(),
            save_all=True,
            append_images=images[1:],
            duration=round(1000.0 / fps),
            loop=0,
            **options,
        )
    return path


def _write_mp4(frames: list[np.ndarray], path: Path, fps: float) -> Path:
    try:
        import imageio.v2 as imageio
    except ImportError:
        raise DepthforgeError(
            f"{path}: writing .mp4 needs the 'video' extra (pip install 'depthforge[video]': "
            "imageio and imageio-ffmpeg); .gif and .webp need only Pillow"
        ) from None
    h, w = frames[0].shape[:2]
    even = (slice(0, h - h % 2), slice(0, w - w % 2))  # yuv420p needs even sizes: drop one row/col
    with atomic_path(path) as tmp:
        writer = imageio.get_writer(
            tmp,
            format="FFMPEG",
            mode="I",
            fps=fps,
            codec="libx264",
            pixelformat="yuv420p",
            quality=8,
            macro_block_size=2,
        )
        try:
            for frame in frames:
                writer.append_data(np.ascontiguousarray(frame[even]))
        finally:
            writer.close()
    return path


@dataclass
class ParallaxSummary:
    """What :func:`parallax_command` wrote.

    Attributes:
        video: the parallax video.
        frames: its frame count.
        amplitude: the sideways camera amplitude, in the depth's units.
        units: ``"metres"`` or the note on arbitrary units.
        stereo: the side-by-side stereo pair (left | right), or ``None``.
        anaglyph: the anaglyph, or ``None``.
        baseline: the stereo baseline used (depth units), or ``None``.
    """

    video: Path
    frames: int
    amplitude: float
    units: str
    stereo: Path | None = None
    anaglyph: Path | None = None
    baseline: float | None = None

    def line(self) -> str:
        """One line for the CLI."""
        unit = "m" if self.units == "metres" else "units"
        text = f"wrote {self.video}: {self.frames} frames, swing ±{self.amplitude:.3g} {unit}"
        for name, path in (("stereo pair", self.stereo), ("anaglyph", self.anaglyph)):
            if path is not None:
                text += f"; {name} {path}"
        if self.baseline is not None:
            text += f" (baseline {self.baseline:.3g} {unit})"
        return text


def read_rgbd(
    image: str | Path,
    *,
    depth: str | Path | None = None,
    depth_kind: str | None = None,
    depth_scale: float | None = None,
    model: str | Path | None = None,
) -> tuple[np.ndarray, np.ndarray, str, Path]:
    """``(rgb, depth, units, source)``: the photo, its depth (a file decoded into metres, or a
    model's prediction), ``"metres"`` or a note on arbitrary units (relative model output is
    used in its own units: parallax needs no scale), and the file the depth came from."""
    rgb = read_rgb(image)
    raw, space, source = depth_for_photo(
        rgb, image, depth=depth, depth_kind=depth_kind, depth_scale=depth_scale, model=model
    )
    relative = space is not OutputSpace.METRIC_DEPTH
    z, units = depth_in_metres(raw, space, allow_unit_scale=relative)
    return rgb, z, units, source


def _check_output(path: Path | None, suffixes: tuple[str, ...], overwrite: bool) -> None:
    if path is None:
        return
    if path.suffix.lower() not in suffixes:
        raise ValueError(f"{path}: use one of {', '.join(suffixes)}")
    if path.exists() and not overwrite:
        raise DataError(path, "already exists; pass overwrite=True (--overwrite) to replace it")


def parallax_command(
    image: str | Path,
    out: str | Path,
    *,
    depth: str | Path | None = None,
    depth_kind: str | None = None,
    depth_scale: float | None = None,
    model: str | Path | None = None,
    intrinsics: str | Path | None = None,
    fov: float | None = None,
    frames: int = 48,
    fps: float = 24.0,
    parallax: float = DEFAULT_PARALLAX,
    stereo: str | Path | None = None,
    anaglyph_out: str | Path | None = None,
    baseline: float | None = None,
    anaglyph_method: str = "dubois",
    overwrite: bool = False,
) -> ParallaxSummary:
    """``depthforge parallax``: a "3D photo" video (and optionally a stereo pair and an anaglyph).

    Args:
        image: the RGB photo.
        out: ``.mp4`` (extra ``video``), ``.gif`` or ``.webp``.
        depth, depth_kind, depth_scale: a depth file registered to ``image`` (as for
            ``depthforge pointcloud``); or ``model``: a saved model folder (any output space but
            ordinal; relative depth is used in its own units).
        intrinsics, fov: the camera (:func:`~depthforge.apps.pointcloud.resolve_intrinsics`);
            neither: ``fov`` = 60°.
        Pixels without depth take the depth of their nearest valid pixel
        (:func:`~depthforge.apps.dof.fill_depth_holes`), so every pixel moves with its
        neighbourhood.
        frames, fps: length and rate of the video (:func:`swing_path`).
        parallax: near/far parallax as a fraction of the width (:func:`parallax_amplitude`);
            the dolly is as large as the sideways swing, at most 10 % of the near depth.
        stereo: write the side-by-side pair (left | right) here (PNG/JPEG).
        anaglyph_out: write the red-cyan anaglyph here (PNG/JPEG).
        baseline: stereo baseline in the depth's units (default :func:`default_baseline`).
        anaglyph_method: ``"dubois"`` or ``"color"`` (:func:`anaglyph`).
        overwrite: replace existing outputs.

    Returns:
        :class:`ParallaxSummary`.

    Raises:
        DataError, ValueError, OutputSpaceError: bad input, each naming the file or argument.
    """
    out = Path(out)
    stereo = None if stereo is None else Path(stereo)
    anaglyph_out = None if anaglyph_out is None else Path(anaglyph_out)
    _check_output(out, VIDEO_SUFFIXES, overwrite)
    for path in (stereo, anaglyph_out):
        _check_output(path, (".png", ".jpg", ".jpeg"), overwrite)
    if anaglyph_method not in ANAGLYPH_METHODS:
        raise ValueError(
            f"anaglyph method must be one of {ANAGLYPH_METHODS}, got {anaglyph_method!r}"
        )
    if frames < 1 or not fps > 0:
        raise ValueError(f"need frames ≥ 1 and fps > 0, got {frames} and {fps}")
    rgb, z, units, source = read_rgbd(
        image, depth=depth, depth_kind=depth_kind, depth_scale=depth_scale, model=model
    )
    height, width = rgb.shape[:2]
    if intrinsics is None and fov is None:
        fov = DEFAULT_FOV
    K = resolve_intrinsics(width, height, intrinsics=intrinsics, fov=fov)
    try:  # sizes (both named), K; then every hole takes its nearest valid depth
        check_inputs(rgb, z, K)
        z = fill_depth_holes(z)
    except ValueError as exc:
        raise DataError(source, f"{exc} (image {image})") from None
    amplitude = parallax_amplitude(z, float(K[0, 0]), width, parallax)
    dolly = min(amplitude, MAX_DOLLY_PER_NEAR_DEPTH * scene_range(z)[0])
    video = render_views(rgb, z, K, swing_path(frames, amplitude, dolly))
    write_video(video, out, fps)
    summary = ParallaxSummary(video=out, frames=frames, amplitude=amplitude, units=units)
    if stereo is not None or anaglyph_out is not None:
        summary.baseline = default_baseline(z, units == "metres") if baseline is None else baseline
        left, right = stereo_pair(rgb, z, K, summary.baseline)
        if stereo is not None:
            summary.stereo = save_rgb(stereo, np.concatenate([left, right], axis=1))
        if anaglyph_out is not None:
            summary.anaglyph = save_rgb(anaglyph_out, anaglyph(left, right, anaglyph_method))
    return summary
