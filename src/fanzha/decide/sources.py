"""Loaders that build the in-memory snapshots: risk scores, the owner directory, and the detectors.

They run at start-up and in the background refresher, never on the request path. Each returns a new
object; the caller swaps it into :class:`~fanzha.decide.state.RiskState` with one assignment.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fanzha.decide.features import Scorer
from fanzha.decide.state import Directory, RiskScore, Scores
from fanzha.engine.base import Engine
from fanzha.settings import Settings

log = logging.getLogger(__name__)


def _file_version(path: Path) -> str:
    st = path.stat()
    digest = hashlib.sha256(f"{path.name}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:10]
    return f"{path.name}@{digest}"


def scores_stamp(settings: Settings) -> tuple[Any, ...]:
    """Cheap change detector for the published score files (mtime and size)."""
    stamps: list[tuple[int, int] | None] = []
    for name in ("numbers", "accounts"):
        path = settings.home / "scores" / f"{name}.parquet"
        try:
            st = path.stat()
            stamps.append((st.st_mtime_ns, st.st_size))
        except OSError:
            stamps.append(None)
    return tuple(stamps)


def _top_reason(reasons: object) -> str:
    """The code of the first reason that raises the score (weight > 0, or no weight given). A low
    score's reasons say what lowers it (weight < 0): none of them is "the top reason of the risk
    score" a lookup shows, so such a score shows none (before: a 0.000 account showed its strongest
    lowering feature's code as its top reason)."""
    import json

    if not isinstance(reasons, str) or not reasons:
        return ""
    try:
        parsed = json.loads(reasons)
    except ValueError:
        return ""
    if not isinstance(parsed, list):
        return ""
    for reason in parsed:
        if not isinstance(reason, dict):
            continue
        weight = reason.get("weight")
        if not isinstance(weight, int | float) or weight > 0:
            return str(reason.get("code", ""))
    return ""


def read_score_file(path: Path) -> dict[str, RiskScore]:
    """``id, probability, tier, reasons`` Parquet → id → RiskScore (the risk area's published scores)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=None)
    cols = set(table.column_names)
    ids = table.column("id").to_pylist()
    probs = table.column("probability").to_pylist()
    tiers = table.column("tier").to_pylist() if "tier" in cols else ["none"] * len(ids)
    reasons = table.column("reasons").to_pylist() if "reasons" in cols else [""] * len(ids)
    return {
        str(i): RiskScore(float(p or 0.0), str(t or "none"), _top_reason(r))
        for i, p, t, r in zip(ids, probs, tiers, reasons, strict=True)
        if i is not None
    }


def load_scores(settings: Settings) -> Scores:
    scores = Scores()
    folder = settings.home / "scores"
    for name in ("numbers", "accounts"):
        path = folder / f"{name}.parquet"
        if not path.exists():
            continue
        setattr(scores, name, read_score_file(path))
        setattr(scores, f"{name}_version", _file_version(path))
    return scores


def directory_from_rows(
    accounts: Iterable[dict[str, Any]], cards: Iterable[dict[str, Any]], version: str
) -> Directory:
    """Owner maps from ``accounts`` and ``phone_cards`` rows (contract column names)."""
    d = Directory(version=version)
    for row in accounts:
        if row.get("owner_id"):
            d.account_owner[row["account_no"]] = row["owner_id"]
        if row.get("bank"):
            d.account_bank[row["account_no"]] = row["bank"]
        if row.get("account_type"):
            d.account_type[row["account_no"]] = row["account_type"]
        opened = row.get("opened_at")
        if opened is not None and hasattr(opened, "timestamp"):
            d.account_opened[row["account_no"]] = opened.timestamp()
    for row in cards:
        owner = row.get("owner_id")
        if not owner:
            continue
        if row.get("status", "active") != "closed":
            d.phone_owner[row["number"]] = owner
        d.cards_of.setdefault(owner, []).append(
            {
                "number": row["number"],
                "carrier": row.get("carrier"),
                "card_type": row.get("card_type"),
                "status": row.get("status"),
                "opened_at": row.get("opened_at"),
            }
        )
    return d


def load_directory(engine: Engine) -> Directory:
    """Read the owner directory from the lake tables ``accounts`` and ``phone_cards`` if present."""
    have = set(engine.tables())
    accounts: list[dict[str, Any]] = []
    cards: list[dict[str, Any]] = []
    if "accounts" in have:
        accounts = engine.query(
            "SELECT account_no, owner_id, bank, account_type, opened_at FROM accounts"
        ).to_pylist()
    if "phone_cards" in have:
        cards = engine.query(
            "SELECT number, owner_id, carrier, card_type, status, opened_at FROM phone_cards ORDER BY opened_at"
        ).to_pylist()
    version = f"lake:{len(accounts)}a/{len(cards)}c"
    return directory_from_rows(accounts, cards, version)


def lake_directory(settings: Settings) -> Directory:
    """The directory from the landed lake (ingest area), or an empty one when nothing is landed."""
    from fanzha.demo import module_exists

    if not module_exists("fanzha.ingest.lake"):
        return Directory()
    from fanzha.engine import get_engine
    from fanzha.ingest.lake import attach_lake

    engine = get_engine(settings)
    try:
        attach_lake(engine, settings)
        return load_directory(engine)
    except Exception as exc:  # a broken lake must not stop the decision service from starting
        log.warning("owner directory not loaded from the lake: %s", exc)
        return Directory()
    finally:
        engine.close()


def _pick_probability(result: Any) -> tuple[float, str]:
    """Accept the shapes a detector may return for one item: float, dict, tuple or a score frame."""
    if isinstance(result, int | float):
        return float(result), ""
    if isinstance(result, dict):
        return float(result.get("probability", 0.0)), str(
            result.get("fraud_type") or result.get("tier") or ""
        )
    if isinstance(result, tuple):
        return float(result[0]), str(result[1]) if len(result) > 1 else ""
    if hasattr(result, "iloc"):  # a score DataFrame
        row = result.iloc[0]
        label = row.get("fraud_type") if hasattr(row, "get") else None
        return float(row["probability"]), str(label or row.get("tier") or "")
    p = getattr(result, "probability", 0.0)
    return float(p), str(getattr(result, "fraud_type", "") or "")


def make_scorer(detector: Any, column: str, version: str) -> Scorer:
    """Wrap a text / URL detector as ``item → (probability, label, version)`` for one item."""
    import pandas as pd

    single = (
        getattr(detector, "score_text", None)
        or getattr(detector, "score_url", None)
        or getattr(detector, "score_one", None)
    )

    def score(item: str) -> tuple[float, str, str]:
        try:
            if single is not None:
                p, label = _pick_probability(single(item))
            else:
                p, label = _pick_probability(detector.score(pd.DataFrame({"id": ["x"], column: [item]})))
        except ValueError:  # an item the detector refuses (empty text, unparsable URL) carries no signal
            return 0.0, "", version
        except Exception:  # a detector bug must not fail the decision: logged, scored as no signal
            log.exception("%s detector failed on one item; scored 0", version)
            return 0.0, "", version
        if p != p:  # NaN
            p = 0.0
        return min(max(p, 0.0), 1.0), label, version

    return score


def load_detectors(settings: Settings) -> tuple[Scorer | None, Scorer | None, dict[str, str]]:
    """The texts area's default text and URL detectors, when that area and its models are present."""
    from fanzha.demo import module_exists

    if not module_exists("fanzha.texts"):
        return None, None, {}
    import fanzha.texts as texts

    scorers: list[Scorer | None] = []
    versions: dict[str, str] = {}
    for name, column, factory in (
        ("text", "text", "default_text_detector"),
        ("url", "url", "default_url_detector"),
    ):
        make = getattr(texts, factory, None)
        if make is None:
            scorers.append(None)
            continue
        try:
            detector = make(settings) if _takes_settings(make) else make()
        except Exception as exc:  # a missing model leaves the rule inputs at zero, reported in versions
            log.warning("%s detector unavailable: %s", name, exc)
            versions[name] = "unavailable"
            scorers.append(None)
            continue
        meta = getattr(detector, "meta_", None)
        versions[name] = f"{getattr(detector, 'name', name)}@{getattr(meta, 'created', 'builtin')}"
        # campaigns repeat the same texts and URLs: a bounded cache keeps the hot path in microseconds
        scorers.append(functools.lru_cache(maxsize=200_000)(make_scorer(detector, column, versions[name])))
    return scorers[0], scorers[1], versions


def _takes_settings(func: Any) -> bool:
    import inspect

    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return any(p in params for p in ("settings",)) or (len(params) > 0 and "settings" in params)
