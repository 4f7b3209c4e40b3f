"""How training labels are read: a fraud flag, or fraud types with (or without) a normal class."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from fanzha.errors import ModelError, ValidationError

NORMAL = "normal"
FRAUD = "fraud"
# labels that mean "not fraud" in multi-class data (compared after strip + lower-case)
NORMAL_NAMES = frozenset(
    {"normal", "正常", "非诈骗", "legitimate", "legit", "ham", "benign", "false", "0", "否"}
)
# how spreadsheets and pandas write a missing value: never a label
MISSING_MARKERS = frozenset({"nan", "none", "null", "na", "n/a", "#n/a", "<na>", "nat"})
_TRUE = frozenset({"true", "1", "yes", "y", "是", "fraud", "诈骗", "phishing", "spam", "scam", "1.0"})
_TRUE_FLAGS = frozenset({"true", "1", "1.0", "yes", "y", "是"})
_FALSE = frozenset({"false", "0", "no", "n", "否", "normal", "正常", "legitimate", "ham", "benign", "0.0"})


@dataclass(frozen=True)
class LabelPlan:
    kind: str  # "binary" (fraud flag) or "types" (fraud types, maybe with a normal class)
    mapped: tuple[str, ...]  # per row: NORMAL or the fraud type (FRAUD for a binary label)
    types: tuple[str, ...]  # the fraud types, sorted
    has_normal: bool


def _key(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().lower()


def plan_labels(labels: pd.Series) -> LabelPlan:
    """Read the label column: boolean-like → fraud vs normal; anything else → fraud types."""
    text = labels.astype(str).str.strip()
    missing = labels.isna() | (text == "") | text.str.lower().isin(MISSING_MARKERS)
    if missing.any():
        row = int(missing.to_numpy().nonzero()[0][0])
        shown = "" if labels.isna().iloc[row] or not text.iloc[row] else f" ({text.iloc[row]!r})"
        raise ValidationError(
            f"label of row {row} is empty{shown}; every training text needs a label", field="label"
        )
    keys = [_key(v) for v in labels]
    distinct = set(keys)
    if len(distinct) < 2:
        raise ModelError(f"all labels are {next(iter(distinct))!r}; training needs at least two classes")
    fraud_side = distinct & _TRUE
    # a fraud flag: "not fraud" may be spelled several ways (0 / normal), "fraud" once or as flags
    # (1 / true); several fraud words (phishing, spam) are types
    if (
        distinct <= (_TRUE | _FALSE)
        and fraud_side
        and distinct & _FALSE
        and (len(fraud_side) == 1 or fraud_side <= _TRUE_FLAGS)
    ):
        mapped = tuple(FRAUD if k in _TRUE else NORMAL for k in keys)
        return LabelPlan("binary", mapped, (FRAUD,), True)
    raw = [str(v).strip() for v in labels]
    mapped = tuple(NORMAL if k in NORMAL_NAMES else r for k, r in zip(keys, raw, strict=True))
    types = tuple(sorted(set(mapped) - {NORMAL}))
    if not types:
        raise ModelError("every label means 'normal'; training needs fraud examples")
    return LabelPlan("types", mapped, types, NORMAL in mapped)


@lru_cache(maxsize=256)
def type_code(label: str) -> str | None:
    """Taxonomy code of a label: a code itself, a Chinese type name, or a label in labels.json."""
    from fanzha import taxonomy

    if label == NORMAL:
        return NORMAL
    if label in taxonomy.fraud_types():
        return label
    for mapping in taxonomy.dataset_labels().values():
        if label in mapping:
            return mapping[label]
    try:
        return taxonomy.by_chinese_name(label).code
    except Exception:
        return None


def type_name(label: str) -> str:
    """Chinese name for a taxonomy code, else the label itself."""
    from fanzha import taxonomy

    found = taxonomy.fraud_types().get(label)
    return found.zh if found else label
