"""The first schema: projects, images, pairs, gold pairs, annotators, invites, tasks, judgements.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("sampler", sa.String(20), nullable=False),
        sa.Column("k", sa.Integer, nullable=False),
        sa.Column("gold_rate", sa.Float, nullable=False),
        sa.Column("tutorial", sa.Integer, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("k >= 1", name="ck_projects_k"),
        sa.CheckConstraint("gold_rate >= 0 AND gold_rate < 1", name="ck_projects_gold_rate"),
    )
    op.create_table(
        "images",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("width", sa.Integer, nullable=False),
        sa.Column("height", sa.Integer, nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_images_name"),
    )
    op.create_index("ix_images_project_id", "images", ["project_id"])
    op.create_table(
        "pairs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("image_id", sa.Integer, sa.ForeignKey("images.id"), nullable=False),
        *(sa.Column(c, sa.Integer, nullable=False) for c in ("ya", "xa", "yb", "xb")),
        sa.Column("open_slots", sa.Integer, nullable=False),
        sa.CheckConstraint("open_slots >= 0", name="ck_pairs_open_slots"),
    )
    op.create_index("ix_pairs_image_id", "pairs", ["image_id"])
    op.create_index("ix_pairs_queue", "pairs", ["open_slots", "id"])
    op.create_table(
        "gold_pairs",
        sa.Column("pair_id", sa.Integer, sa.ForeignKey("pairs.id"), primary_key=True),
        sa.Column("relation", sa.Integer, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.CheckConstraint("relation IN (-1, 0, 1)", name="ck_gold_relation"),
    )
    op.create_table(
        "annotators",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("is_admin", sa.Boolean, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "invites",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_index("ix_invites_annotator_id", "invites", ["annotator_id"])
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pair_id", sa.Integer, sa.ForeignKey("pairs.id"), nullable=False),
        sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
        sa.Column("slot", sa.Integer, nullable=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("pair_id", "annotator_id", name="uq_tasks_pair_annotator"),
        sa.UniqueConstraint("pair_id", "slot", name="uq_tasks_pair_slot"),
    )
    op.create_index("ix_tasks_pair_id", "tasks", ["pair_id"])
    op.create_index("ix_tasks_annotator_id", "tasks", ["annotator_id"])
    op.create_table(
        "judgements",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("task_id", sa.Integer, sa.ForeignKey("tasks.id"), nullable=False, unique=True),
        sa.Column("annotator_id", sa.Integer, sa.ForeignKey("annotators.id"), nullable=False),
        sa.Column("answer", sa.String(1), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("answer IN ('A', 'B', '=', '?')", name="ck_answer"),
    )
    op.create_index("ix_judgements_annotator_id", "judgements", ["annotator_id"])


def downgrade() -> None:
    for table in (
        "judgements",
        "tasks",
        "invites",
        "annotators",
        "gold_pairs",
        "pairs",
        "images",
        "projects",
    ):
        op.drop_table(table)
