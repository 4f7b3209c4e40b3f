"""Benchmark of ``fanzha simulate``: rows/s and peak memory, against the issue's target.

Target: 1,000,000 people × 30 days in ≤ 15 minutes on 2 cores with ≤ 4 GB memory.

    .venv/bin/python benchmarks/simulate.py            # 100,000 people × 30 days (+ 1M estimate)
    .venv/bin/python benchmarks/simulate.py --big      # also the real 1,000,000 × 30 days run
    .venv/bin/python benchmarks/simulate.py --quick    # 10,000 people × 7 days

Each run is a child process, so its peak resident memory (ru_maxrss) is measured on its own.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET_SECONDS = 15 * 60
TARGET_BYTES = 4 * 1024**3
CHILD = """
import json, resource, sys, time
from pathlib import Path
from fanzha.simulate import SimConfig, simulate
people, days, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
t0, c0 = time.perf_counter(), time.process_time()
r = simulate(SimConfig(people=people, days=days, seed=1), out)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
size = sum(p.stat().st_size for p in out.rglob("*.parquet"))
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "rows": sum(r.rows.values()), "bytes": size,
                  "episodes": r.episodes, "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def run(people: int, days: int) -> dict[str, float]:
    out = Path(tempfile.mkdtemp(prefix="fz-bench-")) / "sim"
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(people), str(days), str(out)],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(people=people, days=days)
    return result


def show(r: dict[str, float]) -> None:
    print(
        f"{r['people']:>9,} people × {r['days']} days: {r['rows']:>12,.0f} rows in {r['wall_s']:7.1f} s wall "
        f"({r['cpu_s']:.1f} s CPU) → {r['rows'] / r['wall_s']:,.0f} rows/s wall, "
        f"{r['rows'] / r['cpu_s']:,.0f} rows/s CPU; peak memory {r['peak_kb'] / 1024:,.0f} MB; "
        f"{r['bytes'] / 1e6:,.0f} MB Parquet; {r['episodes']:,.0f} fraud episodes"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10,000 people × 7 days only")
    parser.add_argument("--big", action="store_true", help="also run 1,000,000 people × 30 days")
    args = parser.parse_args()
    if args.quick:
        show(run(10_000, 7))
        return
    base = run(100_000, 30)
    show(base)
    est = base["wall_s"] * 10
    print(
        f"linear estimate for 1,000,000 × 30: {est / 60:.1f} min wall "
        f"(target {TARGET_SECONDS / 60:.0f} min → ratio {est / TARGET_SECONDS:.2f})"
    )
    if args.big:
        big = run(1_000_000, 30)
        show(big)
        print(
            f"1,000,000 × 30 measured: {big['wall_s'] / 60:.1f} min (ratio to 15 min target "
            f"{big['wall_s'] / TARGET_SECONDS:.2f}); peak {big['peak_kb'] / 1024**2:.2f} GB "
            f"(ratio to 4 GB {big['peak_kb'] * 1024 / TARGET_BYTES:.2f})"
        )


if __name__ == "__main__":
    main()
