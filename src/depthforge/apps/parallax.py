"""``depthforge parallax``: a "3D photo" video of one photo and its depth, optionally a stereo
pair and an anaglyph (the renderer is :mod:`depthforge.render.views`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depthforge.apps.depth_input import DepthSource, resolve_intrinsics
from depthforge.apps.pointcloud import check_inputs
from depthforge.errors import DataError, DepthforgeError
from depthforge.io import atomic_path, read_rgb, refuse_overwrite, save_rgb
from depthforge.render.depth import depth_in_metres, fill_depth_holes
from depthforge.render.views import (
    ANAGLYPH_METHODS,
    DEFAULT_PARALLAX,
    anaglyph,
    default_baseline,
    parallax_amplitude,
    render_views,
    scene_range,
    stereo_pair,
    swing_path,
)
from depthforge.types import OutputSpace

# The dolly goes at most 10 % of the near depth forward: it magnifies the nearest surface by at
# most 1/(1 − 0.1) ≈ 1.11×, well inside the 1.5× that the splats cover without cracks.
MAX_DOLLY_PER_NEAR_DEPTH = 0.1
VIDEO_SUFFIXES = (".mp4", ".gif", ".webp")


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


def read_rgbd(image: str | Path, source: DepthSource) -> tuple[np.ndarray, np.ndarray, str, Path]:
    """``(rgb, depth, units, source)``: the photo, its depth (a file decoded into metres, or a
    model's prediction), ``"metres"`` or a note on arbitrary units (relative model output is
    used in its own units: parallax needs no scale), and the file the depth came from."""
    rgb = read_rgb(image)
    raw, space, origin = source.read(rgb, image)
    relative = space is not OutputSpace.METRIC_DEPTH
    z, units = depth_in_metres(raw, space, allow_unit_scale=relative)
    return rgb, z, units, origin


def _check_output(path: Path | None, suffixes: tuple[str, ...], overwrite: bool) -> None:
    if path is None:
        return
    if path.suffix.lower() not in suffixes:
        raise ValueError(f"{path}: use one of {', '.join(suffixes)}")
    refuse_overwrite(path, overwrite)


def parallax_command(
    image: str | Path,
    out: str | Path,
    source: DepthSource,
    *,
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
        source: a depth file registered to ``image``, or a model (any output space but
            ordinal; relative depth is used in its own units).
        intrinsics, fov: the camera (:func:`~depthforge.apps.depth_input.resolve_intrinsics`);
            neither: :data:`~depthforge.apps.depth_input.DEFAULT_FOV`.
        Pixels without depth take the depth of their nearest valid pixel
        (:func:`~depthforge.render.depth.fill_depth_holes`), so every pixel moves with its
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
    rgb, z, units, origin = read_rgbd(image, source)
    height, width = rgb.shape[:2]
    K = resolve_intrinsics(width, height, intrinsics=intrinsics, fov=fov)
    try:  # sizes (both named), K; then every hole takes its nearest valid depth
        check_inputs(rgb, z, K)
        z = fill_depth_holes(z)
    except ValueError as exc:
        raise DataError(origin, f"{exc} (image {image})") from None
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
