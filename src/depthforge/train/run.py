"""From a recipe to a trained model: build data, model, strategy and validation from a
:class:`~depthforge.train.config.TrainConfig` and run the :class:`~depthforge.train.trainer.Trainer`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from torch.utils.data import Dataset

from depthforge.data.collate import collate_samples, same_size_runs
from depthforge.data.registry import open_dataset
from depthforge.errors import DataError, DepthforgeError
from depthforge.io.image import write_atomic
from depthforge.train.config import DataConfig, TrainConfig
from depthforge.train.resume import RunOrigin
from depthforge.train.strategies import build_strategy, check_strategy
from depthforge.train.trainer import Trainer, TrainResult
from depthforge.transforms.recipe import AugmentedDataset, build_transforms
from depthforge.types import Sample

MODEL_DIR = "model"
"""Sub-folder of a run holding the best (or last) model in the ``save_model`` format."""


class InMemoryDataset(Dataset):
    """Every sample of ``source`` read once and kept (for small data sets such as the demo's)."""

    def __init__(self, source: Dataset, progress: Callable[[int, int], None] | None = None):
        self.name = getattr(source, "name", "memory")
        self.samples: list[Sample] = []
        for i in range(len(source)):
            self.samples.append(source[i])
            if progress is not None:
                progress(i + 1, len(source))
        self.ids = [s.id for s in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Sample:
        return self.samples[index]


def open_data(cfg: DataConfig, seed: int = 0) -> Dataset:
    """The dataset a :class:`DataConfig` names, with its transforms (empty data sets are an
    error naming the root)."""
    dataset = open_dataset(cfg.dataset, cfg.root, split=cfg.split, **cfg.options)
    if len(dataset) == 0:
        raise DataError(cfg.root, f"no samples in dataset {cfg.dataset!r} split {cfg.split!r}")
    transform = build_transforms(cfg.transforms)
    return dataset if transform is None else AugmentedDataset(dataset, transform, seed)


def make_validator(
    dataset: Dataset,
    protocol: str,
    *,
    align: str | None = None,
    batch_size: int = 8,
    size: tuple[int, int] | None = None,
) -> Callable[[torch.nn.Module], dict[str, float]]:
    """``model -> metrics`` over ``dataset`` with the named protocol (predictions at GT size)."""
    from depthforge.eval import Evaluator
    from depthforge.models.predict import predict

    def validate(model: torch.nn.Module) -> dict[str, float]:
        evaluator = Evaluator(protocol, align=align, output_space=_prediction_space(model))
        device = next(model.parameters()).device
        for run in same_size_runs(dataset, batch_size):
            batch = collate_samples(run)
            pred = predict(model, batch.image.to(device), batch_size=batch_size, size=size).depth
            evaluator.add(pred.cpu(), batch.depth, batch.mask, ids=batch.ids)
        return evaluator.result().metrics

    return validate


def _prediction_space(model: torch.nn.Module):
    from depthforge.types import OutputSpace

    space = model.output_space
    return OutputSpace.METRIC_DEPTH if space is OutputSpace.LOG_DEPTH else space


@dataclass
class TrainingRun:
    """Everything built from a config, ready to ``fit``."""

    config: TrainConfig
    trainer: Trainer
    train_set: Dataset
    val_set: Dataset | None


def build_training(
    cfg: TrainConfig,
    *,
    progress: Callable[[int, int, float | None], None] | None = None,
    train_set: Dataset | None = None,
    val_set: Dataset | None = None,
    origin: RunOrigin | None = None,
    stage: Callable[[str], None] | None = None,
) -> TrainingRun:
    """Data sets, model, strategy and validator of a recipe, wired into a :class:`Trainer`
    (``origin``: the recipe and overrides to record in the run folder's ``run.json``;
    ``stage``: told in words what is being prepared)."""
    from depthforge.models import create_model

    say = stage or (lambda _text: None)
    say(f"building {cfg.model.name}")
    check_strategy(cfg.strategy, cfg.loss.name)
    torch.manual_seed(cfg.seed)
    model = create_model(cfg.model.name, **cfg.model.overrides)
    if model.output_space is None:
        raise DepthforgeError(
            f"model {cfg.model.name!r} predicts no depth; it cannot be trained alone"
        )
    if cfg.model.init_from is not None:
        from depthforge.train.stages import initialize_from

        initialize_from(model, cfg.model.init_from)
    strategy = build_strategy(cfg.strategy, cfg.loss.name, cfg.loss.kwargs, model.output_space)
    if train_set is None:
        say(f"opening the training data ({_data_words(cfg.train_data)})")
        train_set = open_data(cfg.train_data, cfg.seed)
    if val_set is None and cfg.val_data is not None:
        say(f"opening the validation data ({_data_words(cfg.val_data)})")
        val_set = open_data(cfg.val_data, cfg.seed)
    say(
        f"{len(train_set)} training samples"
        + (f", {len(val_set)} validation samples" if val_set is not None else "")
        + f"; {cfg.loop.steps} steps of {cfg.loop.batch_size} (the first batches read or render "
        "their samples)"
    )
    validate, best_metric, panels = None, "abs_rel", None
    if val_set is not None:
        if cfg.protocol is None:
            raise DepthforgeError("val_data is set but protocol is not (e.g. protocol: dense)")
        from depthforge.eval.protocols import get_protocol

        if get_protocol(cfg.protocol).task == "ordinal":
            from depthforge.train.strategies.relative import make_ordinal_validator

            validate, best_metric = make_ordinal_validator(val_set, cfg.protocol), "whdr"
        elif hasattr(strategy, "make_validator"):  # e.g. completion: the model needs sparse input
            validate, best_metric = strategy.make_validator(
                val_set, cfg.protocol, cfg.loop.batch_size
            )
        else:
            validate = make_validator(
                val_set, cfg.protocol, align=cfg.align, batch_size=cfg.loop.batch_size
            )
            if cfg.loop.tensorboard:  # RGB | prediction | GT | error panels of 4 samples
                from depthforge.train.panels import validation_panels

                panels = partial(validation_panels, dataset=val_set, count=4, align=cfg.align)
    trainer = Trainer(
        model,
        strategy,
        train_set,
        cfg.out_dir,
        loop=cfg.loop,
        optim=cfg.optim,
        seed=cfg.seed,
        validate=validate,
        best_metric=best_metric,
        progress=progress,
        config=cfg.to_dict(),
        panels=panels,
        origin=origin,
    )
    return TrainingRun(cfg, trainer, train_set, val_set)


def _data_words(cfg: DataConfig) -> str:
    where = f" at {cfg.root}" if cfg.root else ""
    return f"{cfg.dataset}{where}" + (f", split {cfg.split}" if cfg.split else "")


def finish_run(run: TrainingRun, result: TrainResult) -> Path:
    """Save the best model (the last one without validation) to ``out_dir/model`` and the
    resolved config to ``out_dir/config.json``; a strategy with ``extra_models`` (name → model,
    e.g. ``pose_model``) has each saved to ``out_dir/<name>``. Returns the model folder."""
    from depthforge.models.io import save_model
    from depthforge.train.checkpoint import load_checkpoint
    from depthforge.train.trainer import BEST_CHECKPOINT

    model = run.trainer.bare_model
    best = Path(run.config.out_dir) / BEST_CHECKPOINT
    if best.is_file():
        model.load_state_dict(load_checkpoint(best)["model"])
    text = json.dumps(run.config.to_dict(), indent=2)
    write_atomic(Path(run.config.out_dir) / "config.json", lambda tmp: tmp.write_text(text))
    # A strategy owning networks (e.g. the pose network of monocular video) saves them beside it,
    # from the same checkpoint as the model.
    extra_models = getattr(run.trainer.strategy, "extra_models", {})
    if extra_models and best.is_file():
        run.trainer.strategy.load_state_dict(load_checkpoint(best)["extra"]["strategy"])
    for name, extra in extra_models.items():
        save_model(extra, Path(run.config.out_dir) / name)
    return save_model(model, Path(run.config.out_dir) / MODEL_DIR)
