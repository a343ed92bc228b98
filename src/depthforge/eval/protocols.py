"""Named evaluation protocols: every choice that changes a published number, in one table.

A :class:`Protocol` is a frozen record of the ground-truth crop, the depth caps, the prediction
clamp, the default alignment, the aggregation (per image or pixel-pooled), the ground-truth
variant it expects and the metrics it reports. Results always carry the protocol that produced
them (see :mod:`depthforge.eval.report`).

Crops are computed **per image from the ground-truth shape** (KITTI raw frames vary in size
between drives) and applied as Python slices ``[top:bottom, left:right]``.

Sources (read for the definitions, no code taken):

* NYU Eigen crop: BTS ``bts_main.py::online_eval`` and AdaBins ``evaluate.py`` build
  ``eval_mask[45:471, 41:601]`` on 480×640 GT (426×560 pixels). The NYU toolbox
  ``get_projection_mask.m`` writes the same numbers in MATLAB, 1-based inclusive, which is the
  Python slice ``[44:471, 40:601]`` (427×561): one row and one column more at the top and left.
  ``nyu_eigen`` follows BTS/AdaBins; ``nyu_eigen_toolbox`` follows the toolbox.
* KITTI Garg / Eigen crops: fractions of H and W truncated with ``int()`` (monodepth2
  ``evaluate_depth.py``, BTS, AdaBins).
* Make3D C1/C2 (Liu, Salzmann & He, CVPR 2014; used by Laina et al. 2016): C1 scores only pixels
  whose ground truth is below 70 m; C2 scores all pixels. The Make3D laser saturates near 81.9 m,
  so C2 is encoded here as ``g < 80`` (the cap used by later KITTI-trained evaluations). Both
  definitions are **recalled from the papers, not verified against their text**; the metric set
  (AbsRel, log10, RMSE) is the one those papers tabulate. No crop is applied: monodepth's
  Make3D script additionally crops the 55×305 GT to its central 21×305 rows, which is a
  resolution choice of that method, not part of C1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from depthforge.errors import UnknownNameError

if TYPE_CHECKING:  # the table of protocols is read without PyTorch (`depthforge protocols`)
    import torch

Reduction = Literal["image", "pixel"]
DEPTH_METRICS = ("abs_rel", "sq_rel", "rmse", "rmse_log", "log10", "silog", "d1", "d2", "d3")
ORDINAL_METRICS = ("whdr",)


def depth_valid_mask(
    gt: torch.Tensor,
    mask: torch.Tensor | None = None,
    min_depth: float | None = None,
    max_depth: float | None = None,
) -> torch.Tensor:
    """``mask ∧ finite(g) ∧ g > 0 ∧ min_depth < g < max_depth`` (strict caps, as BTS/monodepth2).

    Args:
        gt: ``(..., H, W)`` ground-truth depth in metres.
        mask: optional boolean of the same shape.
        min_depth, max_depth: caps in metres, ``None`` = no cap on that side.

    Returns:
        boolean tensor shaped like ``gt``.
    """
    # NaN fails both comparisons and +inf fails the upper one, so two comparisons cover finiteness.
    valid = gt > (0.0 if min_depth is None else max(0.0, min_depth))
    valid &= gt < (math.inf if max_depth is None else max_depth)
    if mask is not None:
        valid &= mask.bool()
    return valid


@dataclass(frozen=True)
class FixedCrop:
    """A crop given in pixels, valid only for ground truth of ``shape``.

    Attributes:
        top, bottom, left, right: Python slice bounds ``[top:bottom, left:right]``.
        shape: the ``(H, W)`` the bounds were defined on; other sizes raise ``ValueError``.
    """

    top: int
    bottom: int
    left: int
    right: int
    shape: tuple[int, int]

    def bounds(self, height: int, width: int) -> tuple[int, int, int, int]:
        """``(top, bottom, left, right)`` for GT of ``height × width``."""
        if (height, width) != tuple(self.shape):
            raise ValueError(
                f"this crop is defined on {self.shape[0]}×{self.shape[1]} ground truth, "
                f"got {height}×{width} (evaluate at the dataset's native resolution)"
            )
        return self.top, self.bottom, self.left, self.right


@dataclass(frozen=True)
class FractionCrop:
    """A crop given as fractions of the GT height and width, truncated with ``int()``.

    Attributes:
        top, bottom: row fractions; rows ``[int(top·H), int(bottom·H))``.
        left, right: column fractions; columns ``[int(left·W), int(right·W))``.
    """

    top: float
    bottom: float
    left: float
    right: float

    def bounds(self, height: int, width: int) -> tuple[int, int, int, int]:
        """``(top, bottom, left, right)`` for GT of ``height × width``."""
        return (
            int(self.top * height),
            int(self.bottom * height),
            int(self.left * width),
            int(self.right * width),
        )


Crop = FixedCrop | FractionCrop

NYU_EIGEN_CROP = FixedCrop(45, 471, 41, 601, shape=(480, 640))
NYU_TOOLBOX_CROP = FixedCrop(44, 471, 40, 601, shape=(480, 640))
SPARSE_TO_DENSE_CROP = FixedCrop(6, 234, 8, 312, shape=(240, 320))
"""Ma & Karaman 2018 (``nyu_dataloader.val_transform``): centre 228×304 of the 240×320 frame."""
KITTI_GARG_CROP = FractionCrop(0.40810811, 0.99189189, 0.03594771, 0.96405229)
KITTI_EIGEN_CROP = FractionCrop(0.3324324, 0.91351351, 0.0359477, 0.96405229)


@dataclass(frozen=True)
class Protocol:
    """One named evaluation protocol (frozen; compare and hash by value).

    Attributes:
        name: registry name, e.g. ``"nyu_eigen"``.
        description: one line naming the papers / code that define it.
        crop: GT crop (``None`` = whole image).
        min_depth, max_depth: GT caps in metres; a pixel counts iff ``min_depth < g < max_depth``
            (strict, as BTS/monodepth2). ``None`` means no cap on that side; ``g > 0`` always holds.
        clamp: ``(lo, hi)`` metres the (aligned) prediction is clamped to before scoring,
            NaN → lo and ±inf → hi/lo; ``None`` = no clamp (non-positive predictions are an error).
        alignment: default alignment mode (see :mod:`depthforge.eval.align`).
        reduction: ``"image"`` (mean of per-image metrics) or ``"pixel"`` (pooled over all pixels).
        gt_variant: the ground truth the protocol expects (``"any"``, ``"raw"``, ``"filled"``,
            ``"velodyne"``, ``"annotated"``, ``"laser"``, ``"relative"``).
        metrics: metric keys this protocol reports.
        task: ``"depth"`` (dense metrics) or ``"ordinal"`` (WHDR on point pairs).
    """

    name: str
    description: str
    crop: Crop | None = None
    min_depth: float | None = None
    max_depth: float | None = None
    clamp: tuple[float, float] | None = None
    alignment: str = "none"
    reduction: Reduction = "image"
    gt_variant: str = "raw"
    metrics: tuple[str, ...] = DEPTH_METRICS
    task: Literal["depth", "ordinal"] = "depth"
    aliases: tuple[str, ...] = field(default=(), compare=False)

    def crop_bounds(self, height: int, width: int) -> tuple[int, int, int, int]:
        """``(top, bottom, left, right)`` of the scored region for GT of ``height × width``."""
        if self.crop is None:
            return 0, height, 0, width
        return self.crop.bounds(height, width)

    def crop_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """Slice the scored region out of ``(..., H, W)`` (a view, no copy)."""
        top, bottom, left, right = self.crop_bounds(x.shape[-2], x.shape[-1])
        return x[..., top:bottom, left:right]

    def valid_mask(self, gt: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Pixels that count (see :func:`depth_valid_mask`) under this protocol's caps.

        Args:
            gt: ``(..., H, W)`` ground-truth depth in metres, already cropped.
            mask: optional boolean of the same shape.
        """
        return depth_valid_mask(gt, mask, self.min_depth, self.max_depth)

    def clamp_prediction(self, pred: torch.Tensor) -> torch.Tensor:
        """Clamp metric depth to ``clamp`` (BTS: NaN → lo, inf → hi); identity when ``clamp`` is None."""
        if self.clamp is None:
            return pred
        lo, hi = self.clamp
        return pred.nan_to_num(nan=lo, posinf=hi, neginf=lo).clamp_(lo, hi)

    def settings(self) -> dict[str, object]:
        """Every setting as plain JSON-ready values (recorded in each result)."""
        crop = None
        if self.crop is not None:
            kind = "pixels" if isinstance(self.crop, FixedCrop) else "fractions"
            crop = {"kind": kind, "top": self.crop.top, "bottom": self.crop.bottom}
            crop |= {"left": self.crop.left, "right": self.crop.right}
            if isinstance(self.crop, FixedCrop):
                crop["shape"] = list(self.crop.shape)
        return {
            "name": self.name,
            "description": self.description,
            "crop": crop,
            "min_depth": self.min_depth,
            "max_depth": self.max_depth,
            "clamp": None if self.clamp is None else list(self.clamp),
            "alignment": self.alignment,
            "reduction": self.reduction,
            "gt_variant": self.gt_variant,
            "metrics": list(self.metrics),
            "task": self.task,
        }


_PROTOCOLS: tuple[Protocol, ...] = (
    Protocol(
        "nyu_eigen",
        "NYU v2 Eigen crop [45:471, 41:601] (426×560), 1e-3 < g < 10, clamp [1e-3, 10], "
        "rawDepths GT, per image (BTS, AdaBins)",
        crop=NYU_EIGEN_CROP,
        min_depth=1e-3,
        max_depth=10.0,
        clamp=(1e-3, 10.0),
        gt_variant="raw",
    ),
    Protocol(
        "nyu_eigen_toolbox",
        "NYU v2 toolbox projection mask [44:471, 40:601] (427×561; MATLAB 45:471, 41:601), "
        "otherwise as nyu_eigen",
        crop=NYU_TOOLBOX_CROP,
        min_depth=1e-3,
        max_depth=10.0,
        clamp=(1e-3, 10.0),
        gt_variant="raw",
    ),
    Protocol(
        "nyu_fcrn",
        "NYU v2 as FCRN error_metrics.m: no crop, filled GT, pixels pooled over the test set",
        reduction="pixel",
        gt_variant="filled",
    ),
    Protocol(
        "nyu_sparse_to_dense",
        "NYU v2 as Ma & Karaman's main.py: the 654 test images resized ½ (nearest) to 240×320, "
        "centre 228×304 [6:234, 8:312], g > 0, no clamp, per image (Sparse-to-Dense)",
        crop=SPARSE_TO_DENSE_CROP,
        gt_variant="filled",
    ),
    Protocol(
        "kitti_eigen",
        "KITTI Eigen split (697), raw velodyne GT (velodyne-x depth), Garg crop, "
        "1e-3 < g < 80, clamp [1e-3, 80] (monodepth2)",
        crop=KITTI_GARG_CROP,
        min_depth=1e-3,
        max_depth=80.0,
        clamp=(1e-3, 80.0),
        gt_variant="velodyne",
        aliases=("kitti_eigen_garg",),
    ),
    Protocol(
        "kitti_eigen_crop",
        "KITTI Eigen split with the Eigen et al. crop fractions, 1e-3 < g < 80, clamp [1e-3, 80]",
        crop=KITTI_EIGEN_CROP,
        min_depth=1e-3,
        max_depth=80.0,
        clamp=(1e-3, 80.0),
        gt_variant="velodyne",
    ),
    Protocol(
        "kitti_eigen_benchmark",
        "KITTI Eigen-benchmark (652 annotated GT maps), mask g > 0 only, no crop, "
        "clamp [1e-3, 80] (monodepth2 eigen_benchmark)",
        clamp=(1e-3, 80.0),
        gt_variant="annotated",
        aliases=("kitti_benchmark",),
    ),
    Protocol(
        "kitti_eigen_benchmark_garg",
        "KITTI annotated GT (652) with Garg crop and 1e-3 < g < 80, clamp [1e-3, 80] "
        "(BTS, AdaBins)",
        crop=KITTI_GARG_CROP,
        min_depth=1e-3,
        max_depth=80.0,
        clamp=(1e-3, 80.0),
        gt_variant="annotated",
    ),
    Protocol(
        "make3d_c1",
        "Make3D C1: pixels with laser GT < 70 m; AbsRel, log10, RMSE (Liu et al. 2014)",
        max_depth=70.0,
        gt_variant="laser",
        metrics=("abs_rel", "log10", "rmse"),
    ),
    Protocol(
        "make3d_c2",
        "Make3D C2: all pixels with laser GT (< 80 m); AbsRel, log10, RMSE (Liu et al. 2014)",
        max_depth=80.0,
        gt_variant="laser",
        metrics=("abs_rel", "log10", "rmse"),
    ),
    Protocol(
        "dense",
        "every pixel with ground truth, no crop, 1e-3 < g < 150, clamp [1e-3, 150], per image "
        "(the synthetic world, your own folders)",
        min_depth=1e-3,
        max_depth=150.0,
        clamp=(1e-3, 150.0),
        gt_variant="any",
        aliases=("synth",),
    ),
    Protocol(
        "diw",
        "Depth in the Wild: WHDR over one annotated point pair per image (Chen et al. 2016)",
        gt_variant="relative",
        metrics=ORDINAL_METRICS,
        task="ordinal",
        aliases=("diw_whdr",),
    ),
)

PROTOCOLS: dict[str, Protocol] = {p.name: p for p in _PROTOCOLS}
_ALIASES: dict[str, str] = {a: p.name for p in _PROTOCOLS for a in p.aliases}


def list_protocols() -> list[str]:
    """Canonical protocol names (aliases such as ``kitti_benchmark`` are accepted too)."""
    return sorted(PROTOCOLS)


def get_protocol(name: str | Protocol) -> Protocol:
    """The protocol called ``name`` (or ``name`` itself when it already is one).

    Raises:
        UnknownNameError: unknown name (a KeyError); the message lists the known ones.
    """
    if isinstance(name, Protocol):
        return name
    key = _ALIASES.get(name, name)
    if key not in PROTOCOLS:
        raise UnknownNameError("protocol", name, list_protocols())
    return PROTOCOLS[key]
