"""Alembic environment: migrations always run on a connection handed in by ``tollway.db.migrate``."""

from alembic import context

from tollway.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `tollway db upgrade`, which hands Alembic a connection")
# tollway.db.migrate may pass a callback that hears of each revision as it is applied (progress)
on_version_apply = context.config.attributes.get("on_version_apply")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    on_version_apply=on_version_apply,
)
with context.begin_transaction():
    context.run_migrations()
