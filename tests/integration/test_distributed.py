"""The provider on a distributed Airflow: CeleryExecutor, two workers, real processes.

scripts/distributed.py starts the topology of docker-compose.airflow.yml natively: a database of
its own on the PostgreSQL server here, Redis here as the Celery broker, api-server, scheduler,
dag-processor, triggerer and two Celery workers, each with its own AIRFLOW_HOME (as if on its own
machine), sharing only the configuration (env vars), the DAGs folder, config.ini and the run
storage directory. The Oomnitza sandbox runs as a process. Runs are triggered and inspected
through the REST API with the official ``apache-airflow-client``, authenticated with a JWT from
``POST /auth/token``.

1. Three sections synced at once: every record arrives exactly once, mapped chunks ran on both
   workers, and chunk files written on one worker were read on the other.
2. A worker is killed (SIGKILL, with every process it started) while its push task has a bulk
   request in flight: the scheduler notices the lost heartbeat, the task is retried on the other
   worker, it re-sends the chunk into the same portion, and Oomnitza's upsert by sync field keeps
   every record exactly once.
3. Only the process running a push task is killed (SIGKILL) mid-request, its worker lives on:
   Airflow fails that try and retries the task in the same run; every record arrives once.
4. No secret in what the workers wrote: task log files, component logs, the run folders.
"""
from __future__ import annotations

import csv
import secrets
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from airflow_provider_oomnitza.dag_factory import dag_id_for
from scripts.distributed import Cluster, ClusterSettings
from tests.simulators.base import SimulatorProcess, knobs, stats

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
TOKEN = "sbx-" + secrets.token_hex(16)  # random, so that the leak scan means something
CHUNK_SIZE = 20
BATCH_SIZE = 10
# section -> (kind, serial/login prefix, record count)
SECTIONS = {
    "csv_assets.Laptops": ("assets", "LAP", 70),  # 4 chunks, the last one partial
    "csv_assets.Phones": ("assets", "PHN", 40),   # 2 chunks
    "csv_users": ("users", "usr", 30),            # 2 chunks, the last one partial
    "csv_assets.Kill": ("assets", "KIL", CHUNK_SIZE),  # 1 chunk of 2 batches: the kill scenario
    "csv_assets.TaskKill": ("assets", "TSK", CHUNK_SIZE),  # the same, killing only the task's process
}
CONCURRENT = ("csv_assets.Laptops", "csv_assets.Phones", "csv_users")
HEARTBEAT_TIMEOUT = 20
RUN_TIMEOUT = 240


# -- set-up ---------------------------------------------------------------------------------------------
def write_source_files(folder: Path) -> dict[str, Path]:
    files = {}
    for section, (kind, prefix, count) in SECTIONS.items():
        path = folder / f"{section}.csv"
        with path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            if kind == "assets":
                writer.writerow(["serial_number", "model"])
                writer.writerows([f"{prefix}-{i:04d}", f"Model {i % 7}"] for i in range(count))
            else:
                writer.writerow(["login", "first_name", "last_name", "email"])
                writer.writerows([f"{prefix}{i:04d}", "First", f"Last{i}", f"{prefix}{i:04d}@example.com"]
                                 for i in range(count))
        files[section] = path
    return files


def write_config(path: Path, sandbox_url: str, files: dict[str, Path]) -> None:
    lines = [
        "[oomnitza]", f"url = {sandbox_url}", f"api_token = {TOKEN}",
        f"chunk_size = {CHUNK_SIZE}", f"batch_size = {BATCH_SIZE}", "workers = 2", "parallel_chunks = 4",
        "retries = 2", "retry_delay = 3", "",
    ]
    for section, (kind, _, _) in SECTIONS.items():
        lines += [f"[{section}]", "enable = true", f"filename = {files[section]}"]
        if kind == "assets":
            lines += ["sync_field = SERIAL_NUMBER",
                      'mapping.SERIAL_NUMBER = {"source": "serial_number"}',
                      'mapping.MODEL = {"source": "model"}']
        else:
            lines += ["default_role = 25", "default_position = Employee",
                      'mapping.USER = {"source": "login"}',
                      'mapping.FIRST_NAME = {"source": "first_name"}',
                      'mapping.LAST_NAME = {"source": "last_name"}',
                      'mapping.EMAIL = {"source": "email"}']
        lines.append("")
    path.write_text("\n".join(lines))


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """Sandbox process + the whole cluster; everything stopped and the database dropped at the end."""
    root = tmp_path_factory.mktemp("distributed")
    dags = root / "dags"
    dags.mkdir()
    (dags / "oomnitza.py").write_text((REPO / "dags" / "oomnitza.py").read_text())
    files = write_source_files(root)
    sandbox = SimulatorProcess("tests.simulators.oomnitza", "--token", TOKEN, cwd=str(REPO))
    try:
        ini = root / "config.ini"
        write_config(ini, sandbox.url, files)
        cluster = Cluster(ClusterSettings(
            workdir=root / "cluster", ini_path=ini, dags_folder=dags, storage_url=f"file://{root / 'runs'}",
            workers=2, worker_concurrency=2, heartbeat_timeout=HEARTBEAT_TIMEOUT, stop_grace=5,
        ))
        with cluster:
            yield Deployment(cluster, sandbox)
    finally:
        sandbox.stop()


class Deployment:
    def __init__(self, cluster: Cluster, sandbox: SimulatorProcess):
        from airflow_client import client

        self.cluster, self.sandbox = cluster, sandbox
        api = client.ApiClient(client.Configuration(host=cluster.api_url, access_token=cluster.token()))
        self.dags = client.DAGApi(api)
        self.runs = client.DagRunApi(api)
        self.tis = client.TaskInstanceApi(api)
        self.errors = client.ImportErrorApi(api)
        self.client = client

    # -- REST API -----------------------------------------------------------------------------------
    def wait_for_dags(self, dag_ids, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        missing = set(dag_ids)
        while missing and time.monotonic() < deadline:
            for dag_id in list(missing):
                try:
                    self.dags.get_dag(dag_id)
                    missing.discard(dag_id)
                except self.client.exceptions.NotFoundException:
                    pass
            time.sleep(1)
        if missing:
            errors = [e.stack_trace for e in self.errors.get_import_errors().import_errors]
            pytest.fail(f"DAGs not registered after {timeout:.0f} s: {sorted(missing)}; import errors: {errors}; "
                        + self.logs_tail("dag-processor"))

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        self.dags.patch_dag(dag_id, self.client.DAGPatchBody(is_paused=False))
        run = self.runs.trigger_dag_run(dag_id, self.client.TriggerDAGRunPostBody(logical_date=None, conf=conf or {}))
        return run.dag_run_id

    def wait_for_runs(self, runs: list[tuple[str, str]], timeout: float = RUN_TIMEOUT) -> dict:
        deadline = time.monotonic() + timeout
        states: dict = {}
        while time.monotonic() < deadline:
            self.cluster.check_alive("api-server", "scheduler", "dag-processor")
            states = {(d, r): self.runs.get_dag_run(d, r).state.value for d, r in runs}
            if all(s in ("success", "failed") for s in states.values()):
                break
            time.sleep(2)
        failed = {k: s for k, s in states.items() if s != "success"}
        if failed:
            details = "\n".join(f"{d} {r}: {self.summary(d, r)}" for d, r in failed)
            pytest.fail(f"runs not successful: {failed}\n{details}\n" + self.logs_tail("scheduler", "worker1", "worker2"))
        return states

    def task_instances(self, dag_id: str, run_id: str) -> list:
        return self.tis.get_task_instances(dag_id, run_id, limit=100).task_instances

    def summary(self, dag_id: str, run_id: str) -> str:
        return ", ".join(f"{t.task_id}[{t.map_index}]={t.state.value if t.state else None}@{t.hostname}"
                         for t in self.task_instances(dag_id, run_id))

    def logs_tail(self, *components: str, lines: int = 40) -> str:
        out = []
        for name in components:
            text = self.cluster.log_path(name).read_text(errors="replace").splitlines()
            out.append(f"--- {name} log (last {lines} lines) ---\n" + "\n".join(text[-lines:]))
        return "\n".join(out)

    # -- sandbox --------------------------------------------------------------------------------------
    def records(self, kind: str) -> list[dict]:
        out, skip = [], 0
        while True:
            page = requests.get(f"{self.sandbox.url}/api/v3/{kind}", headers={"Authorization2": TOKEN},
                                params={"limit": 1000, "skip": skip}, timeout=60).json()
            out += page
            if len(page) < 1000:
                return out
            skip += 1000



def sync_keys(records: list[dict], kind: str, prefix: str) -> Counter:
    field = "SERIAL_NUMBER" if kind == "assets" else "USER"
    return Counter(r[field] for r in records if str(r.get(field, "")).startswith(prefix))


def expected_keys(section: str) -> Counter:
    kind, prefix, count = SECTIONS[section]
    return Counter(f"{prefix}-{i:04d}" if kind == "assets" else f"{prefix}{i:04d}" for i in range(count))


def report_of(deployment: Deployment, dag_id: str, run_id: str) -> dict:
    from airflow_provider_oomnitza.storage import RunStorage

    return RunStorage(dag_id, run_id, deployment.cluster.s.storage_url).read_json("report.json")


# -- tests ------------------------------------------------------------------------------------------------
def test_several_syncs_at_once_on_two_workers(deployment: Deployment):
    dag_ids = {section: dag_id_for(section) for section in SECTIONS}
    deployment.wait_for_dags(dag_ids.values())
    runs = {section: (dag_ids[section], deployment.trigger(dag_ids[section])) for section in CONCURRENT}
    deployment.wait_for_runs(list(runs.values()))

    # every record arrived, none twice
    for section in CONCURRENT:
        kind, prefix, count = SECTIONS[section]
        assert sync_keys(deployment.records(kind), kind, prefix) == expected_keys(section), section
        report = report_of(deployment, *runs[section])
        assert report["extracted"] == report["pushed"] == count, (section, report)

    # mapped chunk tasks ran on both workers; chunk files crossed from one worker to the other
    chunk_hosts: set[str] = set()
    handoffs = []
    for section, (dag_id, run_id) in runs.items():
        tis = deployment.task_instances(dag_id, run_id)
        host = {(t.task_id, t.map_index): t.hostname for t in tis}
        chunks = -(-SECTIONS[section][2] // CHUNK_SIZE)
        assert sorted(i for t, i in host if t == "push") == list(range(chunks)), deployment.summary(dag_id, run_id)
        for i in range(chunks):
            chunk_hosts |= {host[("map", i)], host[("push", i)]}
            if host[("map", i)] != host[("extract", -1)]:
                handoffs.append((dag_id, "extract", "map", i))
            if host[("push", i)] != host[("map", i)]:
                handoffs.append((dag_id, "map", "push", i))
    assert chunk_hosts == set(deployment.cluster.worker_names)
    assert handoffs, "every chunk was mapped and pushed on the worker that wrote its input"


def test_worker_killed_mid_push_is_retried_without_lost_or_duplicated_records(deployment: Deployment):
    section = "csv_assets.Kill"
    kind, prefix, count = SECTIONS[section]
    dag_id = dag_id_for(section)
    deployment.wait_for_dags([dag_id])
    before = stats(deployment.sandbox)["by_path"].get("/api/v3/bulk", 0)
    # Each bulk request now takes 3 s; one push task sends its chunk as 2 batches, one at a time.
    knobs(deployment.sandbox, latency_ms=3000)
    run_id = deployment.trigger(dag_id, conf={"workers": 1})

    # wait until the first batch is stored and the second is in flight, then kill that worker
    victim = push_in_flight(deployment, dag_id, run_id, before).hostname
    assert victim in deployment.cluster.worker_names, deployment.summary(dag_id, run_id)
    deployment.cluster.kill(victim)
    knobs(deployment.sandbox, latency_ms=0)
    survivor = next(n for n in deployment.cluster.worker_names if n != victim)

    deployment.wait_for_runs([(dag_id, run_id)])

    tries = deployment.tis.get_task_instance_tries(dag_id, run_id, "push", map_index=0).task_instances
    by_try = {t.try_number: t for t in tries}
    assert by_try[1].hostname == victim and by_try[1].state.value != "success", [
        (t.try_number, t.hostname, t.state) for t in tries]
    final = by_try[max(by_try)]
    assert max(by_try) >= 2 and final.state.value == "success" and final.hostname == survivor
    # the retry sent the whole chunk again (both batches) after the first batch had been stored,
    # and Oomnitza's upsert by sync field kept each record once
    batches = -(-count // BATCH_SIZE)
    assert stats(deployment.sandbox)["by_path"]["/api/v3/bulk"] - before >= 2 * batches
    assert sync_keys(deployment.records(kind), kind, prefix) == expected_keys(section)
    assert report_of(deployment, dag_id, run_id)["pushed"] == count


def push_in_flight(deployment: Deployment, dag_id: str, run_id: str, before: int):
    """The running push task instance once its first batch is stored and the second is in flight."""
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        sim = stats(deployment.sandbox)
        if sim["by_path"].get("/api/v3/bulk", 0) - before >= 2 and sim["in_flight"] >= 1:
            push = [t for t in deployment.task_instances(dag_id, run_id) if t.task_id == "push"]
            if push and push[0].state and push[0].state.value == "running":
                return push[0]
        time.sleep(0.2)
    pytest.fail("the push never had a request in flight: " + deployment.summary(dag_id, run_id))


def test_task_process_killed_mid_push_is_retried_in_the_same_run(deployment: Deployment):
    section = "csv_assets.TaskKill"
    kind, prefix, count = SECTIONS[section]
    dag_id = dag_id_for(section)
    deployment.wait_for_dags([dag_id])
    before = stats(deployment.sandbox)["by_path"].get("/api/v3/bulk", 0)
    knobs(deployment.sandbox, latency_ms=3000)
    run_id = deployment.trigger(dag_id, conf={"workers": 1})
    push = push_in_flight(deployment, dag_id, run_id, before)

    # the task runner of that try retitles itself "airflow worker -- <task instance id>"
    title = f"airflow worker -- {push.id}"
    [task_process] = [p for p in deployment.cluster.process_tree(push.hostname) if title in " ".join(p.cmdline())]
    task_process.send_signal(signal.SIGKILL)
    knobs(deployment.sandbox, latency_ms=0)

    deployment.wait_for_runs([(dag_id, run_id)])
    deployment.cluster.check_alive(push.hostname)  # the worker itself lived on
    tries = deployment.tis.get_task_instance_tries(dag_id, run_id, "push", map_index=0).task_instances
    by_try = {t.try_number: t for t in tries}
    assert by_try[1].state.value != "success" and by_try[max(by_try)].state.value == "success", [
        (t.try_number, t.hostname, t.state) for t in tries]
    assert max(by_try) == 2  # retried once, in this run
    assert sync_keys(deployment.records(kind), kind, prefix) == expected_keys(section)
    assert report_of(deployment, dag_id, run_id)["pushed"] == count


def test_no_secret_in_worker_task_logs_component_logs_or_run_folders(deployment: Deployment):
    from tests.leak_scan import assert_no_leaks

    workdir = deployment.cluster.s.workdir
    task_logs = [p for name in deployment.cluster.worker_names for p in (workdir / name).rglob("*.log")]
    assert any("task_id=push" in str(p) for p in task_logs), "no task log files written by the workers"
    runs = Path(deployment.cluster.s.storage_url.removeprefix("file://"))
    assert any(runs.rglob("report.json"))
    assert_no_leaks([TOKEN], paths=[workdir, runs])
