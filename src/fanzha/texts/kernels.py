"""Compiled (numba) kernels of the text hot path: n-gram lookup and counting, and reason selection.

Each has a pure numpy / Python reference in the calling module (used without numba and checked
against the kernel in the tests), so the kernels change speed, never results.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class Kernels(NamedTuple):
    build_table: Any
    count_rows: Any
    reason_spans: Any


_HASH_MULT = 0x9E3779B97F4A7C15  # Fibonacci hashing: the top bits of key × 2⁶⁴/φ pick the slot
_KERNELS: list[Kernels | None] = []
# count trailing zeros of a single set bit: de Bruijn multiply and look-up
_DEBRUIJN_MULT = 0x03F79D71B4CB0A89
_DEBRUIJN = np.zeros(64, dtype=np.int64)
for _bit in range(64):
    _DEBRUIJN[((1 << _bit) * _DEBRUIJN_MULT % (1 << 64)) >> 58] = _bit


def _compile() -> Kernels | None:
    """The numba kernels of the batch transform (``None`` without numba: the numpy path is used)."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba is a dependency; kept for a bare install
        return None

    @numba.njit(cache=True, nogil=True)
    def build_table(
        keys: np.ndarray, cols: np.ndarray, bits: int, low: int
    ) -> tuple[np.ndarray, np.ndarray, bool]:
        """Open-addressing table of (key, column) pairs side by side (one cache line per probe), a
        direct array for the single characters of the BMP, and whether every n-gram's prefix is
        itself in the vocabulary (true for any vocabulary cut by document frequency, which lets
        the lookup stop at the first unknown prefix)."""
        size = 1 << bits
        table = np.zeros(2 * size, np.int64)  # key 0 marks an empty slot (a key is never 0)
        shift = 64 - bits
        mask = size - 1
        single = np.full(65536, -1, np.int64)
        for i in range(len(keys)):
            key = keys[i]
            h = np.int64((np.uint64(key) * np.uint64(_HASH_MULT)) >> np.uint64(shift))
            while table[2 * h] != 0:
                h = (h + 1) & mask
            table[2 * h] = key
            table[2 * h + 1] = cols[i]
            if key <= 65536:
                single[key - 1] = cols[i]
        closed = True
        for i in range(len(keys)):
            prefix = keys[i] >> 21
            length = 1
            rest = prefix
            while rest != 0:
                rest >>= 21
                length += 1
            if length <= low or prefix == 33:  # a lone space is never a feature itself
                continue
            h = np.int64((np.uint64(prefix) * np.uint64(_HASH_MULT)) >> np.uint64(shift))
            while table[2 * h] != prefix and table[2 * h] != 0:
                h = (h + 1) & mask
            if table[2 * h] == 0:
                closed = False
                break
        return table, single, closed

    @numba.njit(cache=True, nogil=True)
    def count_rows(
        codes: np.ndarray,
        n_rows: int,
        n_features: int,
        low: int,
        high: int,
        table: np.ndarray,
        single: np.ndarray,
        closed: bool,
        bits: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Counts of known n-grams (CSR, columns sorted) of texts joined by NUL (code 0), and where in
        its text each n-gram first occurs (for the reasons: ``text.find(gram)`` without searching)."""
        shift = 64 - bits
        mask = (1 << bits) - 1
        total = len(codes)
        per_pos = high - low + 1
        indptr = np.zeros(n_rows + 1, np.int64)
        indices = np.empty(total * per_pos + 1, np.int32)
        data = np.empty(total * per_pos + 1, np.float64)
        first = np.empty(total * per_pos + 1, np.int32)
        count = np.zeros(n_features, np.int64)
        first_at = np.zeros(n_features, np.int64)
        # the columns a row has seen, as a bitmap and a bitmap of its non-zero words: read back in
        # column order, they give the sorted row without sorting
        bitmap = np.zeros((n_features + 63) // 64, np.uint64)
        summary = np.zeros((len(bitmap) + 63) // 64, np.uint64)
        out = 0
        start = 0
        for row in range(n_rows):
            end = start
            while end < total and codes[end] != 0:
                end += 1
            for i in range(start, end):
                key = np.int64(0)
                for n in range(1, high + 1):
                    if i + n > end:
                        break
                    code = np.int64(codes[i + n - 1])
                    key = (key << 21) | (code + 1)
                    if n < low or (n == 1 and code == 32):  # a lone space is not a feature
                        continue
                    col = -1
                    if n == 1 and code < 65536:
                        col = single[code]
                    else:
                        h = np.int64((np.uint64(key) * np.uint64(_HASH_MULT)) >> np.uint64(shift))
                        while True:
                            found = table[2 * h]
                            if found == key:
                                col = table[2 * h + 1]
                                break
                            if found == 0:
                                break
                            h = (h + 1) & mask
                    if col >= 0:
                        word = col >> 6
                        bit = np.uint64(1) << np.uint64(col & 63)
                        if bitmap[word] & bit:
                            count[col] += 1
                        else:
                            bitmap[word] |= bit
                            summary[word >> 6] |= np.uint64(1) << np.uint64(word & 63)
                            count[col] = 1
                            first_at[col] = i - start
                    elif closed:  # no longer n-gram can start with an unknown one
                        break
            for s_word in range(len(summary)):
                upper = summary[s_word]
                if upper == 0:
                    continue
                summary[s_word] = 0
                while upper != 0:
                    low_bit = upper & (~upper + np.uint64(1))
                    upper ^= low_bit
                    word = s_word * 64 + _DEBRUIJN[(low_bit * np.uint64(_DEBRUIJN_MULT)) >> np.uint64(58)]
                    lower = bitmap[word]
                    bitmap[word] = 0
                    while lower != 0:
                        low_bit = lower & (~lower + np.uint64(1))
                        lower ^= low_bit
                        col = word * 64 + _DEBRUIJN[(low_bit * np.uint64(_DEBRUIJN_MULT)) >> np.uint64(58)]
                        indices[out] = col
                        data[out] = count[col]
                        first[out] = first_at[col]
                        out += 1
            indptr[row + 1] = out
            start = end + 1
        return indptr, indices[:out].copy(), data[:out].copy(), first[:out].copy()

    @numba.njit(cache=True, nogil=True)
    def reason_spans(
        indptr: np.ndarray,
        indices: np.ndarray,
        signed: np.ndarray,
        contrib: np.ndarray,
        first: np.ndarray,
        lengths: np.ndarray,
        m: int,
        k: int,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The phrases of the reasons for a whole batch (``detector._top_phrase_parts`` per row).

        Per CSR row: its (at most ``m``) entries with the largest positive ``signed`` contribution;
        their n-grams as spans ``first .. first + length`` of the text, sorted and merged where they
        overlap or touch (weights summed in span order); the ``k`` heaviest phrases, heaviest first.
        Returns (row pointer, start, end, weight) of the phrases."""
        n = len(indptr) - 1
        ptr = np.zeros(n + 1, np.int64)
        starts = np.empty(n * k + 1, np.int64)
        ends = np.empty(n * k + 1, np.int64)
        weights = np.empty(n * k + 1, np.float64)
        buf = np.empty(64, np.int64)
        chosen = np.empty(m, np.int64)
        s_start = np.empty(m, np.int64)
        s_end = np.empty(m, np.int64)
        s_weight = np.empty(m, np.float64)
        out = 0
        for row in range(n):
            lo, hi = indptr[row], indptr[row + 1]
            if hi - lo > len(buf):
                buf = np.empty(hi - lo, np.int64)
            count = 0
            for j in range(lo, hi):
                if signed[j] > 0:
                    buf[count] = j
                    count += 1
            take = min(m, count)
            if count > m:  # keep the m largest: those above the m-th largest value, then ties
                values = np.empty(count, np.float64)
                for t in range(count):
                    values[t] = signed[buf[t]]
                values.sort()
                cut = values[count - m]
                kept = 0
                for t in range(count):
                    if signed[buf[t]] > cut:
                        chosen[kept] = buf[t]
                        kept += 1
                for t in range(count):
                    if kept < m and signed[buf[t]] == cut:
                        chosen[kept] = buf[t]
                        kept += 1
            else:
                chosen[:count] = buf[:count]
            for t in range(take):
                j = chosen[t]
                a = first[j]
                b = a + lengths[indices[j]]
                w = contrib[j]
                # insert into the spans sorted by (start, end, weight), like Python's tuple sort
                v = t
                while v > 0 and (
                    s_start[v - 1] > a
                    or (
                        s_start[v - 1] == a
                        and (s_end[v - 1] > b or (s_end[v - 1] == b and s_weight[v - 1] > w))
                    )
                ):
                    s_start[v] = s_start[v - 1]
                    s_end[v] = s_end[v - 1]
                    s_weight[v] = s_weight[v - 1]
                    v -= 1
                s_start[v] = a
                s_end[v] = b
                s_weight[v] = w
            if take == 0:
                ptr[row + 1] = out
                continue
            # merge overlapping or touching spans (in place, at the front)
            merged = 0
            cur_a, cur_b, cur_w = s_start[0], s_end[0], s_weight[0]
            for t in range(1, take):
                if s_start[t] <= cur_b:
                    cur_b = max(cur_b, s_end[t])
                    cur_w += s_weight[t]
                else:
                    s_start[merged], s_end[merged], s_weight[merged] = cur_a, cur_b, cur_w
                    merged += 1
                    cur_a, cur_b, cur_w = s_start[t], s_end[t], s_weight[t]
            s_start[merged], s_end[merged], s_weight[merged] = cur_a, cur_b, cur_w
            merged += 1
            # stable sort by weight, heaviest (absolute) first; keep k
            for t in range(1, merged):
                a, b, w = s_start[t], s_end[t], s_weight[t]
                v = t
                while v > 0 and abs(s_weight[v - 1]) < abs(w):
                    s_start[v], s_end[v], s_weight[v] = s_start[v - 1], s_end[v - 1], s_weight[v - 1]
                    v -= 1
                s_start[v], s_end[v], s_weight[v] = a, b, w
            for t in range(min(k, merged)):
                starts[out] = s_start[t]
                ends[out] = s_end[t]
                weights[out] = s_weight[t]
                out += 1
            ptr[row + 1] = out
        return ptr, starts[:out].copy(), ends[:out].copy(), weights[:out].copy()

    return Kernels(build_table, count_rows, reason_spans)


def compiled_kernels() -> Kernels | None:
    """The compiled kernels (compiled once, cached on disk by numba), or ``None`` without numba."""
    if not _KERNELS:
        _KERNELS.append(_compile())
    return _KERNELS[0]
