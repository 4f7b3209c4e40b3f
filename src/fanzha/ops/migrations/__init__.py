"""Alembic migrations of the operational store, run programmatically by :func:`fanzha.ops.store.open_store`."""
