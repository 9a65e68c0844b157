"""The Vault simulator against the real hvac client and Airflow's own VaultBackend, unchanged."""
import hvac
import hvac.exceptions
import pytest
import requests

from tests.simulators.base import SimulatorProcess, SimulatorThread, knobs, stats
from tests.simulators.vault import DEFAULT_ROOT_TOKEN, VaultState, build_app


@pytest.fixture
def vault():
    with SimulatorThread(build_app(VaultState())) as sim:
        yield sim


def client(sim, token=DEFAULT_ROOT_TOKEN) -> hvac.Client:
    return hvac.Client(url=sim.url, token=token)


def test_token_auth_lookup_self(vault):
    assert client(vault).is_authenticated()
    assert not client(vault, "wrong").is_authenticated()
    assert not hvac.Client(url=vault.url).is_authenticated()


def test_kv2_write_read_versions_and_list(vault):
    c = client(vault)
    c.secrets.kv.v2.create_or_update_secret(path="airflow/connections/jamf", secret={"login": "a", "password": "p1"})
    c.secrets.kv.v2.create_or_update_secret(path="airflow/connections/jamf", secret={"login": "a", "password": "p2"})
    latest = c.secrets.kv.v2.read_secret_version(path="airflow/connections/jamf", raise_on_deleted_version=True)
    assert latest["data"]["data"] == {"login": "a", "password": "p2"}
    assert latest["data"]["metadata"]["version"] == 2
    first = c.secrets.kv.v2.read_secret_version(path="airflow/connections/jamf", version=1,
                                                raise_on_deleted_version=True)
    assert first["data"]["data"]["password"] == "p1"
    # hvac lists with the LIST verb, which aiohttp's parser refuses; Vault's documented GET form:
    listed = requests.get(f"{vault.url}/v1/secret/metadata/airflow?list=true",
                          headers={"X-Vault-Token": DEFAULT_ROOT_TOKEN}, timeout=5).json()
    assert listed["data"]["keys"] == ["connections/"]
    assert c.secrets.kv.v2.read_secret_metadata(path="airflow/connections/jamf")["data"]["current_version"] == 2


def test_kv2_cas_mismatch_is_400(vault):
    c = client(vault)
    c.secrets.kv.v2.create_or_update_secret(path="x", secret={"a": 1})
    with pytest.raises(hvac.exceptions.InvalidRequest, match="check-and-set"):
        c.secrets.kv.v2.create_or_update_secret(path="x", secret={"a": 2}, cas=0)


def test_missing_secret_is_invalid_path_and_deleted_version_too(vault):
    c = client(vault)
    with pytest.raises(hvac.exceptions.InvalidPath):
        c.secrets.kv.v2.read_secret_version(path="nope", raise_on_deleted_version=True)
    c.secrets.kv.v2.create_or_update_secret(path="gone", secret={"a": 1})
    c.secrets.kv.v2.delete_latest_version_of_secret(path="gone")
    with pytest.raises(hvac.exceptions.InvalidPath):
        c.secrets.kv.v2.read_secret_version(path="gone", raise_on_deleted_version=True)


def test_kv1_mount(vault):
    c = client(vault)
    c.secrets.kv.v1.create_or_update_secret(path="oomnitza/casper", secret={"password": "pw"}, mount_point="kv")
    assert c.secrets.kv.v1.read_secret(path="oomnitza/casper", mount_point="kv")["data"] == {"password": "pw"}
    with pytest.raises(hvac.exceptions.InvalidPath):
        c.secrets.kv.v1.read_secret(path="oomnitza/other", mount_point="kv")


def test_policy_limits_a_token_to_its_paths(vault):
    vault.state.put("secret", "airflow/connections/ok", {"conn_type": "http"})
    vault.state.put("secret", "other/thing", {"x": 1})
    token = vault.state.add_token(["airflow/*"])
    c = client(vault, token)
    assert c.secrets.kv.v2.read_secret_version(path="airflow/connections/ok",
                                               raise_on_deleted_version=True)["data"]["data"]
    with pytest.raises(hvac.exceptions.Forbidden):
        c.secrets.kv.v2.read_secret_version(path="other/thing", raise_on_deleted_version=True)
    with pytest.raises(hvac.exceptions.Forbidden):
        client(vault, "bad-token").secrets.kv.v2.read_secret_version(path="airflow/connections/ok",
                                                                    raise_on_deleted_version=True)


def test_forbidden_body_is_vaults(vault):
    response = requests.get(f"{vault.url}/v1/secret/data/x", headers={"X-Vault-Token": "bad"}, timeout=5)
    assert response.status_code == 403
    assert response.json() == {"errors": ["permission denied"]}
    response = requests.get(f"{vault.url}/v1/secret/data/x", headers={"X-Vault-Token": DEFAULT_ROOT_TOKEN}, timeout=5)
    assert response.status_code == 404 and response.json() == {"errors": []}


def test_approle_login_and_token_expiry(vault):
    vault.state.put("secret", "airflow/variables/v", {"value": "1"})
    role_id, secret_id = vault.state.add_approle(["airflow/*"])
    c = hvac.Client(url=vault.url)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid role or secret ID"):
        c.auth.approle.login(role_id=role_id, secret_id="wrong")
    c.auth.approle.login(role_id=role_id, secret_id=secret_id)
    assert c.is_authenticated()
    vault.state.config.clock_offset_s = 7200  # past the token's TTL
    assert not c.is_authenticated()


def test_sealed_vault_is_vault_down(vault):
    vault.state.config.sealed = True
    with pytest.raises(hvac.exceptions.VaultDown):
        client(vault).secrets.kv.v2.read_secret_version(path="x", raise_on_deleted_version=True)
    assert requests.get(f"{vault.url}/v1/sys/health", timeout=5).json()["sealed"] is True


def test_injected_failure_and_counts(vault):
    knobs(vault, fail_next=1, fail_status=503)
    with pytest.raises(hvac.exceptions.VaultDown):
        client(vault).secrets.kv.v2.read_secret_version(path="x", raise_on_deleted_version=True)
    assert stats(vault)["injected_failures"] == 1


def test_airflow_vault_backend_reads_a_connection(vault, monkeypatch):
    """Airflow's own secrets backend (providers-hashicorp), KV v2, connections as field maps."""
    from airflow.providers.hashicorp.secrets.vault import VaultBackend

    vault.state.put("secret", "airflow/connections/jamf_prod", {
        "conn_type": "jamf", "host": "https://jamf.example.com", "login": "api", "password": "s3cret",
        "extra": {"page_size": 200}})
    backend = VaultBackend(connections_path="airflow/connections", variables_path=None, config_path=None,
                           url=vault.url, token=DEFAULT_ROOT_TOKEN, mount_point="secret", kv_engine_version=2)
    conn = backend.get_connection("jamf_prod")
    assert (conn.conn_type, conn.host, conn.login, conn.password) == ("jamf", "https://jamf.example.com", "api",
                                                                     "s3cret")
    assert conn.extra_dejson == {"page_size": 200}
    assert backend.get_connection("absent") is None
    assert vault.state.reads == ["secret/airflow/connections/jamf_prod"]


def test_runs_as_a_process():
    with SimulatorProcess("tests.simulators.vault", "--token", "proc-token") as sim:
        assert hvac.Client(url=sim.url, token="proc-token").is_authenticated()
