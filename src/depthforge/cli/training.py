"""``depthforge train | recipes | demo``: training from a recipe, the shipped recipes, and the
whole toolkit on the synthetic world; the progress display of these long commands."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from depthforge.cli.common import console, err_console, esc, refuse_to_overwrite, torch_threads

app = typer.Typer()


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

    torch_threads()

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

    torch_threads()

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
