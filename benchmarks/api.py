"""Load test of ``fanzha serve`` on loopback: decisions/s and p50 / p99 latency against the target.

Starts the real service (``fanzha serve``) in its own process with a temporary home (synthetic risk
scores for 200,000 numbers and 200,000 accounts, API keys), then drives it from a second process with
a small asyncio HTTP/1.1 keep-alive client (closed loop, ``--connections`` in flight). The mix is the
full decision path: payments (60 %), calls (25 %), SMS (10 %), URL visits (5 %), each with its own
identifiers so counters, pair memory and fusion do real work. Bounded by ``--requests`` and
``--seconds``. Target (issue 7): ≥ 3,000 decisions/s with p99 ≤ 35 ms on this 2-core machine.

    .venv/bin/python benchmarks/api.py            # 40,000 requests (≤ 30 s)
    .venv/bin/python benchmarks/api.py --quick    # 4,000 requests
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RPS = 3000.0
TARGET_P99_MS = 35.0
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _phone(i: int) -> str:
    return f"13{i % 10}{i:08d}"[-11:]


def _account(i: int) -> str:
    return f"622200{i:013d}"


def prepare_home(home: Path, n: int = 200_000) -> dict[str, str]:
    """Synthetic published scores and one key per calling party."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fanzha.api.auth import KeyStore

    rng = np.random.default_rng(7)
    folder = home / "scores"
    folder.mkdir(parents=True, exist_ok=True)
    p = rng.beta(0.3, 6.0, n)
    tiers = np.select([p >= 0.9, p >= 0.7, p >= 0.5], ["red", "orange", "yellow"], "none")
    reasons = ['[{"code":"bench","message":"synthetic","value":1,"weight":1}]'] * n
    pq.write_table(
        pa.table({"id": [_phone(i) for i in range(n)], "probability": p, "tier": tiers, "reasons": reasons}),
        folder / "numbers.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "id": [_account(i) for i in range(n)],
                "probability": p[::-1].copy(),
                "tier": tiers[::-1],
                "reasons": reasons,
            }
        ),
        folder / "accounts.parquet",
    )
    keys = KeyStore(home / "api" / "keys.json", os.environ.get("FANZHA_SECRET_KEY", "change-me"))
    return {
        role: keys.create(role, party, f"bench-{role}")
        for role, party in (("bank", "ICBC"), ("telecom", "cmcc"), ("platform", "wechat"))
    }


def build_batches(keys: dict[str, str], n: int, size: int, seed: int = 1) -> list[bytes]:
    """``n`` requests to /v1/decide/payments with ``size`` payments each (a bank's batch channel)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        items = [
            {
                "payer": _account(rng.randrange(200_000)),
                "payee": _account(rng.randrange(200_000)),
                "amount_fen": rng.choice([500, 9_900, 150_000, 2_000_000]),
                "channel": "online",
            }
            for _ in range(size)
        ]
        data = json.dumps(items).encode()
        out.append(
            f"POST /v1/decide/payments HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {keys['bank']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
    return out


def build_requests(keys: dict[str, str], n: int, seed: int = 1, url_hosts: int = 5000) -> list[bytes]:
    rng = random.Random(seed)
    texts = [
        "您的快递已到，请凭取件码取件",
        "【银行】您的账户存在风险，请点击链接验证身份",
        "晚上一起吃饭吗",
        "刷单返利，日结三百",
    ]
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.60:
            path, role = "/v1/decide/payment", "bank"
            body = {
                "payer": _account(rng.randrange(200_000)),
                "payee": _account(rng.randrange(200_000)),
                "amount_fen": rng.choice([500, 9_900, 150_000, 2_000_000, 30_000_000]),
                "channel": "mobile",
                "payer_phone": _phone(rng.randrange(200_000)),
            }
        elif r < 0.85:
            path, role = "/v1/decide/call", "telecom"
            body = {
                "caller": _phone(rng.randrange(200_000)),
                "callee": _phone(rng.randrange(200_000)),
                "duration_s": rng.choice([0, 30, 600]),
            }
        elif r < 0.95:
            path, role = "/v1/decide/sms", "telecom"
            body = {
                "sender": _phone(rng.randrange(200_000)),
                "receiver": _phone(rng.randrange(200_000)),
                "text": rng.choice(texts),
            }
        else:
            path, role = "/v1/decide/url", "platform"
            body = {
                "url": f"http://site{rng.randrange(url_hosts)}.example.com/login",
                "visitor": _phone(rng.randrange(200_000)),
            }
        data = json.dumps(body, ensure_ascii=False).encode()
        out.append(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {keys[role]}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n".encode()
            + data
        )
    return out


async def _connection(
    port: int, reqs: list[bytes], start: int, step: int, stop_at: float, lat: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for i in range(start, len(reqs), step):
            if time.perf_counter() > stop_at:
                break
            t = time.perf_counter()
            writer.write(reqs[i])
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            lat.append(time.perf_counter() - t)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(int(head[9:12]))
    finally:
        writer.close()


async def _drive(
    port: int, reqs: list[bytes], connections: int, seconds: float
) -> tuple[list[float], list[int], float]:
    lat: list[float] = []
    errors: list[int] = []
    began = time.perf_counter()
    await asyncio.gather(
        *(_connection(port, reqs, c, connections, began + seconds, lat, errors) for c in range(connections))
    )
    return lat, errors, time.perf_counter() - began


def client_process(port: int, reqs: list[bytes], connections: int, seconds: float, out: mp.Queue) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    # warm-up (not measured): first requests pay for imports and caches
    asyncio.run(_drive(port, reqs[: min(2000, len(reqs) // 10)], connections, 5.0))
    out.put("start")
    lat, errors, elapsed = asyncio.run(_drive(port, reqs, connections, seconds))
    out.put((lat, errors, elapsed))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (uvicorn workers), from /proc (Linux)."""
    total = 0.0
    try:
        pids = [pid, *map(int, Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
        for p in pids:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0
    return total


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 300.0) -> None:
    import httpx

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"fanzha serve exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("fanzha serve did not become ready in time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=40_000)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="4,000 requests")
    ap.add_argument(
        "--url-hosts", type=int, default=5000, help="distinct hosts in the URL visits (cache misses)"
    )
    ap.add_argument(
        "--batch", type=int, default=0, help="payments per request on /v1/decide/payments (0: single)"
    )
    args = ap.parse_args()
    if args.quick:
        args.requests, args.seconds = 4_000, 10.0
    home = Path(tempfile.mkdtemp(prefix="fanzha-bench-"))
    proc = None
    try:
        keys = prepare_home(home / ".fanzha")
        per = max(args.batch, 1)
        if args.batch:
            reqs = build_batches(keys, max(args.requests // per, 20), per)
        else:
            reqs = build_requests(keys, args.requests, url_hosts=args.url_hosts)
        port = _free_port()
        # trained text / URL models are kept in the repository's own .fanzha/models (trained once, reused)
        models = os.environ.get("FANZHA_MODELS_DIR", str(ROOT / ".fanzha" / "models"))
        env = {**os.environ, "FANZHA_HOME": str(home / ".fanzha"), "FANZHA_MODELS_DIR": models}
        exe = Path(sys.executable).with_name("fanzha")
        proc = subprocess.Popen(
            [str(exe), "serve", "--port", str(port), "--workers", str(args.workers)], env=env, cwd=home
        )
        wait_ready(port, proc)
        q: mp.Queue = mp.Queue()
        client = mp.Process(target=client_process, args=(port, reqs, args.connections, args.seconds, q))
        client.start()
        assert q.get(timeout=180) == "start"
        cpu0 = _cpu_seconds(proc.pid)
        lat, errors, elapsed = q.get(timeout=args.seconds + 120)
        server_cpu = _cpu_seconds(proc.pid) - cpu0
        client.join()
        lat.sort()
        n = len(lat) * per  # decisions (a batch request carries `per` of them)
        rps = n / elapsed
        k = len(lat)
        p50, p99 = lat[k // 2] * 1000, lat[min(k - 1, int(k * 0.99))] * 1000
        print(
            f"fanzha serve ({args.workers} worker(s)), {args.connections} connections, {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        print(f"decisions: {n:,} in {elapsed:.2f} s, non-200: {len(errors)} {sorted(set(errors))[:5]}")
        print(f"throughput {rps:,.0f} decisions/s   (target {TARGET_RPS:,.0f}; ratio {rps / TARGET_RPS:.2f})")
        print(
            f"{'per batch request ' if args.batch else ''}latency p50 {p50:.1f} ms, p99 {p99:.1f} ms   (target p99 ≤ {TARGET_P99_MS:.0f} ms; "
            f"ratio {p99 / TARGET_P99_MS:.2f}, lower is better)"
        )
        if server_cpu > 0:
            per_cpu = n / server_cpu
            print(
                f"server CPU {server_cpu:.2f} s for {n:,} decisions = {per_cpu:,.0f} decisions per CPU-second, "
                f"{1e6 / per_cpu:.0f} µs each (what one dedicated core sustains; ratio {per_cpu / TARGET_RPS:.2f})"
            )
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
