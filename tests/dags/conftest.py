"""Helpers for end-to-end DAG runs: write a config.ini, parse the dags folder, run with dag.test()."""
import json
from pathlib import Path

import pytest

from tests.conftest import REPO


class SyncEnv:
    def __init__(self, tmp_path: Path, sandbox, monkeypatch):
        self.tmp = tmp_path
        self.sandbox = sandbox
        self.ini = tmp_path / "config.ini"
        monkeypatch.setenv("OOMNITZA_INI", str(self.ini))
        monkeypatch.setenv("OOMNITZA_STORAGE", f"file://{tmp_path / 'runs'}")

    def write_ini(self, sections: str, oomnitza_extra: str = "") -> Path:
        self.ini.write_text(
            f"[oomnitza]\nurl = {self.sandbox.url}\napi_token = sandbox-token\nretries = 0\n{oomnitza_extra}\n"
            + sections
        )
        return self.ini

    def write(self, name: str, text: str) -> Path:
        path = self.tmp / name
        path.write_text(text, encoding="utf-8")
        return path

    def dagbag(self):
        from airflow.dag_processing.dagbag import DagBag

        return DagBag(dag_folder=str(REPO / "dags"))

    def run(self, dag_id: str, **conf):
        dag = self.dagbag().dags[dag_id]
        dag_run = dag.test(run_conf=conf or None)
        return dag_run

    def run_folder(self, dag_id: str, dag_run) -> Path:
        from airflow_provider_oomnitza.storage import _safe

        return self.tmp / "runs" / dag_id / _safe(dag_run.run_id)

    def report(self, dag_id: str, dag_run) -> dict:
        return json.loads((self.run_folder(dag_id, dag_run) / "report.json").read_text())


@pytest.fixture
def sync_env(tmp_path, oomnitza_sandbox, monkeypatch, airflow_db):
    return SyncEnv(tmp_path, oomnitza_sandbox, monkeypatch)
