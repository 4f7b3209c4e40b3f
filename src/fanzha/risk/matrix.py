"""Feature tables → the numeric matrix a model sees, with clear errors for unusable input.

Partners hand over feature tables with text columns, missing values and stray entries. The rules:
numeric and boolean columns are used as they are; a text column whose values are (almost) all
numbers is converted, and a few stray non-numbers in it are an error naming the column, the count and
an example (a silent NaN would hide a broken export); a text column of few distinct values is a
category; a text column of many distinct values (an identifier, free text) is left out and listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fanzha.errors import ValidationError

MAX_CATEGORIES = 50
# placeholders exports write for a missing value: read as missing (the model handles NaN), not as text
MISSING_TOKENS = frozenset(
    {"", "na", "n/a", "nan", "null", "none", "nil", "-", "--", "—", "#n/a", "\\n", "缺失", "空"}
)
NUMERIC_SHARE = 0.95  # a text column this numeric is a number column with bad entries


@dataclass
class ColumnPlan:
    """What fit decided per column; score applies the same plan."""

    numeric: list[str] = field(default_factory=list)
    categorical: dict[str, list[str]] = field(default_factory=dict)
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return self.numeric + list(self.categorical)


def _is_text(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def _blank(series: pd.Series) -> pd.Series:
    """Missing values of a text column: nulls and the placeholders of :data:`MISSING_TOKENS`."""
    return series.isna() | series.astype(str).str.strip().str.lower().isin(MISSING_TOKENS)


def _to_number(series: pd.Series, name: str) -> pd.Series:
    if not _is_text(series):
        return series.astype(float)
    blank = _blank(series)
    values = pd.to_numeric(series.where(~blank), errors="coerce")
    bad = values.isna() & ~blank
    if bad.any():
        example = series[bad].iloc[0]
        raise ValidationError(
            f"column {name!r} holds {int(bad.sum())} non-numeric value(s), e.g. {example!r} in data row "
            f"{int(np.flatnonzero(bad.to_numpy())[0]) + 1} (the first row after the header is 1); fix the "
            "export or drop the column",
            field=name,
            value=example,
        )
    return values.astype(float)


def plan_columns(frame: pd.DataFrame) -> ColumnPlan:
    plan = ColumnPlan()
    for name in frame.columns:
        series = frame[name]
        if not _is_text(series):
            plan.numeric.append(str(name))
            continue
        present = series[~_blank(series)].astype(str).str.strip()
        share = pd.to_numeric(present, errors="coerce").notna().mean() if len(present) else 1.0
        if share >= NUMERIC_SHARE:
            plan.numeric.append(str(name))
        elif present.nunique() <= MAX_CATEGORIES:
            plan.categorical[str(name)] = sorted(present.unique().tolist())
        else:
            plan.dropped[str(name)] = f"text with {present.nunique()} distinct values (an identifier?)"
    if not plan.features:
        raise ValidationError("the table has no usable feature columns (all are identifiers or empty)")
    return plan


def apply_plan(
    frame: pd.DataFrame, plan: ColumnPlan, derived: Mapping[str, tuple[str, ...]] | None = None
) -> pd.DataFrame:
    """The model matrix: float columns, then categories as integer codes (unknown → NaN).
    ``derived``: features the model computes itself from others (name → its inputs): when missing,
    the inputs that are missing are named instead (the caller cannot hand them over)."""
    missing: list[str] = []
    for c in plan.features:
        if c in frame.columns:
            continue
        inputs = (derived or {}).get(c)
        for name in [i for i in inputs if i not in frame.columns] if inputs else [c]:
            if name not in missing:
                missing.append(name)
    if missing:
        raise ValidationError(
            f"the data lacks {len(missing)} feature column(s) the model was trained on: "
            f"{', '.join(missing[:8])}{' …' if len(missing) > 8 else ''}; compute the same features",
            field=missing[0],
        )
    out = {c: _to_number(frame[c], c) for c in plan.numeric}
    for c, levels in plan.categorical.items():
        codes = {v: i for i, v in enumerate(levels)}
        out[c] = frame[c].astype("string").str.strip().map(codes).astype(float)
    matrix = pd.DataFrame(out, index=frame.index)
    return matrix.replace([np.inf, -np.inf], np.nan)
