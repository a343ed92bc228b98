"""Relative-depth (Chen et al. 2016) and multi-task (Eigen & Fergus 2015) strategies and recipes."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from depthforge.data.collate import Batch
from depthforge.errors import DepthforgeError
from depthforge.models.eigen2015 import MultiTaskOutput
from depthforge.train.config import load_config, resolve_recipe
from depthforge.train.run import build_training
from depthforge.train.strategies.multitask import (
    MultiTask,
    build_multitask,
    labels_loss,
    normals_loss,
)
from depthforge.train.strategies.relative import (
    RelativeDepth,
    build_relative,
    make_ordinal_validator,
)
from depthforge.types import OutputSpace


class FixedOutput(nn.Module):
    """A 'model' whose output is a fixed tensor (plus 0·bias, so a loss has a graph)."""

    def __init__(self, output, output_space=OutputSpace.METRIC_DEPTH):
        super().__init__()
        self.output, self.output_space = output, output_space
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, images):
        if isinstance(self.output, torch.Tensor):
            return self.output + 0.0 * self.bias
        return self.output


def pair_batch() -> Batch:
    """One 2×4 image, two real pairs and one padding pair."""
    return Batch(
        image=torch.zeros(1, 3, 2, 4),
        depth=torch.zeros(1, 1, 2, 4),
        mask=torch.zeros(1, 1, 2, 4, dtype=torch.bool),
        # pair 1: A (0, 1) vs B (1, 2), A nearer (−1); pair 2: A (0, 0) vs B (1, 3), equal (0).
        pairs=torch.tensor([[[0, 1, 1, 2], [0, 0, 1, 3], [1, 1, 0, 0]]]),
        relations=torch.tensor([[-1, 0, 1]]),
        pair_mask=torch.tensor([[True, True, False]]),
    )


# A 1×2 output [[0, 2]] upsampled to 2×4 (bilinear, align_corners=False): output column j
# samples the source at x = (j + 0.5)/2 − 0.5 = −0.25, 0.25, 0.75, 1.25, clamped to [0, 1]:
# values 0, 0.5, 1.5, 2 on both rows. So z(0,1) = 0.5, z(1,2) = 1.5, z(0,0) = 0, z(1,3) = 2.
HALF_RES = torch.tensor([[[[0.0, 2.0]]]])


def test_ranking_loss_through_the_strategy_matches_hand_arithmetic():
    strategy = build_relative("ranking", {}, OutputSpace.METRIC_DEPTH)
    loss, logs = strategy(FixedOutput(HALF_RES), pair_batch())
    # pair 1: Δ = 0.5 − 1.5 = −1, r = −1 → log(1 + exp(r·Δ)) = log(1 + e^−1);
    # pair 2: Δ = 0 − 2 = −2, r = 0 → Δ² = 4; padding pair ignored; mean over 2 pairs.
    expected = (math.log(1.0 + math.exp(-1.0)) + 4.0) / 2.0
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert logs["pairs"] == 2.0


def test_disparity_like_output_flips_the_sign():
    strategy = build_relative("ranking", {}, OutputSpace.AFFINE_INVARIANT_DISPARITY)
    assert strategy.disparity_like
    loss, _ = strategy(FixedOutput(HALF_RES, OutputSpace.AFFINE_INVARIANT_DISPARITY), pair_batch())
    # z = −pred: pair 1 Δ = −0.5 − (−1.5) = +1 with r = −1 → log(1 + e^1); pair 2 Δ² = 4.
    expected = (math.log(1.0 + math.e) + 4.0) / 2.0
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_relative_strategy_refuses_batches_without_pairs_and_unknown_losses():
    batch = pair_batch()
    batch.pairs = batch.relations = batch.pair_mask = None
    with pytest.raises(DepthforgeError, match="pairs"):
        RelativeDepth(OutputSpace.METRIC_DEPTH)(FixedOutput(HALF_RES), batch)
    with pytest.raises(DepthforgeError, match="ranking"):
        build_relative("berhu", {}, OutputSpace.METRIC_DEPTH)


def test_ordinal_validator_scores_whdr_over_ordered_pairs_only():
    class Rows(nn.Module):
        """Depth = row index + 1 (rows farther down are farther), any input size."""

        output_space = OutputSpace.METRIC_DEPTH

        def __init__(self):
            super().__init__()
            self.bias = nn.Parameter(torch.zeros(()))
            self.config = type("C", (), {"input_size": (2, 4), "resize": "stretch"})()
            self.fixed_input_size = False

        def forward(self, images):
            b, _, h, w = images.shape
            return torch.arange(1.0, h + 1.0).view(1, 1, h, 1).expand(b, 1, h, w) + self.bias

    from depthforge.types import Sample

    def sample(pairs, relations, sid):
        return Sample(
            image=torch.zeros(3, 2, 4),
            depth=torch.zeros(1, 2, 4),
            mask=torch.zeros(1, 2, 4, dtype=torch.bool),
            pairs=torch.tensor(pairs),
            relations=torch.tensor(relations),
            meta={"id": sid},
        )

    data = [
        # A on row 1 is farther than B on row 0: +1 correct, −1 wrong; the '=' pair is dropped.
        sample([[1, 0, 0, 0], [1, 1, 0, 1], [0, 0, 1, 1]], [1, -1, 0], "a"),
        sample([[0, 0, 1, 0]], [-1], "b"),  # correct
        sample([[0, 0, 0, 1]], [0], "c"),  # only '=': not scored
    ]
    metrics = make_ordinal_validator(data)(Rows())
    assert metrics == {"whdr": pytest.approx(1 / 3)}


# --- multi-task ----------------------------------------------------------------------------


def unit(x):
    return F.normalize(torch.as_tensor(x, dtype=torch.float32), dim=1)


def test_normals_term_is_zero_for_identical_and_two_for_opposite():
    n = unit(torch.randn(2, 3, 4, 5))
    assert normals_loss(n, n).item() == pytest.approx(0.0, abs=1e-6)
    assert normals_loss(-n, n).item() == pytest.approx(2.0, abs=1e-6)
    # Unnormalised predictions are normalised first: 3·N is as good as N.
    assert normals_loss(3.0 * n, n).item() == pytest.approx(0.0, abs=1e-6)
    # A pixel without a target normal (zero vector) is left out. Pixels: equal → 0,
    # opposite → 2, perpendicular → 1, no target → excluded; mean (0 + 2 + 1) / 3 = 1.
    target = torch.tensor([[0, 0, 1], [0, 0, 1], [0, 1, 0], [0, 0, 0]], dtype=torch.float32)
    pred = torch.tensor([[0, 0, 1], [0, 0, -1], [1, 0, 0], [0, 1, 0]], dtype=torch.float32)
    as_map = lambda v: v.T.reshape(1, 3, 1, 4)  # noqa: E731
    assert normals_loss(as_map(pred), as_map(target)).item() == pytest.approx(1.0, abs=1e-6)
    assert normals_loss(as_map(pred), torch.zeros(1, 3, 1, 4)).item() == 0.0


def test_cross_entropy_term_matches_torch_and_ignores_invalid_labels():
    logits = torch.tensor(
        [[[[2.0, 0.5, -1.0]], [[0.0, 1.5, 3.0]], [[-1.0, 0.0, 0.5]]]]
    )  # (1,3,1,3)
    labels = torch.tensor([[[2, 0, 7]]])  # 7 is not a class of 3: ignored
    expected = F.cross_entropy(logits[..., :2], labels[..., :2])
    assert labels_loss(logits, labels).item() == pytest.approx(expected.item(), rel=1e-6)
    # By hand: pixel 0, class 2: logsumexp(2, 0, −1) − (−1); pixel 1, class 0: lse(.5,1.5,0) − .5.
    by_hand = (
        math.log(math.exp(2) + 1 + math.exp(-1))
        + 1.0
        + math.log(math.exp(0.5) + math.exp(1.5) + 1.0)
        - 0.5
    ) / 2
    assert labels_loss(logits, labels).item() == pytest.approx(by_hand, rel=1e-6)
    # ignore_label drops class 2 as well: only pixel 1 is left.
    only_1 = F.cross_entropy(logits[..., 1:2], labels[..., 1:2])
    assert labels_loss(logits, labels, ignore_label=2).item() == pytest.approx(only_1.item())
    assert labels_loss(logits, torch.full_like(labels, -1)).item() == 0.0


def test_multitask_strategy_resamples_targets_to_each_head_and_weights_the_terms():
    # Targets at 2×4, heads at 1×2: nearest pixel centre takes row 1, columns 1 and 3.
    labels = torch.tensor([[[0, 0, 0, 0], [0, 2, 0, 1]]])
    normals = torch.zeros(1, 3, 2, 4)
    normals[0, 2, 1, 1] = 1.0  # (0, 0, 1) at (1, 1)
    normals[0, 0, 1, 3] = 1.0  # (1, 0, 0) at (1, 3)
    depth = torch.full((1, 1, 2, 4), 2.0)
    logits = torch.tensor([[[[1.0, 0.0]], [[0.0, 2.0]], [[3.0, -1.0]]]])
    pred_normals = torch.tensor([[[[0.0, -1.0]], [[0.0, 0.0]], [[1.0, 0.0]]]])  # right, opposite
    output = MultiTaskOutput(
        depth=torch.full((1, 1, 1, 2), math.log(2.0)), normals=pred_normals, labels=logits
    )
    batch = Batch(
        image=torch.zeros(1, 3, 2, 4),
        depth=depth,
        mask=torch.ones(1, 1, 2, 4, dtype=torch.bool),
        normals=normals,
        labels=labels,
    )
    strategy = build_multitask(
        "eigen2015", {"weights": {"normals": 2.0, "labels": 0.5}}, OutputSpace.LOG_DEPTH
    )
    loss, logs = strategy(FixedOutput(output, OutputSpace.LOG_DEPTH), batch)
    ce = F.cross_entropy(logits, torch.tensor([[[2, 1]]]))
    assert logs["loss_depth"] == pytest.approx(0.0, abs=1e-6)  # log 2 everywhere = ln gt
    assert logs["loss_normals"] == pytest.approx(1.0)  # (0 + 2) / 2
    assert logs["loss_labels"] == pytest.approx(ce.item(), rel=1e-6)
    assert loss.item() == pytest.approx(2.0 * 1.0 + 0.5 * ce.item(), rel=1e-6)
    # A head whose target is missing is an error; weight 0 switches the task off.
    batch.normals = None
    with pytest.raises(DepthforgeError, match="normals"):
        strategy(FixedOutput(output, OutputSpace.LOG_DEPTH), batch)
    off = MultiTask(OutputSpace.LOG_DEPTH, {"depth": 1.0, "normals": 0.0, "labels": 1.0})
    assert "loss_normals" not in off(FixedOutput(output, OutputSpace.LOG_DEPTH), batch)[1]
    with pytest.raises(DepthforgeError, match="weights"):
        build_multitask("eigen2015", {"weights": {"depht": 1.0}}, OutputSpace.LOG_DEPTH)


def test_a_fixed_size_model_gets_images_stretched_to_its_input_size():
    class Fixed(nn.Module):
        output_space = OutputSpace.LOG_DEPTH
        fixed_input_size = True

        def __init__(self):
            super().__init__()
            self.config = type("C", (), {"input_size": (2, 2)})()
            self.seen = None

        def forward(self, images):
            self.seen = images
            return MultiTaskOutput(depth=torch.zeros(images.shape[0], 1, 1, 1))

    model = Fixed()
    image = torch.tensor([[0.0, 2.0, 4.0, 6.0], [0.0, 2.0, 4.0, 6.0]]).expand(1, 3, 2, 4)
    batch = Batch(image=image, depth=torch.ones(1, 1, 2, 4), mask=torch.ones(1, 1, 2, 4).bool())
    MultiTask(OutputSpace.LOG_DEPTH)(model, batch)
    # 4 → 2 columns, antialiased bilinear (triangle filter widened ×2): output column 0 is
    # centred on source x = 0.5 and weighs columns 0, 1, 2 by 1 − d/2 = 0.75, 0.75, 0.25
    # (column −1 is outside and dropped): (0·.75 + 2·.75 + 4·.25) / 1.75 = 10/7; column 1
    # mirrors it on columns 1, 2, 3: (2·.25 + 4·.75 + 6·.75) / 1.75 = 32/7.
    expected = torch.tensor([10 / 7, 32 / 7]).expand(2, 2)
    assert torch.allclose(model.seen[0, 0], expected)


# --- recipes --------------------------------------------------------------------------------

RECIPES = {
    "synth_relative": ("relative", build_relative),
    "chen2016_diw": ("relative", build_relative),
    "synth_multitask": ("multitask", build_multitask),
    "eigen2015_nyu": ("multitask", build_multitask),
}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipes_load_validate_and_build_their_strategy(name):
    strategy, builder = RECIPES[name]
    cfg = load_config(resolve_recipe(name))
    assert cfg.strategy == strategy
    assert builder(cfg.loss.name, cfg.loss.kwargs, OutputSpace.LOG_DEPTH) is not None
    if name in ("chen2016_diw", "eigen2015_nyu"):
        assert cfg.train_data.root is None and cfg.val_data.root is None  # given on the CLI
        assert load_config(resolve_recipe(name), ["train_data.root=/d"]).train_data.root == "/d"


def tiny(tmp_path, size, extra=()):
    w, h = size
    return [
        f"out_dir={tmp_path / 'run'}",
        "loop.steps=2",
        "loop.batch_size=2",
        "loop.val_every=2",
        "loop.ckpt_every=2",
        f"train_data.options={{scenes: 1, frames: 2, size: [{w}, {h}], pairs: 20}}",
        *extra,
    ]


def val_records(tmp_path):
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)["val"] for line in lines if "val" in json.loads(line)]


def test_synth_relative_recipe_trains_two_steps_and_validates_whdr(tmp_path):
    val = "val_data.options={scenes: 1, frames: 2, size: [64, 48], pairs: 20}"
    cfg = load_config(
        resolve_recipe("synth_relative"),
        tiny(tmp_path, (64, 48), ["model.overrides.input_size=[48,64]", val]),
    )
    run = build_training(cfg)
    assert run.trainer.best_metric == "whdr"
    result = run.trainer.fit()
    assert len(result.losses) == 2 and all(math.isfinite(v) for v in result.losses)
    whdr = val_records(tmp_path)[-1]["whdr"]
    assert 0.0 <= whdr <= 1.0 and (tmp_path / "run" / "best.pt").is_file()


def test_synth_multitask_recipe_trains_two_steps(tmp_path):
    options = "val_data.options={scenes: 1, frames: 2, size: [128, 96], pairs: 0}"
    cfg = load_config(resolve_recipe("synth_multitask"), tiny(tmp_path, (128, 96), [options]))
    result = build_training(cfg).trainer.fit()
    assert len(result.losses) == 2 and all(math.isfinite(v) for v in result.losses)
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    train = [json.loads(line) for line in lines if "loss" in json.loads(line)]
    assert {"loss_depth", "loss_normals", "loss_labels"} <= set(train[-1])
    assert "abs_rel" in val_records(tmp_path)[-1]


def test_set_strategy_hand_computed_and_synth_recipe_runs(tmp_path):
    from depthforge.data.collate import collate_samples
    from depthforge.losses import set_loss
    from depthforge.train.strategies import SetSupervised
    from depthforge.types import Sample

    class LeftRight(torch.nn.Module):
        """'Depth' = 1 + column index / 10: not mirror-symmetric, so the set disagrees."""

        def forward(self, images):
            columns = torch.arange(images.shape[-1], dtype=images.dtype) / 10
            return (1 + columns).expand(images.shape[0], 1, *images.shape[-2:])

    gt = torch.full((1, 2, 3), 2.0)
    batch = collate_samples([Sample(torch.zeros(3, 2, 3), gt, gt > 0, meta={"id": "a"})])
    loss, logs = SetSupervised(OutputSpace.METRIC_DEPTH)(LeftRight(), batch)
    direct = torch.tensor([1.0, 1.1, 1.2]).expand(1, 1, 2, 3)
    mirrored = direct.flip(-1)
    torch.testing.assert_close(loss, set_loss([direct, mirrored], gt[None], (gt > 0)[None]))
    assert logs["set_disagreement"] == pytest.approx((0.2 + 0 + 0.2) / 3)

    cfg = load_config(
        resolve_recipe("synth_two_stream"),
        tiny(
            tmp_path,
            (64, 48),
            [
                "model.overrides.input_size=[48,64]",
                "val_data.options={scenes: 1, frames: 2, size: [64, 48]}",
            ],
        ),
    )
    result = build_training(cfg).trainer.fit()
    assert len(result.losses) == 2 and all(math.isfinite(v) for v in result.losses)
