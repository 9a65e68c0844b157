"""The sccm connection type through Airflow: an OdbcHook's form, and `airflow connections test` on a site database."""
import json

import pytest

from airflow_provider_oomnitza.get_provider_info import get_provider_info
from tests.servers.sccm_db import SccmDatabase
from tests.test_provider_info import airflow


def test_the_sccm_form_is_an_odbc_form_with_authentication_and_driver():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert manager.hooks["sccm"].hook_class_name == "airflow_provider_oomnitza.hooks.sccm.SccmHook"
    assert manager.hooks["sccm"].connection_id_attribute_name == "sccm_conn_id"
    behaviour = manager.field_behaviours["sccm"]
    assert behaviour["hidden_fields"] == []  # host, port, schema, login, password and Extra, as OdbcHook's
    assert behaviour["relabeling"]["schema"] == "Site database (CM_<site code>)"
    fields = {name.split("__")[2]: widget for name, widget in manager.connection_form_widgets.items()
              if name.startswith("extra__sccm__")}
    assert set(fields) == {"authentication", "driver", "verify_ssl", "cacert_file", "ssl_protocol"}
    assert fields["authentication"].field["schema"]["enum"] == ["SQL Server", "Windows", None]
    conn = next(c for c in get_provider_info()["connection-types"] if c["connection-type"] == "sccm")
    assert set(conn["conn-fields"]) == set(fields)


@pytest.fixture(scope="module")
def site():
    with SccmDatabase(machines=40, seed=3) as db:
        yield db


def test_airflow_connections_test_counts_the_machines(tmp_path, site):
    secret = "Conn-Test-Secret-77"
    conn = {"conn_type": "sccm", "host": site.host, "schema": site.name, "login": site.user, "password": secret,
            "extra": {"driver": site.driver}}
    env = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled", "AIRFLOW_CONN_UNDER_TEST": json.dumps(conn)}
    out = airflow("connections", "test", "under_test", home=tmp_path, env=env)
    assert "Connection success!" in out
    assert secret not in out
    # a refused login: tests/hooks/test_sccm.py (the message test_connection() gives Airflow)
