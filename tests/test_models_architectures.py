"""Specification of Eigen 2014, Eigen 2015 and the two-stream network (sizes, stages, heads)."""

from __future__ import annotations

import pytest
import torch

from depthforge.geometry.fusion import forward_diff, fuse_depth_gradients
from depthforge.models import create_model
from depthforge.models.eigen2014 import output_grid
from depthforge.types import OutputSpace


def test_eigen2014_paper_grid_and_layer_sizes():
    assert output_grid((228, 304)) == (55, 74)  # 4070 outputs of coarse7
    model = create_model("eigen2014_coarse", fc_features=8)
    assert model.coarse.fc[-1].out_features == 4070
    sizes = []
    x = torch.zeros(1, 3, 228, 304)
    with torch.no_grad():
        for layer in model.coarse.features:
            x = layer(x)
            if isinstance(layer, torch.nn.ReLU):
                sizes.append(tuple(x.shape[1:]))
    assert sizes[-1] == (256, 6, 8)  # coarse5: 8×6×256 in the paper's figure
    assert model.output_space is OutputSpace.LOG_DEPTH and model.fixed_input_size


def test_eigen2014_stages_and_frozen_coarse():
    small = {"input_size": (60, 80), "fc_features": 16}
    coarse = create_model("eigen2014_coarse", **small).eval()
    fine = create_model("eigen2014_fine", **small)
    assert fine.fine is not None and coarse.fine is None
    fine.coarse.load_state_dict(coarse.coarse.state_dict())  # stage 2 starts from stage 1
    images = torch.rand(2, 3, 60, 80)
    with torch.no_grad():
        assert coarse(images).shape == fine.eval()(images).shape == (2, 1, 13, 18)
    fine.train()
    assert not fine.coarse.training  # the frozen coarse net keeps dropout off
    fine(images).sum().backward()
    assert all(p.grad is None for p in fine.coarse.parameters())
    assert all(p.grad is not None for p in fine.fine.parameters())


def test_eigen2015_heads_shapes_and_unit_normals():
    model = create_model(
        "eigen2015_alexnet", input_size=(64, 96), fc_features=16, num_classes=5
    ).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 3, 64, 96))
    assert out.depth.shape == (2, 1, 32, 48)
    assert out.labels.shape == (2, 5, 32, 48)
    torch.testing.assert_close(out.normals.norm(dim=1), torch.ones(2, 32, 48))
    depth_only = create_model(
        "eigen2015_alexnet", input_size=(64, 96), fc_features=16, tasks=("depth",)
    )
    with torch.no_grad():
        out = depth_only.eval()(torch.rand(1, 3, 64, 96))
    assert out.normals is None and out.labels is None


def test_eigen2015_depth_only_runs_no_other_head_and_equals_the_full_forward():
    torch.manual_seed(0)
    model = create_model(
        "eigen2015_alexnet", input_size=(64, 96), fc_features=16, num_classes=5
    ).eval()
    ran = []
    for task, head in model.heads.items():
        head.register_forward_hook(lambda *_, task=task: ran.append(task))
    images = torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        full = model(images)
        assert sorted(ran) == ["depth", "labels", "normals"]
        ran.clear()
        depth = model.forward_depth(images)
    assert ran == ["depth"]
    torch.testing.assert_close(depth, full.depth, rtol=0, atol=0)
    normals_only = create_model(
        "eigen2015_alexnet", input_size=(64, 96), fc_features=16, tasks=("normals",)
    )
    with pytest.raises(ValueError, match="no \\['depth'\\] head"):
        normals_only.forward_depth(images)


def test_eigen2015_rejects_sizes_its_grids_cannot_hold():
    with pytest.raises(ValueError, match="divisible by 16"):
        create_model("eigen2015_alexnet", input_size=(100, 100))
    with pytest.raises(ValueError, match="tasks must be"):
        create_model("eigen2015_alexnet", tasks=("depth", "albedo"))


def test_two_stream_solver_fusion_is_the_exact_fusion_of_its_streams():
    model = create_model("two_stream").eval()
    images = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        streams = model.streams(images)
        fused = model(images)
    assert fused.shape == streams.depth.shape == (1, 1, 32, 32)
    expected = fuse_depth_gradients(streams.depth, streams.grad_x, streams.grad_y, alpha=1.0)
    torch.testing.assert_close(fused, expected)


def test_two_stream_learned_fusion_keeps_consistent_input_when_its_residual_is_zero():
    model = create_model("two_stream_learned").eval()
    torch.nn.init.zeros_(model.fusion.net[-1].weight)
    torch.nn.init.zeros_(model.fusion.net[-1].bias)
    depth = torch.rand(1, 1, 6, 6)
    gx, gy = forward_diff(depth)
    torch.testing.assert_close(model.fusion(depth, gx, gy), depth)
