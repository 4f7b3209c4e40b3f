"""The full risk feature set in pandas: the like-for-like baseline of benchmarks/features.py.

``numbers(calls)`` returns what ``number_features(engine, window_days=30)`` returns for an engine
holding only a ``calls`` table (20 features per number), ``accounts(transfers)`` what
``account_features(engine, window_days=30)`` returns for an engine holding only ``transfers``
(45 features per account): same columns, values, nulls and rows, ordered by id. The SQL in
``fanzha.risk.features_numbers`` / ``features_accounts`` is the reference for every definition
(as_of = the latest record, window (as_of − 30 d, as_of], two-sided call records merged, home city
ties to the first name, ASOF dwell times, 2-hop degrees, reciprocal partners, 3-cycles over payers
with at most 50 partners, ...); tests/risk/test_pandas_baseline.py checks it column by column.

Written for speed the way a pandas/NumPy engineer would, single process, no per-group Python:
ids become dense integer codes with ``pd.factorize``; records are ordered once with stable
argsorts, so calls dedup into runs and each account's events are one segment; grouped counts, sums
and means are ``np.bincount`` / ``ufunc.reduceat`` over codes; distinct counts and "most of one
value" come from sorting packed int64 (key, value) pairs and counting runs; medians use pandas
``groupby().median()``; joins on codes are array lookups (``home[callee]``); the ASOF matches of
the dwell features are running max / min of event positions over the (account, time) order; the
3-cycle search expands 2-paths in fixed-size chunks (bounded memory) and closes them with a hash
lookup (``pd.Index.get_indexer``).

    .venv/bin/python benchmarks/features_pandas.py numbers /tmp/fbench    # prints the output rows
"""

from __future__ import annotations

import itertools
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

DAY_S = 86_400
US = 1_000_000
CHINA_OFFSET_S = 8 * 3600
SHORT_CALL_S = 15
FAST_S = 86_400
HOUR_S = 3_600
SMALL_OUT_CP = 50
CHUNK_PATHS = 4_000_000  # 2-paths per step of the 3-cycle search


# --- shared helpers ----------------------------------------------------------------------------


def _micros(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Epoch microseconds (int64) of a timestamp column, and its validity mask."""
    arr = pd.DatetimeIndex(col)
    if arr.tz is None:
        arr = arr.tz_localize("UTC")
    valid = ~arr.isna()
    return arr.as_unit("us").asi8, np.asarray(valid)


def _as_of_us(ts: np.ndarray, valid: np.ndarray, as_of: datetime | pd.Timestamp | None) -> int:
    if as_of is not None:
        stamp = pd.Timestamp(as_of)
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize("UTC")
        return (stamp - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(1, "us")
    if not valid.any():
        raise ValueError("no records with a time: no features can be computed")
    return int(ts[valid].max())


def _in_window(ts: np.ndarray, valid: np.ndarray, as_of_us: int, window_days: int | None) -> np.ndarray:
    keep = valid & (ts <= as_of_us)
    if window_days is not None:
        keep &= ts > as_of_us - int(window_days) * DAY_S * US
    return keep


def _epoch_s(ts_us: np.ndarray) -> np.ndarray:
    """DuckDB's ``epoch(ts)``: seconds as a double."""
    return ts_us / 1e6


def _night(epoch_s: np.ndarray) -> np.ndarray:
    """Local (UTC+8) 00:00–05:59, as sqlparts.is_night (``%`` on doubles is fmod there)."""
    hour = np.floor(np.fmod(epoch_s + CHINA_OFFSET_S, DAY_S) / 3600)
    return (hour >= 0) & (hour < 6)


def _ids(*cols: pd.Series) -> tuple[list[np.ndarray], pd.Index]:
    """Dense int64 codes over the union of the string columns. Each column is factorized on its
    own (smaller hash tables), then the uniques are merged (unsorted: only the output is sorted)."""
    parts = [pd.factorize(col) for col in cols]
    codes, names = pd.factorize(pd.concat([pd.Series(u) for _, u in parts], ignore_index=True))
    out, at = [], 0
    for local, uniques in parts:
        out.append(codes[at : at + len(uniques)].astype(np.int64)[local])
        at += len(uniques)
    return out, pd.Index(names)


def _bucket(epoch_s: np.ndarray, width: int) -> np.ndarray:
    return np.floor(epoch_s / width).astype(np.int64)


def _pack(hi: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, int]:
    """One order-preserving int64 per (hi, lo) pair (lo shifted to start at 0), and the lo span."""
    lo = lo.astype(np.int64)
    base = int(lo.min()) if len(lo) else 0
    span = int(lo.max()) - base + 1 if len(lo) else 1
    return hi.astype(np.int64) * span + (lo - base), span


def _runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For sorted keys: the start of each run of equal keys, its key and its length."""
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, np.int64)
    return starts, keys[starts], np.diff(np.r_[starts, len(keys)])


def _stable_order(minor: np.ndarray, major: np.ndarray) -> np.ndarray:
    """``np.lexsort((minor, major))`` as two stable argsorts (faster on large int64 arrays)."""
    first = np.argsort(minor, kind="stable")
    return first[np.argsort(major[first], kind="stable")]


def _reduceat(ufunc: np.ufunc, x: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``ufunc.reduceat`` over non-empty segments starting at ``starts`` (none: an empty result)."""
    return ufunc.reduceat(x, starts) if len(starts) else x[:0]


def _distinct_per(key: np.ndarray, value: np.ndarray, n: int) -> np.ndarray:
    """Distinct values per key (key in 0..n-1)."""
    packed, span = _pack(key, value)
    _, uniq, _ = _runs(np.sort(packed))
    return np.bincount(uniq // span, minlength=n)


def _max_count_per(key: np.ndarray, value: np.ndarray, n: int) -> np.ndarray:
    """Per key, the largest number of rows sharing one value (0 where the key has none)."""
    packed, span = _pack(key, value)
    _, uniq, counts = _runs(np.sort(packed))
    out = np.zeros(n, np.int64)
    np.maximum.at(out, uniq // span, counts)
    return out


def _group_mean(key: np.ndarray, x: np.ndarray, n: int) -> np.ndarray:
    """Mean of the non-NaN ``x`` per key (NaN where none), like SQL avg."""
    ok = ~np.isnan(x)
    if not ok.all():
        key, x = key[ok], x[ok]
    cnt = np.bincount(key, minlength=n)
    tot = np.bincount(key, weights=x, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


def _group_std_pop(key: np.ndarray, x: np.ndarray, n: int, mean: np.ndarray) -> np.ndarray:
    ok = ~np.isnan(x)
    if not ok.all():
        key, x = key[ok], x[ok]
    cnt = np.bincount(key, minlength=n)
    dev = x - mean[key]
    dev *= dev
    ss = np.bincount(key, weights=dev, minlength=n)
    return np.where(cnt > 0, np.sqrt(ss / np.maximum(cnt, 1)), np.nan)


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """SQL ``num / NULLIF(den, 0)`` (NaN stands for NULL)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den == 0, np.nan, num / np.where(den == 0, 1.0, den))


def _nullable_int(values: np.ndarray, present: np.ndarray) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(values.astype(np.int64), ~present)


# --- numbers -------------------------------------------------------------------------------------


def numbers(
    calls: pd.DataFrame, as_of: datetime | pd.Timestamp | None = None, window_days: int | None = 30
) -> pd.DataFrame:
    """``number_features`` over a calls-only engine: one row per caller in the window, by id."""
    ts_all, valid = _micros(calls["start_at"])
    as_of_us = _as_of_us(ts_all, valid, as_of)
    keep = _in_window(ts_all, valid, as_of_us, window_days)
    keep &= np.asarray(calls["caller"].notna()) & np.asarray(calls["callee"].notna())
    rows = calls if keep.all() else calls.loc[keep]
    (c, e), names = _ids(rows["caller"], rows["callee"])
    n_ids = len(names)
    ts = ts_all if rows is calls else ts_all[keep]

    # one call per (caller, callee, start_at): longest duration, the caller's handset and city from
    # an ``out`` record, the callee's from an ``in`` record (first non-null in input order, as the
    # numba path; the SQL's any_value). Sorted by (pair, time), stable, so each call is a run.
    cols = set(calls.columns)
    if "direction" in cols:
        direction = rows["direction"]
        is_out = np.asarray(direction == "out", dtype=bool)
        is_in = np.asarray(direction == "in", dtype=bool)
    else:  # every record speaks for the caller
        is_out, is_in = np.ones(len(rows), bool), np.zeros(len(rows), bool)
    pair = c * n_ids
    pair += e
    order = _stable_order(ts, pair)
    pair, ts = pair[order], ts[order]
    starts = np.flatnonzero(np.r_[True, (pair[1:] != pair[:-1]) | (ts[1:] != ts[:-1])][: len(pair)])
    # most calls are one record: only the rows of calls recorded more than once are reduced
    sizes = np.diff(np.r_[starts, len(pair)])
    merged = np.flatnonzero(sizes > 1)
    sub = np.flatnonzero(np.repeat(sizes > 1, sizes))
    sub_starts = np.r_[0, np.cumsum(sizes[merged])][: len(merged)]
    dur_rows = rows["duration_s"].to_numpy(np.float64, na_value=np.nan)[order]
    dur = dur_rows[starts]
    dur[merged] = _reduceat(np.fmax, dur_rows[sub], sub_starts)
    is_out, is_in = is_out[order], is_in[order]
    side: dict[str, np.ndarray] = {}
    for col in ("imei", "city"):
        if col in cols:
            codes = pd.factorize(rows[col], sort=col == "city")[0][order]  # city codes in name order
        else:
            codes = np.full(len(order), -1)
        for tag, mask in (("caller", is_out), ("callee", is_in)):
            ok = mask & (codes >= 0)
            value = np.where(ok[starts], codes[starts], -1)
            at = _reduceat(np.minimum, np.where(ok[sub], np.arange(len(sub)), len(sub)), sub_starts)
            value[merged] = np.where(at < len(sub), codes[sub][np.minimum(at, len(sub) - 1)], -1)
            side[f"{tag}_{col}"] = value
    dpair = pair[starts]
    dc, de = dpair // n_ids, dpair % n_ids  # sorted by caller, then callee
    dts = _epoch_s(ts[starts])
    del pair, ts, order, dur_rows

    # per (caller, callee) pair
    _, pair_key, pn = _runs(dpair)
    pc, pe = pair_key // n_ids, pair_key % n_ids

    # home city: the city most of a number's own records carry, ties to the first by name
    own = np.concatenate([dc, de])
    own_city = np.concatenate([side["caller_city"], side["callee_city"]])
    located = own_city >= 0
    n_cities = int(own_city.max()) + 1 if len(own_city) else 1
    _, nc_key, nc_n = _runs(np.sort(own[located] * n_cities + own_city[located]))
    num = nc_key // n_cities  # runs come sorted by (number, city); city codes are in name order
    num_start = np.flatnonzero(np.r_[True, num[1:] != num[:-1]]) if len(num) else num
    top_n = np.repeat(_reduceat(np.maximum, nc_n, num_start), np.diff(np.r_[num_start, len(num)]))
    best = np.flatnonzero(nc_n == top_n)
    best = best[np.r_[True, num[best[1:]] != num[best[:-1]]]] if len(best) else best
    home = np.full(n_ids, -1, np.int64)
    home[num[best]] = nc_key[best] % n_cities

    # outgoing
    out_calls = np.bincount(dc, minlength=n_ids)
    callers = out_calls > 0
    dur_ok = ~np.isnan(dur)
    short = np.where(dur_ok, (dur < SHORT_CALL_S).astype(np.float64), np.nan)
    dur_mean = _group_mean(dc, dur, n_ids)
    dur_median = pd.Series(dur).groupby(dc).median().reindex(range(n_ids)).to_numpy()
    dur_std = _group_std_pop(dc, dur, n_ids, dur_mean)
    night_share = _div(np.bincount(dc, weights=_night(dts), minlength=n_ids), out_calls)
    hour = _bucket(dts, 3600)
    hour_key, span = _pack(dc, hour)  # (caller, hour): one sort gives peak hours and active days
    _, hours, per_hour = _runs(np.sort(hour_key))
    peak = np.zeros(n_ids, np.int64)
    np.maximum.at(peak, hours // span, per_hour)
    h0 = int(hour.min()) if len(hour) else 0
    day_span = span // 24 + 2
    day_key = hours // span * day_span + (hours % span + h0) // 24 - h0 // 24
    active_days = np.bincount(_runs(day_key)[1] // day_span, minlength=n_ids)
    distinct_callees = np.bincount(pc, minlength=n_ids)
    repeat = np.bincount(pc, weights=pn >= 2, minlength=n_ids)
    back = np.bincount(pc, weights=pd.Index(pair_key).isin(pe * n_ids + pc), minlength=n_ids)
    h = home[pe]
    has_home = h >= 0
    per_city = pd.Series(pn[has_home]).groupby([pc[has_home], h[has_home]]).sum()
    city_caller = per_city.index.get_level_values(0).to_numpy()
    callee_cities = np.bincount(city_caller, minlength=n_ids)
    top = np.zeros(n_ids, np.int64)
    np.maximum.at(top, city_caller, per_city.to_numpy())
    located_calls = np.bincount(city_caller, weights=per_city.to_numpy(), minlength=n_ids)

    # incoming
    in_calls = np.bincount(pe, weights=pn, minlength=n_ids).astype(np.int64)
    distinct_callers = np.bincount(pe, minlength=n_ids)

    # devices: IMEIs per number, numbers per IMEI
    imei = np.concatenate([side["caller_imei"], side["callee_imei"]])
    used = imei >= 0
    n_imei = int(imei.max()) + 1 if len(imei) else 1
    _, use, _ = _runs(np.sort(own[used] * n_imei + imei[used]))
    use_num, use_imei = use // n_imei, use % n_imei
    imeis = np.bincount(use_num, minlength=n_ids)
    sims = np.bincount(use_imei)
    most = np.zeros(n_ids, np.int64)
    np.maximum.at(most, use_num, sims[use_imei])

    sel = np.flatnonzero(callers)
    oc = out_calls[sel]
    out = pd.DataFrame(
        {
            "id": names[sel],
            "out_calls": oc.astype(np.int64),
            "distinct_callees": distinct_callees[sel].astype(np.int64),
            "callee_per_call": _div(distinct_callees[sel], oc),
            "short_call_share": _group_mean(dc, short, n_ids)[sel],
            "dur_mean_s": dur_mean[sel],
            "dur_median_s": dur_median[sel],
            "dur_std_s": dur_std[sel],
            "night_share": night_share[sel],
            "active_days": active_days[sel].astype(np.int64),
            "calls_per_active_day": _div(oc, active_days[sel]),
            "callee_cities": callee_cities[sel].astype(np.int64),
            "top_city_share": _div(top[sel], located_calls[sel]),
            "repeat_callee_share": _div(repeat[sel], distinct_callees[sel]),
            "callback_share": _div(back[sel], distinct_callees[sel]),
            "peak_hour_calls": peak[sel].astype(np.int64),
            "in_calls": in_calls[sel],
            "distinct_callers": distinct_callers[sel].astype(np.int64),
            "imeis": _nullable_int(imeis[sel], imeis[sel] > 0),
            "max_sims_on_device": _nullable_int(most[sel], imeis[sel] > 0),
            "outbound_share": _div(oc, oc + in_calls[sel]),
        }
    )
    return out.sort_values("id", ignore_index=True)


# --- accounts ------------------------------------------------------------------------------------


def _segments(key: np.ndarray, n: int) -> np.ndarray:
    """Start offsets of each key's rows in an array sorted by key (every key has rows)."""
    return np.concatenate([[0], np.cumsum(np.bincount(key, minlength=n))[:-1]]).astype(np.int64)[:n]


def accounts(
    transfers: pd.DataFrame, as_of: datetime | pd.Timestamp | None = None, window_days: int | None = 30
) -> pd.DataFrame:
    """``account_features`` over a transfers-only engine: one row per account in the window, by id."""
    ts_all, valid = _micros(transfers["at"])
    as_of_us = _as_of_us(ts_all, valid, as_of)
    keep = _in_window(ts_all, valid, as_of_us, window_days)
    src_s, dst_s = transfers["from_account"], transfers["to_account"]
    keep &= np.asarray(src_s.notna() & dst_s.notna()) & np.asarray((src_s != dst_s).fillna(False))
    rows = transfers if keep.all() else transfers.loc[keep]
    (src, dst), names = _ids(rows["from_account"], rows["to_account"])
    n = len(names)
    ts = ts_all[keep]
    amt_col = rows["amount_fen"]
    amt_ok = np.asarray(amt_col.notna())
    amt = amt_col.fillna(0).to_numpy(np.int64)
    as_of_s = as_of_us / 1e6

    # events: every transfer is an ``out`` of its payer and an ``in`` of its payee, sorted by
    # (account, time, in before out) so the ASOF matches below are forward / backward fills
    m = len(src)
    acc = np.concatenate([src, dst])
    cp = np.concatenate([dst, src])
    ev_ts = np.concatenate([ts, ts])
    is_out = np.r_[np.ones(m, bool), np.zeros(m, bool)]
    order = _stable_order(ev_ts * 2 + is_out, acc)
    acc, cp, ev_ts, is_out = acc[order], cp[order], ev_ts[order], is_out[order]
    ev_amt = np.concatenate([amt, amt])[order]
    ev_ok = np.concatenate([amt_ok, amt_ok])[order]
    is_in = ~is_out
    sec = _epoch_s(ev_ts)
    starts = _segments(acc, n)
    amt_f = np.where(ev_ok, ev_amt.astype(np.float64), np.nan)

    # flow and timing
    in_n = np.bincount(acc, weights=is_in, minlength=n).astype(np.int64)
    out_n = np.bincount(acc, weights=is_out, minlength=n).astype(np.int64)
    in_amt = _reduceat(np.add, np.where(is_in & ev_ok, ev_amt, 0), starts)
    out_amt = _reduceat(np.add, np.where(is_out & ev_ok, ev_amt, 0), starts)
    counts = in_n + out_n
    night_share = np.bincount(acc, weights=_night(sec), minlength=n) / counts
    first_s = sec[starts]
    last_s = sec[np.r_[starts[1:], len(sec)][:n] - 1]
    span_days = (last_s - first_s) / 86400.0
    days_since_last = (as_of_s - last_s) / 86400.0
    amt_mean = _group_mean(acc, amt_f, n)
    amt_cv = _div(_group_std_pop(acc, amt_f, n, amt_mean), amt_mean)
    round_share = _group_mean(acc, np.where(ev_ok, (ev_amt % 10000 == 0).astype(np.float64), np.nan), n)
    gap = np.r_[np.nan, np.diff(sec)][: len(sec)]
    gap[starts] = np.nan
    gap_mean = _group_mean(acc, gap, n)
    gap_cv = _div(_group_std_pop(acc, gap, n, gap_mean), gap_mean)
    gmax = _reduceat(np.fmax, gap, starts)  # NaN only where the account has a single event
    max_gap_days = gmax / 86400.0
    active_days = _distinct_per(acc, _bucket(sec, DAY_S), n)

    # counterparties per direction: transfers per (account, cp, dir), first seen when
    key3 = (acc.astype(np.int64) * n + cp) * 2 + is_out
    codes, uniq = pd.factorize(key3)  # first-appearance order: the earliest event comes first
    tx_n = np.bincount(codes)
    cm = np.maximum.accumulate(codes)
    first_row = np.flatnonzero(np.r_[True, cm[1:] > cm[:-1]][: len(cm)])
    p_acc = (uniq // (2 * n)).astype(np.int64)
    p_out = (uniq % 2).astype(bool)
    in_cp = np.bincount(p_acc[~p_out], minlength=n)
    out_cp = np.bincount(p_acc[p_out], minlength=n)
    total_cp = np.bincount(_runs(np.sort(uniq // 2))[1] // n, minlength=n)
    in_oneoff = _div(np.bincount(p_acc[~p_out], weights=tx_n[~p_out] == 1, minlength=n), in_cp)
    out_oneoff = _div(np.bincount(p_acc[p_out], weights=tx_n[p_out] == 1, minlength=n), out_cp)
    tx_per_cp = counts / np.bincount(p_acc, minlength=n)
    new_cp_peak = _max_count_per(p_acc, _bucket(sec[first_row], DAY_S), n)

    # 快进快出: per out-event the latest in-event at or before it, per in-event the earliest
    # out-event at or after it (ties are ordered in before out, so both include equal times)
    idx = np.arange(len(acc))
    last_in = np.maximum.accumulate(np.where(is_in, idx, -1))
    hit = (last_in >= 0) & (acc[np.maximum(last_in, 0)] == acc)
    dwell = np.where(is_out & hit, sec - sec[np.maximum(last_in, 0)], np.nan)
    big = len(acc)
    next_out = np.minimum.accumulate(np.where(is_out, idx, big)[::-1])[::-1]
    hit = (next_out < big) & (acc[np.minimum(next_out, big - 1)] == acc)
    wait = np.where(is_in & hit, sec[np.minimum(next_out, big - 1)] - sec, np.nan)

    def amt_share(sel: np.ndarray, base: np.ndarray) -> np.ndarray:
        w = np.where(ev_ok, ev_amt, 0).astype(np.float64)
        return _div(
            np.bincount(acc, weights=np.where(sel & base, w, 0.0), minlength=n),
            np.where(
                np.bincount(acc, weights=base & ev_ok, minlength=n) > 0,
                np.bincount(acc, weights=np.where(base, w, 0.0), minlength=n),
                np.nan,
            ),
        )

    out_1h = amt_share(dwell <= HOUR_S, is_out)
    out_1d = amt_share(dwell <= FAST_S, is_out)
    before_any = amt_share(np.isnan(dwell), is_out)
    dwell_median_h = (
        pd.Series(dwell[is_out]).groupby(acc[is_out]).median().reindex(range(n)).to_numpy() / 3600.0
    )
    in_leaves = amt_share(wait <= FAST_S, is_in)

    pass_through = _div(np.minimum(in_amt, out_amt), np.maximum(in_amt, out_amt))
    out_in_ratio = _div(out_amt, in_amt)
    in_count_share = in_n / counts
    tx_per_day = counts / active_days

    # graph: distinct edges (payer, payee) with their amounts, sorted by payer then payee
    # (the ``out`` entries of the (account, cp, dir) table above)
    edge_of = np.flatnonzero(p_out)
    edge_of = edge_of[np.argsort(uniq[edge_of])]
    edge_key = uniq[edge_of] // 2
    e_amt = np.bincount(codes, weights=np.where(ev_ok, ev_amt, 0).astype(np.float64))[edge_of]
    e_has_amt = np.bincount(codes, weights=ev_ok)[edge_of] > 0
    es, ed = edge_key // n, edge_key % n
    relay = (pass_through >= 0.5) & (np.nan_to_num(out_1d, nan=0.0) >= 0.5)

    e_w = np.where(e_has_amt, e_amt, 0.0)

    def relay_share(x: np.ndarray, nbr: np.ndarray) -> np.ndarray:
        """sum(edge amount to / from relays) / NULLIF(sum(edge amount), 0), NULL amounts ignored."""
        den = np.bincount(x, weights=e_w, minlength=n).astype(np.float64)
        den[np.bincount(x, weights=e_has_amt, minlength=n) == 0] = np.nan
        return _div(np.bincount(x, weights=np.where(relay[nbr], e_w, 0.0), minlength=n), den)

    graph: dict[str, object] = {}
    for prefix, x, nbr, deg, mean1, mean2, oneoff, cpmax in (
        ("out", es, ed, out_cp, in_cp, out_cp, in_oneoff, in_cp),
        ("in", ed, es, in_cp, out_cp, in_cp, out_oneoff, out_cp),
    ):
        has = np.bincount(x, minlength=n) > 0
        share = relay_share(x, nbr)
        deg2 = np.bincount(x, weights=deg[nbr], minlength=n).astype(np.int64)
        mx = np.zeros(n, np.int64)
        np.maximum.at(mx, x, cpmax[nbr])
        if prefix == "out":
            graph["out_to_relay_share"] = share
            graph["out2_degree"] = _nullable_int(deg2, has)
            graph["out_nbr_in_cp_mean"] = _group_mean(x, mean1[nbr].astype(np.float64), n)
            graph["out_nbr_out_cp_mean"] = _group_mean(x, mean2[nbr].astype(np.float64), n)
            graph["out_nbr_pass_through_mean"] = _group_mean(x, pass_through[nbr], n)
            graph["out_nbr_in_oneoff_mean"] = _group_mean(x, oneoff[nbr], n)
            graph["out_nbr_in_cp_max"] = _nullable_int(mx, has)
        else:
            graph["in_from_relay_share"] = share
            graph["in2_degree"] = _nullable_int(deg2, has)
            graph["in_nbr_out_cp_mean"] = _group_mean(x, mean1[nbr].astype(np.float64), n)
            graph["in_nbr_in_cp_mean"] = _group_mean(x, mean2[nbr].astype(np.float64), n)
            graph["in_nbr_pass_through_mean"] = _group_mean(x, pass_through[nbr], n)
            graph["in_nbr_out_oneoff_mean"] = _group_mean(x, oneoff[nbr], n)
            graph["in_nbr_out_cp_max"] = _nullable_int(mx, has)
    graph["reciprocal_cp"] = (in_cp + out_cp - total_cp).astype(np.int64)  # partners both ways
    graph["cycle3_cp"] = _cycle3(es, ed, edge_key, out_cp, n)

    result = pd.DataFrame(
        {
            "id": names,
            "in_n": in_n,
            "out_n": out_n,
            "in_amt_fen": in_amt,
            "out_amt_fen": out_amt,
            "in_cp": in_cp.astype(np.int64),
            "out_cp": out_cp.astype(np.int64),
            "total_cp": total_cp.astype(np.int64),
            "night_share": night_share,
            "active_days": active_days.astype(np.int64),
            "span_days": span_days,
            "days_since_last": days_since_last,
            "amt_mean_fen": amt_mean,
            "amt_cv": amt_cv,
            "round_amount_share": round_share,
            "gap_cv": gap_cv,
            "max_gap_days": max_gap_days,
            "in_oneoff_share": in_oneoff,
            "out_oneoff_share": out_oneoff,
            "tx_per_cp": tx_per_cp,
            "new_cp_peak_day": new_cp_peak,
            "out_within_1h_share": out_1h,
            "out_within_1d_share": out_1d,
            "out_before_any_in_share": before_any,
            "dwell_median_h": dwell_median_h,
            "in_leaves_1d_share": in_leaves,
            "pass_through_ratio": pass_through,
            "out_in_amount_ratio": out_in_ratio,
            "in_count_share": in_count_share,
            "tx_per_active_day": tx_per_day,
            **graph,
        }
    )
    return result.sort_values("id", ignore_index=True)


def _cycle3(es: np.ndarray, ed: np.ndarray, edge_key: np.ndarray, out_cp: np.ndarray, n: int) -> np.ndarray:
    """Per payer s, the partners x on a cycle s → x → y → s, over the edges of payers with at most
    SMALL_OUT_CP partners (as the SQL; no self-transfers, so y ≠ s, x). Each cycle is found once,
    from its smallest account s (x > s, y > s), and marks its three edges; an account's count is
    then its marked out-edges. Edges come sorted by (payer, payee); 2-paths are expanded in chunks
    and closed with a hash lookup."""
    small = out_cp[es] <= SMALL_OUT_CP
    s_src, s_dst, s_key = es[small], ed[small], edge_key[small]
    start = np.concatenate([[0], np.cumsum(np.bincount(s_src, minlength=n))])
    first = np.flatnonzero(s_src < s_dst)  # s → x with x > s
    fan = (start[s_dst[first] + 1] - start[s_dst[first]]).astype(np.int64)  # 2-paths from each
    lookup = pd.Index(s_key)  # hash table of the edges, built once
    hit_edge = np.zeros(len(s_src), bool)
    paths = np.cumsum(fan)
    cuts = np.searchsorted(paths, np.arange(CHUNK_PATHS, paths[-1] if len(paths) else 0, CHUNK_PATHS))
    bounds = np.unique(np.r_[0, cuts, len(first)])
    for lo, hi in itertools.pairwise(bounds):
        f = fan[lo:hi]
        a = np.repeat(first[lo:hi], f)  # edge s → x of each 2-path
        b = np.arange(len(a)) - np.repeat(np.cumsum(f) - f, f) + start[s_dst[a]]  # edge x → y
        s, y = s_src[a], s_dst[b]
        keep = y > s
        a, b, s, y = a[keep], b[keep], s[keep], y[keep]
        close = y * n + s  # edge y → s
        c = lookup.get_indexer(close)
        ok = c >= 0
        hit_edge[a[ok]] = True
        hit_edge[b[ok]] = True
        hit_edge[c[ok]] = True
    return np.bincount(s_src[hit_edge], minlength=n).astype(np.int64)


# --- benchmark entry -----------------------------------------------------------------------------


def run(folder: Path, what: str) -> int:
    """Read ``folder/calls.parquet`` or ``folder/transfers.parquet`` and return the output rows."""
    if what == "numbers":
        return len(numbers(pd.read_parquet(folder / "calls.parquet")))
    columns = ["from_account", "to_account", "amount_fen", "at"]  # the features read no others
    return len(accounts(pd.read_parquet(folder / "transfers.parquet", columns=columns)))


if __name__ == "__main__":
    print(run(Path(sys.argv[2]), sys.argv[1]))
