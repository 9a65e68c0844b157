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
    assert dag_id_for("casper") == "casper_sync"
    assert dag_id_for("casper.MDM") == "casper_MDM_sync"
    assert dag_id_for("ldap.Contractors EU") == "ldap_Contractors_EU_sync"


def test_sections_whose_dag_ids_collide_are_refused(ini):
    ini.write_text(OOMNITZA + f"[casper.MDM EU]\n{CASPER}\n[casper.MDM.EU]\n{CASPER}")
    bag = dagbag()
    assert bag.dag_ids == ["casper_MDM_EU_sync"]
    [error] = bag.import_errors.values()
    assert "[casper.MDM.EU]: its DAG id casper_MDM_EU_sync is the same as [casper.MDM EU]'s" in error


def test_one_dag_per_enabled_section_with_its_settings(ini):
    ini.write_text(OOMNITZA + f"[casper]\n{CASPER}schedule = 0 6 * * *\n\n[casper.MDM]\n{CASPER}"
                   "sync_type = mobiledevices\n\n[okta]\nenable = false\napi_token = t\ndefault_role = 1\n"
                   "default_position = E\n")
    bag = dagbag()
    assert not bag.import_errors
    assert sorted(bag.dag_ids) == ["casper_MDM_sync", "casper_sync"]
    casper, mdm = bag.dags["casper_sync"], bag.dags["casper_MDM_sync"]
    assert casper.max_active_runs == 1
    # Jamf sections also run on their webhook asset (docs/webhooks.md): cron or asset
    assert casper.timetable.timetable.expression == "0 6 * * *" and mdm.timetable.timetable.expression == "0 0 * * *"
    [fingerprint] = [t for t in casper.tags if t.startswith("ini:")]  # the section's (config/fingerprint.py)
    assert casper.tags == {"oomnitza", "casper", "assets", fingerprint} and fingerprint not in mdm.tags
    assert set(casper.params.keys()) == {"testmode", "record_count", "save_data", "workers", "retry_dead_letters",
                                         "full_sync", "devices"}
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
    timetable = dagbag().dags["casper_sync"].timetable
    assert type(timetable).__name__ == "AssetTriggeredTimetable"  # webhook events only, no time schedule


def test_a_broken_section_is_an_import_error_and_healthy_sections_keep_their_dags(ini):
    ini.write_text(OOMNITZA + f"[casper]\n{CASPER}\n[casper.broken]\n{CASPER}verify_ssl = TRUE1\n\n"
                   "[okta]\nenable = 1\napi_token = t\ndefault_role = 1\ndefault_position = E\n"
                   "schedule = every day\n")
    bag = dagbag()
    assert bag.dag_ids == ["casper_sync"]
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
    assert sorted(dags) == ["casper_sync", "csv_assets_sync"]
    assert attempts == []


def test_only_the_dag_a_worker_asks_for_is_built(ini, monkeypatch):
    ini.write_text(OOMNITZA + f"[casper]\n{CASPER}\n[casper.MDM]\n{CASPER}")
    from airflow.sdk.definitions.context import _AIRFLOW_PARSING_CONTEXT_DAG_ID

    monkeypatch.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, "casper_MDM_sync")
    assert list(create_dags()) == ["casper_MDM_sync"]


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


def test_a_sections_warnings_show_in_its_dag_docs_and_at_the_top_of_its_extract_log(sync_env, capsys):
    env = sync_env
    data = env.write("a.csv", "serial\nA1\n")
    env.write_ini(f"[csv_assets]\nenable = yes\nfilename = {data}\nsync_field = SN\nuse_server_map = no\n"
                  "mapping.SN = serial\nworkerz = 3\n\n[csv_assets.other]\nenable = yes\nfilename = x.csv\n"
                  "sync_field = SN\nmapping.SN = serial\n", oomnitza_extra="batch_sise = 10\n")
    bag = env.dagbag()
    own = f"{env.ini}:13: [csv_assets] workerz: unknown setting for csv_assets, ignored"
    oomnitza = f"{env.ini}:5: [oomnitza] batch_sise: unknown setting for oomnitza, ignored; did you mean 'batch_size'?"
    doc = bag.dags["csv_assets_sync"].doc_md
    assert "## Warnings from config.ini" in doc and own in doc and oomnitza in doc
    other = bag.dags["csv_assets_other_sync"].doc_md
    assert oomnitza in other and own not in other
    capsys.readouterr()
    assert env.run("csv_assets_sync").state == "success"
    log = capsys.readouterr().out
    assert f"config.ini: {own}" in log and f"config.ini: {oomnitza}" in log
    assert log.index(own) < log.index("Extracted 1 records")
