"""Alembic environment: migrations always run on a connection handed in by ``tollway.db.migrate``."""

from alembic import context

from tollway.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `tollway db upgrade`, which hands Alembic a connection")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
