"""Round trips through the API Gateway WebSocket emulator: the floor later latencies compare with.

Starts ``python -m local ws`` on a free port as its own process (as ``make up`` runs it), then
measures, with real sockets:
- noop: client → emulator → a handler that does nothing → its return value back (two-way route);
- send: client → emulator → a handler that answers through ``@connections`` (boto3 HTTP call);
each with 1 client (sequential) and 20 concurrent clients. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def client_loop(url: str, body: str, count: int, samples: list[float]) -> None:
    async with connect(url) as ws:
        for _ in range(5):  # warm the handler thread and boto3's connection pool
            await ws.send(body)
            await ws.recv()
        for _ in range(count):
            started = time.perf_counter()
            await ws.send(body)
            await ws.recv()
            samples.append((time.perf_counter() - started) * 1000)


async def measure(url: str, body: str, clients: int, per_client: int) -> tuple[list[float], float]:
    samples: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(client_loop(url, body, per_client, samples) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return samples, len(samples) / elapsed


def start_emulator() -> tuple[subprocess.Popen[str], str]:
    """The emulator in a process of its own, on a port the system picks; and its ``ws://`` URL."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "ap-southeast-1",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local",
            "ws",
            "--project-dir",
            str(ROOT / "bench/apps/roundtrip"),
            "--port",
            "0",
            "--route-responses",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    banner = proc.stdout.readline()
    if "ws://" not in banner:
        proc.kill()
        raise SystemExit(f"emulator did not start: {banner!r}")
    return proc, banner.split()[2]  # "WebSocket API  ws://127.0.0.1:PORT  (@connections on ...)"


async def run(messages: int, per_client_20: int) -> dict[str, float]:
    proc, url = start_emulator()
    try:
        noop_1, _ = await measure(url, "noop", 1, messages)
        send_1, _ = await measure(url, "send", 1, messages)
        noop_20, noop_rate = await measure(url, "noop", 20, per_client_20)
        send_20, send_rate = await measure(url, "send", 20, per_client_20)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    rows = [
        ("noop, 1 client", noop_1, None),
        ("send, 1 client", send_1, None),
        ("noop, 20 clients", noop_20, noop_rate),
        ("send, 20 clients", send_20, send_rate),
    ]
    print(f"{'case':<18}{'n':>6}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'msgs/s':>9}")
    for name, samples, rate in rows:
        print(
            f"{name:<18}{len(samples):>6}{percentile(samples, 50):>9.2f}{percentile(samples, 99):>9.2f}"
            f"{statistics.fmean(samples):>9.2f}{(rate or 0):>9.0f}"
        )
    return {
        "noop_rtt_p50_ms": round(percentile(noop_1, 50), 2),
        "noop_rtt_p99_ms": round(percentile(noop_1, 99), 2),
        "send_rtt_p50_ms": round(percentile(send_1, 50), 2),
        "send_rtt_p99_ms": round(percentile(send_1, 99), 2),
        "msgs_per_s_20_clients": round(send_rate, 1),
        "noop_msgs_per_s_20_clients": round(noop_rate, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=500, help="round trips per single-client case")
    parser.add_argument("--per-client", type=int, default=50, help="round trips per client with 20 clients")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.messages, args.per_client))))


if __name__ == "__main__":
    main()
