"""Specification of ONNX export: parity with eager PyTorch under ONNX Runtime, dynamic axes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from depthforge.models import create_model, export_onnx

ort = pytest.importorskip(
    "onnxruntime", reason="onnxruntime is not installed (pip install 'depthforge[onnx]')"
)


def run_onnx(path, images: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["depth"], {"images": images.numpy()})[0]


def assert_relative_parity(onnx_out: np.ndarray, eager: torch.Tensor, rtol: float = 1e-4):
    eager_np = eager.numpy()
    assert onnx_out.shape == eager_np.shape
    scale = np.abs(eager_np).max()
    assert scale > 0
    assert np.abs(onnx_out - eager_np).max() <= rtol * scale


def test_fcrn_resnet18_parity_with_dynamic_batch_and_size(tmp_path):
    torch.manual_seed(0)
    model = create_model("fcrn_resnet18", input_size=(64, 64), final_relu=False).eval()
    path = export_onnx(model, tmp_path / "fcrn.onnx")
    for shape in [(1, 3, 64, 64), (3, 3, 96, 128)]:
        images = torch.rand(*shape)
        with torch.no_grad():
            eager = model(images)
        assert_relative_parity(run_onnx(path, images), eager)


def test_fixed_size_model_exports_with_dynamic_batch_only(tmp_path):
    model = create_model("eigen2014_fine", input_size=(60, 80), fc_features=16).eval()
    path = export_onnx(model, tmp_path / "eigen.onnx")
    images = torch.rand(2, 3, 60, 80)
    with torch.no_grad():
        eager = model(images)
    assert_relative_parity(run_onnx(path, images), eager)
    import onnx

    dims = onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [3, 60, 80]


def test_multitask_model_exports_its_depth_head(tmp_path):
    model = create_model(
        "eigen2015_alexnet", input_size=(64, 96), fc_features=8, tasks=("depth", "normals")
    ).eval()
    path = export_onnx(model, tmp_path / "e15.onnx")
    images = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        eager = model(images).depth
    assert_relative_parity(run_onnx(path, images), eager)


@pytest.mark.parametrize(("fusion", "dynamic"), [("solver", False), ("learned", True)])
def test_two_stream_exports_both_fusions(tmp_path, fusion, dynamic):
    model = create_model("two_stream", input_size=(64, 64), fusion=fusion).eval()
    assert model.onnx_dynamic_size is dynamic
    path = export_onnx(model, tmp_path / "two_stream.onnx")
    for shape in [(2, 3, 64, 64)] + ([(1, 3, 96, 64)] if dynamic else []):
        images = torch.rand(*shape)
        with torch.no_grad():
            eager = model(images)
        assert_relative_parity(run_onnx(path, images), eager)


def test_pose_network_is_refused(tmp_path):
    with pytest.raises(ValueError, match="does not predict depth"):
        export_onnx(create_model("posenet"), tmp_path / "pose.onnx")


def test_depth_completion_exports_images_and_sparse_depth(tmp_path):
    torch.manual_seed(0)
    model = create_model("sparse_to_dense_resnet18", input_size=(64, 96)).eval()
    assert model.takes_sparse
    path = export_onnx(model, tmp_path / "s2d.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["images", "sparse"]
    meta = session.get_modelmeta().custom_metadata_map
    assert "sparse: float32 (batch, 1, height, width)" in meta["input"]
    gen = torch.Generator().manual_seed(1)
    for batch, (h, w) in [(1, (64, 96)), (2, (96, 128))]:
        images = torch.rand(batch, 3, h, w, generator=gen)
        depth = 1.0 + 4.0 * torch.rand(batch, 1, h, w, generator=gen)
        sparse = torch.where(torch.rand(batch, 1, h, w, generator=gen) < 0.02, depth, 0.0)
        with torch.no_grad():
            eager = model(images, sparse)
        feed = {"images": images.numpy(), "sparse": sparse.numpy()}
        assert_relative_parity(session.run(["depth"], feed)[0], eager)
        with torch.no_grad():  # the sparse input is used: without samples the output changes
            assert not torch.allclose(model(images, torch.zeros_like(sparse)), eager)
    with pytest.raises(ValueError, match="takes sparse depth.*export without it"):
        export_onnx(model, tmp_path / "resized.onnx", resize_in_graph=True)
