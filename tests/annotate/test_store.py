"""The annotation store on SQLite and on a real PostgreSQL: the migrated schema, assignment of
pairs to k annotators, tutorial and gold, idempotent submission, undo, ownership."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from depthforge.annotate.schema import Base
from depthforge.annotate.store import Store, StoreError


def make_store(url: str, *, k: int = 2, gold_rate: float = 0.0, tutorial: int = 0) -> Store:
    """A store with two 10×8 images: 3 ordinary pairs each, and 2 gold pairs on the first."""
    store = Store(url, create=True)
    store.create_project("p", "random", k, gold_rate, tutorial)
    pairs = np.array([[0, 0, 1, 1], [2, 2, 3, 3], [4, 4, 5, 5], [6, 6, 7, 7], [1, 5, 6, 2]])
    store.add_image("a.png", 10, 8, pairs, np.array([2, 2, 2, 1, -1]))
    store.add_image("b.png", 10, 8, pairs[:3])
    return store


def drain(store: Store, annotator: int, answer: str = "A") -> list:
    """Answer every task the annotator is given; the views, in order."""
    seen = []
    while (task := store.next_task(annotator)) is not None:
        seen.append(task)
        store.submit(annotator, task.task_id, answer)
    return seen


def test_migration_builds_exactly_the_declared_schema(store_url):
    store = Store(store_url, create=True)
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    Store(store_url, create=True)  # migrating again is a no-op
    assert Store(store_url).counts()["judgements"] == 0


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}", create=True)
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 10_000
        assert conn.execute(text("PRAGMA synchronous")).scalar() in (1, 2)  # NORMAL or FULL


def test_answers_commit_durably_and_assignment_fast_on_sqlite(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}", create=True)
    synchronous = text("PRAGMA synchronous")
    with store.writing() as s:  # what submit and undo use
        assert s.execute(synchronous).scalar() == 2  # FULL: fsync before the commit returns
    with store.writing(durable=False) as s:  # what task assignment uses
        assert s.execute(synchronous).scalar() == 1  # NORMAL


def test_each_ordinary_pair_goes_to_exactly_k_annotators(store_url):
    store = make_store(store_url, k=2)
    people = [store.add_annotator(n)[0] for n in ("a", "b", "c")]
    answered = {p: drain(store, p) for p in people}
    assert sum(len(v) for v in answered.values()) == 6 * 2  # 6 ordinary pairs, k = 2
    for tasks in answered.values():  # nobody judges a pair twice
        pairs = [(t.image_id, t.a, t.b) for t in tasks]
        assert len(pairs) == len(set(pairs))
    rows = store.judgements()
    per_pair = np.bincount([r.pair_id for r in rows])
    assert sorted(per_pair[per_pair > 0]) == [2] * 6


def test_concurrent_annotators_never_exceed_k(store_url):
    store = make_store(store_url, k=3)
    people = [store.add_annotator(f"p{i}")[0] for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(drain, [store] * 8, people))
    counts = store.counts()
    assert counts["judgements"] == counts["tasks"] == 6 * 3


def test_tutorial_comes_first_then_gold_at_the_set_rate(store_url):
    store = make_store(store_url, k=1, gold_rate=0.25, tutorial=1)
    person, _ = store.add_annotator("a")
    tasks = drain(store, person)
    kinds = [t.kind for t in tasks]
    # The tutorial uses an ordered gold pair; then gold whenever gold < 0.25 · (ordinary + 1):
    # before the 1st ordinary answer (0 < 0.25), then none left (2 gold pairs in all).
    assert kinds == ["tutorial", "gold"] + ["pair"] * 6
    # The result of a tutorial answer names the right answer.
    fresh, _ = store.add_annotator("b")
    first = store.next_task(fresh)
    result = store.submit(fresh, first.task_id, "B")
    assert result["kind"] == "tutorial" and result["expected"] in ("A", "B")


def test_a_replayed_submission_adds_no_row(store_url):
    store = make_store(store_url)
    person, _ = store.add_annotator("a")
    task = store.next_task(person)
    store.submit(person, task.task_id, "A")
    with pytest.raises(StoreError) as err:
        store.submit(person, task.task_id, "A")
    assert err.value.status == 409
    assert store.counts()["judgements"] == 1


def test_another_annotators_task_is_refused_and_unchanged(store_url):
    store = make_store(store_url)
    alice, _ = store.add_annotator("alice")
    bob, _ = store.add_annotator("bob")
    task = store.next_task(alice)
    with pytest.raises(StoreError) as err:
        store.submit(bob, task.task_id, "B")
    assert err.value.status == 404
    with pytest.raises(StoreError):
        store.submit(alice, task.task_id, "x")  # not an answer
    assert store.counts()["judgements"] == 0
    assert store.next_task(alice).task_id == task.task_id  # still open for alice


def test_undo_reopens_the_last_answer(store_url):
    store = make_store(store_url)
    person, _ = store.add_annotator("a")
    first = store.next_task(person)
    store.submit(person, first.task_id, "A")
    second = store.next_task(person)
    store.submit(person, second.task_id, "=")
    assert store.progress(person)["answered"] == 2
    reopened = store.undo(person)
    assert reopened == second and store.progress(person)["answered"] == 1
    assert store.next_task(person) == second
    store.submit(person, second.task_id, "B")
    assert [r.answer for r in store.judgements()] == ["A", "B"]


def test_invites_authenticate_only_their_annotator(store_url):
    store = make_store(store_url)
    person, token = store.add_annotator("a", admin=True)
    assert store.authenticate(token).id == person and store.authenticate(token).is_admin
    assert store.authenticate(token + "x") is None
    with pytest.raises(Exception, match="exists already"):
        store.add_annotator("a")


def test_admin_gold_pairs_are_checked(store_url):
    store = make_store(store_url)
    store.add_gold_pair("a.png", (0, 0, 7, 9), 1)
    for pair, relation, status in [
        ((0, 0, 8, 9), 1, 422),  # y = 8 is outside the 8-row image
        ((0, 0, 0, 0), 1, 422),  # the same pixel twice
        ((0, 0, 1, 1), 2, 422),
    ]:
        with pytest.raises(StoreError) as err:
            store.add_gold_pair("a.png", pair, relation)
        assert err.value.status == status
    with pytest.raises(StoreError) as err:
        store.add_gold_pair("../a.png", (0, 0, 1, 1), 1)
    assert err.value.status == 404
    assert store.counts()["gold_pairs"] == 3
