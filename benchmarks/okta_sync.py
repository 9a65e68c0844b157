"""Okta sync of 50,000 users: an [okta] section's DAG run (extract, map, push, report) into the sandbox.

    python benchmarks/okta_sync.py [--users 50000] [--rate-limit 600] [--latency-ms 50]
                                   [--deprovisioned / --no-deprovisioned] [--hook-alone / --no-hook-alone]

The Okta simulator runs as its own process with Okta's real page size (200 at most) and its
rate-limit headers (``--rate-limit`` requests per minute to /api/v1/users, 600 by default, as
many orgs have), ``--latency-ms`` added to every request (a WAN round trip). The Oomnitza
sandbox runs as a process too, keeping its records in a SQLite file. The section's DAG is
run with ``dag.test()`` in a throw-away AIRFLOW_HOME (migrating its database and a warm-up run
of a one-asset CSV section, which starts dag.test's in-process task API, are not timed).
At the end the script checks that every user of the directory (with ``--deprovisioned``, the
default, also the DEPROVISIONED ones) is in the sandbox exactly once, and prints the times;
then (``--hook-alone``) it times the same extraction through OktaHook without Airflow.
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
HOME = Path(tempfile.mkdtemp(prefix="okta-bench-"))
os.environ.update({
    "AIRFLOW_HOME": str(HOME / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"), "OOMNITZA_INI": str(HOME / "config.ini"),
    "OOMNITZA_STORAGE": f"file://{HOME / 'runs'}", "PYTHONPATH": str(REPO),
})

import requests  # noqa: E402

from tests.simulators.base import SimulatorProcess  # noqa: E402
from tests.simulators.okta import DEFAULT_TOKEN, USERS_PATH  # noqa: E402
from tests.simulators.okta_data import Directory  # noqa: E402

DAG_ID = "okta_sync"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--rate-limit", type=int, default=600, help="requests per minute to /api/v1/users")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--deprovisioned", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--chunk-size", type=int, default=5000)
    parser.add_argument("--hook-alone", action=argparse.BooleanOptionalAction, default=True,
                        help="then time the extraction through OktaHook alone, without Airflow")
    args = parser.parse_args()

    directory = Directory(args.users, 1)  # the simulator's: same size and seed
    wanted = [directory.ids[i] for i in range(len(directory))
              if args.deprovisioned or directory.statuses[i] != "DEPROVISIONED"]
    print(f"{args.users:,} Okta users ({len(wanted):,} to sync), page size 200, rate limit {args.rate_limit}/min, "
          f"{args.latency_ms:g} ms added per request")

    db = HOME / "sandbox.sqlite"
    okta = SimulatorProcess("tests.simulators.okta", "--users", str(args.users), "--seed", "1",
                            "--users-rate-limit", str(args.rate_limit), "--users-rate-window", "60",
                            "--latency-ms", str(args.latency_ms), cwd=str(REPO))
    sandbox = SimulatorProcess("tests.simulators.oomnitza", "--db", str(db), "--latency-ms", str(args.latency_ms),
                               cwd=str(REPO))
    try:
        (HOME / "warmup.csv").write_text("serial\nWARMUP-1\n")
        (HOME / "config.ini").write_text(
            f"[oomnitza]\nurl = {sandbox.url}\napi_token = sandbox-token\nretries = 0\nchunk_size = {args.chunk_size}\n"
            f"\n[csv_assets.warmup]\nenable = true\nfilename = {HOME / 'warmup.csv'}\nsync_field = SERIAL_NUMBER\n"
            'mapping.SERIAL_NUMBER = {"source": "serial"}\nuse_server_map = false\n'
            f"\n[okta]\nenable = true\nurl = {okta.url}\napi_token = {DEFAULT_TOKEN}\ndefault_role = 25\n"
            f"default_position = Employee\nuse_server_map = false\n"
            f"deprovisioned = {str(args.deprovisioned).lower()}\n")

        start = time.perf_counter()
        from airflow.utils import db as airflow_db

        airflow_db.resetdb()
        from airflow.dag_processing.dagbag import DagBag

        dags = DagBag(dag_folder=str(REPO / "dags")).dags
        dag = dags[DAG_ID]
        print(f"Airflow set-up (database migration, DAG parsing; not counted): {time.perf_counter() - start:.1f} s")
        # dag.test() starts Airflow's in-process task API on its first task (tens of seconds here): a one-off of
        # the test harness, not of the sync, so a one-asset CSV sync is run first.
        start = time.perf_counter()
        assert dags["csv_assets_warmup_sync"].test().state == "success"
        print(f"warm-up run (one CSV asset; not counted): {time.perf_counter() - start:.1f} s")

        start = time.perf_counter()
        run = dag.test()
        total = time.perf_counter() - start
        assert run.state == "success", run.state

        durations: dict[str, float] = {}
        for ti in run.get_task_instances():
            durations[ti.task_id] = durations.get(ti.task_id, 0.0) + (ti.duration or 0.0)
        okta_stats = requests.get(f"{okta.url}/_sim/stats", timeout=10).json()
        requests_to_okta = okta_stats["by_path"].get(USERS_PATH, 0)

        stored = sqlite_users(db)
        logins = Counter(row["USER"] for row in stored)
        expected = {directory.user(directory.index_of(i))["profile"]["login"] for i in wanted}
        twice = [login for login, n in logins.items() if n > 1]
        assert not twice, f"{len(twice)} users stored more than once, e.g. {twice[:3]}"
        assert set(logins) == expected, (f"{len(expected - set(logins))} users missing, "
                                         f"{len(set(logins) - expected)} unexpected")
        print(f"sandbox: {len(stored):,} users, each exactly once (every user of the directory"
              f"{', DEPROVISIONED included' if args.deprovisioned else ' but the DEPROVISIONED'})")
        print(f"Okta: {requests_to_okta} requests to {USERS_PATH}, {okta_stats['rate_limited']} answered 429; "
              f"latency alone {requests_to_okta * args.latency_ms / 1000:.1f} s")
        chunks = -(-len(wanted) // args.chunk_size)
        for task in ("extract", "map", "push", "report"):
            if task in durations:
                extra = f" ({chunks} chunks)" if task in ("map", "push") else ""
                print(f"  {task:8s} {durations[task]:7.1f} s{extra}")
        print(f"total (dag.test, {DAG_ID}): {total:.1f} s, {len(wanted) / total:,.0f} users/s")
        if args.hook_alone:
            hook_alone(okta.url, args)
    finally:
        okta.stop()
        sandbox.stop()


def hook_alone(url: str, args: argparse.Namespace) -> None:
    """The same extraction through OktaHook alone, without Airflow (the simulator has its users rendered now)."""
    from airflow_provider_oomnitza.hooks.okta import OktaHook

    requests.post(f"{url}/_sim/reset", timeout=10).raise_for_status()  # stats and a fresh rate-limit window
    hook = OktaHook({"url": url, "api_token": DEFAULT_TOKEN, "deprovisioned": args.deprovisioned}, section="okta")
    start = time.perf_counter()
    count = sum(1 for _ in hook.records())
    elapsed = time.perf_counter() - start
    st = requests.get(f"{url}/_sim/stats", timeout=10).json()
    print(f"OktaHook alone, no Airflow: {count:,} users in {elapsed:.1f} s ({count / elapsed:,.0f} users/s), "
          f"{st['by_path'].get(USERS_PATH, 0)} requests, {st['rate_limited']} answered 429, "
          f"{hook.budget.waits if hook.budget else 0} slowed down")


def sqlite_users(path: Path) -> list[dict]:
    with sqlite3.connect(path) as conn:
        return [json.loads(data) for (data,) in conn.execute("SELECT data FROM users")]


if __name__ == "__main__":
    main()
