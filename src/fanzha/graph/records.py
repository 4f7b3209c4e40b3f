"""Where the graph area reads records from: the lake (landed by ingest) or a simulator folder."""

from __future__ import annotations

from pathlib import Path

from fanzha.engine import Engine, get_engine
from fanzha.errors import NotFoundError
from fanzha.records.contracts import KINDS
from fanzha.settings import Settings


def register_folder(engine: Engine, folder: Path) -> list[str]:
    """Register ``folder/<kind>/*.parquet`` (simulator layout) as one view per kind."""
    kinds = []
    for kind in KINDS:
        if (folder / kind).is_dir() and any((folder / kind).glob("*.parquet")):
            engine.register_parquet(kind, str(folder / kind / "*.parquet"))
            kinds.append(kind)
    return kinds


def materialise(engine: Engine, kinds: list[str]) -> None:
    """Read each record view once into a temporary table behind the same name.

    The lake partitions by day, so a view over accounts or phone cards opened over twenty years
    spans thousands of small files; the graph queries scan each table several times."""
    for kind in kinds:
        engine.execute(f"CREATE OR REPLACE TEMP TABLE __rec_{kind} AS SELECT * FROM {kind}")
        engine.execute(f"CREATE OR REPLACE VIEW {kind} AS SELECT * FROM __rec_{kind}")


def open_records(settings: Settings, sim_dir: Path | None = None, *, in_memory: bool = True) -> Engine:
    """An engine with the record tables: from ``sim_dir`` when given, else from the lake.

    ``in_memory``: copy the lake's tables into the engine once (see :func:`materialise`); turn it off
    when the records do not fit in memory."""
    engine = get_engine(settings)
    if sim_dir is not None:
        kinds = register_folder(engine, Path(sim_dir))
        where = str(sim_dir)
    else:
        try:
            from fanzha.ingest.lake import attach_lake
        except ImportError:  # the ingest area is optional at this layer
            kinds = []
        else:
            kinds = attach_lake(engine, settings)
            if in_memory:
                materialise(engine, kinds)
        where = f"the lake at {settings.lake}"
    if "cases" not in kinds:
        engine.close()
        raise NotFoundError(
            f"no case records in {where}; land them with `fanzha ingest` or pass --sim DIR (a simulator output)"
        )
    return engine
