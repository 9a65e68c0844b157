"""Fixtures of the sync view tests: demo sections and runs, and Airflow users of each kind.

Users (simple auth manager, ``[core] simple_auth_manager_users``): ``admin`` (Admin), ``viewer``
(Viewer: may read every DAG) and ``nobody`` (no role: may read nothing); passwords are set in
the passwords file the simple auth manager reads.
"""
import json
import os

import pytest

USERS = "admin:admin,viewer:viewer,nobody:"
PASSWORDS = {"admin": "admin-pw-1", "viewer": "viewer-pw-2", "nobody": "nobody-pw-3"}


@pytest.fixture(scope="module")
def auth_env(tmp_path_factory):
    """Simple auth manager users with known passwords (environment of this process, restored after)."""
    folder = tmp_path_factory.mktemp("auth")
    passwords = folder / "passwords.json"
    passwords.write_text(json.dumps(PASSWORDS))
    env = {
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": USERS,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": "sync-view-test-secret-" + "0123456789abcdef" * 4,
        "AIRFLOW__API__SECRET_KEY": "sync-view-test-key",
    }
    with _patched_env(env):
        yield env


@pytest.fixture(scope="module")
def demo_runs(airflow_db, tmp_path_factory):
    """The demo sections in Airflow's DB and two weeks of runs with their files; removed after."""
    from tests.ui import demo_data

    folder = tmp_path_factory.mktemp("syncview")
    env = {"OOMNITZA_STORAGE": f"file://{folder / 'runs'}", "OOMNITZA_INI": str(folder / "config.ini")}
    with _patched_env(env):
        ini = demo_data.write_config(folder / "config.ini")
        dag_ids = demo_data.register_dags(ini)
        last = demo_data.demo_history()
        yield {"dag_ids": dag_ids, "last": last, "storage": folder / "runs", "ini": ini}
        _remove_runs(list(last))


def _remove_runs(dag_ids):
    from sqlalchemy import delete

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        session.execute(delete(DagRun).where(DagRun.dag_id.in_(dag_ids)))


class _patched_env:
    def __init__(self, values):
        self.values = values
        self.saved = {}

    def __enter__(self):
        for key, value in self.values.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value
        return self

    def __exit__(self, *exc):
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
