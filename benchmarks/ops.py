"""Operational-store throughput: warnings created per second and fund-control commands processed
per second (issue → send → bank receipt with a hold: three transactions each), on SQLite and on
PostgreSQL, one worker and several.

    .venv/bin/python benchmarks/ops.py            # full run
    .venv/bin/python benchmarks/ops.py --quick    # small run

Target (our choice, printed as a ratio): 100 warnings/s and 50 commands/s per worker. A busy
provincial anti-fraud centre issues tens of thousands of warnings a day (< 1 per second on
average), so the target leaves two orders of magnitude for peaks and bulk re-runs.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fanzha.ops import fundcontrol as F
from fanzha.ops import warnings as W
from fanzha.ops.audit import Actor
from fanzha.ops.store import Store, drop_schema, open_store

PG = os.environ.get("FANZHA_TEST_PG_DSN", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
ACTOR = Actor("bench", "system", "benchmark")
TARGET = {"warnings": 100.0, "commands": 50.0}


def warnings_job(store: Store, worker: int, n: int) -> None:
    for i in range(n):
        event = W.SignalEvent(
            "call",
            f"w{worker}-p{i}",
            T0,
            "13800138000",
            0.9,
            age=30 + i % 50,
            family_contacts=("13900139000",),
        )
        W.create_warning(store, event, ACTOR, now=T0 + timedelta(seconds=1))


def commands_job(store: Store, worker: int, n: int) -> None:
    for i in range(n):
        cid, account = f"b{worker}-{i}", f"62220{worker:03d}{i:011d}"
        F.issue_command(
            store,
            ACTOR,
            command_id=cid,
            kind="freeze",
            account=account,
            amount_fen=10_000,
            reason="bench",
            now=T0,
        )
        F.send(store, cid, ACTOR, now=T0)
        F.apply_receipt(store, cid, F.Receipt(f"r{cid}", "executed", held_fen=10_000), ACTOR, now=T0)


def rate(store: Store, job, n: int, workers: int) -> tuple[float, float]:
    """(operations per wall-clock second, client CPU milliseconds per operation).

    CPU per operation does not depend on how busy the machine is, so it tells what an idle core
    would do (1000 / ms per second); the database server's own CPU is not included."""
    started, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda w: job(store, w, n // workers), range(workers)))
    done = (n // workers) * workers
    return done / (time.perf_counter() - started), (time.process_time() - cpu) * 1000 / done


def open_backend(name: str, folder: Path) -> tuple[Store, str | None]:
    if name == "sqlite":
        return open_store(f"sqlite:///{folder / f'{uuid.uuid4().hex}.db'}"), None
    schema = f"fz_bench_{uuid.uuid4().hex[:10]}"
    return open_store(PG, schema=schema), schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--workers", type=int, default=4, help="threads for the multi-worker rows")
    args = parser.parse_args()
    n_w, n_c = (200, 100) if args.quick else (2000, 600)
    print(
        f"{'backend':<10} {'workers':>7} {'warnings/s':>11} {'× target':>8} {'cpu ms/w':>9} "
        f"{'commands/s':>11} {'× target':>8} {'cpu ms/c':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            for workers in (1, args.workers):
                try:
                    store, schema = open_backend(backend, Path(tmp))
                except Exception as exc:  # PostgreSQL not reachable: say so, keep going
                    print(f"{backend:<10} skipped: {str(exc).splitlines()[0][:90]}")
                    break
                try:
                    w, w_cpu = rate(store, warnings_job, n_w, workers)
                    c, c_cpu = rate(store, commands_job, n_c, workers)
                finally:
                    store.close()
                    if schema:
                        drop_schema(PG, schema)
                print(
                    f"{backend:<10} {workers:>7} {w:>11.0f} {w / TARGET['warnings']:>8.1f} {w_cpu:>9.1f} "
                    f"{c:>11.0f} {c / TARGET['commands']:>8.1f} {c_cpu:>9.1f}"
                )
    print(
        f"n = {n_w} warnings, {n_c} commands per row; load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
