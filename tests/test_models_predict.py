"""Specification of ``predict`` (resize policy, output spaces) and ``predict_paths`` (files)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from depthforge.apps.predict_jobs import predict_paths
from depthforge.errors import DataError
from depthforge.io import read_depth
from depthforge.models import create_model, predict, save_model
from depthforge.models.base import DepthModel, ModelConfig
from depthforge.types import OutputSpace


class FirstChannel(DepthModel):
    """Test double: 'depth' = the red channel at the network resolution (identity geometry)."""

    output_space = OutputSpace.METRIC_DEPTH

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.offset = torch.nn.Parameter(torch.zeros(()))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images[:, :1] + self.offset


class LogConstant(FirstChannel):
    output_space = OutputSpace.LOG_DEPTH

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.full_like(images[:, :1, ::2, ::2], 0.5) + self.offset


def ramp(height: int, width: int) -> torch.Tensor:
    """(1, 3, H, W) image whose red channel rises linearly left to right, in [0.1, 0.9]."""
    u = torch.linspace(0.1, 0.9, width).expand(height, width)
    return torch.stack([u, 1 - u, torch.full_like(u, 0.5)])[None]


@pytest.mark.parametrize("policy", ["stretch", "keep_aspect"])
def test_linear_ramp_survives_the_round_trip_through_the_network_size(policy):
    model = FirstChannel(ModelConfig(input_size=(32, 32), resize=policy))
    image = ramp(40, 80)
    prediction = predict(model, image)
    assert prediction.depth.shape == (1, 1, 40, 80)
    # Interior columns (away from the bilinear border effects) reproduce the ramp.
    error = (prediction.depth - image[:, :1])[..., 4:-4].abs().max()
    assert error < 0.01


def test_keep_aspect_pads_instead_of_distorting():
    # A 40×80 image inside 32×32 becomes 16×32 + 16 padded rows; the crop must drop them.
    model = FirstChannel(ModelConfig(input_size=(32, 32), resize="keep_aspect"))
    image = torch.zeros(1, 3, 40, 80)
    image[:, 0, :20] = 1.0  # top half bright, bottom half dark
    depth = predict(model, image).depth
    assert depth[0, 0, :16].min() > 0.9 and depth[0, 0, 24:].max() < 0.1


def test_log_depth_is_exponentiated_and_reported():
    model = LogConstant(ModelConfig(input_size=(16, 16)))
    prediction = predict(model, torch.rand(3, 3, 20, 30))
    torch.testing.assert_close(prediction.depth, torch.full((3, 1, 20, 30), float(np.exp(0.5))))
    assert prediction.output_space is OutputSpace.METRIC_DEPTH
    assert prediction.model_output_space is OutputSpace.LOG_DEPTH and prediction.converted_from_log


def test_fcrn_prediction_is_at_input_resolution_chunking_invariant_and_mode_preserving():
    model = create_model("fcrn_resnet18", input_size=(64, 64))
    model.train()
    images = torch.rand(3, 3, 50, 70)
    whole = predict(model, images, batch_size=3)
    other_size = predict(model, images, batch_size=2, size=(96, 96))
    assert whole.depth.shape == other_size.depth.shape == (3, 1, 50, 70)
    torch.testing.assert_close(predict(model, images, batch_size=1).depth, whole.depth)
    assert model.training
    assert not whole.depth.requires_grad


def test_fixed_size_models_and_non_depth_models_are_refused():
    eigen = create_model("eigen2014_coarse", input_size=(60, 80), fc_features=8)
    with pytest.raises(ValueError, match=r"runs only at \(60, 80\)"):
        predict(eigen, torch.rand(1, 3, 60, 80), size=(64, 64))
    with pytest.raises(ValueError, match="does not predict depth"):
        predict(create_model("posenet"), torch.rand(1, 3, 32, 32))
    with pytest.raises(ValueError, match=r"images must be \(B, 3, H, W\)"):
        predict(eigen, torch.rand(3, 60, 80))


@pytest.fixture
def image_folder(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(folder / "a_rgb.png")
    Image.fromarray(rng.integers(0, 255, (24, 32), dtype=np.uint8)).save(folder / "b_grey.png")
    Image.fromarray(rng.integers(0, 255, (20, 28, 4), dtype=np.uint8)).save(folder / "c_rgba.png")
    (folder / "d_corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    (folder / "notes.txt").write_text("not an image")
    return folder


def small_model():
    return FirstChannel(ModelConfig(input_size=(16, 16)))


def test_folder_prediction_converts_grey_and_rgba_and_skips_the_corrupt_image(
    image_folder, tmp_path
):
    calls = []
    with pytest.warns(UserWarning, match="d_corrupt.jpg"):
        summary = predict_paths(
            small_model(), [image_folder], tmp_path / "out", progress=lambda *a: calls.append(a)
        )
    assert [p.name for p in summary.written] == ["a_rgb.npy", "b_grey.npy", "c_rgba.npy"]
    assert [p.name for p, _ in summary.skipped] == ["d_corrupt.jpg"]
    assert "corrupt" in summary.skipped[0][1]
    assert any("L image converted" in n for n in summary.notes)
    assert any("RGBA image alpha dropped" in n for n in summary.notes)
    assert np.load(tmp_path / "out" / "c_rgba.npy").shape == (20, 28)
    assert calls[-1] == (4, 4)


def test_existing_results_are_not_overwritten_without_permission(image_folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.npy").write_bytes(b"keep me")
    with pytest.raises(DataError, match="already holds results.*overwrite"):
        predict_paths(small_model(), [image_folder / "a_rgb.png"], out)
    assert (out / "old.npy").read_bytes() == b"keep me"
    summary = predict_paths(small_model(), [image_folder / "a_rgb.png"], out, overwrite=True)
    assert summary.written == [out / "a_rgb.npy"]


def test_png16_and_color_outputs_from_a_saved_model(image_folder, tmp_path):
    folder = save_model(create_model("fcrn_resnet18", input_size=(32, 32)), tmp_path / "m")
    src = image_folder / "a_rgb.png"
    npy = predict_paths(folder, [src], tmp_path / "npy").written[0]
    png = predict_paths(folder, [src], tmp_path / "png16", format="png16").written[0]
    np.testing.assert_allclose(read_depth(png, "png16", scale=1000.0), np.load(npy), atol=5e-4)
    color = predict_paths(folder, [src], tmp_path / "color", format="color").written[0]
    preview = np.asarray(Image.open(color))
    assert preview.shape == (24, 32 + 72, 3)


def test_missing_inputs_and_bad_format_are_refused(tmp_path):
    with pytest.raises(DataError, match="input not found"):
        predict_paths(small_model(), [tmp_path / "nope"], tmp_path / "out")
    with pytest.raises(ValueError, match="unknown --format 'exr'; known: npy, png16, color"):
        predict_paths(small_model(), [], tmp_path / "out", format="exr")


def test_a_video_gives_one_prediction_per_frame(tmp_path):
    cv2 = pytest.importorskip("cv2", reason="OpenCV decodes videos")
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 5, (32, 24))
    for level in (30, 120, 220):
        writer.write(np.full((24, 32, 3), level, np.uint8))
    writer.release()
    summary = predict_paths(small_model(), [path], tmp_path / "out")
    assert [p.name for p in summary.written] == [f"clip_{i:06d}.npy" for i in range(3)]
    red = [float(np.load(p).mean()) for p in summary.written]  # the double predicts the red channel
    assert red == pytest.approx([30 / 255, 120 / 255, 220 / 255], abs=0.03)


def test_an_unreadable_video_is_skipped_and_reported(tmp_path):
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all")
    Image.fromarray(np.full((24, 32, 3), 90, np.uint8)).save(tmp_path / "good.png")
    inputs = [tmp_path / "broken.mp4", tmp_path / "good.png"]
    with pytest.warns(UserWarning, match="broken.mp4"):
        summary = predict_paths(small_model(), inputs, tmp_path / "out")
    assert [p.name for p in summary.written] == ["good.npy"]
    assert summary.skipped[0][0].name == "broken.mp4"
    with pytest.raises(DataError, match="broken.mp4"):  # nothing readable: an error, not a warning
        predict_paths(small_model(), inputs[:1], tmp_path / "out2")
