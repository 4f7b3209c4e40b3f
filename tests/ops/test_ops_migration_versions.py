"""A store migrated by a newer fanzha (a revision this version does not ship) is one clear error.

In a rolling deploy an old worker can meet a database a new one already migrated: that was a raw
alembic CommandError ("Can't locate revision identified by …") traceback; now StoreUnavailable (the
API's 503) saying which revision the store is at and what to run. The store is left as it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from fanzha.api.errors import status_of
from fanzha.errors import StoreUnavailable
from fanzha.ops.store import Store, head_revision, migrate, open_store


def _stamp(store: Store, revision: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_store_at_an_unknown_newer_revision(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "postgres":
        store: Store = request.getfixturevalue("fresh_pg_store")
        dsn, schema = str(request.getfixturevalue("pg_dsn")), store.schema
    else:
        dsn, schema = f"sqlite:///{tmp_path / 'ops.db'}", None
        store = open_store(dsn)
    _stamp(store, "9999_from_a_newer_fanzha")
    with pytest.raises(
        StoreUnavailable, match=r"is at migration '9999_from_a_newer_fanzha'.*newer fanzha"
    ) as err:
        open_store(dsn, schema=schema).close()
    assert status_of(err.value) == 503
    with pytest.raises(StoreUnavailable):
        migrate(store.engine)
    assert store.revision() == "9999_from_a_newer_fanzha"  # untouched
    _stamp(store, head_revision())
    open_store(dsn, schema=schema).close()  # at a known revision it opens again
    if backend == "sqlite":
        store.close()
