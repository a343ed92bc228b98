"""The listing commands answer without importing PyTorch (each run in a fresh interpreter, as a
user runs them), and print what the registries hold."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import depthforge
from depthforge.data import DATASETS
from depthforge.eval import get_protocol, list_protocols
from depthforge.train.config import list_recipes

# Run the command line, then report on stderr which heavy modules the run imported.
PROBE = """
import sys
from depthforge.cli import main
try:
    main()
finally:
    heavy = sorted(m for m in ("torch", "fastapi", "sqlalchemy", "scipy", "cv2") if m in sys.modules)
    sys.stderr.write("\\nimported: " + ",".join(heavy) + "\\n")
"""


def run_probe(*args: str) -> tuple[int, str, list[str]]:
    """(exit status, stdout, heavy modules imported) of ``depthforge ARGS`` in a new process."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    marker = done.stderr.rsplit("imported: ", 1)
    assert len(marker) == 2, done.stderr
    imported = [m for m in marker[1].strip().split(",") if m]
    return done.returncode, done.stdout, imported


def test_help_and_version_import_no_torch():
    code, out, imported = run_probe("--help")
    assert code == 0 and imported == []
    for command in ("datasets", "eval", "train", "pointcloud", "models", "annotate"):
        assert f" {command} " in out
    code, out, imported = run_probe("--version")
    assert code == 0 and imported == [] and out.strip() == depthforge.__version__
    code, out, imported = run_probe("version")
    assert code == 0 and imported == [] and out.strip() == depthforge.__version__


def test_datasets_lists_every_reader_without_torch():
    code, out, imported = run_probe("datasets")
    assert code == 0 and imported == []
    rows = [line.split() for line in out.strip().splitlines()]
    assert {name: target for name, target in rows} == DATASETS


def test_protocols_lists_names_and_descriptions_without_torch():
    code, out, imported = run_probe("protocols")
    assert code == 0 and imported == []
    lines = out.strip().splitlines()
    assert [line.split()[0] for line in lines] == list_protocols()
    for line, name in zip(lines, list_protocols(), strict=True):
        assert line[28:].strip() == get_protocol(name).description.strip()


def test_recipes_lists_the_shipped_recipes_without_torch():
    code, out, imported = run_probe("recipes")
    assert code == 0 and imported == []
    assert [r for r in list_recipes() if r not in out] == []


@pytest.mark.parametrize("args", [("eval", "--help"), ("annotate", "--help"), ("nonsense",)])
def test_help_of_commands_and_usage_errors_import_no_torch(args):
    code, _, imported = run_probe(*args)
    assert code in (0, 2) and imported == []

