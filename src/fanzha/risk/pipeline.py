"""Where a detector's rows come from: the lake, a simulator folder, a ready feature table, or a
partner's raw transfer file — and where its labels come from. Shared by the CLI and the demo.

``data`` may be:

- ``lake``: the committed lake (``fanzha ingest``) — features are computed from the record tables;
- a folder with one sub-folder per record kind (``fanzha simulate`` output) — same, and its
  ``truth/`` gives labels when no labels file is given;
- a CSV / Parquet file: a ready feature table (one row per id, e.g. the operator hand-over
  ``numbers_train.csv``), or raw call records when it has the call columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fanzha.engine.base import Engine
from fanzha.errors import InputFileError, NotFoundError, ValidationError
from fanzha.risk.partner import (
    TransferLayout,
    file_columns,
    labels_to_binary,
    load_calls,
    load_labels,
    load_transfers,
    read_table,
)
from fanzha.settings import Settings

KINDS = ("numbers", "accounts")


@dataclass
class Rows:
    """Feature rows ready for a detector, and labels when known."""

    frame: pd.DataFrame
    id_col: str
    labels: np.ndarray | None = None
    source: str = ""
    note: str = ""

    def labelled(self) -> np.ndarray:
        if self.labels is None:
            raise ValidationError(
                f"no labels for {self.source}: give --label COL (feature table) or --labels FILE "
                "(--id-col / --label-col)",
                field="label",
            )
        return self.labels


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValidationError(f"unknown target {kind!r}; choose numbers or accounts", value=kind)


Windows = int | tuple[int | None, ...] | None


def window_list(window_days: Windows) -> list[int | None]:
    """Windows in days, shortest first (``None``: everything up to the scoring time), each once."""
    values = list(window_days) if isinstance(window_days, tuple) else [window_days]
    for w in values:
        if w is not None and w < 1:
            raise ValidationError(f"window {w} days: give whole days ≥ 1 (0 / None = everything)", value=w)
    return sorted(set(values), key=lambda w: (w is None, w or 0))


def window_suffix(window_days: int | None) -> str:
    """Column suffix of a feature over several windows: ``_7d``, or ``_all`` for everything."""
    return "_all" if window_days is None else f"_{window_days}d"


def features_from_tables(engine: Engine, kind: str, window_days: Windows) -> pd.DataFrame:
    """Feature rows of ``kind`` over one window (plain column names) or several.

    Over several windows (e.g. 1, 7 and 30 days: a number that suddenly calls many people today
    against its month) every windowed feature appears once per window with the window's suffix
    (``out_calls_1d`` … ``out_calls_30d``); features that do not depend on the window (card age,
    cards per owner ID, accounts per owner …) appear once, unsuffixed. A row absent from a short
    window has counts 0 there and its other features missing.
    """
    from fanzha.risk.features_accounts import ACCOUNT_COUNTS, ACCOUNT_STATIC, LOGIN_COUNTS, account_features
    from fanzha.risk.features_numbers import NUMBER_COUNTS, NUMBER_STATIC, number_features

    _check_kind(kind)
    compute, counts, static = (
        (number_features, NUMBER_COUNTS, NUMBER_STATIC)
        if kind == "numbers"
        else (account_features, ACCOUNT_COUNTS + LOGIN_COUNTS, ACCOUNT_STATIC)
    )
    windows = window_list(window_days)
    if len(windows) == 1:
        return compute(engine, window_days=windows[0]).to_pandas()
    frames = [compute(engine, window_days=w).to_pandas().set_index("id") for w in windows]
    fixed = pd.concat([f[[c for c in f.columns if c in static]] for f in frames])
    fixed = fixed[~fixed.index.duplicated(keep="last")]  # the same values in every window
    parts = [fixed]
    for w, frame in zip(windows, frames, strict=True):
        moving = frame.drop(columns=[c for c in frame.columns if c in static])
        parts.append(moving.add_suffix(window_suffix(w)))
    wide = pd.concat(parts, axis=1, join="outer").sort_index()
    zero = [f"{c}{window_suffix(w)}" for w in windows for c in counts]
    zero = [c for c in zero if c in wide.columns]
    wide[zero] = wide[zero].fillna(0)
    return wide.rename_axis("id").reset_index()


def attach_lake(engine: Engine, settings: Settings) -> list[str]:
    try:
        from fanzha.ingest.lake import attach_lake as attach
    except ImportError as exc:  # the ingest area is optional for the risk area
        raise NotFoundError("the lake is not available (fanzha.ingest is not installed)") from exc
    kinds = attach(engine, settings)
    if not kinds:
        raise NotFoundError(f"the lake at {settings.lake} is empty; run `fanzha ingest` first")
    return kinds


def register_folder(engine: Engine, folder: Path) -> list[str]:
    from fanzha.risk.evaluate import register_sim

    kinds = register_sim(engine, folder)
    if not kinds:
        raise InputFileError(f"{folder} has no record-kind folders (calls/, transfers/ …) with Parquet files")
    return kinds


def truth_rows(frame: pd.DataFrame, folder: Path, kind: str) -> np.ndarray:
    from fanzha.risk.evaluate import ACCOUNT_ROLES, NUMBER_ROLES, truth_labels

    prefix, roles = ("phone", NUMBER_ROLES) if kind == "numbers" else ("account", ACCOUNT_ROLES)
    truth = truth_labels(folder, prefix, roles)
    return frame["id"].isin(set(truth["id"])).to_numpy(dtype=int)


def join_labels(frame: pd.DataFrame, id_col: str, labels: pd.DataFrame, source: str) -> np.ndarray:
    """Labels for the rows of ``frame``; ids without a label count as normal (0), and we say how many."""
    known = dict(zip(labels["id"].astype(str), labels["label"].astype(int), strict=True))
    ids = frame[id_col].astype(str)
    matched = ids.isin(known.keys())
    if not matched.any():
        raise ValidationError(
            f"none of the {len(ids)} ids in the data appears in the labels file {source}; check --id-col",
            field="id",
        )
    return ids.map(known).fillna(0).to_numpy(dtype=int)


def _check_table_ids(frame: pd.DataFrame, fid: str, source: str) -> None:
    """A feature table has one row per id, and every row an id."""
    ids = frame[fid].astype("string").str.strip()
    empty = ids.isna() | (ids == "")
    if empty.any():
        raise ValidationError(
            f"{source}: {int(empty.sum())} row(s) have an empty id in column {fid!r} (the first is data row "
            f"{int(empty.to_numpy().argmax()) + 1}); every row needs one",
            field=fid,
        )
    repeated = ids[ids.duplicated(keep=False)]
    if len(repeated):
        counts = repeated.value_counts()
        raise ValidationError(
            f"{source}: {len(counts)} id(s) appear on more than one row, e.g. {counts.index[0]!r} "
            f"{int(counts.iloc[0])} times; a feature table has one row per id",
            field=fid,
            value=str(counts.index[0]),
        )


def load_rows(
    engine: Engine,
    settings: Settings,
    kind: str,
    *,
    data: str | None = None,
    transfers: Path | None = None,
    layout: TransferLayout | None = None,
    id_col: str | None = None,
    label_col: str | None = None,
    labels_file: Path | None = None,
    labels_id_col: str = "id",
    labels_label_col: str = "label",
    window_days: Windows = 30,
    max_rejected: float = 0.01,
    rejected_out: Path | None = None,
    truth: bool = True,
) -> Rows:
    """Feature rows (and labels, when given) for ``kind`` from one of the supported sources.
    ``truth``: a simulator folder's truth/ labels the rows when no labels are given (training).
    ``max_rejected`` / ``rejected_out``: for a raw transfer or call file (:func:`load_transfers`,
    :func:`load_calls`)."""
    _check_kind(kind)
    note = ""
    if transfers is not None:
        if data is not None:
            raise ValidationError(
                "give --data or --transfers, not both: --transfers FILE computes the features from the "
                "partner's transfers, --data reads a lake, folder or feature table",
                field="data",
            )
        if kind != "accounts":
            raise ValidationError("--transfers is for accounts; numbers take --data", field="transfers")
        report = load_transfers(
            engine,
            transfers,
            layout or TransferLayout(),
            max_reject_share=max_rejected,
            rejected_out=rejected_out,
        )
        note = report.summary()
        frame, fid, source = features_from_tables(engine, kind, window_days), "id", str(transfers)
    elif data is None:
        raise ValidationError("give --data (lake, a folder or a file) or --transfers FILE", field="data")
    elif data == "lake":
        attach_lake(engine, settings)
        frame, fid, source = features_from_tables(engine, kind, window_days), "id", f"lake {settings.lake}"
    elif Path(data).is_dir():
        register_folder(engine, Path(data))
        frame, fid, source = features_from_tables(engine, kind, window_days), "id", data
    elif Path(data).is_file():
        if kind == "numbers" and {"caller", "callee", "start_at"} <= set(file_columns(engine, data)):  # calls
            report = load_calls(engine, data, max_reject_share=max_rejected, rejected_out=rejected_out)
            note = report.summary()
            frame, fid, source = features_from_tables(engine, kind, window_days), "id", data
        else:  # a ready feature table
            frame, source = read_table(engine, data).to_pandas(), data
            fid = id_col or "id"
            if fid not in frame.columns:
                raise ValidationError(
                    f"{data}: id column {fid!r} not found; name it with --id (columns: "
                    f"{', '.join(frame.columns[:10])} …)",
                    field=fid,
                )
            _check_table_ids(frame, fid, data)
    else:
        raise InputFileError(f"--data {data!r} is neither 'lake', a folder nor a file")
    if frame.empty:
        raise ValidationError(f"{source}: no rows to work on (empty table or window)")
    labels = None
    if labels_file is not None:
        table = load_labels(engine, labels_file, id_col=labels_id_col, label_col=labels_label_col)
        known = table.to_pandas()
        labels = join_labels(frame, fid, known, str(labels_file))
        unlabelled = int((~frame[fid].astype(str).isin(set(known["id"].astype(str)))).sum())
        if unlabelled:
            said = f"{unlabelled:,} of the {len(frame):,} rows have no label in {labels_file}: counted as normal (0)"
            note = (note + "; " if note else "") + said
    elif label_col is not None:
        if label_col not in frame.columns:
            raise ValidationError(f"{source}: label column {label_col!r} not found", field=label_col)
        import pyarrow as pa

        raw = pa.table(
            {"id": frame[fid].astype(str), "raw_label": frame[label_col].astype(str).str.strip().str.lower()}
        )
        labels = labels_to_binary(raw, source).column("label").to_numpy()
        frame = frame.drop(columns=[label_col])
    elif truth and data is not None and Path(data).is_dir() and (Path(data) / "truth").is_dir():
        labels = truth_rows(frame, Path(data), kind)
        note = (note + "; " if note else "") + "labels from the simulator's truth/ (train on your own labels)"
    return Rows(frame, fid, labels, source, note)
