"""The zendesk connection type through Airflow: its form, and `airflow connections test` against the simulator."""
import json

from airflow_provider_oomnitza.get_provider_info import get_provider_info
from tests.test_provider_info import airflow


def test_the_zendesk_form_has_its_fields_and_masks_the_oauth_token():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert manager.hooks["zendesk"].hook_class_name == "airflow_provider_oomnitza.hooks.zendesk.ZendeskHook"
    assert manager.hooks["zendesk"].connection_id_attribute_name == "zendesk_conn_id"
    behaviour = manager.field_behaviours["zendesk"]
    assert behaviour["relabeling"] == {"host": "Zendesk URL or subdomain", "login": "Agent e-mail (empty with OAuth)",
                                       "password": "API token (empty with OAuth)"}
    assert set(behaviour["hidden_fields"]) == {"schema", "port", "extra"}
    widgets = {name.split("__")[2]: w for name, w in manager.connection_form_widgets.items()
               if name.startswith("extra__zendesk__")}
    assert set(widgets) == {"oauth_token", "verify_ssl", "cacert_file", "ssl_protocol"}
    assert {name for name, w in widgets.items() if w.is_sensitive} == {"oauth_token"}
    conn = next(c for c in get_provider_info()["connection-types"] if c["connection-type"] == "zendesk")
    assert set(conn["conn-fields"]) == set(widgets)


def test_airflow_connections_test_lists_zendesk_users(tmp_path):
    from tests.simulators import zendesk as zd
    from tests.simulators.base import SimulatorThread, tls_certificates

    certs = tls_certificates(tmp_path)
    with SimulatorThread(zd.build_app(zd.ZendeskState(users=5, seed=1, now=1_790_000_000.0)),
                         ssl_context=certs.server_context()) as sim:
        conn = {"conn_type": "zendesk", "host": sim.url, "login": zd.DEFAULT_EMAIL, "password": zd.DEFAULT_TOKEN,
                "extra": {"cacert_file": certs.ca_file}}
        env = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled", "AIRFLOW_CONN_UNDER_TEST": json.dumps(conn)}
        out = airflow("connections", "test", "under_test", home=tmp_path, env=env)
        assert "Connection success!" in out
        assert zd.DEFAULT_TOKEN not in out
        assert sim.state.stats.by_path["/api/v2/users.json"] == 1
        # OAuth from the form's field
        conn = {"conn_type": "zendesk", "host": sim.url,
                "extra": {"cacert_file": certs.ca_file, "oauth_token": zd.DEFAULT_OAUTH_TOKEN}}
        env["AIRFLOW_CONN_UNDER_TEST"] = json.dumps(conn)
        out = airflow("connections", "test", "under_test", home=tmp_path, env=env)
        assert "Connection success!" in out and zd.DEFAULT_OAUTH_TOKEN not in out
        assert sim.state.stats.by_path["/api/v2/users.json"] == 2
        # and a refused token says so
        conn = {"conn_type": "zendesk", "host": sim.url, "login": zd.DEFAULT_EMAIL, "password": "not-the-token",
                "extra": {"cacert_file": certs.ca_file}}
        env["AIRFLOW_CONN_UNDER_TEST"] = json.dumps(conn)
        out = airflow("connections", "test", "under_test", home=tmp_path, env=env, check=False)
        assert "Connection failed!" in out and "401 Unauthorized: Couldn't authenticate you" in out
        assert "not-the-token" not in out
