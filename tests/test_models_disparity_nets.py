"""SfMLearner's DispNet (PyTorch port layout) and DDVO's VggDepthEstimator: their releases, written
key by key from the authors' layer tables, converted, and compared with functional forward passes
written from the papers' code descriptions (``F.conv2d`` on the release tensors)."""

from __future__ import annotations

import pickle

import pytest
import torch
import torch.nn.functional as F

from depthforge.errors import DataError
from depthforge.models import create_model
from depthforge.models.io import load_checked_state
from depthforge.models.pretrained.converters import CONVERTERS
from depthforge.types import OutputSpace

ENCODER = [
    (3, 32, 7),
    (32, 64, 5),
    (64, 128, 3),
    (128, 256, 3),
    (256, 512, 3),
    (512, 512, 3),
    (512, 512, 3),
]


def _random(generator: torch.Generator, *shape: int) -> torch.Tensor:
    fan_in = shape[1] * shape[2] * shape[3] if len(shape) == 4 else shape[0]
    return (torch.rand(*shape, generator=generator) * 2 - 1) / fan_in**0.5


def _layer(
    state: dict, name: str, generator: torch.Generator, shape: tuple[int, ...], outputs: int
):
    state[f"{name}.weight"] = _random(generator, *shape)
    state[f"{name}.bias"] = (torch.rand(outputs, generator=generator) * 2 - 1) * 0.1


def sfmlearner_release(seed: int = 0) -> dict[str, torch.Tensor]:
    """The port's ``DispNetS`` state dict, from its channel table."""
    g, state = torch.Generator().manual_seed(seed), {}
    for i, (cin, cout, k) in enumerate(ENCODER, start=1):
        _layer(state, f"conv{i}.0", g, (cout, cin, k, k), cout)
        _layer(state, f"conv{i}.2", g, (cout, cout, k, k), cout)
    up = {
        7: (512, 512),
        6: (512, 512),
        5: (512, 256),
        4: (256, 128),
        3: (128, 64),
        2: (64, 32),
        1: (32, 16),
    }
    skip = {7: 512, 6: 512, 5: 256, 4: 128, 3: 64 + 1, 2: 32 + 1, 1: 1}
    for level, (cin, cout) in up.items():
        _layer(state, f"upconv{level}.0", g, (cin, cout, 3, 3), cout)  # transposed: (in, out, k, k)
        _layer(state, f"iconv{level}.0", g, (cout, cout + skip[level], 3, 3), cout)
    for level, c in {4: 128, 3: 64, 2: 32, 1: 16}.items():
        _layer(state, f"predict_disp{level}.0", g, (1, c, 3, 3), 1)
    return state


def sfmlearner_forward(s: dict[str, torch.Tensor], image: torch.Tensor) -> list[torch.Tensor]:
    """DispNetS inference on ``image`` in [0, 1]: disparities of levels 1 … 4."""
    features = [(image - 0.5) / 0.5]
    for i, (_, _, k) in enumerate(ENCODER, start=1):
        x = F.relu(F.conv2d(features[-1], s[f"conv{i}.0.weight"], s[f"conv{i}.0.bias"], 2, k // 2))
        features.append(
            F.relu(F.conv2d(x, s[f"conv{i}.2.weight"], s[f"conv{i}.2.bias"], 1, k // 2))
        )
    x, disparity, out = features[7], None, []
    for level in range(7, 0, -1):
        ref = features[level - 1]
        w, b = s[f"upconv{level}.0.weight"], s[f"upconv{level}.0.bias"]
        parts = [F.relu(F.conv_transpose2d(x, w, b, 2, 1, 1))[..., : ref.shape[2], : ref.shape[3]]]
        if level > 1:
            parts.append(ref)
        if disparity is not None:
            up = F.interpolate(disparity, scale_factor=2, mode="bilinear", align_corners=False)
            parts.append(up[..., : ref.shape[2], : ref.shape[3]])
        x = F.relu(
            F.conv2d(
                torch.cat(parts, 1), s[f"iconv{level}.0.weight"], s[f"iconv{level}.0.bias"], 1, 1
            )
        )
        if level <= 4:
            logits = F.conv2d(
                x, s[f"predict_disp{level}.0.weight"], s[f"predict_disp{level}.0.bias"], 1, 1
            )
            disparity = 10 * torch.sigmoid(logits) + 0.01
            out.insert(0, disparity)
    return out


DDVO_DECODER = [512, 512, 256, 128, 64, 32, 16]


def ddvo_release(seed: int = 0) -> dict[str, torch.Tensor]:
    """``VggDepthEstimator``'s state dict, from ``networks.py``'s layer list."""
    g, state = torch.Generator().manual_seed(seed), {}
    for i, (cin, cout, k) in enumerate(ENCODER):
        _layer(state, f"conv_layers.{i}.conv1.conv", g, (cout, cin, k, k), cout)
        _layer(state, f"conv_layers.{i}.conv2.conv", g, (cout, cout, k, k), cout)
    iconv_in = [1024, 1024, 512, 256, 129, 65, 17]
    for i, cout in enumerate(DDVO_DECODER):
        cin = 512 if i == 0 else DDVO_DECODER[i - 1]
        _layer(state, f"upconv_layers.{i}.deconv", g, (cin, cout, 2, 2), cout)
        _layer(state, f"iconv_layers.{i}.conv", g, (cout, iconv_in[i], 3, 3), cout)
    for j, c in enumerate(DDVO_DECODER[1:]):
        _layer(state, f"invdepth_layers.{j}.conv", g, (1, c, 3, 3), 1)
    return state


def ddvo_forward(
    s: dict[str, torch.Tensor], image: torch.Tensor, align_corners: bool
) -> list[torch.Tensor]:
    """VggDepthEstimator on ``(255·image − 127)/127``: five inverse depths, finest first."""

    def conv(x, name, k):
        x = F.pad(x, [(k - 1) // 2] * 4, mode="replicate")
        return F.conv2d(x, s[f"{name}.conv.weight"], s[f"{name}.conv.bias"])

    features = [(255 * image - 127) / 127]
    for i, (_, _, k) in enumerate(ENCODER):
        x = conv(
            F.elu(conv(features[-1], f"conv_layers.{i}.conv1", k)), f"conv_layers.{i}.conv2", k
        )
        x = F.pad(x, [0, x.shape[3] % 2, 0, x.shape[2] % 2], mode="replicate")
        features.append(F.avg_pool2d(F.elu(x), 2))
    x, pyramid = features[-1], []
    for i in range(7):
        x = F.elu(
            F.conv_transpose2d(
                x, s[f"upconv_layers.{i}.deconv.weight"], s[f"upconv_layers.{i}.deconv.bias"], 2
            )
        )
        parts = [x]
        if i < 6:
            x = x[..., : features[6 - i].shape[2], : features[6 - i].shape[3]]
            parts = [x, features[6 - i]]
        if i >= 4:
            parts.append(
                F.interpolate(
                    pyramid[-1], scale_factor=2, mode="bilinear", align_corners=align_corners
                )
            )
        x = F.elu(conv(torch.cat(parts, 1), f"iconv_layers.{i}", 3))
        if i > 0:
            pyramid.append(torch.sigmoid(conv(x, f"invdepth_layers.{i - 1}", 3)))
    return [10 * p + 0.01 for p in pyramid[::-1][:5]]


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(
        (a - b).abs().max() <= 1e-5 * (b.max() - b.min()).clamp(min=1e-3)
    )


def test_sfmlearner_checkpoint_converts_exactly(tmp_path):
    state = sfmlearner_release(seed=1)
    path = tmp_path / "dispnet_model_best.pth.tar"
    torch.save({"epoch": 7, "state_dict": state}, path)
    model = create_model("sfmlearner_dispnet").eval()
    load_checked_state(model, CONVERTERS["sfmlearner_pth"](path), path)
    path.unlink()  # 126 MB
    image = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        output, expected = model(image), sfmlearner_forward(state, image)
    assert len(output.disparities) == 4
    for got, want in zip(output.disparities, expected, strict=True):
        assert _close(got, want)
    assert torch.allclose(output.depth, 1 / expected[0])
    assert float(output.disparities[0].min()) > 0.01 and float(output.disparities[0].max()) < 10.01


def test_ddvo_state_dict_converts_exactly(tmp_path):
    state = ddvo_release(seed=3)
    path = tmp_path / "ddvo.pth"
    torch.save(state, path)
    converted = CONVERTERS["ddvo_pth"](path)
    path.unlink()  # 112 MB
    image = torch.rand(1, 3, 64, 160, generator=torch.Generator().manual_seed(4))
    for align_corners in (True, False):
        model = create_model("ddvo_vgg", align_corners=align_corners).eval()
        load_checked_state(model, converted, path)
        with torch.no_grad():
            output, expected = model(image), ddvo_forward(state, image, align_corners)
        sizes = [tuple(d.shape[-2:]) for d in output.disparities]
        assert sizes == [(64, 160), (32, 80), (16, 40), (8, 20), (4, 10)]
        for got, want in zip(output.disparities, expected, strict=True):
            assert _close(got, want)
        assert torch.allclose(output.depth, 1 / expected[0])


def test_data_parallel_prefix_is_stripped(tmp_path):
    path = tmp_path / "parallel.pth"
    torch.save(
        {"state_dict": {"module.conv1.0.weight": torch.ones(2), "head": torch.zeros(1)}}, path
    )
    assert sorted(CONVERTERS["sfmlearner_pth"](path)) == ["conv1.0.weight", "head"]


def test_ddvo_unused_head_is_frozen_and_the_rest_trains():
    model = create_model("ddvo_vgg")
    frozen = sorted(n for n, p in model.named_parameters() if not p.requires_grad)
    assert frozen == ["invdepth_layers.0.conv.bias", "invdepth_layers.0.conv.weight"]


def test_declared_spaces_and_sizes():
    for name in ("sfmlearner_dispnet", "ddvo_vgg"):
        model = create_model(name)
        assert model.output_space is OutputSpace.SCALE_INVARIANT_DEPTH
        assert tuple(model.config.input_size) == (128, 416)


class NotATensor:
    pass


def test_pickles_needing_code_are_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {"conv1.0.weight": NotATensor()}}, path)
    with pytest.raises(DataError, match="evil.pth: not a readable PyTorch state dict"):
        CONVERTERS["sfmlearner_pth"](path)
    plain = tmp_path / "plain.pth"
    torch.save({"conv1.0.weight": torch.zeros(1)}, plain)
    with pytest.raises(DataError, match="plain.pth: no 'state_dict' entry"):
        CONVERTERS["sfmlearner_pth"](plain)
    with pytest.raises(DataError, match="not a readable PyTorch state dict"):
        broken = tmp_path / "broken.pth"
        broken.write_bytes(pickle.dumps([1, 2])[:3])
        CONVERTERS["ddvo_pth"](broken)
