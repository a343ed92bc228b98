"""``depthforge datasets | inspect | synth``: the readers' names, a dataset's statistics, and the
procedural RGB-D world written to disk."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from depthforge.cli.common import (
    DatasetOpt,
    OptionOpt,
    RootOpt,
    SplitOpt,
    console,
    err_console,
    esc,
    open_dataset_from_cli,
    progress_bar,
    refuse_to_overwrite,
    torch_threads,
)
from depthforge.errors import DepthforgeError, check_name

app = typer.Typer()


@app.command()
def datasets() -> None:
    """List the dataset names that --dataset accepts."""
    from depthforge.data import DATASETS

    width = max(map(len, DATASETS))
    for name, target in sorted(DATASETS.items()):
        console.print(f"{name:{width}s} {target}")


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

    torch_threads()

    ds = open_dataset_from_cli(dataset, root, split, option)
    if ids:
        for sid in ds.ids:
            typer.echo(sid)
        return
    with progress_bar("inspecting") as update:
        stats = inspect_dataset(ds, max_samples=max_samples, progress=update)
    table = Table(
        title=esc(f"{dataset} @ {root}" + (f" [{split}]" if split else "")), show_header=False
    )
    table.add_row("samples", f"{stats.count} ({stats.inspected} inspected)")
    table.add_row(
        "image sizes (WxH)", ", ".join(f"{s} ×{n}" for s, n in stats.image_sizes.most_common())
    )
    table.add_row("valid depth fraction", f"{stats.valid_fraction:.3f}")
    table.add_row(  # inspect_dataset pools at most 10 000 valid pixels per inspected sample
        f"depth range (m; subsample: ≤10 000 px of {stats.inspected} of {stats.count} samples)",
        f"{stats.depth_min:.3f} .. {stats.depth_max:.3f}",
    )
    table.add_row(
        "depth percentiles (m)",
        "  ".join(f"p{p}={v:.3f}" for p, v in stats.depth_percentiles.items()),
    )
    table.add_row("intrinsics", "\n".join(f"{k} ×{n}" for k, n in stats.intrinsics.most_common(5)))
    console.print(table)
    for warning in stats.warnings:
        err_console.print(f"[yellow]warning:[/] {esc(warning)}", highlight=False)


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="Folder to write (the depthforge folder format).")],
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

    torch_threads()

    check_name("--kind", kind, ("indoor", "outdoor"))
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
        f"wrote {scenes * frames} frames to [bold]{esc(out)}[/] (read it with --dataset folder)"
    )
