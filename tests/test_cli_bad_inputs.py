"""The command line on broken inputs: each mistake ends in exit status 2 and exactly one line on
stderr naming the file or key at fault; no traceback, no file of the user's changed, no
temporary file left. The inputs are built at test time from small real and synthetic files."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from depthforge import cli

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TUM = SHARED / "open3d_rgbd_formats"


def bomb_png(path: Path, side: int = 40000) -> None:
    """A 1-bit PNG of ``side``² pixels in a few kilobytes: past Pillow's decompression limit."""
    raw = zlib.compress(b"\x00" * ((side // 8 + 1) * side), 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    )


def gt_folder(path: Path, depth_mm: np.ndarray, depth_scale: float) -> Path:
    """A one-image folder dataset whose 16-bit depth is ``depth_mm`` with ``depth_scale`` units/m."""
    (path / "images").mkdir(parents=True)
    (path / "depth").mkdir()
    h, w = depth_mm.shape
    Image.fromarray(np.full((h, w, 3), 128, np.uint8)).save(path / "images" / "a.png")
    Image.fromarray(depth_mm.astype(np.uint16)).save(path / "depth" / "a.png")
    (path / "depthforge.json").write_text(json.dumps({"depth_scale": depth_scale}))
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """The user's files: every broken input of the cases below, inside one folder."""
    from depthforge.models import create_model, save_model
    from depthforge.synth import write_synth_folder

    w = tmp_path_factory.mktemp("bad")
    write_synth_folder(w / "synth", scenes=1, frames=2, size=(32, 24), seed=1)
    save_model(create_model("fcrn_resnet18", input_size=(24, 32)), w / "model")
    image = w / "synth" / "images" / "scene_000" / "000000.png"
    depth = w / "synth" / "depth" / "scene_000" / "000000.png"
    shutil.copy(image, w / "photo.png")
    shutil.copy(depth, w / "depth.png")
    shutil.copy(image, w / "holiday [sea] 2019.png")
    data = (TUM / "TUM_color.png").read_bytes()
    (w / "truncated.png").write_bytes(data[: len(data) // 3])
    (w / "holiday [red]trunc.png").write_bytes(data[: len(data) // 3])
    shutil.copy(TUM / "TUM_depth.png", w / "TUM_depth.png")
    (w / "empty").mkdir()
    (w / "nested" / "a").mkdir(parents=True)
    shutil.copy(image, w / "nested" / "a" / "x.png")
    bomb_png(w / "bomb.png")
    (w / "zero.npy").write_bytes(b"")
    (w / "zeropreds").mkdir()
    (w / "zeropreds" / "scene_000").mkdir()
    for sid in ("000000", "000001"):
        (w / "zeropreds" / "scene_000" / f"{sid}.npy").write_bytes(b"")
    (w / "preds").mkdir()
    (w / "preds" / "a.npy").write_bytes(b"")
    np.save(w / "preds" / "a.npy", np.ones((24, 32), np.float32))
    gt_folder(w / "gt_mm", np.full((24, 32), 2400), depth_scale=1.0)  # mm declared as metres
    gt_folder(w / "gt_zero", np.zeros((24, 32)), depth_scale=1000.0)
    (w / "nan.npy").write_bytes(b"")
    np.save(w / "nan.npy", np.full((24, 32), np.nan, np.float32))
    np.save(w / "zeros.npy", np.zeros((24, 32), np.float32))
    (w / "a_file").write_text("not a folder\n")
    (w / "readonly").mkdir()
    (w / "existing.json").write_text("{}\n")
    (w / "existing.txt").write_text("keep me\n")
    (w / "existing.ply").write_text("keep me\n")
    (w / "existing.png").write_bytes((w / "photo.png").read_bytes())
    (w / "existing.onnx").write_text("keep me\n")
    (w / "garbage_poses.txt").write_text("these are not poses\n")
    shutil.copy(SHARED / "trajectories_gt" / "KITTI_00_gt.txt", w / "gt_poses.txt")
    (w / "frames").mkdir()
    shutil.copy(image, w / "frames" / "0.png")
    shutil.copy(image, w / "frames" / "1.png")
    os.chmod(w / "readonly", stat.S_IRUSR | stat.S_IXUSR)
    yield w
    os.chmod(w / "readonly", stat.S_IRWXU)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file and folder under ``root`` with its mode and a hash of its content."""
    state = {}
    for path in sorted(root.rglob("*")):
        info = path.stat()
        digest = hashlib.sha1(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        state[str(path.relative_to(root))] = (info.st_mode, digest)
    return state


KIND = ["--depth-kind", "png16", "--depth-scale", "1000"]
PNG16 = ["--depth", "{w}/depth.png", *KIND]

# (arguments with {w} for the user's folder, text the one line must contain)
CASES = [
    # unknown names: one line with the nearest known name
    (["inspect", "-d", "nyuu", "-r", "{w}/synth"], "did you mean 'nyu'"),
    (
        ["eval", "{w}/preds", "-d", "folder", "-r", "{w}/gt_zero", "--protocol", "nyu_eigan"],
        "did you mean 'nyu_eigen'",
    ),
    (
        ["eval", "{w}/preds", "-d", "folder", "-r", "{w}/gt_zero", "--align", "medain"],
        "did you mean 'median'",
    ),
    (
        ["eval", "{w}/preds", "-d", "folder", "-r", "{w}/gt_zero", "--output-space", "metric_dept"],
        "did you mean 'metric_depth'",
    ),
    (
        ["inspect", "-d", "folder", "-r", "{w}/synth", "-o", "neighbour_ofsets=1"],
        "did you mean 'neighbour_offsets'",
    ),
    (["predict", "{w}/photo.png", "--model", "fcrn_resnet5O", "--out", "{w}/o1"], "fcrn_resnet5O"),
    (["train", "synth_dmeo"], "did you mean 'synth_demo'"),
    (["synth", "--out", "{w}/s1", "--kind", "indor"], "did you mean 'indoor'"),
    (
        [
            "eval-pose",
            "--gt",
            "{w}/gt_poses.txt",
            "--pred",
            "{w}/gt_poses.txt",
            "--protocol",
            "snipets",
        ],
        "did you mean 'snippets'",
    ),
    (
        [
            "dof",
            "{w}/photo.png",
            "--depth",
            "{w}/depth.png",
            "--fnumber",
            "2",
            "--focus",
            "1",
            "--preset",
            "phon",
            "--out",
            "{w}/d1.png",
        ],
        "did you mean 'phone'",
    ),
    (
        [
            "dof",
            "{w}/photo.png",
            "--depth",
            "{w}/depth.png",
            "--fnumber",
            "2",
            "--focus",
            "1",
            "--aperture",
            "hexagn",
            "--out",
            "{w}/d2.png",
        ],
        "did you mean 'hexagon'",
    ),
    (
        [
            "complete",
            "{w}/photo.png",
            "--sparse",
            "{w}/depth.png",
            *KIND,
            "--method",
            "colorisation",
            "--out",
            "{w}/c1.npy",
        ],
        "did you mean 'colorization'",
    ),
    (
        [
            "pointcloud",
            "{w}/photo.png",
            "--depth",
            "{w}/depth.png",
            "--depth-kind",
            "pngg16",
            "--fov",
            "60",
            "--out",
            "{w}/p1.obj",
        ],
        "did you mean 'png16'",
    ),
    (
        [
            "predict",
            "{w}/photo.png",
            "--model",
            "{w}/model",
            "--format",
            "pngg16",
            "--out",
            "{w}/o2",
        ],
        "did you mean 'png16'",
    ),
    # broken inputs to predict
    (["predict", "{w}/truncated.png", "--model", "{w}/model", "--out", "{w}/o3"], "truncated.png"),
    (["predict", "{w}/empty", "--model", "{w}/model", "--out", "{w}/o4"], "empty"),
    (["predict", "{w}/nested", "--model", "{w}/model", "--out", "{w}/o5"], "sub-folders"),
    (
        ["predict", "{w}/photo.png", "--model", "{w}/model", "--size", "0x0", "--out", "{w}/o6"],
        "--size",
    ),
    (["predict", "{w}/bomb.png", "--model", "{w}/model", "--out", "{w}/o7"], "bomb.png"),
    (["predict", "{w}/zero.npy", "--model", "{w}/model", "--out", "{w}/o8"], "zero.npy"),
    (["predict", "{w}/photo.png", "--model", "{w}/no_model", "--out", "{w}/o9"], "no_model"),
    (
        [
            "predict",
            "{w}/photo.png",
            "--model",
            "{w}/model",
            "--batch-size",
            "0",
            "--out",
            "{w}/o10",
        ],
        "--batch-size",
    ),
    # zero-byte and all-NaN depth files elsewhere
    (["eval", "{w}/zeropreds", "-d", "folder", "-r", "{w}/synth"], "000000.npy"),
    (
        [
            "pointcloud",
            "{w}/photo.png",
            "--depth",
            "{w}/zero.npy",
            "--fov",
            "60",
            "--out",
            "{w}/p2.obj",
        ],
        "zero.npy",
    ),
    (
        [
            "pointcloud",
            "{w}/photo.png",
            "--depth",
            "{w}/nan.npy",
            "--fov",
            "60",
            "--out",
            "{w}/p3.obj",
        ],
        "nan.npy",
    ),
    (
        [
            "dof",
            "{w}/photo.png",
            "--depth",
            "{w}/zeros.npy",
            "--fnumber",
            "2",
            "--focus",
            "1",
            "--out",
            "{w}/d3.png",
        ],
        "zeros.npy",
    ),
    # unit and content mistakes, said precisely
    (
        ["eval", "{w}/preds", "-d", "folder", "-r", "{w}/gt_mm"],
        "millimetres",
    ),
    (["eval", "{w}/preds", "-d", "folder", "-r", "{w}/gt_zero"], "zero"),
    # one depth-source contract: a PNG's units are never guessed (TUM stores 5000 per metre)
    (
        [
            "dof",
            "{w}/photo.png",
            "--depth",
            "{w}/TUM_depth.png",
            "--fnumber",
            "2",
            "--focus",
            "1",
            "--out",
            "{w}/d4.png",
        ],
        "TUM_depth.png",
    ),
    # output problems
    (["predict", "{w}/photo.png", "--model", "{w}/model", "--out", "{w}/readonly/o"], "readonly"),
    (["predict", "{w}/photo.png", "--model", "{w}/model", "--out", "{w}/a_file/o"], "a_file"),
    (["pointcloud", "{w}/photo.png", *PNG16, "--fov", "60", "--out", "{w}/a_file/p.obj"], "a_file"),
    (
        ["pointcloud", "{w}/photo.png", *PNG16, "--fov", "60", "--out", "{w}/readonly/p.obj"],
        "readonly",
    ),
    (
        [
            "dof",
            "{w}/photo.png",
            "--depth",
            "{w}/depth.png",
            "--fnumber",
            "2",
            "--focus",
            "1",
            "--out",
            "{w}/readonly/d.png",
        ],
        "readonly",
    ),
    (
        [
            "complete",
            "{w}/photo.png",
            "--sparse",
            "{w}/depth.png",
            *KIND,
            "--out",
            "{w}/a_file/c.npy",
        ],
        "a_file",
    ),
    (["synth", "--out", "{w}/a_file", "--scenes", "1", "--frames", "1"], "a_file"),
    (
        ["baseline", "--out", "{w}/readonly/b", "-d", "folder", "-r", "{w}/synth", "--depth", "2"],
        "readonly",
    ),
    (["export", "--model", "{w}/model", "--onnx", "{w}/a_file/m.onnx"], "a_file"),
    (
        ["parallax", "{w}/photo.png", *PNG16, "--frames", "2", "--out", "{w}/readonly/v.gif"],
        "readonly",
    ),
    # silent overwrites
    (
        [
            "eval",
            "{w}/preds",
            "-d",
            "folder",
            "-r",
            "{w}/synth",
            "--allow-missing",
            "--json",
            "{w}/existing.json",
        ],
        "existing.json",
    ),
    (
        [
            "eval-pose",
            "--gt",
            "{w}/gt_poses.txt",
            "--model",
            "{w}/model",
            "--images",
            "{w}/frames",
            "--save-pred",
            "{w}/existing.txt",
        ],
        "existing.txt",
    ),
    (["export", "--model", "{w}/model", "--onnx", "{w}/existing.onnx"], "existing.onnx"),
    (
        ["pointcloud", "{w}/photo.png", *PNG16, "--fov", "60", "--out", "{w}/existing.ply"],
        "existing.ply",
    ),
    (
        [
            "dof",
            "{w}/photo.png",
            "--depth",
            "{w}/depth.png",
            "--fnumber",
            "2",
            "--focus",
            "1",
            "--out",
            "{w}/existing.png",
        ],
        "existing.png",
    ),
    (
        [
            "complete",
            "{w}/photo.png",
            "--sparse",
            "{w}/depth.png",
            *KIND,
            "--out",
            "{w}/existing.png",
        ],
        "existing.png",
    ),
    # user strings are printed as written (no rich markup)
    (
        ["predict", "{w}/holiday [red]trunc.png", "--model", "{w}/model", "--out", "{w}/o11"],
        "holiday [red]trunc.png",
    ),
    (
        ["inspect", "-d", "folder", "-r", "{w}/synth", "--split", "{w}/with/[brackets]/s.txt"],
        "with/[brackets]/s.txt",
    ),
    (
        ["pointcloud", "{w}/[b]missing.png", *PNG16, "--fov", "60", "--out", "{w}/p4.obj"],
        "[b]missing.png",
    ),
    # missing and garbage files elsewhere
    (
        ["eval-pose", "--gt", "{w}/garbage_poses.txt", "--pred", "{w}/gt_poses.txt"],
        "garbage_poses.txt",
    ),
    (["eval-pose", "--gt", "{w}/gone.txt", "--pred", "{w}/gt_poses.txt"], "gone.txt"),
    (["complete", "{w}/photo.png", "--sparse", "{w}/gone.png", "--out", "{w}/c2.npy"], "gone.png"),
    (["export", "--model", "{w}/photo.png", "--onnx", "{w}/m2.onnx"], "photo.png"),
    # devices: a name that is no device, and a GPU this machine lacks (none, or fewer than 8)
    (["predict", "{w}/photo.png", "--model", "{w}/model", "--device", "gpu"], "--device 'gpu'"),
    (
        [
            "pointcloud",
            "{w}/photo.png",
            "--model",
            "{w}/model",
            "--device",
            "cuda:7",
            "--out",
            "{w}/c.ply",
        ],
        "--device cuda:7",
    ),
]


ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
CASES = [
    pytest.param(*case, marks=pytest.mark.skipif(ROOT, reason="root writes into read-only folders"))
    if "readonly" in " ".join(case[0])
    else case
    for case in CASES
]


def run(args: list[str], monkeypatch, capsys) -> tuple[int, str]:
    """``depthforge ARGS`` in-process; returns (exit status, stderr). Any exception escaping
    ``main`` fails the test (it would be a traceback)."""
    monkeypatch.setattr(sys, "argv", ["depthforge", *args])
    monkeypatch.setenv("COLUMNS", "400")  # one logical line stays one printed line
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "args,names",
    CASES,
    ids=[f"{(c.values if hasattr(c, 'values') else c)[0][0]}-{i}" for i, c in enumerate(CASES)],
)
def test_bad_input_is_one_line_and_exit_2(args, names, world, monkeypatch, capsys):
    before = snapshot(world)
    code, err = run([a.replace("{w}", str(world)) for a in args], monkeypatch, capsys)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert names in lines[0], lines[0]
    assert snapshot(world) == before  # nothing changed, nothing left behind


def test_there_are_at_least_forty_cases_across_every_command():
    runnable = [c for c in CASES if not hasattr(c, "values") or not ROOT]
    assert len(runnable) >= 40
    commands = {(c.values if hasattr(c, "values") else c)[0][0] for c in CASES}
    assert commands >= {
        "inspect",
        "eval",
        "predict",
        "train",
        "synth",
        "eval-pose",
        "dof",
        "complete",
        "pointcloud",
        "parallax",
        "export",
        "baseline",
    }


def test_a_missing_extra_names_the_pip_install(world, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "plyfile", None)  # import plyfile fails
    before = snapshot(world)
    args = ["pointcloud", f"{world}/photo.png", *PNG16, "--fov", "60", "--out", "{w}/p5.ply"]
    args = [a.replace("{w}", str(world)) for a in args]
    code, err = run(args, monkeypatch, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "pip install 'depthforge[mesh]'" in err
    assert snapshot(world) == before


def test_user_strings_are_printed_as_written(world, tmp_path, monkeypatch, capsys):
    out = tmp_path / "holiday [sea] 2019"
    args = ["baseline", "--out", str(out), "-d", "folder", "-r", f"{world}/synth", "--depth", "2"]
    monkeypatch.setattr(sys, "argv", ["depthforge", *args])
    monkeypatch.setenv("COLUMNS", "400")
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 0
    assert "holiday [sea] 2019" in capsys.readouterr().out
    monkeypatch.setattr(
        sys, "argv", ["depthforge", "eval", str(out), "-d", "folder", "-r", f"{world}/synth"]
    )
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 0
    assert "[sea]" in capsys.readouterr().out  # the column label: a path, not markup


def test_an_interrupted_demo_exits_130_without_error(tmp_path, monkeypatch, capsys):
    from depthforge import demo
    from depthforge.train.trainer import TrainingInterrupted

    def stopped(*_args, **_kwargs):
        raise TrainingInterrupted("stopped by SIGTERM; continue with: depthforge train --resume R")

    monkeypatch.setattr(demo, "run_demo", stopped)
    code, err = run(["demo", "--out", str(tmp_path / "d")], monkeypatch, capsys)
    assert code == 130 and "error" not in err and "--resume" in err


def test_predict_says_when_the_model_knows_only_synthetic_scenes(
    world, tmp_path, monkeypatch, capsys
):
    run_dir = tmp_path / "run"
    shutil.copytree(world / "model", run_dir / "model")
    (run_dir / "config.json").write_text(json.dumps({"train_data": {"dataset": "synth"}}))
    args = ["predict", f"{world}/photo.png", "--model", str(run_dir / "model")]
    code, err = run([*args, "--out", str(tmp_path / "o")], monkeypatch, capsys)
    assert code == 0 and "trained only on synthetic scenes" in err and "depthforge models" in err
    (run_dir / "config.json").write_text(json.dumps({"train_data": {"dataset": "nyu"}}))
    code, err = run([*args, "--out", str(tmp_path / "o2")], monkeypatch, capsys)
    assert code == 0 and "synthetic" not in err
