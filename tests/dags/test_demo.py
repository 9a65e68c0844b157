"""The demo (scripts/demo.py, `make demo`, `make demo-ui`) behaves like Airflow: task logs where the UI
reads them, its DAGs unpaused, parallelism sized to the machine, and Ctrl-C stops all it started."""
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from airflow_provider_oomnitza.dag_factory import dag_id_for
from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "demo.py"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def demo(tmp_path, monkeypatch):
    monkeypatch.setenv("OOMNITZA_DEMO_DIR", str(tmp_path / "demo"))
    spec = importlib.util.spec_from_file_location("demo_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_demo_sizes_parallelism_to_the_machine_and_logs_where_the_ui_reads(demo, tmp_path):
    env = demo.airflow_env(api_port=18123)
    assert int(env["AIRFLOW__CORE__PARALLELISM"]) == max(2, os.cpu_count())  # not Airflow's 32
    assert env["AIRFLOW__API__WORKERS"] == "1"
    home = tmp_path / "demo" / "airflow"
    assert env["AIRFLOW_HOME"] == str(home)
    assert env["AIRFLOW__LOGGING__BASE_LOG_FOLDER"] == str(demo.TASK_LOGS) == str(home / "logs")
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://localhost:18123/execution/"


# A child that ignores SIGTERM and starts two grandchildren that ignore it too, one of them in a
# session of its own (out of the child's process group); prints their pids.
STUBBORN = textwrap.dedent("""
    import os, signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
    a = subprocess.Popen([sys.executable, "-c", code])
    b = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    print(a.pid, b.pid, flush=True)
    time.sleep(600)
""")


def started_family(proc, count, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        family = psutil.Process(proc.pid).children(recursive=True)
        if len(family) >= count:
            return family
        time.sleep(0.1)
    raise AssertionError(f"expected {count} descendants of {proc.pid}")


def gone(processes):
    return all(not p.is_running() or p.status() == psutil.STATUS_ZOMBIE for p in processes)


def test_stop_terminates_then_kills_the_whole_family(demo, tmp_path):
    proc = demo.start([sys.executable, "-c", STUBBORN], tmp_path / "stubborn.log")
    family = [psutil.Process(proc.pid), *started_family(proc, 2)]
    demo.stop(proc, grace=1)
    assert gone(family)
    assert proc.returncode == -signal.SIGKILL  # it ignored SIGTERM, so the grace ran out


def test_a_well_behaved_child_gets_sigterm(demo, tmp_path):
    proc = demo.start([sys.executable, "-c", "import time; time.sleep(600)"], tmp_path / "sleep.log")
    demo.stop(proc, grace=10)
    assert proc.returncode == -signal.SIGTERM


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_everything_the_demo_started(tmp_path, sig):
    """What `make demo-ui` does with `airflow standalone`, with a stubborn stand-in for it."""
    runner = tmp_path / "runner.py"
    runner.write_text(textwrap.dedent(f"""
        import importlib.util, signal, sys
        spec = importlib.util.spec_from_file_location("demo_script", {str(SCRIPT)!r})
        demo = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(demo)
        demo.GRACE_SECONDS = 1.0
        signal.signal(signal.SIGTERM, demo._raise_stop)
        sys.exit(demo.supervise([sys.executable, "-c", {STUBBORN!r}], {str(tmp_path / "child.log")!r}))
    """))
    env = dict(os.environ, OOMNITZA_DEMO_DIR=str(tmp_path / "demo"), PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, str(runner)], env=env, start_new_session=True)
    family = started_family(proc, 3)
    os.kill(proc.pid, sig)  # Ctrl-C reaches only the demo: its children run in process groups of their own
    assert proc.wait(timeout=60) == 130
    assert gone(family)


def test_a_reduced_demo_run_leaves_task_logs_where_it_says_and_its_dag_unpaused(tmp_path):
    demo_dir = tmp_path / "demo"
    env = dict(os.environ, OOMNITZA_DEMO_DIR=str(demo_dir), OOMNITZA_SANDBOX_PORT=str(free_port()),
               AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="True")  # Airflow's default: new DAGs start paused
    done = subprocess.run([sys.executable, str(SCRIPT), "--sections", "csv_users"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    dag_id = dag_id_for("csv_users")
    [printed] = re.findall(r"task logs: (\S+)", out)
    assert f"Task logs (as the UI shows them): {demo_dir / 'airflow' / 'logs'}/dag_id=<dag>" in out
    run_logs = demo_dir / "airflow" / "logs" / f"dag_id={dag_id}"
    assert printed.startswith(str(run_logs) + "/run_id=")
    for task in ("task_id=extract", "task_id=map/map_index=0", "task_id=push/map_index=0", "task_id=report"):
        assert list((run_logs / printed.split("/")[-1] / task).glob("attempt=*.log")), task
    extract_logs = " ".join(p.read_text() for p in (run_logs / printed.split("/")[-1]).glob("task_id=extract/*"))
    assert "Extracted 4 records from [csv_users]" in extract_logs
    import sqlite3

    with sqlite3.connect(demo_dir / "airflow" / "airflow.db") as db:
        assert db.execute("SELECT is_paused FROM dag WHERE dag_id = ?", (dag_id,)).fetchone() == (0,)
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if str(demo_dir) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []
