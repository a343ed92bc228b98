"""Simulated annotators, for trying a project (or the service) without people.

:class:`DepthOracle` answers from ground-truth depth with a set error rate;
:class:`ServerProcess` runs the server as a child process, and
:func:`run_crowd` drives many annotators through it over HTTP, as browsers would
(sign in with the invite, ``GET /api/next``, ``POST /api/judgements``), retrying through
connection failures (e.g. a server restart) and recording what the server acknowledged and how
long each request took.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from depthforge.annotate.schema import RELATION_TO_ANSWER
from depthforge.losses.ranking import ratio_relations

WRONG = {"A": ("B", "="), "B": ("A", "="), "=": ("A", "B")}


@dataclass
class DepthOracle:
    """Answers ``task`` (its JSON) from ``depth[image name]`` (``(H, W)`` metres): the DIW
    relation by depth ratio (:func:`~depthforge.losses.ranking.ratio_relations`), replaced
    with probability ``error_rate`` by one of the two other answers."""

    depth: dict[str, np.ndarray]
    error_rate: float
    seed: int = 0
    _rng: np.random.Generator = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)

    def __call__(self, task: dict) -> str:
        z = self.depth[task["image"]["name"]]
        za = z[task["a"]["y"], task["a"]["x"]]
        zb = z[task["b"]["y"], task["b"]["x"]]
        right = RELATION_TO_ANSWER[int(ratio_relations(np.array([za]), np.array([zb]))[0])]
        with self._lock:
            wrong = self._rng.random() < self.error_rate
            return WRONG[right][self._rng.integers(2)] if wrong else right


@dataclass
class CrowdResult:
    """``acknowledged``: task id → answer the server confirmed storing (201, or 409 on a retry
    of a submission whose first response was lost); ``latency``: seconds per successful
    ``next`` and ``submit`` request."""

    acknowledged: dict[int, str] = field(default_factory=dict)
    latency: dict[str, list[float]] = field(default_factory=lambda: {"next": [], "submit": []})
    retries: int = 0


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``depthforge annotate serve PROJECT_DIR`` as a child process on a loopback port; ``start``
    again after ``kill`` restarts it on the same port."""

    def __init__(self, project_dir: str, db: str | None = None, port: int | None = None):
        self.project_dir, self.db = str(project_dir), db
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()  # the server's stderr (a pipe nobody reads blocks it)

    def log(self) -> str:
        """What the server wrote to stderr so far."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def start(self, timeout: float = 120.0) -> ServerProcess:
        cmd = [sys.executable, "-m", "depthforge", "annotate", "serve", self.project_dir]
        cmd += ["--port", str(self.port)] + (["--db", self.db] if self.db else [])
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self._log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()[-2000:]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not start within {timeout:.0f} s")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def run_crowd(
    base_url: str,
    tokens: list[str],
    answer: Callable[[dict], str],
    per_annotator: int,
    *,
    on_ack: Callable[[int], None] | None = None,
    patience: float = 60.0,
    think: float = 0.0,
) -> CrowdResult:
    """Every invite token answers up to ``per_annotator`` pairs, one thread each.

    Args:
        on_ack: called with the running number of acknowledged answers (e.g. to kill the
            server part-way).
        patience: seconds a request is retried through connection failures and 503 (busy)
            answers before giving up.
        think: seconds an annotator waits between answers.
    """
    import httpx

    result = CrowdResult()
    lock = threading.Lock()
    broken = (httpx.TransportError,)

    def request(client: httpx.Client, method: str, url: str, **kwargs) -> httpx.Response:
        deadline = time.monotonic() + patience
        while True:
            try:
                response = client.request(method, url, **kwargs)
                if response.status_code != 503 or time.monotonic() > deadline:
                    return response  # 503: the database was busy, nothing was stored
            except broken:
                if time.monotonic() > deadline:
                    raise
                with lock:
                    result.retries += 1
                time.sleep(0.05)

    def annotator(token: str) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            request(client, "GET", f"/invite/{token}")
            page = request(client, "GET", "/")
            csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
            headers = {"X-CSRF-Token": csrf}
            for _ in range(per_annotator):
                start = time.perf_counter()
                response = request(client, "GET", "/api/next")
                response.raise_for_status()
                elapsed = time.perf_counter() - start
                task = response.json()["task"]
                if task is None:
                    return
                body = {"task_id": task["task_id"], "answer": answer(task)}
                start = time.perf_counter()
                response = request(client, "POST", "/api/judgements", json=body, headers=headers)
                if response.status_code not in (201, 409):
                    raise RuntimeError(f"submit refused: {response.status_code} {response.text}")
                with lock:
                    result.latency["next"].append(elapsed)
                    if response.status_code == 201:
                        result.latency["submit"].append(time.perf_counter() - start)
                    result.acknowledged[task["task_id"]] = body["answer"]
                    count = len(result.acknowledged)
                if on_ack is not None:
                    on_ack(count)
                if think:
                    time.sleep(think)

    with ThreadPoolExecutor(len(tokens)) as pool:
        list(pool.map(annotator, tokens))
    return result
