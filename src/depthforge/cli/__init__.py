"""``depthforge <command>``: a thin layer over the Python API (every command is a function).

One module per command group registers its commands on :data:`app`: :mod:`.data` (datasets,
inspect, synth), :mod:`.evaluate` (eval, protocols, eval-pose, baseline), :mod:`.training`
(train, recipes, demo), :mod:`.inference` (predict, export), :mod:`.apps` (pointcloud, dof,
complete, parallax), :mod:`.pretrained` (models, convert, reproduce); :mod:`.common` holds what
they share. Errors on bad input (:class:`~depthforge.errors.DepthforgeError`) print one line and
exit with 2.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from typing import Annotated

import typer

from depthforge.annotate.cli import app as annotate_app
from depthforge.cli import apps, data, evaluate, inference, pretrained, training
from depthforge.cli.common import console, err_console, esc
from depthforge.errors import DepthforgeError
from depthforge.huge_pages import request_huge_pages

app = typer.Typer(
    name="depthforge",
    help="Monocular depth estimation: data, evaluation, training and RGB-D applications.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def print_version(value: bool) -> None:
    """``--version``: print the version and stop."""
    if value:
        from depthforge import __version__

        console.print(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=print_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Monocular depth estimation: data, evaluation, training and RGB-D applications."""


@app.command()
def version() -> None:
    """Print the depthforge version."""
    print_version(True)


for group in (data, evaluate, training, inference, apps, pretrained):
    app.add_typer(group.app)  # no name: the group's commands join the top level
app.add_typer(annotate_app)  # the annotation service: its own package on top of the library


def print_error(message: object) -> None:
    """The one printer of errors: ``error: MESSAGE`` on one line of stderr, the message escaped
    (file names such as ``holiday [sea].jpg`` are printed as written, never read as markup)."""
    text = " ".join(str(message).split())  # one line, whatever the message holds
    err_console.print(f"[bold red]error:[/] {esc(text)}", highlight=False, soft_wrap=True)


def print_warning(message, *_args, **_kwargs) -> None:
    """The one printer of warnings (``warnings.showwarning`` while a command runs): one line."""
    text = " ".join(str(message).split())
    err_console.print(f"[yellow]warning:[/] {esc(text)}", highlight=False, soft_wrap=True)


def tidy_help(command) -> None:
    """Make ``command`` (a click command or group, and everything under it) read well in
    ``--help``: each help paragraph on one logical line (a docstring's line breaks are not the
    reader's; rich wraps at the terminal's width), and flags shown as flags, without a type."""
    from typer._click import Context  # typer's own click

    if command.help:
        paragraphs = inspect.cleandoc(command.help).split("\n\n")
        command.help = "\n\n".join(" ".join(p.split()) for p in paragraphs)
    helper = command.get_help_option(Context(command))
    for param in [*command.params, *([helper] if helper is not None else [])]:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub)


def main() -> None:
    """Entry point: run the Typer app; a bad input (DepthforgeError, a library ValueError, a
    usage error, an unreadable or unwritable file) prints one line and exits with status 2."""
    from typer._click.exceptions import ClickException, NoArgsIsHelpError  # typer's own click

    request_huge_pages()  # before any command imports PyTorch (depthforge.huge_pages)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = print_warning
            command = typer.main.get_command(app)
            tidy_help(command)
            code = command(standalone_mode=False)
    except NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(0)
    except ClickException as exc:  # usage: an unknown option, a value of the wrong type
        print_error(exc.format_message())
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("interrupted", highlight=False, markup=False)
        sys.exit(130)
    except (DepthforgeError, ValueError) as exc:
        # ValueError: a bad argument value reported by the library (its message names it)
        code = getattr(exc, "exit_code", 2)
        if code == 2:
            print_error(exc)
        else:  # a stop the user asked for (Ctrl-C, SIGTERM): its message says how to go on
            err_console.print(str(exc), highlight=False, markup=False, soft_wrap=True)
        sys.exit(code)
    except OSError as exc:  # a file the library did not check: name it
        print_error(f"{exc.filename}: {exc.strerror}" if exc.filename else exc)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
