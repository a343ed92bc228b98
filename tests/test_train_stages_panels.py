"""Eigen 2014's two-stage schedule, the supervised paper recipes, and validation panels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from depthforge.errors import DataError, DepthforgeError
from depthforge.models import create_model, save_model
from depthforge.models.base import DepthModel, ModelConfig
from depthforge.train.config import (
    RECIPES_DIR,
    LoopConfig,
    OptimConfig,
    load_config,
    load_yaml_composed,
)
from depthforge.train.panels import panel_indices, validation_panels
from depthforge.train.run import build_training, finish_run
from depthforge.train.stages import init_fine_from_coarse, initialize_from
from depthforge.train.strategies import build_supervised
from depthforge.train.trainer import Trainer
from depthforge.types import OutputSpace, Sample
from depthforge.viz import (
    ERROR_LUT,
    LEGEND_WIDTH,
    NO_DEPTH,
    colorize_depth,
    colour_map,
    depth_range,
)

# Smallest Eigen 2014 input whose coarse maps stay ≥ 1 pixel: 60×80 → output grid 13×18.
TOY_EIGEN = {"input_size": (60, 80), "fc_features": 16}


def eigen(name: str, seed: int, **extra) -> torch.nn.Module:
    torch.manual_seed(seed)
    return create_model(name, **{**TOY_EIGEN, **extra})


def coarse_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.coarse.state_dict().items()}


class RandomDepth(torch.utils.data.Dataset):
    """Random images with depth in [1, 4] m and a few invalid pixels."""

    def __init__(self, n: int, height: int, width: int):
        g = torch.Generator().manual_seed(3)
        self.images = torch.rand(n, 3, height, width, generator=g)
        self.depths = 1.0 + 3.0 * torch.rand(n, 1, height, width, generator=g)
        self.masks = torch.rand(n, 1, height, width, generator=g) > 0.1
        self.depths[~self.masks] = 0.0

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> Sample:
        return Sample(self.images[i], self.depths[i], self.masks[i], meta={"id": f"r{i}"})


def one_training_step(model: torch.nn.Module, out) -> None:
    loop = LoopConfig(steps=1, batch_size=2, log_every=1, val_every=10**9, device="cpu")
    optim = OptimConfig(name="sgd", lr=0.5, grad_clip=None, schedule="constant")
    strategy = build_supervised("scale_invariant", {"lam": 0.5}, model.output_space)
    Trainer(model, strategy, RandomDepth(2, 60, 80), out, loop=loop, optim=optim).fit()


# --- init_fine_from_coarse --------------------------------------------------------------------


@pytest.mark.parametrize("source_kind", ["folder", "module"])
def test_fine_model_takes_the_trained_coarse_net_and_keeps_it_fixed(tmp_path, source_kind):
    coarse = eigen("eigen2014_coarse", seed=1)
    fine = eigen("eigen2014_fine", seed=2)
    assert fine.config.freeze_coarse
    before = coarse_tensors(fine)
    source = save_model(coarse, tmp_path / "coarse") if source_kind == "folder" else coarse
    init_fine_from_coarse(fine, source)
    expected = coarse_tensors(coarse)
    loaded = coarse_tensors(fine)
    assert set(loaded) == set(expected)
    for key in expected:
        assert torch.equal(loaded[key], expected[key]), key
    assert any(not torch.equal(before[k], expected[k]) for k in expected)  # it did change
    assert all(not p.requires_grad for p in fine.coarse.parameters())
    # The coarse prediction the fine net sees is the coarse model's own (both in eval mode).
    x = torch.rand(2, 3, 60, 80)
    coarse.eval(), fine.eval()
    with torch.no_grad():
        torch.testing.assert_close(fine.coarse(fine.normalize(x)), coarse(x), rtol=0, atol=0)
    # A training step moves the fine layers only.
    fine_before = {k: v.detach().clone() for k, v in fine.fine.state_dict().items()}
    one_training_step(fine, tmp_path / "run")
    for key, value in coarse_tensors(fine).items():
        assert torch.equal(value, expected[key]), key
    assert any(not torch.equal(fine.fine.state_dict()[k], v) for k, v in fine_before.items())


def test_without_freeze_the_loaded_coarse_net_trains(tmp_path):
    coarse = eigen("eigen2014_coarse", seed=1)
    fine = eigen("eigen2014_fine", seed=2, freeze_coarse=False)
    init_fine_from_coarse(fine, coarse)
    assert all(p.requires_grad for p in fine.coarse.parameters())
    one_training_step(fine, tmp_path / "run")
    moved = coarse_tensors(fine)
    assert any(not torch.equal(moved[k], v) for k, v in coarse_tensors(coarse).items())


def test_init_from_a_training_checkpoint_and_refusals(tmp_path):
    coarse = eigen("eigen2014_coarse", seed=1)
    loop = LoopConfig(steps=1, batch_size=2, log_every=1, val_every=10**9, device="cpu")
    strategy = build_supervised("scale_invariant", {"lam": 0.5}, coarse.output_space)
    Trainer(
        coarse, strategy, RandomDepth(2, 60, 80), tmp_path, loop=loop, optim=OptimConfig()
    ).fit()
    fine = eigen("eigen2014_fine", seed=2)
    init_fine_from_coarse(fine, tmp_path / "last.pt")
    for key, value in coarse_tensors(coarse).items():
        assert torch.equal(coarse_tensors(fine)[key], value)

    other_size = eigen("eigen2014_coarse", seed=1, fc_features=8)
    with pytest.raises(DataError, match="fc.1.weight"):
        init_fine_from_coarse(eigen("eigen2014_fine", seed=2), other_size)
    with pytest.raises(DepthforgeError, match="fine-stage"):
        init_fine_from_coarse(eigen("eigen2014_coarse", seed=2), coarse)
    with pytest.raises(DataError, match="no 'coarse"):
        init_fine_from_coarse(eigen("eigen2014_fine", seed=2), torch.nn.Linear(2, 2))
    with pytest.raises(DataError, match="no saved model"):
        init_fine_from_coarse(eigen("eigen2014_fine", seed=2), tmp_path / "missing")


def test_initialize_from_copies_a_whole_model_of_the_same_architecture():
    a, b = eigen("eigen2014_coarse", seed=1), eigen("eigen2014_coarse", seed=2)
    initialize_from(b, a)
    for key, value in a.state_dict().items():
        assert torch.equal(b.state_dict()[key], value)
    with pytest.raises(DataError, match="shape"):
        initialize_from(b, eigen("eigen2014_coarse", seed=1, fc_features=8))
    # A fine model takes a coarse source's coarse net, and all of a fine source.
    fine, other_fine = eigen("eigen2014_fine", seed=3), eigen("eigen2014_fine", seed=4)
    fine_layers = {k: v.clone() for k, v in fine.fine.state_dict().items()}
    initialize_from(fine, a)
    assert all(torch.equal(fine.coarse.state_dict()[k], v) for k, v in coarse_tensors(a).items())
    assert all(torch.equal(fine.fine.state_dict()[k], v) for k, v in fine_layers.items())
    initialize_from(fine, other_fine)
    for key, value in other_fine.state_dict().items():
        assert torch.equal(fine.state_dict()[key], value), key


# --- recipes ----------------------------------------------------------------------------------

OWN_RECIPES = [
    "eigen2014_nyu_coarse",
    "eigen2014_nyu_fine",
    "fcrn_nyu",
    "synth_eigen2014",
    "synth_fcrn_berhu",
]


def recipe_config(name: str, overrides: list[str] | None = None):
    """The shipped recipe ``name``, composed and validated."""
    return load_config(RECIPES_DIR / f"{name}.yaml", overrides)


@pytest.mark.parametrize("name", OWN_RECIPES)
def test_every_recipe_loads(name):
    cfg = recipe_config(name)
    assert cfg.strategy == "supervised" and cfg.loop.steps > 0


def test_paper_recipes_hold_the_paper_settings():
    coarse, fine = recipe_config("eigen2014_nyu_coarse"), recipe_config("eigen2014_nyu_fine")
    for cfg in (coarse, fine):
        assert cfg.loss.name == "scale_invariant" and cfg.loss.kwargs == {"lam": 0.5}
        assert (cfg.optim.name, cfg.optim.momentum, cfg.loop.batch_size) == ("sgd", 0.9, 32)
        assert tuple(cfg.model.overrides["input_size"]) == (228, 304)
    assert (coarse.model.name, fine.model.name) == ("eigen2014_coarse", "eigen2014_fine")
    assert coarse.loop.steps * 32 == 2_000_000 and fine.loop.steps * 32 == 1_500_000
    raw_fine = load_yaml_composed(RECIPES_DIR / "eigen2014_nyu_fine.yaml")
    assert raw_fine["model"]["init_from"] == f"{coarse.out_dir}/model"
    # The 228×304 input gives the paper's 55×74 output.
    assert tuple(create_model(coarse.model.name).coarse.grid) == (55, 74)
    fcrn = recipe_config("fcrn_nyu")
    assert (fcrn.loss.name, fcrn.loop.batch_size, fcrn.optim.name) == ("berhu", 16, "sgd")
    assert (fcrn.optim.lr, fcrn.optim.momentum) == (0.01, 0.9)
    # The training transforms bring a 480×640 NYU frame to the networks' 228×304 input.
    from depthforge.transforms.recipe import build_transforms

    frame = Sample(
        torch.rand(3, 480, 640),
        torch.full((1, 480, 640), 2.0),
        torch.ones(1, 480, 640, dtype=torch.bool),
        K=torch.tensor([[518.9, 0.0, 325.6], [0.0, 519.5, 253.7], [0.0, 0.0, 1.0]]),
    )
    for cfg in (coarse, fine, fcrn):
        out = build_transforms(cfg.train_data.transforms)(frame, torch.Generator().manual_seed(0))
        assert tuple(out.image.shape) == (3, 228, 304) and tuple(out.depth.shape) == (1, 228, 304)


def toy_overrides(out, size: tuple[int, int], extra: list[str]) -> list[str]:
    h, w = size
    data = f"{{scenes: 1, frames: 2, size: [{w}, {h}]}}"
    return [
        f"out_dir={out}",
        "loop.steps=2",
        "loop.batch_size=2",
        "loop.val_every=2",
        "loop.ckpt_every=2",
        "loop.device=cpu",
        f"model.overrides.input_size=[{h},{w}]",
        f"train_data.options={data}",
        f"val_data.options={data}",
        *extra,
    ]


def test_synth_fcrn_berhu_runs_two_steps(tmp_path):
    cfg = recipe_config("synth_fcrn_berhu", toy_overrides(tmp_path, (48, 64), []))
    run = build_training(cfg)
    result = run.trainer.fit()
    assert len(result.losses) == 2 and all(np.isfinite(result.losses))
    assert result.best_metric is not None


def test_synth_eigen2014_runs_both_stages(tmp_path):
    tiny = ["model.overrides.fc_features=16"]
    stage1 = recipe_config("synth_eigen2014", toy_overrides(tmp_path / "c", (60, 80), tiny))
    run1 = build_training(stage1)
    result = run1.trainer.fit()
    assert len(result.losses) == 2 and all(np.isfinite(result.losses))
    folder = finish_run(run1, result)

    stage2 = recipe_config(
        "synth_eigen2014",
        toy_overrides(tmp_path / "f", (60, 80), [*tiny, "model.name=eigen2014_fine"]),
    )
    run2 = build_training(stage2)
    fine = run2.trainer.bare_model
    init_fine_from_coarse(fine, folder)  # what model.init_from does in build_training
    trained = coarse_tensors(run1.trainer.bare_model)
    run2.trainer.fit()
    for key, value in coarse_tensors(fine).items():
        assert torch.equal(value, trained[key]), key


def test_model_init_from_in_a_recipe_loads_the_coarse_stage(tmp_path):
    coarse = eigen("eigen2014_coarse", seed=5)
    folder = save_model(coarse, tmp_path / "coarse")
    extra = ["model.overrides.fc_features=16", "model.name=eigen2014_fine"]
    cfg = load_config(
        RECIPES_DIR / "synth_eigen2014.yaml",
        [*toy_overrides(tmp_path / "f", (60, 80), extra), f"model.init_from={folder}"],
    )
    fine = build_training(cfg).trainer.bare_model
    for key, value in coarse_tensors(coarse).items():
        assert torch.equal(coarse_tensors(fine)[key], value), key


# --- panels -----------------------------------------------------------------------------------


class ConstantDepth(DepthModel):
    """Predicts ``value`` metres everywhere (at the network size)."""

    config_class = ModelConfig
    output_space = OutputSpace.METRIC_DEPTH

    def __init__(self, value: float, input_size: tuple[int, int], space=OutputSpace.METRIC_DEPTH):
        super().__init__(ModelConfig(input_size=input_size))
        self.output_space = space
        self.value = torch.nn.Parameter(torch.tensor(float(value)))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.value * torch.ones_like(images[:, :1])


def test_panel_indices_are_spread_and_stable():
    assert panel_indices(10, 3) == [0, 4, 9]  # round(4.5) is 4 (half to even)
    assert panel_indices(2, 5) == [0, 1] and panel_indices(0, 3) == []


def test_validation_panels_show_rgb_prediction_gt_and_error():
    h, w = 12, 16
    data = RandomDepth(3, h, w)
    model = ConstantDepth(2.0, (h, w)).train()
    panels = validation_panels(model, data, count=2)
    assert model.training  # mode restored
    assert list(panels) == ["val_panels/0_r0", "val_panels/2_r2"]
    gap = 4
    for key, index in zip(panels, (0, 2), strict=True):
        panel = panels[key]
        assert panel.dtype == np.uint8 and panel.shape == (h, 4 * w + 2 * LEGEND_WIDTH + 3 * gap, 3)
        gt = data.depths[index, 0].numpy().astype(np.float64)
        valid = data.masks[index, 0].numpy()
        near, far = depth_range(gt, valid)
        x_pred = w + gap
        x_gt = x_pred + w + LEGEND_WIDTH + gap
        x_err = x_gt + w + LEGEND_WIDTH + gap
        rgb = np.round(data.images[index].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        np.testing.assert_array_equal(panel[:, :w], rgb)
        np.testing.assert_array_equal(panel[:, x_gt : x_gt + w], colorize_depth(gt, near, far))
        # Prediction: 2 m everywhere, in the GT's display range.
        np.testing.assert_array_equal(
            panel[:, x_pred : x_pred + w], colorize_depth(np.full((h, w), 2.0), near, far)
        )
        # Error: |2 − g| / g over [0, 0.5], grey where the GT is invalid (hand-derived).
        rel = np.abs(2.0 - gt) / np.where(valid, gt, 1.0)
        expected = colour_map(rel / 0.5, ERROR_LUT)
        expected[~valid] = NO_DEPTH
        np.testing.assert_array_equal(panel[:, x_err : x_err + w], expected)


def test_a_scale_invariant_prediction_is_shown_median_aligned():
    h, w = 12, 16
    data = RandomDepth(1, h, w)
    model = ConstantDepth(0.1, (h, w), OutputSpace.SCALE_INVARIANT_DEPTH)
    panel = validation_panels(model, data, count=1)["val_panels/0_r0"]
    gt = data.depths[0, 0].numpy().astype(np.float64)
    valid = data.masks[0, 0].numpy()
    near, far = depth_range(gt, valid)
    # Median alignment makes the constant equal to the median valid GT depth.
    expected = colorize_depth(np.full((h, w), np.median(gt[valid])), near, far)
    x_pred = w + 4
    np.testing.assert_array_equal(panel[:, x_pred : x_pred + w], expected)


def test_the_trainer_logs_the_panels_at_validation(tmp_path, monkeypatch):
    import depthforge.train.trainer as trainer_module
    from depthforge.train.logging import RunLogger

    images: list[tuple[str, tuple[int, ...], int]] = []

    class FakeWriter:
        def add_scalar(self, *args) -> None:
            pass

        def add_image(self, name, image, step, dataformats) -> None:
            assert dataformats == "HWC"
            images.append((name, image.shape, step))

        def close(self) -> None:
            pass

    class Logger(RunLogger):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.writer = FakeWriter()

    monkeypatch.setattr(trainer_module, "RunLogger", Logger)
    h, w = 12, 16
    data = RandomDepth(2, h, w)
    model = ConstantDepth(2.0, (h, w))
    loop = LoopConfig(steps=2, batch_size=2, log_every=1, val_every=1, device="cpu")
    Trainer(
        model,
        build_supervised("berhu", {}, model.output_space),
        data,
        tmp_path,
        loop=loop,
        optim=OptimConfig(),
        validate=lambda m: {"abs_rel": 0.0},
        panels=lambda m: validation_panels(m, data, count=1),
    ).fit()
    width = 4 * w + 2 * LEGEND_WIDTH + 12
    assert images == [("val_panels/0_r0", (h, width, 3), 1), ("val_panels/0_r0", (h, width, 3), 2)]
