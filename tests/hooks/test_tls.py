"""TLS the same for every hook, over HTTPS with certificates made for the test (trustme).

Each hook's simulator serves HTTPS with a certificate of a throw-away CA. By default the unknown
CA is refused with a message that says what to do, without retries; ``cacert_file`` makes it work;
``verify_ssl = false`` works and logs a warning. ``ssl_protocol`` sets the minimum TLS version.
"""
from __future__ import annotations

import json
import ssl

import pytest

from airflow_provider_oomnitza.hooks.airwatch import AirWatchHook
from airflow_provider_oomnitza.hooks.appledep import AppleDepHook
from airflow_provider_oomnitza.hooks.errors import SourceConfigError
from airflow_provider_oomnitza.hooks.jamf import JamfHook
from airflow_provider_oomnitza.hooks.mobileiron import MobileIronHook
from airflow_provider_oomnitza.hooks.oomnitza import OomnitzaHook
from airflow_provider_oomnitza.hooks.tls import FLOOR, TlsOptions
from tests.simulators import airwatch as aw
from tests.simulators import appledep as dep
from tests.simulators import jamf
from tests.simulators import mobileiron as mi
from tests.simulators import oomnitza
from tests.simulators.base import SimulatorThread, tls_certificates

NOW = 1_790_000_000.0


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return tls_certificates(tmp_path_factory.mktemp("tls"))


def _jamf(url, tls, waits):
    user, password = next(iter(jamf.DEFAULT_ACCOUNTS.items()))
    return JamfHook({"url": url, "username": user, "password": password, **tls}, section="casper",
                    sleep=waits.append)


def _airwatch(url, tls, waits):
    return AirWatchHook({"url": url, "username": aw.DEFAULT_USER, "password": aw.DEFAULT_PASSWORD,
                         "api_token": aw.DEFAULT_TENANT_CODE, **tls}, section="airwatch", sleep=waits.append)


def _mobileiron(url, tls, waits):
    return MobileIronHook({"url": url, "username": mi.DEFAULT_USER, "password": mi.DEFAULT_PASSWORD,
                           "partitions": "All", **tls}, section="mobileiron", sleep=waits.append)


def _appledep(url, tls, waits, state):
    return AppleDepHook({"url": url, "api_token": json.dumps(state.server_token), **tls}, section="appledep",
                        sleep=waits.append)


SOURCES = {
    "jamf": (lambda: jamf.build_app(jamf.JamfState(5, 0)), _jamf),
    "airwatch": (lambda: aw.build_app(aw.AirWatchState(devices=5, seed=1, now=NOW)), _airwatch),
    "mobileiron": (lambda: mi.build_app(mi.MobileIronState(devices=20, seed=1, now=NOW)), _mobileiron),
    "appledep": (lambda: dep.build_app(dep.AppleDEPState(devices=5, seed=1, now=NOW)), None),
}


def source_hook(kind, sim, tls, waits):
    build = SOURCES[kind][1]
    if kind == "appledep":
        return _appledep(sim.url, tls, waits, sim.state)
    return build(sim.url, tls, waits)


@pytest.fixture(params=sorted(SOURCES))
def https_source(request, certs):
    kind = request.param
    with SimulatorThread(SOURCES[kind][0](), ssl_context=certs.server_context()) as sim:
        assert sim.url.startswith("https://")
        yield kind, sim


def test_an_unknown_ca_is_refused_by_default_with_a_clear_message_and_no_retries(https_source):
    kind, sim = https_source
    waits: list[float] = []
    ok, message = source_hook(kind, sim, {}, waits).test_connection()
    assert not ok
    assert "TLS certificate is not trusted" in message and "set cacert_file" in message, message
    assert waits == [] and sim.state.stats.requests == 0  # no HTTP request got through, none retried


def test_cacert_file_trusts_the_servers_ca(https_source, certs):
    kind, sim = https_source
    hook = source_hook(kind, sim, {"cacert_file": certs.ca_file}, [])
    ok, message = hook.test_connection()
    assert ok, message
    assert hook.tls.verify and hook.tls.cacert_file == certs.ca_file


def test_verify_ssl_false_works_with_a_warning(https_source, capfd):
    kind, sim = https_source
    hook = source_hook(kind, sim, {"verify_ssl": False, "cacert_file": "/not/read.pem"}, [])
    ok, message = hook.test_connection()
    assert ok, message
    logged = capfd.readouterr().out
    assert "verify_ssl = false: the server's TLS certificate is not checked" in logged
    assert "(cacert_file and cacert_dir are not used)" in logged


def test_a_minimum_tls_version_the_server_does_not_reach_fails_clearly(certs):
    server = certs.server_context()
    server.maximum_version = ssl.TLSVersion.TLSv1_2
    with SimulatorThread(SOURCES["jamf"][0](), ssl_context=server) as sim:
        ok, message = _jamf(sim.url, {"cacert_file": certs.ca_file, "ssl_protocol": "tls1_3"}, []).test_connection()
        assert not ok and "share no TLS version" in message and "ssl_protocol" in message, message
        ok, message = _jamf(sim.url, {"cacert_file": certs.ca_file, "ssl_protocol": "tls1_2"}, []).test_connection()
        assert ok, message


def test_a_missing_cacert_file_is_a_settings_error_naming_it(certs):
    with pytest.raises(SourceConfigError, match=r"^\[casper\] cacert_file: /no/such.pem is not a file"):
        _jamf("https://127.0.0.1:9", {"cacert_file": "/no/such.pem"}, []).get_conn()


# ---- the Oomnitza hook: the same options, from its connection ----------------------------------------

@pytest.fixture
def https_oomnitza(certs):
    with SimulatorThread(oomnitza.build_app(oomnitza.OomnitzaState()), ssl_context=certs.server_context()) as sim:
        yield sim


def oomnitza_connection(monkeypatch, sim, **extra):
    monkeypatch.setenv("AIRFLOW_CONN_OOMNITZA_TLS", json.dumps({
        "conn_type": "oomnitza", "host": sim.url, "password": "sandbox-token", "extra": extra}))
    return OomnitzaHook("oomnitza_tls", max_attempts=3, sleep=lambda s: None)


def test_oomnitza_refuses_an_unknown_ca_and_trusts_cacert_file(https_oomnitza, certs, monkeypatch):
    ok, message = oomnitza_connection(monkeypatch, https_oomnitza).test_connection()
    assert not ok and "TLS certificate is not trusted" in message and https_oomnitza.state.stats.requests == 0
    ok, message = oomnitza_connection(monkeypatch, https_oomnitza, cacert_file=certs.ca_file).test_connection()
    assert ok, message


def test_oomnitza_ini_settings_verify_ssl_false_works_with_a_warning(https_oomnitza, capfd):
    hook = OomnitzaHook.from_settings({"url": https_oomnitza.url, "api_token": "sandbox-token", "verify_ssl": False})
    assert hook.test_connection() == (True, "Connected to Oomnitza")
    assert "verify_ssl = false" in capfd.readouterr().out
    strict = OomnitzaHook.from_settings({"url": https_oomnitza.url, "api_token": "sandbox-token"}, max_attempts=2)
    ok, message = strict.test_connection()
    assert not ok and "not trusted" in message


# ---- the resolution -------------------------------------------------------------------------------------

class Settings:
    def __init__(self, **values):
        self.__dict__.update(values)


@pytest.mark.parametrize("protocol,minimum,warned", [
    ("", FLOOR, False), ("sslv23", FLOOR, False), ("tls1_2", ssl.TLSVersion.TLSv1_2, False),
    ("tls1_3", ssl.TLSVersion.TLSv1_3, False), ("tls1", ssl.TLSVersion.TLSv1, True),
    ("tls1_1", ssl.TLSVersion.TLSv1_1, True),
])
def test_ssl_protocol_is_a_minimum_never_below_tls_1_2_unless_asked(protocol, minimum, warned, caplog):
    options = TlsOptions.of(Settings(ssl_protocol=protocol), where="[casper]")
    assert options.minimum == minimum and options.ssl_context().minimum_version == minimum
    assert ("no longer considered secure" in caplog.text) is warned


def test_the_resolution_gives_requests_and_ssl_the_same_answer(certs):
    strict = TlsOptions.of(Settings(cacert_file=certs.ca_file))
    assert strict.requests_verify == certs.ca_file and strict.ssl_context().verify_mode == ssl.CERT_REQUIRED
    off = TlsOptions.of(Settings(verify_ssl=False, cacert_file=certs.ca_file))
    assert off.requests_verify is False and off.ssl_context().verify_mode == ssl.CERT_NONE
    assert TlsOptions.of(Settings()).requests_verify is True
