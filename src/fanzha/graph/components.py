"""Connected components on integer edge lists, fast.

Node keys (``phone:…``, ``account:…``) are mapped to dense int32 ids without Python strings
(:func:`index_edges`: DuckDB's 64-bit ``hash()`` of each key, radix-partitioned numba hash tables
over the Arrow buffers, collision-checked); the components themselves run on the two int32 arrays. The default is a sequential union-find with
path halving compiled by numba (≈ 20M edges/s on one core here, see docs/graph.md); without numba a
vectorised numpy hook-and-jump union-find is used. Both return, for each node, the smallest node id
of its component, so results are deterministic and comparable.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fanzha.engine.base import Engine
from fanzha.errors import ValidationError


def _numba_union_find() -> Any:
    try:
        import numba
    except ImportError:  # optional speed-up; numpy fallback below
        return None

    @numba.njit(cache=True, nogil=True)
    def union_into(parent: np.ndarray, u: np.ndarray, v: np.ndarray) -> int:  # pragma: no cover - compiled
        """Rem's union-find with splicing (parents always point to smaller ids), in blocks.

        Before each block of 1024 edges the parents of its ends are read once: those loads do not
        depend on each other, so the CPU overlaps their cache misses (the union loop itself
        waits on every miss). Ids and parents are uint32 (validated non-negative by the callers):
        unsigned indexes need no negative-index wraparound, ≈ 25 % faster than int32."""
        m = u.shape[0]
        touched = 0
        for start in range(0, m, 1024):
            end = min(start + 1024, m)
            for i in range(start, end):
                touched += parent[u[i]] + parent[v[i]]
            for i in range(start, end):
                rx = u[i]
                ry = v[i]
                while parent[rx] != parent[ry]:
                    if parent[rx] > parent[ry]:
                        if rx == parent[rx]:
                            parent[rx] = parent[ry]
                            break
                        z = parent[rx]
                        parent[rx] = parent[ry]
                        rx = z
                    else:
                        if ry == parent[ry]:
                            parent[ry] = parent[rx]
                            break
                        z = parent[ry]
                        parent[ry] = parent[rx]
                        ry = z
        return touched

    @numba.njit(cache=True, nogil=True)
    def finish(parent: np.ndarray) -> None:  # pragma: no cover - compiled
        # parents only ever point to smaller ids, so one increasing pass resolves every root
        for i in range(parent.shape[0]):
            parent[i] = parent[parent[i]]

    def union_find(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
        parent = np.arange(n, dtype=np.uint32)
        union_into(parent, _unsigned(u), _unsigned(v))
        finish(parent)
        return parent.view(np.int32)

    union_find.union_into = union_into  # type: ignore[attr-defined]
    union_find.finish = finish  # type: ignore[attr-defined]
    return union_find


def _unsigned(ids: np.ndarray) -> np.ndarray:
    """Non-negative int32 ids as uint32 without a copy."""
    return np.ascontiguousarray(ids, dtype=np.int32).view(np.uint32)


_COMPILED: list[Any] = []


def _compiled() -> Any:
    if not _COMPILED:
        _COMPILED.append(_numba_union_find())
    return _COMPILED[0]


def union_find_numpy(u: np.ndarray, v: np.ndarray, n: int) -> np.ndarray:
    """Vectorised hook-and-jump: hook each edge's larger root under the smaller, then jump pointers."""
    parent = np.arange(n, dtype=np.int32)
    u, v = u.astype(np.int32, copy=True), v.astype(np.int32, copy=True)
    while len(u):
        pu, pv = parent[u], parent[v]
        keep = pu != pv
        u, v, pu, pv = u[keep], v[keep], pu[keep], pv[keep]
        if not len(u):
            break
        lo, hi = np.minimum(pu, pv), np.maximum(pu, pv)
        parent[hi] = lo  # duplicates: any winner is a valid hook (lo < hi); the rest retry next round
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    return parent


def connected_components(src: np.ndarray, dst: np.ndarray, n: int | None = None) -> np.ndarray:
    """Component label (smallest node id in the component) of every node ``0 … n-1``."""
    src = np.ascontiguousarray(src, dtype=np.int32)
    dst = np.ascontiguousarray(dst, dtype=np.int32)
    if src.shape != dst.shape:
        raise ValidationError(f"edge arrays differ in length ({len(src)} vs {len(dst)})")
    top = int(max(src.max(initial=-1), dst.max(initial=-1))) + 1
    n = top if n is None else n
    if top > n or (len(src) and min(src.min(), dst.min()) < 0):
        raise ValidationError(f"edge node ids must lie in 0 … {n - 1}; got ids up to {top - 1}")
    fast = _compiled()
    return fast(src, dst, n) if fast is not None else union_find_numpy(src, dst, n)


def _id_chunks(column: Any, n: int) -> list[np.ndarray]:
    """The chunks of an Arrow integer column as int32 numpy arrays (zero-copy for INTEGER ids)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.null_count:
        raise ValidationError(f"edge node ids have {column.null_count} NULLs; every edge needs two nodes")
    if not pa.types.is_integer(column.type):
        raise ValidationError(f"edge node ids must be integers, got {column.type}")
    if len(column):
        low, high = pc.min_max(column).values()
        if low.as_py() < 0 or high.as_py() >= n:
            raise ValidationError(
                f"edge node ids must lie in 0 … {n - 1}; got {low.as_py()} … {high.as_py()}"
            )
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    return [np.asarray(c.to_numpy(), dtype=np.int32) for c in chunks if len(c)]


def components_from_query(engine: Engine, sql: str, n: int) -> np.ndarray:
    """Component label of every node ``0 … n-1`` of the integer edge list a query returns.

    ``sql`` returns two integer columns (source id, target id: INTEGER ids as stored in
    ``entity_edges``). The result comes back as Arrow; union-find runs over its chunks in place
    (no string work, no concatenated copy of the edge list). Labels as :func:`connected_components`.
    """
    table = engine.query(sql)
    if table.num_columns < 2:
        raise ValidationError(f"the edge query must return two id columns, got {table.column_names}")
    us, vs = _id_chunks(table.column(0), n), _id_chunks(table.column(1), n)
    fast = _compiled()
    if fast is None:
        both_u = np.concatenate(us) if us else np.zeros(0, np.int32)
        both_v = np.concatenate(vs) if vs else np.zeros(0, np.int32)
        return union_find_numpy(both_u, both_v, n)
    parent = np.arange(n, dtype=np.uint32)
    if [len(c) for c in us] != [len(c) for c in vs]:  # columns chunked differently (not by DuckDB)
        us, vs = [np.concatenate(us)] if us else [], [np.concatenate(vs)] if vs else []
    for u, v in zip(us, vs, strict=True):
        fast.union_into(parent, _unsigned(u), _unsigned(v))
    fast.finish(parent)
    return parent.view(np.int32)


def entity_components(
    engine: Engine,
    *,
    edges: str = "entity_edges",
    nodes: str = "entity_nodes",
    where: str = "",
    name: str | None = "entity_components",
) -> np.ndarray:
    """Connected components of the stored integer entity graph, end to end through the Engine.

    Reads ``src_id, dst_id`` of table ``edges`` (optionally filtered by the SQL condition
    ``where``, e.g. ``kind IN ('card_owner', …)``), runs union-find, and registers the labels as
    table ``name`` (``node_id, component``: the smallest node id of the component; every node of
    ``nodes`` has a row). Returns the labels indexed by node id.
    """
    import pyarrow as pa

    n = int(engine.scalar(f"SELECT count(*) FROM {nodes}") or 0)
    labels = components_from_query(
        engine, f"SELECT src_id, dst_id FROM {edges}" + (f" WHERE {where}" if where else ""), n
    )
    if name:
        engine.register(name, pa.table({"node_id": np.arange(n, dtype=np.int32), "component": labels}))
    return labels


def components_scipy(src: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
    """The same labels through scipy.sparse.csgraph (the reference and a benchmark baseline)."""
    from scipy import sparse
    from scipy.sparse import csgraph

    graph = sparse.csr_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(n, n))
    _, labels = csgraph.connected_components(graph, directed=False)
    return canonical_labels(labels)


def canonical_labels(labels: np.ndarray) -> np.ndarray:
    """Relabel components by their smallest node id (the first occurrence of each label)."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    return first[inverse].astype(np.int32)


def _numba_encoder() -> Any:
    try:
        import numba
    except ImportError:  # pandas factorize fallback below
        return None

    @numba.njit(cache=True, nogil=True, inline="always")
    def same(dat, start, length, rep_dat, rep_start):  # pragma: no cover
        for k in range(length):  # noqa: SIM110 - a generator is not compiled as a plain loop
            if dat[start + k] != rep_dat[rep_start + k]:
                return False
        return True

    @numba.njit(cache=True, nogil=True, inline="always")
    def fnv(dat, start, length):  # pragma: no cover
        h = np.uint64(0xCBF29CE484222325)
        for k in range(length):
            h = (h ^ np.uint64(dat[start + k])) * np.uint64(0x100000001B3)
        return h

    @numba.njit(cache=True, nogil=True)
    def encode(hashes, offs0, dats0, offs1, dats1, exact):  # pragma: no cover
        """Dense ids for the keys of two string columns, keyed by their 64-bit hashes.

        Radix-partitioned so that each hash table fits in cache: one pass scatters the rows by
        the top bits of their hash (computing a second, independent FNV-1a hash of the bytes on
        the way, reading the keys sequentially), then each partition is encoded with a small
        open-addressing table. A hash hit is confirmed by the second hash and the length, and
        with ``exact`` by comparing the bytes with the first key of that hash; any mismatch is a
        collision (ok = False). Ids follow partition (hash) order; ``rep[id]`` is the first row
        (``column * m + row``) holding the key."""
        m = hashes.shape[1]
        total = 2 * m
        pbits = 0
        while (total >> pbits) > 8192 and pbits < 16:
            pbits += 1
        parts = 1 << pbits
        flat = hashes.reshape(total)
        start = np.zeros(parts + 1, dtype=np.int64)
        shift_p = np.uint64(64 - pbits) if pbits else np.uint64(0)
        for r in range(total):
            p = np.int64(flat[r] >> shift_p) if pbits else 0
            start[p + 1] += 1
        for p in range(parts):
            start[p + 1] += start[p]
        fill = start[:-1].copy()
        rows = np.empty(total, dtype=np.int64)
        h2s = np.empty(total, dtype=np.uint64)
        for r in range(total):
            c = r // m
            i = r - c * m
            offs = offs0 if c == 0 else offs1
            dats = dats0 if c == 0 else dats1
            p = np.int64(flat[r] >> shift_p) if pbits else 0
            k = fill[p]
            fill[p] = k + 1
            rows[k] = r
            h2s[k] = fnv(dats, np.int64(offs[i]), np.int64(offs[i + 1]) - np.int64(offs[i]))
        largest = 1
        for p in range(parts):
            largest = max(largest, start[p + 1] - start[p])
        bits = 1
        while (1 << bits) < 2 * largest:
            bits += 1
        # slot = [hash, second hash, id + 1]; stamp = partition + 1 marks slots in use (no clearing)
        table = np.zeros((1 << bits, 3), dtype=np.uint64)
        stamp = np.zeros(1 << bits, dtype=np.int32)
        rep = np.empty(total, dtype=np.int64)
        codes = np.empty(total, dtype=np.int32)
        n = 0
        for p in range(parts):
            size_bits = 1
            while (1 << size_bits) < 2 * (start[p + 1] - start[p]):
                size_bits += 1
            mask = (1 << size_bits) - 1
            shift = np.uint64(64 - size_bits)
            for k in range(start[p], start[p + 1]):
                r = rows[k]
                h = flat[r]
                h2 = h2s[k]
                s = np.int64((h * np.uint64(0x9E3779B97F4A7C15)) >> shift)
                while True:
                    if stamp[s] != p + 1:
                        stamp[s] = p + 1
                        table[s, 0] = h
                        table[s, 1] = h2
                        table[s, 2] = np.uint64(n + 1)
                        rep[n] = r
                        codes[r] = n
                        n += 1
                        break
                    if table[s, 0] == h:
                        ident = np.int64(table[s, 2]) - 1
                        if table[s, 1] != h2:
                            return codes.reshape(2, m), rep[:n], False
                        first = rep[ident]
                        c, i = r // m, r % m
                        fc, fi = first // m, first % m
                        offs = offs0 if c == 0 else offs1
                        dats = dats0 if c == 0 else dats1
                        foffs = offs0 if fc == 0 else offs1
                        fdats = dats0 if fc == 0 else dats1
                        length = np.int64(offs[i + 1]) - np.int64(offs[i])
                        if exact and (
                            np.int64(foffs[fi + 1]) - np.int64(foffs[fi]) != length
                            or not same(dats, np.int64(offs[i]), length, fdats, np.int64(foffs[fi]))
                        ):
                            return codes.reshape(2, m), rep[:n], False
                        codes[r] = np.int32(ident)
                        break
                    s = (s + 1) & mask
        return codes.reshape(2, m), rep[:n], True

    return encode


_ENCODER: list[Any] = []


def _encoder() -> Any:
    if not _ENCODER:
        _ENCODER.append(_numba_encoder())
    return _ENCODER[0]


def _string_buffers(column: Any) -> tuple[Any, np.ndarray, np.ndarray]:
    """The column as one Arrow array, its offsets and its bytes (no copy of the buffers)."""
    import pyarrow as pa

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    width: type[np.signedinteger[Any]]
    if pa.types.is_large_string(arr.type):
        width = np.int64
    elif pa.types.is_string(arr.type):
        width = np.int32
    else:
        arr, width = arr.cast(pa.large_string()), np.int64
    _, off_buf, dat_buf = arr.buffers()
    offs = np.frombuffer(off_buf, dtype=width)[arr.offset : arr.offset + len(arr) + 1]
    dats = np.frombuffer(dat_buf, dtype=np.uint8) if dat_buf is not None else np.zeros(0, np.uint8)
    return arr, offs, dats


def _fill_uint64(out: np.ndarray, column: Any) -> None:
    """Copy an Arrow / numpy uint64 column into ``out`` chunk by chunk (no intermediate array)."""
    chunks = getattr(column, "chunks", None)
    if chunks is None:
        out[:] = np.asarray(column, dtype=np.uint64)
        return
    at = 0
    for chunk in chunks:
        out[at : at + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
        at += len(chunk)


def encode_keys(
    src: Any, dst: Any, src_hash: np.ndarray, dst_hash: np.ndarray, *, exact: bool = False
) -> tuple[Any, np.ndarray, np.ndarray]:
    """Dictionary-encode two Arrow string columns of node keys without making Python strings.

    ``src_hash`` / ``dst_hash`` (numpy or Arrow) are 64-bit hashes of the keys (DuckDB's
    ``hash()``). The rows are
    radix-partitioned by hash so each partition's hash table fits in cache; ids follow partition
    (hash) order, and the order of first appearance for lists of at most 4096 edges. Every hash
    hit is confirmed by a second independent 64-bit hash of the bytes (an undetected collision
    needs both 64-bit hashes to collide: ~n²/2¹²⁹, 10⁻²⁴ for 20M keys); ``exact=True`` also
    compares the bytes (a cache miss per edge end: ~1.4× slower). On a collision the exact Arrow
    dictionary encoding (``pyarrow.compute.dictionary_encode``) is used instead; it is also the
    path without numba. Returns
    ``(keys, src_ids, dst_ids)``: ``keys`` an Arrow string array, ``keys[i]`` the key of id ``i``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    m = len(src)
    if src.null_count or dst.null_count:
        raise ValidationError(
            f"edge keys have {src.null_count + dst.null_count} NULLs; every edge needs two keys"
        )
    if not m:
        return pa.array([], pa.string()), np.zeros(0, np.int32), np.zeros(0, np.int32)
    fast = _encoder()
    if fast is not None:
        arr0, offs0, dats0 = _string_buffers(src)
        arr1, offs1, dats1 = _string_buffers(dst)
        hashes = np.empty((2, m), dtype=np.uint64)
        _fill_uint64(hashes[0], src_hash)
        _fill_uint64(hashes[1], dst_hash)
        codes, rep, ok = fast(hashes, offs0, dats0, offs1, dats1, exact)
        if ok:
            if arr0.type != arr1.type:
                arr0, arr1 = arr0.cast(pa.large_string()), arr1.cast(pa.large_string())
            keys = pa.concat_arrays([arr0, arr1]).take(pa.array(rep))
            return keys, codes[0], codes[1]
    both = pa.chunked_array([*_chunks(src), *_chunks(dst)], type=pa.string())
    encoded = pc.dictionary_encode(both).combine_chunks()  # exact; also the path without numba
    ids = encoded.indices.to_numpy().astype(np.int32)
    return encoded.dictionary, ids[:m], ids[m:]


def _chunks(column: Any) -> list[Any]:
    import pyarrow as pa

    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    return [c.cast(pa.string()) if not pa.types.is_string(c.type) else c for c in chunks]


def index_edges(engine: Engine, edges: str, *, exact: bool = False) -> tuple[Any, np.ndarray, np.ndarray]:
    """Map the ``src, dst`` keys of table ``edges`` to dense int32 ids.

    One scan in SQL returns the keys (Arrow) and their 64-bit ``hash()``; the ids are assigned in
    numba (:func:`encode_keys`, collision-checked). Returns ``(keys, src_ids, dst_ids)`` with
    ``keys[i]`` (an Arrow string array) the node key of id ``i``.
    """
    table = engine.query(f"SELECT src, dst, hash(src) AS hs, hash(dst) AS hd FROM {edges}")
    return encode_keys(
        table.column("src"),
        table.column("dst"),
        table.column("hs"),
        table.column("hd"),
        exact=exact,
    )
