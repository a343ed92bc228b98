"""Training: configs, the loop, checkpoints and strategies (what each batch is supervised with)."""

from depthforge.train.checkpoint import load_checkpoint, save_checkpoint
from depthforge.train.config import TrainConfig, load_config
from depthforge.train.trainer import Strategy, Trainer, TrainingDiverged, TrainResult

__all__ = [
    "Strategy",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "TrainingDiverged",
    "load_checkpoint",
    "load_config",
    "save_checkpoint",
]
