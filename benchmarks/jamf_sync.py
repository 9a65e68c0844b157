"""Jamf Pro sync: extraction through JamfHook, then mapping and push into the Oomnitza sandbox.

    python benchmarks/jamf_sync.py [--computers 10000] [--latency-ms 50] [--page-size 200]
                                   [--per-device / --no-per-device]

The Jamf simulator runs as its own process (its CPU does not compete with the hook's) with
``--latency-ms`` added to every request, like a WAN round trip to Jamf Cloud. Extraction uses
the section's default mappings (the sections they need). Mapping uses the pipeline's
``RecordMapper`` and the push ``OomnitzaHook.push`` into the sandbox (in a thread, with the same
added latency). For comparison: one Classic call per device (``/JSSResource/computers/id/N``, what
the original connector did) at 5 connections, computed, and measured with ``--per-device``.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from airflow_provider_oomnitza.bulk import BulkTarget  # noqa: E402
from airflow_provider_oomnitza.hooks.http_client import RetryingClient  # noqa: E402
from airflow_provider_oomnitza.hooks.jamf import MAX_CONNECTIONS, JamfHook  # noqa: E402
from airflow_provider_oomnitza.mapping.needs import needs_of  # noqa: E402
from airflow_provider_oomnitza.hooks.oomnitza import OomnitzaHook  # noqa: E402
from airflow_provider_oomnitza.mapping.build import build_mappings  # noqa: E402
from airflow_provider_oomnitza.mapping.engine import RecordMapper  # noqa: E402
from airflow_provider_oomnitza.sources.casper import SOURCE, CasperSettings  # noqa: E402
from tests.simulators.base import SimulatorProcess, SimulatorThread  # noqa: E402
from tests.simulators.jamf import DEFAULT_ACCOUNTS  # noqa: E402
from tests.simulators.oomnitza import OomnitzaState, build_app  # noqa: E402

USER, PASSWORD = next(iter(DEFAULT_ACCOUNTS.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--computers", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--page-size", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="push workers ([oomnitza] workers)")
    parser.add_argument("--per-device", action=argparse.BooleanOptionalAction, default=True,
                        help="also measure one Classic call per device at 5 connections")
    args = parser.parse_args()
    latency = args.latency_ms / 1000
    print(f"{args.computers:,} computers, {args.latency_ms:g} ms added per request, "
          f"at most {MAX_CONNECTIONS} connections to Jamf")

    jamf = SimulatorProcess("tests.simulators.jamf", "--computers", str(args.computers), "--mobile-devices", "0",
                            "--latency-ms", str(args.latency_ms), cwd=str(Path(__file__).resolve().parent.parent))
    try:
        settings = CasperSettings(url=jamf.url, username=USER, password=PASSWORD, sync_field=["SERIAL_NUMBER"],
                                  page_size=args.page_size, use_server_map=False)
        mappings = build_mappings(SOURCE, settings, {}).mappings
        values = settings.values(reveal=True)

        serials_s, _ = extract(jamf.url, values, {"SERIAL_NUMBER": {"source": "general.serial_number"}}, latency)
        extract_s, records = extract(jamf.url, values, mappings, latency)

        mapper = RecordMapper(mappings, values, sync_fields=["SERIAL_NUMBER"])
        start = time.perf_counter()
        mapped = [out for _, _, out in mapper.map_all(records) if isinstance(out, dict)]
        map_s = time.perf_counter() - start
        print(f"map (RecordMapper, {len(mappings)} mappings): {map_s:6.2f} s, {len(records) / map_s:8,.0f} records/s, "
              f"{len(mapped):,} mapped, {mapper.stats.missing} without a serial number")

        with SimulatorThread(build_app(OomnitzaState())) as sandbox:
            sandbox.state.knobs.latency_ms = args.latency_ms
            oomnitza = OomnitzaHook.from_settings({"url": sandbox.url, "api_token": "sandbox-token"})
            target = BulkTarget("Casper", "assets", ["SERIAL_NUMBER"], str(uuid.uuid4()))
            start = time.perf_counter()
            result = oomnitza.push(mapped, target, batch_size=args.batch_size, workers=args.workers)
            push_s = time.perf_counter() - start
            assert result.sent == len(mapped) == len(sandbox.state.records("assets"))
        print(f"push (OomnitzaHook.push, batches of {args.batch_size}, {args.workers} workers): {push_s:6.2f} s, "
              f"{len(mapped) / push_s:8,.0f} records/s")
        print(f"total: {extract_s + map_s + push_s:6.2f} s")

        estimate = args.computers * latency / MAX_CONNECTIONS
        print(f"one call per device at {MAX_CONNECTIONS} connections: {args.computers:,} x {args.latency_ms:g} ms / "
              f"{MAX_CONNECTIONS} = {estimate:.0f} s (latency alone)")
        total = extract_s + map_s + push_s
        summary = [f"SUMMARY jamf computers={args.computers} extract_s={extract_s:.2f} map_s={map_s:.2f} "
                   f"push_s={push_s:.2f} total_s={total:.2f}",
                   f"SUMMARY jamf_vs_per_device computers={args.computers} per_device_estimate_s={estimate:.1f} "
                   f"share={total / estimate:.2f}"]
        if args.per_device and estimate < 120:
            per_device_s = per_device(jamf.url, values)
            print(f"  measured: {per_device_s:6.2f} s, {args.computers / per_device_s:8,.0f} records/s; "
                  f"the paged extraction is {per_device_s / extract_s:.0f}x faster")
            summary.append(f"SUMMARY jamf_per_device computers={args.computers} measured_s={per_device_s:.2f} "
                           f"share={total / per_device_s:.2f}")
        print("\n".join(summary))
    finally:
        jamf.stop()


def extract(url: str, values: dict, mappings: dict, latency: float) -> tuple[float, list[dict]]:
    """Every computer through the hook; prints the time, requests and concurrency."""
    before = requests.get(f"{url}/_sim/stats").json()
    hook = JamfHook(values, section="casper", needs=needs_of(mappings))
    start = time.perf_counter()
    records = list(hook.records())
    elapsed = time.perf_counter() - start
    after = requests.get(f"{url}/_sim/stats").json()
    path = "/api/v4/computers-inventory"
    pages = after["by_path"][path] - before["by_path"].get(path, 0)
    print(f"extract, {len(mappings)} mappings: {pages} pages of {values['page_size']}, sections "
          f"{', '.join(hook.shaper()[1])}:")
    print(f"  {elapsed:6.2f} s, {len(records) / elapsed:8,.0f} records/s, {after['requests'] - before['requests']} "
          f"requests, peak {after['peak_in_flight']} in flight; latency alone would take "
          f"{(math.ceil((pages - 1) / MAX_CONNECTIONS) + 1) * latency:.2f} s")
    return elapsed, records


def per_device(url: str, values: dict) -> float:
    """The original's way, with a bearer token: the id list, then one Classic detail call per device."""
    hook = JamfHook(values, section="casper")
    token = hook.get_conn().auth  # the hook's token, shared by the threads of this client
    client = RetryingClient(url, name="Jamf Classic", headers={"Accept": "application/json"}, auth=token,
                            max_connections=MAX_CONNECTIONS)
    start = time.perf_counter()
    ids = [c["id"] for c in client.get_json("JSSResource/computers")["computers"]]
    with ThreadPoolExecutor(MAX_CONNECTIONS) as pool:
        details = list(pool.map(lambda i: client.get_json(f"JSSResource/computers/id/{i}")["computer"], ids))
    elapsed = time.perf_counter() - start
    assert len(details) == len(ids)
    return elapsed


if __name__ == "__main__":
    main()
