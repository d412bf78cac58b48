"""decisions: "you said, we did" decisions and who was told each

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import outreach.store.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TIME = outreach.store.types.UTCDateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    op.create_table(
        "decision_recipients",
        sa.Column("decision_id", sa.String(length=64), nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("message_id", ID, nullable=True),
        sa.Column("session_id", ID, nullable=True),
        sa.Column("at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_decision_recipients_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_decision_recipients_decision_id_decisions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_decision_recipients_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_decision_recipients_session_id_sessions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("decision_id", "contact_id", name=op.f("pk_decision_recipients")),
    )
    with op.batch_alter_table("decision_recipients", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decision_recipients_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_decision_recipients_session_id"), ["session_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("decision_recipients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_recipients_session_id"))
        batch_op.drop_index(batch_op.f("ix_decision_recipients_contact_id"))
    op.drop_table("decision_recipients")
    op.drop_table("decisions")
