"""Alembic environment: always run on the connection handed over by ``fanzha.ops.store``.

There is no alembic.ini: the store builds the Config in code, so migrations travel inside the
package and run the same way in tests, the demo and production.
"""

from __future__ import annotations

from alembic import context

from fanzha.ops.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable by running the alembic CLI by hand
    raise RuntimeError("run migrations through fanzha.ops.store.migrate(), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
