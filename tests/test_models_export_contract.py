"""Specification of the exported model's contract: metadata readable by onnx and ONNX Runtime,
normalisation as the network really applies it, and the resize-inside-the-graph variant equal to
``predict``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from depthforge.models import create_model, export_onnx, predict, save_model
from depthforge.models.contract import input_normalization, registered_name
from tests.cli_runner import run_cli

ort = pytest.importorskip(
    "onnxruntime", reason="onnxruntime is not installed (pip install 'depthforge[onnx]')"
)
onnx = pytest.importorskip("onnx")

PREDICT_RTOL = 1e-5
"""ONNX Runtime vs eager ``predict``, relative to the largest |depth| (measured ≤ 2.3e-6: the
antialiased resize and the convolutions sum in another order)."""

SMALL = {
    "fcrn_resnet18": {"input_size": (64, 80)},
    "monodepth2_resnet18": {"input_size": (64, 96)},
    "eigen2014_fine": {"input_size": (60, 80), "fc_features": 16},
}


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def metadata(path) -> dict[str, str]:
    """``metadata_props`` as read by onnx, checked equal to ONNX Runtime's reading."""
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert session(path).get_modelmeta().custom_metadata_map == props
    return props


@pytest.mark.parametrize("name", sorted(SMALL))
def test_resize_in_graph_equals_predict_at_any_size(tmp_path, name):
    torch.manual_seed(0)
    model = create_model(name, **SMALL[name]).eval()
    path = export_onnx(model, tmp_path / "m.onnx", resize_in_graph=True)
    run = session(path)
    # larger, smaller and equal to the network size; a batch of two
    for shape in [(2, 3, 100, 130), (1, 3, 37, 41), (1, 3, *SMALL[name]["input_size"])]:
        images = torch.rand(*shape)
        eager = predict(model, images).depth.numpy()
        out = run.run(["depth"], {"images": images.numpy()})[0]
        assert out.shape == eager.shape == (shape[0], 1, *shape[2:])
        assert np.abs(out - eager).max() <= PREDICT_RTOL * np.abs(eager).max()
    meta = metadata(path)
    assert meta["resize_in_graph"] == "true" and meta["output_size"] == "input"
    # log depth is exponentiated inside, as predict does
    assert meta["output_space"] == predict(model, images).output_space.value


def test_plain_export_metadata_describes_the_graph(tmp_path):
    torch.manual_seed(0)
    model = create_model("monodepth2_resnet18", **SMALL["monodepth2_resnet18"]).eval()
    path = export_onnx(model, tmp_path / "m.onnx")
    meta = metadata(path)
    images = torch.rand(1, 3, 64, 96)
    out = session(path).run(["depth"], {"images": images.numpy()})[0]
    with torch.no_grad():
        eager = model.forward_depth(images).numpy()
    assert np.abs(out - eager).max() <= 1e-4 * np.abs(eager).max()
    assert meta["output_size"] == f"{out.shape[2]}x{out.shape[3]}"
    assert meta["input_size"] == "64x96" and meta["input_size_multiple"] == "32"
    assert meta["output_space"] == "scale_invariant_depth"
    assert meta["resize_space"] == "disparity" and "median" in meta["alignment"]
    assert meta["resize_in_graph"] == "false" and meta["input_dynamic_size"] == "true"
    assert meta["model_name"] == "custom" and meta["architecture"] == "Monodepth2"
    assert json.loads(meta["model_config"])["input_size"] == [64, 96]
    with pytest.raises(ValueError, match="multiples of 32"):
        model(torch.rand(1, 3, 64, 80))


def test_fixed_size_is_stated_and_registered_models_are_named(tmp_path):
    model = create_model("eigen2014_coarse", input_size=(60, 80), fc_features=16).eval()
    meta = metadata(export_onnx(model, tmp_path / "m.onnx"))
    assert meta["model_name"] == "custom" and meta["architecture"] == "Eigen2014"
    assert meta["input_dynamic_size"] == "false" and meta["input_size"] == "60x80"
    assert meta["output_space"] == "log_depth" and meta["input_size_policy"].startswith("exactly")
    assert registered_name(create_model("sfmlearner_dispnet")) == "sfmlearner_dispnet"


def test_keep_aspect_model_refuses_the_resize_in_graph(tmp_path):
    model = create_model("fcrn_resnet18", input_size=(64, 80), resize="keep_aspect")
    with pytest.raises(ValueError, match="keep_aspect"):
        export_onnx(model, tmp_path / "m.onnx", resize_in_graph=True)
    assert not (tmp_path / "m.onnx").exists()


NORMALIZED = [
    ("eigen2014_coarse", {"input_size": (60, 80), "fc_features": 16}),
    ("eigen2015_alexnet", {"input_size": (64, 96), "fc_features": 8}),
    ("fcrn_resnet18", {"input_size": (64, 80)}),
    ("fcrn_resnet18", {"input_size": (64, 80), "input_range": "raw255"}),
    ("two_stream", {"input_size": (64, 64)}),
    ("monodepth2_resnet18", {"input_size": (64, 96)}),
    ("diw_hourglass", {"input_size": (32, 32)}),
    ("sfmlearner_dispnet", {"input_size": (64, 64)}),
    ("ddvo_vgg", {"input_size": (64, 64)}),
    ("sparse_to_dense_resnet18", {"input_size": (64, 64), "modality": "rgb"}),
    ("sparse_to_dense_resnet18", {"input_size": (64, 64), "modality": "rgb", "variant": "fcrn"}),
]


@pytest.mark.parametrize(("name", "overrides"), NORMALIZED)
def test_recorded_normalisation_is_what_the_first_convolution_sees(name, overrides):
    """An independent check of the table: the input of the first convolution that runs is
    ``(x − mean) / std`` of the image (its centre, where the layer pads itself first)."""
    model = create_model(name, **overrides).eval()
    norm = input_normalization(model)
    seen = []
    hooks = [
        m.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
        for m in model.modules()
        if isinstance(m, nn.Conv2d)
    ]
    images = torch.rand(1, 3, *model.config.input_size)
    with torch.no_grad():
        model.forward_depth(images)
    for hook in hooks:
        hook.remove()
    first = seen[0][:, :3]
    dh, dw = (first.shape[-2] - images.shape[-2]) // 2, (first.shape[-1] - images.shape[-1]) // 2
    first = first[..., dh : dh + images.shape[-2], dw : dw + images.shape[-1]]
    mean = torch.tensor(norm.mean).view(1, 3, 1, 1)
    std = torch.tensor(norm.std).view(1, 3, 1, 1)
    torch.testing.assert_close(first, (images - mean) / std, rtol=1e-5, atol=1e-5)


def test_command_line_exports_with_the_resize_in_graph(monkeypatch, capsys, tmp_path):
    save_model(create_model("fcrn_resnet18", input_size=(48, 64)), tmp_path / "model")
    out = tmp_path / "m.onnx"
    code, stdout, _ = run_cli(
        monkeypatch, capsys, "export", "--model", str(tmp_path / "model"), "--onnx", str(out),
        "--resize-in-graph",
    )  # fmt: skip
    assert code == 0 and "batch and size" in stdout
    meta = metadata(out)
    assert meta["resize_in_graph"] == "true" and meta["model_name"] == "custom"
    depth = session(out).run(["depth"], {"images": torch.rand(1, 3, 30, 50).numpy()})
    assert depth[0].shape == (1, 1, 30, 50)
