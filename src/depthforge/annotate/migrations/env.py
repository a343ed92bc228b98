"""Alembic environment: migrations run on the connection the store passes in
(``config.attributes["connection"]``), so no URL lives in a config file."""

from alembic import context

from depthforge.annotate.schema import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
