"""Run a depth model on images: the one place the resize policy and output spaces are applied.

``predict(model, images)`` takes ``(B, 3, H, W)`` RGB in ``[0, 1]`` at any size and returns
depth at the *input* resolution:

1. the batch is brought to the network size (``size`` or ``model.config.input_size``) by the
   model's policy ``config.resize``: ``"stretch"`` resizes both axes independently;
   ``"keep_aspect"`` scales uniformly to fit, then pads bottom/right by edge replication;
2. the network runs in eval mode without gradients, in chunks of ``batch_size``;
3. the output (after cropping the padded part for ``keep_aspect``) is resized back to
   ``(H, W)`` in the model's declared ``resize_space``
   (:func:`~depthforge.transforms.resize_space.resize_prediction`): monodepth2's disparity is
   resized and then inverted, as its ``evaluate_depth.py`` does; Eigen et al.'s log depth is
   resized as log depth; metric depth as depth;
4. ``LOG_DEPTH`` outputs are exponentiated to metric depth (the :class:`Prediction` records it).

All resizes are bilinear with ``align_corners=False``; downsizing uses antialiasing.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from depthforge.errors import DataError
from depthforge.io import open_image, save_depth_npy, save_depth_png16, save_rgb
from depthforge.models.base import DepthModel
from depthforge.transforms.resize_space import bilinear_resize as resize
from depthforge.transforms.resize_space import resize_prediction
from depthforge.types import OutputSpace, ResizeSpace
from depthforge.viz import depth_preview

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
FORMATS = {"npy": ".npy", "png16": ".png", "color": ".png"}
PNG16_SCALE = 1000.0  # png16 output stores millimetres (depth · 1000)


@dataclass
class Prediction:
    """Depth predicted for a batch.

    Attributes:
        depth: ``(B, 1, H, W)`` float32 at the input resolution, in ``output_space``.
        output_space: what ``depth`` is (``METRIC_DEPTH`` after converting log depth).
        model_output_space: what the network itself outputs (e.g. ``LOG_DEPTH``).
    """

    depth: torch.Tensor
    output_space: OutputSpace
    model_output_space: OutputSpace

    @property
    def converted_from_log(self) -> bool:
        """True when the network's log depth was exponentiated."""
        return self.model_output_space is OutputSpace.LOG_DEPTH


def depth_output(output: object) -> torch.Tensor:
    """The depth tensor of a model's output (a tensor, or a record with a ``depth`` field)."""
    depth = output if isinstance(output, torch.Tensor) else getattr(output, "depth", None)
    if not isinstance(depth, torch.Tensor):
        raise TypeError(f"model output {type(output).__name__} carries no depth tensor")
    return depth


def network_size(model: DepthModel, size: tuple[int, int] | None) -> tuple[int, int]:
    """The ``(H, W)`` the network runs at; a fixed-size model refuses any other ``size``."""
    native = tuple(model.config.input_size)
    if size is None:
        return native  # type: ignore[return-value]
    size = (int(size[0]), int(size[1]))
    if model.fixed_input_size and size != native:
        raise ValueError(
            f"{type(model).__name__} has fully connected layers and runs only at {native}, "
            f"not {size}"
        )
    return size


def fit_inside(height: int, width: int, target: tuple[int, int]) -> tuple[int, int]:
    """Largest ``(h, w)`` with the aspect of ``height × width`` inside ``target``."""
    scale = min(target[0] / height, target[1] / width)
    return max(1, min(target[0], round(height * scale))), max(
        1, min(target[1], round(width * scale))
    )


@torch.no_grad()
def predict(
    model: DepthModel,
    images: torch.Tensor,
    batch_size: int = 8,
    size: tuple[int, int] | None = None,
    sparse: torch.Tensor | None = None,
) -> Prediction:
    """Predict depth for ``images`` at their own resolution (see the module docstring).

    Args:
        model: a depth model (``model.output_space`` not None).
        images: ``(B, 3, H, W)`` float RGB in ``[0, 1]``.
        batch_size: images per forward pass.
        size: network input ``(H, W)``; default ``model.config.input_size``. Fully convolutional
            models accept any size; fixed-size models only their own.
        sparse: ``(B, 1, H, W)`` sparse depth in metres (0 = no sample) for a model with
            ``takes_sparse`` (depth completion); moved to the network size by
            :func:`~depthforge.models.sparse_to_dense.resize_sparse`, zero-padded.

    Returns:
        :class:`Prediction` with ``depth`` ``(B, 1, H, W)`` on the images' device.
    """
    if model.output_space is None:
        raise ValueError(f"{type(model).__name__} does not predict depth")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be ≥ 1, got {batch_size}")
    if getattr(model, "takes_sparse", False) != (sparse is not None):
        need = "needs sparse depth (sparse=...)" if sparse is None else "takes no sparse depth"
        raise ValueError(f"{type(model).__name__} {need}")
    if sparse is not None and sparse.shape != (images.shape[0], 1, *images.shape[-2:]):
        raise ValueError(
            f"sparse must be {(images.shape[0], 1, *images.shape[-2:])}, got {tuple(sparse.shape)}"
        )
    target = network_size(model, size)
    height, width = images.shape[-2:]
    fitted = target if model.config.resize == "stretch" else fit_inside(height, width, target)
    param = next(model.parameters())
    was_training = model.training
    model.eval()
    chunks = []
    try:
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            x = resize(chunk.to(device=param.device, dtype=param.dtype), fitted)
            pad = (0, target[1] - fitted[1], 0, target[0] - fitted[0])
            inputs = [F.pad(x, pad, mode="replicate") if any(pad) else x]
            if sparse is not None:
                from depthforge.models.sparse_to_dense import resize_sparse

                s = sparse[start : start + batch_size].to(device=param.device, dtype=param.dtype)
                inputs.append(F.pad(resize_sparse(s, fitted), pad))
            chunks.append(depth_output(model(*inputs)).float())
    finally:
        model.train(was_training)
    raw = torch.cat(chunks)
    out_h, out_w = raw.shape[-2:]
    # Crop the part of the output that saw padding (keep_aspect); a no-op for "stretch".
    raw = raw[
        ..., : math.ceil(out_h * fitted[0] / target[0]), : math.ceil(out_w * fitted[1] / target[1])
    ]
    space = model.output_space
    how = getattr(model, "resize_space", ResizeSpace.DEPTH)  # DepthModel default
    depth = resize_prediction(raw, (height, width), space, how)
    if space is OutputSpace.LOG_DEPTH:
        depth = depth.exp()
    depth = depth.to(images.device)
    final = OutputSpace.METRIC_DEPTH if space is OutputSpace.LOG_DEPTH else space
    return Prediction(depth=depth, output_space=final, model_output_space=space)


@dataclass
class PredictSummary:
    """What :func:`predict_paths` did.

    Attributes:
        written: output files, in input order.
        skipped: ``(image path, reason)`` for unreadable images.
        notes: conversions applied (greyscale/RGBA/palette → RGB), one line per image.
        output_space: space of the written depth.
    """

    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    output_space: OutputSpace | None = None


def collect_images(inputs: Iterable[str | Path]) -> list[Path]:
    """Image and video files named by ``inputs`` (files, or folders whose image and video files
    are taken sorted)."""
    found: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found.extend(
                sorted(
                    p
                    for p in item.iterdir()
                    if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES
                )
            )
        elif item.is_file():
            found.append(item)
        else:
            raise DataError(item, "input not found (expected an image, a video or a folder)")
    stems: dict[str, Path] = {}
    for path in found:
        if path.stem in stems:
            raise DataError(
                path, f"two inputs share the output name {path.stem!r} (also {stems[path.stem]})"
            )
        stems[path.stem] = path
    return found


def load_rgb_tensor(path: Path, notes: list[str]) -> torch.Tensor:
    """``(3, H, W)`` float RGB in ``[0, 1]``; greyscale/RGBA/palette images are converted (noted)."""
    img = open_image(path)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        raise DataError(path, f"a {img.mode} image is not a photo (a depth map?)")
    if img.mode != "RGB":
        how = "alpha dropped" if "A" in img.mode else "converted"
        notes.append(f"{path}: {img.mode} image {how} → RGB")
        img = img.convert("RGB")
    array = np.asarray(img, dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div_(255.0)


def video_frames(path: Path) -> Iterator[torch.Tensor]:
    """The frames of a video as ``(3, H, W)`` float RGB in ``[0, 1]`` (decoded with OpenCV)."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise DataError(path, "cannot open the video (corrupt, or a codec OpenCV lacks)")
    try:
        count = 0
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            count += 1
            yield torch.from_numpy(bgr[..., ::-1].copy()).permute(2, 0, 1).float().div_(255.0)
        if count == 0:
            raise DataError(path, "the video holds no decodable frame")
    finally:
        capture.release()


def input_frames(paths: list[Path], summary: PredictSummary) -> Iterator[tuple[str, torch.Tensor]]:
    """``(output name, image)`` for each image, and for each frame of each video
    (``<stem>_<frame:06d>``); unreadable inputs are skipped with a warning and recorded in
    ``summary.skipped``."""
    for path in paths:
        try:
            if path.suffix.lower() in VIDEO_SUFFIXES:
                for index, frame in enumerate(video_frames(path)):
                    yield f"{path.stem}_{index:06d}", frame
            else:
                yield path.stem, load_rgb_tensor(path, summary.notes)
        except DataError as exc:
            warnings.warn(f"skipping {exc}", stacklevel=3)
            summary.skipped.append((path, exc.problem))


def same_size_batches(
    frames: Iterator[tuple[str, torch.Tensor]], batch_size: int
) -> Iterator[tuple[list[str], torch.Tensor]]:
    """Runs of at most ``batch_size`` consecutive equal-sized images, with their names."""
    pending: list[tuple[str, torch.Tensor]] = []
    for name, image in frames:
        if pending and (len(pending) == batch_size or pending[0][1].shape != image.shape):
            yield [n for n, _ in pending], torch.stack([t for _, t in pending])
            pending = []
        pending.append((name, image))
    if pending:
        yield [n for n, _ in pending], torch.stack([t for _, t in pending])


def write_depth(path: Path, depth: np.ndarray, fmt: str, space: OutputSpace) -> None:
    """Write one ``(H, W)`` depth map in ``fmt`` atomically."""
    if fmt == "npy":
        save_depth_npy(path, depth)
    elif fmt == "png16":
        save_depth_png16(path, depth, scale=PNG16_SCALE)
    else:
        save_rgb(path, depth_preview(depth, unit="m" if space.is_metric else "(rel.)"))


def predict_paths(
    model_or_folder: DepthModel | str | Path,
    inputs: Iterable[str | Path],
    out_dir: str | Path,
    format: str = "npy",
    batch_size: int = 4,
    size: tuple[int, int] | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> PredictSummary:
    """Predict depth for image files and folders and write one file per image into ``out_dir``.

    Args:
        model_or_folder: a model, or a folder saved by :func:`depthforge.models.save_model`.
        inputs: image files, video files (one output per frame, ``<stem>_<frame:06d>``) and/or
            folders of them.
        out_dir: output folder, ``<stem>.npy`` (float32 metres), ``<stem>.png`` (``png16``:
            uint16 millimetres, 0 = invalid) or ``<stem>.png`` (``color``: preview + legend).
        format: ``"npy"``, ``"png16"`` or ``"color"``.
        batch_size, size: as in :func:`predict`.
        overwrite: allow writing into a folder that already holds ``.npy``/``.png`` results.
        progress: called as ``progress(done, total)`` after each batch (``total`` is None
            when a video is among the inputs: its length is known only once decoded).

    Returns:
        :class:`PredictSummary`; unreadable images are skipped (warned) and listed there.

    Raises:
        DataError: missing input, duplicate output names, or results already in ``out_dir``.
    """
    from depthforge.models.io import load_model

    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    out_dir = Path(out_dir)
    if not overwrite and out_dir.is_dir():
        existing = sorted(p.name for p in out_dir.iterdir() if p.suffix in (".npy", ".png"))
        if existing:
            raise DataError(
                out_dir,
                f"already holds results ({existing[0]}, ... {len(existing)} files); "
                "pass overwrite=True (--overwrite) or choose another folder",
            )
    model = (
        model_or_folder if isinstance(model_or_folder, DepthModel) else load_model(model_or_folder)
    )
    paths = collect_images(inputs)
    has_video = any(p.suffix.lower() in VIDEO_SUFFIXES for p in paths)
    total = None if has_video else len(paths)  # a video's length is known only once decoded
    summary = PredictSummary()
    for names, batch in same_size_batches(input_frames(paths, summary), batch_size):
        prediction = predict(model, batch, batch_size=batch_size, size=size)
        summary.output_space = prediction.output_space
        for name, depth in zip(names, prediction.depth[:, 0].cpu().numpy(), strict=True):
            target = out_dir / f"{name}{FORMATS[format]}"
            write_depth(target, depth, format, prediction.output_space)
            summary.written.append(target)
        if progress is not None:
            progress(len(summary.written) + len(summary.skipped), total)
    return summary


def predict_dataset(
    model_or_folder: DepthModel | str | Path,
    dataset,
    out_dir: str | Path,
    *,
    batch_size: int = 4,
    size: tuple[int, int] | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Predict every sample of a dataset into ``out_dir`` in the layout ``depthforge eval`` reads
    (:func:`depthforge.eval.save_prediction`: one ``.npy`` per sample id, at its resolution).

    Consecutive samples of equal size share a forward pass.

    Returns:
        The number of predictions written.
    """
    from depthforge.data.collate import same_size_runs
    from depthforge.eval.predictions import save_prediction
    from depthforge.models.io import load_model

    out_dir = Path(out_dir)
    if not overwrite and out_dir.is_dir() and any(out_dir.iterdir()):
        raise DataError(out_dir, "already holds files; pass overwrite=True (--overwrite)")
    model = (
        model_or_folder if isinstance(model_or_folder, DepthModel) else load_model(model_or_folder)
    )
    total, done = len(dataset), 0
    for run in same_size_runs(dataset, batch_size):
        images = torch.stack([s.image for s in run])
        depth = predict(model, images, batch_size=batch_size, size=size).depth[:, 0].cpu().numpy()
        for sample, d in zip(run, depth, strict=True):
            save_prediction(out_dir, sample.id, d)
        done += len(run)
        if progress is not None:
            progress(done, total)
    return total
