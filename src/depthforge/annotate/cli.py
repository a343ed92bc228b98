"""``depthforge annotate ...``: create a project, invite annotators, serve, follow, export.

The service's libraries are the optional extra ``depthforge[annotate]``; they are imported when
a command runs, so the rest of the CLI works without them.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Annotated

import typer

from depthforge.errors import DepthforgeError

app = typer.Typer(
    name="annotate",
    help="Collect 'which point is closer?' judgements from people (Depth in the Wild style).",
    no_args_is_help=True,
)
ProjectArg = Annotated[Path, typer.Argument(help="The project folder.")]
DbOpt = Annotated[
    str | None,
    typer.Option(help="Database URL (postgresql://user@host/db); default: SQLite in the project."),
]
EXTRA = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "jinja2", "itsdangerous", "multipart")


def _need_extra() -> None:
    missing = [m for m in EXTRA if importlib.util.find_spec(m) is None]
    if missing:
        raise DepthforgeError(
            f"the annotation service needs {', '.join(missing)}: pip install 'depthforge[annotate]'"
        )


@app.command()
def init(
    project_dir: ProjectArg,
    images: Annotated[Path, typer.Option(help="Folder of images (or a folder-format root).")],
    sampler: Annotated[str, typer.Option(help="random, poisson or model.")] = "random",
    model: Annotated[
        Path | None, typer.Option(help="Saved model folder for --sampler model.")
    ] = None,
    k: Annotated[int, typer.Option("--k", help="Annotators per pair.")] = 3,
    pairs_per_image: Annotated[int, typer.Option(help="Pairs sampled per image.")] = 10,
    gold_rate: Annotated[float, typer.Option(help="Share of gold (known-answer) tasks.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the pair sampling.")] = 0,
    db: DbOpt = None,
) -> None:
    """Create a project from a folder of images and sample the pairs to judge."""
    _need_extra()
    from depthforge.annotate.project import init_project

    project = init_project(
        project_dir,
        images,
        sampler=sampler,
        k=k,
        pairs_per_image=pairs_per_image,
        gold_rate=gold_rate,
        model=model,
        seed=seed,
        db=db,
    )
    counts = project.store.counts()
    typer.echo(
        f"{project_dir}: {counts['images']} images, {counts['pairs']} pairs "
        f"({counts['gold_pairs']} gold). Next: depthforge annotate add-annotator {project_dir} NAME"
    )


@app.command("add-annotator")
def add_annotator(
    project_dir: ProjectArg,
    name: Annotated[str, typer.Argument(help="The annotator's name (unique).")],
    admin: Annotated[bool, typer.Option(help="May see the admin pages and export.")] = False,
    url: Annotated[str, typer.Option(help="The server's address, for the link.")] = (
        "http://127.0.0.1:8000"
    ),
    db: DbOpt = None,
) -> None:
    """Create an annotator and print their invite link (shown once)."""
    _need_extra()
    from depthforge.annotate.project import open_project

    _, token = open_project(project_dir, db).store.add_annotator(name, admin=admin)
    typer.echo(f"{url.rstrip('/')}/invite/{token}")


@app.command()
def serve(
    project_dir: ProjectArg,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    secure_cookies: Annotated[
        bool, typer.Option(help="Send the session cookie over HTTPS only (behind TLS).")
    ] = False,
    db: DbOpt = None,
) -> None:
    """Serve the annotator and admin pages."""
    _need_extra()
    import uvicorn

    from depthforge.annotate.project import open_project
    from depthforge.annotate.web import create_app

    application = create_app(open_project(project_dir, db), secure_cookies=secure_cookies)
    typer.echo(f"serving {project_dir} on http://{host}:{port}/ (Ctrl-C stops)")
    uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)


@app.command()
def status(project_dir: ProjectArg, db: DbOpt = None) -> None:
    """Print progress, per-annotator gold accuracy and agreement as JSON."""
    _need_extra()
    from depthforge.annotate.export import project_stats
    from depthforge.annotate.project import open_project

    typer.echo(json.dumps(project_stats(open_project(project_dir, db).store), indent=2))


@app.command()
def export(
    project_dir: ProjectArg,
    out: Annotated[Path, typer.Option(help="Folder to write the export to.")],
    aggregation: Annotated[str, typer.Option(help="majority or dawid_skene.")] = "majority",
    overwrite: Annotated[bool, typer.Option(help="Replace an earlier export in OUT.")] = False,
    db: DbOpt = None,
) -> None:
    """Write the aggregated pairs as DIW_train_val.csv and relative_depth.csv (+ images)."""
    _need_extra()
    from depthforge.annotate.export import write_export
    from depthforge.annotate.project import open_project

    project = open_project(project_dir, db)
    info = write_export(project.store, project.images_dir, out, aggregation, overwrite=overwrite)
    typer.echo(
        f"{out}: {info['pairs']} pairs on {info['images']} images ({aggregation}); "
        f"read with open_dataset('diw', '{out}', split='train_val')"
    )
