"""The result of an evaluation: metrics that never travel without the protocol that made them."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from depthforge.eval.protocols import Protocol
from depthforge.io.image import write_atomic

# Lower is better for every metric except the δ accuracies.
HIGHER_IS_BETTER = frozenset({"d1", "d2", "d3"})


@dataclass(frozen=True)
class EvalResult:
    """Metrics of one evaluation run.

    Attributes:
        protocol: the protocol that produced them (every setting is written with the result).
        metrics: metric name → value (δ as fractions, WHDR as a fraction, SILog ×100).
        n_images: images that contributed.
        excluded_ids: ids of images without a valid GT pixel (left out of the mean).
        missing_ids: ids without a prediction file (only with ``allow_missing``).
        settings: everything else that changes the numbers: alignment, output space,
            reduction, prediction folder and format, resizing, GT variant seen, ...
        extras: diagnostics that are not metrics (e.g. alignment scale statistics).
    """

    protocol: Protocol
    metrics: dict[str, float]
    n_images: int
    excluded_ids: tuple[str, ...] = ()
    missing_ids: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, float] = field(default_factory=dict)

    @property
    def n_excluded(self) -> int:
        """Images left out because they had no valid ground-truth pixel."""
        return len(self.excluded_ids)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record: protocol (all settings), run settings, metrics, counts and ids."""
        return {
            "protocol": self.protocol.settings(),
            "settings": dict(self.settings),
            "metrics": _finite_or_none(self.metrics),
            "n_images": self.n_images,
            "n_excluded": self.n_excluded,
            "excluded_ids": list(self.excluded_ids),
            "n_missing": len(self.missing_ids),
            "missing_ids": list(self.missing_ids),
            "extras": _finite_or_none(self.extras),
        }

    def to_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as indented JSON, atomically. Returns ``path``."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"
        return write_atomic(path, lambda tmp: tmp.write_text(text))


def _finite_or_none(values: dict[str, float]) -> dict[str, float | None]:
    """JSON has no NaN/inf: write such values as null (e.g. a scale spread around a zero median)."""
    return {k: (float(v) if math.isfinite(v) else None) for k, v in values.items()}


def _format(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.2f}"


def render_table(results: EvalResult | Sequence[EvalResult], labels: Sequence[str] = ()) -> Table:
    """A rich table with one row per metric and one column per result (arrows say which way
    is better), then the image and exclusion counts; the caption names the protocol(s).

    Metrics run down the rows so that the nine standard metrics fit an 80-column terminal.

    Args:
        results: one result or several (e.g. several models under one protocol).
        labels: column labels (default: the prediction folder from ``settings`` or the index).
    """
    items = [results] if isinstance(results, EvalResult) else list(results)
    if not items:
        raise ValueError("no results to render")
    keys: list[str] = []
    for r in items:
        keys += [k for k in r.metrics if k not in keys]
    protocols = sorted({r.protocol.name for r in items})
    table = Table(caption=f"protocol: {', '.join(protocols)}")
    table.add_column("metric")
    for i, r in enumerate(items):
        label = labels[i] if i < len(labels) else str(r.settings.get("predictions", i))
        table.add_column(Text(str(label)), justify="right", overflow="fold")  # a path, not markup
    for key in keys:
        arrow = "↑" if key in HIGHER_IS_BETTER else "↓"
        table.add_row(
            f"{key} {arrow}",
            *(_format(r.metrics[key]) if key in r.metrics else "—" for r in items),
        )
    table.add_row("images", *(str(r.n_images) for r in items), end_section=False)
    table.add_row("excluded", *(str(r.n_excluded) for r in items))
    return table
