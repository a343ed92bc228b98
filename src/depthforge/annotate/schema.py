"""The annotation database: SQLAlchemy 2 declarative tables.

Coordinates are 0-based pixels ``(y, x)`` of the stored image (the convention of
:class:`~depthforge.types.Sample`); relations are DIW's: +1 means A is **farther** than B.

An annotator's answer is one of :data:`ANSWERS`: ``"A"`` (A is closer), ``"B"`` (B is closer),
``"="`` (about the same distance; DIW's three options) or ``"?"`` (can't tell, an abstention that
no aggregation counts).

The schema changes only through an Alembic migration in ``migrations/versions`` (a test checks
that the migrated database equals these tables).
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ANSWERS = ("A", "B", "=", "?")
ANSWER_TO_RELATION = {"A": -1, "B": 1, "=": 0}
"""A closer ⇒ A nearer ⇒ relation −1 ('<'); B closer ⇒ +1 ('>'); about the same ⇒ 0 ('=')."""
RELATION_TO_ANSWER = {v: k for k, v in ANSWER_TO_RELATION.items()}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    sampler: Mapped[str] = mapped_column(String(20))
    k: Mapped[int] = mapped_column(Integer)
    gold_rate: Mapped[float] = mapped_column(Float)
    tutorial: Mapped[int] = mapped_column(Integer)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        CheckConstraint("k >= 1", name="ck_projects_k"),
        CheckConstraint("gold_rate >= 0 AND gold_rate < 1", name="ck_projects_gold_rate"),
    )


class Image(Base):
    __tablename__ = "images"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(500))
    """Path relative to the project's image folder, '/'-separated."""
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    __table_args__ = (UniqueConstraint("project_id", "name", name="uq_images_name"),)


class Pair(Base):
    """A point pair. ``open_slots`` is how many more annotators an ordinary pair still needs
    (``k`` at first, 0 once full; always 0 for gold pairs, which every annotator may be shown):
    the index on ``(open_slots, id)`` makes "the next pair to assign" an index walk."""

    __tablename__ = "pairs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"), index=True)
    ya: Mapped[int] = mapped_column(Integer)
    xa: Mapped[int] = mapped_column(Integer)
    yb: Mapped[int] = mapped_column(Integer)
    xb: Mapped[int] = mapped_column(Integer)
    open_slots: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        Index("ix_pairs_queue", "open_slots", "id"),
        CheckConstraint("open_slots >= 0", name="ck_pairs_open_slots"),
    )


class GoldPair(Base):
    """A pair with a known relation, from ground-truth depth or set by the admin."""

    __tablename__ = "gold_pairs"
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id"), primary_key=True)
    relation: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))  # "depth" | "admin"
    __table_args__ = (CheckConstraint("relation IN (-1, 0, 1)", name="ck_gold_relation"),)


class Annotator(Base):
    __tablename__ = "annotators"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Invite(Base):
    """An invite token; only its SHA-256 is stored (the token is 256 random bits, so a fast
    hash suffices: there is nothing to brute-force, unlike a password)."""

    __tablename__ = "invites"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Task(Base):
    """One pair shown to one annotator. Ordinary pairs take one of ``k`` slots (the unique
    ``(pair_id, slot)`` caps a pair at ``k`` annotators even under concurrent assignment); gold
    and tutorial tasks have no slot."""

    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id"), index=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"), index=True)
    slot: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(String(10))  # "pair" | "gold" | "tutorial"
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        UniqueConstraint("pair_id", "annotator_id", name="uq_tasks_pair_annotator"),
        UniqueConstraint("pair_id", "slot", name="uq_tasks_pair_slot"),
    )


class Judgement(Base):
    """The answer to a task; at most one per task (a replayed submission cannot add a row)."""

    __tablename__ = "judgements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), unique=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"), index=True)
    answer: Mapped[str] = mapped_column(String(1))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (CheckConstraint("answer IN ('A', 'B', '=', '?')", name="ck_answer"),)
