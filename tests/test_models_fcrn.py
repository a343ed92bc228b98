"""Specification of FCRN (Laina et al. 2016): sizes, parameter count, fast == slow, final ReLU."""

from __future__ import annotations

import torch

from depthforge.models import FCRN, FCRNConfig, create_model
from depthforge.models.upprojection import FastUpConv, UnpoolConv
from depthforge.types import OutputSpace

# REFERENCE.md §3.4: the TF model's parameters (conv weights + biases + BN scale/offset).
TF_RESNET50_UPPROJ_PARAMETERS = 63_572_737
# torchvision's ResNet conv1 has no bias; the TF conv1 has 64 (one per output channel).
TF_CONV1_BIAS = 64


def count_parameters(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_resnet50_parameter_count_matches_the_reference_up_to_conv1_bias():
    model = create_model("fcrn_resnet50")
    assert count_parameters(model) == TF_RESNET50_UPPROJ_PARAMETERS - TF_CONV1_BIAS
    # Decoder alone: 1×1 conv + BN, four up-projections, the 3×3 head (no encoder involved).
    decoder = [model.bottleneck, model.decoder, model.head]
    assert sum(count_parameters(m) for m in decoder) == 40_064_641


def test_paper_resolution_maps_to_128_by_160():
    model = create_model("fcrn_resnet18").eval()
    with torch.no_grad():
        depth = model(torch.rand(1, 3, 228, 304))
    assert depth.shape == (1, 1, 128, 160)
    assert model.output_space is OutputSpace.METRIC_DEPTH


def test_fully_convolutional_on_small_inputs_with_final_relu():
    model = FCRN(FCRNConfig(encoder="resnet18")).eval()
    torch.nn.init.constant_(model.head[0].bias, -100.0)  # force negative pre-activations
    with torch.no_grad():
        depth = model(torch.rand(2, 3, 64, 96))
    assert depth.shape == (2, 1, 32, 48)
    assert (depth == 0).all()
    without = FCRN(FCRNConfig(encoder="resnet18", final_relu=False)).eval()
    torch.nn.init.constant_(without.head[0].bias, -100.0)
    with torch.no_grad():
        assert (without(torch.rand(1, 3, 64, 96)) < 0).all()


def test_fast_and_slow_networks_agree_when_weights_are_shared():
    torch.manual_seed(0)
    slow = create_model("fcrn_resnet18_slow").eval()
    fast = create_model("fcrn_resnet18").eval()
    state = {
        k: v
        for k, v in slow.state_dict().items()
        if ".conv.weight" not in k and ".conv.bias" not in k
    }
    fast.load_state_dict(state, strict=False)
    slow_blocks = [m for m in slow.modules() if isinstance(m, UnpoolConv)]
    fast_blocks = [m for m in fast.modules() if isinstance(m, FastUpConv)]
    assert len(slow_blocks) == len(fast_blocks) == 8
    for f, s in zip(fast_blocks, slow_blocks, strict=True):
        f.load_from_unpool_conv(s)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        a, b = fast(x), slow(x)
    assert (a - b).abs().max() <= 1e-4 * b.abs().max().clamp_min(1.0)
    assert b.abs().max() > 0


def test_normalisation_is_inside_the_model_and_not_saved():
    model = create_model("fcrn_resnet18")
    assert not any("mean" in k or "std" in k for k in model.state_dict() if "normalize" in k)
    x = torch.ones(1, 3, 1, 1)
    expected = (1 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    torch.testing.assert_close(model.normalize(x).flatten(), expected)
