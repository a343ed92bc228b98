"""The strategy registry: a strategy registers its builder together with the loss names and the
model output spaces it accepts, and the registry checks both before the builder runs.

A builder is ``build(loss_name, loss_kwargs, output_space) -> strategy``. Unknown strategy and
loss names raise :class:`~depthforge.errors.UnknownNameError`; a model whose output space the
strategy cannot train raises :class:`~depthforge.errors.OutputSpaceError` (the CLI prints
either on one line).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from depthforge.errors import OutputSpaceError, UnknownNameError
from depthforge.types import OutputSpace

Builder = Callable[[str, dict[str, Any], OutputSpace], Any]


@dataclass(frozen=True)
class Accepts:
    """What a registered strategy trains with.

    Attributes:
        losses: the loss names (or a function returning them, for a table built on demand).
        output_spaces: the model output spaces it can train, or ``None`` for any.
        label: how messages name the strategy's losses (e.g. ``"semi-supervised"``).
    """

    losses: Collection[str] | Callable[[], Collection[str]]
    output_spaces: tuple[OutputSpace, ...] | None
    label: str

    def loss_names(self) -> list[str]:
        """The accepted loss names, in their registered order."""
        return list(self.losses() if callable(self.losses) else self.losses)


STRATEGIES: dict[str, Builder] = {}
ACCEPTS: dict[str, Accepts] = {}


def check_strategy(name: str, loss_name: str, output_space: OutputSpace | None = None) -> None:
    """Raise unless strategy ``name`` exists and trains with ``loss_name`` a model that outputs
    ``output_space`` (not checked when ``None``)."""
    if name not in STRATEGIES:
        raise UnknownNameError("strategy", name, STRATEGIES)
    accepts = ACCEPTS[name]
    losses = accepts.loss_names()
    if loss_name not in losses:
        raise UnknownNameError(
            f"{accepts.label} loss",
            loss_name,
            losses,
            hint=f"strategy {name} trains with loss {' or '.join(map(repr, losses))}",
        )
    spaces = accepts.output_spaces
    if spaces is not None and output_space is not None and output_space not in spaces:
        wanted = " or ".join(space.value for space in spaces)
        raise OutputSpaceError(
            f"strategy {name} trains a model that outputs {wanted}; this model outputs "
            f"{OutputSpace(output_space).value}"
        )


def register_strategy(
    name: str,
    *,
    losses: Collection[str] | Callable[[], Collection[str]],
    output_spaces: tuple[OutputSpace, ...] | None = None,
    label: str | None = None,
) -> Callable[[Builder], Builder]:
    """Decorator: register a builder under ``name``; the registered (and returned) builder
    checks the loss name and the output space first (:func:`check_strategy`)."""

    def register(build: Builder) -> Builder:
        @functools.wraps(build)
        def checked(loss_name: str, loss_kwargs: dict[str, Any], output_space: OutputSpace):
            check_strategy(name, loss_name, output_space)
            return build(loss_name, loss_kwargs, output_space)

        ACCEPTS[name] = Accepts(losses, output_spaces, label or name)
        STRATEGIES[name] = checked
        return checked

    return register


def build_strategy(
    name: str, loss_name: str, loss_kwargs: dict[str, Any], output_space: OutputSpace
) -> Any:
    """The strategy ``name`` built for ``loss_name`` and a model that outputs ``output_space``."""
    if name not in STRATEGIES:
        raise UnknownNameError("strategy", name, STRATEGIES)
    return STRATEGIES[name](loss_name, loss_kwargs, output_space)
