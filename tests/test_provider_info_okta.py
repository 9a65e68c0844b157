"""The okta connection type through Airflow: its form, and `airflow connections test` against the simulator."""
import json

from airflow_provider_oomnitza.get_provider_info import get_provider_info
from tests.test_provider_info import airflow


def test_the_okta_form_has_the_url_and_a_masked_token_field():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert manager.hooks["okta"].hook_class_name == "airflow_provider_oomnitza.hooks.okta.OktaHook"
    assert manager.hooks["okta"].connection_id_attribute_name == "okta_conn_id"
    behaviour = manager.field_behaviours["okta"]
    assert behaviour["relabeling"] == {"host": "Okta org URL", "password": "API token"}  # password: masked
    assert set(behaviour["hidden_fields"]) == {"schema", "port", "login", "extra"}
    fields = {name.split("__")[2] for name, widget in manager.connection_form_widgets.items()
              if name.startswith("extra__okta__")}
    assert fields == {"verify_ssl", "cacert_file", "ssl_protocol"}
    conn = next(c for c in get_provider_info()["connection-types"] if c["connection-type"] == "okta")
    assert set(conn["conn-fields"]) == fields


def test_airflow_connections_test_reads_okta_users(tmp_path):
    from tests.simulators import okta as ok
    from tests.simulators.base import SimulatorThread, tls_certificates

    certs = tls_certificates(tmp_path)
    with SimulatorThread(ok.build_app(ok.OktaState(users=5, seed=1, now=1_790_000_000.0)),
                         ssl_context=certs.server_context()) as sim:
        conn = {"conn_type": "okta", "host": sim.url, "password": ok.DEFAULT_TOKEN,
                "extra": {"cacert_file": certs.ca_file}}
        env = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled", "AIRFLOW_CONN_UNDER_TEST": json.dumps(conn)}
        out = airflow("connections", "test", "under_test", home=tmp_path, env=env)
        assert "Connection success!" in out
        assert ok.DEFAULT_TOKEN not in out
        assert sim.state.stats.by_path[ok.USERS_PATH] == 1
        env["AIRFLOW_CONN_UNDER_TEST"] = json.dumps({**conn, "password": "00" + "z" * 40})
        out = airflow("connections", "test", "under_test", home=tmp_path, env=env, check=False)
        assert "Connection failed!" in out and "E0000011" in out and "z" * 40 not in out
