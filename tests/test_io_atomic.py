"""Atomic writes: the file appears whole, with the permissions of any new file."""

from __future__ import annotations

import os
import stat

import pytest

from depthforge.io.image import write_atomic


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_an_atomic_write_has_the_umask_permissions_of_a_new_file(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        path = write_atomic(tmp_path / "report.html", lambda tmp: tmp.write_text("<p>hi</p>"))
        plain = tmp_path / "plain.txt"
        plain.write_text("x")  # what open() gives, for comparison
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == mode == stat.S_IMODE(plain.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.txt", "report.html"]
