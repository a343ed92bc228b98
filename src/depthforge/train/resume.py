"""What a run folder records about how it was started, so that ``--resume RUN`` needs nothing else.

A fresh run writes ``<out_dir>/run.json``: the recipe it was started from (as given and as a
resolved file), the ``key=value`` overrides, and the resolved config. Resuming reads the config
from there (the checkpoint's copy for runs older than the record); overrides given when resuming
apply on top of it (e.g. ``loop.steps=2000`` to train on).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from depthforge.errors import DataError, DepthforgeError
from depthforge.io.image import write_atomic
from depthforge.train.config import (
    TrainConfig,
    apply_overrides,
    build_config,
    load_config,
    resolve_recipe,
)

RUN_RECORD = "run.json"
"""File of a run folder recording its recipe, overrides and resolved config."""


@dataclass(frozen=True)
class RunOrigin:
    """The recipe a run was started from and the overrides given on the command line."""

    recipe: str
    recipe_file: str
    overrides: tuple[str, ...] = ()


def write_run_record(out_dir: str | Path, origin: RunOrigin | None, config: dict[str, Any]) -> Path:
    """Write ``out_dir/run.json`` (atomically) for a fresh run."""
    record = {
        "recipe": None if origin is None else origin.recipe,
        "recipe_file": None if origin is None else origin.recipe_file,
        "overrides": [] if origin is None else list(origin.overrides),
        "config": config,
    }
    text = json.dumps(record, indent=2)
    return write_atomic(Path(out_dir) / RUN_RECORD, lambda tmp: tmp.write_text(text))


def read_run_record(run_dir: str | Path) -> dict[str, Any]:
    """The record of a run folder: ``run.json``, else the config saved in its ``last.pt``."""
    from depthforge.train.checkpoint import load_checkpoint
    from depthforge.train.trainer import LAST_CHECKPOINT

    run_dir = Path(run_dir)
    path = run_dir / RUN_RECORD
    if path.is_file():
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise DataError(path, f"not valid JSON ({exc.msg}, line {exc.lineno})") from exc
        if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
            raise DataError(path, "not a run record (no 'config' mapping)")
        return record
    if not run_dir.is_dir():
        raise DataError(run_dir, "no such run folder")
    if not (run_dir / LAST_CHECKPOINT).is_file():
        raise DataError(
            run_dir, f"not a training run folder (no {RUN_RECORD} and no {LAST_CHECKPOINT})"
        )
    config = load_checkpoint(run_dir / LAST_CHECKPOINT)["extra"].get("config") or {}
    return {"recipe": None, "recipe_file": None, "overrides": [], "config": config}


def training_config(
    recipe_or_run: str, overrides: list[str], *, resume: bool
) -> tuple[TrainConfig, RunOrigin | None]:
    """The config of ``depthforge train``, and the origin to record for a fresh run.

    Fresh: the recipe (a file or a shipped name) with ``overrides``. Resume: ``recipe_or_run`` is
    either the run folder itself, or the recipe the run was started from (its ``out_dir``, given
    as an override, names the run folder); the run's saved config is used with ``overrides`` on
    top. A recipe or model other than the run's is an error naming both.
    """
    run_dir = Path(recipe_or_run)
    if not resume:
        if (run_dir / RUN_RECORD).is_file():
            raise DataError(run_dir, "is a run folder, not a recipe: continue it with --resume")
        recipe_file = resolve_recipe(recipe_or_run)
        origin = RunOrigin(recipe_or_run, str(recipe_file.resolve()), tuple(overrides))
        return load_config(recipe_file, overrides), origin
    if not run_dir.is_dir():  # a recipe: its out_dir (with the overrides) names the run folder
        recipe_file = resolve_recipe(recipe_or_run)
        asked = load_config(recipe_file, overrides)
        run_dir = Path(asked.out_dir)
        record = read_run_record(run_dir)
        same = record["recipe"] == recipe_or_run or record["recipe_file"] == str(
            recipe_file.resolve()
        )
        if record["recipe_file"] and not same:
            raise DepthforgeError(
                f"{run_dir} was trained from recipe {record['recipe']!r}, not {recipe_or_run!r}; "
                f"resume it with: depthforge train --resume {run_dir}"
            )
    else:
        record = read_run_record(run_dir)
    saved_model = record["config"].get("model", {}).get("name")
    cfg = build_config(apply_overrides({**record["config"], "out_dir": str(run_dir)}, overrides))
    if saved_model is not None and cfg.model.name != saved_model:
        raise DepthforgeError(
            f"{run_dir} holds a {saved_model!r} model; it cannot be resumed as {cfg.model.name!r}"
        )
    return cfg, None
