"""A real sync, end to end, on the embedded default: Airflow on SQLite, the bundled sample
CSV files, and the local Oomnitza sandbox. Run it with ``make demo``.

    python scripts/demo.py          # migrate Airflow's DB, run both sample DAGs, show what arrived
    python scripts/demo.py --ui     # the same setup in the Airflow UI (airflow standalone)

Everything lives in ./demo (or $OOMNITZA_DEMO_DIR): the Airflow home (SQLite DB, task logs,
config.ini under oomnitza/), the sandbox's SQLite file and the run folders.

The runs go through Airflow's executor, as a scheduler would run them: their task logs are
written where the UI reads them, so ``make demo-ui`` shows them. Parallelism is sized to the
machine. Every process the demo starts runs in its own process group and is stopped on exit,
on Ctrl-C and on SIGTERM (SIGTERM to the group, SIGKILL after a short grace).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from airflow_provider_oomnitza.dag_factory import dag_id_for  # noqa: E402

DEMO = Path(os.environ.get("OOMNITZA_DEMO_DIR") or REPO / "demo").resolve()
AIRFLOW_HOME = DEMO / "airflow"
TASK_LOGS = AIRFLOW_HOME / "logs"  # Airflow's [logging] base_log_folder: where the UI reads task logs
COMMAND_LOGS = DEMO / "logs"  # output of the airflow commands the demo runs
INI = AIRFLOW_HOME / "oomnitza" / "config.ini"
EXAMPLE = REPO / "airflow_provider_oomnitza" / "example"
PORT = int(os.environ.get("OOMNITZA_SANDBOX_PORT", "8765"))
SANDBOX = f"http://127.0.0.1:{PORT}"
UI_PORT = int(os.environ.get("OOMNITZA_DEMO_UI_PORT", "8080"))
TOKEN = "sandbox-token"
SECTIONS = ("csv_assets", "csv_users")
BIN = Path(sys.executable).parent
GRACE_SECONDS = 5.0


def parallelism() -> int:
    """Task processes at once: one per core (at least 2), not Airflow's default 32."""
    return max(2, os.cpu_count() or 2)


def airflow_env(api_port: int | None = None) -> dict[str, str]:
    env = dict(
        os.environ,
        AIRFLOW_HOME=str(AIRFLOW_HOME),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__PARALLELISM=str(parallelism()),
        AIRFLOW__API__WORKERS="1",
        # Task processes report to the API server, which writes to SQLite: on a small, busy machine an
        # answer can take longer than the default 5 s.
        AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT="30",
        AIRFLOW__LOGGING__BASE_LOG_FOLDER=str(TASK_LOGS),
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    env.pop("OOMNITZA_INI", None)  # the demo's config.ini is $AIRFLOW_HOME/oomnitza/config.ini
    env.pop("OOMNITZA_STORAGE", None)
    if api_port:
        env["AIRFLOW__API__PORT"] = str(api_port)
        env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"http://localhost:{api_port}/execution/"
    return env


def say(message: str) -> None:
    print(message, flush=True)


# -- processes -------------------------------------------------------------------------------------
class Stop(Exception):
    """SIGTERM or SIGHUP: stop like Ctrl-C."""


def _raise_stop(signum, frame):
    raise Stop(signal.Signals(signum).name)


def start(cmd: list[str], log: Path | str, env: dict | None = None) -> subprocess.Popen:
    """Start ``cmd`` in its own process group (so Ctrl-C reaches the demo, which stops it in order)."""
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        return subprocess.Popen(cmd, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def stop(proc: subprocess.Popen | None, grace: float = GRACE_SECONDS) -> None:
    """Stop a process started by ``start`` and everything it started: SIGTERM to its group and its
    descendants, SIGKILL to whatever is left after ``grace`` seconds."""
    if proc is None:
        return
    import psutil

    family = []
    if proc.poll() is None:  # once reaped, its pid may belong to someone else: only its group is signalled
        try:
            leader = psutil.Process(proc.pid)
            family = [leader, *leader.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
    descendants = family[1:]  # the leader is reaped by proc.wait, so its exit status stays known
    _signal_all(proc.pid, family, signal.SIGTERM)
    deadline = time.monotonic() + grace
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    _, alive = psutil.wait_procs(descendants, timeout=max(0.0, deadline - time.monotonic()))
    if proc.poll() is None or alive or _group_alive(proc.pid):
        _signal_all(proc.pid, [*alive, *family[:1]] if proc.poll() is None else alive, signal.SIGKILL)
        proc.wait()
        psutil.wait_procs(alive, timeout=grace)


def _signal_all(pgid: int, processes, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    for process in processes:
        try:
            process.send_signal(sig)
        except Exception:  # gone already
            pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def supervise(cmd: list[str], log: Path | None = None, env: dict | None = None) -> int:
    """Run ``cmd`` (its output to the terminal, or to ``log``) until it ends, or until Ctrl-C or
    SIGTERM, which stop it and all it started."""
    if log is None:
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdin=subprocess.DEVNULL, start_new_session=True)
    else:
        proc = start(cmd, log, env)
    try:
        return proc.wait()
    except (KeyboardInterrupt, Stop):
        say(f"\nStopping {Path(cmd[0]).name} {' '.join(cmd[1:2])} and everything it started ...")
        stop(proc)
        return 130
    finally:
        stop(proc)


def run(cmd: list[str], log_name: str, env: dict | None = None) -> int:
    """One airflow command to completion, its output in demo/logs/<log_name>."""
    return supervise(cmd, COMMAND_LOGS / log_name, env or airflow_env())


def airflow(*args: str) -> list[str]:
    return [str(BIN / "airflow"), *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, what: str, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    sys.exit(f"{what} did not start (see {log})")


# -- setup -----------------------------------------------------------------------------------------
def write_config() -> None:
    INI.parent.mkdir(parents=True, exist_ok=True)
    template = (EXAMPLE / "config.ini").read_text()
    INI.write_text(template.format(sandbox_url=SANDBOX, example_dir=EXAMPLE))


def sandbox_running() -> bool:
    try:
        return requests.get(f"{SANDBOX}/_sim/stats", timeout=1).ok
    except requests.RequestException:
        return False


def start_sandbox() -> subprocess.Popen | None:
    """Start the sandbox (data kept in demo/sandbox.sqlite), unless one already answers on the port."""
    if sandbox_running():
        say(f"Using the Oomnitza sandbox already running at {SANDBOX}")
        return None
    proc = start([sys.executable, "-m", "tests.simulators.oomnitza", "--port", str(PORT),
                  "--db", str(DEMO / "sandbox.sqlite")], DEMO / "sandbox.log")
    for _ in range(100):
        if sandbox_running():
            say(f"Oomnitza sandbox started at {SANDBOX} (pid {proc.pid})")
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    stop(proc)
    sys.exit(f"The sandbox did not start on port {PORT} (see {DEMO / 'sandbox.log'}); "
             "set OOMNITZA_SANDBOX_PORT to a free port")


def migrate() -> None:
    say(f"Airflow home: {AIRFLOW_HOME} (SQLite); config: {INI}")
    say("Preparing Airflow's database ...")
    if run(airflow("db", "migrate"), "db-migrate.log"):
        sys.exit(f"airflow db migrate failed; see {COMMAND_LOGS / 'db-migrate.log'}")


def unpause(dag_ids: list[str], reserialize: bool) -> None:
    """Unpause the demo's DAGs (a trigger then runs instead of sitting queued); ``reserialize`` first
    puts them in the database if no run has yet."""
    if reserialize and run(airflow("dags", "reserialize"), "dags-reserialize.log"):
        sys.exit(f"airflow dags reserialize failed; see {COMMAND_LOGS / 'dags-reserialize.log'}")
    pattern = "^(" + "|".join(dag_ids) + ")$"
    if run(airflow("dags", "unpause", "--treat-dag-id-as-regex", "-y", pattern), "dags-unpause.log"):
        sys.exit(f"airflow dags unpause failed; see {COMMAND_LOGS / 'dags-unpause.log'}")
    say(f"DAGs unpaused: {', '.join(dag_ids)}")


def task_log_folder(dag_id: str) -> Path | None:
    """The newest run's task log folder of a DAG."""
    runs = sorted((TASK_LOGS / f"dag_id={dag_id}").glob("run_id=*"), key=lambda p: p.stat().st_mtime)
    return runs[-1] if runs else None


def latest_report(dag_id: str) -> dict | None:
    runs = sorted((AIRFLOW_HOME / "oomnitza" / "runs" / dag_id).glob("*/report.json"),
                  key=lambda p: p.stat().st_mtime)
    return json.loads(runs[-1].read_text()) if runs else None


def show(kind: str) -> None:
    records = requests.get(f"{SANDBOX}/api/v3/{kind}", headers={"Authorization2": TOKEN},
                           params={"limit": 100}, timeout=10).json()
    say(f"\n{len(records)} {kind} in the Oomnitza sandbox:")
    if not records:
        return
    fields = [f for f in records[0] if f != "uid"]
    widths = {f: max(len(f), *(len(str(r.get(f, ""))) for r in records)) for f in fields}
    say("  " + "  ".join(f.ljust(widths[f]) for f in fields))
    for record in records:
        say("  " + "  ".join(str(record.get(f, "")).ljust(widths[f]) for f in fields))


# -- the two modes ---------------------------------------------------------------------------------
def demo(sections: tuple[str, ...] = SECTIONS) -> int:
    dag_ids = [dag_id_for(s) for s in sections]
    DEMO.mkdir(parents=True, exist_ok=True)
    write_config()
    sandbox = api = None
    try:
        sandbox = start_sandbox()
        migrate()
        api_port = free_port()
        env = airflow_env(api_port)
        say(f"Starting Airflow's API server on port {api_port} (the executor's tasks report to it) ...")
        api_log = COMMAND_LOGS / "api-server.log"
        api = start(airflow("api-server", "--port", str(api_port)), api_log, env)
        wait_for(f"http://localhost:{api_port}/api/v2/version", api, "The API server", api_log)
        for dag_id in dag_ids:
            say(f"Running {dag_id} through Airflow's executor (`airflow dags test --use-executor`) ...")
            code = run(airflow("dags", "test", "--use-executor", dag_id), f"{dag_id}.log", env)
            report = latest_report(dag_id)
            if code or report is None:
                sys.exit(f"{dag_id} failed; see {COMMAND_LOGS / (dag_id + '.log')} and the task logs under "
                         f"{TASK_LOGS / ('dag_id=' + dag_id)}")
            say(f"  extracted {report['extracted']}, mapped {report['mapped']}, filtered out "
                f"{report['filtered']}, missing required fields {report['missing']}, pushed {report['pushed']}, "
                f"added {report.get('oomnitza_added', 0)}, updated {report.get('oomnitza_updated', 0)}, "
                f"unchanged {report.get('oomnitza_unchanged', 0)}, failed {report.get('oomnitza_failed', 0)}")
            say(f"  task logs: {task_log_folder(dag_id)}")
        unpause(dag_ids, reserialize=False)
        show("assets")
        show("users")
    except (KeyboardInterrupt, Stop):
        say("\nInterrupted; stopping what the demo started ...")
        return 130
    finally:
        stop(api)
        stop(sandbox)
    say(f"""
Done. Task logs (as the UI shows them): {TASK_LOGS}/dag_id=<dag>/run_id=<run>/task_id=<task>/
Run folders: {AIRFLOW_HOME / 'oomnitza' / 'runs'}. The DAGs are unpaused.
To see the same setup in the Airflow UI (run history, logs, trigger form):
    make demo-ui        # starts the sandbox and `airflow standalone` on http://localhost:{UI_PORT}
""")
    return 0


def ui(sections: tuple[str, ...] = SECTIONS) -> int:
    dag_ids = [dag_id_for(s) for s in sections]
    DEMO.mkdir(parents=True, exist_ok=True)
    write_config()
    sandbox = None
    try:
        sandbox = start_sandbox()
        migrate()
        unpause(dag_ids, reserialize=True)
        say(f"Starting `airflow standalone` with AIRFLOW_HOME={AIRFLOW_HOME} ({parallelism()} task processes).\n"
            f"Open http://localhost:{UI_PORT} ; the admin password is printed below and kept in "
            f"{AIRFLOW_HOME / 'simple_auth_manager_passwords.json.generated'}.\n"
            f"Task logs: {TASK_LOGS}. Trigger a run from the UI, or: "
            f"AIRFLOW_HOME={AIRFLOW_HOME} airflow dags trigger {dag_ids[0]}\n"
            "Ctrl-C stops Airflow and the sandbox.")
        return supervise(airflow("standalone"), env=airflow_env(UI_PORT))
    except (KeyboardInterrupt, Stop):
        return 130
    finally:
        stop(sandbox)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ui", action="store_true", help="run airflow standalone on the demo setup")
    parser.add_argument("--clean", action="store_true", help="remove the demo folder first")
    parser.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=SECTIONS,
                        help="the sample sections to run (default: both)")
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C, even if started with SIGINT ignored
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGHUP, _raise_stop)
    if args.clean and DEMO.exists():
        shutil.rmtree(DEMO)
    sections = tuple(args.sections)
    return ui(sections) if args.ui else demo(sections)


if __name__ == "__main__":
    sys.exit(main())
