"""The training loop: optimiser and schedule from the config, AMP, clipping, validation,
best-checkpoint tracking, exact resume, progress bar and a ``metrics.jsonl`` log."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch.utils.data import DataLoader, Dataset

from depthforge.data.collate import Batch, collate_samples
from depthforge.errors import DataError, DepthforgeError, UnknownNameError
from depthforge.models.io import load_checked_state
from depthforge.train.checkpoint import load_checkpoint, save_checkpoint, set_rng_state
from depthforge.train.config import LoopConfig, OptimConfig
from depthforge.train.distributed import barrier, mean_across_ranks, rank_and_world, wrap_model
from depthforge.train.logging import RunLogger
from depthforge.train.resume import RunOrigin, write_run_record
from depthforge.train.sampler import StepBatchSampler
from depthforge.train.signals import stop_on_signals
from depthforge.train.threads import cpu_threads
from depthforge.transforms.recipe import AugmentedDataset

LAST_CHECKPOINT = "last.pt"
BEST_CHECKPOINT = "best.pt"


class Strategy(Protocol):
    """What a batch is supervised with: returns the scalar loss and numbers worth logging.

    A strategy that is also a ``torch.nn.Module`` (e.g. one owning a pose network or a domain
    discriminator) has its parameters trained, checkpointed and resumed with the model's.
    """

    def __call__(
        self, model: torch.nn.Module, batch: Batch
    ) -> tuple[torch.Tensor, dict[str, float]]: ...


class TrainingDiverged(DepthforgeError):
    """The loss became NaN or infinite; no weights were written after the last good checkpoint."""


class TrainingInterrupted(DepthforgeError):
    """A stop signal arrived; the step under way was finished and checkpointed."""

    exit_code = 130  # as for SIGINT: not a bad input, and the CLI prints no "error:"


def build_optimizer(params, cfg: OptimConfig) -> torch.optim.Optimizer:
    """Adam, AdamW or SGD (with momentum) from the config."""
    factories: dict[str, Callable[[], torch.optim.Optimizer]] = {
        "adam": lambda: torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay),
        "adamw": lambda: torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay),
        "sgd": lambda: torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        ),
    }
    if cfg.name not in factories:
        raise UnknownNameError("optimiser", cfg.name, factories)
    return factories[cfg.name]()


def lr_factor(step: int, total: int, cfg: OptimConfig) -> float:
    """Multiplier of the base learning rate at ``step``: linear warm-up, then the schedule."""
    if step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    if cfg.schedule == "constant":
        return 1.0
    if cfg.schedule == "step":
        return cfg.gamma ** (step // cfg.step_size)
    if cfg.schedule == "cosine":
        span = max(1, total - cfg.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - cfg.warmup_steps) / span)))
    raise UnknownNameError("schedule", cfg.schedule, ("constant", "step", "cosine"))


def resolve_device(name: str) -> torch.device:
    """``"auto"`` → CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


@dataclass
class TrainResult:
    """What a run produced."""

    out_dir: Path
    steps: int
    losses: list[float] = field(default_factory=list)
    best_metric: float | None = None
    best_step: int | None = None
    seconds: float = 0.0
    data_wait_fraction: float = 0.0


class Trainer:
    """Runs a :class:`Strategy` over a dataset for ``loop.steps`` steps.

    Args:
        model: the network (moved to the device here).
        strategy: computes the loss of a batch.
        train_set: map-style dataset of :class:`~depthforge.types.Sample`.
        out_dir: run folder (checkpoints, ``metrics.jsonl``).
        loop, optim: loop and optimiser settings.
        seed: seeds the data order and the global RNGs.
        validate: optional ``model -> {metric: value}`` run every ``loop.val_every`` steps; the
            checkpoint with the lowest ``best_metric`` is kept as ``best.pt``.
        progress: optional ``(step, total, loss) -> None`` callback (the CLI draws a bar); it is
            called with ``loss=None`` before the first batch is read (which may take a while when
            samples are rendered or decoded on the fly).
        config: the resolved config (saved in checkpoints and, for a fresh run, in ``run.json``).
        origin: the recipe and overrides the run was started from (recorded in ``run.json``).

    ``last.pt`` is written every ``loop.ckpt_every`` steps, at least every ``loop.ckpt_minutes``
    minutes, at the end, and when SIGINT or SIGTERM stops the run (after the step under way).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        strategy: Strategy,
        train_set: Dataset,
        out_dir: str | Path,
        *,
        loop: LoopConfig,
        optim: OptimConfig,
        seed: int = 0,
        validate: Callable[[torch.nn.Module], dict[str, float]] | None = None,
        best_metric: str = "abs_rel",
        progress: Callable[[int, int, float | None], None] | None = None,
        config: dict[str, Any] | None = None,
        panels: Callable[[torch.nn.Module], dict[str, Any]] | None = None,
        origin: RunOrigin | None = None,
    ):
        self.rank, self.world = rank_and_world()
        self.device = resolve_device(loop.device)
        if self.device.type == "cuda" and self.world > 1:
            self.device = torch.device("cuda", torch.cuda.current_device())
        self.model = wrap_model(model.to(self.device), self.device)
        if isinstance(strategy, torch.nn.Module):
            strategy = strategy.to(self.device)
        self.strategy, self.train_set = strategy, train_set
        self.out_dir = Path(out_dir)
        self.loop, self.optim_cfg, self.seed = loop, optim, seed
        self.validate, self.best_metric, self.progress = validate, best_metric, progress
        self.config, self.origin = config or {}, origin
        self.panels = panels
        self.optimizer = build_optimizer(
            [p for p in self.trainable_parameters() if p.requires_grad], optim
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: lr_factor(s, loop.steps, optim)
        )
        self.use_amp = loop.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda") if self.use_amp else None

    def _loader(self, start_step: int) -> DataLoader:
        sampler = StepBatchSampler(
            len(self.train_set),
            self.loop.batch_size,
            self.loop.steps,
            self.seed,
            start_step,
            rank=self.rank,
            num_replicas=self.world,
        )
        return DataLoader(
            self.train_set
            if isinstance(self.train_set, AugmentedDataset)
            else AugmentedDataset(self.train_set, None),
            batch_sampler=sampler,
            num_workers=self.loop.num_workers,
            collate_fn=collate_samples,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
        )

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        """The model's parameters, then those of a strategy that is a ``torch.nn.Module``."""
        params = list(self.model.parameters())
        if isinstance(self.strategy, torch.nn.Module):
            params += list(self.strategy.parameters())
        return params

    def _train_mode(self) -> None:
        self.model.train()
        if isinstance(self.strategy, torch.nn.Module):
            self.strategy.train()

    @property
    def bare_model(self) -> torch.nn.Module:
        """The model without its DistributedDataParallel wrapper."""
        return getattr(self.model, "module", self.model)

    def _save(self, name: str, step: int, best: float | None) -> None:
        if self.rank == 0:
            save_checkpoint(
                self.out_dir / name,
                step=step,
                model=self.bare_model,
                optimizer=self.optimizer,
                scheduler=self.scheduler,
                scaler=self.scaler,
                extra={
                    "config": self.config,
                    "best_metric": best,
                    "strategy": self.strategy.state_dict()
                    if isinstance(self.strategy, torch.nn.Module)
                    else None,
                },
            )
        barrier()

    def fit(self, resume: bool = False, overwrite: bool = False) -> TrainResult:
        """Train from step 0, or from ``last.pt`` when ``resume`` (same losses as an unbroken run).

        A fresh run refuses an ``out_dir`` that holds a previous run's checkpoint unless
        ``overwrite``: its checkpoints and log would be replaced.
        """
        if not resume and not overwrite and (self.out_dir / LAST_CHECKPOINT).exists():
            raise DataError(
                self.out_dir,
                "holds a previous run (last.pt): pass --resume to continue it or --overwrite "
                "to start again",
            )
        self.out_dir.mkdir(parents=True, exist_ok=True)
        start, best, state = 0, None, None
        if resume:
            last = self.out_dir / LAST_CHECKPOINT
            if not last.is_file():
                raise DataError(
                    last,
                    f"no checkpoint to resume from: the run stopped before its first one (every "
                    f"{self.loop.ckpt_every} steps or {self.loop.ckpt_minutes:g} min); start it "
                    "again without --resume",
                )
            state = load_checkpoint(last)
            load_checked_state(self.bare_model, state["model"], last, "not this model's weights: ")
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            if self.scaler is not None and state["scaler"] is not None:
                self.scaler.load_state_dict(state["scaler"])
            start, best = state["step"], state["extra"].get("best_metric")
            if isinstance(self.strategy, torch.nn.Module):
                self.strategy.load_state_dict(state["extra"]["strategy"])
        else:
            torch.manual_seed(self.seed)
            if self.config and self.rank == 0:
                write_run_record(self.out_dir, self.origin, self.config)
        logger = RunLogger(
            self.out_dir,
            tensorboard=self.loop.tensorboard,
            enabled=self.rank == 0,
            fresh=not resume,
            resume_step=start,
        )
        with stop_on_signals() as stop, cpu_threads(self.loop.threads):
            return self._loop(start, best, state, logger, stop)

    def _loop(self, start, best, state, logger: RunLogger, stop) -> TrainResult:
        # The loader draws its base seed from the global RNG when its iterator starts, so the
        # saved RNG state is restored only after that draw: both runs then continue identically.
        batches = iter(self._loader(start))
        if state is not None:
            set_rng_state(state["rng"])
        result = TrainResult(self.out_dir, start, best_metric=best)
        if self.progress is not None:
            self.progress(start, self.loop.steps, None)
        t0 = time.perf_counter()
        saved_at = time.monotonic()
        wait = 0.0
        self._train_mode()
        tick = time.perf_counter()
        for step, batch in enumerate(batches, start):
            wait += time.perf_counter() - tick
            batch = batch.to(self.device)
            with torch.autocast(self.device.type, enabled=self.use_amp):
                loss, logs = self.strategy(self.model, batch)
            if not torch.isfinite(loss):
                last = self.out_dir / LAST_CHECKPOINT
                raise TrainingDiverged(
                    f"loss is {loss.item()} at step {step} (batch {batch.ids}); weights were not "
                    f"updated; last good checkpoint: {last if last.exists() else 'none yet'}"
                )
            self.optimizer.zero_grad(set_to_none=True)
            if self.scaler is not None:
                self.scaler.scale(loss).backward()
                self.scaler.unscale_(self.optimizer)
            else:
                loss.backward()
            if self.optim_cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(
                    self.trainable_parameters(), self.optim_cfg.grad_clip
                )
            if self.scaler is not None:
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                self.optimizer.step()
            lr = self.optimizer.param_groups[0]["lr"]  # the rate this step used
            self.scheduler.step()
            value = float(mean_across_ranks(loss.detach()))
            result.losses.append(value)
            done = step + 1
            if done % self.loop.log_every == 0 or done == self.loop.steps:
                logger.scalars(done, {"loss": value, "lr": lr, **logs})
            if self.validate is not None and (
                done % self.loop.val_every == 0 or done == self.loop.steps
            ):
                metrics = self.validate(self.bare_model)
                self._train_mode()
                logger.scalars(done, metrics, prefix="val")
                if self.panels is not None and logger.writer is not None:
                    logger.images(done, self.panels(self.bare_model))
                    self._train_mode()
                score = metrics.get(self.best_metric)
                if score is not None and (best is None or score < best):
                    best, result.best_step = score, done
                    self._save(BEST_CHECKPOINT, done, best)
            # every rank must agree (saving meets at a barrier): any rank's clock or signal counts
            due, stopping = (
                float(mean_across_ranks(torch.tensor(float(flag), device=self.device))) > 0
                for flag in (time.monotonic() - saved_at >= 60 * self.loop.ckpt_minutes, bool(stop))
            )
            if done % self.loop.ckpt_every == 0 or done == self.loop.steps or due or stopping:
                self._save(LAST_CHECKPOINT, done, best)
                saved_at = time.monotonic()
            if self.progress is not None:
                self.progress(done, self.loop.steps, value)
            if stopping:
                logger.close()
                raise TrainingInterrupted(
                    f"stopped by {stop.signal_name or 'a signal to another process'} after step {done} of {self.loop.steps}; "
                    f"checkpoint saved; continue with: depthforge train --resume {self.out_dir}"
                )
            tick = time.perf_counter()
        logger.close()
        result.steps = self.loop.steps
        result.best_metric = best
        result.seconds = time.perf_counter() - t0
        result.data_wait_fraction = wait / result.seconds if result.seconds else 0.0
        return result
