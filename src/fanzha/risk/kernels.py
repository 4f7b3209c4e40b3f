"""Numba kernels shared by the accelerated (local-engine) feature paths.

The SQL feature queries spend most of their time hashing and comparing identifier strings. The
accelerated paths fetch the window's records once through the Engine, turn every identifier into a
dense integer id exactly (no hashing of the strings into fingerprints, so no collisions), and then
compute all per-entity aggregates over sorted integer arrays in single passes.

Identifier encoding: a string of 1–17 ASCII digits with an optional leading ``+`` (phone numbers
in their canonical forms — mainland 11 digits, service codes, E.164 ``+<digits>`` — IMEIs, most
account numbers) maps injectively to ``(value * 32 + length) * 2 + plus`` (the length keeps leading
zeros apart); any other string makes the column fall back to Arrow's exact dictionary encoding,
which is slower but general.
"""

from __future__ import annotations

import importlib
import itertools
import math
import os
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeAlias, cast

import numba as nb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fanzha.risk.cpus import workers

MAX_DIGITS = 17  # 10**17 * 64 < 2**63

# ---------------------------------------------------------------------------------------------
# threads: per-entity kernels are compiled with ``nogil=True`` and run over contiguous ranges of
# entities on a small thread pool (the ranges write disjoint rows of the output arrays)


@cache
def _pool(kind: str, n: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(n, thread_name_prefix=f"fanzha-{kind}")


if hasattr(os, "register_at_fork"):  # a forked worker has none of the parent's threads: new pools
    os.register_at_fork(after_in_child=_pool.cache_clear)


def ranges(starts: np.ndarray, parts: int) -> list[tuple[int, int]]:
    """Split the entities of a CSR ``starts`` (length n + 1) into at most ``parts`` contiguous
    ranges holding about the same number of rows."""
    n = starts.shape[0] - 1
    if parts <= 1 or n < 2 * parts:
        return [(0, n)]
    total = starts[-1] - starts[0]
    cuts = np.searchsorted(starts, starts[0] + total * np.arange(1, parts) / parts)
    bounds = np.unique(np.concatenate([[0], np.clip(cuts, 0, n), [n]]))
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds) if b > a]


def run_ranges(kernel: Callable[..., Any], parts: list[tuple[int, int]], *args: Any) -> list[Any]:
    """``kernel(a, b, *args)`` for every range, concurrently (the kernel must release the GIL)."""
    if len(parts) == 1:
        return [kernel(parts[0][0], parts[0][1], *args)]
    futures = [_pool("ranges", len(parts)).submit(kernel, a, b, *args) for a, b in parts]
    return [f.result() for f in futures]


def pipelined(fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
    """``[fn(item) for item in items]`` with ``fn`` on the task pool while the next items are
    produced (a streaming query fetches its next batch meanwhile); at most ``workers() + 1``
    items wait or run at once, so memory stays bounded."""
    n = workers()
    if n == 1:
        return [fn(item) for item in items]
    pool = _pool("tasks", n)
    pending: deque[Future[Any]] = deque()
    done = []
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) > n:
            done.append(pending.popleft().result())
    done.extend(f.result() for f in pending)
    return done


def concurrently(*calls: Callable[[], Any]) -> list[Any]:
    """Independent calls on the task pool (they may use :func:`run_ranges` inside)."""
    if workers() == 1 or len(calls) == 1:
        return [call() for call in calls]
    futures = [_pool("tasks", len(calls)).submit(call) for call in calls]
    return [f.result() for f in futures]


# ---------------------------------------------------------------------------------------------
# memory: the feature paths allocate and free arrays of hundreds of MB, stage after stage. Fresh
# memory costs a page fault per page on first touch (on a VM, about 0.5 s per GB of system time,
# ten times the compute of a pass over it), and huge-page requests can add direct compaction in
# the kernel (1.2 s for one GB measured). While a feature path runs, big blocks come from the heap
# and freed ones stay there for the next stage to reuse, and numpy does not ask for huge pages;
# afterwards the settings return and the free heap is given back.

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4
_GLIBC_DEFAULTS = {_M_TRIM_THRESHOLD: 128 * 1024, _M_MMAP_MAX: 65536}


@cache
def _libc() -> Any:
    import ctypes
    import ctypes.util

    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def _hugepage_switch() -> Callable[[bool], bool] | None:
    """numpy's (private) switch for asking the OS for huge pages; it returns the previous setting."""
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):  # numpy ≥ 2, numpy 1
        try:
            switch = getattr(importlib.import_module(module), "_set_madvise_hugepage", None)
        except ImportError:
            continue
        if switch is not None:
            return cast(Callable[[bool], bool], switch)
    return None


_reuse_lock = threading.Lock()
_reuse_state: dict[str, Any] = {"depth": 0, "huge": False}


@contextmanager
def reused_memory() -> Iterator[None]:
    """Recycle freed blocks within a feature computation (see above); a no-op off glibc, or with
    ``FANZHA_REUSE_MEMORY=0``. Computations on several threads share one setting: the first to
    enter switches, the last to leave restores."""
    libc = _libc() if os.environ.get("FANZHA_REUSE_MEMORY", "1") != "0" else None
    if libc is None:
        yield
        return
    switch = _hugepage_switch()
    with _reuse_lock:
        if _reuse_state["depth"] == 0:
            _reuse_state["huge"] = switch(False) if switch else False
            libc.mallopt(_M_TRIM_THRESHOLD, 1 << 30)
            libc.mallopt(_M_MMAP_MAX, 0)
        _reuse_state["depth"] += 1
    try:
        yield
    finally:
        with _reuse_lock:
            _reuse_state["depth"] -= 1
            if _reuse_state["depth"] == 0:
                for option, value in _GLIBC_DEFAULTS.items():
                    libc.mallopt(option, value)
                libc.malloc_trim(0)
                if switch:
                    switch(_reuse_state["huge"])


# ---------------------------------------------------------------------------------------------
# identifier encoding


@nb.njit(cache=True, nogil=True)
def _digit_codes(offsets, data, valid, out, start):
    """Codes of one Arrow string chunk into ``out[start:]``; -1 for null; returns False when a value
    is not 1–17 digits after an optional ``+``."""
    for i in range(offsets.shape[0] - 1):
        if not valid[i]:
            out[start + i] = -1
            continue
        a, b = offsets[i], offsets[i + 1]
        plus = 0
        if b > a and data[a] == 43:  # "+"
            plus = 1
            a += 1
        n = b - a
        if n < 1 or n > MAX_DIGITS:
            return False
        v = np.int64(0)
        for j in range(a, b):
            d = np.int64(data[j]) - 48
            if d < 0 or d > 9:
                return False
            v = v * 10 + d
        out[start + i] = (v * 32 + n) * 2 + plus
    return True


def _chunk_buffers(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if chunk.type not in (pa.string(), pa.large_string()):
        chunk = chunk.cast(pa.large_string())
    width = np.int32 if chunk.type == pa.string() else np.int64
    bufs = chunk.buffers()
    offsets = np.frombuffer(bufs[1], width)[chunk.offset : chunk.offset + len(chunk) + 1]
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(1, np.uint8)
    valid = (
        np.ones(len(chunk), np.bool_)
        if chunk.null_count == 0
        else chunk.is_valid().to_numpy(zero_copy_only=False)
    )
    return offsets, data, valid


def digit_codes(column: pa.ChunkedArray | pa.Array) -> np.ndarray | None:
    """int64 code per value (-1 for null), or None when some value is not a short digit string."""
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    out = np.empty(sum(len(c) for c in chunks), np.int64)
    starts = np.zeros(len(chunks) + 1, np.int64)
    np.cumsum([len(c) for c in chunks], out=starts[1:])

    def some(a: int, b: int) -> bool:
        return all(_digit_codes(*_chunk_buffers(chunks[i]), out, starts[i]) for i in range(a, b))

    parts = ranges(np.arange(len(chunks) + 1), workers())
    return out if all(run_ranges(some, parts)) else None


MIX = 0x9E3779B97F4A7C15  # Fibonacci hashing multiplier
PART_BITS = 8  # 256 partitions: each partition's hash table stays in cache


@nb.njit(cache=True, nogil=True)
def _partition(codes, pbits, part, pcodes, prow):
    """Radix-partition the non-null codes by the top bits of their hash into ``pcodes`` (their row
    in ``prow``); returns the start of each partition. At most 2**15 partitions and 2**31 rows;
    ``part`` is scratch of one int16 per code."""
    n = codes.shape[0]
    parts = 1 << pbits
    starts = np.zeros(parts + 1, np.int64)
    for i in range(n):
        x = codes[i]
        if x < 0:
            part[i] = -1
            continue
        h = np.int16((np.uint64(x) * np.uint64(MIX)) >> np.uint64(64 - pbits))
        part[i] = h
        starts[h + 1] += 1
    for p in range(parts):
        starts[p + 1] += starts[p]
    pos = starts[:-1].copy()
    for i in range(n):
        q = part[i]
        if q >= 0:
            pcodes[pos[q]] = codes[i]
            prow[pos[q]] = np.int32(i)
            pos[q] += 1
    return starts


@nb.njit(cache=True, nogil=True)
def _local_ids(pcodes, a, b, local):
    """Ids 0.. by first appearance among pcodes[a:b] (open addressing, grows at half full);
    returns how many distinct. The code of local id v is written over pcodes[a + v] (safe: that
    slot has been read already)."""
    slots = 1024
    table = np.zeros(2 * slots, np.int64)  # (code, id + 1) side by side
    n = 0
    for i in range(a, b):
        x = pcodes[i]
        h = (np.uint64(x) * np.uint64(MIX)) >> np.uint64(20)
        while True:
            s = np.int64(h) & (slots - 1)
            v = 0
            while True:
                v = table[2 * s + 1]
                if v == 0 or table[2 * s] == x:
                    break
                s = (s + 1) & (slots - 1)
            if v != 0:
                local[i] = v - 1
                break
            if 2 * (n + 1) <= slots:
                table[2 * s] = x
                table[2 * s + 1] = n + 1
                pcodes[a + n] = x
                local[i] = n
                n += 1
                break
            slots *= 2  # grow and re-insert the ids so far
            table = np.zeros(2 * slots, np.int64)
            for v2 in range(n):
                y = pcodes[a + v2]
                s2 = np.int64((np.uint64(y) * np.uint64(MIX)) >> np.uint64(20)) & (slots - 1)
                while table[2 * s2 + 1] != 0:
                    s2 = (s2 + 1) & (slots - 1)
                table[2 * s2] = y
                table[2 * s2 + 1] = v2 + 1
    return n


@nb.njit(cache=True, nogil=True)
def _local_ids_range(p0, p1, pcodes, starts, local, distinct):
    for p in range(p0, p1):
        distinct[p] = _local_ids(pcodes, starts[p], starts[p + 1], local)


@nb.njit(cache=True, nogil=True)
def _assemble_ids(p0, p1, starts, offsets, local, pcodes, prow, first, out):
    for p in range(p0, p1):
        a = starts[p]
        first[offsets[p] : offsets[p + 1]] = pcodes[a : a + offsets[p + 1] - offsets[p]]
        for i in range(a, starts[p + 1]):
            out[prow[i]] = np.int32(offsets[p] + local[i])


def _dense_partitioned(codes: np.ndarray, pbits: int) -> tuple[np.ndarray, np.ndarray]:
    if codes.shape[0] >= 2**31:
        raise ValueError("more than 2**31 identifiers in one id space")
    # the big arrays come from numpy, not from inside the kernels: numpy asks the OS for huge
    # pages, which cuts the page faults (a quarter of the CPU time was system time)
    pcodes, prow = np.empty(codes.shape[0], np.int64), np.empty(codes.shape[0], np.int32)
    starts = _partition(codes, pbits, np.empty(codes.shape[0], np.int16), pcodes, prow)
    parts = ranges(starts, workers())
    local = np.empty(pcodes.shape[0], np.int32)
    distinct = np.zeros(1 << pbits, np.int64)
    run_ranges(_local_ids_range, parts, pcodes, starts, local, distinct)
    offsets = np.zeros((1 << pbits) + 1, np.int64)
    np.cumsum(distinct, out=offsets[1:])
    first = np.empty(offsets[-1], np.int64)
    out = np.full(codes.shape[0], -1, np.int32)
    run_ranges(_assemble_ids, parts, starts, offsets, local, pcodes, prow, first, out)
    return out, first


def dense_ids(*codes: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """One id space over several code arrays: (ids per array (int32, -1 for null), code per id).

    Radix-partitioned hashing: the codes are split by hash into 256 partitions whose hash tables
    fit in cache (one random memory access per row instead of several)."""
    joined = codes[0] if len(codes) == 1 else np.concatenate(codes)
    out, first = _dense_partitioned(joined.astype(np.int64, copy=False), PART_BITS)
    outs, start = [], 0
    for c in codes:
        outs.append(out[start : start + len(c)])
        start += len(c)
    return outs, first


@nb.njit(cache=True, nogil=True)
def _code_strings(codes):
    offsets = np.zeros(codes.shape[0] + 1, np.int32)
    for i in range(codes.shape[0]):
        offsets[i + 1] = offsets[i] + np.int32((codes[i] >> 1) % 32 + (codes[i] & 1))
    data = np.empty(offsets[-1], np.uint8)
    for i in range(codes.shape[0]):
        v = (codes[i] >> 1) // 32
        for j in range(offsets[i + 1] - 1, offsets[i] - 1, -1):
            data[j] = 48 + v % 10
            v //= 10
        if codes[i] & 1:
            data[offsets[i]] = 43  # the "+" written over the leading zero the loop put there
    return offsets, data


def code_strings(codes: np.ndarray) -> pa.Array:
    """The strings back from their digit codes."""
    offsets, data = _code_strings(codes)
    return pa.StringArray.from_buffers(len(codes), pa.py_buffer(offsets), pa.py_buffer(data))


def encode_ids(*columns: pa.ChunkedArray) -> tuple[list[np.ndarray], pa.Array]:
    """Exact dense ids (int32, -1 for null) over identifier columns sharing one id space, and the
    string of each id."""
    codes = [digit_codes(c) for c in columns]
    if all(c is not None for c in codes):
        ids, first = dense_ids(*[c for c in codes if c is not None])
        return ids, code_strings(first)
    chunks = [ch for col in columns for ch in col.chunks]
    encoded = pc.dictionary_encode(pa.chunked_array(chunks, type=columns[0].type)).combine_chunks()
    indices = encoded.indices.fill_null(-1).to_numpy().astype(np.int32)
    out, start = [], 0
    for col in columns:
        out.append(indices[start : start + len(col)])
        start += len(col)
    return out, encoded.dictionary


IdPart: TypeAlias = np.ndarray | pa.Array  # one batch of an identifier column: digit codes, or its strings


def id_part(array: pa.Array) -> IdPart:
    """One batch of an identifier column: its digit codes when every value has one, else the strings."""
    codes = digit_codes(array)
    return codes if codes is not None else array


def _part_strings(part: IdPart) -> pa.Array:
    if isinstance(part, np.ndarray):  # codes back to the exact strings, nulls where -1
        strings = code_strings(np.where(part >= 0, part, 2))
        return (
            pc.if_else(pa.array(part < 0), pa.scalar(None, pa.string()), strings)
            if (part < 0).any()
            else strings
        )
    return part.cast(pa.string())


def encode_id_parts(*columns: list[IdPart]) -> tuple[list[np.ndarray], pa.Array]:
    """:func:`encode_ids` over identifier columns gathered batch by batch (:func:`id_part`)."""
    if all(isinstance(p, np.ndarray) for col in columns for p in col):
        ids, first = dense_ids(*[np.concatenate(col) if col else np.empty(0, np.int64) for col in columns])
        return ids, code_strings(first)
    return encode_ids(*[pa.chunked_array([_part_strings(p) for p in col], pa.string()) for col in columns])


def identifier_part_codes(parts: list[IdPart]) -> np.ndarray:
    """:func:`identifier_codes` over a column gathered batch by batch (:func:`id_part`)."""
    if all(isinstance(p, np.ndarray) for p in parts):
        return np.concatenate(parts) if parts else np.empty(0, np.int64)
    return identifier_codes(pa.chunked_array([_part_strings(p) for p in parts], pa.string()))


def ranked_part(array: pa.Array) -> tuple[np.ndarray, list[Any]]:
    """One batch of a low-cardinality text column: local codes (-1 for null) and their values."""
    encoded = pc.dictionary_encode(array)
    return encoded.indices.fill_null(-1).to_numpy().astype(np.int32), encoded.dictionary.to_pylist()


def ranked_part_codes(parts: list[tuple[np.ndarray, list[Any]]]) -> tuple[np.ndarray, int]:
    """Codes of a low-cardinality text column gathered batch by batch (:func:`ranked_part`), in
    sort order of the values (binary, as SQL's ORDER BY on VARCHAR), -1 for null, and the number of
    distinct values."""
    values = sorted({v for _, local in parts for v in local}, key=lambda v: str(v).encode())
    rank = {v: r for r, v in enumerate(values)}
    out = []
    for codes, local in parts:
        remap = np.array([rank[v] for v in local] + [-1], np.int32)  # index -1 → the appended -1
        out.append(remap[codes])
    return (np.concatenate(out) if out else np.empty(0, np.int32)), len(values)


def identifier_codes(column: pa.ChunkedArray) -> np.ndarray:
    """Exact int64 codes of one identifier column (-1 for null): digit codes, or dictionary indices
    when some value is not a short digit string (codes are equal iff the strings are)."""
    codes = digit_codes(column)
    if codes is not None:
        return codes
    encoded = pc.dictionary_encode(column).combine_chunks()
    return encoded.indices.fill_null(-1).to_numpy().astype(np.int64)


# ---------------------------------------------------------------------------------------------
# sorting and grouping


@nb.njit(cache=True, nogil=True)
def _counting_order_into(keys, nkeys, order):
    """The stable order of ``keys`` (0 ≤ key < nkeys) written into ``order``; returns the start of
    each key's run (CSR)."""
    starts = np.zeros(nkeys + 1, np.int64)
    for i in range(keys.shape[0]):
        starts[keys[i] + 1] += 1
    for k in range(nkeys):
        starts[k + 1] += starts[k]
    pos = starts[:-1].copy()
    for i in range(keys.shape[0]):
        k = keys[i]
        order[pos[k]] = i
        pos[k] += 1
    return starts


@nb.njit(cache=True, nogil=True)
def counting_order(keys, nkeys):
    """Stable order of ``keys`` (0 ≤ key < nkeys) and the start of each key's run (CSR)."""
    order = np.empty(keys.shape[0], np.int64)
    return order, _counting_order_into(keys, nkeys, order)


@nb.njit(cache=True, nogil=True)
def _sort_runs(order, k1, k2, t):
    """``k1``, ``k2``, ``t`` are gathered along ``order``; within runs of equal (k1, k2) sort
    ``order`` (and ``t``) by ``t``, stably (insertion sort; merge sort for long runs)."""
    n = order.shape[0]
    a = 0
    while a < n:
        b = a + 1
        while b < n and k1[b] == k1[a] and k2[b] == k2[a]:
            b += 1
        if b - a > 1:
            if b - a > 64:
                o = np.argsort(t[a:b], kind="mergesort")
                order[a:b] = order[a:b][o]
                t[a:b] = t[a:b][o]
            else:
                for i in range(a + 1, b):
                    x, tx = order[i], t[i]
                    j = i - 1
                    while j >= a and t[j] > tx:
                        order[j + 1] = order[j]
                        t[j + 1] = t[j]
                        j -= 1
                    order[j + 1] = x
                    t[j + 1] = tx
        a = b


def sort_runs_by(order: np.ndarray, first_key: np.ndarray, second_key: np.ndarray, ts: np.ndarray) -> None:
    """Within runs of equal (first_key, second_key) along ``order``, sort ``order`` by ``ts``
    (stable: equal times keep their order)."""
    _sort_runs(order, first_key[order], second_key[order], ts[order])


def order_by(
    first: np.ndarray, n_first: int, second: np.ndarray, n_second: int, ts: np.ndarray | None = None
) -> np.ndarray:
    """Row order by (first, second[, ts]), stable; keys are dense ids."""
    by_second, _ = counting_order(second, n_second)
    by_first, _ = counting_order(first[by_second], n_first)
    order = by_second[by_first]
    if ts is not None:
        sort_runs_by(order, first, second, ts)
    return order


@nb.njit(cache=True, nogil=True)
def small_sort(x):
    if x.shape[0] > 32:
        x.sort()
        return
    for i in range(1, x.shape[0]):
        v = x[i]
        j = i - 1
        while j >= 0 and x[j] > v:
            x[j + 1] = x[j]
            j -= 1
        x[j + 1] = v


@nb.njit(cache=True, nogil=True)
def grouped_values(ka, va, kb, vb, nkeys):
    """The values ≥ 0 of two (key, value) sides grouped by key (0 ≤ key < nkeys) without joining
    the sides first: the start of each key's run (CSR) and the values (side a's first)."""
    starts = np.zeros(nkeys + 1, np.int64)
    for i in range(ka.shape[0]):
        if va[i] >= 0:
            starts[ka[i] + 1] += 1
    for i in range(kb.shape[0]):
        if vb[i] >= 0:
            starts[kb[i] + 1] += 1
    for k in range(nkeys):
        starts[k + 1] += starts[k]
    pos = starts[:-1].copy()
    vals = np.empty(starts[nkeys], va.dtype)
    for i in range(ka.shape[0]):
        if va[i] >= 0:
            vals[pos[ka[i]]] = va[i]
            pos[ka[i]] += 1
    for i in range(kb.shape[0]):
        if vb[i] >= 0:
            vals[pos[kb[i]]] = vb[i]
            pos[kb[i]] += 1
    return starts, vals


@nb.njit(cache=True, nogil=True)
def _distinct_pairs(ka, va, kb, vb, nkeys):
    starts, vals = grouped_values(ka, va, kb, vb, nkeys)
    n = vals.shape[0]
    out_k, out_v, out_n = np.empty(n, np.int32), np.empty(n, vals.dtype), np.empty(n, np.int64)
    m = 0
    for k in range(nkeys):
        run = vals[starts[k] : starts[k + 1]]
        small_sort(run)
        i = 0
        while i < run.shape[0]:
            j = i + 1
            while j < run.shape[0] and run[j] == run[i]:
                j += 1
            out_k[m] = k
            out_v[m] = run[i]
            out_n[m] = j - i
            m += 1
            i = j
    return out_k[:m], out_v[:m], out_n[:m]


def distinct_pairs(
    keys: np.ndarray, values: np.ndarray, nkeys: int, more: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (key, value) pairs with value ≥ 0, sorted by key then value, with their counts;
    ``more``: a second (keys, values) side counted with the first."""
    kb, vb = more if more is not None else (keys[:0], values[:0])
    return _distinct_pairs(keys, values, kb, vb, max(nkeys, 1))


# ---------------------------------------------------------------------------------------------
# time helpers (the SQL's definitions, from epoch microseconds)

CHINA_OFFSET_S = 8 * 3600


@nb.njit(cache=True, inline="always")
def local_hour(us):
    """floor(((epoch + 8 h) % 86400) / 3600) with SQL's (C's) remainder on the epoch in seconds."""
    e = us / 1e6
    return math.floor(np.fmod(e + CHINA_OFFSET_S, 86400.0) / 3600.0)


@nb.njit(cache=True, inline="always")
def floor_div(us, unit_s):
    """floor(epoch / unit) as in the SQL (epoch in seconds, a double)."""
    return np.int64(math.floor((us / 1e6) / unit_s))
