"""``--device`` resolution: auto picks what is there, a named device that is missing is one line."""

import pytest
import torch

from depthforge.devices import choose_device
from depthforge.errors import DepthforgeError


def fake_gpus(monkeypatch, count: int) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)


def test_auto_is_the_cpu_without_a_gpu(monkeypatch):
    fake_gpus(monkeypatch, 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert choose_device("auto") == torch.device("cpu")


def test_auto_takes_the_first_gpu(monkeypatch):
    fake_gpus(monkeypatch, 2)
    assert choose_device() == torch.device("cuda", 0)


@pytest.mark.parametrize("name", ["cpu", "CPU", " cpu "])
def test_cpu_by_name(name):
    assert choose_device(name) == torch.device("cpu")


def test_a_named_gpu_is_checked_against_the_count(monkeypatch):
    fake_gpus(monkeypatch, 2)
    assert choose_device("cuda") == torch.device("cuda", 0)
    assert choose_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(DepthforgeError, match=r"only 2 CUDA GPUs \(0–1\)"):
        choose_device("cuda:2")


def test_a_missing_gpu_is_an_error_not_a_fallback(monkeypatch):
    fake_gpus(monkeypatch, 0)
    with pytest.raises(DepthforgeError, match="no CUDA GPU.*--device cpu"):
        choose_device("cuda")


def test_missing_mps_is_an_error(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(DepthforgeError, match="MPS is not available"):
        choose_device("mps")


@pytest.mark.parametrize("name", ["gpu", "cuda:x", ""])
def test_not_a_device(name):
    with pytest.raises(DepthforgeError, match="is not a device; use one of auto, cpu, cuda"):
        choose_device(name)


def test_a_torch_device_depthforge_does_not_run_on(monkeypatch):
    with pytest.raises(DepthforgeError, match="not meta"):
        choose_device("meta")
