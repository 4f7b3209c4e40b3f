"""Batch SQL engines behind one interface: DuckDB embedded (the default), Spark for national scale."""

from __future__ import annotations

from fanzha.engine.base import Engine
from fanzha.errors import ConfigError
from fanzha.settings import Settings, get_settings


def get_engine(settings: Settings | None = None, *, in_memory: bool = True) -> Engine:
    """The configured engine. ``in_memory=False`` opens the persistent DuckDB catalog."""
    settings = settings or get_settings()
    if settings.engine == "duckdb":
        from fanzha.engine.duckdb import DuckDBEngine

        return DuckDBEngine(None if in_memory else settings.catalog, threads=settings.threads)
    if settings.engine == "spark":
        from fanzha.engine.spark import SparkEngine, spark_session

        return SparkEngine(spark_session(settings.spark_master, settings.spark_memory))
    raise ConfigError(f"engine {settings.engine!r} is not available; set FANZHA_ENGINE=duckdb or spark")


__all__ = ["Engine", "get_engine"]
