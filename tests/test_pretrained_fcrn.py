"""FCRN's TensorFlow release: the converter and the TF-faithful architecture, against an
independent NumPy evaluation of the reference graph (tests/fcrn_tf_numpy.py)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from depthforge.errors import DataError
from depthforge.io.safe_pickle import load_npy_dict
from depthforge.models import create_model
from depthforge.models.io import load_checked_state
from depthforge.models.pretrained.converters import CONVERTERS
from depthforge.models.tf_resnet import TFSameMaxPool
from tests import fcrn_tf_numpy as ref


def test_tf_same_max_pool_pads_bottom_right_on_even_input():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    # TF 'SAME', k=3, s=2 on 4: total padding 1, all after → windows rows/cols {0,1,2} and {2,3}
    expected = torch.tensor([[10.0, 11.0], [14.0, 15.0]])
    assert torch.equal(TFSameMaxPool(3, 2)(x)[0, 0], expected)
    assert torch.equal(TFSameMaxPool(3, 2)(-x)[0, 0], torch.tensor([[0.0, -2.0], [-8.0, -10.0]]))


def test_release_architecture_has_the_reference_parameter_count():
    model = create_model("fcrn_resnet50_tf")
    trainable = sum(p.numel() for name, p in model.named_parameters() if "running" not in name)
    assert trainable == 63_572_737  # counted from the TF layer shapes (REFERENCE §3.4)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """(converted float64 model, input images NHWC in [0, 1], reference output NCHW)."""
    ops = ref.random_release(seed=3)
    path = tmp_path_factory.mktemp("fcrn") / "NYU_ResNet-UpProj.npy"
    ref.save_release(path, ops)
    model = create_model("fcrn_resnet50_tf")
    load_checked_state(model, CONVERTERS["fcrn_tf_npy"](path), path)
    path.unlink()  # 255 MB
    # 64 rows: conv1 gives 32 (even → TF pads the max-pool only below); 97 cols: 49 (odd)
    images = np.random.default_rng(0).uniform(0, 1, (2, 64, 97, 3))
    ops64 = {op: {k: v.astype(np.float64) for k, v in p.items()} for op, p in ops.items()}
    expected = ref.forward(ops64, images * 255.0).transpose(0, 3, 1, 2)
    return model.double().eval(), images, expected


def run(model, images):
    with torch.no_grad():
        return model(torch.from_numpy(images).permute(0, 3, 1, 2)).numpy()


def test_converted_release_computes_the_reference_graph(converted):
    model, images, expected = converted
    ours = run(model, images)
    assert ours.shape == expected.shape == (2, 1, 32, 64)
    assert expected.max() > 0.5 and (expected > 0).mean() > 0.3  # a non-trivial output
    assert np.abs(ours - expected).max() <= 1e-9 * np.abs(expected).max()


def test_symmetric_max_pool_would_not_compute_the_release(converted):
    """The check above can fail: torchvision's max-pool (padding 1 on every side) in place of
    TF's 'SAME' one changes the output."""
    model, images, expected = converted
    tf_pool = model.encoder.stem[3]
    model.encoder.stem[3] = torch.nn.MaxPool2d(3, 2, padding=1)
    try:
        ours = run(model, images)
    finally:
        model.encoder.stem[3] = tf_pool
    assert np.abs(ours - expected).max() > 1e-3 * np.abs(expected).max()


def test_release_file_is_read_without_executing_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("executed",))

    array = np.empty((), dtype=object)
    array[()] = {"conv1": {"weights": Evil()}}
    path = tmp_path / "evil.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "|O", "fortran_order": False, "shape": ()}
        )
        pickle.dump(array, f, protocol=2)
    with pytest.raises(DataError, match=r"refusing to unpickle .*print"):
        load_npy_dict(path)


def test_missing_op_is_named(tmp_path):
    ops = {"conv1": {"weights": np.zeros((7, 7, 3, 64), np.float32)}}
    path = tmp_path / "short.npy"
    ref.save_release(path, ops)
    with pytest.raises(DataError, match="op 'bn_conv1' is missing"):
        CONVERTERS["fcrn_tf_npy"](path)


def test_not_an_npy_file_is_a_data_error(tmp_path):
    path = tmp_path / "x.npy"
    path.write_bytes(b"not numpy at all")
    with pytest.raises(DataError, match="x.npy"):
        CONVERTERS["fcrn_tf_npy"](path)
