"""Store: migrations from empty to head on both backends, models and migrations agree, UTC times."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from fanzha.errors import ConfigError, ValidationError
from fanzha.ops.models import AuditHead, Base, PersonProfile
from fanzha.ops.store import Store, head_revision, make_engine, migrate

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)

TABLES = {
    "audit_head",
    "audit_log",
    "person_profiles",
    "warnings",
    "warning_events",
    "fund_commands",
    "fund_command_events",
    "bank_receipts",
    "fund_holds",
    "trace_links",
    "refund_plans",
    "refund_allocations",
    "list_entries",
    "list_appeals",
    "alembic_version",
}


def test_migrated_to_head_with_every_table(store: Store) -> None:
    assert store.revision() == head_revision() == "0001"
    assert set(inspect(store.engine).get_table_names()) == TABLES


def test_models_match_migrations(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_migration_is_idempotent_and_seeds_the_audit_head(store: Store) -> None:
    migrate(store.engine)  # a second upgrade changes nothing
    with store.transaction() as s:
        head = s.execute(select(AuditHead)).scalars().all()
    assert [(h.seq, h.hash) for h in head] == [(0, "0" * 64)]


def test_empty_to_head_step_by_step(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert inspect(engine).get_table_names() == []
    migrate(engine, "0001")
    assert "warnings" in inspect(engine).get_table_names()
    engine.dispose()


def test_times_stay_timezone_aware_utc(store: Store) -> None:
    with store.transaction() as s:
        s.add(PersonProfile(person_id="p", updated_at=T0, family_contacts=[]))
    with store.transaction() as s:
        got = s.get(PersonProfile, "p")
        assert got is not None
        assert got.updated_at == T0 and got.updated_at.utcoffset() is not None


def test_naive_time_is_refused(store: Store) -> None:
    with pytest.raises(Exception) as info, store.transaction() as s:
        s.add(PersonProfile(person_id="q", updated_at=datetime(2026, 1, 1), family_contacts=[]))
        s.flush()
    assert isinstance(info.value, ValidationError) or isinstance(
        getattr(info.value, "orig", None), ValidationError
    )


@pytest.mark.parametrize("dsn", ["nonsense://", "mysql://u@h/db"])
def test_bad_dsn_is_a_config_error(dsn: str) -> None:
    with pytest.raises(ConfigError, match="DSN"):
        make_engine(dsn)


def test_unreachable_store_is_one_clear_error(tmp_path) -> None:
    """A PostgreSQL server that is down, or an SQLite file that cannot be opened, printed a
    SQLAlchemy traceback from every ops / lists / audit command (QA: docs followed literally): the
    store being unavailable is StoreUnavailable (503 in the API), a folder that cannot be made for
    an SQLite file a ConfigError."""
    from fanzha.errors import StoreUnavailable
    from fanzha.ops.store import open_store

    (tmp_path / "afile").write_text("x")
    for dsn, error, match in [
        (
            "postgresql+psycopg://nobody:secret@127.0.0.1:1/x",
            StoreUnavailable,
            "cannot open the ops store postgresql",
        ),
        (f"sqlite:///{tmp_path}/afile/ops.db", ConfigError, "cannot be made"),
        (
            f"sqlite:///{tmp_path}",
            StoreUnavailable,
            "cannot open the ops store sqlite",
        ),  # a folder, not a file
    ]:
        with pytest.raises(error, match=match) as info:
            open_store(dsn)
        assert "secret" not in str(info.value) and "\n" not in str(info.value)


def test_default_dsn_comes_from_settings(settings) -> None:
    from fanzha.ops.store import open_store

    st = open_store()
    try:
        assert st.dialect == "sqlite"
        assert (settings.home / "ops.db").is_file()
    finally:
        st.close()


@pytest.mark.postgres
def test_postgres_from_an_empty_schema_to_head(fresh_pg_store: Store) -> None:
    assert fresh_pg_store.revision() == head_revision()
    assert set(inspect(fresh_pg_store.engine).get_table_names()) == TABLES
