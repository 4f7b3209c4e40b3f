"""The operational store: a SQLAlchemy engine migrated to the Alembic head, and transactions.

``open_store(dsn)`` works the same on the default SQLite file and on PostgreSQL. Writers are
serialised on SQLite (``BEGIN IMMEDIATE``: no lock-upgrade deadlocks between threads); on
PostgreSQL service functions lock the rows they change with ``SELECT … FOR UPDATE`` and rely on
unique constraints, so concurrent workers doing the same thing get one result.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from fanzha.errors import ConfigError, StoreUnavailable, ValidationError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MIGRATION_LOCK = 0x66A7_0605  # pg advisory lock id: one migrator at a time


@dataclass
class Store:
    """A migrated operational store. Use :meth:`transaction` for every unit of work."""

    engine: Engine
    schema: str | None = None
    _sessions: sessionmaker[Session] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on any error.

        A lost connection (server restarted, backend terminated, network down), a deadlock or a
        locked SQLite file is a :class:`StoreUnavailable` that says whether the work was rolled back.
        """
        committing = False
        try:
            with self._sessions.begin() as session:
                yield session
                committing = True
        except (OperationalError, InterfaceError) as exc:
            raise unavailable(self.engine, exc, committing=committing) from exc

    def session(self) -> Session:
        """A plain session (caller manages the transaction); prefer :meth:`transaction`."""
        return self._sessions()

    def revision(self) -> str | None:
        """The Alembic revision the database is at (None before the first migration)."""
        from alembic.runtime.migration import MigrationContext

        try:
            with self.engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        except (OperationalError, InterfaceError) as exc:
            raise unavailable(self.engine, exc) from exc

    def close(self) -> None:
        self.engine.dispose()


def unavailable(
    engine: Engine, exc: OperationalError | InterfaceError, *, committing: bool = False
) -> StoreUnavailable:
    """The store's failure as one clear error: where, what the server said, and what became of the work."""
    where = engine.url.render_as_string(hide_password=True)
    outcome = (
        "the commit was not confirmed, so the work may or may not be stored: retry with the same ids "
        "(commands, receipts and refunds are idempotent)"
        if committing
        else "nothing of this transaction was stored; retry"
    )
    return StoreUnavailable(f"operational store {where} failed: {_server_said(exc)}; {outcome}")


def _server_said(exc: OperationalError | InterfaceError) -> str:
    """The first line of what the database (or its driver) said."""
    said = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
    return said[0] if said else type(exc).__name__


def head_revision() -> str:
    """The newest migration shipped in the package."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (idempotent; one migrator at a time on PostgreSQL)."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    known = {s.revision for s in ScriptDirectory.from_config(cfg).walk_revisions()}
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
            current = MigrationContext.configure(conn).get_current_revision()
            if current is not None and current not in known:  # not usable by this version: 503 in the API
                raise StoreUnavailable(
                    f"the operational store {engine.url.render_as_string(hide_password=True)} is at "
                    f"migration {current!r}, which this fanzha (newest {head_revision()!r}) does not know: "
                    "a newer fanzha migrated it; run that version (or upgrade this one), never an older one"
                )
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    except (OperationalError, InterfaceError) as exc:
        raise unavailable(engine, exc) from exc


def make_engine(dsn: str, *, schema: str | None = None, echo: bool = False) -> Engine:
    """An engine for ``dsn``; on PostgreSQL ``schema`` (created if missing) becomes the search path."""
    try:
        url = make_url(dsn)
    except Exception as exc:
        raise ConfigError(
            f"ops DSN {dsn!r} is not a SQLAlchemy URL; use sqlite:///path/ops.db or "
            "postgresql+psycopg://user@host/db (FANZHA_OPS_DSN)"
        ) from exc
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url, echo)
    if backend != "postgresql":
        raise ConfigError(f"ops DSN {dsn!r}: backend {backend!r} is not supported; use sqlite or postgresql")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if schema is not None and not _SCHEMA.match(schema):
        raise ConfigError(f"schema {schema!r} is not a lower-case SQL identifier like fz_ops")
    # no pool_pre_ping: it costs a round trip per transaction; stale connections are recycled instead
    engine = create_engine(url, echo=echo, pool_recycle=1800, pool_size=8, max_overflow=8)
    event.listen(engine, "before_cursor_execute", _refuse_nul)
    if schema:
        # the listener must exist before the first connection, or a pooled one escapes it
        @event.listens_for(engine, "connect")
        def _search_path(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            cur.execute(f'SET search_path TO "{schema}"')
            cur.close()
            dbapi_conn.commit()

    return engine


def _refuse_nul(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
    """A text holding a NUL character is a ValidationError on every backend (PostgreSQL cannot store
    one and failed with a raw DataError while SQLite stored it: the two stores must answer alike)."""
    rows = parameters if isinstance(parameters, list) else [parameters]
    for row in rows:
        values = row.values() if isinstance(row, dict) else row if isinstance(row, (tuple, list)) else ()
        for value in values:
            if isinstance(value, str) and "\x00" in value:
                raise ValidationError(
                    f"text {value[:40]!r} contains a NUL character (\\x00), which the store cannot hold; "
                    "remove it",
                    value=value[:40],
                )


def _sqlite_engine(url: Any, echo: bool) -> Engine:
    database = url.database
    if database and database != ":memory:":
        try:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot open the ops store {url}: its folder {Path(database).parent} cannot be made "
                f"({exc.strerror or exc}); check --dsn / FANZHA_OPS_DSN"
            ) from None
    engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})
    event.listen(engine, "before_cursor_execute", _refuse_nul)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below be the only one
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if database and database != ":memory:":
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable except on power loss
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def open_store(dsn: str | None = None, *, schema: str | None = None, migrate_to_head: bool = True) -> Store:
    """Open the operational store at ``dsn`` (default: ``get_settings().ops``) migrated to head.

    ``schema`` (PostgreSQL only) isolates a store in its own schema, e.g. for tests.
    """
    if dsn is None:
        from fanzha.settings import get_settings

        dsn = get_settings().ops
    engine = make_engine(dsn, schema=schema)
    if migrate_to_head:
        try:
            migrate(engine)
        except StoreUnavailable as exc:
            engine.dispose()
            lost = exc.__cause__
            if not isinstance(lost, OperationalError | InterfaceError):
                raise  # a store migrated by a newer fanzha: its own message
            # server down, wrong host or password, unopenable file: 503 in the API, one line in the CLI
            shown = make_url(dsn).render_as_string(hide_password=True)
            raise StoreUnavailable(
                f"cannot open the ops store {shown}: {_server_said(lost)}; check --dsn / FANZHA_OPS_DSN "
                "(and that the database server is running)"
            ) from None
    return Store(engine, schema=schema)


def drop_schema(dsn: str, schema: str) -> None:
    """Drop a PostgreSQL schema and everything in it (test clean-up)."""
    if not _SCHEMA.match(schema):
        raise ConfigError(f"schema {schema!r} is not a lower-case SQL identifier")
    engine = create_engine(make_url(dsn))
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()
