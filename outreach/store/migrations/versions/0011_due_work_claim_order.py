"""due work: claimed in the order of an index (due time, then id)

Claiming sorted every due row by (due_at, id) to take the first thousand: with a million
invitations waiting, each claim sorted a million rows and the starts slowed as they went.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("due_work", schema=None) as batch_op:
        batch_op.drop_index("ix_due_work_due_at")
        batch_op.create_index("ix_due_work_due_at_id", ["due_at", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("due_work", schema=None) as batch_op:
        batch_op.drop_index("ix_due_work_due_at_id")
        batch_op.create_index("ix_due_work_due_at", ["due_at"], unique=False)
