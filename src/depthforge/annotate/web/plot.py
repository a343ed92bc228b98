"""The admin page's plot: per-annotator gold accuracy as horizontal bars, inline SVG (no plotting
library, no script)."""

from __future__ import annotations

from markupsafe import Markup, escape

ROW = 22
LABEL_WIDTH = 140
BAR_WIDTH = 300


def accuracy_chart(annotators: list[dict]) -> Markup:
    """An ``<svg>`` with one bar per annotator (gold accuracy 0–100 %, grey when none yet) and
    a dashed line at 50 %."""
    height = ROW * max(len(annotators), 1) + 24
    width = LABEL_WIDTH + BAR_WIDTH + 60
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="gold accuracy per annotator" xmlns="http://www.w3.org/2000/svg">'
    ]
    for row, person in enumerate(annotators):
        y = row * ROW + 4
        accuracy = person["gold_accuracy"]
        name = escape(person["name"])
        parts.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 14}" text-anchor="end">{name}</text>')
        if accuracy is None:
            parts.append(
                f'<text x="{LABEL_WIDTH + 4}" y="{y + 14}" class="muted">no gold yet</text>'
            )
            continue
        bar = round(BAR_WIDTH * accuracy, 1)
        parts.append(
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{bar}" height="{ROW - 6}" class="bar"/>'
        )
        parts.append(
            f'<text x="{LABEL_WIDTH + bar + 4}" y="{y + 14}">{100 * accuracy:.0f}% '
            f"({person['gold_answered']})</text>"
        )
    axis_y = ROW * max(len(annotators), 1) + 4
    half = LABEL_WIDTH + BAR_WIDTH / 2
    parts.append(
        f'<line x1="{half}" y1="0" x2="{half}" y2="{axis_y}" class="chance"/>'
        f'<text x="{half}" y="{axis_y + 14}" text-anchor="middle" class="muted">50%</text></svg>'
    )
    return Markup("".join(parts))
