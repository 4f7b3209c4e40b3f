"""Row collector for the (comparatively few) event-level fraud records.

Fraud events are generated one by one (thousands, not millions); they are collected column-wise and
turned into Arrow tables of the contract schema. Person columns hold population indices until
conversion (→ ID numbers); time columns hold epoch seconds (→ timestamp[us, UTC]).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa

from fanzha.simulate.population import Population, ts_us
from fanzha.simulate.writer import TRUTH_SCHEMAS, kind_schema

PERSON_COLUMNS = {"owner_id", "victim_id"}


class Rows:
    def __init__(self) -> None:
        self.data: dict[str, dict[str, list[object]]] = defaultdict(lambda: defaultdict(list))

    def add(self, kind: str, **cols: object) -> None:
        for k, v in cols.items():
            self.data[kind][k].append(v)

    def count(self, kind: str) -> int:
        cols = self.data.get(kind)
        return len(next(iter(cols.values()))) if cols else 0

    def table(
        self, kind: str, pop: Population, *, truth: bool = False, extra: pa.Schema | None = None
    ) -> pa.Table:
        """The collected rows of ``kind`` as a table with the record (or truth) schema + ``extra``."""
        schema = TRUTH_SCHEMAS[kind] if truth else kind_schema(kind)
        if extra is not None:
            schema = pa.schema(list(schema) + [f for f in extra if f.name not in schema.names])
        cols = self.data.get(kind, {})
        n = self.count(kind)
        arrays = []
        for f in schema:
            values = cols.get(f.name, [None] * n)
            if f.name in PERSON_COLUMNS and any(isinstance(v, int | np.integer) for v in values[:1]):
                idx = np.array([-1 if v is None else v for v in values], dtype=np.int64)
                taken = pop.id_number.take(pa.array(np.maximum(idx, 0)))
                arrays.append(
                    pa.array(
                        [x if i >= 0 else None for x, i in zip(taken.to_pylist(), idx, strict=True)],
                        pa.string(),
                    )
                )
            elif pa.types.is_timestamp(f.type):
                secs = np.array([-1 if v is None else v for v in values], dtype=np.int64)
                arr = ts_us(np.maximum(secs, 0))
                arrays.append(
                    pa.array(
                        [x if s >= 0 else None for x, s in zip(arr.to_pylist(), secs, strict=True)], f.type
                    )
                )
            else:
                arrays.append(pa.array(values, f.type))
        return pa.Table.from_arrays(arrays, schema=schema)
