"""where each person last replied

``contact_addresses.last_inbound_at``: when the person last wrote from this address, so what
Outreach starts goes to the channel they last replied on (a person on SMS and Slack). Filled
in from the message log for addresses that have written already.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import outreach.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contact_addresses") as batch_op:
        batch_op.add_column(
            sa.Column(
                "last_inbound_at", outreach.store.types.UTCDateTime(timezone=True), nullable=True
            )
        )
    op.execute(
        "UPDATE contact_addresses SET last_inbound_at = (SELECT max(m.created_at) FROM messages m "
        "WHERE m.address_id = contact_addresses.id AND m.direction = 'in')"
    )


def downgrade() -> None:
    with op.batch_alter_table("contact_addresses") as batch_op:
        batch_op.drop_column("last_inbound_at")
