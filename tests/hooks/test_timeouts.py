"""Every network call of every source hook has a finite timeout, and a call that times out is retried
and then fails with a clear message (no hang, no traceback from our code).

Each hook of the generated example config.ini (every section type) runs ``test_connection()``
with ``requests`` answering every call with a read timeout, recording the timeout it was given.
"""
import math

import pytest
import requests

from pydantic import SecretStr

from airflow_provider_oomnitza.config.generate import render_example
from airflow_provider_oomnitza.config.loader import load_config
from tests.simulators.chef import generate_key_pair

# Sources that do not speak HTTP (files, LDAP, an ODBC database): their own timeouts are their hooks'.
NOT_HTTP = {"csv_assets", "csv_users", "json_assets", "json_users", "ldap", "ldap_assets", "sccm"}


def sections(tmp_path):
    path = tmp_path / "config.ini"
    path.write_text(render_example(), encoding="utf-8")
    config = load_config(str(path))
    return [s for s in config.sections.values() if s.source is not None and s.source.hook and not s.errors]


def test_every_http_call_of_every_source_hook_has_a_finite_timeout(tmp_path, monkeypatch):
    from airflow.sdk.module_loading import import_string

    calls: list = []

    def timed_out(self, method, url, **kwargs):
        calls.append(kwargs.get("timeout"))
        raise requests.ReadTimeout("read timed out")

    monkeypatch.setattr(requests.Session, "request", timed_out)
    checked = []
    for section in sections(tmp_path):
        if section.type_name in NOT_HTTP:
            continue
        calls.clear()
        settings = section.settings
        if section.type_name == "chef":  # the example names no key: give it one, so that the hook gets to its calls
            settings = settings.model_copy(update={"client_key": SecretStr(generate_key_pair()[0].decode())})
        hook = import_string(section.source.hook)(settings, section=section.name, max_attempts=2,
                                                  sleep=lambda seconds: None)
        ok, message = hook.test_connection()
        assert not ok, section.name
        assert calls, f"[{section.name}]: test_connection made no HTTP call"
        assert all(isinstance(t, (int, float)) and 0 < t < math.inf for t in calls), (section.name, calls)
        assert len(calls) % 2 == 0, (section.name, calls)  # every call tried max_attempts times
        assert "timed out" in message and "2 attempts" in message, (section.name, message)
        assert "Traceback" not in message
        checked.append(section.type_name)
    assert {"casper", "airwatch", "appledep", "bamboohr", "mobileiron", "okta", "onelogin", "zendesk", "chef",
            "jasper"} <= set(checked)


@pytest.mark.parametrize("timeout", [0.3])
def test_oomnitza_calls_time_out_as_configured_and_fail_clearly(timeout):
    """A server that accepts the connection and never answers: each attempt ends after the timeout."""
    import socket
    import threading

    from airflow_provider_oomnitza.bulk import OomnitzaError
    from airflow_provider_oomnitza.hooks.oomnitza import OomnitzaHook

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])  # kept open, never answered
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        hook = OomnitzaHook.from_settings({"url": f"http://127.0.0.1:{server.getsockname()[1]}",
                                           "api_token": "t0ken-never-answered"},
                                          timeout=timeout, max_attempts=3, sleep=lambda seconds: None)
        with pytest.raises(OomnitzaError) as failed:
            hook.get_mappings("AuthTest")
        assert "timed out; 3 attempts" in str(failed.value) and "cannot reach Oomnitza" in str(failed.value)
        assert len(accepted) == 3
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        server.close()
