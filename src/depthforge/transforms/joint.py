"""Joint geometric transforms: every spatial field of a :class:`~depthforge.types.Sample` moves
together and ``K`` is updated to stay the intrinsics of the transformed image.

Fields and how they are resampled:

* ``image``, ``neighbours``, ``stereo.image``: bilinear (``align_corners=False``; antialiased when
  shrinking);
* ``depth``, ``mask``, ``normals``, ``labels``: nearest neighbour, so a depth value is always
  one that was measured and is never interpolated across invalid pixels. Shrinking sparse depth
  (LiDAR) by nearest keeps one source pixel per output pixel, so some points are dropped;
* ``pairs``: the point moves with the pixel; pairs with a point leaving the image are dropped
  together with their ``relations``;
* ``K``: ``geometry.scale_intrinsics`` / ``crop_intrinsics`` / ``flip_intrinsics``;
* ``pose`` / ``neighbour_poses`` (camera-to-world): conjugated where the camera frame changes
  (flip, rotation), translation scaled by Eigen's scale augmentation.

Pixel convention: centres at integer coordinates; a pixel ``p`` of an ``n``-pixel axis resized
to ``m`` pixels lands in pixel ``floor((p + ½)·m/n)``, the geometry of ``align_corners=False``.

Random transforms draw every random number from the ``generator`` passed at call time
(``transform(sample, generator)``), falling back to torch's global generator when it is ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

import torch
import torch.nn.functional as F

from depthforge.geometry.camera import crop_intrinsics, flip_intrinsics, scale_intrinsics
from depthforge.geometry.warp import sample_image
from depthforge.types import Sample, Stereo

Transform = Callable[..., Sample]
PairMap = Callable[[torch.Tensor], torch.Tensor]  # (N, 2) (y, x) float -> (N, 2) (y, x) float


def _nearest(op: Callable[[torch.Tensor], torch.Tensor], t: torch.Tensor) -> torch.Tensor:
    """Apply a float-valued spatial ``op`` on ``(C, H, W)`` to a bool / int / float map."""
    if t.dtype == torch.bool:
        return op(t.float()) > 0.5
    if not t.is_floating_point():
        return op(t.double()).round().to(t.dtype)
    return op(t)


def _map_fields(
    sample: Sample,
    image_op: Callable[[torch.Tensor], torch.Tensor],
    nearest_op: Callable[[torch.Tensor], torch.Tensor],
    *,
    K: torch.Tensor | None,
    size: tuple[int, int],
    pair_map: PairMap | None,
    normals_op: Callable[[torch.Tensor], torch.Tensor] | None = None,
    labels_op: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> Sample:
    """Apply the ops to every spatial field.

    ``image_op`` / ``nearest_op`` / ``labels_op`` (default ``nearest_op``) take ``(N, C, H, W)``
    floats; ``normals_op`` post-processes the resampled ``(3, H, W)`` normals.
    """

    def per_map(t: torch.Tensor, op=nearest_op) -> torch.Tensor:
        return op(t[None])[0]

    def per_label_map(t: torch.Tensor) -> torch.Tensor:
        return per_map(t, labels_op or nearest_op)

    normals = None
    if sample.normals is not None:
        normals = per_map(sample.normals)
        if normals_op is not None:
            normals = normals_op(normals)
    pairs, relations = sample.pairs, sample.relations
    if pairs is not None and pair_map is not None:
        pairs, relations = _move_pairs(pairs, relations, pair_map, size)
    stereo = sample.stereo
    if stereo is not None:
        stereo = Stereo(image=image_op(stereo.image[None])[0], baseline=stereo.baseline)
    return replace(
        sample,
        image=image_op(sample.image[None])[0],
        depth=_nearest(per_map, sample.depth),
        mask=_nearest(per_map, sample.mask),
        K=K,
        neighbours=None if sample.neighbours is None else image_op(sample.neighbours),
        stereo=stereo,
        pairs=pairs,
        relations=relations,
        normals=normals,
        labels=None if sample.labels is None else _nearest(per_label_map, sample.labels[None])[0],
        meta=dict(sample.meta),
    )


def _move_pairs(
    pairs: torch.Tensor, relations: torch.Tensor | None, pair_map: PairMap, size: tuple[int, int]
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Map both points of every pair, round, and drop pairs with a point outside ``size``."""
    h, w = size
    yx = pair_map(pairs.reshape(-1, 2).double()).round().reshape(-1, 4)
    inside = (yx[:, 0::2] >= 0) & (yx[:, 0::2] < h) & (yx[:, 1::2] >= 0) & (yx[:, 1::2] < w)
    keep = inside.all(dim=1)
    kept = yx[keep].to(pairs.dtype)
    return kept, None if relations is None else relations[keep]


def _check_size(name: str, size: Sequence[int]) -> tuple[int, int]:
    if len(size) != 2 or min(int(s) for s in size) < 1:
        raise ValueError(f"{name} must be (height, width) of positive integers, got {size}")
    return int(size[0]), int(size[1])


# ----------------------------------------------------------------------- functional transforms


def resize(sample: Sample, size: Sequence[int], antialias: bool = True) -> Sample:
    """Resize every spatial field to ``size = (H', W')``; ``K`` via ``scale_intrinsics``.

    The image is bilinear (``antialias`` when shrinking), depth / mask / normals / labels use
    ``nearest-exact`` (the pixel-centre rule of ``align_corners=False``). Depth values are metric
    and unchanged: resizing an image is not a change of the scene.
    """
    new_h, new_w = _check_size("size", size)
    h, w = sample.size
    sy, sx = new_h / h, new_w / w

    def image_op(t: torch.Tensor) -> torch.Tensor:
        out = F.interpolate(
            t, size=(new_h, new_w), mode="bilinear", align_corners=False, antialias=antialias
        )
        return out.clamp_(0.0, 1.0)

    def nearest_op(t: torch.Tensor) -> torch.Tensor:
        return F.interpolate(t, size=(new_h, new_w), mode="nearest-exact")

    def pair_map(yx: torch.Tensor) -> torch.Tensor:
        return torch.floor((yx + 0.5) * yx.new_tensor([sy, sx]))

    K = None if sample.K is None else scale_intrinsics(sample.K, sx, sy)
    return _map_fields(sample, image_op, nearest_op, K=K, size=(new_h, new_w), pair_map=pair_map)


def crop(sample: Sample, top: int, left: int, height: int, width: int) -> Sample:
    """The ``height`` × ``width`` window whose top-left pixel is ``(row=top, col=left)``.

    ``K`` via ``crop_intrinsics``; pairs are shifted and those leaving the window dropped.

    Raises:
        ValueError: the window is empty or not inside the image.
    """
    h, w = sample.size
    if height < 1 or width < 1 or top < 0 or left < 0 or top + height > h or left + width > w:
        raise ValueError(
            f"crop window top={top}, left={left}, height={height}, width={width} is not inside "
            f"the {h}×{w} image"
        )

    def window(t: torch.Tensor) -> torch.Tensor:
        return t[..., top : top + height, left : left + width]

    def pair_map(yx: torch.Tensor) -> torch.Tensor:
        return yx - yx.new_tensor([top, left])

    K = None if sample.K is None else crop_intrinsics(sample.K, top, left)
    return _map_fields(sample, window, window, K=K, size=(height, width), pair_map=pair_map)


def _mirror_pose(pose: torch.Tensor | None) -> torch.Tensor | None:
    """Camera-to-world pose(s) of the mirrored world seen by the mirrored camera: ``F T F``."""
    if pose is None:
        return None
    f = torch.diag(pose.new_tensor([-1.0, 1.0, 1.0, 1.0]))
    return f @ pose @ f


def hflip(sample: Sample, stereo: str = "refuse") -> Sample:
    """Mirror left-right. ``cx' = W − 1 − cx``; normals' x is negated; poses are mirrored.

    A mirrored camera frame is a left-handed reflection of the scene, so camera-to-world poses
    become ``F T F`` with ``F = diag(−1, 1, 1, 1)`` (consistent relative motion between frames).

    Stereo pairs: mirroring both views turns the right camera into a left one, so flipping alone
    is not valid. ``stereo="refuse"`` raises; ``stereo="swap"`` mirrors both views and swaps them
    (Godard et al. 2017 §4), which is valid only while nothing else belongs to the original left
    view, so it needs a sample without valid depth, normals, labels, pairs, neighbours or pose
    (self-supervised stereo training).

    Raises:
        ValueError: a stereo sample with ``stereo="refuse"``, or ``"swap"`` with per-view fields.
    """
    if stereo not in ("refuse", "swap"):
        raise ValueError(f"stereo must be 'refuse' or 'swap', got {stereo!r}")
    if sample.stereo is not None:
        if stereo == "refuse":
            raise ValueError(
                "hflip cannot keep a stereo pair consistent: mirroring swaps which view is left; "
                "use stereo='swap' (no depth) or set sample.stereo = None first"
            )
        per_view = (sample.normals, sample.labels, sample.pairs, sample.neighbours, sample.pose)
        if sample.mask.any() or any(x is not None for x in per_view):
            raise ValueError(
                "hflip(stereo='swap') makes the right view the reference one, but this sample's "
                "depth / normals / labels / pairs / neighbours / pose belong to the left view"
            )
        # the rectified views share K, so the mirrored right view takes the left view's place
        mirrored = hflip(replace(sample, image=sample.stereo.image, stereo=None))
        other = Stereo(image=sample.image.flip(-1), baseline=sample.stereo.baseline)
        return replace(mirrored, stereo=other)
    h, w = sample.size

    def mirror(t: torch.Tensor) -> torch.Tensor:
        return t.flip(-1)

    def pair_map(yx: torch.Tensor) -> torch.Tensor:
        return torch.stack([yx[:, 0], (w - 1) - yx[:, 1]], dim=1)

    def negate_x(n: torch.Tensor) -> torch.Tensor:
        return n * n.new_tensor([-1.0, 1.0, 1.0]).view(3, 1, 1)

    K = None if sample.K is None else flip_intrinsics(sample.K, w)
    out = _map_fields(
        sample, mirror, mirror, K=K, size=(h, w), pair_map=pair_map, normals_op=negate_x
    )
    return replace(
        out, pose=_mirror_pose(sample.pose), neighbour_poses=_mirror_pose(sample.neighbour_poses)
    )


def eigen_scale(sample: Sample, scale: float, antialias: bool = True) -> Sample:
    """Eigen et al. 2014 §3.3 scale augmentation: image scaled by ``s``, depth divided by ``s``.

    The image is resized to ``round(s·H) × round(s·W)`` (``K`` scales with it); depth, the stereo
    baseline and pose translations are divided by ``s``. With the focal length scaled by ``s``
    this is exactly the same picture of the scene shrunk by ``1/s`` (a uniform scaling of the
    world is invisible to a pinhole camera), so back-projection with the new ``K`` and depth
    gives the original points divided by ``s``. The output size is rounded to whole pixels, so
    the image's actual ratio differs from ``s`` by under half a pixel per side.
    """
    if not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    h, w = sample.size
    out = resize(sample, (max(1, round(h * scale)), max(1, round(w * scale))), antialias=antialias)

    def shrink_translation(pose: torch.Tensor | None) -> torch.Tensor | None:
        if pose is None:
            return None
        pose = pose.clone()
        pose[..., :3, 3] /= scale
        return pose

    stereo = out.stereo
    if stereo is not None:
        stereo = Stereo(image=stereo.image, baseline=stereo.baseline / scale)
    return replace(
        out,
        depth=out.depth / scale,
        stereo=stereo,
        pose=shrink_translation(out.pose),
        neighbour_poses=shrink_translation(out.neighbour_poses),
    )


def roll_matrix(degrees: float, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``(3, 3)`` rotation about the optical axis that turns image content counter-clockwise
    on screen by ``degrees`` (x right, y down): ``X_new = R X_old``."""
    t = math.radians(degrees)
    c, s = math.cos(t), math.sin(t)
    return torch.tensor([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]], dtype=dtype)


def rotate(sample: Sample, degrees: float) -> Sample:
    """Rotate the view about the optical axis (a camera roll), counter-clockwise on screen.

    A pinhole image is rotated *exactly* by a camera roll ``R`` about the optical axis with the
    pixel map ``p' = K R K⁻¹ p`` (an affine map, since ``R`` keeps z): with this map ``K`` stays
    the intrinsics of the new image and z-depth is unchanged, for any ``fx``, ``fy`` (a plain
    image rotation equals this only about the principal point with ``fx = fy``). Without ``K``
    the image is rotated about its centre and ``K`` stays ``None``.

    Pixels whose source falls outside the image get depth 0, mask False, image 0, labels −1 and
    normals 0. Normals rotate with the camera (``n' = R n``), poses become ``T R⁻¹``.

    Raises:
        ValueError: the sample holds a stereo pair (a roll of each camera about its own axis
            breaks the rectification).
    """
    if sample.stereo is not None:
        raise ValueError("rotate would break the rectification of the stereo pair; drop stereo")
    h, w = sample.size
    R = roll_matrix(degrees)
    if sample.K is not None:
        K = sample.K.double()
    else:
        K = torch.tensor([[1.0, 0.0, (w - 1) / 2], [0.0, 1.0, (h - 1) / 2], [0.0, 0.0, 1.0]])
        K = K.double()
    forward = K @ R @ torch.linalg.inv(K)  # old pixel -> new pixel
    backward = K @ R.T @ torch.linalg.inv(K)  # new pixel -> old pixel (where to sample)
    v, u = torch.meshgrid(
        torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij"
    )
    src = torch.einsum("ij,jhw->ihw", backward, torch.stack([u, v, torch.ones_like(u)]))[:2]

    def warp(mode: str, fill: float = 0.0) -> Callable[[torch.Tensor], torch.Tensor]:
        def op(t: torch.Tensor) -> torch.Tensor:
            uv = src.to(t.dtype).expand(t.shape[0], 2, h, w)
            out = sample_image(t - fill, uv, align_corners=False, padding_mode="zeros", mode=mode)
            return out + fill

        return op

    def pair_map(yx: torch.Tensor) -> torch.Tensor:
        uv1 = torch.stack([yx[:, 1], yx[:, 0], torch.ones_like(yx[:, 0])], dim=1)
        moved = uv1 @ forward.T
        return torch.stack([moved[:, 1], moved[:, 0]], dim=1)

    def rotate_normals(n: torch.Tensor) -> torch.Tensor:
        return torch.einsum("ij,jhw->ihw", R.to(n.dtype), n)

    out = _map_fields(
        sample,
        warp("bilinear"),
        warp("nearest"),
        K=sample.K,
        size=(h, w),
        pair_map=pair_map,
        normals_op=rotate_normals,
        labels_op=warp("nearest", fill=-1.0),  # out-of-frame labels are −1 (ignore), not class 0
    )
    R4 = torch.eye(4, dtype=torch.float64)
    R4[:3, :3] = R

    def unroll(pose: torch.Tensor | None) -> torch.Tensor | None:
        return None if pose is None else (pose.double() @ R4.T).to(pose.dtype)

    return replace(out, pose=unroll(sample.pose), neighbour_poses=unroll(sample.neighbour_poses))


# ------------------------------------------------------------------------- transform objects


def _uniform(low: float, high: float, generator: torch.Generator | None) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator, dtype=torch.float64))


class Compose:
    """Apply transforms in order, passing the same ``generator`` to each."""

    def __init__(self, transforms: Sequence[Transform]):
        self.transforms = list(transforms)

    def __call__(self, sample: Sample, generator: torch.Generator | None = None) -> Sample:
        for t in self.transforms:
            sample = t(sample, generator)
        return sample


class Resize:
    """Resize to ``size = (H, W)`` (see :func:`resize`)."""

    def __init__(self, size: Sequence[int], antialias: bool = True):
        self.size = _check_size("size", size)
        self.antialias = antialias

    def __call__(self, sample: Sample, generator: torch.Generator | None = None) -> Sample:
        return resize(sample, self.size, self.antialias)


class Crop:
    """A fixed window (see :func:`crop`)."""

    def __init__(self, top: int, left: int, height: int, width: int):
        self.window = (int(top), int(left), int(height), int(width))

    def __call__(self, sample: Sample, generator: torch.Generator | None = None) -> Sample:
        return crop(sample, *self.window)


class CenterCrop:
    """The centred ``size = (H, W)`` window; an odd margin leaves the extra pixel at the bottom
    / right (``top = (H_in − H) // 2``)."""

    def __init__(self, size: Sequence[int]):
        self.size = _check_size("size", size)

    def __call__(self, sample: Sample, generator: torch.Generator | None = None) -> Sample:
        h, w = sample.size
        return crop(sample, (h - self.size[0]) // 2, (w - self.size[1]) // 2, *self.size)


class RandomCrop:
    """A ``size = (H, W)`` window at a uniformly random position (Eigen et al. 2014 §3.3's
    translation augmentation)."""

    def __init__(self, size: Sequence[int]):
        self.size = _check_size("size", size)

    def __call__(self, sample: Sample, generator: torch.Generator | None = None) -> Sample:
        h, w = sample.size
        if self.size[0] > h or self.size[1] > w:
            raise ValueError(f"RandomCrop size {self.size} is larger than the {h}×{w} image")
        top = int(torch.randint(0, h - self.size[0] + 1, (), generator=generator))
        left = int(torch.randint(0, w - self.size[1] + 1, (), generator=generator))
        return crop(sample, top, left, *self.size)


class HorizontalFlip:
    """Mirror with probability ``p`` (Eigen et al. 2014 §3.3: 0.5). See :func:`hflip`."""

    def __init__(self, p: float = 0.5, stereo: str = "refuse"):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p = p
        self.stereo = stereo

    def __call__(self, sample: Sample, generator: torch.Generator | None = None) -> Sample:
        if float(torch.rand((), generator=generator)) < self.p:
            return hflip(sample, self.stereo)
        return sample


class EigenScale:
    """Scale augmentation with ``s ~ U(scale_range)`` (Eigen et al. 2014 §3.3: [1, 1.5]).

    See :func:`eigen_scale`; follow it with :class:`RandomCrop` / :class:`CenterCrop` to return
    to a fixed size, as Eigen et al. do.
    """

    def __init__(self, scale_range: tuple[float, float] = (1.0, 1.5), antialias: bool = True):
        if not 0 < scale_range[0] <= scale_range[1]:
            raise ValueError(f"scale_range must satisfy 0 < low <= high, got {scale_range}")
        self.scale_range = scale_range
        self.antialias = antialias

    def __call__(self, sample: Sample, generator: torch.Generator | None = None) -> Sample:
        s = _uniform(*self.scale_range, generator)
        return eigen_scale(sample, s, self.antialias)


class Rotation:
    """In-plane rotation by ``r ~ U(−max_degrees, max_degrees)`` (Eigen et al. 2014 §3.3: 5°).

    See :func:`rotate` for how ``K``, depth and the out-of-frame mask are handled.
    """

    def __init__(self, max_degrees: float = 5.0):
        if max_degrees < 0:
            raise ValueError(f"max_degrees must be >= 0, got {max_degrees}")
        self.max_degrees = max_degrees

    def __call__(self, sample: Sample, generator: torch.Generator | None = None) -> Sample:
        return rotate(sample, _uniform(-self.max_degrees, self.max_degrees, generator))
