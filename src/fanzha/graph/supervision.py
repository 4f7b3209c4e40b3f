"""Supervision models (法律监督模型): saved, versioned, re-runnable data-collision queries.

A model is a SQL query (DuckDB dialect, ``$name`` parameters) with its default parameters, a
description, the tables it needs, and the metrics of its last run. Models live as JSON files under
``<settings.home>/supervision/<name>/v<N>.json``; saving a model whose query, parameters or
description changed writes version N+1, and every run updates ``last_run`` of the version it ran.
The four built-in models are saved as version 1 on first use.

"Charged" (已起诉 / 已处理): a person is charged when their ID number is in table ``charged``
(``id_number`` and optionally ``case_id, charged_at``: the procuratorate's own list, landed like any
record table or given with ``fanzha supervise run … --charged FILE``). Without that table nobody is
charged, and model (a) lists every repeat card seller.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from fanzha.engine.base import Engine
from fanzha.errors import ConfigError, NotFoundError

UNPROSECUTED = """
WITH named AS (
    SELECT case_id, region, 'phone:' || x AS item
    FROM (SELECT case_id, region, unnest(suspect_phones) AS x FROM cases)
    UNION ALL SELECT case_id, region, 'account:' || x
    FROM (SELECT case_id, region, unnest(suspect_accounts) AS x FROM cases)),
owned AS (
    SELECT 'phone:' || number AS item, owner_id FROM phone_cards WHERE owner_id IS NOT NULL
    UNION ALL SELECT 'account:' || account_no, owner_id FROM accounts
    WHERE owner_id IS NOT NULL AND account_type = 'personal'),
hits AS (
    SELECT o.owner_id AS id_number, count(DISTINCT n.case_id) AS n_cases,
           list(DISTINCT n.case_id ORDER BY n.case_id) AS cases, list(DISTINCT n.item ORDER BY n.item) AS identifiers,
           list(DISTINCT n.region ORDER BY n.region) FILTER (WHERE n.region IS NOT NULL) AS regions
    FROM named n JOIN owned o USING (item) GROUP BY o.owner_id)
SELECT h.*, 'cards or accounts of this person appear in ' || h.n_cases || ' cases and the person is not charged'
       AS evidence
FROM hits h
WHERE h.n_cases >= $min_cases
  AND h.id_number NOT IN (SELECT id_number FROM charged)
  AND h.id_number NOT IN (SELECT victim_id FROM cases)
ORDER BY h.n_cases DESC, h.id_number
"""

STUDENT_CARDS = """
WITH fraud AS (
    SELECT unnest(suspect_phones) AS number, case_id FROM cases),
cards AS (
    SELECT p.id_number, p.name, p.region, pc.number, pc.opened_at, pc.outlet,
           f.case_id IS NOT NULL AS used_by_fraud
    FROM people p JOIN phone_cards pc ON pc.owner_id = p.id_number
    LEFT JOIN (SELECT DISTINCT number, first(case_id) AS case_id FROM fraud GROUP BY number) f USING (number)
    WHERE p.is_student)
SELECT id_number, any_value(name) AS name, any_value(region) AS region, count(*) AS n_cards,
       count(*) FILTER (WHERE used_by_fraud) AS n_fraud_cards,
       list(number ORDER BY opened_at) AS numbers,
       coalesce(list(number ORDER BY number) FILTER (WHERE used_by_fraud), []) AS fraud_numbers,
       'student holds ' || count(*) || ' phone cards, ' || count(*) FILTER (WHERE used_by_fraud)
       || ' named in fraud cases' AS evidence
FROM cards GROUP BY id_number
HAVING count(*) >= $max_cards OR count(*) FILTER (WHERE used_by_fraud) >= $min_fraud_cards
ORDER BY n_fraud_cards DESC, n_cards DESC, id_number
"""

CROSS_DISTRICT = """
SELECT g.group_id, count(*) AS n_cases, count(DISTINCT c.region) AS n_regions,
       list(DISTINCT c.region ORDER BY c.region) AS regions, list(c.case_id ORDER BY c.case_id) AS cases,
       sum(c.loss_fen)::BIGINT AS loss_fen, any_value(g.identifiers) AS identifiers,
       'linked cases reported in ' || count(DISTINCT c.region) || ' districts: ' ||
       array_to_string(list(DISTINCT c.region ORDER BY c.region), ', ') AS evidence
FROM case_groups g JOIN cases c USING (case_id)
WHERE c.region IS NOT NULL
GROUP BY g.group_id
HAVING count(DISTINCT c.region) >= $min_regions
ORDER BY n_regions DESC, n_cases DESC, g.group_id
"""

CARD_UPKEEP = """
WITH named AS (
    SELECT number, list(DISTINCT case_id ORDER BY case_id) AS cases
    FROM (SELECT unnest(suspect_phones) AS number, case_id FROM cases) GROUP BY number),
paid AS (
    SELECT DISTINCT pa.owner_id AS id_number, t.number, pc.owner_id AS card_owner
    FROM topups t JOIN accounts pa ON pa.account_no = t.payer_account
    JOIN phone_cards pc ON pc.number = t.number
    WHERE pa.owner_id IS NOT NULL AND pc.owner_id IS DISTINCT FROM pa.owner_id)
SELECT p.id_number, count(DISTINCT p.number) AS n_cards, count(DISTINCT p.card_owner) AS n_owners,
       count(DISTINCT p.number) FILTER (WHERE n.cases IS NOT NULL) AS n_fraud_cards,
       list(DISTINCT p.number ORDER BY p.number) AS numbers,
       coalesce(list_sort(list_distinct(flatten(list(n.cases) FILTER (WHERE n.cases IS NOT NULL)))), []) AS cases,
       'accounts of this person topped up ' || count(DISTINCT p.number) || ' phone cards of '
       || count(DISTINCT p.card_owner) || ' other people, ' || count(DISTINCT p.number) FILTER (WHERE n.cases IS NOT NULL)
       || ' named in fraud cases; not charged' AS evidence
FROM paid p LEFT JOIN named n USING (number)
WHERE p.id_number NOT IN (SELECT id_number FROM charged)
GROUP BY p.id_number
HAVING count(DISTINCT p.number) >= $min_cards
   AND count(DISTINCT p.number) FILTER (WHERE n.cases IS NOT NULL) >= $min_fraud_cards
ORDER BY n_fraud_cards DESC, n_cards DESC, p.id_number
"""


@dataclass
class SupervisionModel:
    name: str
    sql: str
    params: dict[str, Any]
    description: str
    requires: list[str]  # tables; ``case_groups`` is produced by case linking before the run
    key: str  # the column that identifies one clue
    version: int = 1
    created_at: str = ""
    last_run: dict[str, Any] = field(default_factory=dict)

    def fingerprint(self) -> str:
        body = json.dumps(
            [self.sql.strip(), self.params, self.description], sort_keys=True, ensure_ascii=False
        )
        return hashlib.sha256(body.encode()).hexdigest()[:16]


BUILTIN = (
    SupervisionModel(
        "unprosecuted_card_sellers",
        UNPROSECUTED,
        {"min_cases": 2},
        "漏犯: people whose phone cards or bank accounts appear in at least $min_cases cases and who are not "
        "in the charged list (card sellers who should be prosecuted)",
        ["cases", "phone_cards", "accounts", "charged"],
        "id_number",
    ),
    SupervisionModel(
        "student_card_hoarders",
        STUDENT_CARDS,
        {"max_cards": 5, "min_fraud_cards": 1},
        "students holding ≥ $max_cards phone cards, or ≥ $min_fraud_cards cards later named in fraud cases "
        "(两卡: students recruited as card farmers)",
        ["people", "phone_cards", "cases"],
        "id_number",
    ),
    SupervisionModel(
        "cross_district_links",
        CROSS_DISTRICT,
        {"min_regions": 2},
        "串并案 groups whose cases were reported in ≥ $min_regions districts (cross-district gangs that no "
        "single district sees whole)",
        ["cases", "case_groups"],
        "group_id",
    ),
    SupervisionModel(
        "card_upkeep_payers",
        CARD_UPKEEP,
        {"min_cards": 3, "min_fraud_cards": 1},
        "卡头: people whose accounts top up ≥ $min_cards phone cards of other people (养卡, keeping cards "
        "alive for sale), ≥ $min_fraud_cards of them named in fraud cases, and who are not charged",
        ["cases", "topups", "accounts", "phone_cards", "charged"],
        "id_number",
    ),
)


class ModelStore:
    """Versioned model files under ``root`` (``<home>/supervision``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _versions(self, name: str) -> list[Path]:
        """The model's version files ``v<N>.json`` in order; other files in its folder are ignored."""
        if not re.fullmatch(r"[A-Za-z0-9_]+", name):  # a model name, never a path
            return []
        folder = self.root / name
        if not folder.is_dir():
            return []
        files = [p for p in folder.glob("v*.json") if re.fullmatch(r"v[0-9]+", p.stem)]
        return sorted(files, key=lambda p: int(p.stem[1:]))

    @staticmethod
    def _read(path: Path) -> SupervisionModel:
        try:
            return SupervisionModel(**json.loads(path.read_text(encoding="utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
            raise ConfigError(
                f"{path} is damaged ({type(exc).__name__}: {exc}); fix it or remove it to use the version before"
            ) from None

    def names(self) -> list[str]:
        self.install_builtin()
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self._versions(p.name))

    def load(self, name: str, version: int | None = None) -> SupervisionModel:
        self.install_builtin()
        versions = self._versions(name)
        if not versions:
            raise NotFoundError(f"no supervision model {name!r}; known: {', '.join(self.names())}")
        path = versions[-1] if version is None else self.root / name / f"v{version}.json"
        if not path.exists():
            raise NotFoundError(f"model {name!r} has no version {version}; latest is {versions[-1].stem}")
        return self._read(path)

    def save(self, model: SupervisionModel) -> SupervisionModel:
        """Write ``model``; a changed query / parameters / description becomes a new version."""
        versions = self._versions(model.name)
        if versions:
            latest = self._read(versions[-1])
            if latest.fingerprint() == model.fingerprint():
                return latest
            model.version = latest.version + 1
        model.created_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._write(model)
        return model

    def _write(self, model: SupervisionModel) -> None:
        path = self.root / model.name / f"v{model.version}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(model), ensure_ascii=False, indent=2), encoding="utf-8")

    def record_run(self, model: SupervisionModel, metrics: dict[str, Any]) -> None:
        model.last_run = metrics
        self._write(model)

    def install_builtin(self) -> None:
        for model in BUILTIN:
            if not self._versions(model.name):
                self.save(SupervisionModel(**asdict(model)))


def _ensure_tables(engine: Engine, model: SupervisionModel) -> None:
    if "charged" in model.requires and not engine.has_table("charged"):
        engine.register("charged", pd.DataFrame({"id_number": pd.Series([], dtype=object)}))
    missing = [t for t in model.requires if not engine.has_table(t)]
    if missing:
        hint = " (run case linking first: fanzha link)" if "case_groups" in missing else ""
        raise NotFoundError(f"model {model.name!r} needs tables {missing}{hint}")


def run_model(
    engine: Engine,
    store: ModelStore,
    name: str,
    params: dict[str, Any] | None = None,
    *,
    truth: set[str] | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run a model; returns the clue list and the metrics stored as its ``last_run``.

    ``truth``: keys known to be right (e.g. simulator card farmers) to measure precision.
    """
    model = store.load(name)
    unknown = set(params or {}) - set(model.params)
    if unknown:
        raise ConfigError(
            f"model {name!r} has no parameters {sorted(unknown)}; it takes {sorted(model.params)}"
        )
    for key, value in (params or {}).items():
        default = model.params[key]
        if isinstance(default, int | float) and not isinstance(default, bool):
            wrong = isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
            if wrong or (isinstance(default, int) and value != int(value)) or value < 0:
                kind = "a whole number ≥ 0" if isinstance(default, int) else "a number ≥ 0"
                raise ConfigError(
                    f"model {name!r}: parameter {key}={value!r} must be {kind} (default {default})"
                )
    values = {**model.params, **(params or {})}
    _ensure_tables(engine, model)
    clues = engine.frame(model.sql, values)
    if model.key not in clues.columns:
        raise ConfigError(
            f"model {name!r} v{model.version}: its query returns no {model.key!r} column (the clue key); "
            f"it returns {', '.join(map(str, clues.columns))}"
        )
    metrics: dict[str, Any] = {
        "run_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "version": model.version,
        "params": values,
        "hits": len(clues),
    }
    if truth is not None:
        right = int(clues[model.key].astype(str).isin(truth).sum()) if len(clues) else 0
        metrics["true_hits"] = right
        metrics["precision"] = round(right / len(clues), 4) if len(clues) else None
    store.record_run(model, metrics)
    return clues, metrics
