"""results: answer themes, and indexes that group an event's answers by question and person

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import outreach.store.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TIME = outreach.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "answer_themes",
        sa.Column(
            "answer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("theme", sa.String(length=64), nullable=False),
        sa.Column("tagged_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["answers.id"],
            name=op.f("fk_answer_themes_answer_id_answers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("answer_id", "theme", name=op.f("pk_answer_themes")),
    )
    with op.batch_alter_table("answer_themes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_answer_themes_theme"), ["theme"], unique=False)
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.create_index("ix_answers_event_id_name", ["event_id", "name"], unique=False)
        batch_op.create_index(
            "ix_answers_event_id_contact_id", ["event_id", "contact_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_index("ix_answers_event_id_contact_id")
        batch_op.drop_index("ix_answers_event_id_name")
    with op.batch_alter_table("answer_themes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_answer_themes_theme"))
    op.drop_table("answer_themes")
