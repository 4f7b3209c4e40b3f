"""Compiled kernels of the ingest fast path (``fast.py``): byte-level checks over Arrow buffers.

Module-level functions, so that numba caches their machine code (``cache=True``) across processes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np

jit = numba.njit(cache=True, nogil=True)


@jit
def digits(data: np.ndarray, s: int, e: int) -> bool:  # pragma: no cover - compiled
    for j in range(s, e):  # noqa: SIM110 (a generator does not compile)
        if data[j] < 48 or data[j] > 57:
            return False
    return True


@jit
def phone(offs: np.ndarray, data: np.ndarray, nulls: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """Mainland mobile ``1[3-9]\\d{9}``."""
    for i in range(out.shape[0]):
        if nulls[i]:
            out[i] = 0
            continue
        s, e = offs[i], offs[i + 1]
        ok = e - s == 11 and data[s] == 49 and 51 <= data[s + 1] <= 57 and digits(data, s + 2, e)
        out[i] = 1 if ok else 2


@jit
def account(
    offs: np.ndarray, data: np.ndarray, nulls: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover
    """Card / account number ``\\d{10,25}``."""
    for i in range(out.shape[0]):
        if nulls[i]:
            out[i] = 0
            continue
        s, e = offs[i], offs[i + 1]
        out[i] = 1 if 10 <= e - s <= 25 and digits(data, s, e) else 2


@jit
def imei(offs: np.ndarray, data: np.ndarray, nulls: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover
    """14 or 16 digits, or 15 digits with a valid Luhn check digit."""
    for i in range(out.shape[0]):
        if nulls[i]:
            out[i] = 0
            continue
        s, e = offs[i], offs[i + 1]
        size = e - s
        if not (14 <= size <= 16 and digits(data, s, e)):
            out[i] = 2
            continue
        if size != 15:
            out[i] = 1
            continue
        total = 0
        for j in range(15):
            d = data[s + j] - 48
            if j % 2 == 1:
                d *= 2
                if d > 9:
                    d -= 9
            total += d
        out[i] = 1 if total % 10 == 0 else 2


@jit
def region(
    offs: np.ndarray, data: np.ndarray, nulls: np.ndarray, provinces: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover
    """6-digit division code with a known province prefix."""
    for i in range(out.shape[0]):
        if nulls[i]:
            out[i] = 0
            continue
        s, e = offs[i], offs[i + 1]
        ok = e - s == 6 and digits(data, s, e) and provinces[(data[s] - 48) * 10 + data[s + 1] - 48]
        out[i] = 1 if ok else 2


@jit
def enum(
    offs: np.ndarray,
    data: np.ndarray,
    nulls: np.ndarray,
    choices: np.ndarray,
    sizes: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover
    """Exactly one of the choices."""
    for i in range(out.shape[0]):
        if nulls[i]:
            out[i] = 0
            continue
        s, e = offs[i], offs[i + 1]
        out[i] = 2
        for k in range(sizes.shape[0]):
            if sizes[k] != e - s:
                continue
            same = True
            for j in range(e - s):
                if data[s + j] != choices[k, j]:
                    same = False
                    break
            if same:
                out[i] = 1
                break


@jit
def text(
    offs: np.ndarray, data: np.ndarray, nulls: np.ndarray, max_chars: int, ranges: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover
    """Text that normalise_text keeps as it is: no white space at the ends, no control or
    format characters (newline and tab inside are kept), at most ``max_chars`` characters, every
    character in one of ``ranges`` (valid UTF-8 is guaranteed by Arrow)."""
    for i in range(out.shape[0]):
        if nulls[i]:
            out[i] = 0
            continue
        s, e = offs[i], offs[i + 1]
        ok = e > s
        chars = 0
        j = s
        while ok and j < e:
            b = data[j]
            if b < 0x80:
                cp = np.int64(b)
                j += 1
            elif b < 0xE0:
                cp = (np.int64(b & 0x1F) << 6) | (data[j + 1] & 0x3F)
                j += 2
            elif b < 0xF0:
                cp = (np.int64(b & 0x0F) << 12) | (np.int64(data[j + 1] & 0x3F) << 6) | (data[j + 2] & 0x3F)
                j += 3
            else:
                ok = False
                break
            chars += 1
            if cp == 0x20 or cp == 0x0A or cp == 0x09:  # inside only
                if chars == 1 or j >= e:
                    ok = False
                continue
            inside = False
            for k in range(ranges.shape[0]):
                if ranges[k, 0] <= cp <= ranges[k, 1]:
                    inside = True
                    break
            if not inside:
                ok = False
        out[i] = 1 if ok and chars <= max_chars else 2


@jit
def unsigned(data: np.ndarray, s: int, e: int) -> int:  # pragma: no cover
    v = 0
    for j in range(s, e):
        v = v * 10 + (data[j] - 48)
    return v


@jit
def integer(
    offs: np.ndarray, data: np.ndarray, nulls: np.ndarray, kind: int, out: np.ndarray, values: np.ndarray
) -> None:  # pragma: no cover
    """kind 0: duration ``\\d{1,5}`` ≤ 86400; 1: amount ``[1-9]\\d{0,12}``; 2: int ``-?\\d{1,18}``."""
    for i in range(out.shape[0]):
        if nulls[i]:
            out[i] = 0
            continue
        s, e = offs[i], offs[i + 1]
        out[i] = 2
        if kind == 2 and e - s >= 2 and data[s] == 45:
            if e - s <= 19 and digits(data, s + 1, e):
                values[i] = -unsigned(data, s + 1, e)
                out[i] = 1
            continue
        if kind == 0:
            if 1 <= e - s <= 5 and digits(data, s, e):
                v = unsigned(data, s, e)
                if v <= 86400:
                    values[i] = v
                    out[i] = 1
        elif kind == 1:
            if 1 <= e - s <= 13 and data[s] != 48 and digits(data, s, e):
                values[i] = unsigned(data, s, e)
                out[i] = 1
        elif 1 <= e - s <= 18 and digits(data, s, e):
            values[i] = unsigned(data, s, e)
            out[i] = 1


@jit
def timestamp(
    offs: np.ndarray, data: np.ndarray, nulls: np.ndarray, latest_us: int, out: np.ndarray, values: np.ndarray
) -> None:  # pragma: no cover
    """Naive Shanghai ``20YY-MM-DD HH:MM:SS`` of a real calendar day → UTC epoch microseconds."""
    for i in range(out.shape[0]):
        if nulls[i]:
            out[i] = 0
            continue
        s, e = offs[i], offs[i + 1]
        out[i] = 2
        if e - s != 19 or data[s] != 50 or data[s + 1] != 48:
            continue
        if (
            data[s + 4] != 45
            or data[s + 7] != 45
            or data[s + 10] != 32
            or data[s + 13] != 58
            or data[s + 16] != 58
        ):
            continue
        if not (digits(data, s + 2, s + 4) and digits(data, s + 5, s + 7) and digits(data, s + 8, s + 10)):
            continue
        if not (
            digits(data, s + 11, s + 13) and digits(data, s + 14, s + 16) and digits(data, s + 17, s + 19)
        ):
            continue
        y = 2000 + unsigned(data, s + 2, s + 4)
        m = unsigned(data, s + 5, s + 7)
        d = unsigned(data, s + 8, s + 10)
        hh = unsigned(data, s + 11, s + 13)
        mm = unsigned(data, s + 14, s + 16)
        ss = unsigned(data, s + 17, s + 19)
        if m < 1 or m > 12 or d < 1 or hh > 23 or mm > 59 or ss > 59:
            continue
        leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
        dim = 31
        if m == 2:
            dim = 29 if leap else 28
        elif m == 4 or m == 6 or m == 9 or m == 11:
            dim = 30
        if d > dim:
            continue
        # days from 1970-01-01 (Howard Hinnant's days_from_civil)
        yy = y - 1 if m <= 2 else y
        era = yy // 400
        yoe = yy - era * 400
        doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
        doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
        days = era * 146097 + doe - 719468
        us = ((days * 24 + hh) * 60 + mm) * 60 + ss
        us = us * 1_000_000 - 28_800_000_000
        if us < 946_684_800_000_000 or us > latest_us:
            continue
        values[i] = us
        out[i] = 1


@jit
def same(
    offs_a: np.ndarray, data_a: np.ndarray, offs_b: np.ndarray, data_b: np.ndarray, out: np.ndarray
) -> None:  # pragma: no cover
    """out[i] = 1 where value a equals value b (both known not NULL)."""
    for i in range(out.shape[0]):
        sa, ea, sb, eb = offs_a[i], offs_a[i + 1], offs_b[i], offs_b[i + 1]
        eq = ea - sa == eb - sb
        j = 0
        while eq and j < ea - sa:
            eq = data_a[sa + j] == data_b[sb + j]
            j += 1
        out[i] = 1 if eq else 0


KERNELS: dict[str, Callable[..., Any]] = {
    "phone": phone,
    "account": account,
    "imei": imei,
    "region": region,
    "enum": enum,
    "text": text,
    "integer": integer,
    "time": timestamp,
    "same": same,
}


# -- hashing and the duplicate check of the streaming path ---------------------------------------

_MISSING = np.uint64(0x9E3779B97F4A7C15)


@jit
def _mix(h: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """splitmix64 finaliser."""
    h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return h ^ (h >> np.uint64(31))


@jit
def hash_text(
    offs: np.ndarray, data: np.ndarray, nulls: np.ndarray, h: np.ndarray, g: np.ndarray
) -> None:  # pragma: no cover
    """Fold one text column into two independent running row hashes ``h`` and ``g`` (a NULL
    differs from every text)."""
    p = np.uint64(0x100000001B3)
    q = np.uint64(0xC2B2AE3D27D4EB4F)
    for i in range(h.shape[0]):
        x = h[i] * p
        y = g[i] * q
        if nulls[i]:
            x ^= _MISSING
            y ^= _MISSING
        else:
            s, e = offs[i], offs[i + 1]
            for j in range(s, e):
                b = np.uint64(data[j])
                x = (x ^ b) * p
                y = (y + b) * q
            x ^= np.uint64(e - s)
            y ^= np.uint64(e - s) << np.uint64(17)
        h[i] = _mix(x)
        g[i] = _mix(y ^ (y >> np.uint64(29)))


@jit
def hash_number(
    values: np.ndarray, nulls: np.ndarray, h: np.ndarray, g: np.ndarray
) -> None:  # pragma: no cover
    """Fold one numeric column (as int64) into the two running row hashes."""
    p = np.uint64(0x100000001B3)
    q = np.uint64(0xC2B2AE3D27D4EB4F)
    for i in range(h.shape[0]):
        x = h[i] * p
        y = g[i] * q
        if nulls[i]:  # as hash_text: a missing value hashes alike whatever the column's type
            x ^= _MISSING
            y ^= _MISSING
        else:
            v = np.uint64(np.int64(values[i]))
            x = (x ^ v) * p + np.uint64(1)
            y = (y + v) * q + np.uint64(1)
        h[i] = _mix(x)
        g[i] = _mix(y ^ (y >> np.uint64(29)))


# The key table: open addressing, 3 words per slot — key hash 1 (never 0: 0 marks a free slot),
# key hash 2 (high 32 bits) with the number of the batch that held the key's first row (low 32
# bits), and the content hash of that first row. One slot is one cache line or two.
@jit
def table_grow(old: np.ndarray, new: np.ndarray) -> None:  # pragma: no cover
    mask = np.uint64(new.shape[0] - 1)
    for i in range(old.shape[0]):
        if old[i, 0] != 0:
            slot = old[i, 0] & mask
            while new[slot, 0] != 0:
                slot = (slot + np.uint64(1)) & mask
            new[slot, 0], new[slot, 1], new[slot, 2] = old[i, 0], old[i, 1], old[i, 2]


@jit
def _find(table: np.ndarray, a: np.uint64, b: np.uint64) -> np.int64:  # pragma: no cover
    """The slot of key (a, b), or -(free slot + 1)."""
    mask = np.uint64(table.shape[0] - 1)
    slot = a & mask
    while table[slot, 0] != 0:
        if table[slot, 0] == a and (table[slot, 1] >> np.uint64(32)) == (b >> np.uint64(32)):
            return np.int64(slot)
        slot = (slot + np.uint64(1)) & mask
    return np.int64(-(np.int64(slot) + 1))


@jit
def decide(
    lake: np.ndarray,
    table: np.ndarray,
    k1: np.ndarray,
    k2: np.ndarray,
    ch: np.ndarray,
    batch: np.uint64,
    slow: bool,
    out: np.ndarray,
) -> int:  # pragma: no cover
    """Per row in line order: 0 land, 1 duplicate, 2 conflict — against the lake's keys first,
    then against the file's first row with the same key — or 3 when these rows (of input batch
    ``batch``) took the SQL rules (``slow``: decided after every canonical row) and the first row
    with the same key is a canonical row of this batch or a later one: which came first is then
    not known here.
    Returns the number of new keys. The lookups of a block of rows are issued before the block
    is decided, so that the CPU overlaps their cache misses."""
    added = 0
    n = k1.shape[0]
    mask = np.uint64(table.shape[0] - 1)
    lmask = np.uint64(lake.shape[0] - 1)
    check_lake = lake.shape[0] > 1
    touched = np.uint64(0)
    flag = np.uint64(0x80000000) if slow else np.uint64(0)
    for start in range(0, n, 256):
        end = min(start + 256, n)
        for i in range(start, end):
            a = k1[i] | np.uint64(1)
            touched += table[a & mask, 0]
            if check_lake:
                touched += lake[a & lmask, 0]
        for i in range(start, end):
            a = k1[i] | np.uint64(1)
            b = k2[i] & np.uint64(0xFFFFFFFF00000000)
            if check_lake:
                found = _find(lake, a, b)
                if found >= 0:
                    out[i] = 1 if lake[found, 2] == ch[i] else 2
                    continue
            found = _find(table, a, b)
            if found >= 0:
                first = table[found, 1] & np.uint64(0x7FFFFFFF)
                first_slow = (table[found, 1] & np.uint64(0x80000000)) != 0
                if slow and not first_slow and first >= batch:
                    out[i] = 3
                else:
                    out[i] = 1 if table[found, 2] == ch[i] else 2
                continue
            slot = -found - 1
            table[slot, 0], table[slot, 1], table[slot, 2] = a, b | batch | flag, ch[i]
            out[i] = 0
            added += 1
    out[0] += np.uint8(touched & np.uint64(0))  # keeps the touching loads
    return added


KERNELS.update(hash_text=hash_text, hash_number=hash_number, table_grow=table_grow, decide=decide)
