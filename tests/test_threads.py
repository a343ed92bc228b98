"""Specification of the thread policy: cores minus load, overridable by DEPTHFORGE_THREADS."""

from __future__ import annotations

import pytest
import torch

from depthforge.errors import DepthforgeError
from depthforge.threads import THREADS_ENV, apply_thread_policy, choose_threads


@pytest.mark.parametrize(
    ("cores", "load", "expected"),
    [(2, 0.0, 2), (2, 0.4, 2), (2, 1.0, 1), (2, 5.0, 1), (8, 3.2, 5), (8, 0.0, 8), (1, 0.0, 1)],
)
def test_threads_are_the_free_cores_between_one_and_all(monkeypatch, cores, load, expected):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert choose_threads(cores, load) == expected


def test_the_environment_variable_wins_over_the_load(monkeypatch):
    monkeypatch.setenv(THREADS_ENV, "3")
    assert choose_threads(2, 10.0) == 3


@pytest.mark.parametrize("text", ["0", "-1", "two", "1.5"])
def test_a_bad_environment_value_is_refused_naming_the_variable(monkeypatch, text):
    monkeypatch.setenv(THREADS_ENV, text)
    with pytest.raises(DepthforgeError, match=f"{THREADS_ENV} must be a positive integer"):
        choose_threads()


def test_apply_sets_torch_threads(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setenv(THREADS_ENV, "1")
    try:
        assert apply_thread_policy() == 1
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
