"""Accelerated account features for a local engine: the stages ``__acct_keys``, ``__acct_tx``,
``__acct_node`` and ``__acct_graph`` of :mod:`fanzha.risk.features_accounts`, computed with numba
over integer-coded, sorted arrays instead of SQL.

The window's transfers are fetched once through the Engine; accounts get exact dense ids
(:mod:`fanzha.risk.kernels`); every transfer becomes an ``out`` event of its payer and an ``in``
event of its payee, ordered by (account, time) with a counting sort; one pass per account computes
the flow, timing, counterparty and 快进快出 features (the ASOF matches of the SQL are a forward and a
backward walk over the account's events); the distinct edge list, sorted both ways, gives the
neighbourhood aggregates, reciprocal partners and 3-cycles. Definitions are the SQL's, value for
value (tests compare both paths on random record sets); the SQL stays the reference and the path for
engines that are not local (Spark).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numba as nb
import numpy as np
import pyarrow as pa

from fanzha.engine.base import Engine
from fanzha.risk.kernels import (
    concurrently,
    counting_order,
    encode_ids,
    local_hour,
    order_by,
    ranges,
    run_ranges,
    workers,
)
from fanzha.risk.sqlparts import window_filter

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FAST_S = 86_400.0
HOUR_S = 3_600.0
SMALL_OUT_CP = 50  # the 3-cycle search skips payers with more partners (as the SQL)

# columns of the per-account float block
F_NIGHT, F_SPAN, F_SINCE, F_MEAN, F_CV, F_ROUND, F_GAPCV, F_MAXGAP = range(8)
F_IN1, F_OUT1, F_TXCP, F_OUT1H, F_OUT1D, F_BEFORE, F_DWELL, F_LEAVES = range(8, 16)
N_FLOAT = 16
# columns of the per-account integer block
I_IN_N, I_OUT_N, I_IN_AMT, I_OUT_AMT, I_IN_CP, I_OUT_CP, I_TOTAL_CP, I_DAYS, I_FIRST, I_PEAK = range(10)
N_INT = 10


def fetch_sql(window_days: int | None) -> str:
    return f"""SELECT from_account, to_account, amount_fen, epoch_us("at") AS ts FROM transfers
        WHERE {window_filter('"at"', window_days)} AND from_account <> to_account"""


@nb.njit(cache=True, nogil=True)
def _std_pop(x, n, mean):
    ss = 0.0
    for i in range(n):
        ss += (x[i] - mean) ** 2
    return np.sqrt(ss / n)


@nb.njit(cache=True, nogil=True)
def _median(x, n):
    s = x[:n]
    s.sort()
    return s[n // 2] if n % 2 == 1 else (s[n // 2 - 1] + s[n // 2]) / 2.0


@nb.njit(cache=True, nogil=True)
def _account_block(q0, q1, starts, cp, amt, ts, out, as_of_s, ints, flt):
    """Rows q0..q1 of ``ints`` / ``flt``: every per-account feature in one pass over its events."""
    widest = 1
    for a in range(q0, q1):
        widest = max(widest, starts[a + 1] - starts[a])
    fscr = np.empty(widest, np.float64)
    kscr = np.empty(widest, np.int64)
    dscr = np.empty(widest, np.int64)
    for a in range(q0, q1):
        lo, hi = starts[a], starts[a + 1]
        m = hi - lo
        if m == 0:
            continue
        in_n = 0
        in_amt = np.int64(0)
        out_amt = np.int64(0)
        night = 0
        total = np.int64(0)
        rnd = 0
        for i in range(lo, hi):
            if out[i]:
                out_amt += amt[i]
            else:
                in_n += 1
                in_amt += amt[i]
            h = local_hour(ts[i])
            if h >= 0 and h < 6:
                night += 1
            total += amt[i]
            if amt[i] % 10000 == 0:
                rnd += 1
        ints[a, I_IN_N] = in_n
        ints[a, I_OUT_N] = m - in_n
        ints[a, I_IN_AMT] = in_amt
        ints[a, I_OUT_AMT] = out_amt
        first_s = ts[lo] / 1e6
        last_s = ts[hi - 1] / 1e6
        flt[a, F_NIGHT] = night / m
        flt[a, F_SPAN] = (last_s - first_s) / 86400.0
        flt[a, F_SINCE] = (as_of_s - last_s) / 86400.0
        ints[a, I_FIRST] = ts[lo]
        mean = total / m
        flt[a, F_MEAN] = mean
        for i in range(lo, hi):
            fscr[i - lo] = amt[i]
        flt[a, F_CV] = _std_pop(fscr, m, mean) / mean if mean != 0 else np.nan
        flt[a, F_ROUND] = rnd / m
        # gaps between consecutive events (time order), active days
        days = 1
        gsum = 0.0
        gmax = -np.inf
        for i in range(lo + 1, hi):
            g = ts[i] / 1e6 - ts[i - 1] / 1e6
            fscr[i - lo - 1] = g
            gsum += g
            if g > gmax:
                gmax = g
            if np.floor(ts[i] / 1e6 / 86400.0) != np.floor(ts[i - 1] / 1e6 / 86400.0):
                days += 1
        ints[a, I_DAYS] = days
        if m > 1:
            gmean = gsum / (m - 1)
            flt[a, F_GAPCV] = _std_pop(fscr, m - 1, gmean) / gmean if gmean != 0 else np.nan
            flt[a, F_MAXGAP] = gmax / 86400.0
        # counterparties: (cp, direction) groups with their count and first day
        for i in range(lo, hi):
            kscr[i - lo] = ((np.int64(cp[i]) * 2 + (1 if out[i] else 0)) << 32) + (i - lo)
        ks = kscr[:m]
        ks.sort()
        groups = 0
        in_groups = 0
        in_once = 0
        out_groups = 0
        out_once = 0
        in_cp = 0
        out_cp = 0
        total_cp = 0
        i = 0
        prev_cp = -1
        while i < m:
            key = ks[i] >> 32
            j = i + 1
            while j < m and (ks[j] >> 32) == key:
                j += 1
            c = key >> 1
            is_out = (key & 1) == 1
            first = lo + (ks[i] & 0xFFFFFFFF)
            dscr[groups] = np.int64(np.floor(ts[first] / 1e6 / 86400.0))
            groups += 1
            if c != prev_cp:
                total_cp += 1
                prev_cp = c
            if is_out:
                out_cp += 1
                out_groups += 1
                if j - i == 1:
                    out_once += 1
            else:
                in_cp += 1
                in_groups += 1
                if j - i == 1:
                    in_once += 1
            i = j
        ints[a, I_IN_CP] = in_cp
        ints[a, I_OUT_CP] = out_cp
        ints[a, I_TOTAL_CP] = total_cp
        if in_groups > 0:
            flt[a, F_IN1] = in_once / in_groups
        if out_groups > 0:
            flt[a, F_OUT1] = out_once / out_groups
        flt[a, F_TXCP] = m / groups
        d = dscr[:groups]
        d.sort()
        peak, run = 1, 1
        for g in range(1, groups):
            run = run + 1 if d[g] == d[g - 1] else 1
            if run > peak:
                peak = run
        ints[a, I_PEAK] = peak
        # 快进快出: each out against the latest in at or before it (forward walk)
        last_in = -1.0
        have_in = False
        out_sum = np.int64(0)
        w1h = np.int64(0)
        w1d = np.int64(0)
        before = np.int64(0)
        nd = 0
        i = lo
        while i < hi:
            j = i
            while j < hi and ts[j] == ts[i]:
                if not out[j]:
                    last_in = ts[j] / 1e6
                    have_in = True
                j += 1
            for k in range(i, j):
                if out[k]:
                    out_sum += amt[k]
                    if have_in:
                        dw = ts[k] / 1e6 - last_in
                        fscr[nd] = dw
                        nd += 1
                        if dw <= HOUR_S:
                            w1h += amt[k]
                        if dw <= FAST_S:
                            w1d += amt[k]
                    else:
                        before += amt[k]
            i = j
        if m - in_n > 0:
            if out_sum != 0:
                flt[a, F_OUT1H] = w1h / out_sum
                flt[a, F_OUT1D] = w1d / out_sum
                flt[a, F_BEFORE] = before / out_sum
            if nd > 0:
                flt[a, F_DWELL] = _median(fscr, nd) / 3600.0
        # each in against the earliest out at or after it (backward walk)
        next_out = 0.0
        have_out = False
        in_sum = np.int64(0)
        left = np.int64(0)
        i = hi - 1
        while i >= lo:
            j = i
            while j >= lo and ts[j] == ts[i]:
                if out[j]:
                    next_out = ts[j] / 1e6
                    have_out = True
                j -= 1
            for k in range(j + 1, i + 1):
                if not out[k]:
                    in_sum += amt[k]
                    if have_out and next_out - ts[k] / 1e6 <= FAST_S:
                        left += amt[k]
            i = j
        if in_n > 0 and in_sum != 0:
            flt[a, F_LEAVES] = left / in_sum


def _accounts(starts, cp, amt, ts, out, as_of_s, n_acct):
    ints = np.zeros((n_acct, N_INT), np.int64)
    flt = np.full((n_acct, N_FLOAT), np.nan)
    if n_acct:
        parts = ranges(starts[: n_acct + 1], workers())
        run_ranges(_account_block, parts, starts, cp, amt, ts, out, as_of_s, ints, flt)
    return ints, flt


@nb.njit(cache=True, nogil=True)
def _scatter_events(s, d, amt, ts, n_keys, ecp, eamt, ets, eout):
    """The events grouped by account (counting sort), in transfer order inside each account, into
    the four event arrays (2 per transfer); returns each account's start."""
    n = s.shape[0]
    starts = np.zeros(n_keys + 1, np.int64)
    for i in range(n):
        starts[s[i] + 1] += 1
        starts[d[i] + 1] += 1
    for k in range(n_keys):
        starts[k + 1] += starts[k]
    pos = starts[:-1].copy()
    for i in range(n):  # outs first, then ins: the stable order of the SQL's UNION ALL is irrelevant
        p = pos[s[i]]
        ecp[p], eamt[p], ets[p], eout[p] = d[i], amt[i], ts[i], True
        pos[s[i]] += 1
    for i in range(n):
        p = pos[d[i]]
        ecp[p], eamt[p], ets[p], eout[p] = s[i], amt[i], ts[i], False
        pos[d[i]] += 1
    return starts


@nb.njit(cache=True, nogil=True)
def _sort_events(g0, g1, starts, ecp, eamt, ets, eout):
    """Stable sort by time inside each account g0..g1 of the events."""
    for g in range(g0, g1):
        a, b = starts[g], starts[g + 1]
        if b - a < 2:
            continue
        if b - a > 32:
            o = np.argsort(ets[a:b], kind="mergesort")
            ecp[a:b] = ecp[a:b][o]
            eamt[a:b] = eamt[a:b][o]
            ets[a:b] = ets[a:b][o]
            eout[a:b] = eout[a:b][o]
            continue
        for i in range(a + 1, b):
            c, m, t, o_ = ecp[i], eamt[i], ets[i], eout[i]
            j = i - 1
            while j >= a and ets[j] > t:
                ecp[j + 1], eamt[j + 1], ets[j + 1], eout[j + 1] = ecp[j], eamt[j], ets[j], eout[j]
                j -= 1
            ecp[j + 1], eamt[j + 1], ets[j + 1], eout[j + 1] = c, m, t, o_


def _events(s, d, amt, ts, n_keys):
    """Every transfer as its payer's ``out`` event and its payee's ``in`` event, ordered by
    (account, time): one counting sort, one gather, a stable sort by time inside each account."""
    n = 2 * s.shape[0]  # numpy's allocations (huge pages), not the kernel's
    ecp, eamt, ets, eout = (
        np.empty(n, np.int32),
        np.empty(n, np.int64),
        np.empty(n, np.int64),
        np.empty(n, np.bool_),
    )
    starts = _scatter_events(s, d, amt, ts, n_keys, ecp, eamt, ets, eout)
    run_ranges(_sort_events, ranges(starts, workers()), starts, ecp, eamt, ets, eout)
    return starts, ecp, eamt, ets, eout


@nb.njit(cache=True, nogil=True)
def _edges(s, d, amt):
    """Distinct (src, dst) edges with summed amounts, from transfers sorted by (src, dst)."""
    n = s.shape[0]
    es = np.empty(n, np.int32)
    ed = np.empty(n, np.int32)
    ea = np.empty(n, np.int64)
    m = 0
    i = 0
    while i < n:
        j = i
        tot = np.int64(0)
        while j < n and s[j] == s[i] and d[j] == d[i]:
            tot += amt[j]
            j += 1
        es[m], ed[m], ea[m] = s[i], d[i], tot
        m += 1
        i = j
    return es[:m], ed[:m], ea[:m]


A_RELAY, A_IN_CP, A_OUT_CP, A_PT, A_IN1, A_OUT1 = range(6)


@nb.njit(cache=True, nogil=True)
def _side(x, lo, hi, nbr, eamt, attrs, deg_col, mean1, mean2, oneoff_col, max_col, res, col0):
    """Neighbourhood aggregates of account ``x`` over the edges lo..hi to ``nbr``; ``attrs`` holds
    each account's attributes in one row (one cache line per neighbour)."""
    tot = np.int64(0)
    rel = np.int64(0)
    deg = 0.0
    s1 = 0.0
    s2 = 0.0
    s_pt = 0.0
    n_pt = 0
    s_oo = 0.0
    n_oo = 0
    mx = -1.0
    for j in range(lo, hi):
        row = attrs[nbr[j]]
        tot += eamt[j]
        if row[A_RELAY] > 0:
            rel += eamt[j]
        deg += row[deg_col]
        s1 += row[mean1]
        s2 += row[mean2]
        if not np.isnan(row[A_PT]):
            s_pt += row[A_PT]
            n_pt += 1
        if not np.isnan(row[oneoff_col]):
            s_oo += row[oneoff_col]
            n_oo += 1
        if row[max_col] > mx:
            mx = row[max_col]
    n = hi - lo
    res[x, col0] = rel / tot if tot != 0 else np.nan
    res[x, col0 + 1] = deg
    res[x, col0 + 2] = s1 / n
    res[x, col0 + 3] = s2 / n
    res[x, col0 + 4] = s_pt / n_pt if n_pt > 0 else np.nan
    res[x, col0 + 5] = s_oo / n_oo if n_oo > 0 else np.nan
    res[x, col0 + 6] = mx


def _graph(out_start, out_nbr, out_amt, in_start, in_nbr, in_amt, attrs, n_acct):
    """Per account: out-side block (relay share, 2-hop degree, means, max), in-side block,
    reciprocal partners, 3-cycle partners (an account's out-degree is its out_cp)."""
    res = np.full((n_acct, 16), np.nan)
    if n_acct:
        weight = out_start[: n_acct + 1] + in_start[: n_acct + 1]  # edges seen per account
        parts = ranges(weight, workers())
        run_ranges(_graph_block, parts, out_start, out_nbr, out_amt, in_start, in_nbr, in_amt, attrs, res)
    return res


@nb.njit(cache=True, nogil=True)
def _graph_block(x0, x1, out_start, out_nbr, out_amt, in_start, in_nbr, in_amt, attrs, res):
    n_acct = res.shape[0]
    mark = np.zeros(n_acct // 64 + 1, np.uint64)  # bit c set while visiting x: c pays x (fits in cache)
    for x in range(x0, x1):
        lo, hi = out_start[x], out_start[x + 1]
        if hi > lo:
            _side(x, lo, hi, out_nbr, out_amt, attrs, A_OUT_CP, A_IN_CP, A_OUT_CP, A_IN1, A_IN_CP, res, 0)
        ilo, ihi = in_start[x], in_start[x + 1]
        if ihi > ilo:
            _side(x, ilo, ihi, in_nbr, in_amt, attrs, A_IN_CP, A_OUT_CP, A_IN_CP, A_OUT1, A_OUT_CP, res, 7)
        for j in range(ilo, ihi):
            c = in_nbr[j]
            mark[c >> 6] |= np.uint64(1) << np.uint64(c & 63)
        recip = 0
        for j in range(lo, hi):
            c = out_nbr[j]
            if mark[c >> 6] & (np.uint64(1) << np.uint64(c & 63)):
                recip += 1
        res[x, 14] = recip
        cyc = 0
        if hi - lo <= SMALL_OUT_CP and ihi > ilo:
            for j in range(lo, hi):
                b = out_nbr[j]
                b_lo, b_hi = out_start[b], out_start[b + 1]
                if b_hi - b_lo > SMALL_OUT_CP:
                    continue
                for k in range(b_lo, b_hi):
                    c = out_nbr[k]
                    if (
                        c != x
                        and mark[c >> 6] & (np.uint64(1) << np.uint64(c & 63))
                        and out_start[c + 1] - out_start[c] <= SMALL_OUT_CP
                    ):
                        cyc += 1
                        break
        res[x, 15] = cyc
        for j in range(ilo, ihi):
            mark[in_nbr[j] >> 6] = np.uint64(0)


def _col(x: np.ndarray) -> pa.Array:
    return pa.array(x, mask=np.isnan(x))


def account_tables(
    engine: Engine, window_days: int | None, params: dict[str, Any]
) -> dict[str, tuple[pa.Table, dict[str, str]]] | None:
    """``__acct_keys``, ``__acct_tx``, ``__acct_node``, ``__acct_graph`` as Arrow tables with the
    SQL types to cast to; None when the records need the SQL path (null amounts)."""
    sql = fetch_sql(window_days)
    raw = engine.query(sql, {k: v for k, v in params.items() if f"${k}" in sql})
    if raw.column("amount_fen").null_count:
        return None
    (s, d), names = encode_ids(raw.column("from_account"), raw.column("to_account"))
    keep = (s >= 0) & (d >= 0)
    amt = raw.column("amount_fen").to_numpy().astype(np.int64)
    ts = np.array(raw.column("ts").to_numpy(), dtype=np.int64)  # writable: one kernel signature
    if not keep.all():
        s, d, amt, ts = s[keep], d[keep], amt[keep], ts[keep]
    del raw
    n_acct = len(names)
    n_keys = max(n_acct, 1)
    as_of = params["as_of"]
    if as_of.tzinfo is None:  # a naive as_of is UTC to the engine
        as_of = as_of.replace(tzinfo=UTC)
    as_of_s = ((as_of - EPOCH) // timedelta(microseconds=1)) / 1e6

    # events: payer's out and payee's in, ordered by (account, time)
    def node_features() -> tuple[np.ndarray, np.ndarray]:
        starts, ecp, eamt, ets, eout = _events(s, d, amt, ts, n_keys)
        return _accounts(starts, ecp, eamt, ets, eout, as_of_s, n_acct)

    def edge_list() -> tuple[np.ndarray, ...]:
        """Distinct edges sorted by (src, dst), their CSR, and the order by (dst, src)."""
        by_pair = order_by(s, n_keys, d, n_keys)
        es, ed, ea = _edges(s[by_pair], d[by_pair], amt[by_pair])
        out_start = np.zeros(n_keys + 1, np.int64)
        np.cumsum(np.bincount(es, minlength=n_keys), out=out_start[1:])
        return (es, ed, ea, out_start, *counting_order(ed, n_keys))

    # the per-account pass and the edge list do not depend on each other
    (ints, flt), (es, ed, ea, out_start, rev, in_start) = concurrently(node_features, edge_list)

    in_amt, out_amt = ints[:, I_IN_AMT], ints[:, I_OUT_AMT]
    hi_amt = np.maximum(in_amt, out_amt)
    with np.errstate(divide="ignore", invalid="ignore"):
        pass_through = np.where(hi_amt != 0, np.minimum(in_amt, out_amt) / hi_amt, np.nan)
        out_in = np.where(in_amt != 0, out_amt / np.where(in_amt != 0, in_amt, 1), np.nan)
        n_tx = ints[:, I_IN_N] + ints[:, I_OUT_N]
        in_share = np.where(n_tx != 0, ints[:, I_IN_N] / np.where(n_tx != 0, n_tx, 1), np.nan)
        per_day = np.where(
            ints[:, I_DAYS] != 0, n_tx / np.where(ints[:, I_DAYS] != 0, ints[:, I_DAYS], 1), np.nan
        )
    key_type = pa.int32()
    ids = pa.array(np.arange(n_acct, dtype=np.int32), key_type)
    node = pa.table(
        {
            "account": ids,
            "in_n": ints[:, I_IN_N],
            "out_n": ints[:, I_OUT_N],
            "in_amt_fen": in_amt,
            "out_amt_fen": out_amt,
            "in_cp": ints[:, I_IN_CP],
            "out_cp": ints[:, I_OUT_CP],
            "total_cp": ints[:, I_TOTAL_CP],
            "night_share": _col(flt[:, F_NIGHT]),
            "active_days": ints[:, I_DAYS],
            "span_days": _col(flt[:, F_SPAN]),
            "days_since_last": _col(flt[:, F_SINCE]),
            "first_at": pa.array(ints[:, I_FIRST], pa.timestamp("us", tz="UTC")),
            "amt_mean_fen": _col(flt[:, F_MEAN]),
            "amt_cv": _col(flt[:, F_CV]),
            "round_amount_share": _col(flt[:, F_ROUND]),
            "gap_cv": _col(flt[:, F_GAPCV]),
            "max_gap_days": _col(flt[:, F_MAXGAP]),
            "in_oneoff_share": _col(flt[:, F_IN1]),
            "out_oneoff_share": _col(flt[:, F_OUT1]),
            "tx_per_cp": _col(flt[:, F_TXCP]),
            "new_cp_peak_day": ints[:, I_PEAK],
            "out_within_1h_share": _col(flt[:, F_OUT1H]),
            "out_within_1d_share": _col(flt[:, F_OUT1D]),
            "out_before_any_in_share": _col(flt[:, F_BEFORE]),
            "dwell_median_h": _col(flt[:, F_DWELL]),
            "in_leaves_1d_share": _col(flt[:, F_LEAVES]),
            "pass_through_ratio": _col(pass_through),
            "out_in_amount_ratio": _col(out_in),
            "in_count_share": _col(in_share),
            "tx_per_active_day": _col(per_day),
        }
    )

    # graph: distinct edges sorted by (src, dst) and by (dst, src)
    relay = (pass_through >= 0.5) & (np.nan_to_num(flt[:, F_OUT1D], nan=0.0) >= 0.5)
    attrs = np.zeros((n_acct, 8))
    attrs[:, A_RELAY] = relay
    attrs[:, A_IN_CP] = ints[:, I_IN_CP]
    attrs[:, A_OUT_CP] = ints[:, I_OUT_CP]
    attrs[:, A_PT] = pass_through
    attrs[:, A_IN1] = flt[:, F_IN1]
    attrs[:, A_OUT1] = flt[:, F_OUT1]
    g = _graph(out_start, ed, ea, in_start, es[rev], ea[rev], attrs, n_acct)
    has_out = out_start[1 : n_acct + 1] > out_start[:n_acct]
    has_in = in_start[1 : n_acct + 1] > in_start[:n_acct]

    def block(col: int, mask: np.ndarray, integer: bool) -> pa.Array:
        x = g[:, col]
        if integer:
            return pa.array(np.nan_to_num(x).astype(np.int64), mask=~mask)
        return pa.array(x, mask=np.isnan(x))

    graph = pa.table(
        {
            "account": ids,
            "out_to_relay_share": block(0, has_out, False),
            "out2_degree": block(1, has_out, True),
            "out_nbr_in_cp_mean": block(2, has_out, False),
            "out_nbr_out_cp_mean": block(3, has_out, False),
            "out_nbr_pass_through_mean": block(4, has_out, False),
            "out_nbr_in_oneoff_mean": block(5, has_out, False),
            "out_nbr_in_cp_max": block(6, has_out, True),
            "in_from_relay_share": block(7, has_in, False),
            "in2_degree": block(8, has_in, True),
            "in_nbr_out_cp_mean": block(9, has_in, False),
            "in_nbr_in_cp_mean": block(10, has_in, False),
            "in_nbr_pass_through_mean": block(11, has_in, False),
            "in_nbr_out_oneoff_mean": block(12, has_in, False),
            "in_nbr_out_cp_max": block(13, has_in, True),
            "reciprocal_cp": g[:, 14].astype(np.int64),
            "cycle3_cp": g[:, 15].astype(np.int64),
        }
    )
    tx = pa.table(
        {
            "src": pa.array(s, key_type),
            "dst": pa.array(d, key_type),
            "amt": amt,
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
        }
    )
    keys = pa.table({"account": names, "k": ids})
    huge = "HUGEINT"
    return {
        "__acct_keys": (keys, {}),
        "__acct_tx": (tx, {}),
        "__acct_node": (node, {"in_amt_fen": huge, "out_amt_fen": huge}),
        "__acct_graph": (graph, {"out2_degree": huge, "in2_degree": huge}),
    }
