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
    offs: np.ndarray, data: np.ndarray, nulls: np.ndarray, prime: np.uint64, h: np.ndarray
) -> None:  # pragma: no cover
    """Fold one text column into the running row hashes ``h`` (NULL differs from every text)."""
    for i in range(h.shape[0]):
        x = h[i] * prime
        if nulls[i]:
            x ^= _MISSING
        else:
            s, e = offs[i], offs[i + 1]
            for j in range(s, e):
                x = (x ^ np.uint64(data[j])) * prime
            x ^= np.uint64(e - s)
        h[i] = _mix(x)


@jit
def hash_number(
    values: np.ndarray, nulls: np.ndarray, prime: np.uint64, h: np.ndarray
) -> None:  # pragma: no cover
    """Fold one numeric column (as int64) into the running row hashes ``h``."""
    for i in range(h.shape[0]):
        x = h[i] * prime
        if nulls[i]:  # as hash_text: a missing value hashes alike whatever the column's type
            h[i] = _mix(x ^ _MISSING)
        else:
            h[i] = _mix((x ^ np.uint64(np.int64(values[i]))) * prime + np.uint64(1))


@jit
def table_grow(
    k1: np.ndarray,
    k2: np.ndarray,
    ch: np.ndarray,
    ln: np.ndarray,
    used: np.ndarray,
    n1: np.ndarray,
    n2: np.ndarray,
    nch: np.ndarray,
    nln: np.ndarray,
    nused: np.ndarray,
) -> None:  # pragma: no cover
    """Rehash an open-addressing table (k1, k2) → (ch, ln) into the larger arrays n*."""
    mask = np.uint64(nused.shape[0] - 1)
    for i in range(used.shape[0]):
        if used[i]:
            slot = k1[i] & mask
            while nused[slot]:
                slot = (slot + np.uint64(1)) & mask
            nused[slot] = True
            n1[slot], n2[slot], nch[slot], nln[slot] = k1[i], k2[i], ch[i], ln[i]


@jit
def table_find(
    k1: np.ndarray, k2: np.ndarray, used: np.ndarray, a: np.uint64, b: np.uint64
) -> np.int64:  # pragma: no cover
    """The slot of key (a, b), or -(free slot + 1)."""
    mask = np.uint64(used.shape[0] - 1)
    slot = a & mask
    while used[slot]:
        if k1[slot] == a and k2[slot] == b:
            return np.int64(slot)
        slot = (slot + np.uint64(1)) & mask
    return np.int64(-(np.int64(slot) + 1))


@jit
def decide(
    lk1: np.ndarray,
    lk2: np.ndarray,
    lch: np.ndarray,
    lln: np.ndarray,
    lused: np.ndarray,
    k1: np.ndarray,
    k2: np.ndarray,
    ch: np.ndarray,
    ln: np.ndarray,
    used: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    lines: np.ndarray,
    out: np.ndarray,
) -> int:  # pragma: no cover
    """Per row in line order: 0 land, 1 duplicate, 2 conflict — against the lake's keys first, then
    against the first row of the file with the same key (the table keeps its content hash and
    line) — or 3 when that first row comes after this one (rows given out of line order).
    Returns the number of new keys. With ``lines`` < 0 the rows are only added (the lake)."""
    added = 0
    for i in range(a.shape[0]):
        if lk1.shape[0] > 0:
            found = table_find(lk1, lk2, lused, a[i], b[i])
            if found >= 0:
                out[i] = 1 if lch[found] == c[i] else 2
                continue
        found = table_find(k1, k2, used, a[i], b[i])
        if found >= 0:
            if ln[found] > lines[i]:
                out[i] = 3
            else:
                out[i] = 1 if ch[found] == c[i] else 2
            continue
        slot = -found - 1
        used[slot] = True
        k1[slot], k2[slot], ch[slot], ln[slot] = a[i], b[i], c[i], lines[i]
        out[i] = 0
        added += 1
    return added


KERNELS.update(hash_text=hash_text, hash_number=hash_number, table_grow=table_grow, decide=decide)
