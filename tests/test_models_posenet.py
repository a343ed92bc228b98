"""Specification of the pose network and the SE(3) helpers (Rodrigues, pose vectors)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from depthforge.geometry.se3 import axis_angle_to_matrix, pose_vec_to_matrix, skew
from depthforge.models import create_model


def test_skew_is_the_cross_product():
    v, w = torch.randn(3, dtype=torch.float64), torch.randn(3, dtype=torch.float64)
    torch.testing.assert_close(skew(v) @ w, torch.linalg.cross(v, w))


def test_rodrigues_matches_scipy_including_tiny_angles():
    vectors = torch.cat(
        [torch.randn(20, 3, dtype=torch.float64), 1e-9 * torch.randn(3, 3, dtype=torch.float64)]
    )
    vectors[0] = 0.0
    expected = Rotation.from_rotvec(vectors.numpy()).as_matrix()
    np.testing.assert_allclose(axis_angle_to_matrix(vectors).numpy(), expected, atol=1e-12)


def test_quarter_turn_about_z_by_hand():
    R = axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2], dtype=torch.float64))
    expected = torch.tensor(
        [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64
    )
    torch.testing.assert_close(R, expected)


def test_gradient_is_finite_at_zero_rotation_and_correct_nearby():
    zero = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    axis_angle_to_matrix(zero).sum().backward()
    assert torch.isfinite(zero.grad).all()
    near = torch.tensor([1e-3, -2e-3, 5e-4], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(axis_angle_to_matrix, (near,))


def test_pose_matrix_and_its_inverse_compose_to_identity():
    pose = torch.randn(4, 2, 6, dtype=torch.float64)
    T = pose_vec_to_matrix(pose)
    T_inv = pose_vec_to_matrix(pose, invert=True)
    eye = torch.eye(4, dtype=torch.float64).expand(4, 2, 4, 4)
    torch.testing.assert_close(T @ T_inv, eye)
    torch.testing.assert_close(T[..., :3, 3], pose[..., 3:])
    assert T[..., 3, :].tolist() == [[[0.0, 0.0, 0.0, 1.0]] * 2] * 4


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match=r"axis_angle must be \(\.\.\., 3\)"):
        axis_angle_to_matrix(torch.zeros(4))
    with pytest.raises(ValueError, match=r"pose must be \(\.\.\., 6\)"):
        pose_vec_to_matrix(torch.zeros(2, 3))


@pytest.mark.parametrize(("name", "frames"), [("posenet", 2), ("posenet_3frames", 3)])
def test_posenet_outputs_one_small_pose_per_source_frame(name, frames):
    model = create_model(name).eval()
    frames_in = torch.rand(2, 3 * frames, 64, 96)
    with torch.no_grad():
        poses = model(frames_in)
        raw = model.decoder(model.encoder(model.normalize(frames_in))).mean(dim=(2, 3))
    assert poses.shape == (2, frames - 1, 6)
    assert model.output_space is None
    # SfMLearner / monodepth2 scale the spatially averaged decoder output by 0.01.
    torch.testing.assert_close(poses, 0.01 * raw.view(2, frames - 1, 6))


def test_posenet_normalises_as_monodepth2_by_default():
    from depthforge.models.backbones import IMAGENET_MEAN, IMAGENET_STD

    torch.manual_seed(0)
    ours = create_model("posenet", input_size=(64, 96)).eval()
    assert ours.config.normalization == "monodepth2"
    imagenet = create_model("posenet", input_size=(64, 96), normalization="imagenet").eval()
    imagenet.load_state_dict(ours.state_dict())
    frames = torch.rand(2, 6, 64, 96)
    # monodepth2's ResnetEncoder sees (x − 0.45)/0.225; feed the ImageNet variant the image whose
    # ImageNet normalisation is exactly that.
    mean = torch.tensor(IMAGENET_MEAN * 2).view(1, 6, 1, 1)
    std = torch.tensor(IMAGENET_STD * 2).view(1, 6, 1, 1)
    equivalent = (frames - 0.45) / 0.225 * std + mean
    with torch.no_grad():
        torch.testing.assert_close(ours(frames), imagenet(equivalent), rtol=1e-5, atol=1e-7)
        assert (ours(frames) - imagenet(frames)).abs().max() > 1e-6


def test_pose_models_saved_before_the_choice_keep_the_imagenet_statistics(tmp_path):
    import json

    from depthforge.models import load_model, save_model

    torch.manual_seed(1)
    old = create_model("posenet", input_size=(64, 96), normalization="imagenet").eval()
    folder = save_model(old, tmp_path / "old")
    record = json.loads((folder / "config.json").read_text())
    del record["config"]["normalization"]  # as written before the field existed
    (folder / "config.json").write_text(json.dumps(record))
    loaded = load_model(folder).eval()
    assert loaded.config.normalization == "imagenet"
    frames = torch.rand(1, 6, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(loaded(frames), old(frames))
    new = load_model(save_model(create_model("posenet"), tmp_path / "new"))
    assert new.config.normalization == "monodepth2"
    with pytest.raises(ValueError, match="normalization must be one of"):
        create_model("posenet", normalization="caffe")
