"""A whole CSV sync through Airflow vs. the original connector's way, into the same sandbox, in the same run.

    python benchmarks/versus_original.py [--records 100000] [--latency-ms 50] [--original-records 2000]
                                         [--chunk-size 20000] [--workers 2]

The Oomnitza sandbox runs in its own process with ``--latency-ms`` added to every request.

Ours: a ``[csv_assets]`` section's DAG run with ``dag.test()`` (extract, map and push per chunk,
report: every task through Airflow's task runner) in a throw-away AIRFLOW_HOME; migrating its
database and a warm-up run of a one-record section are not timed. It prints the run's wall time,
the time spent inside our tasks (Airflow's own task durations, summed) and the rest: Airflow
starting and finishing the task runs.

The original's way (``original_way`` below, a reference client written here, not the original's
code): one record per request, two worker threads, the same records mapped the same way, into a
fresh portion. At 50 ms per request that is about 40 records/s, so it is measured on the first
``--original-records`` records and scaled to ``--records`` (its rate does not depend on how many
records there are: every request is alike). One ``SUMMARY`` line per figure.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
HOME = Path(tempfile.mkdtemp(prefix="versus-original-"))
os.environ.update({
    "AIRFLOW_HOME": str(HOME / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"), "OOMNITZA_INI": str(HOME / "config.ini"),
    "OOMNITZA_STORAGE": f"file://{HOME / 'runs'}", "PYTHONPATH": str(REPO),
    # its own database, whatever the environment names: the script migrates (resets) it
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{HOME / 'airflow' / 'airflow.db'}",
})

from sync_stages import FIELDS, write_source  # noqa: E402

DAG_ID = "csv_assets_sync"


def original_way(url: str, records: list[dict], workers: int = 2) -> float:
    """The original connector's way of sending: one record per request, ``workers`` threads. Seconds taken."""
    import threading
    import uuid

    import requests

    portion = str(uuid.uuid4())
    pending = iter(records)
    lock = threading.Lock()

    def worker() -> None:
        session = requests.Session()
        session.headers["Authorization2"] = "sandbox-token"
        while True:
            with lock:
                record = next(pending, None)
            if record is None:
                return
            body = {"connector_name": "Original", "sync_field": ["SERIAL"], "records": [record],
                    "portion": portion, "data_type": "assets", "insert_only": False, "update_only": False}
            session.post(f"{url}/api/v3/bulk", json=body, timeout=60).raise_for_status()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--original-records", type=int, default=2000)
    parser.add_argument("--chunk-size", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from tests.simulators.base import SimulatorProcess

    csv = write_source(HOME, "csv", args.records)
    (HOME / "warmup.csv").write_text("serial\nWARMUP-1\n")
    print(f"{args.records:,} CSV records (20 fields), sandbox in its own process, {args.latency_ms:g} ms per request")
    with SimulatorProcess("tests.simulators.oomnitza", "--db", str(HOME / "sandbox.sqlite"),
                          "--latency-ms", str(args.latency_ms), cwd=str(REPO)) as sandbox:
        mappings = "".join(f'mapping.{name.upper()} = {{"source": "{name}"}}\n' for name in FIELDS)
        (HOME / "config.ini").write_text(
            f"[oomnitza]\nurl = {sandbox.url}\napi_token = sandbox-token\nretries = 0\n"
            f"chunk_size = {args.chunk_size}\nworkers = {args.workers}\n\n"
            f"[csv_assets.warmup]\nenable = true\nfilename = {HOME / 'warmup.csv'}\nsync_field = SERIAL\n"
            'use_server_map = false\nmapping.SERIAL = {"source": "serial"}\n\n'
            f"[csv_assets]\nenable = true\nfilename = {csv}\nsync_field = SERIAL\nuse_server_map = false\n"
            'mapping.SERIAL = {"source": "serial"}\n' + mappings)
        from airflow.utils import db as airflow_db

        airflow_db.resetdb()
        from airflow.dag_processing.dagbag import DagBag

        dags = DagBag(dag_folder=str(REPO / "dags")).dags
        assert dags["csv_assets_warmup_sync"].test().state == "success"  # starts dag.test's task API: not timed

        start = time.perf_counter()
        run = dags[DAG_ID].test()
        ours = time.perf_counter() - start
        assert run.state == "success", run.state
        in_tasks: dict[str, float] = {}
        for ti in run.get_task_instances():
            in_tasks[ti.task_id] = in_tasks.get(ti.task_id, 0.0) + (ti.duration or 0.0)
        tasks = len(run.get_task_instances())
        inside = sum(in_tasks.values())

        sample = [{"SERIAL": f"ORIG{i:08d}", **{name.upper(): f"{name}-{i % 97}" for name in FIELDS}}
                  for i in range(min(args.original_records, args.records))]
        measured = original_way(sandbox.url, sample)
        original = measured * args.records / len(sample)

    print(f"ours (dag.test, {tasks} task runs): {ours:.1f} s, {args.records / ours:,.0f} records/s; inside our tasks "
          f"{inside:.1f} s ({', '.join(f'{k} {v:.1f} s' for k, v in in_tasks.items())}); Airflow starting and "
          f"finishing task runs {max(ours - inside, 0):.1f} s ({max(ours - inside, 0) / ours:.0%})")
    print(f"the original's way (1 record per request, 2 workers): {len(sample):,} records in {measured:.1f} s "
          f"({len(sample) / measured:,.0f} records/s), so {original:,.0f} s for {args.records:,}")
    print(f"ours is {original / ours:.1f}x faster")
    print(f"SUMMARY ours records={args.records} wall_s={ours:.2f} inside_tasks_s={inside:.2f} "
          f"airflow_share={max(ours - inside, 0) / ours:.2f} tasks={tasks}")
    print(f"SUMMARY original_way records={len(sample)} wall_s={measured:.2f} "
          f"records_per_s={len(sample) / measured:.1f} scaled_s={original:.1f}")
    print(f"SUMMARY speedup records={args.records} ratio={original / ours:.1f}")


if __name__ == "__main__":
    main()
