"""Evaluation: named protocols, alignment, dense and ordinal metrics, scoring from disk."""

from depthforge.lazy import lazy_package

# public name -> the module that defines it, imported on first use (depthforge.lazy)
_EXPORTS = {
    "Alignment": "depthforge.eval.align",
    "AlignmentFit": "depthforge.eval.align",
    "EvalResult": "depthforge.eval.report",
    "Evaluator": "depthforge.eval.evaluator",
    "PairCounts": "depthforge.eval.ordinal",
    "Protocol": "depthforge.eval.protocols",
    "align": "depthforge.eval.align",
    "check_alignment": "depthforge.eval.align",
    "compute_completion_metrics": "depthforge.eval.metrics",
    "compute_kitti_devkit_metrics": "depthforge.eval.metrics",
    "compute_metrics": "depthforge.eval.metrics",
    "evaluate_predictions": "depthforge.eval.predictions",
    "get_protocol": "depthforge.eval.protocols",
    "list_protocols": "depthforge.eval.protocols",
    "prediction_filename": "depthforge.eval.predictions",
    "read_prediction": "depthforge.eval.predictions",
    "render_table": "depthforge.eval.report",
    "sample_id_from_filename": "depthforge.eval.predictions",
    "save_prediction": "depthforge.eval.predictions",
    "sdr": "depthforge.eval.ordinal",
    "whdr": "depthforge.eval.ordinal",
    "whdr_counts": "depthforge.eval.ordinal",
    "wkdr": "depthforge.eval.ordinal",
}
lazy_package(__name__, _EXPORTS)

__all__ = list(_EXPORTS)
