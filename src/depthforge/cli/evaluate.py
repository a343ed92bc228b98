"""``depthforge eval | protocols | eval-pose | baseline``: scores of saved predictions and
trajectories, the named protocols, and the best-constant floor."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from depthforge.cli.common import (
    DEFAULT_PROTOCOL,
    DatasetOpt,
    DeviceOpt,
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
from depthforge.errors import DataError, DepthforgeError, check_name

app = typer.Typer()


@app.command("eval")
def eval_(
    predictions: Annotated[
        Path, typer.Argument(help="Folder of <sample id>.npy (metres) or .png.")
    ],
    dataset: DatasetOpt,
    root: RootOpt,
    split: SplitOpt = None,
    option: OptionOpt = None,
    protocol: Annotated[
        str | None,
        typer.Option(
            help="Protocol name (see `depthforge protocols`); default: the dataset's own "
            "(nyu_eigen for nyu, kitti_eigen for kitti, make3d_c1, diw, dense for folder/synth)."
        ),
    ] = None,
    align: Annotated[
        str | None,
        typer.Option(
            help="none, median, scale, scale_shift, scale_disparity, scale_shift_disparity "
            "(default: the protocol's)."
        ),
    ] = None,
    output_space: Annotated[str, typer.Option(help="What the predictions are.")] = "metric_depth",
    png_scale: Annotated[
        float,
        typer.Option(
            "--depth-scale",
            "--png-scale",
            help="Units per metre of 16-bit PNG predictions (the name the other commands use).",
        ),
    ] = 1000.0,
    resize: Annotated[
        bool, typer.Option("--resize", help="Resize predictions to the GT size.")
    ] = False,
    resize_space: Annotated[
        str | None,
        typer.Option(
            help="Where --resize interpolates: depth, disparity (monodepth2) or log_depth "
            "(default: as stored)."
        ),
    ] = None,
    allow_missing: Annotated[
        bool, typer.Option("--allow-missing", help="Skip samples without a prediction.")
    ] = False,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the result (with its protocol) here.")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the --json file.")
    ] = False,
) -> None:
    """Score predictions saved on disk against a dataset under a named protocol."""
    from depthforge.eval import evaluate_predictions, render_table
    from depthforge.io import refuse_overwrite
    from depthforge.types import OutputSpace

    torch_threads()

    if json_out is not None:
        refuse_overwrite(json_out, overwrite)
    ds = open_dataset_from_cli(dataset, root, split, option)
    space = OutputSpace(check_name("--output-space", output_space, [s.value for s in OutputSpace]))
    with progress_bar("scoring") as update:
        result = evaluate_predictions(
            predictions,
            ds,
            protocol or DEFAULT_PROTOCOL.get(dataset, "nyu_eigen"),
            align,
            space,
            png_scale=png_scale,
            resize=resize,
            resize_space=resize_space,
            allow_missing=allow_missing,
            progress=update,
        )
    console.print(render_table(result, labels=[str(predictions)]))
    if result.n_excluded:
        err_console.print(
            f"[yellow]warning:[/] {result.n_excluded} images had no valid ground-truth pixel and "
            f"were excluded: {esc(', '.join(result.excluded_ids[:5]))}{' …' if result.n_excluded > 5 else ''}"
        )
    if result.missing_ids:
        err_console.print(
            f"[yellow]warning:[/] {len(result.missing_ids)} samples had no prediction"
        )
    if json_out is not None:
        result.to_json(json_out)
        console.print(f"wrote {esc(json_out)}")


@app.command()
def protocols() -> None:
    """List the named evaluation protocols."""
    from depthforge.eval import get_protocol, list_protocols

    for name in list_protocols():
        typer.echo(f"{name:28s} {get_protocol(name).description}")


@app.command("eval-pose")
def eval_pose(
    gt: Annotated[Path, typer.Option(help="Ground-truth trajectory (KITTI poses or TUM).")],
    pred: Annotated[
        Path | None,
        typer.Option(help="Predicted trajectory (same format), or monodepth2's poses.npy."),
    ] = None,
    model: Annotated[
        Path | None, typer.Option(help="Instead of --pred: a saved two-frame PoseNet folder.")
    ] = None,
    images: Annotated[
        Path | None, typer.Option(help="With --model: folder of the frames (sorted by name).")
    ] = None,
    device: DeviceOpt = "auto",
    save_pred: Annotated[
        Path | None, typer.Option(help="With --model: write its trajectory here (KITTI).")
    ] = None,
    format: Annotated[
        str | None, typer.Option(help="kitti or tum (default: guessed from the columns).")
    ] = None,
    protocol: Annotated[
        str, typer.Option(help="snippets (SfMLearner/monodepth2 5-frame ATE) or full (TUM).")
    ] = "snippets",
    alignment: Annotated[str, typer.Option(help="full only: sim3, se3 or none.")] = "sim3",
    rpe_delta: Annotated[int, typer.Option(help="full only: RPE frame step.")] = 1,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the --save-pred file.")
    ] = False,
) -> None:
    """Score a predicted camera trajectory: ATE (and RPE) against the ground truth."""
    from depthforge.eval.trajectory import (
        evaluate_trajectory,
        predict_trajectory,
        save_kitti_poses,
    )
    from depthforge.io import refuse_overwrite

    torch_threads()

    if (pred is None) == (model is None) or (model is None) != (images is None):
        raise DepthforgeError("give either --pred FILE or --model DIR with --images FOLDER")
    if save_pred is not None:
        refuse_overwrite(save_pred, overwrite)
    if model is not None:
        from depthforge.devices import choose_device
        from depthforge.io import IMAGE_SUFFIXES
        from depthforge.models.io import load_model

        if not images.is_dir():
            raise DataError(images, "not a folder of frames")
        frames = sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        pred = predict_trajectory(load_model(model, choose_device(device)), frames)
        if save_pred is not None:
            console.print(f"wrote {esc(save_kitti_poses(save_pred, pred))}")
    result = evaluate_trajectory(gt, pred, format, protocol, alignment, rpe_delta)
    console.print(result.table())


@app.command()
def baseline(
    out: Annotated[Path, typer.Option(help="Folder to write <sample id>.npy predictions into.")],
    dataset: DatasetOpt,
    root: RootOpt,
    split: SplitOpt = None,
    option: OptionOpt = None,
    fit_split: Annotated[
        str | None, typer.Option(help="Split to fit the constant on (default: the scored split).")
    ] = None,
    depth: Annotated[
        float | None, typer.Option(help="Use this constant (metres) instead of fitting.")
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace files in OUT.")] = False,
) -> None:
    """Write the best-constant-depth predictions: the floor every trained model must beat."""
    from depthforge.eval.baselines import best_constant_depth, write_constant_predictions

    torch_threads()

    target = open_dataset_from_cli(dataset, root, split, option)
    refuse_to_overwrite(out, overwrite)
    if depth is None:
        fit_on = (
            target if fit_split is None else open_dataset_from_cli(dataset, root, fit_split, option)
        )
        depth = best_constant_depth(fit_on)
        console.print(
            f"best constant depth (minimises AbsRel on {esc(fit_on.name)}): {depth:.3f} m"
        )
    with progress_bar("writing") as update:
        n = write_constant_predictions(target, depth, out, overwrite=overwrite, progress=update)
    console.print(f"wrote {n} predictions of {depth:.3f} m to [bold]{esc(out)}[/]")
