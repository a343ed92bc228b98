"""Export → the ``diw`` reader, and the ``depthforge annotate`` commands end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from depthforge.annotate.export import write_export
from depthforge.annotate.project import init_project, open_project
from depthforge.annotate.samplers import least_certain_pairs, poisson_pairs, random_pairs
from depthforge.cli import app
from depthforge.data.registry import open_dataset


def rule(pair) -> str:
    """A closer when A is lower in the image (larger y), B closer when higher, else same."""
    ya, _, yb, _ = pair
    return "A" if ya > yb else "B" if ya < yb else "="


def answer_all(store, people, answer_of):
    by_task = {}
    for person in people:
        while (task := store.next_task(person)) is not None:
            pair = (*task.a, *task.b)
            by_task[task.task_id] = pair
            store.submit(person, task.task_id, answer_of(person, pair))
    return by_task


def test_export_reads_back_with_the_diw_reader(project, tmp_path):
    store = project.store
    people = [store.add_annotator(n)[0] for n in ("a", "b", "c")]
    contrarian = {"A": "B", "B": "A", "=": "?"}
    # k = 2 in this project: "a" and "b" follow the rule; "c" contradicts it but, arriving last,
    # only meets pairs left by nobody (none), so every pair's two answers agree.
    answer_all(
        store, people, lambda p, pair: contrarian[rule(pair)] if p == people[2] else rule(pair)
    )
    assert store.progress(people[2])["answered"] > 0  # "c" answered tutorial and gold only
    ordinary = store.counts()["pairs"] - store.counts()["gold_pairs"]
    info = write_export(store, project.images_dir, tmp_path / "out", "majority")
    assert info["aggregation"] == "majority" and info["pairs"] == ordinary
    data = open_dataset("diw", str(tmp_path / "out"), split="train_val")
    folder = open_dataset("diw", str(tmp_path / "out"), csv="relative_depth.csv")
    assert len(data) == len(folder) == 4
    relation = {"A": -1, "B": 1, "=": 0}
    total = 0
    for k in range(len(data)):
        sample = data[k]
        assert sample.image.shape[-2:] == (48, 64)  # the copied image, at its own size
        expected = [relation[rule(p)] for p in sample.pairs.tolist()]
        assert sample.relations.tolist() == expected
        total += len(expected)
    assert total == ordinary
    again = pytest.raises(Exception, match="--overwrite")
    with again:
        write_export(store, project.images_dir, tmp_path / "out", "majority")
    record = json.loads((tmp_path / "out" / "annotate_export.json").read_text())
    assert record["files"] == {"diw_csv": "DIW_train_val.csv", "folder_csv": "relative_depth.csv"}


def test_cli_init_invite_status_export(tmp_path, synth_folder):
    runner = CliRunner()
    project_dir = tmp_path / "p"
    result = runner.invoke(
        app,
        [
            "annotate",
            "init",
            str(project_dir),
            "--images",
            str(synth_folder / "images"),
            "--sampler",
            "poisson",
            "--k",
            "1",
            "--pairs-per-image",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "4 images, 16 pairs (0 gold)" in result.output  # a plain image folder: no depth
    result = runner.invoke(app, ["annotate", "add-annotator", str(project_dir), "ann"])
    assert result.exit_code == 0 and "/invite/" in result.output
    token = result.output.strip().rsplit("/", 1)[1]
    project = open_project(project_dir)
    person = project.store.authenticate(token).id
    answer_all(project.store, [person], lambda p, pair: rule(pair))
    status = runner.invoke(app, ["annotate", "status", str(project_dir)])
    assert json.loads(status.output)["counts"]["judgements"] == 16
    out = tmp_path / "export"
    args = ["annotate", "export", str(project_dir), "--out", str(out), "--aggregation"]
    assert runner.invoke(app, [*args, "dawid_skene"]).exit_code == 0
    assert json.loads((out / "annotate_export.json").read_text())["aggregation"] == "dawid_skene"
    refused = runner.invoke(app, [*args, "majority"])
    assert refused.exit_code != 0 and "--overwrite" in str(refused.exception)
    assert runner.invoke(app, [*args, "majority", "--overwrite"]).exit_code == 0
    again = runner.invoke(app, ["annotate", "init", str(project_dir), "--images", str(out)])
    assert "exists here already" in str(again.exception)


def test_samplers_keep_their_promises():
    rng = np.random.default_rng(0)
    pairs = random_pairs(5, 7, 500, rng)
    assert pairs.shape == (500, 4) and pairs[:, 0::2].max() < 5 and pairs[:, 1::2].max() < 7
    assert not np.any((pairs[:, :2] == pairs[:, 2:]).all(axis=1))
    pairs = poisson_pairs(120, 160, 40, rng, min_distance=0.1)
    gaps = np.hypot(pairs[:, 0] - pairs[:, 2], pairs[:, 1] - pairs[:, 3])
    assert len(pairs) == 40 and gaps.min() >= 16 - 1  # 0.1 × 160 px, less the flooring
    depth = rng.random((30, 40))
    chosen = least_certain_pairs(depth, 10, np.random.default_rng(1), candidates=20)
    pool = random_pairs(30, 40, 200, np.random.default_rng(1))  # the same candidates
    gap = np.abs(depth[pool[:, 0], pool[:, 1]] - depth[pool[:, 2], pool[:, 3]])
    np.testing.assert_array_equal(chosen, pool[np.argsort(gap, kind="stable")[:10]])


def test_model_sampler_asks_about_pairs_a_saved_model_cannot_order(tmp_path, synth_folder):
    from depthforge.annotate.project import model_predictor
    from depthforge.io.image import read_rgb
    from depthforge.models import create_model
    from depthforge.models.io import save_model

    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model_dir = save_model(create_model("fcrn_resnet18", input_size=[48, 64]), tmp_path / "m")
    project = init_project(
        tmp_path / "p", synth_folder, sampler="model", model=model_dir, pairs_per_image=3
    )
    gold = project.store.gold()
    predict = model_predictor(model_dir)
    rng = np.random.default_rng(0)
    for pair_id, image, pair in project.store.pairs()[:8]:
        if pair_id in gold:
            continue
        z = predict(read_rgb(project.images_dir / image.name))
        pool = random_pairs(48, 64, 500, rng)
        typical = np.abs(z[pool[:, 0], pool[:, 1]] - z[pool[:, 2], pool[:, 3]])
        # 3 kept of 60 candidates: the gap is among the smallest 5 % of random pairs' gaps.
        assert abs(z[pair[0], pair[1]] - z[pair[2], pair[3]]) <= np.quantile(typical, 0.25)
    with pytest.raises(Exception, match="needs --model"):
        init_project(tmp_path / "q", synth_folder, sampler="model")
