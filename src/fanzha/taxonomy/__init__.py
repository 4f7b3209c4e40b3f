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
    for t in fraud_types().values():
        if t.zh == name or name in t.zh.replace("(", "/").replace(")", "/").split("/"):
            return t
    raise NotFoundError(f"no fraud type is called {name!r}")
