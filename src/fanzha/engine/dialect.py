"""SQL dialect differences, in one place: queries are written in DuckDB's dialect and transpiled."""

from __future__ import annotations

import sqlglot
from sqlglot.errors import ParseError

from fanzha.errors import EngineError


def transpile(sql: str, to: str) -> str:
    """Rewrite a DuckDB-dialect query for engine dialect ``to`` (``duckdb`` returns it unchanged)."""
    if to == "duckdb":
        return sql
    try:
        return ";\n".join(sqlglot.transpile(sql, read="duckdb", write=to, pretty=True))
    except ParseError as exc:
        raise EngineError(f"cannot transpile query to {to}: {exc}") from None
