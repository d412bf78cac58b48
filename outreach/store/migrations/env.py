"""Alembic's entry point: runs migrations on the connection or URL Outreach hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from outreach.store.dialect import make_engine
from outreach.store.models import Base

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    engine = make_engine(config.attributes["url"])
    with engine.connect() as conn:
        run(conn)
    engine.dispose()
