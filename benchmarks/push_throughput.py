"""Bulk push throughput into the Oomnitza sandbox: records/s by workers, with added latency.

    python benchmarks/push_throughput.py [--records 20000] [--latency-ms 50] [--batch-size 100] [--workers 1,2,4,8]

The sandbox runs in its own process; ``--latency-ms`` adds a per-request delay like a WAN round
trip to a real tenant. For each number of workers: the achieved rate next to the bound
``workers x batch / latency``, the requests the sandbox had in flight at most (the client keeps
``workers`` requests in flight), and the same push without added latency (the sandbox's and the
client's own cost per request, which the bound leaves out). One ``SUMMARY`` line per figure.
"""
from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from airflow_provider_oomnitza.bulk import BulkTarget  # noqa: E402
from airflow_provider_oomnitza.hooks.oomnitza import OomnitzaHook  # noqa: E402
from tests.simulators.base import SimulatorProcess  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--workers", default="1,2,4,8")
    args = parser.parse_args()
    records = [{"SERIAL": f"SN{i:08d}", "MODEL": "MacBook Pro", "OS": "macOS 14.4", "USER": f"u{i}"}
               for i in range(args.records)]
    print(f"{args.records:,} records, batches of {args.batch_size}, {args.latency_ms:g} ms added per request")
    summary: list[str] = []
    for workers in (int(w) for w in args.workers.split(",")):
        bound = workers * args.batch_size / (args.latency_ms / 1000) if args.latency_ms else 0
        rate, peak = push(records, args.batch_size, workers, args.latency_ms)
        rate_0, _ = push(records, args.batch_size, workers, 0)
        rate_null = push(records, args.batch_size, workers, args.latency_ms, null=True)[0]
        share = f", {rate / bound:.0%} of the bound {bound:,.0f}" if bound else ""
        null_share = f" ({rate_null / bound:.0%})" if bound else ""
        print(f"  workers={workers}: {rate:8,.0f} records/s{share}; peak {peak} requests in flight; "
              f"no added latency {rate_0:8,.0f} records/s; a server that only waits the latency "
              f"{rate_null:8,.0f} records/s{null_share}", flush=True)
        summary.append(f"SUMMARY push workers={workers} latency_ms={args.latency_ms:g} records_per_s={rate:.0f} "
                       f"bound={bound:.0f} share={rate / bound if bound else 0:.2f} peak_in_flight={peak} "
                       f"no_latency_records_per_s={rate_0:.0f} null_server_records_per_s={rate_null:.0f} "
                       f"null_server_share={rate_null / bound if bound else 0:.2f}")
    print("\n".join(summary))


# A server that answers every bulk POST after the latency and does nothing else: what the client alone reaches.
NULL_SERVER = """
import asyncio, sys
from aiohttp import web
latency = float(sys.argv[1]) / 1000
async def bulk(request):
    await request.read()
    await asyncio.sleep(latency)
    return web.json_response({"received": 0})
async def stats(request):
    return web.json_response({"peak_in_flight": 0})
app = web.Application(client_max_size=1 << 30)
app.router.add_post("/api/v3/bulk", bulk)
app.router.add_get("/_sim/stats", stats)
async def main():
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


class _NullServer(SimulatorProcess):
    def __init__(self, latency_ms: float):  # SimulatorProcess's start-up, with the script above
        import subprocess

        self.proc = subprocess.Popen([sys.executable, "-c", NULL_SERVER, str(latency_ms)], stdout=subprocess.PIPE,
                                     text=True)
        self.url = self.proc.stdout.readline().strip() if self.proc.stdout else ""


def push(records: list[dict], batch_size: int, workers: int, latency_ms: float,
         null: bool = False) -> tuple[float, int]:
    """records/s into a fresh sandbox process (or the null server), and the most requests it had in flight."""
    import requests

    server = (_NullServer(latency_ms) if null else
              SimulatorProcess("tests.simulators.oomnitza", "--latency-ms", str(latency_ms), cwd=str(REPO)))
    with server as sim:
        hook = OomnitzaHook.from_settings({"url": sim.url, "api_token": "sandbox-token"})
        target = BulkTarget("Bench", "assets", ["SERIAL"], str(uuid.uuid4()))
        hook.push(records[:batch_size], target, batch_size=batch_size, workers=1)  # connection, token: warm
        start = time.perf_counter()
        result = hook.push(records, target, batch_size=batch_size, workers=workers)
        elapsed = time.perf_counter() - start
        assert result.sent == len(records)
        stats = requests.get(f"{sim.url}/_sim/stats", timeout=30).json()
    return len(records) / elapsed, stats["peak_in_flight"]


if __name__ == "__main__":
    main()
