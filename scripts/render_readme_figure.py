"""Make the README figure ``docs/images/synth_frame.png``: one indoor and one outdoor frame of the
synthetic world, as RGB | depth (colour-mapped, metres on a colour bar) | normals.

Usage::

    python scripts/render_readme_figure.py [--out docs/images/synth_frame.png] [--size 256x192]

Needs only NumPy and Pillow; the colours are those of :mod:`depthforge.viz`.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from depthforge.synth.dataset import SynthDataset, parse_size
from depthforge.viz import colorize_depth, colour_map, normals_to_rgb

TICKS = (0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 50.0, 100.0)
BAR_HEIGHT, LABEL_HEIGHT, HEADER = 10, 16, 18
# (kind, seed, frame) of the two frames shown.
FRAMES = (("indoor", 2, 4), ("outdoor", 1, 4))


def colour_bar(width: int, near: float, far: float, font) -> Image.Image:
    """A horizontal colour bar for :func:`depthforge.viz.colorize_depth` with metre ticks."""
    bar = np.repeat(colour_map(1.0 - np.linspace(0.0, 1.0, width))[None], BAR_HEIGHT, axis=0)
    canvas = Image.new("RGB", (width, BAR_HEIGHT + LABEL_HEIGHT), "white")
    canvas.paste(Image.fromarray(bar), (0, 0))
    draw = ImageDraw.Draw(canvas)
    last = -math.inf
    for tick in TICKS:
        x = round((math.log(tick) - math.log(near)) / math.log(far / near) * (width - 1))
        if near <= tick <= far and x - last >= 36:  # skip ticks whose labels would overlap
            last = x
            draw.line([(x, BAR_HEIGHT - 3), (x, BAR_HEIGHT + 1)], fill="black")
            text = f"{tick:g} m"
            left = min(max(0, x - draw.textlength(text, font=font) / 2), width - 40)
            draw.text((left, BAR_HEIGHT + 2), text, fill="black", font=font)
    return canvas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/images/synth_frame.png")
    parser.add_argument("--size", default="256x192", help="panel size WIDTHxHEIGHT")
    args = parser.parse_args()
    width, height = parse_size(args.size)
    font = ImageFont.load_default()

    row_height = height + BAR_HEIGHT + LABEL_HEIGHT
    figure = Image.new("RGB", (3 * width, HEADER + len(FRAMES) * row_height), "white")
    draw = ImageDraw.Draw(figure)
    for col, title in enumerate(("RGB", "z-depth (log scale)", "normals (camera frame)")):
        draw.text((col * width + 4, 3), title, fill="black", font=font)
    for row, (kind, seed, frame) in enumerate(FRAMES):
        data = SynthDataset(scenes=1, frames=frame + 1, size=(width, height), kind=kind, seed=seed)
        sample = data[frame]
        image = np.round(sample.image.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        depth = sample.depth[0].numpy()
        valid = depth[depth > 0]
        near, far = 0.95 * float(valid.min()), 1.05 * float(valid.max())
        top = HEADER + row * row_height
        figure.paste(Image.fromarray(image), (0, top))
        figure.paste(Image.fromarray(colorize_depth(depth, near, far)), (width, top))
        figure.paste(
            Image.fromarray(normals_to_rgb(sample.normals.numpy(), depth > 0)), (2 * width, top)
        )
        figure.paste(colour_bar(width, near, far, font), (width, top + height))
        caption = f"{kind}, fov {data.fov:g}°"
        draw.text((4, top + height + 2), caption, fill="black", font=font)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # A 256-colour palette keeps the figure small (~40 KB instead of ~140 KB in full colour).
    figure.quantize(colors=256, dither=Image.Dither.NONE).save(out, optimize=True)
    print(f"wrote {out} ({out.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
