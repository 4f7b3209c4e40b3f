"""The canonical-form fast path of validation, compiled (numba) over Arrow string buffers.

Most rows of a real extract are already in canonical form (``13800138000``, ``2024-05-01
08:00:00``, ``490154203237518``). For those, validation is one byte-level check per value, and the
typed value is the text itself or a number parsed from it. This module does exactly that for a
whole Arrow batch at a time:

* each field gets a *status* per row — 0 missing (NULL), 1 canonical (valid, value known), 2 anything
  else — and, for times and numbers, the parsed value;
* a row is *fast* when every field is canonical or an optional field is missing, and the kind's
  cross-field checks hold; fast rows are staged straight away, typed;
* every other row is sent, raw, through the full SQL rules of ``rules.validation_sql`` (the
  reference; exact values and reasons), so the outcome is the same as without this module.

The kernels accept a value only when the SQL fast path (``Rule.fast`` in ``rules.py``) accepts it,
with the same typed value; where in doubt (a time within two days of "now + 1 day"), they answer
2 and let the SQL decide. A Hypothesis test checks them against the scalar rules row by row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa

from fanzha.ingest.rules import SQL_TYPES
from fanzha.records import contracts as c
from fanzha.records import normalise as n

# a time this close to the upper bound (now + 1 day) is left to the SQL rules
_LATEST_MARGIN_US = 2 * 86_400 * 1_000_000

# code points of text accepted by the text kernel: printable, kept by normalise_text, not white
# space (ASCII printable; Latin-1 letters and signs without NBSP and the soft hyphen; general
# punctuation without the separators and format characters; CJK symbols and punctuation without
# the ideographic space; CJK unified ideographs; full-width forms)
_TEXT_RANGES = np.array(
    [
        [0x21, 0x7E],
        [0xA1, 0xAC],
        [0xAE, 0xFF],
        [0x2010, 0x2027],
        [0x2030, 0x205E],
        [0x3001, 0x303F],
        [0x4E00, 0x9FEF],  # assigned since Unicode 11 (older tables may call later ones unassigned)
        [0xFF01, 0xFF5E],
    ],
    dtype=np.int64,
)


@cache
def kernels() -> dict[str, Callable[..., Any]] | None:
    """The compiled kernels (``_kernels.py``), or None without numba: every row then takes the
    SQL rules."""
    try:
        from fanzha.ingest._kernels import KERNELS
    except ImportError:
        return None
    return KERNELS


# -- per field ---------------------------------------------------------------------------------

_PROVINCES = np.zeros(100, dtype=np.bool_)
_PROVINCES[sorted(n.PROVINCE_CODES)] = True
_INTEGER_KIND = {"duration_s": 0, "amount_fen": 1, "int": 2}
_TEXT_MAX = {"text": 100_000, "name": 200}
FAST_TYPES = frozenset({"phone", "account", "imei", "region", "enum", "time", *_INTEGER_KIND, *_TEXT_MAX})


def buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offsets, bytes, null flags) of a string array, without copying the strings."""
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.large_string())
    _, offs_buf, data_buf = arr.buffers()
    dtype = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offs = np.frombuffer(offs_buf, dtype=dtype)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(1, np.uint8)
    if arr.null_count:
        nulls = arr.is_null().to_numpy(zero_copy_only=False)
    else:
        nulls = np.zeros(len(arr), dtype=np.bool_)
    return offs, data, nulls


@dataclass
class FieldResult:
    status: np.ndarray  # uint8: 0 missing, 1 canonical, 2 other
    values: np.ndarray | None  # parsed numbers (times: UTC epoch µs), else None: the text itself


def check_field(f: c.FieldSpec, arr: pa.Array, latest_us: int) -> FieldResult:
    """The status (and parsed value) of every value of one field."""
    k = kernels()
    assert k is not None and not f.is_list
    offs, data, nulls = buffers(arr)
    out = np.empty(len(arr), dtype=np.uint8)
    values = None
    if f.type not in FAST_TYPES:  # an optional field without a kernel: the SQL rules unless missing
        out[:] = np.where(nulls, 0, 2)
    elif f.type in ("phone", "account", "imei"):
        k[f.type](offs, data, nulls, out)
    elif f.type == "region":
        k["region"](offs, data, nulls, _PROVINCES, out)
    elif f.type == "enum":
        encoded = [choice.encode() for choice in f.choices]
        choices = np.zeros((len(encoded), max(map(len, encoded))), dtype=np.uint8)
        for row, choice in enumerate(encoded):
            choices[row, : len(choice)] = np.frombuffer(choice, dtype=np.uint8)
        k["enum"](offs, data, nulls, choices, np.array([len(x) for x in encoded], dtype=np.int64), out)
    elif f.type in _TEXT_MAX:
        k["text"](offs, data, nulls, _TEXT_MAX[f.type], _TEXT_RANGES, out)
    elif f.type == "time":
        values = np.zeros(len(arr), dtype=np.int64)
        k["time"](offs, data, nulls, latest_us, out, values)
    else:
        values = np.zeros(len(arr), dtype=np.int64)
        k["integer"](offs, data, nulls, _INTEGER_KIND[f.type], out, values)
    return FieldResult(out, values)


def latest_us(now: float | None = None) -> int:
    """The latest time the fast path accepts: now + 1 day, less a safety margin (UTC epoch µs)."""
    now_us = int((time.time() if now is None else now) * 1_000_000)
    return now_us + 86_400 * 1_000_000 - _LATEST_MARGIN_US


# cross-field checks (contracts.RecordSpec.checks) the fast path can evaluate; a kind with any
# other check takes the SQL rules only
def _not_self(batch: pa.RecordBatch, results: dict[str, FieldResult], fast: np.ndarray) -> np.ndarray:
    k = kernels()
    assert k is not None
    a_offs, a_data, _ = buffers(batch.column("_x_from_account"))
    b_offs, b_data, _ = buffers(batch.column("_x_to_account"))
    equal = np.empty(batch.num_rows, dtype=np.uint8)
    k["same"](a_offs, a_data, b_offs, b_data, equal)
    return fast & (equal == 0)


def _closed_after_opened(
    batch: pa.RecordBatch, results: dict[str, FieldResult], fast: np.ndarray
) -> np.ndarray:
    opened, closed = results["opened_at"], results["closed_at"]
    assert opened.values is not None and closed.values is not None
    both = (opened.status == 1) & (closed.status == 1)
    return fast & ~(both & (closed.values < opened.values))


def _usage_not_negative(
    batch: pa.RecordBatch, results: dict[str, FieldResult], fast: np.ndarray
) -> np.ndarray:
    kb = results["kb"]
    assert kb.values is not None
    return fast & ~((kb.status == 1) & (kb.values < 0))


FAST_CHECKS: dict[Callable[[dict[str, Any]], str | None], Callable[..., np.ndarray]] = {
    c._not_self_transfer: _not_self,
    c._closed_after_opened: _closed_after_opened,
    c._usage_not_negative: _usage_not_negative,
}


# False: every file takes the SQL path (tests compare both paths)
ENABLED = True


def supported(spec: c.RecordSpec) -> bool:
    """Whether the fast path can settle rows of this kind (else the SQL rules take every row)."""
    return (
        ENABLED
        and kernels() is not None
        # an optional field without a kernel is text (its rows take the SQL rules when present)
        and all(
            not f.is_list and (f.type in FAST_TYPES or (not f.required and f.type not in SQL_TYPES))
            for f in spec.fields
        )
        and all(check in FAST_CHECKS for check in spec.checks)
        # a tip's identifier takes the normal form of its kind (another column): the SQL rules
        and spec.kind != "tips"
    )


def split(
    spec: c.RecordSpec, batch: pa.RecordBatch, latest: int
) -> tuple[np.ndarray, dict[str, FieldResult]]:
    """(fast-row mask, per-field results) of a batch of raw ``_x_<field>`` text columns."""
    fast = np.ones(batch.num_rows, dtype=np.bool_)
    results: dict[str, FieldResult] = {}
    for f in spec.fields:
        result = check_field(f, batch.column(f"_x_{f.name}"), latest)
        results[f.name] = result
        fast &= (result.status == 1) | ((result.status == 0) & (not f.required))
    for check in spec.checks:
        fast = FAST_CHECKS[check](batch, results, fast)
    return fast, results


_ARROW_TYPES = {"duration_s": pa.int32(), "amount_fen": pa.int64(), "int": pa.int64()}


def field_values(f: c.FieldSpec, arr: pa.Array, result: FieldResult, rows: np.ndarray) -> pa.Array:
    """The typed values of one field at ``rows`` (indices), NULL where not canonical."""
    if result.values is None:  # the text itself (NULL where missing)
        return arr.take(pa.array(rows, type=pa.int64()))
    missing = result.status[rows] != 1
    mask = missing if missing.any() else None
    if f.type == "time":
        return pa.array(result.values[rows], type=pa.timestamp("us", tz="UTC"), mask=mask)
    return pa.array(result.values[rows], type=_ARROW_TYPES[f.type], mask=mask)


def typed_columns(
    spec: c.RecordSpec, batch: pa.RecordBatch, results: dict[str, FieldResult], rows: np.ndarray
) -> dict[str, pa.Array]:
    """The typed values (contract columns) of the fast rows ``rows`` (indices) of a batch."""
    return {f.name: field_values(f, batch.column(f"_x_{f.name}"), results[f.name], rows) for f in spec.fields}
