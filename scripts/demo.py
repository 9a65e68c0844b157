"""A real sync, end to end, on the embedded default: Airflow on SQLite, the bundled sample
CSV files, and the local Oomnitza sandbox. Run it with ``make demo``.

    python scripts/demo.py          # migrate Airflow's DB, run both sample DAGs, show what arrived
    python scripts/demo.py --ui     # the same setup in the Airflow UI (airflow standalone)

Everything lives in ./demo: the Airflow home (SQLite DB, logs, config.ini under
oomnitza/), the sandbox's SQLite file and the run folders.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "demo"
AIRFLOW_HOME = DEMO / "airflow"
INI = AIRFLOW_HOME / "oomnitza" / "config.ini"
EXAMPLE = REPO / "airflow_provider_oomnitza" / "example"
PORT = int(os.environ.get("OOMNITZA_SANDBOX_PORT", "8765"))
SANDBOX = f"http://127.0.0.1:{PORT}"
TOKEN = "sandbox-token"
DAGS = ("csv_assets_sync", "csv_users_sync")
BIN = Path(sys.executable).parent


def airflow_env() -> dict[str, str]:
    return dict(
        os.environ,
        AIRFLOW_HOME=str(AIRFLOW_HOME),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )


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
        print(f"Using the Oomnitza sandbox already running at {SANDBOX}")
        return None
    log = (DEMO / "sandbox.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.simulators.oomnitza", "--port", str(PORT), "--db", str(DEMO / "sandbox.sqlite")],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
    )
    for _ in range(100):
        if sandbox_running():
            print(f"Oomnitza sandbox started at {SANDBOX} (pid {proc.pid})")
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    sys.exit(f"The sandbox did not start on port {PORT} (see {DEMO / 'sandbox.log'}); "
             "set OOMNITZA_SANDBOX_PORT to a free port")


def run(cmd: list[str], log_name: str) -> int:
    log = DEMO / "logs" / log_name
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as fh:
        return subprocess.run(cmd, env=airflow_env(), stdout=fh, stderr=subprocess.STDOUT, cwd=REPO).returncode


def latest_report(dag_id: str) -> dict | None:
    runs = sorted((DEMO / "airflow" / "oomnitza" / "runs" / dag_id).glob("*/report.json"),
                  key=lambda p: p.stat().st_mtime)
    return json.loads(runs[-1].read_text()) if runs else None


def show(kind: str) -> None:
    records = requests.get(f"{SANDBOX}/api/v3/{kind}", headers={"Authorization2": TOKEN},
                           params={"limit": 100}, timeout=10).json()
    print(f"\n{len(records)} {kind} in the Oomnitza sandbox:")
    if not records:
        return
    fields = [f for f in records[0] if f != "uid"]
    widths = {f: max(len(f), *(len(str(r.get(f, ""))) for r in records)) for f in fields}
    print("  " + "  ".join(f.ljust(widths[f]) for f in fields))
    for record in records:
        print("  " + "  ".join(str(record.get(f, "")).ljust(widths[f]) for f in fields))


def demo() -> int:
    DEMO.mkdir(exist_ok=True)
    write_config()
    sandbox = start_sandbox()
    try:
        print(f"Airflow home: {AIRFLOW_HOME} (SQLite); config: {INI}")
        if run([str(BIN / "airflow"), "db", "migrate"], "db-migrate.log"):
            sys.exit(f"airflow db migrate failed; see {DEMO / 'logs' / 'db-migrate.log'}")
        for dag_id in DAGS:
            print(f"Running {dag_id} with `airflow dags test` ...", flush=True)
            code = run([str(BIN / "airflow"), "dags", "test", dag_id], f"{dag_id}.log")
            report = latest_report(dag_id)
            if code or report is None:
                sys.exit(f"{dag_id} failed; see {DEMO / 'logs' / (dag_id + '.log')}")
            print(f"  extracted {report['extracted']}, mapped {report['mapped']}, filtered out "
                  f"{report['filtered']}, missing required fields {report['missing']}, pushed {report['pushed']}, "
                  f"added {report.get('oomnitza_added', 0)}, updated {report.get('oomnitza_updated', 0)}, "
                  f"unchanged {report.get('oomnitza_unchanged', 0)}, failed {report.get('oomnitza_failed', 0)}")
        show("assets")
        show("users")
    finally:
        if sandbox:
            sandbox.terminate()
    print(f"""
Done. Task logs: {AIRFLOW_HOME / 'logs'}; run folders: {AIRFLOW_HOME / 'oomnitza' / 'runs'}.
To see the same setup in the Airflow UI (run history, logs, trigger form):
    make demo-ui        # starts the sandbox and `airflow standalone` on http://localhost:8080
""")
    return 0


def ui() -> int:
    DEMO.mkdir(exist_ok=True)
    write_config()
    sandbox = start_sandbox()
    print(f"Starting `airflow standalone` with AIRFLOW_HOME={AIRFLOW_HOME}.\n"
          f"Open http://localhost:8080 ; the admin password is printed below and kept in "
          f"{AIRFLOW_HOME / 'simple_auth_manager_passwords.json.generated'}. Ctrl-C stops both.")
    try:
        return subprocess.call([str(BIN / "airflow"), "standalone"], env=airflow_env(), cwd=REPO)
    except KeyboardInterrupt:
        return 0
    finally:
        if sandbox:
            sandbox.terminate()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ui", action="store_true", help="run airflow standalone on the demo setup")
    parser.add_argument("--clean", action="store_true", help="remove ./demo first")
    args = parser.parse_args()
    if args.clean and DEMO.exists():
        shutil.rmtree(DEMO)
    return ui() if args.ui else demo()


if __name__ == "__main__":
    sys.exit(main())
