"""Shared fixtures: isolated settings, an in-memory engine, and the PostgreSQL server when reachable."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fanzha.engine.duckdb import DuckDBEngine
from fanzha.settings import Settings, get_settings

PG_DSN = os.environ.get("FANZHA_TEST_PG_DSN", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings rooted in a fresh temporary folder (also what get_settings() returns)."""
    monkeypatch.setenv("FANZHA_HOME", str(tmp_path / ".fanzha"))
    for name in ("FANZHA_LAKE_DIR", "FANZHA_CATALOG_PATH", "FANZHA_MODELS_DIR", "FANZHA_OPS_DSN"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def engine() -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine(threads=1)
    yield eng
    eng.close()


@pytest.fixture(scope="session")
def spark_session():  # type: ignore[no-untyped-def]
    """One local Spark session per test process; skips where pyspark or Java is missing."""
    import shutil

    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -e '.[spark]')")
    if not shutil.which("java"):
        pytest.skip("no Java runtime on PATH: Spark needs Java 17+")
    from fanzha.engine.spark import spark_session

    return spark_session("local[2]", "1g")


@pytest.fixture
def spark_engine(spark_session):  # type: ignore[no-untyped-def]
    from fanzha.engine.spark import SparkEngine

    eng = SparkEngine(spark_session)
    yield eng
    eng.close()


def _pg_reachable() -> str | None:
    try:
        import psycopg

        url = PG_DSN.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url, connect_timeout=2):
            return None
    except Exception as exc:  # any failure means: skip with the reason
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """SQLAlchemy DSN of the test PostgreSQL server; skips with a clear message when unreachable."""
    problem = _pg_reachable()
    if problem:
        pytest.skip(f"PostgreSQL not reachable at {PG_DSN} ({problem}); start it or set FANZHA_TEST_PG_DSN")
    return PG_DSN


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip: the suite must pass on a fresh clone without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} not present (evaluation data is never copied into the repo)")
    return SHARED_DATA
