"""Reading the ingest log and the quarantine back: counts per file and kind, top rejection reasons."""

from __future__ import annotations

from typing import Any

from fanzha.ingest.catalog import read_catalog
from fanzha.settings import Settings

# a reason without the values it quotes, so that the same problem groups together
_REASON_CLASS = r"""regexp_replace(reason, '''(?:[^''\\]|\\.)*''|"(?:[^"\\]|\\.)*"', '…', 'g')"""


def top_reasons(
    settings: Settings, ingest_ids: list[int] | None = None, limit: int = 10
) -> list[tuple[str, int]]:
    """The most frequent rejection reasons (quoted values replaced by …), optionally for some ingests."""
    where = ""
    if ingest_ids is not None:
        if not ingest_ids:
            return []
        where = f"WHERE ingest_id IN ({', '.join(str(int(i)) for i in ingest_ids)})"
    with read_catalog(settings) as cat:
        if cat is None:
            return []
        rows = cat.execute(
            f"SELECT {_REASON_CLASS} AS reason_class, count(*) AS n FROM "
            f"(SELECT unnest(reasons) AS reason FROM quarantine {where}) GROUP BY 1 ORDER BY n DESC, 1 LIMIT {int(limit)}"
        ).fetchall()
    return [(str(r), int(n)) for r, n in rows]


def ingest_summary(settings: Settings, limit: int = 50) -> dict[str, Any]:
    """The latest ingests per file, totals per kind (committed only) and the top reasons."""
    with read_catalog(settings) as cat:
        if cat is None:
            return {"files": [], "kinds": [], "top_reasons": []}
        files = cat.execute(
            "SELECT ingest_id, file, kind, status, rows_read, landed, rejected, duplicates, "
            "CAST(started_at AS VARCHAR), message FROM ingest_log ORDER BY ingest_id DESC LIMIT ?",
            [limit],
        ).fetchall()
        kinds = cat.execute(
            "SELECT kind, count(*), sum(rows_read), sum(landed), sum(rejected), sum(duplicates) "
            "FROM ingest_log WHERE status = 'committed' GROUP BY kind ORDER BY kind"
        ).fetchall()
        lake = cat.execute(
            "SELECT kind, sum(rows), count(*) FROM lake_files GROUP BY kind ORDER BY kind"
        ).fetchall()
    names = (
        "ingest_id",
        "file",
        "kind",
        "status",
        "rows_read",
        "landed",
        "rejected",
        "duplicates",
        "started_at",
        "message",
    )
    return {
        "files": [dict(zip(names, row, strict=True)) for row in files],
        "kinds": [
            dict(zip(("kind", "ingests", "rows_read", "landed", "rejected", "duplicates"), row, strict=True))
            for row in kinds
        ],
        "lake": [dict(zip(("kind", "rows", "files"), row, strict=True)) for row in lake],
        "top_reasons": top_reasons(settings),
    }
