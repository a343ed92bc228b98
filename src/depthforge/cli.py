"""``depthforge <command>``: a thin layer over the Python API (every command is a function)."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from depthforge.errors import DepthforgeError

app = typer.Typer(
    name="depthforge",
    help="Monocular depth estimation: data, evaluation, training and RGB-D applications.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def _root() -> None:
    """Monocular depth estimation: data, evaluation, training and RGB-D applications."""


@app.command()
def version() -> None:
    """Print the depthforge version."""
    from depthforge import __version__

    console.print(__version__)


def main() -> None:
    """Entry point: run the Typer app, turning DepthforgeError into one line and exit code 2."""
    try:
        app()
    except DepthforgeError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyError as exc:
        err_console.print(f"[bold red]error:[/] {exc.args[0] if exc.args else exc}", highlight=False)
        sys.exit(2)
