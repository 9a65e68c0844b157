"""Every source type in the registry (and Oomnitza) has a connection type with a form and a working Test.

Goes over ``SOURCE_TYPES``, so a source added later without a hook, a connection type, form fields
or ``test_connection`` fails here. Airflow's own ``ProvidersManager`` loads the provider, as the
API server does for the connection form.
"""
import importlib
import json
import socket

import pytest
from airflow.sdk import Connection

from airflow_provider_oomnitza.config.settings import SettingsModel
from airflow_provider_oomnitza.hooks.base import SourceHook
from airflow_provider_oomnitza.sources import SOURCE_TYPES
from tests.simulators.chef import generate_key_pair

OOMNITZA_HOOK = "airflow_provider_oomnitza.hooks.oomnitza.OomnitzaHook"
# csv_* / json_* sections read files named in the INI: no credentials, so no connection type.
# Kept honest below: their settings may hold no secret (a secret there would need a connection).
NO_CREDENTIALS = {name for name in SOURCE_TYPES if name.startswith(("csv_", "json_"))}


# Types whose hook needs settings or a credential in a specific shape before it tries the server
# ("{port}" stands for the closed port).
EXTRA_FOR_TEST = {
    "appledep": lambda: {"password": json.dumps({"consumer_key": "CK_x", "consumer_secret": "CS_x",
                                                 "access_token": "AT_x", "access_secret": "AS_x"})},
    "chef": lambda: {"host": "http://127.0.0.1:{port}/organizations/acme",
                     "password": generate_key_pair()[0].decode()},
    "jasper": lambda: {"host": "http://127.0.0.1:{port}/ws/schema/Terminal.wsdl",
                       "extra": json.dumps({"api_token": "a-license-key"})},
    "ldap": lambda: {"host": "ldap://127.0.0.1:{port}", "extra": json.dumps({"base_dn": "dc=example,dc=com"})},
    "ldap_assets": lambda: {"host": "ldap://127.0.0.1:{port}", "extra": json.dumps({"base_dn": "dc=example,dc=com"})},
    # The PostgreSQL ODBC driver stands in for SQL Server's: the server named is what counts.
    "sccm": lambda: {"host": "127.0.0.1", "port": "{port}", "schema": "CM_ABC",
                     "extra": json.dumps({"driver": "PostgreSQL Unicode"})},
}

HOOKS = {"oomnitza": OOMNITZA_HOOK} | {name: source.hook for name, source in SOURCE_TYPES.items()
                                      if name not in NO_CREDENTIALS}


def _class(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.fixture(scope="module")
def providers():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    return manager.hooks, manager.connection_form_widgets


@pytest.mark.parametrize("type_name", sorted(HOOKS))
def test_every_type_has_a_registered_connection_type_with_a_form(type_name, providers):
    hooks, widgets = providers
    assert HOOKS[type_name], f"source type {type_name} has no hook, so no connection type"
    hook = _class(HOOKS[type_name])
    conn_type = hook.conn_type
    assert conn_type, f"{HOOKS[type_name]} declares no conn_type"
    info = hooks.get(conn_type)
    assert info is not None, f"connection type {conn_type!r} ({type_name}) is not registered in get_provider_info"
    # ldap_assets reads the ldap connection type (its hook is a subclass of the one registered).
    assert issubclass(hook, _class(info.hook_class_name)) and info.package_name == "airflow-provider-oomnitza"
    fields = {w.field_name: w for name, w in widgets.items() if name.startswith(f"extra__{conn_type}__")}
    assert fields, f"connection type {conn_type!r} has no conn-fields"
    # Every secret setting of the type can be kept in the connection: a password field or a masked form field.
    model = hook.settings_model if issubclass(hook, SourceHook) else None
    if model is not None:
        carried = set(hook.connection_fields.values())
        for secret in model.secret_keys():
            if secret in carried:
                continue
            assert secret in fields and fields[secret].is_sensitive, (
                f"{type_name}: secret setting {secret!r} has no masked (format: password) form field")


@pytest.mark.parametrize("type_name", sorted(HOOKS))
def test_every_type_has_its_own_test_connection_that_reaches_the_server(type_name, monkeypatch):
    """The provider's own test (not a base class's): the Test button tries the configured server (here a
    closed port, so it must fail naming it)."""
    assert HOOKS[type_name], f"source type {type_name} has no hook, so no connection test"
    hook_class = _class(HOOKS[type_name])
    assert hook_class.test_connection.__module__.startswith("airflow_provider_oomnitza."), (
        f"{hook_class.__name__} has no test_connection of this provider")
    if issubclass(hook_class, SourceHook):
        assert hook_class.check is not SourceHook.check, f"{hook_class.__name__} has no check()"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conn_id = f"registry_{type_name}"
    fields = {"conn_type": hook_class.conn_type, "host": "http://127.0.0.1:{port}", "login": "someone",
              "password": "a-password", **EXTRA_FOR_TEST.get(type_name, dict)()}
    fields = {k: v.replace("{port}", str(port)) if k in ("host", "port") else v for k, v in fields.items()}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", Connection(conn_id=conn_id, **fields).as_json())
    hook = hook_class(**{hook_class.conn_name_attr: conn_id}, max_attempts=1)
    ok, message = hook.test_connection()
    assert not ok and ("127.0.0.1" in message and str(port) in message), message


@pytest.mark.parametrize("type_name", sorted(NO_CREDENTIALS))
def test_file_sources_hold_no_secret(type_name):
    source = SOURCE_TYPES[type_name]
    assert source.hook, f"{type_name} has no hook"
    assert issubclass(source.settings, SettingsModel)
    assert not source.settings.secret_keys(), f"{type_name} has secrets but no connection type"
