"""AdaDepth-style domain adaptation: gradient reversal, discriminator, content term, recipe."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from depthforge.data.collate import collate_samples
from depthforge.data.domain_pairs import DomainPairs
from depthforge.errors import DataError, DepthforgeError
from depthforge.train.checkpoint import load_checkpoint
from depthforge.train.config import load_config, resolve_recipe
from depthforge.train.run import build_training
from depthforge.train.strategies import STRATEGIES
from depthforge.train.strategies.adadepth import (
    AdaDepth,
    DomainDiscriminator,
    build_adadepth,
    domain_loss,
    reverse_gradient,
)
from depthforge.types import OutputSpace, Sample


def test_gradient_reversal_flips_the_sign_backward_only():
    torch.manual_seed(0)
    x = torch.randn(4, 3, requires_grad=True)
    weights = torch.randn(3)
    y = reverse_gradient(x, scale=0.5)
    assert torch.equal(y, x)
    (y @ weights).sum().backward()
    # d/dx Σ x·w = w for every row; reversed and scaled: −0.5·w.
    assert torch.allclose(x.grad, -0.5 * weights.expand(4, 3))


def toy_features(n: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Source features around +1, target features around −1: (2n, 4, 2, 2), and is_source."""
    generator = torch.Generator().manual_seed(1)
    source = 1.0 + 0.3 * torch.randn(n, 4, 2, 2, generator=generator)
    target = -1.0 + 0.3 * torch.randn(n, 4, 2, 2, generator=generator)
    return torch.cat([source, target]), torch.arange(2 * n) < n


def test_discriminator_alone_learns_to_tell_the_domains_apart():
    torch.manual_seed(0)
    features, is_source = toy_features()
    disc = DomainDiscriminator(4, width=8)
    optimiser = torch.optim.SGD(disc.parameters(), lr=0.1)
    losses = []
    for _ in range(30):
        loss = domain_loss(disc(features), is_source)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(math.log(2.0), abs=0.1)  # an untrained D is unsure
    assert losses[-1] < 0.5 * losses[0]


def test_encoder_gradient_opposes_the_discriminator_objective():
    torch.manual_seed(0)
    features, is_source = toy_features()
    disc = DomainDiscriminator(4, width=8)
    plain = features.clone().requires_grad_(True)
    domain_loss(disc(plain), is_source).backward()
    reference = [p.grad.clone() for p in disc.parameters()]
    disc.zero_grad()
    reversed_ = features.clone().requires_grad_(True)
    domain_loss(disc(reverse_gradient(reversed_)), is_source).backward()
    # The features ("encoder") ascend the discriminator's loss; the discriminator still descends.
    assert torch.allclose(reversed_.grad, -plain.grad)
    for p, g in zip(disc.parameters(), reference, strict=True):
        assert torch.allclose(p.grad, g)


class TinyDepthNet(nn.Module):
    """encoder (conv + BN + ReLU) → 1×1 head; positive metric depth through a softplus."""

    output_space = OutputSpace.METRIC_DEPTH

    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU())
        self.head = nn.Conv2d(6, 1, 1)

    def forward(self, images):
        return nn.functional.softplus(self.head(self.encoder(images))) + 0.1


def toy_batch():
    """Two random 12×8 source samples with depth in [1, 2] m, each with a random target image."""
    generator = torch.Generator().manual_seed(2)
    samples = [
        Sample(
            image=torch.rand(3, 8, 12, generator=generator),
            depth=1.0 + torch.rand(1, 8, 12, generator=generator),
            mask=torch.ones(1, 8, 12, dtype=torch.bool),
            meta={"id": str(i), "target_image": torch.rand(3, 8, 12, generator=generator)},
        )
        for i in range(2)
    ]
    return collate_samples(samples)


@pytest.mark.parametrize("train_mode", [True, False])
def test_content_term_is_zero_until_the_encoder_changes(train_mode):
    torch.manual_seed(0)
    model, batch = TinyDepthNet().train(train_mode), toy_batch()
    strategy = AdaDepth(OutputSpace.METRIC_DEPTH, feature_channels=6, supervised_loss="berhu")
    _, logs = strategy(model, batch)
    assert logs["content"] == 0.0
    with torch.no_grad():
        model.encoder[0].weight.add_(0.1)
    _, logs = strategy(model, batch)
    assert logs["content"] > 1e-4
    # the head is not part of the aligned features: changing it leaves the term at its value
    before = logs["content"]
    with torch.no_grad():
        model.head.weight.add_(0.1)
    assert strategy(model, batch)[1]["content"] == pytest.approx(before)


def test_one_step_trains_the_discriminator_and_reverses_the_encoder_gradient():
    torch.manual_seed(0)
    model, batch = TinyDepthNet(), toy_batch()
    strategy = AdaDepth(
        OutputSpace.METRIC_DEPTH,
        feature_channels=6,
        supervised_loss="berhu",
        adversarial_weight=1.0,
        content_weight=0.0,
    )
    # One step's gradients, to compare with the terms computed separately below.
    loss, logs = strategy(model, batch)
    assert set(logs) == {"supervised", "domain_bce", "domain_accuracy", "content"}
    loss.backward()
    disc_grad = [p.grad.clone() for p in strategy.discriminator.parameters()]
    encoder_grad = model.encoder[0].weight.grad.clone()
    model.zero_grad()
    strategy.zero_grad()
    # The domain loss without reversal: the discriminator's gradient is the same, the encoder's
    # is its negative in the strategy's step (supervised + reversed adversarial, λ_adv = 1).
    features = model.encoder(
        torch.cat([batch.image, torch.stack([m["target_image"] for m in batch.meta])])
    )
    is_source = torch.arange(4) < 2
    domain_loss(strategy.discriminator(features), is_source).backward()
    for p, g in zip(strategy.discriminator.parameters(), disc_grad, strict=True):
        assert torch.allclose(p.grad, g, atol=1e-6)
    adversarial_grad = model.encoder[0].weight.grad.clone()
    model.zero_grad()
    strategy.zero_grad()
    sup_loss, _ = AdaDepth(
        OutputSpace.METRIC_DEPTH,
        feature_channels=6,
        supervised_loss="berhu",
        adversarial_weight=0.0,
        content_weight=0.0,
    )(model, batch)
    sup_loss.backward()
    supervised_grad = model.encoder[0].weight.grad
    assert torch.allclose(encoder_grad, supervised_grad - adversarial_grad, atol=1e-6)


def test_bad_configuration_is_reported():
    assert STRATEGIES["adadepth"] is build_adadepth
    with pytest.raises(DepthforgeError, match="feature_channels"):
        build_adadepth("adadepth", {}, OutputSpace.METRIC_DEPTH)
    with pytest.raises(DepthforgeError, match="adadepth"):
        build_adadepth("berhu", {"feature_channels": 6}, OutputSpace.METRIC_DEPTH)
    strategy = AdaDepth(OutputSpace.METRIC_DEPTH, feature_channels=5, supervised_loss="berhu")
    with pytest.raises(DepthforgeError, match="5 channels"):
        strategy(TinyDepthNet(), toy_batch())
    batch = toy_batch()
    batch.meta = [{"id": "0"}, {"id": "1"}]
    with pytest.raises(DepthforgeError, match="domain_pairs"):
        strategy(TinyDepthNet(), batch)


SYNTH = {"dataset": "synth", "options": {"scenes": 1, "frames": 2, "size": [32, 24], "pairs": 0}}


def test_domain_pairs_are_fixed_per_seed_and_check_sizes():
    target = {**SYNTH, "transforms": [{"color_jitter": {"gamma": [2.0, 2.0]}}]}
    pairs = DomainPairs(split="train", source=SYNTH, target=target, seed=5)
    sample = pairs[1]
    expected = pairs.target[pairs.target_index(1)].image
    assert torch.equal(sample.meta["target_image"], expected)
    assert torch.equal(
        DomainPairs(split="train", source=SYNTH, target=target, seed=5)[1].meta["target_image"],
        expected,
    )
    small = {"dataset": "synth", "options": {**SYNTH["options"], "size": [16, 12]}}
    with pytest.raises(DataError, match="16×12"):
        DomainPairs(split="train", source=SYNTH, target=small)[0]


def test_synth_adadepth_recipe_trains_and_checkpoints_the_discriminator(tmp_path):
    size = "size: [64, 48], pairs: 0"
    cfg = load_config(
        resolve_recipe("synth_adadepth"),
        [
            f"out_dir={tmp_path / 'run'}",
            "loop.steps=2",
            "loop.batch_size=2",
            "loop.val_every=2",
            "loop.ckpt_every=2",
            "model.overrides.input_size=[48,64]",
            f"train_data.options.source.options={{scenes: 1, frames: 2, {size}}}",
            f"train_data.options.target.options={{scenes: 1, frames: 2, seed: 1, {size}}}",
            f"val_data.options={{scenes: 1, frames: 1, {size}}}",
        ],
    )
    run = build_training(cfg)
    result = run.trainer.fit()
    assert len(result.losses) == 2 and all(math.isfinite(v) for v in result.losses)
    saved = load_checkpoint(tmp_path / "run" / "last.pt")["extra"]["strategy"]
    current = run.trainer.strategy.state_dict()
    disc_keys = [k for k in current if k.startswith("discriminator.")]
    assert disc_keys
    for key in disc_keys:
        assert torch.equal(saved[key].cpu(), current[key].cpu())
    # The content term's frozen reference travels with it and is restored on load.
    reference = saved["_extra_state"]["reference"]
    assert reference is not None and any(k.endswith("weight") for k in reference)
    fresh = build_adadepth(cfg.loss.name, cfg.loss.kwargs, OutputSpace.METRIC_DEPTH)
    fresh.load_state_dict(saved)
    restored = fresh.reference_features(run.trainer.bare_model).state_dict()
    for key, value in reference.items():
        assert torch.equal(restored[key].cpu(), value)
