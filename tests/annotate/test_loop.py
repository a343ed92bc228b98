"""The whole loop on the synthetic world: simulated annotators (answers from ground-truth depth,
20 % of them wrong) → Dawid & Skene export → a short ``relative`` training run on the export,
which scores a better WHDR on unseen synthetic scenes than the untrained network."""

from __future__ import annotations

import numpy as np

from depthforge.annotate.crowd import DepthOracle
from depthforge.annotate.export import write_export
from depthforge.annotate.project import init_project
from depthforge.data.folder import FolderDataset
from depthforge.data.registry import open_dataset
from depthforge.losses.ranking import ratio_relations
from depthforge.synth.export import write_synth_folder
from depthforge.train.config import load_config, resolve_recipe
from depthforge.train.run import build_training
from depthforge.train.strategies.relative import make_ordinal_validator

ERROR_RATE = 0.2


def test_simulated_crowd_export_trains_a_better_than_untrained_model(tmp_path):
    world = write_synth_folder(tmp_path / "world", scenes=6, frames=2, size=(64, 48), pairs=0)
    project = init_project(tmp_path / "p", world, pairs_per_image=20, k=3, gold_rate=0.1)
    folder = FolderDataset(world)
    depth = {f"{sid}.png": folder.depth(sid) for sid in folder.ids}
    oracle = DepthOracle(depth, ERROR_RATE, seed=1)
    store = project.store
    for name in ("s1", "s2", "s3"):
        person, _ = store.add_annotator(name)
        while (task := store.next_task(person)) is not None:
            store.submit(person, task.task_id, oracle(task.to_json()))

    stats_gold = [p for p in store.judgements() if p.kind == "gold"]
    assert stats_gold  # gold was mixed in
    out = tmp_path / "export"
    info = write_export(store, project.images_dir, out, "dawid_skene")
    exported = open_dataset("diw", str(out), split="train_val")
    right = total = 0
    for k in range(len(exported)):
        sample = exported[k]
        z = depth[sample.id.removeprefix("images/")]
        p = sample.pairs.numpy()
        truth = ratio_relations(z[p[:, 0], p[:, 1]], z[p[:, 2], p[:, 3]])
        right += int((truth == sample.relations.numpy()).sum())
        total += len(truth)
    assert total == info["pairs"] > 200
    # 3 answers per pair, each wrong with p = 0.2 (split over two wrong labels): the
    # aggregate is right far more often than one answer (0.8).
    assert right / total > 0.88

    cfg = load_config(
        resolve_recipe("synth_relative"),
        [
            f"out_dir={tmp_path / 'run'}",
            "train_data.dataset=diw",
            f"train_data.root={out}",
            "train_data.split=train_val",
            "train_data.options={}",
            "val_data.options={scenes: 2, frames: 2, size: [64, 48], pairs: 100}",
            "model.overrides.input_size=[48,64]",
            "loop.steps=30",
            "loop.batch_size=4",
            "loop.val_every=1000",  # validated here, before and after
            "loop.ckpt_every=1000",
            "optim.warmup_steps=5",
        ],
    )
    run = build_training(cfg)
    validate = make_ordinal_validator(run.val_set)
    untrained = validate(run.trainer.bare_model)["whdr"]
    run.trainer.fit()
    trained = validate(run.trainer.bare_model)["whdr"]
    assert np.isfinite(untrained) and trained < untrained - 0.05, (untrained, trained)
