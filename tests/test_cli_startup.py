"""The listing commands answer without importing PyTorch (each run in a fresh interpreter, as a
user runs them), and print what the registries hold."""

from __future__ import annotations

import os
import re
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


def test_models_lists_architectures_and_pretrained_names_without_torch():
    from depthforge.models.names import MODEL_NAMES
    from depthforge.models.pretrained.catalog import PRETRAINED

    code, out, imported = run_probe("models")
    assert code == 0 and imported == []
    for name, entry in MODEL_NAMES.items():
        space = entry.output_space.value if entry.output_space else "no depth"
        assert re.search(rf"│ {name} +│ {entry.architecture} +│ {space} +│", out), name
    assert [name for name in PRETRAINED if name not in out] == []


@pytest.mark.parametrize("args", [("eval", "--help"), ("annotate", "--help"), ("nonsense",)])
def test_help_of_commands_and_usage_errors_import_no_torch(args):
    code, _, imported = run_probe(*args)
    assert code in (0, 2) and imported == []


@pytest.mark.parametrize("normals", [False, True])
def test_pointcloud_from_a_depth_file_imports_no_torch(tmp_path, normals):
    """Points, normals (the default) from a depth file with K: NumPy only."""
    import json

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).save(tmp_path / "rgb.png")
    depth = np.full((6, 8), 2.0, np.float32)
    depth[0, 0] = 0.0  # a hole: not lifted
    np.save(tmp_path / "depth.npy", depth)
    (tmp_path / "K.json").write_text(json.dumps({"fx": 4.0, "fy": 4.0, "cx": 3.5, "cy": 2.5}))
    out = tmp_path / "cloud.ply"
    args = ["pointcloud", str(tmp_path / "rgb.png"), "--depth", str(tmp_path / "depth.npy")]
    args += ["--intrinsics", str(tmp_path / "K.json"), "--out", str(out)]
    code, stdout, imported = run_probe(*args, *([] if normals else ["--no-normals"]))
    assert code == 0 and imported == [] and "47 points" in stdout
    header, body = out.read_bytes().split(b"end_header\n")
    assert b"element vertex 47" in header and (b"nx" in header) == normals
    if normals:  # a fronto-parallel plane: (0, 0, −1) inside, 0 on the border and by the hole
        record = np.dtype([("xyz", "<f4", 3), ("n", "<f4", 3), ("rgb", "u1", 3)])
        n = np.frombuffer(body, record)["n"]
        inside = [v * 8 + u - 1 for v in range(1, 5) for u in range(1, 7) if (v, u) != (1, 1)]
        assert np.array_equal(n[inside], np.tile([0.0, 0.0, -1.0], (len(inside), 1)))
        assert (n[[0, 1, 6, 7]] == 0).all()  # border pixels of the first row (index = pixel − 1)


@pytest.mark.parametrize("extra", [(), ("--mesh",)])
def test_pointcloud_with_the_default_fov_and_meshes_import_no_torch(tmp_path, extra):
    import numpy as np
    from PIL import Image

    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(tmp_path / "rgb.png")
    np.save(tmp_path / "depth.npy", np.full((6, 8), 2.0, np.float32))
    out = tmp_path / ("mesh.ply" if extra else "cloud.ply")
    args = ["pointcloud", str(tmp_path / "rgb.png"), "--depth", str(tmp_path / "depth.npy")]
    code, stdout, imported = run_probe(*args, "--out", str(out), *extra)
    assert code == 0 and imported == [], stdout
    assert ("70 triangles" in stdout) if extra else ("48 points" in stdout)
