"""The lake as tables: one view per landed record kind over its committed Parquet files.

Layout: ``<settings.lake>/<kind>/day=YYYY-MM-DD/part-<ingest>-<n>.parquet`` (the day of the kind's
time field in Asia/Shanghai; ``month=YYYY-MM`` for the register-like kinds in
:data:`fanzha.ingest.land.MONTHLY`; ``day=none`` for kinds without a time field or rows without a
time). Only files committed in the catalog are read, so a half-finished ingest is never visible.
"""

from __future__ import annotations

from fanzha.engine.base import Engine
from fanzha.ingest.catalog import catalog_path, committed_files
from fanzha.settings import Settings


def _same_database(engine: Engine, settings: Settings) -> bool:
    database = getattr(engine, "database", None)
    if not database or database == ":memory:":
        return False
    try:
        from pathlib import Path

        return Path(database).resolve() == catalog_path(settings).resolve()
    except OSError:
        return False


def attach_lake(engine: Engine, settings: Settings) -> list[str]:
    """Register one view per landed kind (named by the kind) on ``engine``; return the kinds."""
    if _same_database(engine, settings):
        con = engine.connection  # type: ignore[attr-defined]
        files = committed_files(settings, con) if engine.has_table("lake_files") else {}
    else:
        files = committed_files(settings)
    for kind, paths in sorted(files.items()):
        engine.register_parquet(kind, paths)
    return sorted(files)
