"""Predictions on disk, and scoring a folder of them against a dataset.

Layout: one file per sample in a flat folder, named by :func:`prediction_filename`:

* ``<name>.npy``: float32 ``(H, W)`` (or ``(1, H, W)``) in the prediction's output space
  (metres for metric depth; any real values for relative spaces);
* ``<name>.png``: 16-bit PNG storing ``value · png_scale`` (default 1000, i.e. millimetres);
  only for non-negative maps such as metric depth.

Sample ids may contain ``/`` and spaces (KITTI: ``2011_09_26/2011_09_26_drive_0002_sync
0000000069 l``). ``<name>`` is the id percent-encoded as RFC 3986 does for a path segment
(``urllib.parse.quote(id, safe="")``): letters, digits and ``_.-~`` stay, every other byte of
the UTF-8 id becomes ``%XX``. The mapping is one-to-one (``%`` itself is encoded), keeps NYU-style
ids (``00001``) unchanged and never creates sub-folders; :func:`sample_id_from_filename` inverts it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote, unquote

import numpy as np
import torch

from depthforge.data.base import DepthDataset
from depthforge.errors import DataError
from depthforge.eval.evaluator import Evaluator
from depthforge.eval.gt_census import GroundTruthCensus
from depthforge.eval.metrics import NoValidPixelError
from depthforge.eval.protocols import Protocol, get_protocol
from depthforge.eval.report import EvalResult
from depthforge.io.depth import read_uint16_png, save_depth_png16
from depthforge.io.image import save_array
from depthforge.io.structured import load_npy
from depthforge.transforms.resize_space import (
    check_resize_space,
    resize_prediction,
    stored_resize_space,
)
from depthforge.types import OutputSpace, ResizeSpace

PREDICTION_SUFFIXES = (".npy", ".png")
# Ground-truth variants readers put in ``Sample.meta["depth_kind"]`` that protocols name.
KNOWN_GT_VARIANTS = frozenset({"raw", "filled", "velodyne", "annotated", "laser"})


def prediction_filename(sample_id: str, suffix: str = ".npy") -> str:
    """File name (no folder) of the prediction for ``sample_id``: percent-encoded id + suffix.

    Example:
        >>> prediction_filename("2011_09_26/2011_09_26_drive_0002_sync 0000000069 l")
        '2011_09_26%2F2011_09_26_drive_0002_sync%200000000069%20l.npy'
    """
    if not sample_id:
        raise ValueError("sample id must be a non-empty string")
    if suffix not in PREDICTION_SUFFIXES:
        raise ValueError(f"suffix must be one of {PREDICTION_SUFFIXES}, got {suffix!r}")
    return quote(sample_id, safe="") + suffix


def sample_id_from_filename(name: str) -> str:
    """Inverse of :func:`prediction_filename` (``name`` with its suffix)."""
    stem, suffix = name.rsplit(".", 1) if "." in name else (name, "")
    if f".{suffix}" not in PREDICTION_SUFFIXES:
        raise ValueError(f"{name!r} is not a prediction file ({', '.join(PREDICTION_SUFFIXES)})")
    return unquote(stem)


def _drop_channel(arr: np.ndarray) -> np.ndarray:
    """``(1, H, W)`` → ``(H, W)``; other shapes unchanged (an ``(1, W)`` row stays 2-D)."""
    return arr[0] if arr.ndim == 3 and arr.shape[0] == 1 else arr


def save_prediction(
    pred_dir: str | Path,
    sample_id: str,
    prediction,
    *,
    file_format: str = "npy",
    png_scale: float = 1000.0,
) -> Path:
    """Write one prediction atomically where :func:`read_prediction` finds it.

    Args:
        pred_dir: the predictions folder.
        sample_id: the dataset's sample id.
        prediction: ``(H, W)`` or ``(1, H, W)`` array/tensor.
        file_format: ``"npy"`` (float32, any values) or ``"png"`` (16-bit, non-negative).
        png_scale: stored units per prediction unit for ``"png"``.
    """
    arr = prediction.detach().cpu().numpy() if isinstance(prediction, torch.Tensor) else prediction
    arr = _drop_channel(np.asarray(arr, dtype=np.float32))
    if arr.ndim != 2:
        raise ValueError(f"prediction for {sample_id!r} must be (H, W), got shape {arr.shape}")
    if file_format == "npy":
        return save_array(Path(pred_dir) / prediction_filename(sample_id, ".npy"), arr)
    if file_format == "png":
        return save_depth_png16(
            Path(pred_dir) / prediction_filename(sample_id, ".png"), arr, png_scale
        )
    raise ValueError(f"file_format must be 'npy' or 'png', got {file_format!r}")


def read_prediction(
    pred_dir: str | Path, sample_id: str, *, png_scale: float = 1000.0
) -> np.ndarray | None:
    """``(H, W)`` float32 prediction of ``sample_id``, or ``None`` when neither file exists.

    ``.npy`` values are returned as stored (NaN/inf included: a protocol clamp handles them);
    ``.png`` values are divided by ``png_scale``.

    Raises:
        DataError: unreadable file, wrong shape or dtype, or both a ``.npy`` and a ``.png``.
    """
    folder = Path(pred_dir)
    found = [folder / prediction_filename(sample_id, s) for s in PREDICTION_SUFFIXES]
    found = [p for p in found if p.is_file()]
    if not found:
        return None
    if len(found) > 1:
        raise DataError(found[0], f"both {found[0].name} and {found[1].name} exist; keep one")
    path = found[0]
    if path.suffix == ".png":
        if png_scale <= 0:
            raise ValueError(f"png_scale must be positive, got {png_scale}")
        return read_uint16_png(path).astype(np.float32) / np.float32(png_scale)
    arr = load_npy(path)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise DataError(path, f"expected a numeric prediction, got dtype {arr.dtype}")
    arr = _drop_channel(arr)
    if arr.ndim != 2:
        raise DataError(path, f"expected an (H, W) prediction, got shape {arr.shape}")
    return arr.astype(np.float32)


def _match_size(
    pred: np.ndarray,
    size: tuple[int, int],
    resize: ResizeSpace | None,
    output_space: OutputSpace,
    path: Path,
) -> torch.Tensor:
    t = torch.from_numpy(pred)
    if tuple(t.shape) == size:
        return t
    if resize is None:
        raise DataError(
            path,
            f"prediction is {t.shape[1]}×{t.shape[0]} (W×H) but the ground truth is "
            f"{size[1]}×{size[0]}; save predictions at GT resolution or pass resize=True",
        )
    # Half-pixel centres without antialiasing, i.e. cv2.resize with INTER_LINEAR.
    try:
        return resize_prediction(t[None, None], size, output_space, resize, antialias=False)[0, 0]
    except ValueError as exc:
        raise DataError(path, str(exc)) from None


def evaluate_predictions(
    pred_dir: str | Path,
    dataset: DepthDataset,
    protocol: str | Protocol = "nyu_eigen",
    align: str | None = None,
    output_space: str | OutputSpace = OutputSpace.METRIC_DEPTH,
    *,
    png_scale: float = 1000.0,
    resize: bool = False,
    resize_space: str | ResizeSpace | None = None,
    allow_missing: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> EvalResult:
    """Score a folder of saved predictions against ``dataset`` under ``protocol``.

    Args:
        pred_dir: folder of ``<prediction_filename(id)>`` files.
        dataset: the evaluation split; GT is used at its native resolution.
        protocol: protocol or name (crop, caps, clamp, reduction, metric set).
        align: alignment mode (``None`` = the protocol's default, ``"none"``).
        output_space: what the saved maps are (relative spaces need ``align``).
        png_scale: units per metre of 16-bit PNG predictions.
        resize: bilinearly resize predictions whose size differs from the GT (otherwise a
            size mismatch is a :class:`DataError`), with half-pixel centres and no
            antialiasing (``cv2.resize``).
        resize_space: where that resize interpolates
            (:func:`~depthforge.transforms.resize_space.resize_prediction`): the space the
            network regressed, e.g. ``"disparity"`` for monodepth2-style outputs saved as
            ``scale_invariant_depth`` (monodepth2's ``evaluate_depth.py`` order: resize the
            disparity, invert, crop, median-scale, clamp). ``None`` resizes the maps as stored
            (``depth``; ``log_depth`` for log depth, ``disparity`` for affine-invariant
            disparity).
        allow_missing: skip samples without a prediction (listed in ``missing_ids``) instead of
            raising.
        progress: called as ``progress(done, total)`` after each sample.

    Returns:
        an :class:`EvalResult` recording the protocol and every setting.

    Raises:
        DataError: missing folder or prediction, unreadable file, size mismatch.
        OutputSpaceError: a relative ``output_space`` without a suitable ``align``.
    """
    folder = Path(pred_dir)
    if not folder.is_dir():
        raise DataError(folder, "predictions folder not found")
    proto = get_protocol(protocol)
    evaluator = Evaluator(proto, align=align, output_space=output_space)
    space, how = check_resize_space(
        output_space, stored_resize_space(output_space) if resize_space is None else resize_space
    )
    missing: list[str] = []
    gt_variants: set[str] = set()
    census = GroundTruthCensus()
    # read only what scoring uses: no RGB, normals or labels (readers that can skip them do)
    needed = ("pairs", "relations") if proto.task == "ordinal" else ()
    dataset = dataset.with_fields("depth", "mask", *needed)
    total = len(dataset)
    for index in range(total):
        sample = dataset[index]
        pred = read_prediction(folder, sample.id, png_scale=png_scale)
        if pred is None:
            if not allow_missing:
                name = prediction_filename(sample.id)
                raise DataError(
                    folder / name, f"no prediction for sample {sample.id!r} (.npy or .png)"
                )
            missing.append(sample.id)
        else:
            gt_variants.add(str(sample.meta.get("depth_kind", "unknown")))
            size = (int(sample.depth.shape[-2]), int(sample.depth.shape[-1]))
            path = folder / prediction_filename(sample.id)
            t = _match_size(pred, size, how if resize else None, space, path)
            evaluator.add(t, sample=sample)
            census.add(sample.depth, sample.id, sample.meta.get("depth_path"))
        if progress is not None:
            progress(index + 1, total)
    if len(evaluator) == 0:
        raise DataError(folder, f"none of the {total} samples has a prediction here")
    clash = (
        set()
        if proto.gt_variant == "any"
        else (gt_variants & KNOWN_GT_VARIANTS) - {proto.gt_variant}
    )
    if clash:
        warnings.warn(
            f"protocol {proto.name!r} expects {proto.gt_variant!r} ground truth but the dataset "
            f"provides {sorted(clash)}; the numbers are not comparable with published ones",
            stacklevel=2,
        )
    try:
        result = evaluator.result(
            predictions=str(folder),
            dataset=dataset.name,
            n_samples=total,
            png_scale=png_scale,
            resize=resize,
            resize_space=how.value if resize else None,
            gt_variants_seen=sorted(gt_variants),
        )
    except NoValidPixelError:
        raise DataError(
            census.path(getattr(dataset, "root", None)), census.explain(proto)
        ) from None
    return replace(result, missing_ids=tuple(missing))
