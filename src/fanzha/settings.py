"""Settings, read once through a cached function (never at import time).

Every setting has a documented default rooted in a ``.fanzha/`` folder of the working directory and
can be overridden with an environment variable ``FANZHA_<NAME>`` (for example
``FANZHA_OPS_DSN=postgresql+psycopg://user@host/db``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FANZHA_", extra="ignore")

    home: Path = Field(Path(".fanzha"), description="root folder of every local store")
    lake_dir: Path | None = Field(None, description="Parquet lake; default <home>/lake")
    catalog_path: Path | None = Field(None, description="DuckDB catalog; default <home>/catalog.duckdb")
    models_dir: Path | None = Field(None, description="trained model artefacts; default <home>/models")
    ops_dsn: str | None = Field(
        None, description="SQLAlchemy DSN of the operational store; default sqlite:///<home>/ops.db"
    )
    engine: str = Field("duckdb", description="batch SQL engine: duckdb or spark")
    spark_master: str = Field("local[*]", description="Spark master URL when engine=spark")
    spark_memory: str = Field("4g", description="Spark driver memory when engine=spark")
    threads: int = Field(2, ge=1, description="threads the batch engine may use")
    secret_key: str = Field("change-me", description="key for API tokens; set it in production")

    @property
    def lake(self) -> Path:
        return self.lake_dir or self.home / "lake"

    @property
    def catalog(self) -> Path:
        return self.catalog_path or self.home / "catalog.duckdb"

    @property
    def models(self) -> Path:
        return self.models_dir or self.home / "models"

    @property
    def ops(self) -> str:
        return self.ops_dsn or f"sqlite:///{(self.home / 'ops.db').as_posix()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; call ``get_settings.cache_clear()`` after changing the environment.

    A value the settings refuse (``FANZHA_THREADS=0``) is a :class:`ConfigError` naming the variable.
    """
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        from fanzha.errors import ConfigError

        problem = exc.errors()[0]
        name = "FANZHA_" + "_".join(str(part) for part in problem["loc"]).upper()
        raise ConfigError(
            f"{name}={problem.get('input')!r}: {problem['msg'].lower()}; fix or unset the variable"
        ) from None
