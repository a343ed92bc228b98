"""``depthforge <command>``: a thin layer over the Python API (every command is a function).

Errors on bad input (:class:`~depthforge.errors.DepthforgeError`) print one line and exit with 2.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from depthforge.errors import DataError, DepthforgeError

app = typer.Typer(
    name="depthforge",
    help="Monocular depth estimation: data, evaluation, training and RGB-D applications.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

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
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def parse_options(options: list[str] | None) -> dict[str, object]:
    """``["k=v", ...]`` → dict, with ints, floats and booleans converted."""
    out: dict[str, object] = {}
    for item in options or []:
        if "=" not in item:
            raise DepthforgeError(f"--option {item!r}: expected KEY=VALUE")
        key, value = item.split("=", 1)
        parsed: object = value
        if value.lower() in ("true", "false"):
            parsed = value.lower() == "true"
        else:
            for cast in (int, float):
                try:
                    parsed = cast(value)
                    break
                except ValueError:
                    pass
        out[key.strip().replace("-", "_")] = parsed
    return out


def open_dataset_from_cli(dataset: str, root: Path, split: str | None, options: list[str] | None):
    """Open a dataset by name; an unknown name or a bad root is a one-line error."""
    from depthforge.data import list_datasets, open_dataset

    if dataset not in list_datasets():
        raise DepthforgeError(f"unknown dataset {dataset!r}; known: {', '.join(list_datasets())}")
    if dataset != "synth" and not root.exists():
        raise DataError(root, "dataset root not found")
    return open_dataset(dataset, str(root), split=split, **parse_options(options))


@app.callback()
def _root() -> None:
    """Monocular depth estimation: data, evaluation, training and RGB-D applications."""


@app.command()
def version() -> None:
    """Print the depthforge version."""
    from depthforge import __version__

    console.print(__version__)


@app.command()
def datasets() -> None:
    """List the dataset names that --dataset accepts."""
    from depthforge.data import DATASETS

    for name, target in sorted(DATASETS.items()):
        console.print(f"{name:10s} {target}")


@app.command()
def inspect(
    dataset: DatasetOpt,
    root: RootOpt,
    split: SplitOpt = None,
    option: OptionOpt = None,
    ids: Annotated[
        bool, typer.Option("--ids", help="Print only the sample ids, one per line.")
    ] = False,
    max_samples: Annotated[int, typer.Option(help="Samples to read for the statistics.")] = 200,
) -> None:
    """Counts, image sizes, depth range and percentiles, valid fraction, intrinsics; warns when the
    depth scale or the intrinsics look wrong."""
    from depthforge.data.inspect import inspect_dataset

    ds = open_dataset_from_cli(dataset, root, split, option)
    if ids:
        for sid in ds.ids:
            typer.echo(sid)
        return
    with progress_bar("inspecting") as update:
        stats = inspect_dataset(ds, max_samples=max_samples, progress=update)
    table = Table(title=f"{dataset} @ {root}" + (f" [{split}]" if split else ""), show_header=False)
    table.add_row("samples", f"{stats.count} ({stats.inspected} inspected)")
    table.add_row(
        "image sizes (WxH)", ", ".join(f"{s} ×{n}" for s, n in stats.image_sizes.most_common())
    )
    table.add_row("valid depth fraction", f"{stats.valid_fraction:.3f}")
    table.add_row("depth range (m)", f"{stats.depth_min:.3f} .. {stats.depth_max:.3f}")
    table.add_row(
        "depth percentiles (m)",
        "  ".join(f"p{p}={v:.3f}" for p, v in stats.depth_percentiles.items()),
    )
    table.add_row("intrinsics", "\n".join(f"{k} ×{n}" for k, n in stats.intrinsics.most_common(5)))
    console.print(table)
    for warning in stats.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)


def refuse_to_overwrite(out: Path, overwrite: bool) -> None:
    """Stop unless ``out`` is absent or empty, or the user passed ``--overwrite``."""
    if out.exists() and not out.is_dir():
        raise DataError(out, "exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise DataError(out, "folder already holds files (pass --overwrite to replace them)")


@app.command()
def synth(
    out: Annotated[Path, typer.Argument(help="Folder to write (the depthforge folder format).")],
    scenes: Annotated[int, typer.Option(help="Number of scenes (worlds).")] = 4,
    size: Annotated[str, typer.Option(help="Image size WxH.")] = "160x120",
    frames: Annotated[int, typer.Option(help="Frames per scene (a camera path).")] = 10,
    stereo: Annotated[bool, typer.Option("--stereo", help="Also render right views.")] = False,
    seed: Annotated[int, typer.Option(help="Seed; the same seed renders the same world.")] = 0,
    kind: Annotated[str, typer.Option(help="indoor (rooms) or outdoor (streets).")] = "indoor",
    holes: Annotated[bool, typer.Option("--holes", help="Kinect-like holes in the depth.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace files in OUT.")] = False,
) -> None:
    """Render the procedural RGB-D world into OUT: images, metric depth, normals, labels, poses,
    optional stereo views, and ordinal pairs in the DIW CSV format."""
    from depthforge.synth import parse_size, write_synth_folder

    if kind not in ("indoor", "outdoor"):
        raise DepthforgeError(f"--kind must be indoor or outdoor, got {kind!r}")
    try:
        wh = parse_size(size)
    except ValueError as exc:
        raise DepthforgeError(f"--size {size!r}: {exc}") from exc
    refuse_to_overwrite(out, overwrite)
    with progress_bar("rendering") as update:
        write_synth_folder(
            out,
            scenes=scenes,
            size=wh,
            frames=frames,
            stereo=stereo,
            seed=seed,
            kind=kind,
            holes=holes,
            progress=update,
        )
    console.print(
        f"wrote {scenes * frames} frames to [bold]{out}[/] (read it with --dataset folder)"
    )


def main() -> None:
    """Entry point: run the Typer app, turning DepthforgeError into one line and exit code 2."""
    try:
        app()
    except DepthforgeError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
