"""Prediction jobs: image files, folders and videos (one depth file per image or frame), and
whole datasets in the layout ``depthforge eval`` reads. The network runs through
:func:`depthforge.models.predict.predict`."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from depthforge.data.collate import same_size_runs
from depthforge.errors import DataError, UnknownNameError
from depthforge.eval.predictions import save_prediction
from depthforge.io import (
    IMAGE_SUFFIXES,
    open_image,
    refuse_overwrite,
    save_depth_npy,
    save_depth_png16,
    save_rgb,
)
from depthforge.models.base import DepthModel
from depthforge.models.io import load_model
from depthforge.models.predict import predict
from depthforge.types import OutputSpace, image_to_tensor
from depthforge.viz import depth_preview

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")


FORMATS = {"npy": ".npy", "png16": ".png", "color": ".png"}


PNG16_SCALE = 1000.0  # png16 output stores millimetres (depth · 1000)


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
    media = IMAGE_SUFFIXES + VIDEO_SUFFIXES
    found: list[Path] = []
    for item in map(Path, inputs):
        if item.is_file():
            found.append(item)
            continue
        if not item.is_dir():
            raise DataError(item, "input not found (expected an image, a video or a folder)")
        inside = sorted(p for p in item.iterdir() if p.is_file() and p.suffix.lower() in media)
        if not inside:
            nested = sum(1 for p in item.rglob("*") if p.suffix.lower() in media)
            raise DataError(
                item,
                f"no image or video directly in this folder, but {nested} in its sub-folders "
                "(not searched): name the sub-folders"
                if nested
                else "no image or video in this folder",
            )
        found.extend(inside)
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
    return image_to_tensor(np.asarray(img, dtype=np.uint8))


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
            yield image_to_tensor(bgr[..., ::-1])
        if count == 0:
            raise DataError(path, "the video holds no decodable frame")
    finally:
        capture.release()


def input_frames(paths: list[Path], summary: PredictSummary) -> Iterator[tuple[str, torch.Tensor]]:
    """``(output name, image)`` for each image, and for each frame of each video
    (``<stem>_<frame:06d>``); unreadable inputs are skipped and recorded in ``summary.skipped``
    (:func:`predict_paths` warns once all are done)."""
    for path in paths:
        try:
            if path.suffix.lower() in VIDEO_SUFFIXES:
                for index, frame in enumerate(video_frames(path)):
                    yield f"{path.stem}_{index:06d}", frame
            else:
                yield path.stem, load_rgb_tensor(path, summary.notes)
        except DataError as exc:
            summary.skipped.append((path, exc.problem))


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
    if format not in FORMATS:
        raise UnknownNameError("--format", format, FORMATS)
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
    frames = input_frames(paths, summary)
    for run in same_size_runs(frames, batch_size, size=lambda frame: frame[1].shape):
        names, batch = [name for name, _ in run], torch.stack([image for _, image in run])
        prediction = predict(model, batch, batch_size=batch_size, size=size)
        summary.output_space = prediction.output_space
        for name, depth in zip(names, prediction.depth[:, 0].cpu().numpy(), strict=True):
            target = out_dir / f"{name}{FORMATS[format]}"
            write_depth(target, depth, format, prediction.output_space)
            summary.written.append(target)
        if progress is not None:
            progress(len(summary.written) + len(summary.skipped), total)
    if not summary.written:  # every input was unreadable: that is an error, not a warning
        path, problem = summary.skipped[0]
        others = (
            f" (and {len(summary.skipped) - 1} more unreadable)" if len(summary.skipped) > 1 else ""
        )
        raise DataError(path, problem + others)
    for path, problem in summary.skipped:
        warnings.warn(f"skipping {path}: {problem}", stacklevel=2)
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
    out_dir = Path(out_dir)
    refuse_overwrite(out_dir, overwrite, folder=True)
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


def synthetic_only_note(model: str | Path) -> str | None:
    """A note when the saved model ``model`` was trained only on the procedural world (its run
    folder's ``config.json`` names ``train_data.dataset: synth``), for predictions on photos."""
    config = Path(model).parent / "config.json"
    if not Path(model).is_dir() or not config.is_file():
        return None
    try:
        trained_on = json.loads(config.read_text()).get("train_data", {}).get("dataset")
    except (ValueError, AttributeError):
        return None
    if trained_on != "synth":
        return None
    return (
        f"{model} was trained only on synthetic scenes ({config}); on photos expect rough depth. "
        "A pretrained model suits photos: see `depthforge models`"
    )
