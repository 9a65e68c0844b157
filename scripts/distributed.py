"""Airflow distributed, natively: the topology of docker-compose.airflow.yml as plain processes.

    python scripts/distributed.py --ini /path/to/config.ini            # up until Ctrl-C
    python scripts/distributed.py --ini config.ini --workers 3 --keep-db

Metadata database: a database of its own on a PostgreSQL server (created here, dropped on exit).
Executor: CeleryExecutor with a Redis server as broker (one Redis DB number; only that one is
flushed). Components, each a real process in its own process group and with its own
AIRFLOW_HOME (as if each ran on its own machine): api-server, scheduler, dag-processor,
triggerer and N Celery workers. What they share is what separate machines would share:

* the configuration, as environment variables (executor, database, broker, execution API URL,
  JWT secret, API secret key, fernet key: set once here, identical everywhere);
* the DAGs folder (this repo's ``dags/`` unless ``--dags-folder``) and the INI at one path;
* the run storage (``OOMNITZA_STORAGE``; a shared directory here, ``s3://...`` across hosts).

Workers run on one host here, so each gets its own name through ``[core] hostname_callable``
(:func:`worker_hostname`), which Airflow records as the task instance's ``hostname``.

Used by tests/integration/test_distributed.py through :class:`Cluster`.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORKER_NAME_VAR = "OOMNITZA_WORKER_NAME"


def worker_hostname() -> str:
    """``[core] hostname_callable`` for several workers on one host: the name this process was given."""
    return os.environ.get(WORKER_NAME_VAR) or socket.getfqdn()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ClusterSettings:
    workdir: Path
    ini_path: Path
    dags_folder: Path = REPO / "dags"
    plugins_folder: Path = REPO / "plugins"
    storage_url: str = ""  # default: file://<workdir>/runs
    workers: int = 2
    worker_concurrency: int = 2
    postgres_url: str = "postgresql://postgres@127.0.0.1:5432"
    db_name: str = field(default_factory=lambda: f"oomnitza_dist_{secrets.token_hex(4)}")
    redis_url: str = "redis://127.0.0.1:6379"
    redis_db: int = 13
    api_port: int = 0  # 0: a free port
    username: str = "admin"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    # Seconds without a heartbeat before the scheduler fails a task whose worker died (Airflow: 300).
    heartbeat_timeout: int = 300
    stop_grace: float = 20  # seconds between SIGTERM and SIGKILL on stop
    extra_env: dict[str, str] = field(default_factory=dict)
    # per component (e.g. {"worker2": {"OOMNITZA_INI": ...}}): a machine configured differently
    component_env: dict[str, dict[str, str]] = field(default_factory=dict)


class Cluster:
    """Creates the database, migrates, starts and stops every component; usable as a context manager."""

    def __init__(self, settings: ClusterSettings):
        self.s = settings
        self.s.workdir.mkdir(parents=True, exist_ok=True)
        if not self.s.api_port:
            self.s.api_port = free_port()
        if not self.s.storage_url:
            self.s.storage_url = f"file://{self.s.workdir / 'runs'}"
        self.procs: dict[str, subprocess.Popen] = {}
        self._database_created = False
        self._shared = self._shared_env()

    # -- configuration ------------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.s.api_port}"

    @property
    def sql_alchemy_conn(self) -> str:
        return f"{self.s.postgres_url.replace('postgresql://', 'postgresql+psycopg2://')}/{self.s.db_name}"

    @property
    def worker_names(self) -> list[str]:
        return [f"worker{i + 1}" for i in range(self.s.workers)]

    def _shared_env(self) -> dict[str, str]:
        """The configuration every component gets; the secrets are made once, here."""
        from cryptography.fernet import Fernet

        passwords = self.s.workdir / "simple_auth_manager_passwords.json"
        passwords.write_text(json.dumps({self.s.username: self.s.password}))
        passwords.chmod(0o600)
        return {
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.sql_alchemy_conn,
            "AIRFLOW__CELERY__BROKER_URL": f"{self.s.redis_url}/{self.s.redis_db}",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.sql_alchemy_conn,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
            "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.s.dags_folder),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(self.s.plugins_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__AUTH_MANAGER":
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.s.username}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "scripts.distributed.worker_hostname",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(self.s.heartbeat_timeout),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "OOMNITZA_INI": str(self.s.ini_path),
            "OOMNITZA_STORAGE": self.s.storage_url,
            **self.s.extra_env,
        }

    def env(self, component: str) -> dict[str, str]:
        """The environment of one component: the shared configuration plus its own home and ports."""
        home = self.s.workdir / component
        home.mkdir(exist_ok=True)
        pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        env.update(self._shared)
        env.update(
            AIRFLOW_HOME=str(home),
            PYTHONPATH=pythonpath,
            PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            # One host, several "machines": every log server needs a port of its own.
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
        )
        env[WORKER_NAME_VAR] = component
        env.update(self.s.component_env.get(component, {}))
        return env

    # -- database and broker ------------------------------------------------------------------------
    def _admin(self):
        import psycopg2

        conn = psycopg2.connect(f"{self.s.postgres_url}/postgres")
        conn.autocommit = True
        return conn

    def create_database(self) -> None:
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{self.s.db_name}"')
        finally:
            conn.close()
        self._database_created = True

    def drop_database(self) -> None:
        if not self._database_created:
            return
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{self.s.db_name}" WITH (FORCE)')
        finally:
            conn.close()
        self._database_created = False

    def flush_broker(self) -> None:
        import redis

        client = redis.Redis.from_url(f"{self.s.redis_url}/{self.s.redis_db}")
        try:
            client.flushdb()
        finally:
            client.close()

    def migrate(self) -> None:
        log = self.log_path("db-migrate")
        with log.open("w") as fh:
            code = subprocess.call([str(BIN / "airflow"), "db", "migrate"], env=self.env("migrate"),
                                   stdout=fh, stderr=subprocess.STDOUT, cwd=self.s.workdir)
        if code:
            raise RuntimeError(f"airflow db migrate failed (exit {code}); see {log}")

    # -- processes ----------------------------------------------------------------------------------
    def commands(self) -> dict[str, list[str]]:
        airflow = str(BIN / "airflow")
        commands = {
            "api-server": [airflow, "api-server", "--host", "127.0.0.1", "--port", str(self.s.api_port),
                           "--workers", "1"],
            "scheduler": [airflow, "scheduler"],
            "dag-processor": [airflow, "dag-processor"],
            "triggerer": [airflow, "triggerer"],
        }
        for name in self.worker_names:
            commands[name] = [airflow, "celery", "worker", "--celery-hostname", f"{name}@%h",
                              "--concurrency", str(self.s.worker_concurrency), "--queues", "default",
                              "--without-mingle", "--without-gossip"]
        return commands

    def log_path(self, component: str) -> Path:
        path = self.s.workdir / "logs" / f"{component}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def start_component(self, name: str) -> subprocess.Popen:
        command = self.commands()[name]
        with self.log_path(name).open("a") as log:
            proc = subprocess.Popen(command, env=self.env(name), stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, cwd=self.s.workdir, start_new_session=True)
        self.procs[name] = proc
        return proc

    def start(self) -> None:
        for name in self.commands():
            self.start_component(name)

    def up(self, timeout: float = 180) -> None:
        """Database, broker, migration, every component; returns when the API and workers answer."""
        self.create_database()
        self.flush_broker()
        self.migrate()
        self.start()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 180) -> None:
        import requests

        deadline = time.monotonic() + timeout
        pending = {"api-server", *self.worker_names}
        while pending:
            self.check_alive()
            if "api-server" in pending:
                try:
                    if requests.get(f"{self.api_url}/api/v2/version", timeout=2).ok:
                        pending.discard("api-server")
                except requests.RequestException:
                    pass
            for name in [n for n in pending if n in self.worker_names]:
                if " ready." in self.log_path(name).read_text(errors="replace"):
                    pending.discard(name)
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout:.0f} s: {', '.join(sorted(pending))}; "
                                   f"logs in {self.log_path('x').parent}")
            time.sleep(0.5)

    def check_alive(self, *names: str) -> None:
        for name in names or list(self.procs):
            code = self.procs[name].poll()
            if code is not None:
                raise RuntimeError(f"{name} exited with {code}; see {self.log_path(name)}")

    def token(self) -> str:
        """A JWT for the REST API, as Airflow 3 hands it out (POST /auth/token)."""
        import requests

        response = requests.post(f"{self.api_url}/auth/token",
                                 json={"username": self.s.username, "password": self.s.password}, timeout=30)
        response.raise_for_status()
        return response.json()["access_token"]

    def process_tree(self, name: str) -> list:
        """The component's process and every descendant (task processes have process groups of their own)."""
        import psutil

        try:
            root = psutil.Process(self.procs[name].pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the component and all its descendants at once, as a host that dies would."""
        for proc in self.process_tree(name):
            try:
                proc.send_signal(sig)
            except Exception:  # already gone
                pass
        try:
            os.killpg(self.procs[name].pid, sig)
        except ProcessLookupError:
            pass
        self.procs[name].wait(30)

    def stop_components(self, names: list[str], grace: float | None = None) -> None:
        """SIGTERM to every process group at once, then SIGKILL whatever of their trees is left."""
        import psutil

        trees = [proc for name in names for proc in self.process_tree(name)]
        for name in names:
            if self.procs[name].poll() is None:
                try:
                    os.killpg(self.procs[name].pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        _, alive = psutil.wait_procs(trees, timeout=self.s.stop_grace if grace is None else grace)
        for leftover in alive:
            try:
                leftover.kill()
            except psutil.NoSuchProcess:
                pass
        for name in names:
            try:
                os.killpg(self.procs[name].pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.procs[name].wait(30)

    def stop(self) -> None:
        """Stop every component, then drop the database and flush the broker's Redis DB."""
        errors = []
        try:
            self.stop_components(list(self.procs))
        except Exception as exc:
            errors.append(f"stopping components: {exc}")
        try:
            self.drop_database()
        except Exception as exc:
            errors.append(f"drop database {self.s.db_name}: {exc}")
        try:
            self.flush_broker()
        except Exception as exc:
            errors.append(f"flush redis db {self.s.redis_db}: {exc}")
        if errors:
            raise RuntimeError("cleanup problems: " + "; ".join(errors))

    def __enter__(self) -> "Cluster":
        try:
            self.up()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ini", required=True, type=Path, help="the config.ini every component reads")
    parser.add_argument("--workdir", type=Path, help="homes, logs and run storage (default: a temp dir)")
    parser.add_argument("--dags-folder", type=Path, default=REPO / "dags")
    parser.add_argument("--storage", default="", help="run storage URL (default: file://<workdir>/runs)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4, help="task slots per worker")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--port", type=int, default=8080, help="API server port")
    parser.add_argument("--keep-db", action="store_true", help="keep the metadata database on exit")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="oomnitza-distributed-"))
    settings = ClusterSettings(workdir=workdir.resolve(), ini_path=args.ini.resolve(),
                               dags_folder=args.dags_folder.resolve(), storage_url=args.storage,
                               workers=args.workers, worker_concurrency=args.concurrency,
                               postgres_url=args.postgres, redis_url=args.redis, redis_db=args.redis_db,
                               api_port=args.port)
    cluster = Cluster(settings)
    print(f"Starting in {workdir}: database {settings.db_name}, broker {settings.redis_url}/{settings.redis_db}")
    stop = False

    def on_signal(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    try:
        cluster.up()
        print(f"Airflow UI and API: {cluster.api_url}  (user {settings.username}, password {settings.password})\n"
              f"components: {', '.join(cluster.procs)}; logs in {workdir / 'logs'}; Ctrl-C stops everything")
        while not stop:
            cluster.check_alive()
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        if args.keep_db:
            cluster._database_created = False
            print(f"Keeping database {settings.db_name}")
        cluster.stop()
        print("Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
