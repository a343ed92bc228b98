"""The command line end to end on a tiny synthetic folder: output, files and exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from depthforge.data.folder import FolderDataset
from tests.cli_runner import run_cli


@pytest.fixture(scope="module")
def synth_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli") / "synth"
    from depthforge.synth import write_synth_folder

    write_synth_folder(root, scenes=2, frames=3, size=(32, 24), seed=3)
    return root


def test_synth_refuses_to_overwrite_without_flag(monkeypatch, capsys, tmp_path):
    out = tmp_path / "w"
    code, stdout, _ = run_cli(
        monkeypatch,
        capsys,
        "synth",
        "--out",
        str(out),
        "--scenes",
        "1",
        "--frames",
        "2",
        "--size",
        "32x24",
    )
    assert code == 0 and "wrote 2 frames" in stdout
    assert len(FolderDataset(out)) == 2
    code, _, err = run_cli(
        monkeypatch, capsys, "synth", "--out", str(out), "--scenes", "1", "--frames", "2"
    )
    assert code == 2 and "--overwrite" in err
    code, _, err = run_cli(
        monkeypatch, capsys, "synth", "--out", str(tmp_path / "x"), "--size", "32by24"
    )
    assert code == 2 and "WIDTHxHEIGHT" in err


def test_inspect_ids_prints_only_the_split_ids(monkeypatch, capsys, synth_root):
    code, out, _ = run_cli(
        monkeypatch,
        capsys,
        "inspect",
        "-d",
        "folder",
        "-r",
        str(synth_root),
        "--split",
        "val",
        "--ids",
    )
    assert code == 0
    assert out.split() == (synth_root / "splits" / "val.txt").read_text().split()


def test_inspect_reports_counts_and_range(monkeypatch, capsys, synth_root):
    code, out, _ = run_cli(monkeypatch, capsys, "inspect", "-d", "folder", "-r", str(synth_root))
    assert code == 0
    assert "6 (6 inspected)" in out and "32x24" in out


def test_baseline_then_eval_matches_an_independent_computation(
    monkeypatch, capsys, synth_root, tmp_path
):
    preds = tmp_path / "const"
    code, out, _ = run_cli(
        monkeypatch,
        capsys,
        "baseline",
        "--out",
        str(preds),
        "-d",
        "folder",
        "-r",
        str(synth_root),
        "--split",
        "val",
        "--depth",
        "2.5",
    )
    assert code == 0 and "wrote 3 predictions" in out
    report = tmp_path / "r.json"
    code, out, _ = run_cli(
        monkeypatch,
        capsys,
        "eval",
        str(preds),
        "-d",
        "folder",
        "-r",
        str(synth_root),
        "--split",
        "val",
        "--json",
        str(report),
    )
    assert code == 0 and "abs_rel" in out
    result = json.loads(report.read_text())
    assert result["protocol"]["name"] == "dense"
    data = FolderDataset(synth_root, "val")
    per_image = []
    for sample in data:
        g = sample.depth[sample.mask].double().numpy()
        per_image.append(np.mean(np.abs(g - 2.5) / g))
    assert result["metrics"]["abs_rel"] == pytest.approx(np.mean(per_image), rel=1e-6)
    assert result["n_images"] == 3


def test_bad_inputs_exit_2_with_one_line(monkeypatch, capsys, synth_root, tmp_path):
    code, _, err = run_cli(
        monkeypatch, capsys, "eval", str(tmp_path / "nope"), "-d", "folder", "-r", str(synth_root)
    )
    assert code == 2 and "predictions folder not found" in err and str(tmp_path / "nope") in err
    code, _, err = run_cli(monkeypatch, capsys, "inspect", "-d", "nyuu", "-r", str(synth_root))
    assert code == 2 and "unknown dataset 'nyuu'" in err and "nyu" in err
    code, _, err = run_cli(monkeypatch, capsys, "inspect", "-d", "folder", "-r", str(tmp_path))
    assert code == 2 and "no images/ folder" in err
    assert len(err.strip().splitlines()) == 1


def test_predict_a_split_then_eval_reads_every_prediction(
    monkeypatch, capsys, synth_root, tmp_path
):
    from depthforge.models import create_model, save_model

    save_model(create_model("fcrn_resnet18", input_size=(48, 64)), tmp_path / "m")
    preds = tmp_path / "preds"
    code, out, _ = run_cli(
        monkeypatch,
        capsys,
        "predict",
        "--model",
        str(tmp_path / "m"),
        "--out",
        str(preds),
        "-d",
        "folder",
        "-r",
        str(synth_root),
        "--split",
        "val",
    )
    assert code == 0 and "wrote 3 predictions" in out
    code, out, _ = run_cli(
        monkeypatch,
        capsys,
        "eval",
        str(preds),
        "-d",
        "folder",
        "-r",
        str(synth_root),
        "--split",
        "val",
        "--json",
        str(tmp_path / "r.json"),
    )
    assert code == 0 and "abs_rel" in out
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["n_images"] == 3 and not result["missing_ids"]


def test_train_a_shipped_recipe_with_overrides_and_resume(monkeypatch, capsys, tmp_path):
    run = tmp_path / "run"
    tiny = [
        f"out_dir={run}",
        "loop.steps=2",
        "loop.batch_size=2",
        "loop.val_every=2",
        "loop.ckpt_every=1",
        "model.overrides.input_size=[48,64]",
        "train_data.options={scenes: 1, frames: 2, size: [64, 48]}",
        "val_data.options={scenes: 1, frames: 2, size: [64, 48]}",
    ]
    code, out, err = run_cli(monkeypatch, capsys, "train", "synth_demo", *tiny)
    assert code == 0, err
    assert (run / "model" / "model.safetensors").is_file() and (run / "last.pt").is_file()
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 2 and "abs_rel" in records[-1]["val"]
    code, _, err = run_cli(monkeypatch, capsys, "train", "synth_demo", *tiny, "loop.stpes=3")
    assert code == 2 and "did you mean loop.'steps'" in err


def test_pointcloud_from_a_depth_file(monkeypatch, capsys, synth_root, tmp_path):
    pytest.importorskip("plyfile", reason="PLY output needs plyfile (extra 'mesh')")
    image = synth_root / "images" / "scene_000" / "000000.png"
    depth = synth_root / "depth" / "scene_000" / "000000.png"
    args = [
        "pointcloud",
        str(image),
        "--depth",
        str(depth),
        "--depth-kind",
        "png16",
        "--depth-scale",
        "1000",
    ]
    code, out, _ = run_cli(
        monkeypatch, capsys, *args, "--fov", "65", "--out", str(tmp_path / "c.ply")
    )
    assert code == 0 and (tmp_path / "c.ply").stat().st_size > 32 * 24 * 12
    code, out, _ = run_cli(monkeypatch, capsys, *args, "--out", str(tmp_path / "d.ply"))
    assert code == 0 and "a 60° field of view assumed" in out  # as parallax does
    intrinsics = tmp_path / "k.json"
    intrinsics.write_text('{"fx": 30, "fy": 30, "cx": 16, "cy": 12}')
    code, _, err = run_cli(
        monkeypatch, capsys, *args, "--fov", "65", "--intrinsics", str(intrinsics), "--out", "x.ply"
    )
    assert code == 2 and "give --intrinsics or --fov, not both" in err
    code, _, err = run_cli(
        monkeypatch, capsys, *args, "--fov", "65", "--no-normals", "--out", str(tmp_path / "e.ply")
    )
    assert code == 0, err
    import plyfile

    with_normals = plyfile.PlyData.read(str(tmp_path / "c.ply"))["vertex"]
    without = plyfile.PlyData.read(str(tmp_path / "e.ply"))["vertex"]
    assert {"nx", "ny", "nz"} <= set(with_normals.data.dtype.names)
    assert not {"nx", "ny", "nz"} & set(without.data.dtype.names)
    for axis in "xyz":  # the same points, only the normals left out
        assert (without[axis] == with_normals[axis]).all()


def test_dof_focus_at_a_pixel(monkeypatch, capsys, synth_root, tmp_path):
    image = synth_root / "images" / "scene_000" / "000000.png"
    depth = synth_root / "depth" / "scene_000" / "000000.png"
    out = tmp_path / "dof.png"
    args = ["dof", str(image), "--depth", str(depth), "--depth-kind", "png16", "--depth-scale"]
    args += ["1000", "--fnumber", "1.8", "--preset", "dslr"]
    code, stdout, err = run_cli(
        monkeypatch, capsys, *args, "--focus-at", "16,12", "--out", str(out)
    )
    assert code == 0, err
    from PIL import Image

    assert Image.open(out).size == (32, 24)
    code, _, err = run_cli(
        monkeypatch, capsys, *args, "--focus-at", "16;12", "--out", str(tmp_path / "x.png")
    )
    assert code == 2 and "expected X,Y" in err
    code, _, err = run_cli(
        monkeypatch,
        capsys,
        "dof",
        str(image),
        "--depth",
        str(depth),
        "--fnumber",
        "0",
        "--focus",
        "2",
    )
    assert code == 2 and "--fnumber must be > 0" in err


def test_help_shows_flags_as_flags_and_paragraphs_unbroken(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that rich never wraps these lines
    code, out, _ = run_cli(monkeypatch, capsys, "synth", "--help")
    assert code == 0
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("│ ")}
    for flag in ("--stereo", "--holes", "--overwrite", "--help"):
        assert "<bool>" not in rows[flag] and "Also render" in rows["--stereo"], rows[flag]
    assert "<int>" in rows["--scenes"]  # options with a value keep their type
    code, out, _ = run_cli(monkeypatch, capsys, "dof", "--help")
    # the docstring's second paragraph breaks after "as for"; the help reads it as one line
    assert "(and --depth-scale for png16), as for every command." in out
