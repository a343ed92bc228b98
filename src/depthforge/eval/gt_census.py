"""Why no ground-truth pixel counted: a census of the ground truth an evaluation has seen.

When every pixel is dropped, the one-line error says which of these it is and what to do:
every value NaN, every value infinite, every value 0, every value negative (read from the
first sample's depth file where the reader names it, since readers turn all of these into 0),
or every value beyond the protocol's cap, as when depth in millimetres is declared as metres
(the median and the scale that would bring it into range), or below its floor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from depthforge.eval.protocols import Protocol
from depthforge.io.structured import load_npy

KEEP_PER_IMAGE = 4096
"""Valid depths kept per image (evenly strided) for the median."""
COMMON_SCALES = ((1000.0, "millimetres"), (5000.0, "1/5000 m as TUM"), (256.0, "1/256 m as KITTI"))
"""Stored units per metre tried, in this order, to explain depths beyond a protocol's cap."""


@dataclass
class GroundTruthCensus:
    """Counts of the ground-truth pixels seen (``add`` each ``(…, H, W)`` map in metres)."""

    pixels: int = 0
    valid: int = 0
    samples: int = 0
    kept: list[np.ndarray] = field(default_factory=list)
    first_id: str | None = None
    first_file: Path | None = None

    def add(
        self,
        depth: torch.Tensor | np.ndarray,
        sample_id: str | None = None,
        depth_file: str | Path | None = None,
    ) -> None:
        """Count one ground-truth map (metres; 0, negative or non-finite = no measurement).

        Args:
            depth: the map as the reader returned it.
            sample_id: its sample id, named in the explanation.
            depth_file: the file it was read from (``meta["depth_path"]``), inspected by
                :meth:`explain` when nothing is valid.
        """
        d = torch.as_tensor(depth).detach().flatten().cpu().numpy()
        good = d[np.isfinite(d) & (d > 0)]
        if self.samples == 0:
            self.first_id = sample_id
            self.first_file = None if depth_file is None else Path(depth_file)
        self.samples += 1
        self.pixels += d.size
        self.valid += good.size
        if good.size:
            self.kept.append(good[:: max(1, good.size // KEEP_PER_IMAGE)])

    def path(self, default: str | Path | None = None) -> Path | None:
        """The file an error should name: the first sample's depth file, else ``default``."""
        return self.first_file if self.first_file is not None else default

    def _example(self) -> str:
        if self.first_id is None:
            return ""
        if self.samples == 1:
            return f" of sample {self.first_id!r}"
        return f" of all {self.samples} samples (e.g. {self.first_id!r})"

    def explain(self, protocol: Protocol) -> str:
        """Why no pixel survived ``protocol``'s caps and crop, in words a user can act on."""
        if self.valid == 0:
            return self._explain_empty()
        median = float(np.median(np.concatenate(self.kept)))
        top, bottom = protocol.max_depth, protocol.min_depth
        if top is not None and median >= top:
            return (
                f"every valid ground-truth pixel{self._example()} lies beyond the cap of "
                f"protocol {protocol.name!r} ({top:g} m): the median is {median:,.0f} — "
                f"{_suggest_scale(median, bottom or 0.0, top)}"
            )
        if bottom is not None and median <= bottom:
            return (
                f"every valid ground-truth pixel{self._example()} lies below the floor of "
                f"protocol {protocol.name!r} ({bottom:g} m): the median is {median:.3g} — "
                "depth in a unit larger than metres, or divided twice by its scale?"
            )
        return (
            f"no ground-truth pixel{self._example()} lies inside protocol {protocol.name!r}'s "
            f"range and crop (median {median:.3g} m): is this the protocol for this dataset?"
        )

    def _explain_empty(self) -> str:
        """Every pixel 0, negative or non-finite: say which, from the raw file where known."""
        what = _raw_content(self.first_file)
        where = self._example()
        if what == "nan":
            return (
                f"every ground-truth value{where} is NaN (not a number): the depth map holds no "
                "measurement (NaN marks a missing one); is it the right file?"
            )
        if what == "inf":
            return f"every ground-truth value{where} is infinite: no measurement to score"
        if what == "negative":
            return (
                f"every ground-truth value{where} is 0 or negative: depth with the wrong sign, "
                "or not depth (disparity, log depth)?"
            )
        if what == "zero":
            return (
                f"every ground-truth value{where} is 0 (no measurement): an empty depth map; "
                "are these the depth files, with the right reader options?"
            )
        return (
            f"every one of the {self.pixels:,} ground-truth pixels{where} is 0, negative or "
            "not a number (no measurement): are these the depth files, with the right reader "
            "options?"
        )


def _raw_content(path: Path | None) -> str | None:
    """``"nan"``, ``"inf"``, ``"negative"`` or ``"zero"`` when every value of the depth file
    at ``path`` is of that kind (``negative``: some below 0, none positive), ``None`` when
    unknown or mixed. Only ``.npy`` files can hold NaN, infinities or negative values; a
    16-bit PNG that yielded nothing valid is all zeros."""
    if path is None or not path.is_file():
        return None
    if path.suffix.lower() == ".png":
        return "zero"
    if path.suffix.lower() != ".npy":
        return None
    raw = np.asarray(load_npy(path))
    if not np.issubdtype(raw.dtype, np.number) or raw.size == 0:
        return None
    raw = raw.astype(np.float64)
    if np.isnan(raw).all():
        return "nan"
    if np.isinf(raw).all():
        return "inf"
    if (raw == 0).all():
        return "zero"
    if (raw < 0).any() and not (raw > 0).any():
        return "negative"
    return None


def _suggest_scale(median: float, bottom: float, top: float) -> str:
    """What to say about depths whose median ``median`` lies beyond the cap ``top``."""
    for scale, unit in COMMON_SCALES:
        if bottom < median / scale < top:
            return (
                f"{unit} declared as metres? at {scale:g} units per metre the median is "
                f"{median / scale:.3g} m: pass that depth scale to the reader"
            )
    scale = 10.0 ** math.ceil(math.log10(median / top))
    return (
        f"a unit smaller than metres? at {scale:g} units per metre the median is "
        f"{median / scale:.3g} m: pass the depth scale to the reader"
    )
