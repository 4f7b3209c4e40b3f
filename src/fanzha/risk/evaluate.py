"""Evaluation of the number and account detectors: cross-validated metrics on real and simulated data.

Every evaluation is an outer cross-validation: each fold's detector is fitted on the other folds
only (its own inner cross-validation picks calibration and threshold on those), then scores the
held-out fold. Related rows stay on the same side of every split: accounts of one AMLSim laundering
alert, numbers or accounts of one simulated gang.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fanzha.detect.folds import stratified_group_folds
from fanzha.engine.base import Engine
from fanzha.errors import NotFoundError, ValidationError
from fanzha.risk.model import AccountDetector, GBDTDetector, NumberDetector

if TYPE_CHECKING:
    from fanzha.risk.pipeline import Windows

NUMBER_ROLES = ("fraud_number", "sim_farm_number")
ACCOUNT_ROLES = ("mule_account",)
AMLSIM_LAYOUT = {
    "from_col": "orig_acct",
    "to_col": "bene_acct",
    "amount_col": "amount",
    "time_col": "tran_timestamp",
    "id_col": "tran_id",
    "amount_unit": "yuan",
}


def metrics(y: np.ndarray, p: np.ndarray, flagged: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import (
        average_precision_score,
        f1_score,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    return {
        "rows": len(y),
        "positives": int(y.sum()),
        "precision": float(precision_score(y, flagged, zero_division=0)),
        "recall": float(recall_score(y, flagged, zero_division=0)),
        "f1": float(f1_score(y, flagged, zero_division=0)),
        "roc_auc": float(roc_auc_score(y, p)),
        "average_precision": float(average_precision_score(y, p)),
        # are the probabilities probabilities? (out of fold: each fold's model calibrated itself)
        "brier": float(np.mean((p - y) ** 2)),
        "ece": float(
            sum(b["rows"] * abs(b["mean_probability"] - b["fraud_rate"]) for b in reliability(y, p)) / len(y)
        )
        if len(y)
        else float("nan"),
    }


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """The reliability table of probabilities ``p`` against outcomes ``y``: per probability band of
    width 1 / ``bins`` that holds any row, its rows, mean probability and observed fraud rate (for
    calibrated probabilities the last two agree). Its row-weighted mean gap is the expected
    calibration error (``ece`` in :func:`metrics`)."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    band = np.minimum((p * bins).astype(int), bins - 1)
    table = []
    for b in np.unique(band):
        inside = band == b
        table.append(
            {
                "band": f"{b / bins:.1f}–{(b + 1) / bins:.1f}",
                "rows": int(inside.sum()),
                "mean_probability": float(p[inside].mean()),
                "fraud_rate": float(y[inside].mean()),
            }
        )
    return table


def cross_validate(
    make: Callable[[], GBDTDetector],
    frame: pd.DataFrame,
    y: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    folds: int = 5,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold probabilities and flags (probability ≥ the fold model's own threshold)."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(y, dtype=int)
    smallest = int(np.bincount(y, minlength=2).min()) if len(y) else 0
    most = smallest if groups is None else min(smallest, len(np.unique(groups)))
    if not 2 <= folds <= most:
        unit = "rows of the smaller class" if groups is None else "groups or rows of the smaller class"
        raise ValidationError(
            f"{folds}-fold cross-validation needs 2 ≤ folds ≤ the {unit} ({most}); give fewer --folds "
            "or more labelled rows"
        )
    if groups is None:
        splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(frame, y)
    else:
        splits = stratified_group_folds(y, groups, folds, seed)  # scikit-learn's folds, compiled
    p, flagged = np.zeros(len(y)), np.zeros(len(y), dtype=bool)
    for k, (train, test) in enumerate(splits):
        detector = make().fit(frame.iloc[train], y[train], groups=None if groups is None else groups[train])
        # the probabilities alone: the reasons of out-of-fold rows are read by nobody (before: 17 % of
        # ``fanzha eval accounts`` on a 100,000-person city went into them)
        p[test] = detector.probability(frame.iloc[test])
        flagged[test] = p[test] >= detector.threshold_
        if progress:
            progress(k + 1)
    return p, flagged


# -- Sichuan (operator feature table) ---------------------------------------------------------------
def eval_sichuan(
    path: Path, *, folds: int = 5, progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    if not path.exists():
        raise NotFoundError(f"{path} not found; pass the folder holding sichuan-numbers/numbers_train.csv")
    frame = pd.read_csv(path)
    y = _checked_table(frame, path)
    p, flagged = cross_validate(
        lambda: NumberDetector(id_col="phone_no_m", label_col="label"),
        frame,
        y,
        folds=folds,
        progress=progress,
    )
    return {
        "data": str(path),
        "method": f"{folds}-fold stratified CV",
        **metrics(y, p, flagged),
        "reliability": reliability(y, p),
    }


def _checked_table(frame: pd.DataFrame, path: Path) -> np.ndarray:
    """The checks ``fanzha train numbers`` makes, on the whole file before any fold: its id and
    label columns, one row per id, yes/no labels, and the values (a bad one named by its file row)."""
    import pyarrow as pa

    from fanzha.risk.matrix import apply_plan, plan_columns
    from fanzha.risk.partner import labels_to_binary
    from fanzha.risk.pipeline import _check_table_ids

    for column in ("phone_no_m", "label"):
        if column not in frame.columns:
            raise ValidationError(
                f"{path}: no column {column!r}; the Sichuan table has phone_no_m, the features and label",
                field=column,
            )
    _check_table_ids(frame, "phone_no_m", str(path))
    raw = pa.table(
        {
            "id": frame["phone_no_m"].astype(str),
            "raw_label": frame["label"].astype(str).str.strip().str.lower(),
        }
    )
    y = labels_to_binary(raw, str(path)).column("label").to_numpy()
    features = frame.drop(columns=["phone_no_m", "label"])
    apply_plan(features, plan_columns(features))
    return np.asarray(y, dtype=int)


# -- AMLSim (partner transfer file) -----------------------------------------------------------------
def amlsim_frame(engine: Engine, folder: Path) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Account features from AMLSim's raw transfer file, labels, and alert groups."""
    from fanzha.risk.features_accounts import account_features
    from fanzha.risk.partner import TransferLayout, load_transfers

    tx = folder / "transactions.csv.gz"
    if not tx.exists():
        raise NotFoundError(f"{tx} not found; pass the amlsim-world0 folder")
    load_transfers(engine, tx, TransferLayout(**AMLSIM_LAYOUT))  # type: ignore[arg-type]
    q = lambda p: "'" + str(folder / p) + "'"  # noqa: E731
    engine.execute(
        f"""CREATE OR REPLACE TEMP TABLE accounts AS SELECT trim(CAST(acct_id AS VARCHAR)) AS account_no,
            bank_id AS bank, CAST(in_laundering_tx AS INTEGER) AS label FROM read_csv({q("account_labels.csv.gz")})"""
    )
    features = account_features(engine, window_days=None).to_pandas()
    # an alert's accounts form one group; an account in several alerts joins them (smallest id wins)
    groups = engine.query(
        f"""WITH l AS (SELECT tran_id, alert_id FROM read_csv({q("tx_labels.csv.gz")}) WHERE alert_id >= 0),
            t AS (SELECT tran_id, orig_acct, bene_acct FROM read_csv({q("transactions.csv.gz")}))
            SELECT CAST(acct AS VARCHAR) AS id, 'alert-' || CAST(min(alert_id) AS VARCHAR) AS grp FROM (
              SELECT orig_acct AS acct, alert_id FROM t JOIN l USING (tran_id)
              UNION ALL SELECT bene_acct, alert_id FROM t JOIN l USING (tran_id)) GROUP BY acct"""
    ).to_pandas()
    labels = engine.query("SELECT account_no AS id, label FROM accounts").to_pandas()
    frame = labels.merge(features, on="id", how="left").merge(groups, on="id", how="left")
    grp = frame.pop("grp").fillna(frame["id"]).to_numpy()
    y = frame.pop("label").to_numpy()
    return frame, y, grp


def eval_amlsim(
    engine: Engine, folder: Path, *, folds: int = 5, progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    frame, y, groups = amlsim_frame(engine, folder)
    p, flagged = cross_validate(AccountDetector, frame, y, groups=groups, folds=folds, progress=progress)
    return {
        "data": str(folder),
        "method": f"{folds}-fold CV grouped by laundering alert",
        **metrics(y, p, flagged),
        "reliability": reliability(y, p),
    }


# -- simulator truth -----------------------------------------------------------------------------------
def register_sim(engine: Engine, sim_dir: Path) -> list[str]:
    """Register the simulator's record folders as tables (one per kind)."""
    from fanzha.records.contracts import KINDS

    kinds = []
    for kind in KINDS:  # every record kind, so a new one needs no entry here
        files = sorted((sim_dir / kind).glob("*.parquet"))
        if files:
            engine.register_parquet(kind, files)
            kinds.append(kind)
    return kinds


def truth_labels(sim_dir: Path, prefix: str, roles: tuple[str, ...]) -> pd.DataFrame:
    """``id, label, role, gang_id`` for the entities of one kind (``phone`` / ``account``) in the truth."""
    path = sim_dir / "truth" / "entities.parquet"
    if not path.exists():
        raise NotFoundError(f"{path} not found: is {sim_dir} a `fanzha simulate` output folder?")
    ent = pd.read_parquet(path, columns=["entity", "role", "gang_id"])
    ent = ent[ent["entity"].str.startswith(prefix + ":") & ent["role"].isin(roles)]
    ent = ent.assign(id=ent["entity"].str.split(":", n=1).str[1], label=1).drop_duplicates("id")
    return ent[["id", "label", "role", "gang_id"]]


def labelled(features: pd.DataFrame, truth: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    frame = features.merge(truth, on="id", how="left")
    y = frame.pop("label").fillna(0).to_numpy(dtype=int)
    gang = frame.pop("gang_id")
    groups = np.where(gang.notna(), "gang-" + gang.astype(str), frame["id"].astype(str))
    frame = frame.drop(columns=["role"])
    return frame, y, groups


def truth_model(engine: Engine, sim_dir: Path, what: str) -> tuple[Any, pd.DataFrame, np.ndarray]:
    """The demo's model of ``what`` (numbers / accounts) trained on a simulated city's truth (30-day
    features, calibration cross-validated by gang), with the labelled feature table and labels."""
    from fanzha.risk.model import AccountDetector, NumberDetector
    from fanzha.risk.pipeline import features_from_tables

    prefix, roles, make = (
        ("phone", NUMBER_ROLES, NumberDetector)
        if what == "numbers"
        else ("account", ACCOUNT_ROLES, AccountDetector)
    )
    frame, y, groups = labelled(features_from_tables(engine, what, 30), truth_labels(sim_dir, prefix, roles))
    return make(cv=3, n_estimators=150, learning_rate=0.1).fit(frame, y, groups=groups), frame, y


def eval_simulated(
    engine: Engine,
    sim_dir: Path,
    kind: str,
    *,
    folds: int = 5,
    progress: Callable[[int], None] | None = None,
    window_days: Windows = 30,
) -> dict[str, Any]:
    """Train-on-truth CV on a simulated city, grouped by gang; AP per role too. ``window_days``:
    one feature window or several side by side (:func:`fanzha.risk.pipeline.features_from_tables`)."""
    from fanzha.risk.pipeline import features_from_tables, window_list, window_suffix

    register_sim(engine, sim_dir)
    features = features_from_tables(engine, kind, window_days)
    prefix, roles, make = (
        ("phone", NUMBER_ROLES, NumberDetector)
        if kind == "numbers"
        else ("account", ACCOUNT_ROLES, AccountDetector)
    )
    truth = truth_labels(sim_dir, prefix, roles)
    frame, y, groups = labelled(features, truth)
    p, flagged = cross_validate(make, frame, y, groups=groups, folds=folds, progress=progress)
    result: dict[str, Any] = {
        "data": str(sim_dir),
        "method": f"{folds}-fold CV grouped by gang",
        **metrics(y, p, flagged),
        "reliability": reliability(y, p),
    }
    from sklearn.metrics import average_precision_score

    ent = pd.read_parquet(sim_dir / "truth" / "entities.parquet", columns=["entity", "role"])
    for role in roles:  # an entity may hold several roles (a fraud number on a SIM farm)
        members = set(ent.loc[ent["role"] == role, "entity"].str.split(":", n=1).str[1])
        is_role = frame["id"].isin(members).to_numpy()
        keep = is_role | (y == 0)
        if is_role.any() and keep.sum() > is_role.sum():
            result[f"average_precision_{role}"] = float(average_precision_score(is_role[keep], p[keep]))
    if kind == "accounts":  # bought cards that moved no money yet have only their opening to go by
        longest = "" if "in_n" in frame.columns else window_suffix(window_list(window_days)[-1])
        active = (frame[f"in_n{longest}"] + frame[f"out_n{longest}"]).to_numpy() > 0
        result["mules_without_transfers"] = int((~active & (y == 1)).sum())
        if y[active].any() and not y[active].all():
            result["average_precision_active"] = float(average_precision_score(y[active], p[active]))
        # the dealer's unsold stock: cards opened for sale in a gang's batch that the gang did not
        # take. Neither mules nor legitimate accounts, and built exactly like the idle bought
        # cards: a second CV leaves them out of training and testing
        stock = set(ent.loc[ent["role"] == "unsold_card", "entity"].str.split(":", n=1).str[1])
        unsold = frame["id"].isin(stock).to_numpy()
        result["unsold_cards"] = int(unsold.sum())
        if unsold.any():
            rest = ~unsold
            p_rest, _ = cross_validate(
                make, frame[rest].reset_index(drop=True), y[rest], groups=groups[rest], folds=folds
            )
            result["average_precision_without_unsold"] = float(average_precision_score(y[rest], p_rest))
    return result


AP_TARGET = 0.9  # the bar for the simulator: fraud numbers, SIM farms and mule accounts


def summarise_cities(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per average-precision figure of :func:`eval_simulated` over several cities: how many cities
    have it, mean, min, max and how many reach ``AP_TARGET`` (one city's AP moves by ±0.05 between
    seeds on a 2,000-person city: one city is no measurement of a detector)."""
    keys = sorted({k for r in results for k in r if k.startswith("average_precision")})
    summary: dict[str, Any] = {"cities": len(results)}
    for key in keys:
        values = np.array([r[key] for r in results if key in r], dtype=float)
        summary[key] = {
            "cities": len(values),
            "mean": float(values.mean()),
            "min": float(values.min()),
            "max": float(values.max()),
            "at_least_target": int((values >= AP_TARGET).sum()),
        }
    return summary


def write_json(result: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2), "utf-8")
    return path
