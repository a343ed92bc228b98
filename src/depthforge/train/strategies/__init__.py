"""Strategies: what a batch is supervised with. Each is a small callable
``strategy(model, batch) -> (loss, logs)`` that the :class:`~depthforge.train.trainer.Trainer` runs.

Adding a strategy: write a module here with a callable class and a builder
``build(loss_name, loss_kwargs, output_space) -> strategy`` decorated with
:func:`~depthforge.train.strategies.registry.register_strategy` (naming the losses and output
spaces it accepts), and import the module below; the trainer needs nothing else.
"""

from depthforge.train.strategies.adadepth import AdaDepth, build_adadepth
from depthforge.train.strategies.aperture import ApertureSupervision, build_aperture
from depthforge.train.strategies.common import convert_prediction, target_at
from depthforge.train.strategies.completion import CompletionStrategy, build_completion
from depthforge.train.strategies.megadepth import MegaDepthMixed, build_megadepth
from depthforge.train.strategies.monocular import MonocularVideo, build_monocular
from depthforge.train.strategies.multitask import MultiTask, build_multitask
from depthforge.train.strategies.registry import (
    STRATEGIES,
    build_strategy,
    check_strategy,
    register_strategy,
)
from depthforge.train.strategies.relative import (
    RelativeDepth,
    build_relative,
    make_ordinal_validator,
)
from depthforge.train.strategies.semi_supervised import (
    SemiSupervised,
    build_semi_supervised,
)
from depthforge.train.strategies.set_loss import SetSupervised, build_set
from depthforge.train.strategies.supervised import (
    LossSpec,
    SupervisedDepth,
    build_supervised,
    supervised_losses,
)
from depthforge.train.strategies.web_stereo import WebStereoRanking, build_web_stereo

__all__ = [
    "STRATEGIES",
    "build_strategy",
    "check_strategy",
    "register_strategy",
    "CompletionStrategy",
    "build_completion",
    "AdaDepth",
    "ApertureSupervision",
    "build_adadepth",
    "build_aperture",
    "LossSpec",
    "MegaDepthMixed",
    "MonocularVideo",
    "MultiTask",
    "RelativeDepth",
    "SemiSupervised",
    "WebStereoRanking",
    "build_semi_supervised",
    "build_web_stereo",
    "SetSupervised",
    "build_set",
    "build_megadepth",
    "build_monocular",
    "build_multitask",
    "build_relative",
    "make_ordinal_validator",
    "SupervisedDepth",
    "build_supervised",
    "convert_prediction",
    "supervised_losses",
    "target_at",
]
