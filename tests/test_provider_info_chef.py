"""The chef connection type through Airflow: its form, and `airflow connections test` against the simulator."""
import json

from airflow_provider_oomnitza.get_provider_info import get_provider_info
from tests.test_provider_info import airflow


def test_the_chef_form_has_url_client_a_masked_key_and_a_key_file_field():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert manager.hooks["chef"].hook_class_name == "airflow_provider_oomnitza.hooks.chef.ChefHook"
    assert manager.hooks["chef"].connection_id_attribute_name == "chef_conn_id"
    behaviour = manager.field_behaviours["chef"]
    assert behaviour["relabeling"] == {"host": "Chef server URL with organization", "login": "Client (or user) name",
                                       "password": "Private key (PEM text; empty with a key file)"}  # masked
    assert set(behaviour["hidden_fields"]) == {"schema", "port", "extra"}
    widgets = {name.split("__")[2]: widget for name, widget in manager.connection_form_widgets.items()
               if name.startswith("extra__chef__")}
    assert set(widgets) == {"key_file", "verify_ssl", "cacert_file", "ssl_protocol"}
    assert not widgets["key_file"].is_sensitive  # a path, not the key
    conn = next(c for c in get_provider_info()["connection-types"] if c["connection-type"] == "chef")
    assert set(conn["conn-fields"]) == set(widgets)


def test_airflow_connections_test_signs_a_node_search(tmp_path):
    from tests.simulators import chef
    from tests.simulators.base import SimulatorThread, tls_certificates

    private, public = chef.generate_key_pair()
    state = chef.ChefState(nodes=7, seed=1, now=1_790_000_000.0)
    state.add_client("oomnitza", public)
    certs = tls_certificates(tmp_path)
    with SimulatorThread(chef.build_app(state), ssl_context=certs.server_context()) as sim:
        conn = {"conn_type": "chef", "host": f"{sim.url}/organizations/{chef.DEFAULT_ORG}", "login": "oomnitza",
                "password": private.decode(), "extra": {"cacert_file": certs.ca_file}}
        env = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled", "AIRFLOW_CONN_UNDER_TEST": json.dumps(conn)}
        out = airflow("connections", "test", "under_test", home=tmp_path, env=env)
        assert "Connection success!" in out
        assert state.stats.by_path[f"/organizations/{chef.DEFAULT_ORG}/search/node"] == 1
        assert "PRIVATE KEY" not in out
