"""No secret anywhere: full runs of csv, okta and casper (Jamf) syncs with long random secrets from the INI, an
Airflow connection and Vault, plus the tokens the simulators issue at run time (Oomnitza session, Jamf bearer),
then every place a run writes is scanned: the Airflow home (metadata DB, log folder), XCom values, rendered
template fields, DAG docs, the run storage files and the console output of the runs (``dag.test()`` prints the
task logs there, unmasked) and of the CLI."""
import json
import secrets

import pytest
from airflow.sdk import Connection

from tests.dags.conftest import SyncEnv
from tests.dags.test_csv_sync import assets_section
from tests.leak_scan import assert_no_leaks
from tests.simulators import okta as ok
from tests.simulators.base import SimulatorThread
from tests.simulators.jamf import JamfState
from tests.simulators.jamf import build_app as jamf_app
from tests.simulators.oomnitza import OomnitzaState
from tests.simulators.oomnitza import build_app as oomnitza_app
from tests.simulators.vault import VaultState
from tests.simulators.vault import build_app as vault_app

DAGS = ("csv_assets_sync", "okta_sync", "casper_sync")


def secret(prefix: str) -> str:
    return f"{prefix}-{secrets.token_urlsafe(24)}"


def store_texts(dag_ids) -> dict[str, str]:
    """XCom values and rendered template fields of the runs, from the metadata DB."""
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        xcoms = session.execute(select(XComModel.dag_id, XComModel.key, XComModel.value)
                                .where(XComModel.dag_id.in_(dag_ids))).all()
        rendered = session.execute(select(RenderedTaskInstanceFields.dag_id, RenderedTaskInstanceFields.rendered_fields)
                                   .where(RenderedTaskInstanceFields.dag_id.in_(dag_ids))).all()
    assert xcoms and rendered, "the runs left no XCom or rendered fields: the scan would look at nothing"
    return {"XCom values": json.dumps([list(map(str, row)) for row in xcoms]),
            "rendered template fields": json.dumps([list(map(str, row)) for row in rendered], default=str)}


@pytest.fixture
def sources():
    s = {"oomnitza_password": secret("oomnitza-pw"), "okta_token": secret("okta-token"),
         "jamf_password": secret("jamf-pw"), "vault_token": secret("vault-root")}
    with SimulatorThread(oomnitza_app(OomnitzaState(tokens=set(), users={"sync": s["oomnitza_password"]}))) as oom, \
            SimulatorThread(ok.build_app(ok.OktaState(users=30, seed=3, token=s["okta_token"]))) as okta, \
            SimulatorThread(jamf_app(JamfState(12, 0, seed=5, accounts={"api": s["jamf_password"]}))) as jamf, \
            SimulatorThread(vault_app(VaultState(root_token=s["vault_token"]))) as vault:
        yield s, oom, okta, jamf, vault


def test_no_secret_in_logs_xcom_rendered_fields_docs_files_or_output(tmp_path, monkeypatch, airflow_db, capfd,
                                                                      sources):
    from airflow_provider_oomnitza.cli import main

    values, oom, okta, jamf, vault = sources
    env = SyncEnv(tmp_path, oom, monkeypatch)
    # Okta's token in an Airflow connection, Jamf's password in Vault, Oomnitza's password inline in the INI.
    monkeypatch.setenv("AIRFLOW_CONN_OOMNITZA_OKTA", Connection(
        conn_id="oomnitza_okta", conn_type="okta", host=okta.url, password=values["okta_token"]).as_json())
    monkeypatch.setenv("AIRFLOW_CONN_VAULT_DEFAULT", Connection(
        conn_id="vault_default", conn_type="vault", host="127.0.0.1", port=int(vault.url.rsplit(":", 1)[1]),
        schema="secret", password=values["vault_token"]).as_json())
    vault.state.put("secret", "casper", {"password": values["jamf_password"]})
    jamf_tokens = []
    issue = jamf.state.issue_token

    def recorded(principal):  # the hook gives its bearer tokens back at the end: keep a list
        token, value = issue(principal)
        jamf_tokens.append(value)
        return token, value

    monkeypatch.setattr(jamf.state, "issue_token", recorded)
    env.ini.write_text(
        f"[oomnitza]\nurl = {oom.url}\nusername = sync\npassword = {values['oomnitza_password']}\nretries = 0\n\n"
        + assets_section(env) + "\n"
        "[okta]\nenable = true\nconn_id = oomnitza_okta\ndefault_role = 25\ndefault_position = Employee\n"
        "use_server_map = false\n\n"
        f"[casper]\nenable = true\nurl = {jamf.url}/\nusername = api\nvault_keys = password\nvault_backend = vault\n"
        "sync_field = SERIAL_NUMBER\nuse_server_map = false\nmax_rejected = 50%\n")

    for dag_id in DAGS:
        assert env.run(dag_id).state == "success", dag_id
    assert main(["validate", "--ini", str(env.ini)]) == 0
    assert main(["show-mappings", "casper", "--ini", str(env.ini)]) == 0  # logs in to Oomnitza

    issued = sorted(oom.state.tokens) + jamf_tokens
    assert len(oom.state.tokens) >= 2 and jamf_tokens, "the runs got no run-time tokens to look for"
    assert okta.state.stats.requests and vault.state.reads and set(vault.state.reads) == {"secret/casper"}
    dagbag = env.dagbag()
    docs = {f"DAG doc of {d}": f"{dagbag.dags[d].doc_md}\n{dagbag.dags[d].description}" for d in DAGS}
    output = capfd.readouterr()
    # dag.test() runs the tasks here and prints their logs (unmasked: stricter than a log file): the run-time
    # warning about [oomnitza]'s inline password shows they are in what is scanned
    assert "[oomnitza] password: secret written in the INI; run `oomnitza-airflow migrate-secrets" in output.out + \
        output.err
    assert_no_leaks(
        [*values.values(), *issued],
        paths=[airflow_db, tmp_path / "runs"],  # metadata DB, task logs, run storage files
        texts={**store_texts(DAGS), **docs, "console and CLI output": output.out + output.err})
