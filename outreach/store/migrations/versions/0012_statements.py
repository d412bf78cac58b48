"""statements: statements people vote on (agree, disagree, pass), and their votes

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import outreach.store.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TIME = outreach.store.types.UTCDateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "statements",
        sa.Column("id", ID, nullable=False),
        sa.Column("conversation", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("contact_id", ID, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("moderated_at", TIME, nullable=True),
        sa.Column("moderated_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_statements_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
    )
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_statements_conversation_status", ["conversation", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_statements_contact_id"), ["contact_id"], unique=False)
    op.create_table(
        "statement_votes",
        sa.Column("id", ID, nullable=False),
        sa.Column("statement_id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("vote", sa.String(length=8), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_statement_votes_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_statement_votes_statement_id_statements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_votes")),
        sa.UniqueConstraint(
            "statement_id", "contact_id", name=op.f("uq_statement_votes_statement_id_contact_id")
        ),
    )
    with op.batch_alter_table("statement_votes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_statement_votes_contact_id"), ["contact_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("statement_votes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statement_votes_contact_id"))
    op.drop_table("statement_votes")
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statements_contact_id"))
        batch_op.drop_index("ix_statements_conversation_status")
    op.drop_table("statements")
