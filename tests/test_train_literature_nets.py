"""The released architectures train with the strategies of their papers: SfMLearner's DispNet and
DDVO's VGG net as the depth network of the monocular-video strategy, the hourglass under the
relative (DIW) and MegaDepth strategies. A few optimiser steps on one fixed synthetic batch must
lower the loss, with finite gradients on every trainable parameter of the depth network."""

from __future__ import annotations

import pytest
import torch

from depthforge.data.collate import collate_samples
from depthforge.models import create_model
from depthforge.synth.dataset import SynthDataset
from depthforge.train.strategies import build_megadepth, build_monocular, build_relative

STEPS = 2


@pytest.fixture(scope="module")
def video_batch():
    data = SynthDataset(
        scenes=1, frames=2, size=(64, 32), kind="outdoor", neighbour_offsets=(-1, 1)
    )
    return collate_samples([data[0], data[1]])


@pytest.fixture(scope="module")
def pairs_batch():
    data = SynthDataset(scenes=1, frames=2, size=(32, 16), kind="outdoor", pairs=40)
    return collate_samples([data[0], data[1]])


def train(model, strategy, batch, lr: float) -> tuple[list[float], dict[str, torch.Tensor]]:
    """``STEPS`` Adam steps, then the loss once more; the losses and the first step's gradients
    of the depth network."""
    torch.manual_seed(0)
    parameters = [p for p in model.parameters() if p.requires_grad]
    if isinstance(strategy, torch.nn.Module):
        parameters += list(strategy.parameters())
    optimizer = torch.optim.Adam(parameters, lr=lr)
    losses, gradients = [], {}
    model.train()
    for step in range(STEPS):
        optimizer.zero_grad()
        loss, _ = strategy(model, batch)
        loss.backward()
        if step == 0:
            gradients = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
            gradients = {n: None if g is None else g.clone() for n, g in gradients.items()}
        optimizer.step()
        losses.append(float(loss.detach()))
    with torch.no_grad():
        losses.append(float(strategy(model, batch)[0]))
    return losses, gradients


def assert_trains(losses, gradients):
    assert all(torch.isfinite(torch.tensor(losses))), losses
    assert losses[-1] < losses[0], losses
    missing = [n for n, g in gradients.items() if g is None or not torch.isfinite(g).all()]
    assert not missing, missing[:5]
    assert sum(bool(g.abs().sum() > 0) for g in gradients.values()) >= 0.9 * len(gradients)


@pytest.mark.parametrize("name", ["sfmlearner_dispnet", "ddvo_vgg"])
def test_monocular_strategy_trains_the_disparity_nets(video_batch, name):
    torch.manual_seed(0)
    model = create_model(name, input_size=(32, 64))
    strategy = build_monocular("photometric", {}, model.output_space)
    assert_trains(*train(model, strategy, video_batch, lr=1e-4))


def test_relative_strategy_trains_the_diw_hourglass(pairs_batch):
    torch.manual_seed(0)
    model = create_model("diw_hourglass", input_size=(16, 32))
    strategy = build_relative("ranking", {}, model.output_space)
    assert_trains(*train(model, strategy, pairs_batch, lr=1e-3))


def test_megadepth_strategy_trains_the_megadepth_hourglass(pairs_batch):
    torch.manual_seed(0)
    model = create_model("megadepth_hourglass", input_size=(16, 32))
    strategy = build_megadepth("megadepth", {}, model.output_space)
    # The loss reads the network's log depth, whose additive constant is free (scale invariance).
    loss, _ = strategy(model.eval(), pairs_batch)
    with torch.no_grad():
        model.head.bias += 3.0
    shifted, _ = strategy(model, pairs_batch)
    assert torch.isclose(loss, shifted, rtol=1e-4)
    assert_trains(*train(model, strategy, pairs_batch, lr=1e-3))
