"""No lost writes: 20 concurrent annotators submit 2,000 answers to a real server process on
127.0.0.1, which is killed with SIGKILL part-way and restarted; every acknowledged answer is
stored exactly once and nothing unacknowledged is stored."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import select

from depthforge.annotate.crowd import run_crowd
from depthforge.annotate.project import init_project, open_project
from depthforge.annotate.schema import Judgement

ANNOTATORS = 20
PER_ANNOTATOR = 100
KILL_AT = 700


@pytest.fixture(scope="module")
def big_project(tmp_path_factory, synth_folder):
    """4 images × 300 pairs, k = 3: room for 3,600 ordinary answers."""
    root = tmp_path_factory.mktemp("load") / "project"
    project = init_project(root, synth_folder, pairs_per_image=300, k=3, gold_rate=0.05)
    tokens = [project.store.add_annotator(f"crowd{i}")[1] for i in range(ANNOTATORS)]
    return root, tokens


def test_sigkill_mid_run_loses_no_acknowledged_answer(big_project, serve):
    root, tokens = big_project
    server = serve(root)
    killed = threading.Event()
    restarted = threading.Event()

    def kill_and_restart(count: int) -> None:
        if count >= KILL_AT and not killed.is_set():
            killed.set()
            server.kill()
            server.start()  # same project, same port
            restarted.set()

    try:
        result = run_crowd(
            server.url,
            tokens,
            lambda task: "AB="[task["task_id"] % 3],
            PER_ANNOTATOR,
            on_ack=kill_and_restart,
            patience=300,  # the restart imports torch: slow on a busy machine
        )
    except Exception as exc:  # show what the server said
        raise AssertionError(f"crowd failed; server log:\n{server.log()[-3000:]}") from exc
    assert restarted.is_set() and result.retries > 0  # the kill was felt by the clients
    assert len(result.acknowledged) == ANNOTATORS * PER_ANNOTATOR
    store = open_project(root).store
    with store.reading() as s:
        rows = s.execute(select(Judgement.task_id, Judgement.answer)).all()
    per_task = Counter(task_id for task_id, _ in rows)
    assert max(per_task.values()) == 1  # exactly once
    assert dict(rows) == result.acknowledged  # nothing lost, nothing unacknowledged
