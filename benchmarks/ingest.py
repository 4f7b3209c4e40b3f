"""Ingest benchmark: land N call records from CSV with full validation.

Prints rows/s, peak memory (RSS of the landing process) and the ratio to a baseline of
``pandas.read_csv`` + per-row pydantic validation (the scalar normalisers as field validators),
measured on a prefix of the same file and compared by rate.

    .venv/bin/python benchmarks/ingest.py            # 10 million rows
    .venv/bin/python benchmarks/ingest.py --quick    # 1 million rows
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

TARGET_RATE = 1_000_000
TARGET_RATIO = 20.0

LAND = """
import json, resource, sys, time
from fanzha.settings import Settings
from fanzha.ingest.api import ingest_path
settings = Settings(home=sys.argv[2], threads=int(sys.argv[3]))
started = time.perf_counter()
report = ingest_path(sys.argv[1], "calls", settings)
seconds = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
peak_mb, cpu = usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime
print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "cpu_s": cpu, "steps": report.files[0].steps, "cpu_steps": report.files[0].cpu_steps, **{k: v for k, v in report.as_dict().items() if k != "files"}}))
"""


def generate(path: Path, rows: int) -> float:
    import pyarrow.csv as pc

    from fanzha.records.samples import call_batches

    started = time.perf_counter()
    writer = None
    for table in call_batches(rows, seed=1):
        if writer is None:
            writer = pc.CSVWriter(
                str(path), table.schema, write_options=pc.WriteOptions(quoting_style="none")
            )
        writer.write_table(table)
    assert writer is not None
    writer.close()
    return time.perf_counter() - started


def baseline(path: Path, rows: int) -> tuple[float, float]:
    """(rows per wall second, rows per CPU second) of pandas.read_csv + one pydantic validation per row."""
    import pandas as pd
    from pydantic import BaseModel, ValidationError, field_validator

    from fanzha.records.contracts import get_spec

    spec = get_spec("calls")

    class Call(BaseModel):
        caller: object
        callee: object
        start_at: object
        duration_s: object
        direction: object
        city: object = None
        cell_id: object = None
        imei: object = None

        @field_validator("*", mode="before")
        @classmethod
        def normalise(cls, value: object, info: object) -> object:
            field = spec.field(info.field_name)  # type: ignore[attr-defined]
            if value is None or (isinstance(value, float) and value != value) or value == "":
                if field.required:
                    raise ValueError("required value is missing")
                return None
            try:
                return field.normaliser()(value)
            except Exception as exc:
                raise ValueError(str(exc)) from None

    started, cpu = time.perf_counter(), time.process_time()
    frame = pd.read_csv(path, dtype=str, nrows=rows, keep_default_na=False)
    good = bad = 0
    for record in frame.to_dict("records"):
        try:
            Call(**record)
            good += 1
        except ValidationError:
            bad += 1
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return (good + bad) / seconds, (good + bad) / cpu


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="1 million rows")
    parser.add_argument("--baseline-rows", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/fanzha-bench-ingest"))
    args = parser.parse_args()
    rows = 1_000_000 if args.quick else args.rows
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    csv = args.workdir / "calls.csv"
    print(f"generating {rows:,} call records → {csv} …", flush=True)
    gen_s = generate(csv, rows)
    print(f"  {csv.stat().st_size / 1e6:,.0f} MB in {gen_s:.1f} s")
    print(f"landing with full validation ({args.threads} threads) …", flush=True)
    out = subprocess.run(
        [sys.executable, "-c", LAND, str(csv), str(args.workdir / "home"), str(args.threads)],
        check=True,
        capture_output=True,
        text=True,
    )
    land = json.loads(out.stdout.strip().splitlines()[-1])
    rate = land["rows_read"] / land["seconds"]
    assert land["rows_read"] == rows == land["landed"] + land["rejected"] + land["duplicates"]
    print(
        f"  read {land['rows_read']:,} · landed {land['landed']:,} · rejected {land['rejected']:,} · "
        f"duplicates {land['duplicates']:,}"
    )
    print(
        f"  {land['seconds']:.2f} s → {rate:,.0f} rows/s (target ≥ {TARGET_RATE:,}) · peak RSS {land['peak_mb']:,.0f} MB"
    )
    cpu_rate = land["rows_read"] / land["cpu_s"] * args.threads
    print(f"  steps (wall s): {land['steps']}")
    print(f"  steps (CPU s):  {land['cpu_steps']}")
    print(
        f"  CPU time {land['cpu_s']:.1f} s → {cpu_rate:,.0f} rows/s on {args.threads} otherwise idle cores "
        f"(load average now {os.getloadavg()[0]:.1f}: the machine is shared, wall time depends on the others)"
    )
    base_rows = min(args.baseline_rows, rows)
    print(
        f"baseline: pandas read_csv + per-row pydantic on the first {base_rows:,} rows of the same file …",
        flush=True,
    )
    base, base_cpu = baseline(csv, base_rows)
    ratio = rate / base
    cpu_ratio = (land["rows_read"] / land["cpu_s"]) / base_cpu
    print(f"  {base:,.0f} rows/s (measured on a {base_rows:,}-row prefix; rates compared)")
    print(f"ratio ingest / baseline: {ratio:.1f}× wall (target ≥ {TARGET_RATIO:.0f}×)")
    print(
        f"  per CPU second: ingest {land['rows_read'] / land['cpu_s']:,.0f} rows, baseline {base_cpu:,.0f} rows → {cpu_ratio:.1f}×"
    )
    ok = rate >= TARGET_RATE and ratio >= TARGET_RATIO
    print("RESULT:", "targets met" if ok else "below target")
    shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
