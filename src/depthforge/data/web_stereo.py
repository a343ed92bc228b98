"""Relative depth from stereo pairs through optical flow: the ReDWeb recipe (Xian et al. 2018).

Xian et al. ("Monocular Relative Depth Perception with Web Stereo Data Supervision", CVPR 2018)
built ReDWeb from web stereo images: they ran an optical-flow method on each left/right pair,
took the horizontal flow as the disparity, discarded pixels that failed a left-right consistency
check, fixed the sky with a semantic segmentation (sky = farthest), and kept the result as a
*relative* target (disparity ∝ inverse depth only up to an unknown scale and, for converging or
cropped web pairs, an unknown shift), trained with a pairwise ranking loss. [paper, recalled;
not verified against the text: the flow method they used was a deep one, here it is OpenCV's]

Here:

* :func:`disparity_from_flow` runs OpenCV's DIS (Kroeger et al. 2016) or Farnebäck (2003) flow
  in both directions and keeps the pixels whose forward flow, followed by the backward flow,
  returns within ``max_fb_error`` pixels (the forward-backward / left-right check) and whose
  vertical flow is small (a rectified pair has none);
* :func:`relative_disparity_target` makes the disparity a non-negative relative target;
* :class:`WebStereo` wraps any dataset whose samples carry a right view (``Sample.stereo``: the
  synthetic world with ``stereo: true``, a folder with ``right/``) and replaces the depth target
  by the flow disparity.

Deviation: no semantic segmentation, so the sky is *not* fixed. Where the sky is textureless
(as in the synthetic world) both flows are ≈ 0, which is the right disparity for infinitely far
points, but real skies with clouds or haze may get wrong, consistent-looking disparities.

Convention: ``left`` is the reference view; a left pixel ``(u, v)`` with disparity ``d`` is seen
at ``(u − d, v)`` in the right view (as :func:`depthforge.geometry.warp.warp_by_disparity`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from depthforge.data.base import DepthDataset
from depthforge.errors import DataError, DepthforgeError
from depthforge.geometry.camera import pixel_grid
from depthforge.geometry.warp import sample_image
from depthforge.types import OutputSpace, Sample

FlowMethod = Literal["dis", "farneback"]
FLOW_METHODS: tuple[str, ...] = ("dis", "farneback")

DEPTH_KIND = "flow_disparity"
"""``meta["depth_kind"]`` of a :class:`WebStereo` sample: its ``depth`` holds a disparity."""

# Farnebäck parameters: OpenCV's documented example (pyramid ×0.5, 15-px window, polynomial
# expansion n = 5, σ = 1.2) with 5 levels so that disparities of a few tens of pixels are found.
_FARNEBACK = dict(pyr_scale=0.5, levels=5, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2)


@dataclass(frozen=True)
class FlowDisparity:
    """Disparity of the left view estimated from optical flow.

    Attributes:
        disparity: ``(1, H, W)`` float32 pixels, ``d = −flow_x`` (left ``u`` ↔ right ``u − d``);
            defined everywhere, trustworthy only where ``mask``.
        mask: ``(1, H, W)`` bool, True where the pixel passed the consistency checks.
        fb_error: ``(1, H, W)`` float32 forward-backward error in pixels (``inf`` where the
            forward flow leaves the right image).
    """

    disparity: torch.Tensor
    mask: torch.Tensor
    fb_error: torch.Tensor


def grey_uint8(image: torch.Tensor, name: str) -> np.ndarray:
    """``(3, H, W)`` float RGB in [0, 1] → ``(H, W)`` uint8 luma (what OpenCV's flows take)."""
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"{name} must be a (3, H, W) RGB image, got shape {tuple(image.shape)}")
    rgb = (image.detach().float().clamp(0, 1) * 255.0 + 0.5).to(torch.uint8)
    return cv2.cvtColor(
        np.ascontiguousarray(rgb.permute(1, 2, 0).cpu().numpy()), cv2.COLOR_RGB2GRAY
    )


def optical_flow(source: np.ndarray, target: np.ndarray, method: FlowMethod) -> np.ndarray:
    """Dense flow from ``source`` to ``target`` (``source(x) ≈ target(x + flow(x))``).

    Args:
        source, target: ``(H, W)`` uint8 grey images.
        method: ``"dis"`` (``cv2.DISOpticalFlow``, preset MEDIUM) or ``"farneback"``
            (``cv2.calcOpticalFlowFarneback``).

    Returns:
        ``(H, W, 2)`` float32 flow ``(du, dv)`` in pixels.
    """
    if method == "dis":
        return cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(
            source, target, None
        )
    if method == "farneback":
        return cv2.calcOpticalFlowFarneback(source, target, None, flags=0, **_FARNEBACK)
    raise ValueError(f"method must be one of {FLOW_METHODS}, got {method!r}")


def disparity_from_flow(
    left: torch.Tensor,
    right: torch.Tensor,
    method: FlowMethod = "dis",
    *,
    max_fb_error: float = 1.0,
    max_vertical: float | None = 1.0,
) -> FlowDisparity:
    """Left-view disparity of a stereo pair from optical flow, with a consistency mask.

    The forward flow ``F`` (left → right) gives ``d = −F_u``. The backward flow ``B`` (right →
    left) is sampled where ``F`` lands (bilinear, :func:`depthforge.geometry.warp.sample_image`);
    a pixel is kept when ``‖F(x) + B(x + F(x))‖ ≤ max_fb_error`` (it returns to itself: fails at
    occlusions, where the right view sees something else, and on mismatches), it lands inside
    the right image, and ``|F_v| ≤ max_vertical`` (rectified pairs have no vertical motion).

    Args:
        left: ``(3, H, W)`` float RGB in [0, 1], the reference view.
        right: ``(3, H, W)`` the other view.
        method: ``"dis"`` or ``"farneback"`` (see :func:`optical_flow`).
        max_fb_error: forward-backward tolerance in pixels.
        max_vertical: largest accepted vertical flow in pixels, or ``None`` for unrectified
            pairs (no check).

    Returns:
        :class:`FlowDisparity`.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> right = torch.rand(3, 48, 64, generator=g)
        >>> left = torch.roll(right, shifts=3, dims=-1)  # left(u) = right(u − 3): d = 3
        >>> out = disparity_from_flow(left, right)
        >>> bool((out.disparity[out.mask] - 3).abs().median() < 0.5)
        True
    """
    if left.shape != right.shape:
        raise ValueError(f"left {tuple(left.shape)} and right {tuple(right.shape)} differ in shape")
    if max_fb_error <= 0:
        raise ValueError(f"max_fb_error must be positive pixels, got {max_fb_error}")
    left_gray, right_gray = grey_uint8(left, "left"), grey_uint8(right, "right")
    forward = torch.from_numpy(optical_flow(left_gray, right_gray, method)).permute(2, 0, 1)
    backward = torch.from_numpy(optical_flow(right_gray, left_gray, method)).permute(2, 0, 1)
    h, w = left_gray.shape
    # (2, H, W): where each left pixel lands in the right image
    landing = pixel_grid(h, w)[:2].reshape(2, h, w) + forward
    back_at_landing = sample_image(backward[None], landing[None], align_corners=False)[0]
    fb_error = (forward + back_at_landing).norm(dim=0, keepdim=True)
    inside = (landing[0] >= -0.5) & (landing[0] <= w - 0.5) & (landing[1] >= -0.5)
    inside = (inside & (landing[1] <= h - 0.5))[None]
    fb_error = torch.where(inside, fb_error, torch.full_like(fb_error, float("inf")))
    mask = fb_error <= max_fb_error
    if max_vertical is not None:
        mask &= forward[1:].abs() <= max_vertical
    return FlowDisparity(disparity=-forward[:1].contiguous(), mask=mask, fb_error=fb_error)


def relative_disparity_target(disparity: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """A flow disparity as a non-negative relative (disparity-like) target, 0 where invalid.

    A rectified pair's disparity ``f·B/z`` is already ≥ 0 and kept as it is, so the ratio test
    of Xian et al.'s pair labels (``ordinal_relations``) sees true depth ratios. Web pairs may
    converge (negative disparities, an unknown shift): then the smallest valid disparity is
    moved to 0 — the shift cannot be recovered from the pair, which is why the target is only
    ever used through pairwise orderings.

    Args:
        disparity: ``(1, H, W)`` pixels.
        mask: ``(1, H, W)`` bool valid pixels.

    Returns:
        ``(1, H, W)`` float32, larger = nearer.
    """
    if not bool(mask.any()):
        return torch.zeros_like(disparity)
    lowest = disparity[mask].min().clamp(max=0.0)
    return torch.where(mask, disparity - lowest, torch.zeros_like(disparity))


class WebStereo(DepthDataset):
    """Samples of a stereo dataset with the depth target replaced by the flow disparity.

    Each sample keeps ``image``, ``K``, ``pose`` and ``meta`` of the source sample; ``depth``
    becomes :func:`relative_disparity_target` of :func:`disparity_from_flow` (pixels, larger =
    nearer, **not** metres) and ``mask`` the consistency mask. Every other annotation that comes
    from ground truth (``pairs``/``relations``, ``normals``, ``labels``) and the right view are
    dropped, so nothing but the stereo pair supervises. ``meta`` gains ``depth_kind =
    "flow_disparity"``, ``target_space = "affine_invariant_disparity"``, ``flow_method`` and
    ``consistent_fraction``. Train on it with the ``web_stereo`` strategy (pairwise ranking);
    never score it with a metric protocol.

    Args:
        root: root of the source dataset (ignored by ``synth``).
        split: split of the source dataset.
        source: a dataset name of :func:`depthforge.data.registry.open_dataset`, or a dataset
            object whose samples carry ``stereo``.
        source_options: options of the source dataset (e.g. ``{stereo: true, kind: outdoor}``).
        method, max_fb_error, max_vertical: see :func:`disparity_from_flow`.

    Raises:
        DataError: (on access) a source sample has no right view.
    """

    name = "web_stereo"

    def __init__(
        self,
        root: str | Path | None = None,
        split: str | None = None,
        *,
        source: str | Dataset = "synth",
        source_options: dict[str, Any] | None = None,
        method: FlowMethod = "dis",
        max_fb_error: float = 1.0,
        max_vertical: float | None = 1.0,
    ):
        if method not in FLOW_METHODS:
            raise ValueError(f"method must be one of {FLOW_METHODS}, got {method!r}")
        if isinstance(source, str):
            from depthforge.data.registry import open_dataset

            if source == self.name:
                raise DepthforgeError("web_stereo cannot wrap itself; name a stereo dataset")
            source = open_dataset(source, root, split=split, **(source_options or {}))
        self.source, self.root = source, root
        self.method, self.max_fb_error, self.max_vertical = method, max_fb_error, max_vertical
        self.ids = list(getattr(source, "ids", [str(i) for i in range(len(source))]))

    def load(self, index: int) -> Sample:
        sample = self.source[index]
        if sample.stereo is None:
            where = getattr(self.source, "root", None) or self.root
            raise DataError(
                where,
                f"sample {sample.id!r} has no right view (synth: options stereo: true; "
                "folder: right/<id>.png and a baseline)",
            )
        flow = disparity_from_flow(
            sample.image,
            sample.stereo.image,
            self.method,
            max_fb_error=self.max_fb_error,
            max_vertical=self.max_vertical,
        )
        meta = {
            **sample.meta,
            "depth_kind": DEPTH_KIND,
            "target_space": OutputSpace.AFFINE_INVARIANT_DISPARITY.value,
            "flow_method": self.method,
            "consistent_fraction": float(flow.mask.float().mean()),
        }
        return dataclasses.replace(
            sample,
            depth=relative_disparity_target(flow.disparity, flow.mask),
            mask=flow.mask,
            stereo=None,
            pairs=None,
            relations=None,
            normals=None,
            labels=None,
            meta=meta,
        )
