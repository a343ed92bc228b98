"""The training engine: exact resume, atomic checkpoints, divergence stop, config validation."""

from __future__ import annotations

import errno
import json
import os
import re
import signal

import pytest
import torch
import yaml

from depthforge.data.collate import collate_samples
from depthforge.errors import DataError, DepthforgeError
from depthforge.train.checkpoint import load_checkpoint
from depthforge.train.config import (
    LoopConfig,
    OptimConfig,
    list_recipes,
    load_config,
    recipe_description,
    resolve_recipe,
)
from depthforge.train.logging import METRICS_LOG, read_metrics
from depthforge.train.sampler import StepBatchSampler
from depthforge.train.trainer import (
    LAST_CHECKPOINT,
    Trainer,
    TrainingDiverged,
    TrainingInterrupted,
)
from depthforge.types import Sample


class ToyDepth(torch.utils.data.Dataset):
    """Depth = a per-sample linear function of the image intensity (learnable by a 1×1 conv)."""

    def __init__(self, n: int = 12, size: int = 6):
        g = torch.Generator().manual_seed(1)
        self.images = torch.rand(n, 3, size, size, generator=g)
        self.depths = 1.0 + 2.0 * self.images.mean(1, keepdim=True)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> Sample:
        return Sample(
            self.images[i],
            self.depths[i],
            torch.ones_like(self.depths[i], dtype=torch.bool),
            meta={"id": f"toy{i}"},
        )


def masked_l1(model: torch.nn.Module, batch) -> tuple[torch.Tensor, dict[str, float]]:
    pred = model(batch.image)
    loss = (pred - batch.depth).abs()[batch.mask].mean()
    return loss, {}


def make_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 1), torch.nn.Dropout(0.3), torch.nn.Conv2d(4, 1, 1)
    )


def make_trainer(out, steps: int, strategy=masked_l1, **loop_options) -> Trainer:
    options = {"ckpt_every": 3, **loop_options}
    loop = LoopConfig(
        steps=steps, batch_size=4, log_every=1, val_every=10**9, device="cpu", **options
    )
    optim = OptimConfig(lr=1e-2, schedule="cosine", warmup_steps=2)
    return Trainer(make_model(), strategy, ToyDepth(), out, loop=loop, optim=optim, seed=7)


class Killed(Exception):
    """Stands in for the process being killed."""


def test_resume_reproduces_the_uninterrupted_loss_curve(tmp_path):
    straight = make_trainer(tmp_path / "a", 8).fit().losses
    seen = []

    def killed_after_step_6(model, batch):
        if len(seen) == 6:
            raise Killed
        seen.append(1)
        return masked_l1(model, batch)

    with pytest.raises(Killed):
        make_trainer(tmp_path / "b", 8, killed_after_step_6).fit()
    assert load_checkpoint(tmp_path / "b" / LAST_CHECKPOINT)["step"] == 6
    resumed = make_trainer(tmp_path / "b", 8).fit(resume=True).losses
    assert len(resumed) == 2
    torch.testing.assert_close(
        torch.tensor(resumed), torch.tensor(straight[6:]), rtol=1e-6, atol=1e-7
    )
    assert straight[6] != straight[5]  # the comparison is not between constants


def killed_after(steps: int, signal_number: int | None = None):
    """A strategy that dies (or sends itself ``signal_number``) after ``steps`` steps."""
    seen = []

    def strategy(model, batch):
        if len(seen) == steps:
            if signal_number is None:
                raise Killed
            os.kill(os.getpid(), signal_number)
        seen.append(1)
        return masked_l1(model, batch)

    return strategy


def test_metrics_log_keeps_one_record_per_step_across_a_resume(tmp_path):
    with pytest.raises(Killed):
        make_trainer(tmp_path, 8, killed_after(5)).fit()  # logged 1..5, checkpointed at 3
    assert [r["step"] for r in read_metrics(tmp_path / METRICS_LOG)] == [1, 2, 3, 4, 5]
    make_trainer(tmp_path, 8).fit(resume=True)
    assert [r["step"] for r in read_metrics(tmp_path / METRICS_LOG)] == list(range(1, 9))


def test_checkpoints_on_the_wall_clock_interval_too(tmp_path):
    with pytest.raises(Killed):  # the step interval alone would not have saved yet
        make_trainer(tmp_path / "a", 8, killed_after(2), ckpt_every=100, ckpt_minutes=1e3).fit()
    assert not (tmp_path / "a" / LAST_CHECKPOINT).exists()
    with pytest.raises(
        DataError, match="stopped before its first one .every 100 steps or 1000 min"
    ):
        make_trainer(tmp_path / "a", 8, ckpt_every=100, ckpt_minutes=1e3).fit(resume=True)
    with pytest.raises(Killed):  # an interval of 0 minutes is due after every step
        make_trainer(tmp_path / "b", 8, killed_after(2), ckpt_every=100, ckpt_minutes=0).fit()
    assert load_checkpoint(tmp_path / "b" / LAST_CHECKPOINT)["step"] == 2


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_checkpoints_the_step_under_way_and_resumes_exactly(tmp_path, signal_number):
    straight = make_trainer(tmp_path / "a", 8).fit().losses
    before = signal.getsignal(signal_number)
    trainer = make_trainer(tmp_path / "b", 8, killed_after(4, signal_number), ckpt_every=100)
    with pytest.raises(TrainingInterrupted, match=f"{signal_number.name} after step 5 of 8"):
        trainer.fit()  # the signal arrives during step 5, which is finished and saved
    assert signal.getsignal(signal_number) is before
    assert load_checkpoint(tmp_path / "b" / LAST_CHECKPOINT)["step"] == 5
    resumed = make_trainer(tmp_path / "b", 8).fit(resume=True).losses
    torch.testing.assert_close(
        torch.tensor(resumed), torch.tensor(straight[5:]), rtol=1e-6, atol=1e-7
    )


class ScaledL1(torch.nn.Module):
    """A strategy with a parameter of its own (as a pose network or discriminator would be)."""

    def __init__(self):
        super().__init__()
        self.log_scale = torch.nn.Parameter(torch.zeros(()))

    def forward(self, model, batch):
        pred = model(batch.image) * self.log_scale.exp()
        return (pred - batch.depth).abs()[batch.mask].mean(), {}


def test_a_module_strategy_is_trained_checkpointed_and_resumed(tmp_path):
    strategy = ScaledL1()
    straight = make_trainer(tmp_path / "a", 6, strategy).fit().losses
    assert strategy.log_scale.item() != 0.0  # the optimiser updated the strategy's parameter
    saved = load_checkpoint(tmp_path / "a" / LAST_CHECKPOINT)["extra"]["strategy"]
    assert saved["log_scale"].item() == strategy.log_scale.item()

    class KilledAfter3(ScaledL1):
        def forward(self, model, batch):
            if self.calls == 3:
                raise Killed
            self.calls += 1
            return super().forward(model, batch)

    first = KilledAfter3()
    first.calls = 0
    with pytest.raises(Killed):
        make_trainer(tmp_path / "b", 6, first).fit()
    resumed = make_trainer(tmp_path / "b", 6, ScaledL1()).fit(resume=True).losses
    torch.testing.assert_close(
        torch.tensor(resumed), torch.tensor(straight[3:]), rtol=1e-6, atol=1e-7
    )


def test_a_previous_run_is_not_overwritten_without_asking(tmp_path):
    make_trainer(tmp_path, 2).fit()
    before = (tmp_path / LAST_CHECKPOINT).read_bytes()
    with pytest.raises(DataError, match="pass --resume to continue it or --overwrite"):
        make_trainer(tmp_path, 2).fit()
    assert (tmp_path / LAST_CHECKPOINT).read_bytes() == before
    make_trainer(tmp_path, 2).fit(overwrite=True)


def test_metrics_log_is_json_lines(tmp_path):
    make_trainer(tmp_path, 3).fit()
    records = [json.loads(line) for line in (tmp_path / METRICS_LOG).read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all(r["loss"] > 0 and r["lr"] > 0 for r in records)


def test_nan_loss_stops_with_step_batch_and_last_checkpoint(tmp_path):
    calls = {"n": 0}

    def explode_at_step_5(model, batch):
        calls["n"] += 1
        loss, logs = masked_l1(model, batch)
        return (loss * float("nan") if calls["n"] == 5 else loss), logs

    trainer = make_trainer(tmp_path, 8, explode_at_step_5)
    with pytest.raises(TrainingDiverged, match=r"step 4 \(batch \['toy") as info:
        trainer.fit()
    assert str(tmp_path / LAST_CHECKPOINT) in str(info.value)
    saved = load_checkpoint(tmp_path / LAST_CHECKPOINT)
    assert saved["step"] == 3
    assert all(torch.isfinite(v).all() for v in saved["model"].values())


def test_full_disk_while_saving_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path, 3)
    trainer.fit()
    good = (tmp_path / LAST_CHECKPOINT).read_bytes()
    real_save = torch.save

    def disk_full(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)  # partial file on disk, then the error
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OSError, match="No space"):
        make_trainer(tmp_path, 3).fit(overwrite=True)
    assert (tmp_path / LAST_CHECKPOINT).read_bytes() == good
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp.pt")]


def test_step_sampler_is_a_function_of_seed_and_step_and_shards_exactly():
    full = StepBatchSampler(10, 4, 6, seed=3)
    keyed = list(full)
    assert all(step == s for s, batch in enumerate(keyed) for _, step in batch)
    batches = [[index for index, _ in batch] for batch in keyed]
    assert batches == [full.batch_at(s) for s in range(6)]
    assert list(StepBatchSampler(10, 4, 6, seed=3, start_step=4)) == keyed[4:]
    # An epoch (2 steps of 4 out of 10) never repeats an index.
    assert len(set(batches[0]) | set(batches[1])) == 8
    shards = [list(StepBatchSampler(10, 4, 6, seed=3, rank=r, num_replicas=2)) for r in range(2)]
    for step in range(6):
        assert sorted(shards[0][step] + shards[1][step]) == sorted(keyed[step])


def test_unknown_config_key_names_the_nearest_known_key(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text("optim:\n  lr: 0.1\nloop:\n  steps: 5\n")
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("_base_: [base.yaml]\nloop:\n  batch_size: 2\n")
    cfg = load_config(recipe, ["optim.lr=0.01"])
    assert (cfg.optim.lr, cfg.loop.steps, cfg.loop.batch_size) == (0.01, 5, 2)
    with pytest.raises(
        DepthforgeError, match=r"unknown config key loop\.'stpes'; did you mean loop\.'steps'"
    ):
        load_config(recipe, ["loop.stpes=3"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("loop:\n  steps: ten\n", "'loop.steps': expected an integer, got 'ten'"),
        ("loop: 5\n", "'loop': expected a mapping of steps, batch_size, "),
        ("val_data: synth\n", "'val_data': expected a mapping of dataset, root, split, options, "),
        ("optim:\n  lr: fast\n", "'optim.lr': expected a number, got 'fast'"),
        ("optim:\n  grad_clip: [1]\n", "'optim.grad_clip': expected a number or null, got [1]"),
        ("loop:\n  amp: 1\n", "'loop.amp': expected true or false, got 1"),
        ("loop:\n  steps: 2.5\n", "'loop.steps': expected an integer, got 2.5"),
        ("model:\n  overrides: 3\n", "'model.overrides': expected a mapping, got 3"),
        ("seed: true\n", "'seed': expected an integer, got True"),
        ("protocol: 3\n", "'protocol': expected a string or null, got 3"),
    ],
)
def test_recipe_values_of_the_wrong_type_name_key_type_and_value(tmp_path, text, message):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(text)
    with pytest.raises(DepthforgeError, match=re.escape(message)):
        load_config(recipe)


def test_numbers_yaml_reads_as_strings_become_floats(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("optim:\n  lr: 1e-4\n  grad_clip: null\n  weight_decay: 0\nval_data: null\n")
    cfg = load_config(recipe)
    assert cfg.optim.lr == 1e-4 and isinstance(cfg.optim.lr, float)
    assert yaml.safe_load("lr: 1e-4")["lr"] == "1e-4"  # why the coercion is needed (YAML 1.1)
    assert cfg.optim.grad_clip is None and cfg.val_data is None
    assert cfg.optim.weight_decay == 0.0 and isinstance(cfg.optim.weight_decay, float)


def test_every_shipped_recipe_passes_the_schema_and_has_a_description():
    for name in list_recipes():
        load_config(resolve_recipe(name))
        assert 20 <= len(recipe_description(resolve_recipe(name))) <= 100, name


def test_collate_pads_pairs_and_marks_padding():
    a = Sample(
        torch.zeros(3, 2, 2),
        torch.ones(1, 2, 2),
        torch.ones(1, 2, 2, dtype=torch.bool),
        pairs=torch.tensor([[0, 0, 1, 1]]),
        relations=torch.tensor([1]),
        meta={"id": "a"},
    )
    b = Sample(
        torch.zeros(3, 2, 2),
        torch.ones(1, 2, 2),
        torch.ones(1, 2, 2, dtype=torch.bool),
        pairs=torch.tensor([[0, 0, 1, 1], [1, 0, 0, 1]]),
        relations=torch.tensor([-1, 0]),
        meta={"id": "b"},
    )
    batch = collate_samples([a, b])
    assert batch.pairs.shape == (2, 2, 4)
    assert batch.pair_mask.tolist() == [[True, False], [True, True]]
    assert batch.relations.tolist() == [[1, 0], [-1, 0]]
    assert batch.ids == ["a", "b"]


def test_recipe_transforms_are_a_function_of_seed_index_and_step():
    from depthforge.transforms.recipe import AugmentedDataset, build_transforms

    data = AugmentedDataset(
        ToyDepth(n=4, size=8), build_transforms([{"random_crop": [4, 4]}, {"hflip": 0.5}]), seed=1
    )
    a, b = data[(2, 5)], data[(2, 5)]
    torch.testing.assert_close(a.image, b.image)
    assert a.image.shape == (3, 4, 4)
    crops = {tuple(data[(2, step)].image.flatten()[:4].tolist()) for step in range(12)}
    assert len(crops) > 1  # another step, another augmentation
    with pytest.raises(DepthforgeError, match="unknown transform 'flip'; known: resize"):
        build_transforms([{"flip": 0.5}])


@pytest.mark.parametrize("recipe", ["eigen2014_nyu_coarse", "fcrn_nyu", "two_stream_nyu"])
def test_recipe_transforms_apply_to_a_nyu_sized_sample(recipe):
    from depthforge.train.config import resolve_recipe
    from depthforge.transforms.recipe import AugmentedDataset, build_transforms

    cfg = load_config(resolve_recipe(recipe))
    depth = torch.full((1, 1, 480, 640), 3.0)
    sample = Sample(
        torch.rand(3, 480, 640), depth[0], depth[0] > 0, K=torch.eye(3), meta={"id": "x"}
    )
    data = AugmentedDataset([sample], build_transforms(cfg.train_data.transforms), seed=0)
    out = data[(0, 3)]
    assert tuple(out.image.shape[-2:]) == (228, 304)  # the papers' NYU input
    assert out.depth.shape[-2:] == out.image.shape[-2:]


def test_same_size_runs_split_at_size_changes_and_batch_size():
    from depthforge.data.collate import same_size_runs

    def sample(h, w, name):
        return Sample(
            torch.zeros(3, h, w),
            torch.ones(1, h, w),
            torch.ones(1, h, w, dtype=torch.bool),
            meta={"id": name},
        )

    data = [
        sample(2, 3, "a"),
        sample(2, 3, "b"),
        sample(2, 3, "c"),
        sample(4, 3, "d"),
        sample(2, 3, "e"),
    ]
    runs = [[s.id for s in run] for run in same_size_runs(data, batch_size=2)]
    assert runs == [["a", "b"], ["c"], ["d"], ["e"]]
