"""Secrets at run time: a section's connection, env_password, and vault_keys read through the hashicorp
provider's VaultHook (against the Vault simulator, with the real hvac client), all masked."""
import json
import secrets
import socket

import pytest
from airflow.sdk import Connection
from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.log import redact

from airflow_provider_oomnitza.credentials import CredentialError, default_conn_id, resolve_secrets
from airflow_provider_oomnitza.hooks.okta import OktaHook
from airflow_provider_oomnitza.operators.extract import OomnitzaExtractOperator
from tests.simulators.base import SimulatorThread
from tests.simulators.vault import VaultState, build_app

ROOT = "vault-root-" + secrets.token_hex(8)
OKTA = "[okta]\nenable = 1\nurl = https://acme.okta.com\ndefault_role = 1\ndefault_position = E\n"


@pytest.fixture(scope="module")
def vault():
    with SimulatorThread(build_app(VaultState(root_token=ROOT))) as sim:
        yield sim


def vault_connection(monkeypatch, sim, conn_id="vault_default", token=ROOT, mount="secret", version=2, port=None):
    """A ``vault`` connection as the hashicorp provider reads it: host, port, mount as schema, token as password."""
    port = port or int(sim.url.rsplit(":", 1)[1])
    conn = Connection(conn_id=conn_id, conn_type="vault", host="127.0.0.1", port=port, schema=mount, password=token,
                      extra=json.dumps({"auth_type": "token", "kv_engine_version": version}))
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", conn.as_json())


def settings(**values):
    return {"vault_keys": [], "vault_backend": "keyring", "vault_conn_id": "vault_default", "vault_alias": "",
            "env_password": "", **values}


def test_vault_keys_are_read_from_kv2_and_masked(vault, monkeypatch):
    token = "okta-" + secrets.token_urlsafe(24)
    vault.state.put("secret", "okta.Staff", {"api_token": token, "other": "x"})
    vault_connection(monkeypatch, vault)
    found = resolve_secrets("okta.Staff", settings(vault_keys=["api_token"], vault_backend="vault"))
    assert found == {"api_token": token}
    assert redact(f"sent {token}") == "sent ***"
    assert vault.state.reads[-1] == "secret/okta.Staff"


def test_the_originals_kv1_layout_and_an_alias(vault, monkeypatch):
    """The original read KV v1 at secret/<section>; a connection with kv_engine_version 1 reads it the same way."""
    vault.state.put("kv", "shared-jamf", {"password": "pw-" + secrets.token_hex(8)})
    vault_connection(monkeypatch, vault, conn_id="vault_v1", mount="kv", version=1)
    found = resolve_secrets("casper", settings(vault_keys=["password"], vault_backend="vault",
                                               vault_conn_id="vault_v1", vault_alias="shared-jamf"))
    assert found["password"].startswith("pw-")


@pytest.mark.parametrize("case, expected", [
    ("missing secret", "Vault has no secret at that path (404)"),
    ("missing key", "the secret has no api_token (keys there: other)"),
    ("forbidden", "(Forbidden: permission denied, on get"),
    ("bad token", "(Forbidden: permission denied, on get"),
    ("unreachable", "failed: ConnectionError"),
    ("no connection", "failed: AirflowNotFoundException"),
])
def test_vault_problems_name_the_section_and_key_and_never_give_an_empty_secret(vault, monkeypatch, case, expected):
    section = "okta.case_" + case.replace(" ", "_")
    if case != "missing secret":
        vault.state.put("secret", section, {"other": "x"})
    if case == "unreachable":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]
        vault_connection(monkeypatch, vault, port=closed)
    elif case != "no connection":
        token = {"forbidden": vault.state.add_token(["elsewhere/*"]), "bad token": "wrong-token"}.get(case, ROOT)
        vault_connection(monkeypatch, vault, token=token)
    else:
        monkeypatch.delenv("AIRFLOW_CONN_VAULT_DEFAULT", raising=False)
    with pytest.raises(CredentialError) as err:
        resolve_secrets(section, settings(vault_keys=["api_token"], vault_backend="vault"))
    message = str(err.value)
    assert message.startswith(f"[{section}] vault_keys: reading api_token from Vault (connection 'vault_default', "
                              f"path '{section}')"), message
    assert expected in message, message
    assert ROOT not in message


def test_keyring_backend_explains_the_airflow_replacement():
    with pytest.raises(CredentialError, match=r"^\[okta\] vault_backend: vault_backend = keyring \(the default\) is "
                                              r"not available in Airflow.*connection named oomnitza_okta"):
        resolve_secrets("okta", settings(vault_keys=["api_token"]))


def test_env_password_keeps_working_and_is_masked():
    value = "env-" + secrets.token_hex(10)
    assert resolve_secrets("casper", settings(env_password="JAMF_PW"), environ={"JAMF_PW": value}) == {
        "password": value}
    assert redact(value) == "***"
    with pytest.raises(CredentialError, match=r"^\[casper\] env_password: environment variable NOPE is not set"):
        resolve_secrets("casper", settings(env_password="NOPE"), environ={})


def test_inline_ini_secrets_are_masked():
    value = "inline-" + secrets.token_hex(10)
    resolve_secrets("okta", settings(api_token=value), secret_keys=frozenset({"api_token"}))
    assert redact(value) == "***"


def write_ini(tmp_path, body):
    path = tmp_path / "config.ini"
    path.write_text(f"[oomnitza]\nurl = http://127.0.0.1:9\napi_token = sandbox-token\n\n{body}")
    return str(path)


def okta_hook(ini: str, section="okta") -> OktaHook:
    operator = OomnitzaExtractOperator(task_id="extract", section=section, ini_path=ini)
    _, sec = operator.load()
    return OktaHook(operator.source_settings(sec), section=section)


def test_a_section_uses_the_connection_named_after_it_whose_values_win(tmp_path, monkeypatch):
    ini = write_ini(tmp_path, OKTA + "api_token = from-the-ini-file\n")
    assert okta_hook(ini).settings.api_token.get_secret_value() == "from-the-ini-file"
    conn_token = "conn-" + secrets.token_hex(12)
    assert default_conn_id("okta") == "oomnitza_okta" and default_conn_id("ldap.Staff") == "oomnitza_ldap_Staff"
    monkeypatch.setenv("AIRFLOW_CONN_OOMNITZA_OKTA", Connection(
        conn_id="oomnitza_okta", conn_type="okta", host="https://other.okta.com", password=conn_token).as_json())
    hook = okta_hook(ini)
    assert hook.conn_id == "oomnitza_okta"
    assert hook.settings.api_token.get_secret_value() == conn_token
    assert hook.settings.url.startswith("https://other.okta.com")
    # conn_id names another connection: that one, not the default
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_PROD", Connection(
        conn_id="okta_prod", conn_type="okta", host="https://prod.okta.com", password="prod-" + conn_token).as_json())
    ini = write_ini(tmp_path, OKTA + "conn_id = okta_prod\n")  # no secret in the INI at all
    assert okta_hook(ini).settings.api_token.get_secret_value() == "prod-" + conn_token
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_PROD", Connection(conn_id="okta_prod", conn_type="okta").as_json())
    with pytest.raises(Exception, match=r"\[okta\] api_token: Field required"):
        okta_hook(ini).settings


def test_a_task_gets_vault_keys_and_fails_naming_the_ini_line_when_vault_lacks_the_key(tmp_path, vault, monkeypatch):
    token = "vk-" + secrets.token_hex(12)
    vault.state.put("secret", "okta", {"api_token": token})
    vault_connection(monkeypatch, vault)
    ini = write_ini(tmp_path, OKTA + "vault_keys = api_token\nvault_backend = vault\n")
    assert okta_hook(ini).settings.api_token.get_secret_value() == token
    vault.state.put("secret", "okta", {"something": "else"})
    with pytest.raises(AirflowFailException, match=r"config.ini:\d+: \[okta\] vault_keys: reading api_token from Vault"
                                                   r".*the secret has no api_token"):
        okta_hook(ini)


def test_every_run_time_token_is_masked_where_it_is_cached():
    """TokenCache holds the OAuth, Jamf bearer and Oomnitza session tokens of every hook: it masks them."""
    from airflow_provider_oomnitza.hooks.http_client import TokenCache

    issued = ["tok-" + secrets.token_hex(12), "tok-" + secrets.token_hex(12)]
    cache = TokenCache(lambda: (issued.pop(0), None))
    first = cache.current()
    assert redact(first) == "***"
    rotated = "rot-" + secrets.token_hex(12)
    assert cache.adopt(first, rotated) and redact(rotated) == "***"
    cache.renew(rotated)
    assert redact(cache.current()) == "***"


def test_inline_secrets_and_env_password_keep_working_with_a_note_saying_how_to_move_them(tmp_path, capsys,
                                                                                          monkeypatch):
    monkeypatch.setenv("JAMF_PW", "jamf-" + secrets.token_hex(8))
    from airflow_provider_oomnitza.cli import main

    ini = write_ini(tmp_path, OKTA + "api_token = inline-okta-token\n\n[casper]\nenable = 0\nurl = https://j\n"
                                     "username = u\nenv_password = JAMF_PW\nsync_field = SERIAL_NUMBER\n")
    assert main(["validate", "--ini", ini]) == 0
    out = capsys.readouterr().out
    hint = "run `oomnitza-airflow migrate-secrets --ini <config.ini>` to move it into an Airflow connection"
    assert f"note: {ini}:3: [oomnitza] api_token: secret written in the INI; {hint}" in out
    assert f"note: {ini}:10: [okta] api_token: secret written in the INI; {hint}" in out
    assert f"note: {ini}:16: [casper] env_password: password from an environment variable; {hint}" in out
    assert "inline-okta-token" not in out


def test_airflows_vault_backend_serves_the_connections_of_a_section_in_both_shapes(tmp_path, monkeypatch):
    """[secrets] backend = VaultBackend (KV v2): a secret of connection fields, or a conn_uri, feeds a section."""
    token = "tok-" + secrets.token_hex(10)
    with SimulatorThread(build_app(VaultState(root_token=ROOT, mounts={"airflow": 2}))) as sim:
        sim.state.put("airflow", "connections/oomnitza_okta", {
            "conn_type": "okta", "host": "https://acme.okta.com", "password": token, "extra": {"verify_ssl": True}})
        sim.state.put("airflow", "connections/okta_uri", {"conn_uri": f"okta://:{token}%2F2@uri.okta.com"})
        monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND", "airflow.providers.hashicorp.secrets.vault.VaultBackend")
        monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND_KWARGS", json.dumps({
            "connections_path": "connections", "variables_path": None, "config_path": None,
            "mount_point": "airflow", "url": sim.url, "auth_type": "token", "kv_engine_version": 2}))
        monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND_KWARG__TOKEN", ROOT)
        ini = write_ini(tmp_path, OKTA + "api_token = stale-ini-token\n")  # the connection's value wins
        hook = okta_hook(ini)
        assert (hook.conn_id, hook.settings.api_token.get_secret_value()) == ("oomnitza_okta", token)
        hook = okta_hook(write_ini(tmp_path, OKTA + "conn_id = okta_uri\n"))
        assert hook.settings.api_token.get_secret_value() == token + "/2"
        assert hook.settings.url.startswith("https://uri.okta.com")
        assert "airflow/connections/okta_uri" in sim.state.reads
