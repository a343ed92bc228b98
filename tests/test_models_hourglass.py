"""The DIW / MegaDepth hourglass and its release converters (Torch7 ``.t7``, MegaDepth ``.pth``),
checked against a Torch7-semantics forward pass of the model described by DIW's Lua code."""

from __future__ import annotations

import tarfile

import pytest
import torch

from depthforge.errors import DataError
from depthforge.models import create_model
from depthforge.models.hourglass import release_key
from depthforge.models.io import load_checked_state
from depthforge.models.pretrained.converters import CONVERTERS
from depthforge.types import OutputSpace
from tests.torch7_format import diw_hourglass_lua, lua_forward, positional_tensors, write_t7


@pytest.fixture
def torchfile():
    return pytest.importorskip("torchfile")


@pytest.fixture(scope="module")
def lua_model():
    return diw_hourglass_lua(seed=3)


@pytest.fixture(scope="module")
def images():
    return torch.rand(2, 3, 16, 32, generator=torch.Generator().manual_seed(0))


def loaded(name: str, state: dict[str, torch.Tensor]):
    model = create_model(name).eval()
    load_checked_state(model, state, "release")
    return model


@pytest.mark.parametrize("legacy", [False, True], ids=["running_var", "running_std"])
def test_t7_release_computes_the_lua_network(torchfile, tmp_path, images, legacy):
    lua = diw_hourglass_lua(seed=4, legacy_batchnorm=legacy)
    path = tmp_path / "Best_model_period1.t7"
    write_t7(path, lua)
    model = loaded("diw_hourglass", CONVERTERS["diw_t7"](path))
    with torch.no_grad():
        expected, got = lua_forward(lua, images), model(images)
    assert got.shape == (2, 1, 16, 32)
    assert torch.allclose(got, expected, atol=1e-5 * float(expected.max() - expected.min()))


def test_megadepth_pth_release_computes_the_lua_network(tmp_path, lua_model, images):
    # MegaDepth's file: DataParallel keys "module." + positions, no num_batches_tracked.
    state = {f"module.{k}": v for k, v in positional_tensors(lua_model).items()}
    assert len(state) == 156 * 2 + 155 * 2 + 2  # convs (w, b); BNs (mean, var); BN 1 affine
    path = tmp_path / "best_generalization_net_G.pth"
    torch.save(state, path)
    model = loaded("megadepth_hourglass", CONVERTERS["megadepth_pth"](path))
    with torch.no_grad():
        expected, output = lua_forward(lua_model, images), model(images)
    span = float(expected.max() - expected.min())
    assert torch.allclose(output.log_depth, expected, atol=1e-5 * span)
    assert torch.allclose(output.depth, expected.exp(), rtol=1e-5)


def test_release_keys_follow_the_lua_nesting():
    # Hand-read from hourglass3.lua: _4channels = ConcatTable(down, skip) at module 4 (index 3);
    # its down branch holds _3channels at position 4 (index 3), whose ConcatTable is (down, skip);
    # _2channels and _1channels list the skip branch first.
    assert release_key("0.weight") == "conv1.weight"
    assert release_key("1.bias") == "bn1.bias"
    assert release_key("4.weight") == "head.weight"
    assert release_key("3.0.1.0.3.3.weight") == "hourglass.skip.0.3.3.weight"
    assert release_key("3.0.0.1.0.0.weight") == "hourglass.down.1.0.0.weight"
    assert release_key("3.0.0.3.0.0.3.0.0.1.1.0.weight") == (
        "hourglass.down.3.down.3.skip.1.1.0.weight"
    )
    inner = "3.0.0.3.0.0.3.0.1.3.0.1.3.2.4.running_var"
    assert release_key(inner) == "hourglass.down.3.down.3.down.3.down.3.2.4.running_var"
    for bad in ("2.weight", "3.1.0.0.weight", "3.0.2.1.0.0.weight"):
        with pytest.raises(KeyError):
            release_key(bad)


def test_key_correspondence_places_the_right_tensors(torchfile, tmp_path, lua_model):
    path = tmp_path / "m.t7"
    write_t7(path, lua_model)
    model = loaded("diw_hourglass", CONVERTERS["diw_t7"](path))
    # Level-1 skip = the single inception of _4channels' second branch, its 11×11 branch.
    lua_skip = lua_model.children[3].children[0].children[1].children[0]
    conv = lua_skip.children[3].children[3].fields["weight"]
    assert conv.shape == (16, 64, 11, 11)
    assert torch.equal(model.hourglass.skip[0][3][3].weight, torch.from_numpy(conv).float())


def test_unexpected_tensor_is_a_data_error(tmp_path, lua_model):
    state = {f"module.{k}": v for k, v in positional_tensors(lua_model).items()}
    state["module.2.weight"] = torch.zeros(1)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(DataError, match=r"bad\.pth: unexpected tensor 'module\.2\.weight'"):
        CONVERTERS["megadepth_pth"](path)


def test_not_a_t7_file_is_a_data_error(torchfile, tmp_path):
    path = tmp_path / "junk.t7"
    path.write_bytes(b"\x07\x00\x00\x00garbage")
    with pytest.raises(DataError, match="junk.t7: not a readable Torch7 file"):
        CONVERTERS["diw_t7"](path)


def test_model_read_from_the_authors_archive(torchfile, tmp_path, lua_model, images):
    t7 = tmp_path / "Best_model_period2.t7"
    write_t7(t7, lua_model)
    archive = tmp_path / "hourglass3.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:
        tar.add(t7, arcname="hourglass3/AMT_from_205315_1e-4_release/Best_model_period2.t7")
    model = loaded("diw_hourglass", CONVERTERS["diw_tgz_nyu_diw"](archive))
    with torch.no_grad():
        assert torch.allclose(model(images), lua_forward(lua_model, images), atol=1e-6)
    with pytest.raises(DataError, match="no AMT_from_scratch_1e-4_release/Best_model_period1.t7"):
        CONVERTERS["diw_tgz_diw"](archive)


def test_output_spaces_and_input_size():
    assert create_model("diw_hourglass").output_space is OutputSpace.ORDINAL
    megadepth = create_model("megadepth_hourglass")
    assert megadepth.output_space is OutputSpace.SCALE_INVARIANT_DEPTH
    assert tuple(megadepth.config.input_size) == (384, 512)
    with pytest.raises(ValueError, match="multiples of 16"):
        create_model("diw_hourglass", input_size=(100, 320))
    with pytest.raises(ValueError, match="multiples of 16"):
        create_model("diw_hourglass")(torch.rand(1, 3, 24, 32))
