"""Training: configs, the loop, checkpoints and strategies (what each batch is supervised with)."""

from depthforge.lazy import lazy_package

# public name -> the module that defines it, imported on first use (depthforge.lazy)
_EXPORTS = {
    "Strategy": "depthforge.train.trainer",
    "TrainConfig": "depthforge.train.config",
    "TrainResult": "depthforge.train.trainer",
    "Trainer": "depthforge.train.trainer",
    "TrainingDiverged": "depthforge.train.trainer",
    "load_checkpoint": "depthforge.train.checkpoint",
    "load_config": "depthforge.train.config",
    "save_checkpoint": "depthforge.train.checkpoint",
}
lazy_package(__name__, _EXPORTS)

__all__ = list(_EXPORTS)
