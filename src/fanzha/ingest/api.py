"""``ingest_path``: the Python entry point of ingest, used by the CLI, the demo and other areas."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fanzha.errors import InputFileError
from fanzha.ingest import catalog
from fanzha.ingest.land import FileReport, land_file, processing_connection, start_log
from fanzha.ingest.readers import Source, SourceFile, detect_encoding, discover, source_sql
from fanzha.ingest.report import top_reasons
from fanzha.settings import Settings

Progress = Callable[[SourceFile, str], None]


@dataclass
class IngestReport:
    """What one ``ingest_path`` call did, per file (rows read = landed + rejected + duplicates)."""

    files: list[FileReport] = field(default_factory=list)
    top_reasons: list[tuple[str, int]] = field(default_factory=list)
    orphans_removed: int = 0

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def landed(self) -> int:
        return sum(f.landed for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.files)

    def by_kind(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for f in self.files:
            row = out.setdefault(
                f.kind, {"files": 0, "rows_read": 0, "landed": 0, "rejected": 0, "duplicates": 0}
            )
            row["files"] += 1
            for name in ("rows_read", "landed", "rejected", "duplicates"):
                row[name] += getattr(f, name)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows_read": self.rows_read,
            "landed": self.landed,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "by_kind": self.by_kind(),
            "files": [f.as_dict() for f in self.files],
            "top_reasons": [{"reason": r, "rows": n} for r, n in self.top_reasons],
        }


def _plan(
    con: Any, files: list[SourceFile], encoding: str | None, staging: Path
) -> list[tuple[SourceFile, str, Source, Path]]:
    """Check every file before landing any: readable, encoding, required columns, not empty."""
    plans = []
    for i, src in enumerate(files):
        try:
            size = src.path.stat().st_size
        except OSError as exc:
            raise InputFileError(
                f"{src.path}: cannot be read ({exc.strerror}); check the path and permissions"
            ) from None
        if size == 0:
            raise InputFileError(f"{src.path}: the file is empty; export it again with a header row and data")
        enc = detect_encoding(src, encoding)
        stage = staging / f"{i:05d}"
        stage.mkdir(parents=True, exist_ok=True)
        source = source_sql(con, src, enc, stage)
        try:  # a header without rows is a valid extract (nothing happened that day): it lands 0 rows
            con.execute(f"SELECT 1 FROM ({source.text_sql}) LIMIT 1").fetchone()
        except Exception as exc:  # duckdb.Error while parsing the start of the file
            raise InputFileError(
                f"{src.path}: cannot be read as {src.format}: {str(exc).splitlines()[0]}"
            ) from None
        plans.append((src, enc, source, stage))
    return plans


def ingest_path(
    path: str | Path,
    kind: str | None,
    settings: Settings,
    *,
    encoding: str | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest a file or a folder into the lake; see docs/ingest.md.

    Every file is checked before any is landed (bad input raises :class:`InputFileError` with nothing
    written); then each file is landed atomically on its own.
    """
    files = discover(path, kind)
    lake = Path(settings.lake)
    staging = lake / catalog.STAGING
    report = IngestReport()
    with catalog.ingest_lock(settings):
        staging.mkdir(parents=True, exist_ok=True)
        con = processing_connection(settings, staging)
        try:
            report.orphans_removed = catalog.recover(con, settings)
            staging.mkdir(parents=True, exist_ok=True)
            for src, enc, source, stage in _plan(con, files, encoding, staging):
                file_report = FileReport(str(src.path), src.kind, src.format, enc, src.path.stat().st_size)
                file_report.ingest_id = start_log(con, settings, file_report)
                say = (lambda step, s=src: progress(s, step)) if progress else None
                report.files.append(land_file(con, settings, src, source, file_report, stage, say))
        finally:
            con.close()
            shutil.rmtree(staging, ignore_errors=True)
    report.top_reasons = top_reasons(settings, [f.ingest_id for f in report.files])
    return report
