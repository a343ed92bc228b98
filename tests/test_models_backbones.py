"""Specification of the torchvision backbones: local weight files, bad files, stacked frames."""

from __future__ import annotations

import pytest
import torch
import torchvision
from safetensors.torch import save_file

from depthforge.errors import DataError
from depthforge.models.backbones import ImageNetNormalize, ResNetEncoder


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_local_weight_file_is_loaded(tmp_path, suffix):
    reference = torchvision.models.resnet18(weights=None)
    path = tmp_path / f"resnet18{suffix}"
    if suffix == ".pth":
        torch.save(reference.state_dict(), path)
    else:
        save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, str(path))
    encoder = ResNetEncoder("resnet18", path)
    torch.testing.assert_close(encoder.stem[0].weight, reference.conv1.weight)
    torch.testing.assert_close(encoder.layers[3][1].conv2.weight, reference.layer4[1].conv2.weight)


def test_missing_wrong_and_corrupt_weight_files_raise_data_errors(tmp_path):
    with pytest.raises(DataError, match="backbone weights for resnet18 not found"):
        ResNetEncoder("resnet18", tmp_path / "none.pth")
    wrong = tmp_path / "r34.pth"
    torch.save(torchvision.models.resnet34(weights=None).state_dict(), wrong)
    with pytest.raises(DataError, match="weights do not fit torchvision resnet18"):
        ResNetEncoder("resnet18", wrong)
    corrupt = tmp_path / "bad.pth"
    corrupt.write_bytes(b"garbage")
    with pytest.raises(DataError, match="not a readable resnet18 state_dict"):
        ResNetEncoder("resnet18", corrupt)
    with pytest.raises(KeyError, match="unknown ResNet 'resnet101'"):
        ResNetEncoder("resnet101")


def test_stacked_frames_tile_pretrained_conv1_so_identical_frames_give_the_rgb_response(tmp_path):
    path = tmp_path / "resnet18.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    single = ResNetEncoder("resnet18", path)
    double = ResNetEncoder("resnet18", path, in_channels=6)
    frame = torch.rand(1, 3, 32, 32)
    torch.testing.assert_close(
        double.stem[0](torch.cat([frame, frame], dim=1)), single.stem[0](frame)
    )
    with pytest.raises(ValueError, match="multiple of 3"):
        ResNetEncoder("resnet18", in_channels=4)


def test_normalisation_is_per_frame():
    frames = torch.rand(2, 6, 4, 4)
    norm = ImageNetNormalize()
    torch.testing.assert_close(norm(frames)[:, 3:], norm(frames[:, 3:]))
