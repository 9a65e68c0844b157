"""The DAG factory: one DAG per enabled section, cheap and offline at parse time."""
import socket

import pytest

from airflow_provider_oomnitza.dag_factory import create_dags, dag_id_for
from tests.conftest import REPO

OOMNITZA = "[oomnitza]\nurl = https://acme.oomnitza.com\napi_token = s3cret-oomnitza-token\nschedule = @daily\n\n"
CASPER = ("enable = true\nusername = auditor\npassword = jamf-pa55word\nsync_field = SERIAL\n"
          'mapping.SERIAL = {"source": "general.serial_number"}\n')


@pytest.fixture
def ini(tmp_path, monkeypatch):
    path = tmp_path / "config.ini"
    monkeypatch.setenv("OOMNITZA_INI", str(path))
    return path


def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_dag_ids_keep_the_suffix_readable():
    assert dag_id_for("casper") == "oomnitza_casper"
    assert dag_id_for("casper.MDM") == "oomnitza_casper_MDM"
    assert dag_id_for("ldap.Contractors EU") == "oomnitza_ldap_Contractors_EU"


def test_one_dag_per_enabled_section_with_its_settings(ini):
    ini.write_text(OOMNITZA + f"[casper]\n{CASPER}schedule = 0 6 * * *\n\n[casper.MDM]\n{CASPER}"
                   "sync_type = mobiledevices\n\n[okta]\nenable = false\napi_token = t\ndefault_role = 1\n"
                   "default_position = E\n")
    bag = dagbag()
    assert not bag.import_errors
    assert sorted(bag.dag_ids) == ["oomnitza_casper", "oomnitza_casper_MDM"]
    casper, mdm = bag.dags["oomnitza_casper"], bag.dags["oomnitza_casper_MDM"]
    assert casper.max_active_runs == 1
    # Jamf sections also run on their webhook asset (docs/webhooks.md): cron or asset
    assert casper.timetable.timetable.expression == "0 6 * * *" and mdm.timetable.timetable.expression == "0 0 * * *"
    assert casper.tags == {"oomnitza", "casper", "assets"}
    assert set(casper.params.keys()) == {"testmode", "record_count", "save_data", "workers", "devices"}
    assert casper.params["record_count"] == 0 and casper.params["testmode"] is False
    assert [t.task_id for t in casper.tasks] == ["extract", "map", "push", "report"]
    assert casper.task_dict["report"].trigger_rule == "all_done"
    assert casper.task_dict["push"].max_active_tis_per_dagrun == 4  # [oomnitza] parallel_chunks
    assert '"source": "general.serial_number"' in casper.doc_md and "Casper.MDM" in mdm.doc_md
    for secret in ("jamf-pa55word", "s3cret-oomnitza-token"):
        assert secret not in casper.doc_md
    assert "| `password` | `***` |" in casper.doc_md


def test_no_schedule_unless_configured(ini):
    ini.write_text(OOMNITZA.replace("schedule = @daily\n", "") + f"[casper]\n{CASPER}")
    timetable = dagbag().dags["oomnitza_casper"].timetable
    assert type(timetable).__name__ == "AssetTriggeredTimetable"  # webhook events only, no time schedule


def test_a_broken_section_is_an_import_error_and_healthy_sections_keep_their_dags(ini):
    ini.write_text(OOMNITZA + f"[casper]\n{CASPER}\n[casper.broken]\n{CASPER}verify_ssl = TRUE1\n\n"
                   "[okta]\nenable = 1\napi_token = t\ndefault_role = 1\ndefault_position = E\n"
                   "schedule = every day\n")
    bag = dagbag()
    assert bag.dag_ids == ["oomnitza_casper"]
    [(path, error)] = bag.import_errors.items()
    assert path.endswith("oomnitza_config_check.py")
    assert f"{ini}:19: [casper.broken] verify_ssl: expected true/false" in error
    assert f"{ini}:26: [okta] schedule: expected a cron expression" in error


def test_a_missing_ini_is_one_clear_import_error(ini):
    bag = dagbag()
    assert bag.dag_ids == []
    [error] = bag.import_errors.values()
    assert f"{ini}: config file not found" in error


def test_loading_the_dag_file_makes_no_network_connection(ini, monkeypatch):
    ini.write_text(OOMNITZA + f"[casper]\n{CASPER}\n[csv_assets]\nenable = 1\nfilename = /x.csv\nsync_field = S\n"
                   'mapping.S = {"source": "s"}\n')
    attempts = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise OSError("network access during DAG parsing")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a[0]))
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: refuse(None, a[0]))
    dags = create_dags()
    assert sorted(dags) == ["oomnitza_casper", "oomnitza_csv_assets"]
    assert attempts == []


def test_only_the_dag_a_worker_asks_for_is_built(ini, monkeypatch):
    ini.write_text(OOMNITZA + f"[casper]\n{CASPER}\n[casper.MDM]\n{CASPER}")
    from airflow.sdk.definitions.context import _AIRFLOW_PARSING_CONTEXT_DAG_ID

    monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, "oomnitza_casper_MDM")
    assert list(create_dags()) == ["oomnitza_casper_MDM"]


def test_parsing_imports_no_hook_or_client_library(ini):
    """The DAG file is parsed often: hooks and their client libraries load only when a task runs."""
    import subprocess
    import sys

    ini.write_text(OOMNITZA + f"[casper]\n{CASPER}\n[csv_assets]\nenable = 1\nfilename = /x.csv\nsync_field = S\n"
                   'mapping.S = {"source": "s"}\n')
    code = (
        "import sys, runpy\n"
        f"runpy.run_path({str(REPO / 'dags' / 'oomnitza.py')!r})\n"
        "heavy = ['requests', 'aiohttp', 'requests_oauthlib', 'ldap3', 'zeep', 'hvac',\n"
        "         'airflow.providers.http.hooks.http', 'airflow_provider_oomnitza.hooks.jamf',\n"
        "         'airflow_provider_oomnitza.hooks.oomnitza', 'airflow_provider_oomnitza.hooks.files']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
