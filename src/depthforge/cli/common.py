"""What the command groups share: the consoles, the one error and warning printers, the option
types that several commands declare, and the helpers that open a dataset or guard an output."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from depthforge.errors import DataError, UnknownNameError

console = Console(soft_wrap=True)  # a printed path is never broken across lines
err_console = Console(stderr=True)


def esc(value: object) -> str:
    """A user-supplied string (a path, a sample id, a message quoting them) made safe to print
    through rich markup: ``holiday [sea] 2019.jpg`` is printed as written."""
    from rich.markup import escape

    return escape(str(value))


DatasetOpt = Annotated[
    str, typer.Option("--dataset", "-d", help="Dataset name (see `depthforge datasets`).")
]
RootOpt = Annotated[
    Path, typer.Option("--root", "-r", help="Dataset root, in its original release layout.")
]
SplitOpt = Annotated[
    str | None, typer.Option("--split", "-s", help="Split name, or a split file (KITTI).")
]
OptionOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--option", "-o", help="Reader option KEY=VALUE (e.g. depth_variant=raw); repeatable."
    ),
]
DepthFileOpt = Annotated[
    Path | None, typer.Option(help="Depth file registered to IMAGE (metres once decoded).")
]
ModelDirOpt = Annotated[
    Path | None,
    typer.Option(help="A saved model folder or a pretrained name, instead of --depth."),
]
DepthKindOpt = Annotated[
    str | None,
    typer.Option(
        help="How to decode the depth file: png16, npy, kitti, nyu_raw, sun, tum, make3d, "
        "velodyne (a KITTI .bin scan; .npy and .bin are recognised)."
    ),
]
DepthScaleOpt = Annotated[
    float | None, typer.Option(help="Units per metre for --depth-kind png16.")
]
IntrinsicsOpt = Annotated[Path | None, typer.Option(help='JSON with {"K": ...} or fx, fy, cx, cy.')]
FovOpt = Annotated[
    float | None,
    typer.Option(help="Horizontal field of view in degrees (default 60 without --intrinsics)."),
]
DeviceOpt = Annotated[
    str,
    typer.Option(
        help="Where the network runs: auto (a CUDA GPU when there is one, else the CPU), cpu, "
        "cuda, cuda:N or mps."
    ),
]


@contextmanager
def progress_bar(description: str):
    """A rich progress bar; yields ``update(done, total)``."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def scalar(value: str) -> object:
    """A reader option's value: a boolean (true/false), an int, a float, or the text itself."""
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def parse_options(options: list[str] | None) -> dict[str, object]:
    """``["k=v", ...]`` → dict, with ints, floats and booleans converted."""
    from depthforge.train.config import parse_assignments

    pairs = parse_assignments(options, "--option", scalar)
    return {key.replace("-", "_"): value for key, value in pairs}


def open_dataset_from_cli(dataset: str, root: Path, split: str | None, options: list[str] | None):
    """Open a dataset by name; an unknown name or a bad root is a one-line error."""
    from depthforge.data import list_datasets, open_dataset

    if dataset not in list_datasets():  # before the root: the name is the first thing to fix
        raise UnknownNameError("dataset", dataset, list_datasets())
    if dataset != "synth" and not root.exists():
        raise DataError(root, "dataset root not found")
    return open_dataset(dataset, str(root), split=split, **parse_options(options))


def refuse_to_overwrite(out: Path, overwrite: bool) -> None:
    """Stop unless the folder ``out`` is absent or empty, or the user passed ``--overwrite``."""
    from depthforge.io import refuse_overwrite

    if out.exists() and not out.is_dir():
        raise DataError(out, "exists and is not a folder")
    refuse_overwrite(out, overwrite, folder=True)


DEFAULT_PROTOCOL = {
    "nyu": "nyu_eigen",
    "kitti": "kitti_eigen",
    "make3d": "make3d_c1",
    "diw": "diw",
    "synth": "dense",
    "folder": "dense",
}
"""The protocol ``depthforge eval`` uses when ``--protocol`` is not given."""


def torch_threads() -> int:
    """The thread policy of :mod:`depthforge.threads` for a command that computes with PyTorch:
    called first in its body (never at start-up: the listing commands import no PyTorch).
    ``train`` and ``demo`` call it too; a recipe's ``loop.threads`` then pins the run's count."""
    from depthforge.threads import apply_thread_policy

    return apply_thread_policy()
