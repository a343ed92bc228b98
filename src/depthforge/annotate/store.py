"""Every read and write of an annotation database, one transaction per call.

SQLite (the default, a file in the project folder) runs in WAL mode with a busy timeout, and
every writing transaction starts with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the
lock instead of failing on a read-to-write upgrade. Answers commit with ``synchronous=FULL``
(fsync before the response: they survive a power loss); task assignment, which is cheap to redo,
commits with ``NORMAL`` (it survives a killed server, not a lost machine). PostgreSQL
(``postgresql+psycopg://…``) uses its default READ COMMITTED isolation, with assignment of new
tasks serialised by a row lock on the project; the unique constraints of :mod:`.schema` are the
last guard against a pair getting more than k annotators or a replayed submission a second row.

A call returns only after its transaction has committed, so a judgement the web layer
acknowledges is on disk.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files

import numpy as np
from alembic import command
from alembic.config import Config
from sqlalchemy import (
    Engine,
    create_engine,
    delete,
    event,
    exists,
    func,
    inspect,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from depthforge.annotate.schema import (
    ANSWERS,
    RELATION_TO_ANSWER,
    Annotator,
    GoldPair,
    Image,
    Invite,
    Judgement,
    Pair,
    Project,
    Task,
)
from depthforge.errors import DepthforgeError

BUSY_TIMEOUT_MS = 10_000
ASSIGN_RETRIES = 5


class StoreError(DepthforgeError):
    """A request the store refuses; ``status`` is the HTTP status the web layer answers with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TaskView:
    """What an annotator is shown: a task, its image and the two points (0-based pixels)."""

    task_id: int
    kind: str
    image_id: int
    image_name: str
    width: int
    height: int
    a: tuple[int, int]
    b: tuple[int, int]

    def to_json(self) -> dict:
        return {
            "task_id": self.task_id,
            "tutorial": self.kind == "tutorial",
            "image": {"name": self.image_name, "width": self.width, "height": self.height},
            "a": {"y": self.a[0], "x": self.a[1]},
            "b": {"y": self.b[0], "x": self.b[1]},
        }


@dataclass(frozen=True)
class JudgementRow:
    """One stored answer, for the quality measures and the export."""

    pair_id: int
    annotator_id: int
    answer: str
    kind: str


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # The driver's own transaction handling is turned off so that BEGIN is ours (below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=FULL",
        f"busy_timeout={BUSY_TIMEOUT_MS}",
        "foreign_keys=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn) -> None:
    writing = conn.get_execution_options().get("writing")
    if writing:  # per transaction: fsync the commit (durable) or leave it to the checkpoint
        conn.exec_driver_sql(f"PRAGMA synchronous={'FULL' if writing == 'durable' else 'NORMAL'}")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN DEFERRED")


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://…``)."""
    if url.startswith("postgresql://"):  # the psycopg 3 driver, not the default psycopg2
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_size=10, max_overflow=30, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema with the Alembic migrations."""
    config = Config()
    config.set_main_option("script_location", str(files("depthforge.annotate") / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Store:
    """The annotation database of one project.

    Args:
        url: a SQLAlchemy URL.
        create: run the migrations first (a new or older database); otherwise the database must
            already be at the newest schema.
    """

    def __init__(self, url: str, *, create: bool = False):
        self.url = url
        self.engine = make_engine(url)
        if create:
            migrate(self.engine)
        elif not inspect(self.engine).has_table("judgements"):
            raise DepthforgeError(f"{url}: not an annotation database (run `annotate init`)")
        self._project: Project | None = None
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = {
            mode: sessionmaker(self.engine.execution_options(writing=mode), expire_on_commit=False)
            for mode in ("durable", "fast")
        }

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def writing(self, durable: bool = True) -> Iterator[Session]:
        """A session whose transaction commits on exit (or rolls back on an exception).

        Args:
            durable: on SQLite, fsync the commit (``synchronous=FULL``), so it survives a power
                loss; otherwise (``NORMAL``, for task assignment, which can be redone) it
                survives a crash of the server process but may be lost with the machine.
        """
        with self._write["durable" if durable else "fast"].begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    # --- project setup -------------------------------------------------------------------

    def create_project(
        self, name: str, sampler: str, k: int, gold_rate: float, tutorial: int
    ) -> int:
        with self.writing() as s:
            project = Project(
                name=name, sampler=sampler, k=k, gold_rate=gold_rate, tutorial=tutorial
            )
            s.add(project)
            s.flush()
            return project.id

    def project(self) -> Project:
        """The project (its settings never change after ``init``, so it is read once)."""
        if self._project is None:
            with self.reading() as s:
                self._project = s.scalars(select(Project).order_by(Project.id)).first()
            if self._project is None:
                raise DepthforgeError(f"{self.url}: the database holds no project")
        return self._project

    def add_image(
        self,
        name: str,
        width: int,
        height: int,
        pairs: np.ndarray,
        gold: np.ndarray | None = None,
    ) -> int:
        """Store an image and its ``(N, 4)`` 0-based ``y_a, x_a, y_b, x_b`` pairs; ``gold``
        ``(N,)`` relations in {−1, 0, +1} mark pairs as gold, any other value (e.g. 2) leaves
        the pair ordinary."""
        project = self.project()
        pairs = np.asarray(pairs).reshape(-1, 4)
        relations = np.full(len(pairs), 2) if gold is None else np.asarray(gold)
        with self.writing() as s:
            image = Image(project_id=project.id, name=name, width=width, height=height)
            s.add(image)
            s.flush()
            is_gold = [rel in (-1, 0, 1) for rel in relations.tolist()]
            rows = [
                Pair(
                    image_id=image.id,
                    ya=int(p[0]),
                    xa=int(p[1]),
                    yb=int(p[2]),
                    xb=int(p[3]),
                    open_slots=0 if g else project.k,
                )
                for p, g in zip(pairs, is_gold, strict=True)
            ]
            s.add_all(rows)
            s.flush()
            s.add_all(
                GoldPair(pair_id=row.id, relation=int(rel), source="depth")
                for row, rel, g in zip(rows, relations.tolist(), is_gold, strict=True)
                if g
            )
            return image.id

    def add_gold_pair(self, image_name: str, pair: Sequence[int], relation: int) -> int:
        """An admin's gold pair on ``image_name``: 0-based ``(y_a, x_a, y_b, x_b)`` inside the
        image, relation in {−1, 0, +1} (+1: A farther)."""
        if relation not in (-1, 0, 1):
            raise StoreError(422, f"relation must be -1, 0 or 1, got {relation}")
        with self.writing() as s:
            image = s.scalars(select(Image).where(Image.name == image_name)).first()
            if image is None:
                raise StoreError(404, f"no image named {image_name!r} in the project")
            ya, xa, yb, xb = (int(v) for v in pair)
            inside = all(0 <= y < image.height for y in (ya, yb))
            inside &= all(0 <= x < image.width for x in (xa, xb))
            if not inside or (ya, xa) == (yb, xb):
                raise StoreError(
                    422,
                    f"points must be two distinct pixels inside the {image.width}x{image.height}"
                    f" image, got {list(pair)}",
                )
            row = Pair(image_id=image.id, ya=ya, xa=xa, yb=yb, xb=xb, open_slots=0)
            s.add(row)
            s.flush()
            s.add(GoldPair(pair_id=row.id, relation=relation, source="admin"))
            return row.id

    # --- people ----------------------------------------------------------------------------

    def add_annotator(self, name: str, *, admin: bool = False) -> tuple[int, str]:
        """A new annotator and a fresh invite token (shown once; only its hash is kept)."""
        token = secrets.token_urlsafe(32)
        with self.writing() as s:
            if s.scalars(select(Annotator).where(Annotator.name == name)).first():
                raise DepthforgeError(f"an annotator named {name!r} exists already")
            person = Annotator(name=name, is_admin=admin)
            s.add(person)
            s.flush()
            s.add(Invite(annotator_id=person.id, token_sha256=token_sha256(token)))
            return person.id, token

    def authenticate(self, token: str) -> Annotator | None:
        """The annotator an unrevoked invite token belongs to, or None."""
        with self.reading() as s:
            return s.scalars(
                select(Annotator)
                .join(Invite, Invite.annotator_id == Annotator.id)
                .where(Invite.token_sha256 == token_sha256(token), Invite.revoked.is_(False))
            ).first()

    def annotator(self, annotator_id: int) -> Annotator | None:
        with self.reading() as s:
            return s.get(Annotator, annotator_id)

    def annotators(self) -> list[Annotator]:
        with self.reading() as s:
            return list(s.scalars(select(Annotator).order_by(Annotator.id)))

    # --- the annotator's loop --------------------------------------------------------------

    def next_task(self, annotator_id: int) -> TaskView | None:
        """The annotator's open task, or a newly assigned one (tutorial first, then gold at the
        project's rate, then ordinary pairs with fewer than ``k`` annotators); None when nothing
        is left for them."""
        project = self.project()
        for _ in range(ASSIGN_RETRIES):
            try:
                with self.writing(durable=False) as s:
                    task = self._open_task(s, annotator_id) or self._assign(
                        s, project, annotator_id
                    )
                    return None if task is None else self._view(s, task)
            except IntegrityError:  # another annotator took the slot first: pick again
                continue
        raise StoreError(503, "too many annotators competing for the same pairs; retry")

    @staticmethod
    def _open_task(s: Session, annotator_id: int) -> Task | None:
        answered = exists().where(Judgement.task_id == Task.id)
        return s.scalars(
            select(Task).where(Task.annotator_id == annotator_id, ~answered).order_by(Task.id)
        ).first()

    def _assign(self, s: Session, project: Project, annotator_id: int) -> Task | None:
        # One assignment at a time: the project row is the lock (FOR UPDATE on PostgreSQL; on
        # SQLite, BEGIN IMMEDIATE serialises writers already and FOR UPDATE is not emitted).
        s.execute(select(Project.id).where(Project.id == project.id).with_for_update())
        counts = dict(
            s.execute(
                select(Task.kind, func.count())
                .where(Task.annotator_id == annotator_id)
                .group_by(Task.kind)
            ).all()
        )
        seen = exists().where(Task.pair_id == Pair.id, Task.annotator_id == annotator_id)
        gold_pairs = select(Pair.id).join(GoldPair, GoldPair.pair_id == Pair.id).where(~seen)
        wanted = []
        if counts.get("tutorial", 0) < project.tutorial:
            # teach with ordered pairs ('=' is a judgement call)
            wanted.append(("tutorial", gold_pairs.where(GoldPair.relation != 0)))
        if counts.get("gold", 0) < project.gold_rate * (counts.get("pair", 0) + 1):
            wanted.append(("gold", gold_pairs))
        for kind, query in wanted:
            # Spread gold over its pairs: each annotator starts at a different place.
            pair_id = s.scalars(
                query.order_by((Pair.id * 7919 + annotator_id * 104729) % 1000003)
            ).first()
            if pair_id is not None:
                return self._insert_task(s, pair_id, annotator_id, None, kind)
        # Finish started pairs first (fewest open slots), so complete answers arrive sooner.
        pair = s.scalars(
            select(Pair)
            .where(Pair.open_slots > 0, ~seen)
            .order_by(Pair.open_slots, Pair.id)
            .limit(1)
        ).first()
        if pair is None:
            return None
        pair.open_slots -= 1
        return self._insert_task(s, pair.id, annotator_id, project.k - 1 - pair.open_slots, "pair")

    @staticmethod
    def _insert_task(
        s: Session, pair_id: int, annotator_id: int, slot: int | None, kind: str
    ) -> Task:
        task = Task(pair_id=pair_id, annotator_id=annotator_id, slot=slot, kind=kind)
        s.add(task)
        s.flush()
        return task

    @staticmethod
    def _view(s: Session, task: Task) -> TaskView:
        pair = s.get(Pair, task.pair_id)
        image = s.get(Image, pair.image_id)
        return TaskView(
            task.id,
            task.kind,
            image.id,
            image.name,
            image.width,
            image.height,
            (pair.ya, pair.xa),
            (pair.yb, pair.xb),
        )

    def submit(self, annotator_id: int, task_id: int, answer: str) -> dict:
        """Store the answer to one of the annotator's own tasks.

        Returns ``{"judgement_id", "kind", "expected"}`` (``expected``: the right answer of a
        tutorial question, else None).

        Raises:
            StoreError: 422 an unknown answer; 404 no such task among the annotator's (another
                annotator's task looks the same as a missing one); 409 already answered (a
                replayed submission adds no row).
        """
        if answer not in ANSWERS:
            raise StoreError(422, f"answer must be one of {', '.join(ANSWERS)}, got {answer!r}")
        try:
            with self.writing() as s:
                task = s.get(Task, task_id)
                if task is None or task.annotator_id != annotator_id:
                    raise StoreError(404, f"no task {task_id} for this annotator")
                if s.scalars(select(Judgement.id).where(Judgement.task_id == task_id)).first():
                    raise StoreError(409, f"task {task_id} is already answered")
                judgement = Judgement(task_id=task_id, annotator_id=annotator_id, answer=answer)
                s.add(judgement)
                s.flush()
                expected = None
                if task.kind == "tutorial":
                    expected = RELATION_TO_ANSWER[s.get(GoldPair, task.pair_id).relation]
                return {"judgement_id": judgement.id, "kind": task.kind, "expected": expected}
        except IntegrityError:  # the same task answered concurrently: the first one won
            raise StoreError(409, f"task {task_id} is already answered") from None

    def undo(self, annotator_id: int) -> TaskView:
        """Withdraw the annotator's latest answer; its task is open again and returned."""
        with self.writing() as s:
            judgement = s.scalars(
                select(Judgement)
                .where(Judgement.annotator_id == annotator_id)
                .order_by(Judgement.id.desc())
            ).first()
            if judgement is None:
                raise StoreError(409, "nothing to undo")
            task = s.get(Task, judgement.task_id)
            s.execute(delete(Judgement).where(Judgement.id == judgement.id))
            return self._view(s, task)

    def progress(self, annotator_id: int) -> dict[str, int]:
        """``answered`` (all the annotator's answers) and ``remaining`` (open tasks + ordinary
        pairs still open to them)."""
        with self.reading() as s:
            answered = s.scalar(select(func.count()).where(Judgement.annotator_id == annotator_id))
            mine = s.scalar(select(func.count()).where(Task.annotator_id == annotator_id))
            seen = exists().where(Task.pair_id == Pair.id, Task.annotator_id == annotator_id)
            free = s.scalar(select(func.count()).where(Pair.open_slots > 0, ~seen))
        return {"answered": answered, "remaining": mine - answered + free}

    # --- for quality measures, status and export -------------------------------------------

    def judgements(self) -> list[JudgementRow]:
        with self.reading() as s:
            rows = s.execute(
                select(Task.pair_id, Judgement.annotator_id, Judgement.answer, Task.kind)
                .join(Task, Task.id == Judgement.task_id)
                .order_by(Judgement.id)
            ).all()
        return [JudgementRow(*row) for row in rows]

    def gold(self) -> dict[int, int]:
        """Gold pair id → relation."""
        with self.reading() as s:
            return dict(s.execute(select(GoldPair.pair_id, GoldPair.relation)).all())

    def pairs(self) -> list[tuple[int, Image, tuple[int, int, int, int]]]:
        """Every pair as ``(pair_id, image, (y_a, x_a, y_b, x_b))``, by image then pair."""
        with self.reading() as s:
            rows = s.execute(
                select(Pair, Image)
                .join(Image, Image.id == Pair.image_id)
                .order_by(Image.id, Pair.id)
            ).all()
        return [(p.id, im, (p.ya, p.xa, p.yb, p.xb)) for p, im in rows]

    def image_by_name(self, name: str) -> Image | None:
        with self.reading() as s:
            return s.scalars(select(Image).where(Image.name == name)).first()

    def counts(self) -> dict[str, int]:
        with self.reading() as s:
            return {
                "images": s.scalar(select(func.count()).select_from(Image)),
                "pairs": s.scalar(select(func.count()).select_from(Pair)),
                "gold_pairs": s.scalar(select(func.count()).select_from(GoldPair)),
                "annotators": s.scalar(select(func.count()).select_from(Annotator)),
                "tasks": s.scalar(select(func.count()).select_from(Task)),
                "judgements": s.scalar(select(func.count()).select_from(Judgement)),
            }
