"""The embedded DuckDB engine (the default)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from fanzha.engine.base import Engine
from fanzha.engine.sql import quote_ident, quote_literal
from fanzha.errors import EngineError


class DuckDBEngine(Engine):
    """DuckDB in-process; ``database=None`` keeps everything in memory."""

    dialect = "duckdb"

    def __init__(
        self,
        database: str | Path | None = None,
        *,
        threads: int = 2,
        memory_limit: str | None = None,
        read_only: bool = False,
    ) -> None:
        self.database = str(database) if database else ":memory:"
        if database:
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        self._con = duckdb.connect(self.database, read_only=read_only)
        self._con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self._con.execute(f"SET memory_limit = {quote_literal(memory_limit)}")
        self._registered: set[str] = set()

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The raw connection, for backend code (ingest, benchmarks) only, never feature code."""
        return self._con

    def _run(self, sql: str, params: Mapping[str, Any] | None) -> duckdb.DuckDBPyConnection:
        try:
            return self._con.execute(sql, dict(params) if params else None)
        except duckdb.Error as exc:
            raise EngineError(f"query failed: {exc} (query: {' '.join(sql.split())[:160]} …)") from exc

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        try:
            relation = self._con.sql(sql, params=dict(params) if params else None)
        except duckdb.Error as exc:
            raise EngineError(f"query failed: {exc} (query: {' '.join(sql.split())[:160]} …)") from exc
        if relation is None:
            raise EngineError(f"query returned no rows object (not a SELECT?): {sql[:80]}")
        return relation.to_arrow_table()

    def batches(
        self, sql: str, params: Mapping[str, Any] | None = None, rows: int = 1 << 20
    ) -> Iterator[pa.RecordBatch]:
        try:
            reader = self._con.sql(sql, params=dict(params) if params else None).to_arrow_reader(rows)
            yield from reader
        except duckdb.Error as exc:
            raise EngineError(f"query failed: {exc} (query: {' '.join(sql.split())[:160]} …)") from exc

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, params)

    def register(self, name: str, data: Any) -> None:
        self._con.register(name, data)
        self._registered.add(name)

    def register_parquet(self, name: str, paths: str | Path | list[str] | list[Path]) -> None:
        if isinstance(paths, list):
            if not paths:
                raise EngineError(f"no Parquet files given for table {name!r}")
            source = "[" + ", ".join(quote_literal(str(p)) for p in paths) + "]"
        else:
            source = quote_literal(str(paths))
        self.execute(
            f"CREATE OR REPLACE VIEW {quote_ident(name)} AS SELECT * FROM read_parquet({source}, "
            "hive_partitioning = false, union_by_name = true)"
        )

    def tables(self) -> list[str]:
        rows = self._con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        return sorted({r[0] for r in rows} | self._registered)

    def copy_to_parquet(self, sql: str, path: str | Path, params: Mapping[str, Any] | None = None) -> int:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.execute(f"CREATE OR REPLACE TEMP TABLE __copy AS {sql}", params)
        self.execute(f"COPY __copy TO {quote_literal(str(path))} (FORMAT parquet, COMPRESSION zstd)")
        rows = int(self._con.execute("SELECT count(*) FROM __copy").fetchone()[0])  # type: ignore[index]
        self.execute("DROP TABLE __copy")
        return rows

    def close(self) -> None:
        self._con.close()
