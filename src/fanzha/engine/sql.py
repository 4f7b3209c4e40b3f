"""Quoting for SQL built as text (DuckDB dialect, standard SQL quoting): one copy for every caller."""

from __future__ import annotations


def quote_literal(text: str) -> str:
    """A SQL string literal: ``it's`` → ``'it''s'``."""
    return "'" + text.replace("'", "''") + "'"


def quote_ident(name: str) -> str:
    """A quoted identifier: ``a"b`` → ``"a""b"``."""
    return '"' + name.replace('"', '""') + '"'
