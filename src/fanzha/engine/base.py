"""The Engine interface: every batch SQL query in fanzha runs through it.

Queries are written once, in the DuckDB dialect. An engine for another system (Spark) transpiles
them with sqlglot (:func:`fanzha.engine.dialect.transpile`) and implements the same few methods;
callers never import a backend library themselves.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa


class Engine(ABC):
    """Batch SQL over named tables (the record kinds, features, graphs …)."""

    dialect: str = "duckdb"

    @abstractmethod
    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        """Run one SELECT (DuckDB dialect, ``$name`` parameters) and return its rows."""

    @abstractmethod
    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns nothing (CREATE VIEW, CREATE TABLE AS …)."""

    @abstractmethod
    def register(self, name: str, data: pa.Table | Any) -> None:
        """Expose an in-memory Arrow table (or pandas DataFrame) as table ``name``."""

    @abstractmethod
    def register_parquet(self, name: str, paths: str | Path | list[str] | list[Path]) -> None:
        """Expose Parquet files (a path, a glob or a list) as table ``name``."""

    @abstractmethod
    def tables(self) -> list[str]:
        """Names of the tables and views visible to queries."""

    @abstractmethod
    def copy_to_parquet(self, sql: str, path: str | Path, params: Mapping[str, Any] | None = None) -> int:
        """Write a query's result to one Parquet file without materialising it in Python.

        Returns the number of rows written.
        """

    @abstractmethod
    def close(self) -> None:
        """Release the engine's resources."""

    # conveniences built on the abstract methods -----------------------------------------------
    def has_table(self, name: str) -> bool:
        return name in self.tables()

    def scalar(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        table = self.query(sql, params)
        return table.column(0)[0].as_py() if table.num_rows else None

    def batches(
        self, sql: str, params: Mapping[str, Any] | None = None, rows: int = 1 << 20
    ) -> Iterator[pa.RecordBatch]:
        """The query's rows as record batches of at most ``rows`` rows, in result order. This
        default materialises the result first; engines that can stream (DuckDB) override it so a
        caller can process one batch while the next is produced."""
        yield from self.query(sql, params).to_batches(max_chunksize=rows)

    def frame(self, sql: str, params: Mapping[str, Any] | None = None) -> Any:
        """The query result as a pandas DataFrame."""
        return self.query(sql, params).to_pandas()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
