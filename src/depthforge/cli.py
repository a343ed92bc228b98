"""``depthforge <command>``: a thin layer over the Python API (every command is a function).

Errors on bad input (:class:`~depthforge.errors.DepthforgeError`) print one line and exit with 2.
"""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from depthforge.annotate.cli import app as annotate_app
from depthforge.errors import DataError, DepthforgeError, UnknownNameError, check_name
from depthforge.io import refuse_overwrite

app = typer.Typer(
    name="depthforge",
    help="Monocular depth estimation: data, evaluation, training and RGB-D applications.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(annotate_app)  # the annotation service: its own package on top of the library
console = Console()
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
        help="How to decode the depth file: png16, npy, kitti, nyu_raw, sun, tum, make3d."
    ),
]
DepthScaleOpt = Annotated[
    float | None, typer.Option(help="Units per metre for --depth-kind png16.")
]
IntrinsicsOpt = Annotated[Path | None, typer.Option(help='JSON with {"K": ...} or fx, fy, cx, cy.')]


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


def refuse_to_overwrite(out: Path, overwrite: bool) -> None:
    """Stop unless the folder ``out`` is absent or empty, or the user passed ``--overwrite``."""
    if out.exists() and not out.is_dir():
        raise DataError(out, "exists and is not a folder")
    refuse_overwrite(out, overwrite, folder=True)


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
    from depthforge.types import OutputSpace

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


DEFAULT_PROTOCOL = {
    "nyu": "nyu_eigen",
    "kitti": "kitti_eigen",
    "make3d": "make3d_c1",
    "diw": "diw",
    "synth": "dense",
    "folder": "dense",
}
"""The protocol ``depthforge eval`` uses when ``--protocol`` is not given."""


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

    if (pred is None) == (model is None) or (model is None) != (images is None):
        raise DepthforgeError("give either --pred FILE or --model DIR with --images FOLDER")
    if save_pred is not None:
        refuse_overwrite(save_pred, overwrite)
    if model is not None:
        from depthforge.io import IMAGE_SUFFIXES
        from depthforge.models.io import load_model

        if not images.is_dir():
            raise DataError(images, "not a folder of frames")
        frames = sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        pred = predict_trajectory(load_model(model), frames)
        if save_pred is not None:
            console.print(f"wrote {esc(save_kitti_poses(save_pred, pred))}")
    result = evaluate_trajectory(gt, pred, format, protocol, alignment, rpe_delta)
    console.print(result.table())


@app.command()
def baseline(
    out: Annotated[Path, typer.Argument(help="Folder to write <sample id>.npy predictions into.")],
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


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": False})
def train(
    config: Annotated[
        str,
        typer.Argument(
            help="Recipe YAML file or shipped recipe name (see `depthforge recipes`); with "
            "--resume, the run folder itself."
        ),
    ],
    overrides: Annotated[
        list[str] | None, typer.Argument(help="key=value overrides, e.g. loop.steps=100.")
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Continue a run from its last.pt with its saved config (run.json)."
        ),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Start again over a previous run in OUT_DIR.")
    ] = False,
) -> None:
    """Train from a recipe (composes `_base_` files); works under `torchrun` for several processes.

    `depthforge train --resume RUN` continues the run in folder RUN with the recipe and overrides
    it was started with; overrides given with it apply on top (e.g. loop.steps=2000).
    """
    from depthforge.train.distributed import init_from_env
    from depthforge.train.resume import training_config
    from depthforge.train.run import build_training, finish_run
    from depthforge.train.trainer import TrainingInterrupted

    rank, world = init_from_env()
    cfg, origin = training_config(config, overrides or [], resume=resume)
    try:
        with train_progress("training", enabled=rank == 0) as update:
            run = build_training(cfg, progress=update, origin=origin, stage=stage_line(rank))
            result = run.trainer.fit(resume=resume, overwrite=overwrite)
    except TrainingInterrupted as stopped:
        err_console.print(str(stopped), highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(130) from None
    if rank == 0:
        model_dir = finish_run(run, result)
        console.print(
            f"trained {result.steps} steps in {result.seconds:.0f} s"
            + (
                f"; best {run.trainer.best_metric} {result.best_metric:.4f} at step {result.best_step}"
                if result.best_metric is not None
                else ""
            )
            + f"; model saved to [bold]{model_dir}[/]"
        )


@app.command()
def recipes() -> None:
    """The shipped recipes (train one with `depthforge train NAME`)."""
    from rich.markup import escape

    from depthforge.train.config import RECIPES_DIR, list_recipes, recipe_description

    table = Table("recipe", "what it trains")
    for name in list_recipes():
        table.add_row(escape(name), escape(recipe_description(RECIPES_DIR / f"{name}.yaml")))
    console.print(table)


def stage_line(rank: int = 0):
    """``say(text)``: one "· text" line on stderr (only on rank 0 of a multi-process run)."""
    from rich.markup import escape

    return (lambda text: err_console.print(f"[bold]·[/] {escape(text)}")) if rank == 0 else None


def progress_display() -> Progress:
    """The progress display of long commands: bar, count, running loss (when known), ETA. Where
    stderr is not a terminal the bars are off and each task prints periodic lines instead."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeRemainingColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
    )


def add_progress_task(bar: Progress, description: str, *, with_loss: bool = False):
    """A task on ``bar``; returns ``update(done, total[, loss])`` (loss: mean of the last 20)."""
    from depthforge.progress_lines import PeriodicLines

    task = bar.add_task(description, total=None, status="")
    running: list[float] = []
    lines = None
    if bar.disable:
        lines = PeriodicLines(lambda text: bar.console.print(text, markup=False), description)

    def update(done: int, total: int, loss: float | None = None) -> None:
        status = ""
        if with_loss and loss is not None:
            running.append(loss)
            del running[:-20]
            status = f"loss {sum(running) / len(running):.4f}"
        elif with_loss:
            status = "preparing the first batch"
        bar.update(task, completed=done, total=total, status=status)
        if lines is not None:
            lines(done, total, status)

    return update


@contextmanager
def train_progress(description: str, enabled: bool = True):
    """A progress bar with ETA and the running loss; yields ``update(step, total, loss)``."""
    if not enabled:
        yield None
        return
    with progress_display() as bar:
        yield add_progress_task(bar, description, with_loss=True)


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
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace results in OUT.")] = False,
) -> None:
    """Predict depth at each input's resolution; with --dataset, write <sample id>.npy files that
    `depthforge eval` scores."""
    from depthforge.apps.predict_jobs import predict_dataset, predict_paths, synthetic_only_note
    from depthforge.models.pretrained.load import resolve_model

    hw = parse_wh(size)
    if dataset is None and not inputs:
        raise DepthforgeError("nothing to predict: give images, folders or --dataset")
    synthetic = synthetic_only_note(model) if dataset != "synth" else None
    model = resolve_model(model, weights=weights)
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
    model: Annotated[Path, typer.Option(help="A saved model folder.")],
    onnx: Annotated[Path, typer.Option(help="Output .onnx file.")],
    size: Annotated[
        str | None, typer.Option(help="Example input WxH (default: the model's).")
    ] = None,
    static: Annotated[bool, typer.Option("--static", help="Fixed batch and size.")] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing file.")
    ] = False,
) -> None:
    """Export a saved model to ONNX (dynamic batch, and dynamic size where the architecture allows)."""
    from depthforge.models.export import export_onnx
    from depthforge.models.io import load_model

    refuse_overwrite(onnx, overwrite)
    net = load_model(model)
    export_onnx(net, onnx, dynamic=not static, size=parse_wh(size))
    dims = (
        "batch and size"
        if net.onnx_dynamic_size and not static
        else ("batch" if not static else "nothing")
    )
    console.print(f"wrote [bold]{esc(onnx)}[/] (dynamic: {dims})")


@app.command()
def pointcloud(
    image: Annotated[Path, typer.Argument(help="The RGB photo.")],
    out: Annotated[
        Path,
        typer.Option(
            help="Output .ply, .obj or .glb file. PLY and OBJ: camera frame (x right, y down, "
            "z forward, metres); GLB: glTF frame (+y up, camera looking down -z)."
        ),
    ],
    depth: DepthFileOpt = None,
    depth_kind: DepthKindOpt = None,
    depth_scale: DepthScaleOpt = None,
    model: ModelDirOpt = None,
    intrinsics: IntrinsicsOpt = None,
    fov: Annotated[
        float | None,
        typer.Option(help="Horizontal field of view in degrees (instead of --intrinsics)."),
    ] = None,
    mesh: Annotated[
        bool, typer.Option("--mesh", help="A triangle mesh, cut at depth edges.")
    ] = False,
    scale: Annotated[
        float | None, typer.Option(help="Metres per unit of a scale-invariant depth.")
    ] = None,
    allow_unit_scale: Annotated[
        bool, typer.Option("--allow-unit-scale", help="Accept relative depth in arbitrary units.")
    ] = False,
    no_normals: Annotated[
        bool,
        typer.Option(
            "--no-normals",
            help="Points and colours only (faster); normals shade the cloud in viewers "
            "and surface reconstruction needs them.",
        ),
    ] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUT.")] = False,
) -> None:
    """A coloured point cloud (or mesh) of a photo and its depth, in the camera frame."""
    from depthforge.apps.pointcloud import pointcloud_command

    summary = pointcloud_command(
        image,
        out,
        depth=depth,
        depth_kind=depth_kind,
        depth_scale=depth_scale,
        model=model,
        intrinsics=intrinsics,
        fov=fov,
        mesh=mesh,
        scale=scale,
        allow_unit_scale=allow_unit_scale,
        normals=not no_normals,
        overwrite=overwrite,
    )
    console.print(summary.line(), highlight=False)


@app.command()
def dof(
    image: Annotated[Path, typer.Argument(help="The photo (sRGB).")],
    fnumber: Annotated[float, typer.Option(help="Aperture f-number N (> 0).")],
    depth: DepthFileOpt = None,
    depth_kind: DepthKindOpt = None,
    depth_scale: DepthScaleOpt = None,
    model: ModelDirOpt = None,
    focus: Annotated[float | None, typer.Option(help="Focus distance in metres.")] = None,
    focus_at: Annotated[str | None, typer.Option(help="Focus on the depth at pixel X,Y.")] = None,
    preset: Annotated[str, typer.Option(help="Lens preset: phone or dslr.")] = "phone",
    focal_mm: Annotated[
        float | None, typer.Option(help="Focal length in mm (overrides the preset).")
    ] = None,
    sensor_mm: Annotated[
        float | None, typer.Option(help="Sensor width in mm (overrides the preset).")
    ] = None,
    aperture: Annotated[str, typer.Option(help="disc or hexagon.")] = "disc",
    highlight_boost: Annotated[
        float, typer.Option(help="Bloom of bright highlights (0 = off).")
    ] = 0.0,
    out: Annotated[Path | None, typer.Option(help="Output image (default: IMAGE_dof.png).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUT.")] = False,
) -> None:
    """Synthetic shallow depth of field: thin-lens blur in linear light, occlusion-aware layers.

    A depth file other than .npy needs its --depth-kind (and --depth-scale for png16), as for
    every command."""
    from depthforge.apps.dof import dof_command

    if (focus is None) == (focus_at is None):
        raise DepthforgeError("give exactly one of --focus and --focus-at")
    at = None
    if focus_at is not None:
        try:
            x, y = (int(v) for v in focus_at.split(","))
        except ValueError:
            raise DepthforgeError(f"--focus-at {focus_at!r}: expected X,Y in pixels") from None
        at = (x, y)
    path = dof_command(
        image,
        depth,
        model,
        depth_kind=depth_kind,
        focus=focus,
        focus_at=at,
        fnumber=fnumber,
        focal_mm=focal_mm,
        preset=preset,
        sensor_width_mm=sensor_mm,
        aperture=aperture,
        highlight_boost=highlight_boost,
        depth_scale=depth_scale,
        out=out,
        overwrite=overwrite,
    )
    console.print(f"wrote [bold]{esc(path)}[/]")


@app.command()
def complete(
    image: Annotated[Path, typer.Argument(help="The RGB photo.")],
    sparse: Annotated[
        Path, typer.Option(help="Sparse or holey depth registered to IMAGE (0 = no sample).")
    ],
    out: Annotated[Path, typer.Option(help="Output: .npy metres or .png 16-bit millimetres.")],
    model: Annotated[
        Path | None,
        typer.Option(help="A saved model: sparse_to_dense completes; a plain one needs fusion."),
    ] = None,
    method: Annotated[str, typer.Option(help="colorization or fusion.")] = "colorization",
    depth_kind: DepthKindOpt = None,
    depth_scale: DepthScaleOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUT.")] = False,
) -> None:
    """Dense depth from sparse depth (LiDAR, Kinect holes) guided by the image."""
    from depthforge.apps.completion import complete_command

    summary = complete_command(
        image,
        sparse,
        out,
        method=method,
        model=model,
        depth_kind=depth_kind,
        depth_scale=depth_scale,
        overwrite=overwrite,
    )
    console.print(summary.line(), highlight=False)


@app.command()
def parallax(
    image: Annotated[Path, typer.Argument(help="The photo.")],
    out: Annotated[Path, typer.Option(help="Output video: .mp4 (extra 'video'), .gif or .webp.")],
    depth: DepthFileOpt = None,
    depth_kind: DepthKindOpt = None,
    depth_scale: DepthScaleOpt = None,
    model: ModelDirOpt = None,
    intrinsics: IntrinsicsOpt = None,
    fov: Annotated[
        float | None,
        typer.Option(help="Horizontal field of view in degrees (default 60 without --intrinsics)."),
    ] = None,
    frames: Annotated[int, typer.Option(help="Frames of the looping camera swing.")] = 48,
    fps: Annotated[float, typer.Option(help="Frames per second.")] = 24.0,
    amount: Annotated[
        float, typer.Option(help="Near/far parallax as a fraction of the image width.")
    ] = 0.03,
    stereo: Annotated[
        Path | None, typer.Option(help="Also write the stereo pair, side by side (PNG/JPEG).")
    ] = None,
    anaglyph: Annotated[
        Path | None, typer.Option(help="Also write a red-cyan anaglyph (PNG/JPEG).")
    ] = None,
    baseline: Annotated[
        float | None,
        typer.Option(help="Stereo baseline in depth units (default 0.065 m, or near depth / 30)."),
    ] = None,
    anaglyph_method: Annotated[
        str, typer.Option(help="dubois (least squares) or color (R from left, GB from right).")
    ] = "dubois",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace existing outputs.")
    ] = False,
) -> None:
    """A "3D photo": novel views of IMAGE by depth-based forward warping, as a looping video;
    optionally a stereo pair and an anaglyph."""
    from depthforge.apps.parallax import parallax_command

    summary = parallax_command(
        image,
        out,
        depth=depth,
        depth_kind=depth_kind,
        depth_scale=depth_scale,
        model=model,
        intrinsics=intrinsics,
        fov=fov,
        frames=frames,
        fps=fps,
        parallax=amount,
        stereo=stereo,
        anaglyph_out=anaglyph,
        baseline=baseline,
        anaglyph_method=anaglyph_method,
        overwrite=overwrite,
    )
    console.print(summary.line(), highlight=False)


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option(help="Output folder for the run and the HTML report.")
    ] = Path("depthforge-demo"),
    steps: Annotated[
        int | None, typer.Option(help="Training steps (default: the recipe's).")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a previous demo in OUT.")
    ] = False,
) -> None:
    """The whole toolkit on the synthetic world: render, train a small FCRN, compare with the
    best constant depth, predict held-out frames and write an HTML report."""
    from depthforge.demo import recipe_steps, run_demo

    refuse_to_overwrite(out, overwrite)
    overrides = [] if steps is None else [f"loop.steps={steps}"]
    with progress_display() as bar:  # one live display: rich allows no second one
        result = run_demo(
            out,
            overrides=overrides,
            stage=lambda text: bar.console.print(f"[bold]·[/] {esc(text)}"),
            render_progress=add_progress_task(bar, "rendering"),
            train_progress=add_progress_task(bar, "training", with_loss=True),
            overwrite=overwrite,
        )
    ratio = result.metrics["abs_rel"] / result.baseline_metrics["abs_rel"]
    console.print(
        f"AbsRel {result.metrics['abs_rel']:.3f} vs {result.baseline_metrics['abs_rel']:.3f} for the "
        f"best constant depth ({ratio:.2f}×), δ<1.25 {result.metrics['d1']:.3f}; "
        f"{result.steps} steps, {result.seconds / 60:.1f} min"
    )
    if not result.beats_baseline:
        err_console.print(
            f"[bold yellow]warning:[/] after {result.steps} steps the model is no better than "
            f"the best constant depth; train longer (the recipe's {recipe_steps()} steps)"
        )
    console.print(
        f"report: [bold]{esc(result.report)}[/]   model: [bold]{esc(result.model_dir)}[/]"
    )


from depthforge import cli_pretrained  # noqa: E402, F401 (registers models, convert, reproduce)


def print_error(message: object) -> None:
    """The one printer of errors: ``error: MESSAGE`` on one line of stderr, the message escaped
    (file names such as ``holiday [sea].jpg`` are printed as written, never read as markup)."""
    text = " ".join(str(message).split())  # one line, whatever the message holds
    err_console.print(f"[bold red]error:[/] {esc(text)}", highlight=False, soft_wrap=True)


def print_warning(message, *_args, **_kwargs) -> None:
    """The one printer of warnings (``warnings.showwarning`` while a command runs): one line."""
    text = " ".join(str(message).split())
    err_console.print(f"[yellow]warning:[/] {esc(text)}", highlight=False, soft_wrap=True)


def main() -> None:
    """Entry point: run the Typer app; a bad input (DepthforgeError, a library ValueError, a
    usage error, an unreadable or unwritable file) prints one line and exits with status 2."""
    from typer._click.exceptions import ClickException, NoArgsIsHelpError  # typer's own click

    try:
        with warnings.catch_warnings():
            warnings.showwarning = print_warning
            code = app(standalone_mode=False)
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
