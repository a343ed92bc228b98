"""Why no ground-truth pixel counted: a census of the ground truth an evaluation has seen.

When every pixel is dropped (missing measurements, or all beyond the protocol's caps, as when
depth in millimetres is declared as metres), the one-line error says which and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from depthforge.eval.protocols import Protocol

KEEP_PER_IMAGE = 4096
"""Valid depths kept per image (evenly strided) for the median."""


@dataclass
class GroundTruthCensus:
    """Counts of the ground-truth pixels seen (``add`` each ``(…, H, W)`` map in metres)."""

    pixels: int = 0
    valid: int = 0
    kept: list[np.ndarray] = field(default_factory=list)

    def add(self, depth: torch.Tensor | np.ndarray) -> None:
        """Count one ground-truth map (metres; 0, negative or non-finite = no measurement)."""
        d = torch.as_tensor(depth).detach().flatten().cpu().numpy()
        good = d[np.isfinite(d) & (d > 0)]
        self.pixels += d.size
        self.valid += good.size
        if good.size:
            self.kept.append(good[:: max(1, good.size // KEEP_PER_IMAGE)])

    def explain(self, protocol: Protocol) -> str:
        """Why no pixel survived ``protocol``'s caps and crop, in words a user can act on."""
        if self.valid == 0:
            return (
                f"every one of the {self.pixels:,} ground-truth pixels is 0 or not a number "
                "(no measurement): are these the depth files, with the right reader options?"
            )
        median = float(np.median(np.concatenate(self.kept)))
        top, bottom = protocol.max_depth, protocol.min_depth
        if top is not None and median >= top:
            return (
                f"every valid ground-truth pixel lies beyond the protocol's cap of {top:g} m and "
                f"the median is {median:,.0f} — millimetres? pass the scale (units per metre)"
            )
        if bottom is not None and median <= bottom:
            return (
                f"every valid ground-truth pixel lies below the protocol's floor of {bottom:g} m "
                f"and the median is {median:.3g} — the wrong scale? pass the units per metre"
            )
        return (
            f"no ground-truth pixel lies inside protocol {protocol.name!r}'s range and crop "
            f"(median {median:.3g} m): is this the protocol for this dataset?"
        )
