"""Airflow discovers the provider, its hooks and connection types: forms, masking and the Test button."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_oomnitza.get_provider_info import get_provider_info


def airflow(*args, home: Path, env: dict | None = None, check: bool = True) -> str:
    env = dict(os.environ, AIRFLOW_HOME=str(home), **(env or {}))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent),
                                                      env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, "-m", "airflow", *args], capture_output=True, text=True, env=env,
                            timeout=180)
    if check:
        assert result.returncode == 0, result.stderr[-2000:] + result.stdout[-2000:]
    return result.stdout + result.stderr


def test_provider_info_names_real_modules():
    import importlib

    info = get_provider_info()
    assert info["package-name"] == "airflow-provider-oomnitza"
    for group in ("hooks", "operators"):
        for entry in info[group]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
    types = {conn["connection-type"] for conn in info["connection-types"]}
    assert types == {"oomnitza", "jamf", "airwatch", "mobileiron", "appledep", "bamboohr", "onelogin", "zendesk",
                     "okta", "sccm", "ldap", "jasper", "chef"}
    for conn in info["connection-types"]:
        module, _, cls = conn["hook-class-name"].rpartition(".")
        hook = getattr(importlib.import_module(module), cls)
        assert hook.conn_type == conn["connection-type"]
        assert set(conn["ui-field-behaviour"]["hidden-fields"]) <= {"schema", "port", "login", "extra"}
        # every setting the hook reads from the connection's extra has a form field, and nothing else
        assert set(conn["conn-fields"]) == set(hook.extra_fields if hasattr(hook, "extra_fields")
                                               else ("verify_ssl", "cacert_file", "ssl_protocol"))


def test_airflow_lists_the_provider_and_its_hook(tmp_path):
    assert "airflow-provider-oomnitza" in airflow("providers", "list", home=tmp_path)
    hooks = airflow("providers", "hooks", home=tmp_path)
    assert "airflow_provider_oomnitza.hooks.oomnitza.OomnitzaHook" in hooks and "oomnitza_conn_id" in hooks
    for cls in ("jamf.JamfHook", "airwatch.AirWatchHook", "mobileiron.MobileIronHook", "appledep.AppleDepHook",
                "onelogin.OneLoginHook"):
        assert f"airflow_provider_oomnitza.hooks.{cls}" in hooks
    full = airflow("providers", "get", "airflow-provider-oomnitza", "--full", "--output", "json", home=tmp_path)
    assert "airflow_provider_oomnitza.operators.push" in full and '"connection-type": "oomnitza"' in full


SECRET_FIELDS = {("jamf", "client_secret"), ("airwatch", "api_token"), ("airwatch", "client_secret"),
                 ("onelogin", "api_token"), ("zendesk", "oauth_token"), ("jasper", "api_token")}


def test_airflow_shows_every_form_field_and_masks_the_secret_ones():
    """Through Airflow's own ProvidersManager (what the UI's connection form reads)."""
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    widgets, behaviours = manager.connection_form_widgets, manager.field_behaviours
    ours = {name: w for name, w in widgets.items() if w.package_name == "airflow-provider-oomnitza"}
    expected = {f"extra__{c['connection-type']}__{f}": (c, f, d) for c in get_provider_info()["connection-types"]
                for f, d in c["conn-fields"].items()}
    assert set(ours) == set(expected)
    for name, (conn, field, definition) in expected.items():
        widget = ours[name]
        assert widget.field_name == field and widget.hook_class_name == conn["hook-class-name"]
        assert widget.field["schema"]["title"] == definition["label"]
        assert widget.field["schema"]["type"] == definition["schema"]["type"]
    assert {tuple(n.split("__")[1:]) for n, w in ours.items() if w.is_sensitive} == SECRET_FIELDS
    for conn in get_provider_info()["connection-types"]:
        behaviour = behaviours[conn["connection-type"]]
        assert behaviour["hidden_fields"] == conn["ui-field-behaviour"]["hidden-fields"]
        assert behaviour["relabeling"] == conn["ui-field-behaviour"]["relabeling"]


def test_the_api_masks_the_secret_form_fields_of_a_stored_connection():
    from airflow.api_fastapi.core_api.datamodels.connections import ConnectionResponse

    extra = {"client_id": "visible-id", "client_secret": "s3cret-value", "api_token": "t0ken-value",
             "verify_ssl": True}
    response = ConnectionResponse(connection_id="c", conn_type="airwatch", extra=json.dumps(extra), description=None,
                                  host=None, login=None, schema=None, port=None, password=None, team_name=None)
    shown = json.loads(response.extra)
    assert shown["client_secret"] == shown["api_token"] == "***"
    assert shown["client_id"] == "visible-id" and shown["verify_ssl"] is True


# ---- `airflow connections test` against the simulators ---------------------------------------------

def _simulators():
    from tests.simulators import airwatch as aw
    from tests.simulators import appledep as dep
    from tests.simulators import jamf
    from tests.simulators import mobileiron as mi
    from tests.simulators import onelogin as ol
    from tests.simulators import oomnitza

    now = 1_790_000_000.0
    user, password = next(iter(jamf.DEFAULT_ACCOUNTS.items()))
    client_id, client_secret = next(iter(jamf.DEFAULT_API_CLIENTS.items()))
    return {
        "oomnitza": (lambda: oomnitza.build_app(oomnitza.OomnitzaState()),
                     lambda sim: {"password": "sandbox-token"}, "sandbox-token"),
        "jamf": (lambda: jamf.build_app(jamf.JamfState(5, 0)),
                 lambda sim: {"extra": {"client_id": client_id, "client_secret": client_secret}}, client_secret),
        "airwatch": (lambda: aw.build_app(aw.AirWatchState(devices=5, seed=1, now=now)),
                     lambda sim: {"login": aw.DEFAULT_USER, "password": aw.DEFAULT_PASSWORD,
                                  "extra": {"api_token": aw.DEFAULT_TENANT_CODE}}, aw.DEFAULT_TENANT_CODE),
        "mobileiron": (lambda: mi.build_app(mi.MobileIronState(devices=20, seed=1, now=now)),
                       lambda sim: {"login": mi.DEFAULT_USER, "password": mi.DEFAULT_PASSWORD,
                                    "extra": {"api_version": 1}}, mi.DEFAULT_PASSWORD),
        "appledep": (lambda: dep.build_app(dep.AppleDEPState(devices=5, seed=1, now=now)),
                     lambda sim: {"password": json.dumps(sim.state.server_token)}, None),
        "onelogin": (lambda: ol.build_app(ol.OneLoginState(users=5)),
                     lambda sim: {"login": ol.DEFAULT_CLIENT_ID, "password": ol.DEFAULT_CLIENT_SECRET},
                     ol.DEFAULT_CLIENT_SECRET),
    }


@pytest.mark.parametrize("conn_type", ["oomnitza", "jamf", "airwatch", "mobileiron", "appledep", "onelogin"])
def test_airflow_connections_test_works_for_every_connection_type(conn_type, tmp_path):
    """The UI's Test button and ``airflow connections test`` build the hook from the connection id
    (``[core] test_connection`` must be Enabled) and make one authenticated call."""
    from tests.simulators.base import SimulatorThread, tls_certificates

    build, fields, secret = _simulators()[conn_type]
    certs = tls_certificates(tmp_path)
    with SimulatorThread(build(), ssl_context=certs.server_context()) as sim:
        conn = {"conn_type": conn_type, "host": sim.url, **fields(sim)}
        conn["extra"] = {**conn.get("extra", {}), "cacert_file": certs.ca_file}  # the form's TLS field
        env = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled", "AIRFLOW_CONN_UNDER_TEST": json.dumps(conn)}
        out = airflow("connections", "test", "under_test", home=tmp_path, env=env)
        assert "Connection success!" in out
        assert sim.state.stats.requests >= 1
        if secret:
            assert secret not in out
        if conn_type == "jamf":  # and it can fail: a wrong secret gives the hook's message
            env["AIRFLOW_CONN_UNDER_TEST"] = json.dumps({**conn, "extra": {**conn["extra"], "client_secret": "no"}})
            out = airflow("connections", "test", "under_test", home=tmp_path, env=env, check=False)
            assert "Connection failed!" in out and "refused the API client" in out
