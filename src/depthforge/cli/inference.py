"""``depthforge predict | export``: depth maps from a model, and the model as ONNX."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from depthforge.cli.common import (
    DeviceOpt,
    OptionOpt,
    SplitOpt,
    console,
    err_console,
    esc,
    open_dataset_from_cli,
    progress_bar,
    torch_threads,
)
from depthforge.errors import DepthforgeError

app = typer.Typer()


def parse_wh(text: str | None) -> tuple[int, int] | None:
    """``"WxH"`` → ``(H, W)`` (the order models take), or ``None``."""
    if text is None:
        return None
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        width = height = 0
    if width <= 0 or height <= 0:
        raise DepthforgeError(f"--size {text!r}: expected WIDTHxHEIGHT > 0, e.g. 304x228")
    return height, width


@app.command()
def predict(
    inputs: Annotated[
        list[Path] | None, typer.Argument(help="Images, videos and/or folders of them.")
    ] = None,
    model: Annotated[
        str,
        typer.Option(help="A saved model folder, or a pretrained name (`depthforge models`)."),
    ] = ...,
    weights: Annotated[
        Path | None,
        typer.Option(help="With a pretrained name: its release file, downloaded by hand."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("predictions"),
    fmt: Annotated[
        str,
        typer.Option("--format", help="npy (metres), png16 (mm) or color (preview with legend)."),
    ] = "npy",
    batch_size: Annotated[int, typer.Option(min=1, help="Images per forward pass.")] = 4,
    size: Annotated[
        str | None, typer.Option(help="Network input WxH (default: the model's).")
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option("--dataset", "-d", help="Predict a dataset split instead of files."),
    ] = None,
    root: Annotated[
        Path | None, typer.Option("--root", "-r", help="Dataset root (with --dataset).")
    ] = None,
    split: SplitOpt = None,
    option: OptionOpt = None,
    device: DeviceOpt = "auto",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace results in OUT.")] = False,
) -> None:
    """Predict depth at each input's resolution; with --dataset, write <sample id>.npy files that
    `depthforge eval` scores."""
    from depthforge.apps.predict_jobs import predict_dataset, predict_paths, synthetic_only_note
    from depthforge.models.pretrained.load import resolve_model

    torch_threads()

    hw = parse_wh(size)
    if dataset is None and not inputs:
        raise DepthforgeError("nothing to predict: give images, folders or --dataset")
    synthetic = synthetic_only_note(model) if dataset != "synth" else None
    model = resolve_model(model, weights=weights, device=device)
    if synthetic:
        err_console.print(f"[yellow]note:[/] {esc(synthetic)}", highlight=False)
    if not model.output_space.is_metric:
        err_console.print(
            f"[yellow]note:[/] this model predicts relative depth ({model.output_space.value}), "
            "not metres",
            highlight=False,
        )
    if dataset is not None:
        if inputs:
            raise DepthforgeError("give either INPUT paths or --dataset, not both")
        if root is None:
            raise DepthforgeError("--dataset needs --root")
        ds = open_dataset_from_cli(dataset, root, split, option)
        with progress_bar("predicting") as update:
            n = predict_dataset(
                model, ds, out, batch_size=batch_size, size=hw, overwrite=overwrite, progress=update
            )
        console.print(f"wrote {n} predictions to [bold]{esc(out)}[/]")
        return
    with progress_bar("predicting") as update:
        summary = predict_paths(
            model,
            inputs,
            out,
            format=fmt,
            batch_size=batch_size,
            size=hw,
            overwrite=overwrite,
            progress=update,
        )
    for note in summary.notes:
        err_console.print(f"[yellow]note:[/] {esc(note)}", highlight=False)
    console.print(
        f"wrote {len(summary.written)} {summary.output_space.value} maps to [bold]{esc(out)}[/]"
    )


@app.command()
def export(
    model: Annotated[
        str, typer.Option(help="A saved model folder, or a pretrained name (`depthforge models`).")
    ],
    onnx: Annotated[Path, typer.Option(help="Output .onnx file.")],
    size: Annotated[
        str | None, typer.Option(help="Example input WxH (default: the model's).")
    ] = None,
    static: Annotated[bool, typer.Option("--static", help="Fixed batch and size.")] = False,
    device: Annotated[
        str, typer.Option(help="Where the graph is traced: cpu (default), cuda, cuda:N or auto.")
    ] = "cpu",
    resize_in_graph: Annotated[
        bool,
        typer.Option(
            "--resize-in-graph",
            help="Resize inside the graph as predict does: any image size in, depth at the "
            "image size out (opset 18; --size is then the network size).",
        ),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing file.")
    ] = False,
) -> None:
    """Export a saved model to ONNX (dynamic batch, and dynamic size where the architecture allows).

    The file's metadata holds the contract: input normalisation and size policy, output size,
    space and units (see the README).
    """
    from depthforge.io import refuse_overwrite
    from depthforge.models.export import export_onnx
    from depthforge.models.pretrained.load import resolve_model

    torch_threads()

    refuse_overwrite(onnx, overwrite)
    net = resolve_model(model, device=device)
    export_onnx(net, onnx, dynamic=not static, size=parse_wh(size), resize_in_graph=resize_in_graph)
    dims = (
        "batch and size"
        if (net.onnx_dynamic_size or resize_in_graph) and not static
        else ("batch" if not static else "nothing")
    )
    console.print(f"wrote [bold]{esc(onnx)}[/] (dynamic: {dims})")
