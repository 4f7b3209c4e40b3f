"""Ops fixtures: every store test runs on SQLite and on PostgreSQL.

Migrating per test is slow on PostgreSQL, so each backend is migrated once per session (a SQLite
template file copied per test; one private PG schema, emptied with TRUNCATE per test). The PG
database ``test`` is shared with other engineers' runs: everything lives in our own schema.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from fanzha.ops.audit import Actor
from fanzha.ops.models import Base
from fanzha.ops.store import Store, drop_schema, make_engine, open_store


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ops_template") / "ops.db"
    open_store(f"sqlite:///{path}").close()
    return path


@contextmanager
def _private_schema_store(pg_dsn: str) -> Iterator[Store]:
    """A store migrated from empty in a new schema of our own, dropped afterwards."""
    schema = f"fz_ops_{uuid.uuid4().hex[:12]}"
    st = open_store(pg_dsn, schema=schema)
    try:
        yield st
    finally:
        st.close()
        drop_schema(pg_dsn, schema)


@pytest.fixture(scope="session")
def pg_schema_store(pg_dsn: str) -> Iterator[Store]:
    with _private_schema_store(pg_dsn) as st:
        yield st


def _empty(st: Store) -> None:
    # DELETE beats TRUNCATE by far on tables this small (TRUNCATE rewrites files and takes locks)
    with st.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name != "audit_head":
                conn.execute(table.delete())
        conn.execute(text("UPDATE audit_head SET seq = 0, hash = :h WHERE id = 1"), {"h": "0" * 64})


@pytest.fixture
def pg_store(pg_schema_store: Store) -> Store:
    """A migrated, empty PostgreSQL store in this session's private schema."""
    _empty(pg_schema_store)
    return pg_schema_store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh store migrated to head: a SQLite file, or the private PG schema emptied."""
    if request.param == "postgres":
        yield request.getfixturevalue("pg_store")
        return
    path = tmp_path / "ops.db"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    st = Store(make_engine(f"sqlite:///{path}"))
    yield st
    st.close()


@pytest.fixture
def fresh_pg_store(pg_dsn: str) -> Iterator[Store]:
    """A brand-new schema migrated from empty (for migration tests)."""
    with _private_schema_store(pg_dsn) as st:
        yield st


@pytest.fixture
def actor() -> Actor:
    return Actor("officer.wang", "police", "case 2026-0501")
