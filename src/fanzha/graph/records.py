"""Where the graph area reads records from: the lake (landed by ingest) or a simulator folder."""

from __future__ import annotations

from pathlib import Path

from fanzha.engine import Engine, get_engine
from fanzha.errors import NotFoundError, ValidationError
from fanzha.records.contracts import IDENTIFIER_KINDS, KINDS, get_spec
from fanzha.settings import Settings

# SQL type of an absent optional column, by contract field type
_NULL_TYPES = {"time": "TIMESTAMPTZ", "amount_fen": "BIGINT", "int": "BIGINT", "duration_s": "BIGINT",
               "bool": "BOOLEAN", "date": "DATE"}  # fmt: skip


# record kinds whose natural key must be unique in a folder (the tables money and linking count on)
_KEYED = ("cases", "accounts", "transfers", "withdrawals", "phone_cards", "people")


def _check_columns(engine: Engine, kind: str, source: str, where: Path) -> str:
    """The view body for ``kind`` over the registered files ``source``: required contract columns must
    be there with usable types (money whole fen, times timestamps); absent optional ones are NULL."""
    import pyarrow as pa

    spec = get_spec(kind)
    schema = engine.query(f"SELECT * FROM {source} LIMIT 0").schema
    missing = [c for c in spec.required if c not in schema.names]
    if missing:
        raise ValidationError(
            f"{where}/{kind} lacks required column(s) {missing}; its columns are {schema.names}"
        )
    for f in spec.fields:
        if f.name not in schema.names or f.is_list:
            continue
        typ = schema.field(f.name).type
        if f.type in ("amount_fen", "int", "duration_s") and not pa.types.is_integer(typ):
            raise ValidationError(
                f"{where}/{kind}.{f.name} has type {typ}; it must be whole numbers (money in integer fen)"
            )
        if f.type == "time" and not pa.types.is_timestamp(typ):
            raise ValidationError(f"{where}/{kind}.{f.name} has type {typ}; it must be a timestamp")
    present = [c for c in spec.required if not spec.field(c).is_list]
    if present:  # required values: one pass over the table
        counts = engine.query(
            "SELECT "
            + ", ".join(f'count(*) FILTER (WHERE "{c}" IS NULL) AS "{c}"' for c in present)
            + f" FROM {source}"
        ).to_pylist()[0]
        empty = {c: n for c, n in counts.items() if n}
        if empty:
            raise ValidationError(
                f"{where}/{kind}: required values are missing ({', '.join(f'{c}: {n} rows' for c, n in empty.items())}); "
                "fix or drop those records"
            )
    if kind in _KEYED:  # one record per key: a case listed twice counts its loss twice
        keys = ", ".join(f'"{c}"' for c in spec.key)
        dup = engine.query(
            f"SELECT {keys}, count(*) AS n FROM {source} GROUP BY ALL HAVING count(*) > 1 ORDER BY ALL LIMIT 1"
        ).to_pylist()
        if dup:
            first = {c: dup[0][c] for c in spec.key}
            raise ValidationError(
                f"{where}/{kind}: records with the same {', '.join(spec.key)} (first: {first}, "
                f"{dup[0]['n']} times); deduplicate them"
            )
    extra = [
        f"NULL::{'VARCHAR[]' if f.is_list else _NULL_TYPES.get(f.type, 'VARCHAR')} AS {f.name}"
        for f in spec.fields
        if f.name not in schema.names
    ]
    # identifiers written as numbers (an account column of int64) compare as the text they are
    as_text = [
        f'CAST("{f.name}" AS VARCHAR) AS "{f.name}"'
        for f in spec.fields
        if f.name in schema.names
        and not f.is_list
        and f.type in IDENTIFIER_KINDS
        and not (
            pa.types.is_string(schema.field(f.name).type)
            or pa.types.is_large_string(schema.field(f.name).type)
        )
    ]
    replace = f" REPLACE ({', '.join(as_text)})" if as_text else ""
    return f"SELECT *{replace}{''.join(', ' + e for e in extra)} FROM {source}"


def register_folder(engine: Engine, folder: Path) -> list[str]:
    """Register ``folder/<kind>/*.parquet`` (simulator layout) as one view per kind.

    Columns are checked against the record contracts (:func:`_check_columns`)."""
    kinds = []
    for kind in KINDS:
        if (folder / kind).is_dir() and any((folder / kind).glob("*.parquet")):
            engine.register_parquet(f"__files_{kind}", str(folder / kind / "*.parquet"))
            body = _check_columns(engine, kind, f"__files_{kind}", folder)
            engine.execute(f"CREATE OR REPLACE VIEW {kind} AS {body}")
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
    if sim_dir is not None and not Path(sim_dir).is_dir():  # a typo is not "no case records"
        raise NotFoundError(
            f"--sim {sim_dir}: no such folder; give a simulator output folder (<kind>/*.parquet)"
        )
    engine = get_engine(settings)
    if sim_dir is not None:
        try:
            kinds = register_folder(engine, Path(sim_dir))
        except Exception:
            engine.close()
            raise
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
