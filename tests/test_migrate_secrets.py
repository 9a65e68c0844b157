"""``oomnitza-airflow migrate-secrets``: inline secrets into Airflow connections (metadata DB) or Vault, a
secret-free copy of the INI, no secret printed, and a second run that changes nothing."""
import json
import secrets

import pytest

from airflow_provider_oomnitza.cli import main
from airflow_provider_oomnitza.config.loader import load_config
from tests.leak_scan import assert_no_leaks
from tests.simulators.base import SimulatorThread
from tests.simulators.vault import VaultState, build_app


def secret(prefix):
    return f"{prefix}-{secrets.token_urlsafe(18)}"


@pytest.fixture
def ini(tmp_path):
    values = {"oomnitza": secret("oom"), "okta": secret("okta"), "casper": secret("jamf")}
    path = tmp_path / "config.ini"
    path.write_text(
        "# the connector's config\n[oomnitza]\nurl = https://acme.oomnitza.com\n"
        f"api_token = {values['oomnitza']}\n\n"
        "[okta]\nenable = 1\n; Okta's admin token\n"
        f"api_token = {values['okta']}\nurl = https://acme.okta.com\ndefault_role = 1\ndefault_position = E\n\n"
        "[casper]\nenable = 0\nurl = https://acme.jamfcloud.com\nusername = api\n"
        f"password = {values['casper']}\nsync_field = SERIAL_NUMBER\n\n"
        "[csv_assets]\nenable = 0\nfilename = a.csv\nsync_field = SERIAL_NUMBER\n")
    return path, values


@pytest.fixture
def no_connections(airflow_db):
    """The session's metadata DB without this test's connections, before and after."""
    from airflow.models import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    def clear():
        with create_session() as session:
            session.execute(delete(Connection).where(Connection.conn_id.like("oomnitza_%")))
    clear()
    yield
    clear()


def db_connection(conn_id):
    from airflow.models import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        conn = session.scalar(select(Connection).where(Connection.conn_id == conn_id))
        return None if conn is None else {a: getattr(conn, a) for a in ("conn_type", "host", "login", "password",
                                                                        "extra")}


def run(capsys, *args):
    code = main(["migrate-secrets", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_moves_every_inline_secret_into_airflow_connections_and_twice_changes_nothing(ini, capsys, no_connections):
    path, values = ini
    for conn_id in ("oomnitza_oomnitza", "oomnitza_okta", "oomnitza_casper"):
        assert db_connection(conn_id) is None
    code, out = run(capsys, "--ini", path)
    assert code == 0, out
    assert "[okta] api_token: moved to Airflow connection oomnitza_okta (okta), created" in out
    assert "[casper] password: moved to Airflow connection oomnitza_casper (jamf), created" in out
    assert "[oomnitza] api_token: moved to Airflow connection oomnitza_oomnitza (oomnitza), created" in out
    assert db_connection("oomnitza_okta") == {"conn_type": "okta", "host": "https://acme.okta.com", "login": None,
                                              "password": values["okta"], "extra": None}
    jamf = db_connection("oomnitza_casper")
    assert (jamf["login"], jamf["password"], jamf["host"]) == ("api", values["casper"], "https://acme.jamfcloud.com")
    assert db_connection("oomnitza_oomnitza")["password"] == values["oomnitza"]

    copy = path.with_name("config.ini.migrated")
    text = copy.read_text()
    assert "# the connector's config" in text and "; Okta's admin token\nconn_id = oomnitza_okta\nurl =" in text
    assert "username = api\nconn_id = oomnitza_casper\nsync_field" in text
    assert_no_leaks(values.values(), paths=[copy], texts={"CLI output": out})
    migrated = load_config(copy)
    assert migrated.ok, [str(i) for i in migrated.all_issues()]
    assert migrated.sections["okta"].settings.conn_id == "oomnitza_okta"

    before = copy.stat().st_mtime_ns
    code, again = run(capsys, "--ini", path)
    assert code == 0 and again.count("unchanged") == 4, again  # three connections and the copy
    assert copy.stat().st_mtime_ns == before
    code, on_copy = run(capsys, "--ini", copy, "--output", copy)
    assert code == 0 and "no secret written in the INI to move" in on_copy and f"{copy} unchanged" in on_copy


def test_a_connection_with_other_values_is_kept_unless_overwrite(ini, capsys, no_connections, tmp_path):
    path, values = ini
    assert run(capsys, "--ini", path)[0] == 0
    new_token = secret("okta2")
    path.write_text(path.read_text().replace(values["okta"], new_token))
    out_file = tmp_path / "other.ini"
    code, out = run(capsys, "--ini", path, "--output", out_file)
    assert code == 1 and "error: [okta] api_token: Airflow connection oomnitza_okta (okta) exists with other values" \
        in out and not out_file.exists()
    code, out = run(capsys, "--ini", path, "--output", out_file, "--overwrite")
    assert code == 0 and "oomnitza_okta (okta), updated" in out
    assert db_connection("oomnitza_okta")["password"] == new_token
    assert_no_leaks([*values.values(), new_token], texts={"CLI output": out}, paths=[out_file])


def test_to_vault_in_the_shape_airflows_vault_backend_reads(ini, capsys, monkeypatch):
    from airflow.providers.hashicorp.secrets.vault import VaultBackend
    from airflow.sdk import Connection

    path, values = ini
    root = secret("root")
    with SimulatorThread(build_app(VaultState(root_token=root, mounts={"airflow": 2}))) as vault:
        port = int(vault.url.rsplit(":", 1)[1])
        monkeypatch.setenv("AIRFLOW_CONN_VAULT_DEFAULT", Connection(
            conn_id="vault_default", conn_type="vault", host="127.0.0.1", port=port, schema="airflow",
            password=root).as_json())
        code, out = run(capsys, "--ini", path, "--to", "vault")
        assert code == 0 and "moved to Vault secret oomnitza_okta (okta), created" in out, out
        backend = VaultBackend(connections_path="connections", mount_point="airflow", url=vault.url, token=root,
                               variables_path=None, config_path=None)
        okta = backend.get_connection("oomnitza_okta")
        assert (okta.conn_type, okta.host, okta.password) == ("okta", "https://acme.okta.com", values["okta"])
        jamf = backend.get_connection("oomnitza_casper")
        assert (jamf.login, jamf.password) == ("api", values["casper"])
        code, again = run(capsys, "--ini", path, "--to", "vault")
        assert code == 0 and again.count("unchanged") == 4, again
        assert_no_leaks([*values.values(), root], texts={"CLI output": out + again})
        monkeypatch.setenv("AIRFLOW_CONN_VAULT_DEFAULT", json.dumps({"conn_type": "vault", "host": "127.0.0.1",
                                                                     "port": 1, "password": root}))
        code, out = run(capsys, "--ini", path, "--to", "vault")
        assert code == 1 and "error: cannot write to vault: ConnectionError" in out


def test_what_cannot_move_is_said_and_stays(tmp_path, capsys, no_connections):
    token, shared, broken = secret("oom"), secret("shared"), secret("broken")
    path = tmp_path / "config.ini"
    path.write_text(f"[DEFAULT]\npassword = {shared}\n\n[oomnitza]\nurl = https://o.example.com\n"
                    f"api_token = {token}\n\n[casper]\nenable = 0\nurl = https://j\nusername = u\n"
                    "sync_field = SERIAL_NUMBER\n\n"
                    f"[okta]\nenable = 0\napi_token = {broken}\ndefault_role = not-a-number\n")
    code, out = run(capsys, "--ini", path)
    assert code == 1, out
    assert "note: [oomnitza] password: its connection type has no field for it; left in the INI" not in out
    assert "note: [casper] password: written in [DEFAULT], which other sections share; move it by hand" in out
    assert "error: [okta] cannot be read (see validate); fix it first" in out
    assert "[oomnitza] api_token: moved to Airflow connection oomnitza_oomnitza (oomnitza), created" in out
    assert_no_leaks([token, shared, broken], texts={"CLI output": out})
