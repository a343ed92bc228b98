"""The data contract shared by every module: output spaces and the ``Sample`` record.

Conventions (hold everywhere in depthforge):

* depth is metric z-depth in metres, float32; invalid depth is ``0`` *and* ``mask == False``;
  no NaN ever leaves a reader;
* images are ``(3, H, W)`` float32 RGB in ``[0, 1]``, not normalised (models normalise inside);
* depth-like maps are ``(1, H, W)``; batches add a leading ``B``;
* pixel ``(u, v)`` is (column, row) with pixel centres at integer coordinates;
* ``K`` is the ``(3, 3)`` pinhole matrix in pixels *for the tensor it travels with*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # PyTorch is imported where a tensor is made, so that the names stay light
    import torch


class OutputSpace(str, Enum):
    """What a depth-like map means. Alignment, evaluation and applications check it."""

    METRIC_DEPTH = "metric_depth"
    """z-depth in metres."""
    LOG_DEPTH = "log_depth"
    """natural log of metric depth."""
    SCALE_INVARIANT_DEPTH = "scale_invariant_depth"
    """depth up to an unknown positive scale (e.g. self-supervised monocular video)."""
    AFFINE_INVARIANT_DEPTH = "affine_invariant_depth"
    """depth up to an unknown scale and shift."""
    AFFINE_INVARIANT_DISPARITY = "affine_invariant_disparity"
    """inverse depth up to an unknown scale and shift (MiDaS-style)."""
    ORDINAL = "ordinal"
    """only the order is meaningful; larger = farther."""

    @property
    def is_metric(self) -> bool:
        """True when the map can be compared with metric ground truth without alignment."""
        return self in (OutputSpace.METRIC_DEPTH, OutputSpace.LOG_DEPTH)

    @property
    def is_disparity_like(self) -> bool:
        """True when larger values mean nearer."""
        return self is OutputSpace.AFFINE_INVARIANT_DISPARITY


class ResizeSpace(str, Enum):
    """The space in which a low-resolution prediction is bilinearly resized to the image size.

    A model declares it (``DepthModel.resize_space``): the space its network regresses, as its
    authors' evaluation code resizes it. Bilinear interpolation does not commute with ``1/x`` or
    ``log``, so the choice changes published-style numbers.
    """

    DEPTH = "depth"
    """the map as it is (FCRN, metric models; the only choice for affine-invariant or ordinal)."""
    DISPARITY = "disparity"
    """``1/depth`` (monodepth2 ``evaluate_depth.py``: resize the disparity, then invert)."""
    LOG_DEPTH = "log_depth"
    """``ln depth`` (Eigen et al. 2014/2015, MegaDepth-style log-depth regressors)."""


@dataclass
class Stereo:
    """The other view of a rectified stereo pair.

    Attributes:
        image: ``(3, H, W)`` float32 right image in ``[0, 1]``.
        baseline: distance between the two optical centres, metres (positive; the right camera
            sits at ``+baseline`` along the left camera's x axis).
    """

    image: torch.Tensor
    baseline: float


@dataclass
class Sample:
    """One RGB-D training or evaluation example.

    Attributes:
        image: ``(3, H, W)`` float32 RGB in ``[0, 1]``.
        depth: ``(1, H, W)`` float32 metric z-depth in metres, 0 where invalid
            (all zeros with an all-False mask when the sample has no dense depth, e.g. DIW).
        mask: ``(1, H, W)`` bool, True where ``depth`` is valid.
        K: ``(3, 3)`` float32 intrinsics in pixels for ``image``, or ``None`` when unknown.
        pose: ``(4, 4)`` float32 camera-to-world transform, or ``None``.
        neighbours: ``(S, 3, H, W)`` source frames for video supervision, or ``None``.
        neighbour_poses: ``(S, 4, 4)`` camera-to-world poses of ``neighbours``, or ``None``.
        stereo: the other view of a stereo pair, or ``None``.
        pairs: ``(N, 4)`` int64 ``y_a, x_a, y_b, x_b`` (0-based pixels of ``image``), or ``None``.
        relations: ``(N,)`` int64 in {-1, 0, +1}, +1 meaning A is farther than B, or ``None``.
        normals: ``(3, H, W)`` float32 unit normals in the camera frame (x right, y down,
            z forward), pointing towards the camera, or ``None``.
        labels: ``(H, W)`` int64 semantic labels, or ``None``.
        meta: dataset name, sample id, source paths, ``depth_kind`` (e.g. ``"filled"``/``"raw"``).
    """

    image: torch.Tensor
    depth: torch.Tensor
    mask: torch.Tensor
    K: torch.Tensor | None = None
    pose: torch.Tensor | None = None
    neighbours: torch.Tensor | None = None
    neighbour_poses: torch.Tensor | None = None
    stereo: Stereo | None = None
    pairs: torch.Tensor | None = None
    relations: torch.Tensor | None = None
    normals: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The sample id within its dataset (``meta["id"]``)."""
        return str(self.meta.get("id", ""))

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)`` of the image."""
        return int(self.image.shape[-2]), int(self.image.shape[-1])


def check_map(name: str, tensor: torch.Tensor, channels: int | None = 1) -> None:
    """Raise ``ValueError`` unless ``tensor`` is ``(B, channels, H, W)``."""
    import torch

    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.ndim != 4 or (channels is not None and tensor.shape[1] != channels):
        want = f"(B, {channels}, H, W)" if channels is not None else "(B, C, H, W)"
        raise ValueError(f"{name} must be {want}, got shape {tuple(tensor.shape)}")


def check_same_shape(**tensors: torch.Tensor) -> None:
    """Raise ``ValueError`` naming the arguments when the given tensors differ in shape."""
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"shapes must match: {listed}")


def image_to_tensor(image) -> torch.Tensor:
    """uint8 RGB ``(..., H, W, 3)`` (an image, or a stack of them) → float32 ``(..., 3, H, W)``
    in ``[0, 1]`` (value / 255), a new tensor that shares no memory with ``image``."""
    import numpy as np
    import torch

    array = torch.from_numpy(np.array(image, dtype=np.uint8))
    return array.movedim(-1, -3).float().div_(255.0)


def sample_from_numpy(
    image,
    depth,
    K=None,
    *,
    mask=None,
    **extra: Any,
) -> Sample:
    """Build a :class:`Sample` from NumPy arrays as readers produce them.

    Args:
        image: ``(H, W, 3)`` uint8 or float RGB (floats are taken as ``[0, 1]``).
        depth: ``(H, W)`` float metres, 0 / non-finite / negative = invalid.
        K: ``(3, 3)`` intrinsics in pixels, or ``None``.
        mask: optional ``(H, W)`` bool validity; ANDed with ``depth > 0``.
        **extra: further :class:`Sample` fields (``pose``, ``meta``, ...).
    """
    import numpy as np
    import torch

    img = np.asarray(image)
    if img.dtype == np.uint8:
        img_t = image_to_tensor(img)
    else:
        img_t = torch.from_numpy(np.array(img, dtype=np.float32, copy=True)).permute(2, 0, 1)
    d = np.asarray(depth, dtype=np.float32)
    valid = np.isfinite(d) & (d > 0)
    if mask is not None:
        valid &= np.asarray(mask, dtype=bool)
    d = np.where(valid, d, 0.0).astype(np.float32)
    K_t = None if K is None else torch.as_tensor(np.asarray(K, dtype=np.float32))
    for key in ("pose", "normals", "labels", "pairs", "relations", "neighbours", "neighbour_poses"):
        if key in extra and extra[key] is not None and not isinstance(extra[key], torch.Tensor):
            extra[key] = torch.as_tensor(np.asarray(extra[key]))
    return Sample(
        image=img_t.contiguous(),
        depth=torch.from_numpy(d)[None],
        mask=torch.from_numpy(valid)[None],
        K=K_t,
        **extra,
    )
