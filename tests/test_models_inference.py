"""Specification of the inference preparation: BatchNorm folding against a hand-computed case and
against the unfolded network of every registered depth model, the ELU rewrite, the cache."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from depthforge.models import create_model, predict
from depthforge.models.base import DepthModel, ModelConfig
from depthforge.models.inference import (
    ExpELU,
    conv_bn_pairs,
    fold_batchnorm,
    inference_model,
    prepare_for_inference,
    to_inference_layout,
)
from depthforge.models.predict import to_image_size
from depthforge.types import OutputSpace

SMALL_SIZE = {
    "eigen2014": {"input_size": (60, 80), "fc_features": 16},
    "eigen2015": {"input_size": (64, 96), "fc_features": 8},
    "monodepth2": {"input_size": (64, 96)},
    "diw": {"input_size": (16, 32)},
}
FAMILIES = [  # one variant per architecture and per structurally different registered variant
    "ddvo_vgg",
    "diw_hourglass",
    "eigen2014_fine",
    "eigen2015_alexnet",
    "fcrn_resnet18",
    "fcrn_resnet18_slow",
    "fcrn_resnet50_tf",
    "monodepth2_resnet18",
    "sfmlearner_dispnet",
    "sparse_to_dense_resnet18",
    "two_stream_learned",
]


def small(name: str) -> DepthModel:
    """``name`` at a test-sized input, with BatchNorm statistics far from the identity."""
    overrides = next((v for k, v in SMALL_SIZE.items() if name.startswith(k)), None)
    model = create_model(name, **(overrides or {"input_size": (64, 64)})).eval()
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.rand(n, generator=generator) * 2 - 1)
            module.running_var.copy_(torch.rand(n, generator=generator) * 2 + 0.25)
            if module.affine:
                module.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
                module.bias.data.copy_(torch.rand(n, generator=generator) - 0.5)
    return model


def test_fold_batchnorm_by_hand():
    # y = 5 · (2x + 1 − 3) / √4 + 6 = 5x + 1
    conv = nn.Conv2d(1, 1, 1)
    conv.weight.data.fill_(2.0)
    conv.bias.data.fill_(1.0)
    bn = nn.BatchNorm2d(1, eps=0.0).eval()
    bn.running_mean.fill_(3.0)
    bn.running_var.fill_(4.0)
    bn.weight.data.fill_(5.0)
    bn.bias.data.fill_(6.0)
    fold_batchnorm(conv, bn)
    assert conv.weight.item() == 5.0 and conv.bias.item() == 1.0
    x = torch.tensor([[[[0.0, 1.0, -2.0]]]])
    assert conv(x).flatten().tolist() == [1.0, 6.0, -9.0]


@pytest.mark.parametrize("name", FAMILIES)
def test_prepared_model_equals_the_unfolded_network(name):
    torch.manual_seed(0)
    model = small(name)
    before = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    prepared = prepare_for_inference(model)
    after = sum(isinstance(m, nn.BatchNorm2d) for m in prepared.modules())
    assert after < before or before == 0
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == before  # a copy
    images = torch.rand(2, 3, *model.config.input_size)
    inputs = [images] + ([torch.rand(2, 1, *images.shape[-2:])] if model.takes_sparse else [])
    with torch.no_grad():
        reference = model.forward_depth(*inputs)
        out = prepared.forward_depth(*map(to_inference_layout, inputs))
    scale = reference.abs().max()
    assert scale > 0
    assert (out - reference).abs().max() <= 1e-5 * scale


class SharedOutput(DepthModel):
    """A convolution whose output feeds a BatchNorm and, besides, a module or a function."""

    output_space = OutputSpace.METRIC_DEPTH

    def __init__(self, reuse: str):
        super().__init__(ModelConfig(input_size=(8, 8)))
        self.reuse = reuse
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.other = nn.Conv2d(4, 1, 1)
        self.conv2 = nn.Conv2d(3, 4, 1)
        self.bn2 = nn.BatchNorm2d(4)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        y = self.conv(images)
        z = self.bn(y)
        if self.reuse == "module":
            z = z + self.other(y)
        elif self.reuse == "function":
            z = z * y.mean()
        elif self.reuse == "shape":
            z = z[..., : y.shape[-1]]
        return (z + self.bn2(self.conv2(images))).sum(1, keepdim=True)


@pytest.mark.parametrize(
    ("reuse", "pairs"),
    [
        ("module", [("conv2", "bn2")]),
        ("function", [("conv2", "bn2")]),
        ("shape", [("conv", "bn"), ("conv2", "bn2")]),  # reading the shape is not a use
    ],
)
def test_conv_output_read_elsewhere_is_not_folded(reuse, pairs):
    model = SharedOutput(reuse).eval()
    assert conv_bn_pairs(model, torch.rand(1, 3, 8, 8)) == pairs


def test_exp_elu_equals_elu():
    x = torch.linspace(-20, 20, 100_001)
    assert (ExpELU()(x) - nn.functional.elu(x)).abs().max() <= 2.4e-7


def test_cache_follows_weight_changes():
    model = small("fcrn_resnet18")
    images = torch.rand(1, 3, 64, 64)
    first = inference_model(model)
    assert inference_model(model) is first
    before = predict(model, images).depth
    with torch.no_grad():
        model.head[0].bias.add_(1.0)  # as an optimizer step does, in place
        expected = to_image_size(model, model.forward_depth(images), (64, 64))
    assert inference_model(model) is not first
    after = predict(model, images).depth
    assert not torch.equal(before, after)
    assert (after - expected).abs().max() <= 1e-5 * expected.abs().max()


def test_preparation_draws_nothing_from_the_global_generator():
    model = small("fcrn_resnet18")
    state = torch.random.get_rng_state()
    prepare_for_inference(model)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_pointwise_convolutions_run_dilated_with_the_same_arithmetic():
    model = small("diw_hourglass")
    prepared = prepare_for_inference(model)
    before = dict(model.named_modules())
    dilated = [
        name
        for name, m in prepared.named_modules()
        if isinstance(m, nn.Conv2d) and m.dilation == (2, 2)
    ]
    pointwise = [
        name
        for name, m in before.items()
        if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) and m.stride == (1, 1)
    ]
    assert dilated == pointwise and len(pointwise) > 50
    conv = prepared.get_submodule(dilated[0])
    x = torch.rand(2, conv.in_channels, 5, 7, generator=torch.Generator().manual_seed(1))
    x = to_inference_layout(x)
    by_hand = torch.einsum("oi,bihw->bohw", conv.weight[:, :, 0, 0], x) + conv.bias[:, None, None]
    assert torch.allclose(conv(x), by_hand, atol=1e-5, rtol=1e-5)
