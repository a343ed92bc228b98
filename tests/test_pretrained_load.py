"""Pretrained names end to end without the internet: a release file in monodepth2's zip layout
(random weights) placed in the cache by hand or served from 127.0.0.1, converted once, then used by
`depthforge predict`, `convert`, `pointcloud` and `reproduce`."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import shutil
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

from depthforge.errors import DataError, DepthforgeError
from depthforge.models import create_model
from depthforge.models.io import load_model
from depthforge.models.pretrained import catalog
from depthforge.models.pretrained.converters import CONVERTERS
from depthforge.models.pretrained.load import load_pretrained, resolve_model
from depthforge.types import OutputSpace
from tests.cli_runner import run_cli

NAME = "monodepth2_mono_640x192"


def torch_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """(path of a zip in monodepth2's release layout with random weights, its encoder and decoder
    state dicts as monodepth2 names them)."""
    torch.manual_seed(0)
    encoder = {f"encoder.{k}": v for k, v in torchvision.models.resnet18().state_dict().items()}
    decoder = create_model("monodepth2_resnet18").decoder.state_dict()  # monodepth2's own keys
    for value in decoder.values():
        if value.is_floating_point():
            value.normal_(0, 0.05)
    path = tmp_path_factory.mktemp("release") / "mono_640x192.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        meta = {"height": 192, "width": 640, "use_stereo": False}
        archive.writestr("mono_640x192/encoder.pth", torch_bytes(encoder | meta))
        archive.writestr("mono_640x192/depth.pth", torch_bytes(decoder))
        archive.writestr("mono_640x192/pose_encoder.pth", torch_bytes({}))
        archive.writestr("mono_640x192/pose.pth", torch_bytes({}))
    yield path, encoder, decoder
    path.unlink()


@pytest.fixture
def cache(tmp_path, monkeypatch, release):
    """An empty cache, online, with the record's checksum set to the test release's."""
    monkeypatch.setenv("DEPTHFORGE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DEPTHFORGE_OFFLINE", raising=False)
    md5 = hashlib.md5(release[0].read_bytes()).hexdigest()
    record = dataclasses.replace(catalog.PRETRAINED[NAME], md5=md5)
    monkeypatch.setitem(catalog.PRETRAINED, NAME, record)
    yield tmp_path / "cache"
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)  # ~60 MB per converted model


def place_by_hand(cache, release) -> None:
    target = cache / "downloads" / catalog.PRETRAINED[NAME].file_name
    target.parent.mkdir(parents=True)
    target.symlink_to(release[0])  # as good as a copy, without another 60 MB on disk


def test_converter_renames_every_tensor(release):
    path, encoder, decoder = release
    state = CONVERTERS["monodepth2_zip"](path)
    assert torch.equal(state["encoder.stem.0.weight"], encoder["encoder.conv1.weight"])
    assert torch.equal(
        state["encoder.layers.3.1.bn2.running_var"], encoder["encoder.layer4.1.bn2.running_var"]
    )
    key = next(iter(decoder))
    assert torch.equal(state[f"decoder.{key}"], decoder[key])
    assert not any(k.startswith("encoder.fc") for k in state)


def test_model_loaded_from_a_hand_placed_file_computes_with_its_weights(cache, release):
    place_by_hand(cache, release)
    model = load_pretrained(NAME, progress=False)
    assert (cache / "models" / NAME / "model.safetensors").is_file()
    assert model.config.input_size == (192, 640)
    assert model.output_space is OutputSpace.SCALE_INVARIANT_DEPTH
    # an independent check of the encoder: torchvision's resnet18 with the release's tensors
    reference = torchvision.models.resnet18()
    reference.load_state_dict({k[len("encoder.") :]: v for k, v in release[1].items()})
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        ours = model.encoder.pyramid((x - 0.45) / 0.225)[-1]
        theirs = torch.nn.Sequential(*list(reference.children())[:-2]).eval()((x - 0.45) / 0.225)
    assert torch.allclose(ours, theirs, atol=1e-5)
    # the second load reads the converted folder, even with the release file gone
    (cache / "downloads" / catalog.PRETRAINED[NAME].file_name).unlink()
    again = load_pretrained(NAME)
    assert all(
        torch.equal(a, b)
        for a, b in zip(again.state_dict().values(), model.state_dict().values(), strict=True)
    )


def test_hand_placed_file_with_the_wrong_checksum_is_refused(cache, release, monkeypatch):
    place_by_hand(cache, release)
    record = dataclasses.replace(catalog.PRETRAINED[NAME], md5="0" * 32)
    monkeypatch.setitem(catalog.PRETRAINED, NAME, record)
    with pytest.raises(DataError, match="not the released file"):
        load_pretrained(NAME)
    assert not (cache / "models" / NAME).exists()


def test_download_from_loopback_shows_licence_then_converts_once(
    cache, release, monkeypatch, capsys
):
    handler = partial(SimpleHTTPRequestHandler, directory=str(release[0].parent))
    handler.log_message = lambda *a: None
    requests = []
    original = SimpleHTTPRequestHandler.do_GET

    def counting(self):
        requests.append(self.path)
        original(self)

    monkeypatch.setattr(SimpleHTTPRequestHandler, "do_GET", counting)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/{release[0].name}"
        record = dataclasses.replace(catalog.PRETRAINED[NAME], urls=(url,))
        monkeypatch.setitem(catalog.PRETRAINED, NAME, record)
        load_pretrained(NAME, progress=False)
        err = capsys.readouterr().err
        assert "NON-COMMERCIAL USE ONLY" in err and "licence" in err
        load_pretrained(NAME, progress=False)
        assert requests == [f"/{release[0].name}"]
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_offline_without_the_file_names_the_url_and_the_convert_way(cache, monkeypatch):
    monkeypatch.setenv("DEPTHFORGE_OFFLINE", "1")
    with pytest.raises(DepthforgeError) as info:
        load_pretrained(NAME)
    message = str(info.value)
    assert catalog.PRETRAINED[NAME].urls[0] in message
    assert f"depthforge convert FILE --from monodepth2_zip --out FOLDER --name {NAME}" in message
    assert "\n" not in message


def test_stereo_models_are_metric_by_the_stereo_scale():
    record = catalog.PRETRAINED["monodepth2_stereo_640x192"]
    assert record.metric_scale == 5.4 and record.output_space is OutputSpace.METRIC_DEPTH
    torch.manual_seed(0)
    metric = create_model(record.model, **record.config | {"input_size": (64, 64)})
    relative = create_model(record.model, input_size=(64, 64))
    relative.load_state_dict(metric.state_dict())
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        ratio = metric.eval()(x).depth / relative.eval()(x).depth
    assert metric.output_space is OutputSpace.METRIC_DEPTH
    assert relative.output_space is OutputSpace.SCALE_INVARIANT_DEPTH
    assert torch.allclose(ratio, torch.full_like(ratio, 5.4))


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.jpg"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(path)
    return path


def test_predict_with_a_pretrained_name_says_it_writes_relative_depth(
    cache, release, photo, tmp_path, monkeypatch, capsys
):
    place_by_hand(cache, release)
    out = tmp_path / "pred"
    code, stdout, err = run_cli(
        monkeypatch, capsys, "predict", str(photo), "--model", NAME, "--out", str(out)
    )
    assert code == 0, err
    assert "relative depth" in err and "scale_invariant_depth" in stdout
    depth = np.load(out / "photo.npy")
    assert depth.shape == (48, 64) and np.isfinite(depth).all() and (depth > 0).all()


def test_pointcloud_refuses_a_relative_pretrained_model_without_a_scale(
    cache, release, photo, tmp_path, monkeypatch, capsys
):
    place_by_hand(cache, release)
    args = ["pointcloud", str(photo), "--out", str(tmp_path / "c.ply"), "--model", NAME]
    code, _, err = run_cli(monkeypatch, capsys, *args, "--fov", "60")
    assert code == 2 and "scale" in err and not (tmp_path / "c.ply").exists()
    code, _, err = run_cli(monkeypatch, capsys, *args, "--fov", "60", "--scale", "2")
    assert code == 0, err
    assert (tmp_path / "c.ply").is_file()


def test_convert_command_writes_a_model_folder(release, tmp_path, monkeypatch, capsys):
    out = tmp_path / "m"
    code, _, err = run_cli(
        monkeypatch,
        capsys,
        "convert",
        str(release[0]),
        "--from",
        "monodepth2_zip",
        "--out",
        str(out),
    )
    assert code == 2 and "--name" in err  # six monodepth2 models share the format
    args = ["convert", str(release[0]), "--from", "monodepth2_zip", "--out", str(out)]
    code, stdout, err = run_cli(monkeypatch, capsys, *args, "--name", "monodepth2_stereo_640x192")
    assert code == 2 and "md5" in err  # not the released stereo file
    monkeypatch.setitem(
        catalog.PRETRAINED,
        "monodepth2_stereo_640x192",
        dataclasses.replace(catalog.PRETRAINED["monodepth2_stereo_640x192"], md5=None),
    )
    code, stdout, err = run_cli(monkeypatch, capsys, *args, "--name", "monodepth2_stereo_640x192")
    assert code == 0, err
    model = load_model(out)
    assert model.config.metric_scale == 5.4 and model.output_space is OutputSpace.METRIC_DEPTH
    code, _, err = run_cli(monkeypatch, capsys, *args, "--name", "monodepth2_stereo_640x192")
    assert code == 2 and "--overwrite" in err
    shutil.rmtree(out)


def test_models_lists_the_pretrained_names_with_licence_and_numbers(monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "250")
    code, out, _ = run_cli(monkeypatch, capsys, "models")
    assert code == 0
    for name in catalog.PRETRAINED:
        assert name in out
    assert "non-commercial" in out and "Simplified BSD" in out and "0.573" in out
    assert "fcrn_resnet50_tf" in out  # the architectures are still listed


def test_reproduce_scores_a_pretrained_model_and_writes_eval_json(
    cache, release, tmp_path, monkeypatch, capsys
):
    from depthforge.synth import write_synth_folder

    place_by_hand(cache, release)
    root = tmp_path / "synth"
    write_synth_folder(root, scenes=1, frames=2, size=(64, 48), seed=1)
    json_path = tmp_path / "r.json"
    code, out, err = run_cli(
        monkeypatch,
        capsys,
        "reproduce",
        NAME,
        "-d",
        "folder",
        "-r",
        str(root),
        "--protocol",
        "dense",
        "--json",
        str(json_path),
    )
    assert code == 0, err
    assert "abs_rel" in out and "no paper numbers under dense" in err
    result = json.loads(json_path.read_text())
    assert result["n_images"] == 2 and result["protocol"]["name"] == "dense"
    assert result["settings"]["alignment"] == "median"


def test_weights_file_is_converted_instead_of_downloading(cache, release, monkeypatch):
    monkeypatch.setenv("DEPTHFORGE_OFFLINE", "1")
    model = load_pretrained(NAME, weights=release[0])
    assert model.config.input_size == (192, 640) and (cache / "models" / NAME).is_dir()
    with pytest.raises(DepthforgeError, match="--weights goes with a pretrained name"):
        resolve_model(cache / "models" / NAME, weights=release[0])
    with pytest.raises(DepthforgeError, match="neither a saved model folder nor a pretrained"):
        resolve_model("no_such_model")
