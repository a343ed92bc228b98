"""Where a run's numbers go: ``metrics.jsonl`` always, TensorBoard when it is installed."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from depthforge.io.image import write_atomic

METRICS_LOG = "metrics.jsonl"


class RunLogger:
    """Appends one JSON object per record to ``out_dir/metrics.jsonl`` (any tool can read it) and,
    with ``tensorboard=True``, mirrors scalars and image panels to TensorBoard event files.

    Only the process of rank 0 writes (pass ``enabled=False`` elsewhere). A resumed run
    (``fresh=False``) first drops the records after ``resume_step``: the steps it replays are
    logged again, so each step keeps one record of each kind.
    """

    def __init__(
        self,
        out_dir: str | Path,
        *,
        tensorboard: bool = False,
        enabled: bool = True,
        fresh: bool = True,
        resume_step: int = 0,
    ):
        self.path = Path(out_dir) / METRICS_LOG
        self.enabled = enabled
        self.writer = None
        if not enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fresh:
            self.path.unlink(missing_ok=True)
        elif self.path.is_file():
            kept = [r for r in read_metrics(self.path) if r["step"] <= resume_step]
            text = "".join(json.dumps(r) + "\n" for r in kept)
            write_atomic(self.path, lambda tmp: tmp.write_text(text))
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                warnings.warn(
                    "TensorBoard is not installed (pip install tensorboard); logging to metrics.jsonl only",
                    stacklevel=2,
                )
            else:
                self.writer = SummaryWriter(str(self.path.parent / "tensorboard"))

    def scalars(self, step: int, values: dict[str, Any], prefix: str = "") -> None:
        """Log ``values`` at ``step`` (nested under ``prefix`` in the JSON record when given)."""
        if not self.enabled:
            return
        record = {"step": step, prefix: values} if prefix else {"step": step, **values}
        with open(self.path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        if self.writer is not None:
            for key, value in values.items():
                if isinstance(value, int | float):
                    self.writer.add_scalar(f"{prefix}/{key}" if prefix else key, value, step)

    def images(self, step: int, panels: dict[str, np.ndarray]) -> None:
        """Log ``(H, W, 3)`` uint8 panels (RGB, prediction, ground truth, error map) to TensorBoard."""
        if self.writer is not None:
            for name, image in panels.items():
                self.writer.add_image(name, image, step, dataformats="HWC")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The records of a ``metrics.jsonl`` file."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
