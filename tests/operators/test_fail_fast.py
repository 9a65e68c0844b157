"""Errors no retry can fix fail the task at once (AirflowFailException) naming the INI file, line,
section and key; network errors, 429 and 5xx are raised as they are, for Airflow's task retries."""
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_oomnitza.bulk import OomnitzaError
from airflow_provider_oomnitza.hooks.http_client import HttpError
from airflow_provider_oomnitza.operators.extract import OomnitzaExtractOperator
from airflow_provider_oomnitza.operators.map import OomnitzaMapOperator
from tests.conftest import REPO


def context(run_id="manual__unit"):
    return {"dag": SimpleNamespace(dag_id="unit_dag"), "run_id": run_id, "params": {}, "ti": None}


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("OOMNITZA_STORAGE", f"file://{tmp_path / 'runs'}")
    return tmp_path


def write_ini(tmp_path: Path, text: str, url="http://127.0.0.1:9") -> str:
    ini = tmp_path / "config.ini"
    ini.write_text(f"[oomnitza]\nurl = {url}\napi_token = sandbox-token\n\n{text}")
    return str(ini)


CSV_SECTION = ("[csv_assets]\nenable = true\nfilename = {path}\nsync_field = SERIAL\nuse_server_map = no\n"
               'mapping.SERIAL = {{"source": "serial"}}\n')


def extract(ini: str, section="csv_assets") -> OomnitzaExtractOperator:
    return OomnitzaExtractOperator(task_id="extract", section=section, ini_path=ini)


def test_a_missing_csv_file_fails_at_once_naming_file_line_section_and_key(env):
    ini = write_ini(env, CSV_SECTION.format(path=env / "nope.csv"))
    with pytest.raises(AirflowFailException) as failed:
        extract(ini).execute(context())
    assert str(failed.value).startswith(f"{ini}:7: [csv_assets] filename: {env / 'nope.csv'} is not a file")


def test_refused_oomnitza_credentials_fail_at_once(env, oomnitza_sandbox):
    ini = write_ini(env, CSV_SECTION.format(path=env / "a.csv").replace("use_server_map = no", "use_server_map = yes"),
                    url=oomnitza_sandbox.url)
    Path(ini).write_text(Path(ini).read_text().replace("api_token = sandbox-token", "api_token = wrong-token"))
    (env / "a.csv").write_text("serial\nA1\n")
    with pytest.raises(AirflowFailException) as failed:
        extract(ini).execute(context())
    message = str(failed.value)
    assert message.startswith(f"{ini}:3: [oomnitza] api_token: Oomnitza refused the credentials (401)")
    assert "wrong-token" not in message


@pytest.mark.parametrize("status", [401, 403])
def test_a_source_refusing_credentials_fails_at_once(env, status):
    ini = write_ini(env, "[casper]\nenable = true\nurl = https://jamf.example.com\nusername = api\n"
                         "password = secret\nsync_field = SERIAL_NUMBER\n")
    op = extract(ini, "casper")
    error = op.no_retry_error(HttpError(f"Jamf Pro GET /api/v1/auth/token: {status} Unauthorized", status))
    assert isinstance(error, AirflowFailException)
    assert str(error).startswith(f"{ini}:9: [casper] password: the source refused the credentials ({status})")


@pytest.mark.parametrize("exc", [
    HttpError("Jamf Pro GET /x: gave up after 8 attempts: 503 Service Unavailable", 503),
    HttpError("Jamf Pro GET /x: gave up after 8 attempts: 429 Too Many Requests", 429),
    HttpError("Jamf Pro GET /x: cannot connect: Connection refused"),
    OomnitzaError("POST /api/v3/bulk: gave up after 8 attempts: 502 Bad Gateway", 502),
    OomnitzaError("cannot reach Oomnitza at https://x"),
    requests.ConnectionError("Connection refused"),
    TimeoutError("timed out"),
])
def test_network_errors_429_and_5xx_are_left_to_airflow_retries(env, exc):
    ini = write_ini(env, CSV_SECTION.format(path=env / "a.csv"))
    assert extract(ini).no_retry_error(exc) is None


def test_settings_errors_fail_at_once(env):
    ini = write_ini(env, CSV_SECTION.format(path=env / "a.csv") + "insert_only = maybe\n")
    with pytest.raises(AirflowFailException) as failed:
        extract(ini).execute(context())
    assert f"{ini}:11: [csv_assets] insert_only: expected true/false" in str(failed.value)


def test_an_unset_env_password_fails_at_once_naming_its_line(env, monkeypatch):
    monkeypatch.delenv("NO_SUCH_PASSWORD_VAR", raising=False)
    ini = write_ini(env, "[csv_assets]\nenable = true\nfilename = x.csv\nsync_field = SERIAL\n"
                         "env_password = NO_SUCH_PASSWORD_VAR\nuse_server_map = no\n"
                         'mapping.SERIAL = {"source": "serial"}\n')
    with pytest.raises(AirflowFailException) as failed:
        extract(ini).execute(context())
    assert str(failed.value).startswith(f"{ini}:9: [csv_assets] env_password: environment variable "
                                        "NO_SUCH_PASSWORD_VAR is not set")


def test_a_run_whose_files_are_gone_fails_at_once_saying_why(env):
    ini = write_ini(env, CSV_SECTION.format(path=env / "a.csv"))
    op = OomnitzaMapOperator(task_id="map", section="csv_assets", ini_path=ini, chunk={"chunk": 0})
    with pytest.raises(AirflowFailException) as failed:
        op.execute(context())
    assert "mappings.json is gone" in str(failed.value) and "keep_runs_days" in str(failed.value)


def test_the_docs_say_which_errors_fail_at_once():
    text = (REPO / "docs" / "pipeline.md").read_text()
    for phrase in ("AirflowFailException", "missing file", "401", "403", "429", "keep_runs_days",
                   "max_rejected", "Clear"):
        assert phrase in text, phrase
