"""Sparse-to-Dense release: the authors' exact network, and reading their whole-module pickle
without running it."""

from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import sys
import types
import warnings
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from depthforge.errors import DataError
from depthforge.models import create_model, load_model, predict, save_model
from depthforge.models.io import load_checked_state
from depthforge.models.pretrained.converters import CONVERTERS
from depthforge.models.pretrained.converters.restricted_pickle import (
    RefusedGlobal,
    restricted_pickle_module,
)
from depthforge.models.sparse_to_dense import UpProjBlock
from depthforge.models.upprojection import phase_kernels, unpool_conv5x5, unpool_top_left

SIZE = (40, 56)


# ------------------------------------------------------------------ the release's structure
# Classes named as in the authors' models.py / metrics.py, built from the structure the release
# pickles (module names, nesting, bias-free convs, a tensor attribute in Unpool), with a forward
# that is a literal re-statement of the paper's computation: unpool by a transposed convolution
# with the kernel [[1, 0], [0, 0]], 5×5 convs on the unpooled map, align_corners=True at the end.


class Unpool(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.weights = torch.zeros(channels, 1, 2, 2)
        self.weights[:, :, 0, 0] = 1

    def forward(self, x):
        return F.conv_transpose2d(x, self.weights, stride=2, groups=x.shape[1])


class UpProj(nn.Module):
    class UpProjModule(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.unpool = Unpool(c)
            conv = {"bias": False}
            self.upper_branch = nn.Sequential(
                OrderedDict(
                    conv1=nn.Conv2d(c, c // 2, 5, padding=2, **conv),
                    batchnorm1=nn.BatchNorm2d(c // 2),
                    relu=nn.ReLU(),
                    conv2=nn.Conv2d(c // 2, c // 2, 3, padding=1, **conv),
                    batchnorm2=nn.BatchNorm2d(c // 2),
                )
            )
            self.bottom_branch = nn.Sequential(
                OrderedDict(
                    conv=nn.Conv2d(c, c // 2, 5, padding=2, **conv),
                    batchnorm=nn.BatchNorm2d(c // 2),
                )
            )
            self.relu = nn.ReLU()

        def forward(self, x):
            x = self.unpool(x)
            return self.relu(self.upper_branch(x) + self.bottom_branch(x))

    def __init__(self, c):
        super().__init__()
        for i in range(4):
            setattr(self, f"layer{i + 1}", UpProj.UpProjModule(c >> i))

    def forward(self, x):
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class ResNet(nn.Module):
    def __init__(self, in_channels):
        super().__init__()
        trunk = torchvision.models.resnet18(weights=None)
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu, self.maxpool = trunk.relu, trunk.maxpool
        self.layer1, self.layer2 = trunk.layer1, trunk.layer2
        self.layer3, self.layer4 = trunk.layer3, trunk.layer4
        self.conv2 = nn.Conv2d(512, 256, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(256)
        self.decoder = UpProj(256)
        self.conv3 = nn.Conv2d(16, 1, 3, padding=1, bias=False)
        self.bilinear = nn.Upsample(size=SIZE, mode="bilinear", align_corners=True)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.bilinear(self.conv3(self.decoder(self.bn2(self.conv2(x)))))


class Result:
    def __init__(self):
        self.rmse, self.absrel, self.delta1 = 0.237, 0.048, 0.970


RELEASE_NAMES = (
    (Unpool, "models", "Unpool"),
    (UpProj, "models", "UpProj"),
    (UpProj.UpProjModule, "models", "UpProj.UpProjModule"),
    (ResNet, "models", "ResNet"),
    (Result, "metrics", "Result"),
)
for _cls, _module, _qualname in RELEASE_NAMES:
    _cls.__module__, _cls.__qualname__ = _module, _qualname


@pytest.fixture
def release_modules(monkeypatch):
    """Register the classes above as the authors' modules ``models`` and ``metrics``."""
    modules = {name: types.ModuleType(name) for name in ("models", "metrics")}
    for cls, module, qualname in RELEASE_NAMES:
        if "." not in qualname:
            setattr(modules[module], qualname, cls)
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)


def release_file(path, modality, legacy=True):
    """A file with the release's structure; returns it and the network it pickles."""
    torch.manual_seed(3)
    net = ResNet(len(modality))
    with torch.no_grad():  # BN statistics at random, so that every BN matters
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_(0, 0.2)
                module.running_var.uniform_(0.05, 0.5)
                module.weight.normal_(1, 0.2)
                module.bias.normal_(0, 0.2)
    optimizer = torch.optim.SGD(net.parameters(), 0.01, momentum=0.9)
    for param in net.parameters():
        optimizer.state[param]["momentum_buffer"] = torch.randn_like(param)
    checkpoint = {
        "args": argparse.Namespace(arch="resnet18", decoder="upproj", modality=modality),
        "epoch": 14,
        "arch": "resnet18",
        "model": net,
        "best_result": Result(),
        "optimizer": optimizer,
    }
    with warnings.catch_warnings():  # the legacy format looks for sources of the classes
        warnings.filterwarnings("ignore", message="Couldn't retrieve source code")
        torch.save(checkpoint, path, _use_new_zipfile_serialization=not legacy)
    return path, net.eval()


@pytest.mark.parametrize(("modality", "legacy"), [("rgbd", True), ("rgb", True), ("rgbd", False)])
def test_release_file_converts_and_computes_the_papers_network(
    release_modules, tmp_path, modality, legacy
):
    path, reference = release_file(tmp_path / "model_best.pth.tar", modality, legacy)
    state = CONVERTERS["sparse_to_dense_pth_tar"](path)
    model = create_model("sparse_to_dense_resnet18", modality=modality, input_size=SIZE)
    load_checked_state(model, state, path)
    images = torch.rand(2, 3, *SIZE)
    sparse = torch.where(torch.rand(2, 1, *SIZE) < 0.05, 1 + 4 * torch.rand(2, 1, *SIZE), 0.0)
    with torch.no_grad():
        expected = reference(torch.cat([images, sparse], 1) if modality == "rgbd" else images)
        got = model.eval()(images, sparse) if modality == "rgbd" else model.eval()(images)
    span = (expected.max() - expected.min()).item()
    assert span > 0 and (got - expected).abs().max().item() <= 1e-5 * span


def test_converted_release_is_an_ordinary_model_folder(release_modules, tmp_path):
    path, _ = release_file(tmp_path / "model_best.pth.tar", "rgbd")
    model = create_model("sparse_to_dense_resnet18", input_size=SIZE)
    load_checked_state(model, CONVERTERS["sparse_to_dense_pth_tar"](path), path)
    loaded = load_model(save_model(model, tmp_path / "converted"))
    images, sparse = torch.rand(1, 3, *SIZE), torch.zeros(1, 1, *SIZE)
    sparse[..., 5, 7] = 2.0
    with torch.no_grad():
        assert torch.equal(loaded(images, sparse), model.eval()(images, sparse))


class SystemCall:
    """Pickles as a call of ``os.system`` (what a malicious checkpoint does)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("legacy", [True, False])
def test_a_malicious_pickle_is_refused_without_running(tmp_path, legacy):
    marker = tmp_path / "ran"
    path = tmp_path / "model_best.pth.tar"
    torch.save({"model": SystemCall(marker)}, path, _use_new_zipfile_serialization=not legacy)
    with pytest.raises(DataError, match=r"model_best\.pth\.tar: refused to unpickle global "
                       r"'(posix|os|nt)\.system'"):  # fmt: skip
        CONVERTERS["sparse_to_dense_pth_tar"](path)
    assert not marker.exists()


def test_getattr_reaches_only_the_nested_release_classes():
    module = restricted_pickle_module(["models.UpProj", "models.UpProj.UpProjModule"])
    # protocol 0: getattr(models.UpProj, name), as pickle writes a nested class
    crafted = b"cbuiltins\ngetattr\n(cmodels\nUpProj\nV%s\ntR."
    nested = module.load(io.BytesIO(crafted % b"UpProjModule"))
    assert nested.pickled_name == "models.UpProj.UpProjModule"
    with pytest.raises(RefusedGlobal, match="models.UpProj.__init__"):
        module.load(io.BytesIO(crafted % b"__init__"))
    with pytest.raises(RefusedGlobal, match="'builtins.eval'"):
        module.load(io.BytesIO(b"cbuiltins\neval\n(V1\ntR."))


def test_files_that_are_not_a_release_are_refused(tmp_path):
    state_dict = tmp_path / "state.pth"
    torch.save(create_model("sparse_to_dense_resnet18").state_dict(), state_dict)
    with pytest.raises(DataError, match="no pickled models.ResNet under 'model'"):
        CONVERTERS["sparse_to_dense_pth_tar"](state_dict)
    garbage = tmp_path / "garbage.pth.tar"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="garbage.pth.tar: not readable as a Sparse-to-Dense"):
        CONVERTERS["sparse_to_dense_pth_tar"](garbage)
    with pytest.raises(DataError, match="missing.pth.tar: not found"):
        CONVERTERS["sparse_to_dense_pth_tar"](tmp_path / "missing.pth.tar")


# ------------------------------------------------------------------ the architecture


def test_fast_unpool_conv_equals_the_authors_transposed_conv_unpool():
    torch.manual_seed(0)
    x, weight = torch.randn(2, 6, 5, 7), torch.randn(4, 6, 5, 5)
    kernel = torch.zeros(6, 1, 2, 2)
    kernel[:, :, 0, 0] = 1
    unpooled = F.conv_transpose2d(x, kernel, stride=2, groups=6)
    assert torch.equal(unpooled, unpool_top_left(x))
    expected = F.conv2d(unpooled, weight, padding=2)
    assert torch.allclose(unpool_conv5x5(x, phase_kernels(weight)), expected, atol=1e-5)


def test_up_projection_block_fast_equals_slow():
    torch.manual_seed(0)
    fast, slow = UpProjBlock(8, "fast").eval(), UpProjBlock(8, "slow").eval()
    slow.load_state_dict(fast.state_dict())
    x = torch.randn(2, 8, 6, 5)
    with torch.no_grad():
        out = fast(x)
        assert out.shape == (2, 4, 12, 10) and torch.allclose(out, slow(x), atol=1e-5)
    assert all(m.bias is None for m in fast.modules() if isinstance(m, nn.Conv2d))
    assert all(m.eps == 1e-5 for m in fast.modules() if isinstance(m, nn.BatchNorm2d))


def test_new_layers_start_as_the_authors_weights_init():
    torch.manual_seed(0)
    model = create_model("sparse_to_dense_resnet18")
    conv = model.decoder.layer1.upper_branch.conv1  # 256 → 128, 5×5: std √(2 / (25·128))
    assert conv.weight.std().item() == pytest.approx((2 / (25 * 128)) ** 0.5, rel=0.02)
    stem_bn = model.encoder.stem[1]
    assert torch.equal(stem_bn.weight, torch.ones(64)) and not stem_bn.bias.any()


def test_rgb_modality_takes_no_sparse_depth():
    model = create_model("sparse_to_dense_resnet18", modality="rgb", input_size=SIZE).eval()
    assert not model.takes_sparse and model.encoder.stem[0].in_channels == 3
    images = torch.rand(1, 3, *SIZE)
    assert predict(model, images).depth.shape == (1, 1, *SIZE)
    with pytest.raises(ValueError, match=r"Sparse-to-Dense \(rgb\) takes no sparse depth"):
        model(images, torch.zeros(1, 1, *SIZE))


def test_folders_saved_before_the_variant_field_load_as_the_fcrn_variant(tmp_path):
    old = create_model("sparse_to_dense_resnet18", variant="fcrn", input_size=SIZE).eval()
    folder = save_model(old, tmp_path / "old")
    record = json.loads((folder / "config.json").read_text())
    del record["config"]["variant"], record["config"]["modality"]  # as written before
    (folder / "config.json").write_text(json.dumps(record))
    loaded = load_model(folder)
    assert loaded.config.variant == "fcrn" and loaded.config.modality == "rgbd"
    images, sparse = torch.rand(1, 3, *SIZE), torch.zeros(1, 1, *SIZE)
    with torch.no_grad():
        assert torch.equal(loaded(images, sparse), old(images, sparse))


def test_pickle_module_has_no_way_to_import(tmp_path):
    """The restricted module resolves names from its tables only: an allowed-looking name of a
    module that exists (``pickle.loads``) is still refused."""
    module = restricted_pickle_module([])
    with pytest.raises(RefusedGlobal, match="'pickle.loads'"):
        module.load(io.BytesIO(pickle.dumps(pickle.loads, protocol=2)))


# ------------------------------------------------------------------ the records


def test_sparse_to_dense_records_are_loadable_and_their_numbers_named():
    from depthforge.eval import get_protocol
    from depthforge.models.pretrained.catalog import PRETRAINED

    names = {"sparse_to_dense_nyu_rgb", "sparse_to_dense_nyu_rgbd_200"}
    assert names <= set(PRETRAINED)
    for name in names:
        record = PRETRAINED[name]
        assert record.release_format in CONVERTERS and record.urls[0].startswith("http://")
        model = create_model(record.model, **record.config)
        assert model.takes_sparse == (record.config["modality"] == "rgbd")
        assert record.licence == "no licence stated" and not record.commercial_use
        for result in record.results:
            assert set(result.metrics) <= set(get_protocol(result.protocol).metrics)
