"""contact addresses and message content

A contact is reached through addresses (scheme, address) instead of one column per channel;
the outbox points at the address a message goes to; messages keep their content as data.
Existing phone numbers become ``tel`` addresses (``sim`` for the phone simulator's made-up
people), Slack user ids ``slack`` addresses.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import outreach.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "contact_addresses",
        sa.Column("id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("scheme", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("undeliverable", sa.String(length=64), nullable=True),
        sa.Column("created_at", outreach.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_addresses_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_addresses")),
        sa.UniqueConstraint("scheme", "address", name=op.f("uq_contact_addresses_scheme_address")),
    )
    with op.batch_alter_table("contact_addresses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_addresses_contact_id"), ["contact_id"], unique=False
        )
    op.execute(
        "INSERT INTO contact_addresses (contact_id, scheme, address, undeliverable, created_at) "
        "SELECT id, CASE WHEN channel = 'simulator' THEN 'sim' ELSE 'tel' END, phone, "
        "undeliverable, created_at FROM contacts WHERE phone IS NOT NULL"
    )
    op.execute(
        "INSERT INTO contact_addresses (contact_id, scheme, address, created_at) "
        "SELECT id, 'slack', slack_user_id, created_at FROM contacts "
        "WHERE slack_user_id IS NOT NULL"
    )

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("address_id", ID, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_messages_address_id_contact_addresses"),
            "contact_addresses",
            ["address_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address_id", ID, nullable=True))
    op.execute(
        "UPDATE outbox SET address_id = (SELECT a.id FROM contact_addresses a "
        "WHERE a.contact_id = outbox.contact_id AND "
        "(a.scheme = 'slack') = (outbox.channel = 'slack') ORDER BY a.id LIMIT 1)"
    )
    # A queued message whose person has no address left could never be sent.
    op.execute("DELETE FROM outbox WHERE address_id IS NULL")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("address_id", existing_type=ID, nullable=False)
        batch_op.create_index(batch_op.f("ix_outbox_address_id"), ["address_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_address_id_contact_addresses"),
            "contact_addresses",
            ["address_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.drop_column("channel")

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_contacts_phone"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_contacts_slack_user_id"), type_="unique")
        batch_op.drop_column("phone")
        batch_op.drop_column("slack_user_id")
        batch_op.drop_column("channel")
        batch_op.drop_column("undeliverable")


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("undeliverable", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("channel", sa.String(length=16), server_default="sms", nullable=False)
        )
        batch_op.add_column(sa.Column("slack_user_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
    op.execute(
        "UPDATE contacts SET phone = (SELECT address FROM contact_addresses a WHERE "
        "a.contact_id = contacts.id AND a.scheme IN ('tel', 'sim') ORDER BY a.id LIMIT 1), "
        "channel = CASE WHEN EXISTS (SELECT 1 FROM contact_addresses a WHERE "
        "a.contact_id = contacts.id AND a.scheme = 'sim') THEN 'simulator' ELSE 'sms' END, "
        "slack_user_id = (SELECT address FROM contact_addresses a WHERE "
        "a.contact_id = contacts.id AND a.scheme = 'slack' ORDER BY a.id LIMIT 1)"
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_contacts_phone"), ["phone"])
        batch_op.create_unique_constraint(
            batch_op.f("uq_contacts_slack_user_id"), ["slack_user_id"]
        )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=16), server_default="sms", nullable=False)
        )
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_address_id_contact_addresses"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_outbox_address_id"))
        batch_op.drop_column("address_id")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_messages_address_id_contact_addresses"), type_="foreignkey"
        )
        batch_op.drop_column("address_id")
        batch_op.drop_column("content")

    with op.batch_alter_table("contact_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_addresses_contact_id"))
    op.drop_table("contact_addresses")
