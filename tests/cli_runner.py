"""Run the command line in-process, as a user would, and collect what it printed."""

from __future__ import annotations

import sys

from depthforge import cli


def run_cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run ``depthforge ARGS`` in-process; returns (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["depthforge", *args])
    code = 0
    try:
        cli.main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
