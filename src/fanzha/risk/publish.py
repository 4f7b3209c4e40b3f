"""Publishing risk scores for the other areas: ``<settings.home>/scores/<what>.parquet``.

Columns ``id, probability, tier, reasons`` with ``reasons`` as a JSON string of
``[{code, message, value, weight}]`` (docs/interfaces.md). Written to a temporary file and renamed,
so a reader (ops, API) never sees a half-written file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fanzha.detect.contract import SCORE_COLUMNS, reasons_text
from fanzha.errors import NotFoundError, ValidationError
from fanzha.settings import Settings

TARGETS = ("numbers", "accounts")


def scores_path(settings: Settings, what: str) -> Path:
    if what not in TARGETS:
        raise ValidationError(f"cannot publish {what!r}; choose one of {', '.join(TARGETS)}", value=what)
    return settings.home / "scores" / f"{what}.parquet"


def _table(scores: pd.DataFrame) -> pa.Table:
    missing = [c for c in SCORE_COLUMNS if c not in scores.columns]
    if missing:
        raise ValidationError(f"score table lacks {', '.join(missing)}", field=missing[0])
    return pa.table(
        {
            "id": pa.array(scores["id"].astype(str).tolist(), pa.string()),
            "probability": pa.array(scores["probability"].astype(float).tolist(), pa.float64()),
            "tier": pa.array(scores["tier"].astype(str).tolist(), pa.string()),
            "reasons": pa.array([json.dumps(r, ensure_ascii=False) for r in scores["reasons"]], pa.string()),
        }
    )


def publish_scores(scores: pd.DataFrame, what: str, settings: Settings) -> Path:
    path = scores_path(settings, what)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(_table(scores), tmp)
    tmp.replace(path)
    return path


def read_scores(what: str, settings: Settings) -> pd.DataFrame:
    """The published scores with ``reasons`` parsed back into lists of dicts."""
    path = scores_path(settings, what)
    if not path.is_file():
        raise NotFoundError(
            f"no {what} scores are published ({path} is missing); run `fanzha score {what} … --publish` first"
        )
    frame = pq.read_table(path).to_pandas()
    frame["reasons"] = frame["reasons"].map(json.loads)
    return frame


def write_csv(scores: pd.DataFrame, path: Path) -> Path:
    """``id, probability, tier, reasons`` (readable reasons) plus the JSON reasons for machines."""
    out = scores[["id", "probability", "tier"]].copy()
    out["reasons"] = scores["reasons"].map(reasons_text)
    out["reasons_json"] = scores["reasons"].map(lambda r: json.dumps(r, ensure_ascii=False))
    if "flagged" in scores.columns:
        out["flagged"] = scores["flagged"]
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index=False)
    return path
