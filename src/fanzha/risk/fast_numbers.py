"""Accelerated call features for a local engine: the stages ``__num_keys``, ``__num_out``,
``__num_in`` and ``__num_dev`` of :mod:`fanzha.risk.features_numbers`, computed with numba over
integer-coded, sorted arrays instead of SQL.

The window's calls are fetched once through the Engine (filtering in SQL); numbers, IMEIs and
cities get exact dense ids (:mod:`fanzha.risk.kernels`); the rows are ordered by (caller, callee,
time) with two counting sorts; one pass deduplicates the two-sided records; one pass per caller
computes every outgoing feature; small groupings give the incoming, device and home-city features.
Definitions are the SQL's, value for value (tests compare both paths on random record sets): the SQL
stays the reference and the path for engines that are not local (Spark).
"""

from __future__ import annotations

from typing import Any

import numba as nb
import numpy as np
import pyarrow as pa

from fanzha.engine.base import Engine
from fanzha.risk.kernels import (
    concurrently,
    dense_ids,
    distinct_pairs,
    encode_id_parts,
    floor_div,
    grouped_values,
    id_part,
    identifier_part_codes,
    local_hour,
    pipelined,
    ranges,
    ranked_part,
    ranked_part_codes,
    run_ranges,
    small_sort,
    workers,
)
from fanzha.risk.sqlparts import window_filter

SHORT_CALL_S = 15
BATCH_ROWS = 1 << 20  # records per streamed batch
DIR_OUT, DIR_IN = 1, 2


def fetch_sql(window_days: int | None, cols: set[str]) -> str:
    direction = (
        "CAST(CASE direction WHEN 'out' THEN 1 WHEN 'in' THEN 2 ELSE 0 END AS TINYINT)"
        if "direction" in cols
        else "CAST(1 AS TINYINT)"  # no direction: every row speaks for the caller (as the SQL)
    )
    imei = "imei" if "imei" in cols else "CAST(NULL AS VARCHAR)"
    city = "city" if "city" in cols else "CAST(NULL AS VARCHAR)"
    return f"""SELECT caller, callee, epoch_us("start_at") AS ts, duration_s AS dur, {direction} AS dir,
            {imei} AS imei, {city} AS city
        FROM calls WHERE {window_filter('"start_at"', window_days)} AND caller IS NOT NULL AND callee IS NOT NULL"""


# a call record as one 32-byte row: callee, time, IMEI code, and duration / city / direction /
# duration-present packed in one word (a row is one random memory access in the scatter)
R_CALLEE, R_TS, R_IMEI, R_META = range(4)
CITY_BITS = 29


@nb.njit(cache=True, nogil=True)
def _scatter_calls(c, e, ts, dur, dur_ok, direction, imei, city, n_keys, rows):
    """The records as ``rows`` grouped by caller (a stable counting sort); each caller's segment."""
    n = c.shape[0]
    segments = np.zeros(n_keys + 1, np.int64)
    for i in range(n):
        segments[c[i] + 1] += 1
    for k in range(n_keys):
        segments[k + 1] += segments[k]
    pos = segments[:-1].copy()
    for i in range(n):
        p = pos[c[i]]
        pos[c[i]] += 1
        rows[p, R_CALLEE] = e[i]
        rows[p, R_TS] = ts[i]
        rows[p, R_IMEI] = imei[i]
        rows[p, R_META] = (
            (np.int64(dur[i]) << 32)
            | (np.int64(city[i] + 1) << 3)
            | (np.int64(direction[i] & 3) << 1)
            | np.int64(dur_ok[i])
        )
    return segments


@nb.njit(cache=True, nogil=True)
def _sort_segment(rows, a, b, tmp):
    """Sort rows a..b stably by (callee, time): insertion sort, merge-sort argsorts for long runs."""
    if b - a > 32:
        o1 = np.argsort(rows[a:b, R_TS], kind="mergesort")
        o2 = np.argsort(rows[a:b, R_CALLEE][o1], kind="mergesort")
        o = o1[o2]
        for i in range(b - a):
            tmp[i, :] = rows[a + o[i], :]
        rows[a:b, :] = tmp[: b - a, :]
        return
    for i in range(a + 1, b):
        tmp[0, :] = rows[i, :]
        j = i - 1
        while j >= a and (
            rows[j, R_CALLEE] > tmp[0, R_CALLEE]
            or (rows[j, R_CALLEE] == tmp[0, R_CALLEE] and rows[j, R_TS] > tmp[0, R_TS])
        ):
            rows[j + 1, :] = rows[j, :]
            j -= 1
        rows[j + 1, :] = tmp[0, :]


@nb.njit(cache=True, nogil=True)
def _dedup_block(g0, g1, segments, rows, res):
    """Callers g0..g1: sort each caller's rows by (callee, time), then one row per (caller, callee,
    time) — longest duration, and the first non-null IMEI / city of an ``out`` record (the
    caller's) and of an ``in`` record (the callee's), "first" in input order — written from row
    ``segments[g0]`` on; returns how many."""
    dc, de, dts, ddur, dok, ci, ei, cc, ec = res
    widest = 1
    for g in range(g0, g1):
        widest = max(widest, segments[g + 1] - segments[g])
    tmp = np.empty((widest, 4), np.int64)
    city_mask = (np.int64(1) << CITY_BITS) - 1
    m = segments[g0]
    for g in range(g0, g1):
        lo, n = segments[g], segments[g + 1]
        _sort_segment(rows, lo, n, tmp)
        a = lo
        while a < n:
            b = a + 1
            while b < n and rows[b, R_TS] == rows[a, R_TS] and rows[b, R_CALLEE] == rows[a, R_CALLEE]:
                b += 1
            best = np.int64(0)
            ok = False
            c_imei, e_imei, c_city, e_city = -1, -1, -1, -1
            for r in range(a, b):
                meta = rows[r, R_META]
                dur = meta >> 32
                if meta & 1 and (not ok or dur > best):
                    best = dur
                    ok = True
                direction = (meta >> 1) & 3
                imei = rows[r, R_IMEI]
                city = ((meta >> 3) & city_mask) - 1
                if direction == DIR_OUT:
                    if c_imei < 0 and imei >= 0:
                        c_imei = imei
                    if c_city < 0 and city >= 0:
                        c_city = city
                elif direction == DIR_IN:
                    if e_imei < 0 and imei >= 0:
                        e_imei = imei
                    if e_city < 0 and city >= 0:
                        e_city = city
            dc[m], de[m], dts[m], ddur[m], dok[m] = g, rows[a, R_CALLEE], rows[a, R_TS], best, ok
            ci[m], ei[m], cc[m], ec[m] = c_imei, e_imei, c_city, e_city
            m += 1
            a = b
    return m - segments[g0]


def _dedup(rows: np.ndarray, segments: np.ndarray) -> tuple[np.ndarray, ...]:
    """The calls of the rows grouped by caller (:func:`_scatter_calls`), deduplicated
    (:func:`_dedup_block`): caller, callee, time, duration, duration present, caller's and
    callee's IMEI and city."""
    n = rows.shape[0]
    types = (np.int32, np.int32, np.int64, np.int64, np.bool_, np.int64, np.int64, np.int32, np.int32)
    res = tuple(np.empty(n, t) for t in types)
    parts = ranges(segments, workers())
    kept = run_ranges(_dedup_block, parts, segments, rows, res)
    m = 0
    for (a, _), k in zip(parts, kept, strict=True):  # close the gaps between the ranges' outputs
        if segments[a] != m:
            for x in res:
                x[m : m + k] = x[segments[a] : segments[a] + k]
        m += k
    return tuple(x[:m] for x in res)


@nb.njit(cache=True, nogil=True)
def _pairs(dc, de):
    """Calls per (caller, callee) pair from rows sorted by (caller, callee)."""
    n = dc.shape[0]
    pc = np.empty(n, np.int32)
    pe = np.empty(n, np.int32)
    pn = np.empty(n, np.int64)
    m = 0
    a = 0
    while a < n:
        b = a + 1
        while b < n and dc[b] == dc[a] and de[b] == de[a]:
            b += 1
        pc[m], pe[m], pn[m] = dc[a], de[a], b - a
        m += 1
        a = b
    return pc[:m], pe[:m], pn[:m]


@nb.njit(cache=True, nogil=True)
def _home(ka, ca, kb, cb, n_ids):
    """Home city per id: the city most of its records carry, ties to the first city by name (ranks
    are in name order); -1 without a located record. The records are the callers' side (``ka``,
    ``ca``) and the callees' side (``kb``, ``cb``); each id's located cities are gathered (a
    counting pass over both sides), sorted and counted in runs."""
    starts, vals = grouped_values(ka, ca, kb, cb, n_ids)
    home = np.full(n_ids, -1, np.int32)
    for k in range(n_ids):
        v = vals[starts[k] : starts[k + 1]]
        small_sort(v)
        best = 0
        i = 0
        while i < v.shape[0]:
            j = i + 1
            while j < v.shape[0] and v[j] == v[i]:
                j += 1
            if j - i > best:  # strict: the first (smallest-ranked) city keeps a tie
                best = j - i
                home[k] = v[i]
            i = j
    return home


@nb.njit(cache=True, nogil=True)
def _has_pair(pair_start, pe, caller, callee):
    lo, hi = pair_start[caller], pair_start[caller + 1]
    while lo < hi:
        mid = (lo + hi) // 2
        if pe[mid] < callee:
            lo = mid + 1
        else:
            hi = mid
    return lo < pair_start[caller + 1] and pe[lo] == callee


def _outgoing(row_start, pair_start, dts, ddur, dok, pe, pn, home, callers):
    """Every per-caller feature of ``__num_out`` in one pass over each caller's rows and pairs."""
    k = callers.shape[0]
    ints = np.zeros((k, 5), np.int64)  # out_calls, distinct_callees, active_days, callee_cities, peak
    flt = np.full((k, 10), np.nan)
    if k:
        rows = np.append(row_start[callers], row_start[-1])  # CSR of the callers' rows
        args = (row_start, pair_start, dts, ddur, dok, pe, pn, home, callers, ints, flt)
        run_ranges(_outgoing_block, ranges(rows, workers()), *args)
    return ints, flt


@nb.njit(cache=True, nogil=True)
def _outgoing_block(q0, q1, row_start, pair_start, dts, ddur, dok, pe, pn, home, callers, ints, flt):
    widest = 1
    widest_pairs = 1
    for q in range(q0, q1):
        c = callers[q]
        widest = max(widest, row_start[c + 1] - row_start[c])
        widest_pairs = max(widest_pairs, pair_start[c + 1] - pair_start[c])
    scratch = np.empty(widest, np.int64)
    cscr = np.empty(widest_pairs, np.int64)
    for q in range(q0, q1):
        c = callers[q]
        a, b = row_start[c], row_start[c + 1]
        m = b - a
        # durations
        nd = 0
        short = 0
        total = 0.0
        for i in range(a, b):
            if dok[i]:
                scratch[nd] = ddur[i]
                nd += 1
                total += ddur[i]
                if ddur[i] < SHORT_CALL_S:
                    short += 1
        if nd > 0:
            mean = total / nd
            ss = 0.0
            for i in range(nd):
                ss += (scratch[i] - mean) ** 2
            s = scratch[:nd]
            s.sort()
            med = s[nd // 2] if nd % 2 == 1 else (s[nd // 2 - 1] + s[nd // 2]) / 2.0
            flt[q, 0] = short / nd
            flt[q, 1] = mean
            flt[q, 2] = med
            flt[q, 3] = np.sqrt(ss / nd)
        # night share
        night = 0
        for i in range(a, b):
            h = local_hour(dts[i])
            if h >= 0 and h < 6:
                night += 1
        flt[q, 4] = night / m
        # active days, peak hour: both are monotone in the time, so one sort serves both
        for i in range(a, b):
            scratch[i - a] = dts[i]
        s = scratch[:m]
        s.sort()
        days = 1
        peak, run = 1, 1
        for i in range(1, m):
            if floor_div(s[i], 86400.0) != floor_div(s[i - 1], 86400.0):
                days += 1
            run = run + 1 if floor_div(s[i], 3600.0) == floor_div(s[i - 1], 3600.0) else 1
            if run > peak:
                peak = run
        # pairs: distinct callees, repeats, callbacks, callee cities
        pa_, pb = pair_start[c], pair_start[c + 1]
        npairs = pb - pa_
        repeat = 0
        back = 0
        nc = 0
        for j in range(pa_, pb):
            if pn[j] >= 2:
                repeat += 1
            info = home[pe[j]]  # (home city + 1) << 1 | calls anyone: one memory access per pair
            if info & 1 and _has_pair(pair_start, pe, pe[j], c):
                back += 1
            h = (info >> 1) - 1
            if h >= 0:
                cscr[nc] = np.int64(h) * (1 << 40) + pn[j]
                nc += 1
        cities = 0
        top = 0
        located = 0
        if nc > 0:
            cs = cscr[:nc]
            cs.sort()
            i = 0
            while i < nc:
                city = cs[i] >> 40
                tot = 0
                while i < nc and (cs[i] >> 40) == city:
                    tot += cs[i] & ((1 << 40) - 1)
                    i += 1
                cities += 1
                located += tot
                if tot > top:
                    top = tot
            flt[q, 7] = top / located
        ints[q, 0] = m
        ints[q, 1] = npairs
        ints[q, 2] = days
        ints[q, 3] = cities
        ints[q, 4] = peak
        flt[q, 5] = npairs / m
        flt[q, 6] = m / days
        flt[q, 8] = repeat / npairs
        flt[q, 9] = back / npairs


def _csr(keys: np.ndarray, n: int) -> np.ndarray:
    starts = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=starts[1:])
    return starts


def _encode_batch(batch: pa.RecordBatch) -> dict[str, Any]:
    dur = batch.column("dur")
    return {
        "caller": id_part(batch.column("caller")),
        "callee": id_part(batch.column("callee")),
        "imei": id_part(batch.column("imei")),
        "city": ranked_part(batch.column("city")),
        "ts": batch.column("ts").to_numpy().astype(np.int64),  # copies: writable arrays
        "dur": dur.fill_null(0).to_numpy().astype(np.int64),
        "dur_ok": dur.is_valid().to_numpy(zero_copy_only=False),
        "dir": batch.column("dir").to_numpy().astype(np.int8),
    }


def call_tables(
    engine: Engine,
    window_days: int | None,
    params: dict[str, Any],
    cols: set[str],
    *,
    callers_only: bool = False,
) -> dict[str, pa.Table]:
    """``__num_keys``, ``__num_out``, ``__num_in``, ``__num_dev`` as Arrow tables (keys in ``number``
    as in the SQL stages). ``callers_only``: ``__num_keys`` holds only the callers (enough when no
    SMS or card table joins on the numbers)."""
    sql = fetch_sql(window_days, cols)
    # the records stream in batches; each batch is encoded on the task pool while the engine
    # produces the next, and only the encoded arrays are kept
    parts = pipelined(
        _encode_batch, engine.batches(sql, {k: v for k, v in params.items() if f"${k}" in sql}, BATCH_ROWS)
    )
    (c, e), names = encode_id_parts([p["caller"] for p in parts], [p["callee"] for p in parts])
    imei = identifier_part_codes([p["imei"] for p in parts])
    city, _ = ranked_part_codes([p["city"] for p in parts])
    ts, dur, dur_ok, direction = (
        np.concatenate([p[k] for p in parts]) if parts else np.empty(0, t)
        for k, t in (("ts", np.int64), ("dur", np.int64), ("dur_ok", np.bool_), ("dir", np.int8))
    )
    del parts
    n_ids = len(names)

    if len(city) and int(city.max()) + 1 >= 1 << CITY_BITS:
        raise ValueError("more cities than the packed call rows hold")  # 5 × 10^8: not a real case
    rows = np.empty((len(c), 4), np.int64)  # numpy's allocation: huge pages where the kernel allows
    segments = _scatter_calls(c, e, ts, dur, dur_ok, direction, imei, city, max(n_ids, 1), rows)
    del c, e, ts, dur, dur_ok, direction, imei, city
    dc, de, dts, ddur, dok, ci, ei, cc, ec = _dedup(rows, segments)
    del rows
    pc_, pe, pn = _pairs(dc, de)
    row_start = _csr(dc, n_ids)
    pair_start = _csr(pc_, n_ids)

    # home city: the city most of a number's own records carry (its side of each call)
    home, (uk, used, _) = concurrently(  # and the (number, IMEI) uses for the device features
        lambda: _home(dc, cc, de, ec, max(n_ids, 1)),
        lambda: distinct_pairs(dc, ci, n_ids, (de, ei)),
    )

    calls_out = row_start[1:] > row_start[:-1]
    callers = np.flatnonzero(calls_out).astype(np.int32)
    calls_any = np.zeros(len(home), np.int64)
    calls_any[: len(calls_out)] = calls_out
    info = ((home.astype(np.int64) + 1) << 1) | calls_any
    ints, flt = _outgoing(row_start, pair_start, dts, ddur, dok, pe, pn, info, callers)
    key_type = pa.int32()

    def col(x: np.ndarray) -> pa.Array:
        return pa.array(x, mask=np.isnan(x)) if x.dtype.kind == "f" else pa.array(x)

    out = pa.table(
        {
            "number": pa.array(callers, key_type),
            "out_calls": ints[:, 0],
            "distinct_callees": ints[:, 1],
            "callee_per_call": col(flt[:, 5]),
            "short_call_share": col(flt[:, 0]),
            "dur_mean_s": col(flt[:, 1]),
            "dur_median_s": col(flt[:, 2]),
            "dur_std_s": col(flt[:, 3]),
            "night_share": col(flt[:, 4]),
            "active_days": ints[:, 2],
            "calls_per_active_day": col(flt[:, 6]),
            "callee_cities": ints[:, 3],
            "top_city_share": col(flt[:, 7]),
            "repeat_callee_share": col(flt[:, 8]),
            "callback_share": col(flt[:, 9]),
            "peak_hour_calls": ints[:, 4],
        }
    )
    in_calls = np.bincount(pe, weights=pn, minlength=n_ids).astype(np.int64)
    callers_of = np.bincount(pe, minlength=n_ids).astype(np.int64)
    callees = np.flatnonzero(callers_of > 0).astype(np.int32)
    incoming = pa.table(
        {
            "number": pa.array(callees, key_type),
            "in_calls": in_calls[callees],
            "distinct_callers": callers_of[callees],
        }
    )
    # device–SIM: (number, IMEI) uses, IMEIs per number, numbers per IMEI
    (ui,), firsts_of = dense_ids(used)
    n_imei = len(firsts_of)
    sims = np.bincount(ui, minlength=max(n_imei, 1)).astype(np.int64)
    imeis = np.bincount(uk, minlength=n_ids).astype(np.int64)
    most = np.zeros(n_ids, np.int64)
    if len(uk):
        firsts = np.flatnonzero(np.r_[True, uk[1:] != uk[:-1]])
        most[uk[firsts]] = np.maximum.reduceat(sims[ui], firsts)
    users = np.flatnonzero(imeis > 0).astype(np.int32)
    devices = pa.table(
        {
            "number": pa.array(users, key_type),
            "imeis": imeis[users],
            "max_sims_on_device": most[users],
        }
    )
    keyed = callers if callers_only else np.arange(n_ids, dtype=np.int32)
    keys = pa.table({"number": names.take(pa.array(keyed)), "k": pa.array(keyed, key_type)})
    return {"__num_keys": keys, "__num_out": out, "__num_in": incoming, "__num_dev": devices}
