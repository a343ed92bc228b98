"""Training configuration: YAML files that compose from base files, plus ``key=value`` overrides.

A config file may start with ``_base_: [relative/base.yaml, ...]``; bases are merged in order, then
the file itself on top (nested mappings merge key by key, everything else replaces). Overrides
``a.b.c=value`` are parsed as YAML scalars and applied last. Every key is checked against the
schema below: an unknown key is an error that names the key and the nearest known one.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_origin, get_type_hints

import yaml

from depthforge.errors import DataError, DepthforgeError


@dataclass
class DataConfig:
    """One dataset: a name of ``depthforge datasets`` with its root, split and reader options."""

    dataset: str = "synth"
    root: str | None = None
    split: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    transforms: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ModelChoice:
    """A registry model name and overrides of its config record.

    ``init_from``: a saved model folder (a run's ``<out_dir>/model``) or a trainer checkpoint
    (``last.pt``/``best.pt``) to start from, loaded before the optimiser is built
    (:func:`depthforge.train.stages.initialize_from`). A fine-stage Eigen 2014 model takes only
    the coarse network (the paper's second stage); any other model takes all the weights.
    """

    name: str = "fcrn_resnet18"
    overrides: dict[str, Any] = field(default_factory=dict)
    init_from: str | None = None


@dataclass
class LossConfig:
    """A loss name of ``depthforge.losses`` and its keyword arguments."""

    name: str = "berhu"
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class OptimConfig:
    """Optimiser and learning-rate schedule."""

    name: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    grad_clip: float | None = 1.0
    schedule: str = "cosine"
    warmup_steps: int = 0
    step_size: int = 1000
    gamma: float = 0.1


@dataclass
class LoopConfig:
    """How long to train and how often to log, validate and save (``last.pt`` every ``ckpt_every``
    steps and at least every ``ckpt_minutes`` minutes of wall-clock time). ``threads`` pins the
    CPU threads of the run (:mod:`depthforge.train.threads`): ``None`` uses every core, and the
    numbers then depend on the core count."""

    steps: int = 1000
    batch_size: int = 8
    num_workers: int = 0
    log_every: int = 10
    val_every: int = 250
    ckpt_every: int = 250
    ckpt_minutes: float = 10.0
    threads: int | None = None
    amp: bool = True
    device: str = "auto"
    tensorboard: bool = False


@dataclass
class TrainConfig:
    """The whole recipe of a training run."""

    seed: int = 0
    out_dir: str = "runs/default"
    strategy: str = "supervised"
    model: ModelChoice = field(default_factory=ModelChoice)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train_data: DataConfig = field(default_factory=DataConfig)
    val_data: DataConfig | None = None
    loop: LoopConfig = field(default_factory=LoopConfig)
    protocol: str | None = None
    align: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (YAML/JSON serialisable)."""
        return asdict(self)


FREE_FORM = {"options", "overrides", "kwargs", "transforms"}


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` merged onto ``base``: mappings merge recursively, other values replace."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_yaml_composed(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Load a YAML config and its ``_base_`` files (relative to it), merged bases-first."""
    path = Path(path).resolve()
    if path in _seen:
        raise DataError(path, "circular _base_ reference")
    if not path.is_file():
        raise DataError(path, "config file not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise DataError(path, f"not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise DataError(path, "a config must be a mapping")
    bases = raw.pop("_base_", [])
    merged: dict[str, Any] = {}
    for base in [bases] if isinstance(bases, str) else bases:
        merged = deep_merge(merged, load_yaml_composed(path.parent / base, (*_seen, path)))
    return deep_merge(merged, raw)


def parse_assignments(
    items: list[str] | None, what: str, parse_value: Callable[[str], Any] = yaml.safe_load
) -> list[tuple[str, Any]]:
    """``["key=value", ...]`` → ``[(key, parse_value(value)), ...]`` (values parsed as YAML by
    default); an item without ``=`` is a :class:`DepthforgeError` naming ``what``."""
    pairs = []
    for item in items or []:
        if "=" not in item:
            raise DepthforgeError(f"{what} {item!r}: expected key=value")
        key, value = item.split("=", 1)
        pairs.append((key.strip(), parse_value(value)))
    return pairs


def apply_overrides(cfg: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b=value`` overrides (values parsed as YAML) to a nested dict."""
    out = dict(cfg)
    for dotted, value in parse_assignments(overrides, "override"):
        keys = dotted.split(".")
        node = out
        for key in keys[:-1]:
            node[key] = dict(node.get(key) or {})
            node = node[key]
        node[keys[-1]] = value
    return out


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    hints = get_type_hints(cls)
    known = [f.name for f in fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            near = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {where}{near[0]!r}?" if near else f"; known: {', '.join(known)}"
            raise DepthforgeError(f"unknown config key {where}{key!r}{hint}")
        target = hints[key]
        sub = next((t for t in getattr(target, "__args__", (target,)) if is_dataclass(t)), None)
        if sub is not None and isinstance(value, dict) and key not in FREE_FORM:
            value = _build(sub, value, f"{where}{key}.")
        else:
            value = _checked(value, target, f"{where}{key}")
        kwargs[key] = value
    return cls(**kwargs)


_TYPE_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _checked(value: Any, hint: Any, key: str) -> Any:
    """``value`` if it has the schema type ``hint`` (a number written as a string, e.g. ``1e-4``,
    which YAML 1.1 reads as a string, becomes a float where a float is expected); else an error
    naming the key, the expected type and the value."""
    options = getattr(hint, "__args__", None) if get_origin(hint) in (UnionType, Union) else None
    for option in options or (hint,):
        if option is type(None) and value is None:
            return None
        base = get_origin(option) or option
        if base is Any or (base in (dict, list) or is_dataclass(base)) and isinstance(value, base):
            return value
        if base is bool and isinstance(value, bool):
            return value
        if base in (int, str) and isinstance(value, base) and not isinstance(value, bool):
            return value
        if base is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if base is float and isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    words = [_type_word(option) for option in options or (hint,)]
    raise DepthforgeError(f"config key {key!r}: expected {' or '.join(words)}, got {value!r}")


def _type_word(hint: Any) -> str:
    base = get_origin(hint) or hint
    if base is type(None):
        return "null"
    if is_dataclass(base):
        return f"a mapping of {', '.join(f.name for f in fields(base))}"
    return {dict: "a mapping", list: "a list"}.get(base) or _TYPE_WORDS.get(base, str(hint))


def build_config(data: dict[str, Any]) -> TrainConfig:
    """Validate a nested dict against :class:`TrainConfig` (unknown keys name the nearest known)."""
    return _build(TrainConfig, data, "")


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Load, compose and validate a YAML recipe with optional ``key=value`` overrides."""
    return build_config(apply_overrides(load_yaml_composed(path), overrides or []))


RECIPES_DIR = Path(__file__).resolve().parent.parent / "configs"
"""The recipes shipped with depthforge (``depthforge train NAME`` finds them by name)."""


def list_recipes() -> list[str]:
    """Names of the shipped recipes."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))


def recipe_description(path: str | Path, max_chars: int = 100) -> str:
    """The first sentence of a recipe's leading comment block, cut at a word to ``max_chars``
    (``""`` when it has none)."""
    lines = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    text = " ".join(line for line in lines if line)
    # a sentence ends at a full stop followed by a capital ("et al. 2016" does not end one)
    sentence = re.split(r"(?<=\.)\s+(?=[A-Z])", text, maxsplit=1)[0]
    if len(sentence) <= max_chars:
        return sentence
    return sentence[: max_chars - 1].rsplit(" ", 1)[0].rstrip(",:;") + "…"


def resolve_recipe(name_or_path: str | Path) -> Path:
    """A recipe file: an existing path, or the name of a shipped recipe."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = RECIPES_DIR / f"{name_or_path}.yaml"
    if shipped.is_file():
        return shipped
    near = difflib.get_close_matches(str(name_or_path), list_recipes(), n=1)
    raise DataError(
        path,
        f"no such config file or shipped recipe; shipped: {', '.join(list_recipes())}"
        + (f" (did you mean {near[0]!r}?)" if near else ""),
    )
