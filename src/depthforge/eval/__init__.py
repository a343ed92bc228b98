"""Evaluation: named protocols, alignment, dense and ordinal metrics, scoring from disk."""

from depthforge.eval.align import Alignment, AlignmentFit, align, check_alignment
from depthforge.eval.evaluator import Evaluator
from depthforge.eval.metrics import (
    compute_completion_metrics,
    compute_kitti_devkit_metrics,
    compute_metrics,
)
from depthforge.eval.ordinal import PairCounts, sdr, whdr, whdr_counts, wkdr
from depthforge.eval.predictions import (
    evaluate_predictions,
    prediction_filename,
    read_prediction,
    sample_id_from_filename,
    save_prediction,
)
from depthforge.eval.protocols import Protocol, get_protocol, list_protocols
from depthforge.eval.report import EvalResult, render_table

__all__ = [
    "Alignment",
    "AlignmentFit",
    "EvalResult",
    "Evaluator",
    "PairCounts",
    "Protocol",
    "align",
    "check_alignment",
    "compute_completion_metrics",
    "compute_kitti_devkit_metrics",
    "compute_metrics",
    "evaluate_predictions",
    "get_protocol",
    "list_protocols",
    "prediction_filename",
    "read_prediction",
    "render_table",
    "sample_id_from_filename",
    "save_prediction",
    "sdr",
    "whdr",
    "whdr_counts",
    "wkdr",
]
