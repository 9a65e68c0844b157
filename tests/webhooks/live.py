"""Real Airflow processes for the webhook integration test: api-server, scheduler and dag-processor
(LocalExecutor) on a throw-away PostgreSQL database, the Jamf and Oomnitza simulators as processes.

Everything is started in its own process group and stopped (and the database dropped) by
``close()``, also when start-up fails half way.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import REPO
from tests.simulators.base import SimulatorProcess

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
WEBHOOK_USER, WEBHOOK_PASSWORD = "jamf-webhooks", "live-test-" + secrets.token_hex(8)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _admin(sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(PG_ADMIN)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


class LiveAirflow:
    def __init__(self, tmp: Path, computers: int, jamf_args: tuple[str, ...] = ()):
        self.tmp = tmp
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.sims: list[SimulatorProcess] = []
        self.db = f"oomnitza_webhook_it_{os.getpid()}_{secrets.token_hex(3)}"
        self.db_created = False
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.jamf_args = ("--computers", str(computers), "--mobile-devices", "5", *jamf_args)
        self._token = None

    # -- set-up ----------------------------------------------------------------------------------
    def start(self) -> "LiveAirflow":
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        self.jamf = SimulatorProcess("tests.simulators.jamf", *self.jamf_args, cwd=str(REPO))
        self.sims.append(self.jamf)
        self.oomnitza = SimulatorProcess("tests.simulators.oomnitza", cwd=str(REPO))
        self.sims.append(self.oomnitza)
        from tests.simulators.jamf import DEFAULT_ACCOUNTS

        user, password = next(iter(DEFAULT_ACCOUNTS.items()))
        self.ini = self.tmp / "config.ini"
        self.ini.write_text(
            # task retries, as in production: a task process that cannot reach the overloaded API
            # server is retried instead of failing its run
            f"[oomnitza]\nurl = {self.oomnitza.url}\napi_token = sandbox-token\nretries = 2\nretry_delay = 5\n\n"
            f"[casper]\nenable = true\nurl = {self.jamf.url}\nusername = {user}\npassword = {password}\n"
            "sync_field = SERIAL_NUMBER\nuse_server_map = false\n")
        _admin(f'CREATE DATABASE "{self.db}"')
        self.db_created = True
        home = self.tmp / "airflow"
        home.mkdir()
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://postgres@127.0.0.1:5432/{self.db}",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "OOMNITZA_INI": str(self.ini),
            "OOMNITZA_STORAGE": f"file://{self.tmp / 'runs'}",
            "AIRFLOW_CONN_OOMNITZA_WEBHOOK": json.dumps(
                {"conn_type": "http", "login": WEBHOOK_USER, "password": WEBHOOK_PASSWORD}),
        }
        for key in ("OOMNITZA_WEBHOOK_MAX_BODY", "AIRFLOW__OOMNITZA__WEBHOOK_MAX_BODY"):
            self.env.pop(key, None)
        self.airflow("db", "migrate", timeout=600)
        for component in ("api-server", "scheduler", "dag-processor"):
            self._spawn(component)
        self._wait(lambda: requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).ok, 180, "the API server")

    def _spawn(self, component: str) -> None:
        log = open(self.tmp / f"{component}.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "airflow", component], env=self.env, cwd=str(self.tmp),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((component, proc))

    def airflow(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run([sys.executable, "-m", "airflow", *args], env=self.env, cwd=str(self.tmp),
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def _wait(self, ready, seconds: float, what: str, interval: float = 1.0):
        deadline = time.monotonic() + seconds
        last = None
        while time.monotonic() < deadline:
            for name, proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.log_tail(name)}")
            try:
                value = ready()
                if value:
                    return value
            except (requests.RequestException, ValueError, KeyError) as exc:
                last = exc
            time.sleep(interval)
        raise TimeoutError(f"waited {seconds}s for {what} (last error: {last})")

    wait = _wait

    def log_tail(self, component: str, chars: int = 4000) -> str:
        path = self.tmp / f"{component}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    # -- Airflow REST ------------------------------------------------------------------------------
    def api(self, method: str, path: str, **kwargs):
        if self._token is None:
            self._token = requests.get(f"{self.url}/auth/token", timeout=10).json()["access_token"]
        response = requests.request(method, f"{self.url}/api/v2/{path}", timeout=30,
                                    headers={"Authorization": f"Bearer {self._token}"}, **kwargs)
        response.raise_for_status()
        return response.json()

    def runs(self, dag_id: str) -> list[dict]:
        return self.api("GET", f"dags/{dag_id}/dagRuns", params={"limit": 1000})["dag_runs"]

    # -- simulators --------------------------------------------------------------------------------
    def webhook_url(self, section: str = "casper") -> str:
        return f"{self.url}/oomnitza/webhook/{section}"

    def jamf_sends(self, event: str, device_id: int, section: str = "casper") -> dict:
        """Make the Jamf simulator POST a webhook to the plugin the way Jamf Pro does (Basic auth)."""
        response = requests.post(f"{self.jamf.url}/_sim/webhook", timeout=60, json={
            "url": self.webhook_url(section), "event": event, "device_id": device_id,
            "auth": {"username": WEBHOOK_USER, "password": WEBHOOK_PASSWORD}})
        response.raise_for_status()
        return response.json()

    def synced_serials(self) -> set[str]:
        rows = requests.get(f"{self.oomnitza.url}/api/v3/assets", params={"limit": 1000, "fields": "SERIAL_NUMBER"},
                            headers={"Authorization2": "sandbox-token"}, timeout=10).json()
        return {row.get("SERIAL_NUMBER") for row in rows}

    def run_log(self, portion: str) -> list[dict]:
        records, skip = [], 0
        while True:
            body = requests.get(f"{self.oomnitza.url}/api/v3/connector_run_logs/{portion}", timeout=10,
                                params={"limit": 1000, "skip": skip}, headers={"Authorization2": "sandbox-token"})
            if body.status_code == 404:
                return records
            page = body.json()["records"]
            records += page
            skip += len(page)
            if not page:
                return records

    # -- tear-down ---------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop the Airflow process groups, then the simulators, then drop the database; each step runs
        even if an earlier one fails."""
        try:
            self._stop_airflow()
        finally:
            try:
                for sim in self.sims:
                    sim.stop()
                self.sims.clear()
            finally:
                if self.db_created:
                    _admin(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
                    self.db_created = False

    def _stop_airflow(self) -> None:
        for name, proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name, proc in reversed(self.procs):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
        for name, proc in self.procs:  # whatever is left of each group, task runners included
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if proc.poll() is None:
                proc.wait(10)
        self.procs.clear()
