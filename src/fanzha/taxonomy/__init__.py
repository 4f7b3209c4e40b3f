"""The police fraud-type taxonomy (诈骗类型), kept as data in ``fraud_types.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from fanzha.errors import NotFoundError


@dataclass(frozen=True)
class FraudType:
    code: str
    zh: str
    en: str
    group: str
    top10: bool


@lru_cache(maxsize=1)
def fraud_types() -> dict[str, FraudType]:
    """Every fraud type by code, in the file's order."""
    raw = json.loads(resources.files(__package__).joinpath("fraud_types.json").read_text("utf-8"))
    return {t["code"]: FraudType(**t) for t in raw["types"]}


def get_type(code: str) -> FraudType:
    try:
        return fraud_types()[code]
    except KeyError:
        raise NotFoundError(f"unknown fraud type {code!r}; known: {', '.join(fraud_types())}") from None


def by_chinese_name(name: str) -> FraudType:
    """The type whose Chinese name is ``name``, or one of the alternative names in it
    (``网络婚恋交友(杀猪盘)`` is found by 杀猪盘 too)."""
    name = name.strip()
    for t in fraud_types().values():
        parts = [p for p in t.zh.replace("(", "/").replace(")", "/").split("/") if p]
        if name and (t.zh == name or name in parts):
            return t
    raise NotFoundError(f"no fraud type is called {name!r}")


@lru_cache(maxsize=1)
def dataset_labels() -> dict[str, dict[str, str]]:
    """Per evaluation data set (``fraud-news``, ``fraud-sms-5`` …): source label → fraud-type code
    (``normal`` = not fraud). Kept as data in ``labels.json``."""
    raw = json.loads(resources.files(__package__).joinpath("labels.json").read_text("utf-8"))
    return {name: dict(mapping) for name, mapping in raw["datasets"].items()}


def label_to_code(dataset: str, label: object) -> str:
    """Fraud-type code of ``label`` in ``dataset``; raises NotFoundError for an unknown one."""
    mapping = dataset_labels().get(dataset)
    if mapping is None:
        raise NotFoundError(
            f"no label mapping for data set {dataset!r}; known: {', '.join(dataset_labels())}"
        )
    key = str(label)
    if key not in mapping:
        raise NotFoundError(f"label {key!r} of data set {dataset!r} has no fraud-type code in labels.json")
    return mapping[key]
