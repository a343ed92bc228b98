"""Specification of the model registry and of save/load (config.json + model.safetensors)."""

from __future__ import annotations

import json

import pytest
import torch

from depthforge.errors import DataError
from depthforge.models import MODELS, FCRNConfig, create_model, list_models, load_model, save_model
from depthforge.models.names import MODEL_NAMES


def test_list_models_names_every_architecture_of_the_issue():
    names = list_models()
    for expected in (
        "eigen2014_coarse", "eigen2014_fine", "eigen2015_vgg16", "eigen2015_alexnet",
        "fcrn_resnet50", "fcrn_resnet18", "fcrn_resnet34", "two_stream", "posenet",
    ):  # fmt: skip
        assert expected in names
    assert names == sorted(MODELS)


def test_the_plain_name_table_says_what_each_built_architecture_declares():
    for name, entry in MODEL_NAMES.items():
        spec = MODELS[name]
        assert spec.architecture.__name__ == entry.architecture
        assert spec.architecture.__module__ == entry.module
        assert spec.architecture.output_space is entry.output_space, name
        for field, value in entry.config.items():
            assert getattr(spec.config, field) == value
    assert MODELS["fcrn_resnet50_tf"].config.encoder_style == "tf_release"
    assert MODELS["megadepth_hourglass"].config.input_size == (384, 512)


def test_unknown_name_lists_the_known_models():
    with pytest.raises(KeyError, match="unknown model 'fcrn_resnet99'.*fcrn_resnet18"):
        create_model("fcrn_resnet99")


def test_overrides_replace_config_fields_and_unknown_ones_are_named():
    model = create_model("fcrn_resnet18", upsample="slow", input_size=(64, 64))
    assert model.config == FCRNConfig(encoder="resnet18", upsample="slow", input_size=(64, 64))
    with pytest.raises(TypeError, match="no field.*colour.*fields: encoder"):
        create_model("fcrn_resnet18", colour=True)
    with pytest.raises(ValueError, match="resize must be one of"):
        create_model("fcrn_resnet18", resize="crop")


def test_configs_are_frozen():
    with pytest.raises(AttributeError):
        create_model("fcrn_resnet18").config.encoder = "resnet50"


def test_save_load_round_trip_restores_config_weights_and_buffers(tmp_path):
    model = create_model("fcrn_resnet18", input_size=(64, 96), padding="tf")
    with torch.no_grad():
        model.train()(torch.rand(2, 3, 64, 96))  # move the BN running statistics
    folder = save_model(model.eval(), tmp_path / "ckpt")
    record = json.loads((folder / "config.json").read_text())
    assert record["architecture"] == "FCRN" and record["config"]["input_size"] == [64, 96]
    loaded = load_model(folder)
    assert loaded.config == model.config and not loaded.training
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value, rtol=0, atol=0)
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]


def test_round_trip_of_a_multitask_config_with_tuples(tmp_path):
    model = create_model("eigen2015_alexnet", input_size=(64, 96), fc_features=8, tasks=("depth",))
    loaded = load_model(save_model(model, tmp_path / "m"))
    assert loaded.config.tasks == ("depth",)


def test_config_that_does_not_match_the_weights_names_folder_and_tensor(tmp_path):
    folder = save_model(create_model("fcrn_resnet18"), tmp_path / "ckpt")
    record = json.loads((folder / "config.json").read_text())
    record["config"]["encoder"] = "resnet34"
    (folder / "config.json").write_text(json.dumps(record))
    with pytest.raises(
        DataError, match=r"ckpt: weights do not match config.json: tensor 'encoder\.layers\.0\.2"
    ):
        load_model(folder)


def test_shape_mismatch_names_the_first_mismatching_tensor(tmp_path):
    folder = save_model(create_model("two_stream", alpha=2.0), tmp_path / "a")
    record = json.loads((folder / "config.json").read_text())
    record["architecture"] = "FCRN"
    record["config"] = {"encoder": "resnet18"}
    (folder / "config.json").write_text(json.dumps(record))
    with pytest.raises(DataError, match="tensor 'encoder.stem.0.weight' is missing"):
        load_model(folder)


def test_missing_and_corrupt_files_raise_data_errors(tmp_path):
    with pytest.raises(DataError, match="config.json is missing"):
        load_model(tmp_path)
    folder = save_model(create_model("posenet"), tmp_path / "p")
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(DataError, match="unreadable safetensors"):
        load_model(folder)
    (folder / "config.json").write_text("{")
    with pytest.raises(DataError, match="not valid JSON"):
        load_model(folder)
