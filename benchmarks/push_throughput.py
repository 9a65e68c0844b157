"""Bulk push throughput into the Oomnitza sandbox: records/s by workers, with added latency.

    python benchmarks/push_throughput.py [--records 20000] [--latency-ms 50] [--batch-size 100]

The sandbox runs in a thread of this process (it adds no delay of its own); ``--latency-ms``
adds a per-request delay like a WAN round trip to a real tenant.
"""
from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from airflow_provider_oomnitza.bulk import BulkTarget  # noqa: E402
from airflow_provider_oomnitza.hooks.oomnitza import OomnitzaHook  # noqa: E402
from tests.simulators.base import SimulatorThread  # noqa: E402
from tests.simulators.oomnitza import OomnitzaState, build_app  # noqa: E402


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
    for workers in (int(w) for w in args.workers.split(",")):
        with SimulatorThread(build_app(OomnitzaState())) as sim:
            sim.state.knobs.latency_ms = args.latency_ms
            hook = OomnitzaHook.from_settings({"url": sim.url, "api_token": "sandbox-token"})
            target = BulkTarget("Bench", "assets", ["SERIAL"], str(uuid.uuid4()))
            start = time.perf_counter()
            result = hook.push(records, target, batch_size=args.batch_size, workers=workers)
            elapsed = time.perf_counter() - start
            assert result.sent == args.records == len(sim.state.records("assets"))
        print(f"  workers={workers}: {elapsed:6.2f} s, {args.records / elapsed:8,.0f} records/s")


if __name__ == "__main__":
    main()
