"""``depthforge models | convert | reproduce``: the published models on the command line."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from depthforge.cli.common import (
    DEFAULT_PROTOCOL,
    OptionOpt,
    RootOpt,
    SplitOpt,
    console,
    err_console,
    open_dataset_from_cli,
    progress_bar,
    refuse_to_overwrite,
    torch_threads,
)
from depthforge.errors import DepthforgeError

app = typer.Typer()


def paper_numbers(record) -> str:
    """``"kitti_eigen (median): abs_rel 0.115, d1 0.877"`` for each of the record's results."""
    return "\n".join(
        f"{r.protocol}{f' ({r.align})' if r.align else ''}: "
        + ", ".join(f"{k} {v:g}" for k, v in r.metrics.items())
        for r in record.results
    )


@app.command()
def models() -> None:
    """List the architectures (for recipes and `create_model`) and the published pretrained
    models (for --model NAME): paper, training data, output space, licence, size, paper numbers."""
    from depthforge.models.names import MODEL_NAMES
    from depthforge.models.pretrained.catalog import PRETRAINED, short_citation

    arch = Table(title="architectures")
    for column in ("name", "class", "output space"):
        arch.add_column(column)
    for name, entry in MODEL_NAMES.items():
        space = entry.output_space
        arch.add_row(name, entry.architecture, space.value if space else "no depth")
    console.print(arch)
    table = Table(title="pretrained models (downloaded and converted on first use)")
    for column in ("name", "paper", "training data", "output", "licence", "size", "paper numbers"):
        table.add_column(column, overflow="fold")
    for record in PRETRAINED.values():
        space = record.output_space.value
        if record.metric_scale is not None:
            space += f" (×{record.metric_scale:g})"
        licence = record.licence + ("" if record.commercial_use else " [red]non-commercial[/]")
        size = f"{record.size_mb:.0f} MB" if record.size_mb else "?"
        table.add_row(
            f"[bold]{record.name}[/]",
            short_citation(record.paper),
            record.training_data,
            space,
            licence,
            size,
            paper_numbers(record),
        )
    console.print(table)


@app.command()
def convert(
    file: Annotated[Path, typer.Argument(help="A release file downloaded by hand.")],
    release_format: Annotated[
        str, typer.Option("--from", help="Its release format (see `depthforge models`).")
    ],
    out: Annotated[Path, typer.Option(help="Model folder to write.")],
    name: Annotated[
        str | None,
        typer.Option(help="Pretrained name whose architecture and config to use."),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace files in OUT.")] = False,
) -> None:
    """Convert a released checkpoint into a model folder (config.json + model.safetensors)."""
    from depthforge.models.pretrained.catalog import PRETRAINED
    from depthforge.models.pretrained.load import convert_release, get_record, verify_release

    torch_threads()

    if name is not None:
        record = get_record(name)
        if record.release_format != release_format:
            raise DepthforgeError(
                f"{name} is released as {record.release_format}, not {release_format}"
            )
        if file.is_file():
            verify_release(record, file)
    else:
        candidates = [r for r in PRETRAINED.values() if r.release_format == release_format]
        setups = {(r.model, tuple(sorted(r.config.items()))) for r in candidates}
        if len(setups) > 1:
            raise DepthforgeError(
                f"--from {release_format} fits several models; choose one with --name: "
                + ", ".join(r.name for r in candidates)
            )
        if not candidates:
            from depthforge.models.pretrained.converters import CONVERTERS

            raise DepthforgeError(
                f"unknown release format {release_format!r}; known: {', '.join(sorted(CONVERTERS))}"
            )
        record = candidates[0]
    refuse_to_overwrite(out, overwrite)
    convert_release(file, release_format, out, model=record.model, config=record.config)
    console.print(
        f"wrote [bold]{out}[/] ({record.model}; licence: {record.licence}); "
        f"use it with --model {out}"
    )


@app.command()
def reproduce(
    name: Annotated[str, typer.Argument(help="Pretrained name (see `depthforge models`).")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="Dataset name.")],
    root: RootOpt,
    split: SplitOpt = None,
    option: OptionOpt = None,
    protocol: Annotated[
        str | None, typer.Option(help="Protocol (default: the one the paper reports).")
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Images per forward pass.")] = 4,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the result as `depthforge eval --json`.")
    ] = None,
) -> None:
    """Run a pretrained model over a dataset split under its paper's protocol and print its
    numbers beside the paper's."""
    from depthforge.apps.predict_jobs import predict_dataset
    from depthforge.eval import evaluate_predictions
    from depthforge.models.pretrained.load import get_record, load_pretrained

    torch_threads()

    record = get_record(name)
    paper = next((r for r in record.results if protocol in (None, r.protocol)), None)
    chosen = protocol or (paper.protocol if paper else DEFAULT_PROTOCOL.get(dataset, "dense"))
    ds = open_dataset_from_cli(dataset, root, split, option)
    model = load_pretrained(name)
    align = paper.align if paper else None
    if align is None and not model.output_space.is_metric:
        align = "median"
    with tempfile.TemporaryDirectory(prefix="depthforge-reproduce-") as tmp:
        with progress_bar("predicting") as update:
            predict_dataset(model, ds, tmp, batch_size=batch_size, progress=update)
        with progress_bar("scoring") as update:
            result = evaluate_predictions(
                tmp, ds, chosen, align, model.output_space, progress=update
            )
    result.settings["predictions"] = f"pretrained:{name}"
    table = Table(caption=f"protocol: {chosen}; {result.n_images} images; alignment: {align}")
    for column in ("metric", name, "paper"):
        table.add_column(column, justify="right" if column != "metric" else "left")
    reported = paper.metrics if paper is not None and paper.protocol == chosen else {}
    for key, value in result.metrics.items():
        table.add_row(key, f"{value:.4f}", f"{reported[key]:g}" if key in reported else "–")
    console.print(table)
    if reported:
        console.print(f"paper numbers: {paper.source}", highlight=False)
    else:
        err_console.print(f"[yellow]note:[/] {name} has no paper numbers under {chosen}")
    if json_out is not None:
        result.to_json(json_out)
        console.print(f"wrote {json_out}")
