"""Self-contained HTML reports (images inline as PNG data URIs, charts as inline SVG)."""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

import numpy as np
from PIL import Image

from depthforge.io.image import write_atomic

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{font-size:1.6em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
figure{display:inline-block;margin:4px 8px 8px 0;vertical-align:top;max-width:100%}
figure img{max-width:100%;height:auto}
figcaption{font-size:.8em;color:#555;text-align:center}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f4f4f4}pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.85em}
"""


def png_data_uri(image: np.ndarray) -> str:
    """``(H, W, 3)`` uint8 → ``data:image/png;base64,...``."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, np.uint8)).save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def svg_line_chart(
    series: dict[str, list[tuple[float, float]]],
    *,
    width: int = 640,
    height: int = 260,
    log_y: bool = True,
    x_label: str = "step",
    y_label: str = "loss",
) -> str:
    """A minimal SVG line chart of ``{name: [(x, y), ...]}`` with axes and a legend."""
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    points = [(x, y) for values in series.values() for x, y in values if not log_y or y > 0]
    if not points:
        return "<p>(no data)</p>"
    fy = (lambda y: math.log10(y)) if log_y else (lambda y: y)
    xs = [p[0] for p in points]
    ys = [fy(p[1]) for p in points]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1
    left, right, top, bottom = 60, 130, 10, 40
    w, h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * w

    def sy(y: float) -> float:
        return top + (1 - (fy(y) - y0) / (y1 - y0)) * h

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">']
    parts.append(f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#999"/>')
    for frac in (0.0, 0.5, 1.0):
        yv = y0 + frac * (y1 - y0)
        label = f"{10**yv:.3g}" if log_y else f"{yv:.3g}"
        ypix = top + (1 - frac) * h
        parts.append(
            f'<text x="{left - 5}" y="{ypix + 4}" font-size="11" text-anchor="end">{label}</text>'
        )
    for frac in (0.0, 0.5, 1.0):
        xv = x0 + frac * (x1 - x0)
        parts.append(
            f'<text x="{left + frac * w}" y="{top + h + 15}" font-size="11" text-anchor="middle">{xv:.0f}</text>'
        )
    parts.append(
        f'<text x="{left + w / 2}" y="{height - 5}" font-size="12" text-anchor="middle">{x_label}</text>'
    )
    parts.append(
        f'<text x="14" y="{top + h / 2}" font-size="12" transform="rotate(-90 14 {top + h / 2})" '
        f'text-anchor="middle">{y_label}{" (log)" if log_y else ""}</text>'
    )
    for i, (name, values) in enumerate(series.items()):
        colour = colours[i % len(colours)]
        pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in values if not log_y or y > 0)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{pts}"/>')
        parts.append(
            f'<text x="{left + w + 8}" y="{top + 14 + 16 * i}" font-size="12" fill="{colour}">{html.escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


class HtmlReport:
    """Build a one-file HTML report section by section, then :meth:`save` it atomically."""

    def __init__(self, title: str):
        self.title = title
        self.body: list[str] = [f"<h1>{html.escape(title)}</h1>"]

    def heading(self, text: str) -> None:
        self.body.append(f"<h2>{html.escape(text)}</h2>")

    def paragraph(self, text: str) -> None:
        self.body.append(f"<p>{html.escape(text)}</p>")

    def images(self, captioned: list[tuple[str, np.ndarray]], zoom: int = 1) -> None:
        """A row of images, each with its caption, shown ``zoom`` times larger (pixelated)."""
        for caption, image in captioned:
            width = image.shape[1] * zoom
            self.body.append(
                f'<figure><img src="{png_data_uri(image)}" alt="{html.escape(caption)}" '
                f'width="{width}" style="image-rendering:pixelated">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
        self.body.append("<br>")

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        cells = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
        )
        self.body.append(f"<table><tr>{cells}</tr>{body}</table>")

    def raw_svg(self, svg: str) -> None:
        self.body.append(svg)

    def code(self, text: str) -> None:
        self.body.append(f"<pre>{html.escape(text)}</pre>")

    def render(self) -> str:
        return (
            f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(self.title)}</title>'
            f"<style>{_STYLE}</style></head><body>{''.join(self.body)}</body></html>"
        )

    def save(self, path: str | Path) -> Path:
        text = self.render()
        return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
