"""A sync of N records through the real operators, stage by stage: records/s, wall time, requests, peak RSS.

    python benchmarks/sync_stages.py [--records 10000,100000,1000000] [--latency-ms 50] [--source csv|json]
                                     [--workers 2] [--batch-size 100] [--chunk-size 20000] [--delta]

A CSV (or JSON) file of N records (20 plain fields), a ``[csv_assets]`` (``[json_assets]``) section,
and the Oomnitza sandbox in its own process with ``--latency-ms`` added to every request. Each
stage (extract, map, push, report) runs in a fresh Python process, like an Airflow task, calling
the operator's ``execute`` with a small stand-in for Airflow's context (the run's parameters and
the XCom results of the stage before); map and push handle every chunk in that one process, one
after the other. Per stage it prints the wall time of the process (start-up and imports
included), the time of the work itself, records/s, the requests the sandbox answered and the
process's peak RSS; for push also the bound ``workers x batch / latency`` and the share of it
achieved. ``--delta`` turns on ``delta_sync`` and runs the sync a second time over the unchanged
file: the second run must send nothing. Ends with one ``SUMMARY`` line per figure.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DAG_ID = "bench_sync"
STAGES = ("extract", "map", "push", "report")
FIELDS = [f"field{i:02d}" for i in range(19)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", default="10000,100000,1000000", help="comma-separated sizes")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--source", choices=("csv", "json"), default="csv")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--chunk-size", type=int, default=20000)
    parser.add_argument("--delta", action="store_true", help="delta_sync on; a second run over the same file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--run-id", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, Path(args.home), args.run_id)
    from tests.simulators.base import SimulatorProcess

    sizes = [int(n) for n in args.records.split(",")]
    bound = args.workers * args.batch_size / (args.latency_ms / 1000) if args.latency_ms else None
    print(f"{args.source} source, 20 fields, sandbox in its own process with {args.latency_ms:g} ms per request, "
          f"batches of {args.batch_size}, {args.workers} workers, chunks of {args.chunk_size}")
    summary: list[str] = []
    for size in sizes:
        home = Path(tempfile.mkdtemp(prefix=f"sync-bench-{size}-"))
        source = write_source(home, args.source, size)
        with SimulatorProcess("tests.simulators.oomnitza", "--db", str(home / "sandbox.sqlite"),
                              "--latency-ms", str(args.latency_ms), cwd=str(REPO)) as sandbox:
            write_ini(home, sandbox.url, args, source)
            runs = ("first", "second") if args.delta else ("only",)
            for run in runs:
                figures = sync(home, sandbox.url, run, size)
                push = figures["push"]
                for stage in STAGES:
                    f = figures[stage]
                    line = (f"  [{size:,} records, {run} run] {stage:8s} wall {f['wall']:7.2f} s, work "
                            f"{f['work']:7.2f} s, {f['records'] / f['work'] if f['work'] else 0:10,.0f} records/s, "
                            f"{f['requests']:6,} requests, peak RSS {f['rss_mib']:6.1f} MiB")
                    print(line, flush=True)
                rate = push["sent"] / push["work"] if push["work"] and push["sent"] else 0
                if bound and push["sent"]:
                    print(f"  push: {rate:,.0f} records/s of the bound {args.workers} x {args.batch_size} / "
                          f"{args.latency_ms:g} ms = {bound:,.0f} records/s ({rate / bound:.0%})")
                total = sum(figures[s]["wall"] for s in STAGES)
                summary.append(f"SUMMARY sync records={size} run={run} total_wall_s={total:.2f} "
                               f"sent={push['sent']} skipped_unchanged={push['skipped']}")
                for stage in STAGES:
                    f = figures[stage]
                    summary.append(f"SUMMARY stage={stage} records={size} run={run} wall_s={f['wall']:.2f} "
                                   f"work_s={f['work']:.2f} records_per_s={f['records'] / f['work'] if f['work'] else 0:.0f} "
                                   f"requests={f['requests']} peak_rss_mib={f['rss_mib']:.1f}")
                if bound and push["sent"]:
                    summary.append(f"SUMMARY push_vs_bound records={size} run={run} achieved={rate:.0f} "
                                   f"bound={bound:.0f} share={rate / bound:.2f}")
    print("\n".join(summary))


def write_source(home: Path, kind: str, size: int) -> Path:
    """N records of a serial and 19 plain fields, written as they are generated."""
    path = home / f"assets.{kind}" if kind == "csv" else home / "json" / "assets.json"  # JSON: a directory
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        if kind == "csv":
            fh.write("serial," + ",".join(FIELDS) + "\n")
            for i in range(size):
                fh.write(f"SN{i:08d}," + ",".join(f"{name}-{i % 97}" for name in FIELDS) + "\n")
        else:
            fh.write("[\n")
            for i in range(size):
                record = {"serial": f"SN{i:08d}", **{name: f"{name}-{i % 97}" for name in FIELDS}}
                fh.write(("," if i else "") + json.dumps(record) + "\n")
            fh.write("]\n")
    return path


def write_ini(home: Path, url: str, args, source: Path) -> None:
    mappings = "".join(f'mapping.{name.upper()} = {{"source": "{name}"}}\n' for name in FIELDS)
    (home / "config.ini").write_text(
        f"[oomnitza]\nurl = {url}\napi_token = sandbox-token\nretries = 0\nbatch_size = {args.batch_size}\n"
        f"workers = {args.workers}\nchunk_size = {args.chunk_size}\nmax_rejected = 0\n\n"
        f"[{args.source}_assets]\nenable = true\n"
        + (f"filename = {source}\n" if args.source == "csv" else f"directory = {source.parent}\n")
        + "sync_field = SERIAL\nuse_server_map = false\n"
        f"delta_sync = {'true' if args.delta else 'false'}\n"
        'mapping.SERIAL = {"source": "serial"}\n' + mappings)


def sync(home: Path, url: str, run: str, size: int) -> dict[str, dict]:
    """Each stage in a fresh process; its wall time, the work time it reports, the sandbox's requests, RSS."""
    import requests

    figures = {}
    for stage in STAGES:
        before = requests.get(f"{url}/_sim/stats", timeout=30).json()["requests"]
        start = time.perf_counter()
        log = home / f"{run}-{stage}.log"
        with log.open("w") as out:  # the task's log
            proc = subprocess.Popen([sys.executable, __file__, "--child", stage, "--home", str(home), "--run-id", run],
                                    cwd=str(REPO), env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=out,
                                    stderr=subprocess.STDOUT)
            _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            print(log.read_text()[-5000:])
            raise SystemExit(f"{stage} failed (exit {proc.returncode}); its log: {log}")
        after = requests.get(f"{url}/_sim/stats", timeout=30).json()["requests"]
        result = json.loads((home / f"{run}-{stage}.json").read_text())
        figures[stage] = {"wall": wall, "work": result["work"], "records": result.get("records", size),
                          "requests": after - before, "rss_mib": usage.ru_maxrss / 1024,
                          "sent": result.get("sent", 0), "skipped": result.get("skipped", 0)}
    return figures


# ------------------------------------------------------------------------------------------------
# The child: one stage, through the real operator
# ------------------------------------------------------------------------------------------------

class _TaskInstance:
    """What the operators ask of Airflow's task instance: the DAG's tags and earlier XCom results."""

    def __init__(self, results: dict[str, list]):
        self.dag_id = DAG_ID
        self.results = results

    def get_dag(self, dag_id):
        from types import SimpleNamespace

        return SimpleNamespace(tags=set())  # no ini: tag, so the fingerprint check is skipped

    def xcom_pull(self, task_ids, map_indexes):
        return [self.results[task_ids][i] for i in map_indexes]


def child(stage: str, home: Path, run: str) -> None:
    os.environ.update({"OOMNITZA_INI": str(home / "config.ini"), "OOMNITZA_STORAGE": f"file://{home / 'runs'}",
                       "AIRFLOW_HOME": str(home / "airflow")})
    from types import SimpleNamespace

    from airflow_provider_oomnitza.config.loader import load_config

    config = load_config(home / "config.ini")
    section = next(iter(config.enabled_sections())).name
    common = {"section": section, "ini_path": str(home / "config.ini")}
    results = {task: json.loads((home / f"{run}-{task}.xcom").read_text())
               for task in STAGES if (home / f"{run}-{task}.xcom").exists()}
    context = {"dag": SimpleNamespace(dag_id=DAG_ID), "run_id": f"bench-{run}", "params": {},
               "ti": _TaskInstance(results)}
    from airflow_provider_oomnitza.operators.extract import OomnitzaExtractOperator
    from airflow_provider_oomnitza.operators.map import OomnitzaMapOperator
    from airflow_provider_oomnitza.operators.push import OomnitzaPushOperator
    from airflow_provider_oomnitza.operators.report import OomnitzaReportOperator
    from airflow_provider_oomnitza.storage import RunStorage

    warm = RunStorage(DAG_ID, "warm-up")  # Airflow loads its plugins on a task's first file through
    warm.write_json("warm-up.json", {})  # ObjectStoragePath (hook lineage): part of a task's start-up
    warm.read_json("warm-up.json")
    warm.remove()
    start = time.perf_counter()  # what a task does once Airflow and the provider are imported
    out: dict = {}
    if stage == "extract":
        xcom = OomnitzaExtractOperator(task_id="extract", **common).execute(context)
        out["records"] = sum(c["extracted"] for c in xcom)
    elif stage in ("map", "push"):
        operator = OomnitzaMapOperator if stage == "map" else OomnitzaPushOperator
        upstream = results["extract" if stage == "map" else "map"]
        xcom = [operator(task_id=stage, chunk=chunk, **common).execute(context) for chunk in upstream]
        out["records"] = sum(c["extracted"] for c in xcom)
        if stage == "push":
            out["sent"] = sum(c["pushed"] for c in xcom)
            out["skipped"] = sum(c.get("delta_skipped", 0) for c in xcom)
    else:
        xcom = OomnitzaReportOperator(task_id="report", **common).execute(context)
        out["records"] = xcom["extracted"]
    out["work"] = time.perf_counter() - start
    (home / f"{run}-{stage}.xcom").write_text(json.dumps(xcom, default=str))
    (home / f"{run}-{stage}.json").write_text(json.dumps(out))


if __name__ == "__main__":
    main()
