"""Fixtures of the annotation service's tests: a throwaway PostgreSQL cluster, store URLs for
both backends, a small synthetic project, and a real uvicorn server process.

A system tool these tests need (PostgreSQL, Chromium) makes them skip with the reason when it is
missing, except under CI (``CI=true``), where a missing tool is a failure: CI installs them.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from depthforge.annotate.crowd import ServerProcess, free_port
from depthforge.annotate.project import init_project
from depthforge.synth.export import write_synth_folder


def require(available: bool, what: str) -> None:
    """Skip (locally) or fail (CI) when a system tool is missing."""
    if available:
        return
    message = f"{what} is not installed (Debian: see scripts/setup.sh)"
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(message + "; CI must install it")
    pytest.skip(message)


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL cluster in a temporary folder on a free port of 127.0.0.1, stopped (and
    removed) afterwards. PostgreSQL refuses to run as root, so as root it runs as ``postgres``."""
    bindir = _pg_bin()
    require(bindir is not None, "PostgreSQL (the postgresql package)")
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="depthforge-pg-"))
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
    data, port = root / "data", free_port()
    run = lambda *cmd: subprocess.run(  # noqa: E731
        [*as_user, *cmd], check=True, capture_output=True, text=True, cwd=root
    )
    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(data),
        "-o",
        options,
        "-l",
        str(root / "log"),
        "-w",
        "start",
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_database(postgres_server, request):
    """A fresh, empty database on the cluster; its URL."""
    import psycopg

    name = f"t{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}_{time.monotonic_ns() % 10**6}"
    with psycopg.connect(f"{postgres_server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{postgres_server}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """The URL of an empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return request.getfixturevalue("postgres_database")


@pytest.fixture(scope="session")
def synth_folder(tmp_path_factory) -> Path:
    """A small folder-format export of the synthetic world (images + depth)."""
    return write_synth_folder(
        tmp_path_factory.mktemp("synth") / "world", scenes=2, frames=2, size=(64, 48), pairs=0
    )


@pytest.fixture
def project(tmp_path, synth_folder):
    """A project on ``synth_folder``: 4 images × 6 pairs, k = 2, gold from depth."""
    return init_project(tmp_path / "project", synth_folder, pairs_per_image=6, k=2, gold_rate=0.25)


@pytest.fixture
def serve():
    """``serve(project_dir) -> Server`` started; every server is stopped afterwards."""
    servers: list[ServerProcess] = []

    def start(project_dir: Path, db: str | None = None) -> ServerProcess:
        servers.append(ServerProcess(project_dir, db).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()
