"""JasperHook against the Jasper SOAP simulator: WSDL, WS-Security, paging, changed-since, faults, TLS."""
from __future__ import annotations

import datetime as dt
import json
import math
import time

import pytest
import requests
from aiohttp import web

from airflow_provider_oomnitza.hooks.errors import SourceConfigError
from airflow_provider_oomnitza.hooks.jasper import JasperConfigError, JasperError, JasperHook, parse_utc
from airflow_provider_oomnitza.sources.jasper import JasperSettings
from tests.simulators import jasper as js
from tests.servers.silent import SilentServer
from tests.simulators.base import SimulatorThread, knobs, tls_certificates

NOW = 1_790_000_000.0  # the inventory's "now": every SIM changed before it
N = 230  # five listing pages of 50
MODIFIED = "GetModifiedTerminals"
DETAILS = "GetTerminalDetails"


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(js.build_app(js.JasperState(terminals=N, seed=21, now=NOW))) as s:
        yield s


@pytest.fixture(autouse=True)
def _reset(request):
    if "sim" in request.fixturenames:
        requests.post(request.getfixturevalue("sim").url + "/_sim/reset").raise_for_status()


def settings(sim, **extra):
    return {"wsdl_path": sim and sim.url + "/ws/schema/Terminal.wsdl", "username": js.DEFAULT_USER,
            "password": js.DEFAULT_PASSWORD, "api_token": js.DEFAULT_LICENSE_KEY, "sync_field": "SERIAL_NUMBER",
            **extra}


def hook(sim, waits=None, **extra):
    return JasperHook(settings(sim, **extra), section="jasper", max_attempts=3,
                      sleep=waits.append if waits is not None else None)


def oldest_first(state):
    return [t.iccid for t in state.ordered()]


def at(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


# ---- reading ---------------------------------------------------------------------------------------

def test_first_run_reads_every_sim_once_oldest_change_first_as_plain_json(sim):
    h = hook(sim)
    before = time.time()
    records = list(h.records())
    after = time.time()
    assert [r["iccid"] for r in records] == oldest_first(sim.state)
    assert h.calls == {MODIFIED: math.ceil(N / 50), DETAILS: math.ceil(N / 50)}  # one details call per page
    json.dumps(records, allow_nan=False)  # plain JSON: no datetimes, decimals or zeep objects
    first = records[0]
    terminal = sim.state.by_iccid[first["iccid"]]
    assert first["dateModified"] == js.iso_ms(terminal.modified_ms).replace("+00:00", "Z")
    assert first["dateModified"].endswith("Z") and parse_utc(first["dateModified"]).timestamp() * 1000 == \
        terminal.modified_ms
    assert first["accountId"] == terminal.account_id and first["version"] == terminal.version
    assert any(isinstance(r["monthToDateDataUsage"], float) for r in records)
    assert any(r.get("msisdn") for r in records)  # the XML attribute, as a key
    assert not any(k.startswith("_") for r in records for k in r)  # zeep's xs:any / anyAttribute slots
    assert isinstance(first["rating"], dict)
    # The next run reads from Control Center's time of the first answer, less the overlap.
    watermark = parse_utc(h.watermark).timestamp()
    assert before - 300 - 1 <= watermark <= after - 300


def test_a_later_run_reads_only_what_changed_after_since(sim):
    state = sim.state
    since = at(NOW + 60)
    changed = [t.iccid for t in state.terminals[5:8]] + [state.terminals[150].iccid]
    state.touch(changed[:3], at(NOW + 120), status="DEACTIVATED_NAME")
    state.touch(changed[3:], at(NOW + 180))
    state.touch([state.terminals[9].iccid], at(NOW + 60))  # exactly at since: not after it
    h = hook(sim)
    records = list(h.records(since=since.isoformat()))
    assert [r["iccid"] for r in records] == sorted(changed[:3]) + changed[3:]
    assert [r["status"] for r in records[:3]] == ["DEACTIVATED_NAME"] * 3
    assert h.calls == {MODIFIED: 1, DETAILS: 1}
    nothing = hook(sim)
    assert list(nothing.records(since=h.watermark)) == [] and nothing.calls == {MODIFIED: 1}


def touching_during_listing(state, after_page: int):
    """Changes the first SIM of the listing once page ``after_page`` of the first listing was answered."""
    seen = {"listings": 0, "moved": None}

    @web.middleware
    async def middleware(request, handler):
        response = await handler(request)
        if request.headers.get("SOAPAction", "").strip('"').endswith(MODIFIED):
            seen["listings"] += 1
            if seen["listings"] == after_page:
                seen["moved"] = state.ordered()[0].iccid
                state.touch([seen["moved"]], time.time())
        return response

    return middleware, seen


@pytest.mark.parametrize("passes", [3, 1])
def test_a_sim_changed_while_listing_shifts_the_pages_and_a_second_listing_finds_what_it_hid(passes):
    state = js.JasperState(terminals=N, seed=22, now=NOW)
    ordered = oldest_first(state)
    app = js.build_app(state)
    middleware, seen = touching_during_listing(state, after_page=2)
    app.middlewares.append(middleware)
    with SimulatorThread(app) as s:
        h = hook(s)
        h.max_passes = passes
        got = [r["iccid"] for r in h.records()]
    hidden = ordered[100]  # first of page 3, shifted onto page 2 after page 2 was read
    assert seen["moved"] == ordered[0]
    if passes == 3:
        assert sorted(got) == sorted(ordered) and len(got) == len(set(got))
        assert got[-1] == hidden
        assert h.calls[MODIFIED] == 2 * math.ceil(N / 50)  # the second listing saw no change: done
        assert h.watermark is not None
    else:  # one listing only: the hidden SIM is missed, so the watermark must not move
        assert hidden not in got and len(got) == N - 1
        assert h.watermark is None


def test_details_of_sims_gone_since_the_listing_are_left_out(sim):
    h = hook(sim)
    known = sim.state.terminals[0].iccid
    assert list(h.details(["89011700000000000000"])) == []  # fault 100100: none known
    assert [r["iccid"] for r in h.details(["89011700000000000001", known])] == [known]
    assert h.gone == 2 and h.calls == {DETAILS: 2}


def test_the_shipped_wsdl_file_with_service_url(sim):
    h = hook(sim, wsdl_path=str(js.WSDL_PATH), service_url=sim.url + js.SERVICE_PATH)
    assert len(list(h.records(since=at(NOW - 86400 * 30).isoformat()))) > 0
    assert h.address == sim.url + js.SERVICE_PATH


# ---- faults ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad, key, code", [({"password": "Wr0ng-password"}, "password", "400200"),
                                            ({"username": "nobody@example.com"}, "password", "400200"),
                                            ({"api_token": "not-the-license-key"}, "api_token", "400100")])
def test_refused_credentials_fail_at_once_naming_the_setting(sim, bad, key, code):
    waits = []
    h = hook(sim, waits, **bad)
    with pytest.raises(JasperConfigError) as info:
        list(h.records())
    message = str(info.value)
    assert message.startswith(f"[jasper] {key}: ") and f"fault {code}" in message
    assert h.calls == {MODIFIED: 1} and waits == []
    assert js.DEFAULT_PASSWORD not in message and "Wr0ng-password" not in message
    assert "not-the-license-key" not in message


def test_an_account_access_fault_fails_at_once():
    @web.middleware
    async def refuse(request, handler):
        return js.fault_response("400201") if request.method == "POST" else await handler(request)

    app = js.build_app(js.JasperState(terminals=5, seed=1, now=NOW))
    app.middlewares.append(refuse)
    with SimulatorThread(app) as s:
        h = hook(s)
        with pytest.raises(JasperConfigError, match=r"^\[jasper\] username: .*fault 400201: Access violation"):
            h.check()
    assert h.calls == {MODIFIED: 1}


@pytest.mark.parametrize("knob", [{"fail_next": 2, "fail_status": 500},   # fault 400300
                                  {"fail_next": 2, "fail_status": 503},   # a gateway's HTML page
                                  {"fail_next": 2, "fail_status": 429}])  # HTML again, from a proxy
def test_transient_faults_are_retried_and_every_sim_arrives(sim, knob):
    waits = []
    knobs(sim, **knob, fail_path=js.SERVICE_PATH)
    h = hook(sim, waits)
    assert len(list(h.records())) == N
    assert len(waits) == 2
    assert h.calls[MODIFIED] == math.ceil(N / 50) + 2


def test_the_rate_limit_fault_is_waited_out():
    state = js.JasperState(terminals=120, seed=3, now=NOW)
    with SimulatorThread(js.build_app(state)) as s:
        knobs(s, rate_limit=2, rate_window_s=0.3)
        h = JasperHook(settings(s), section="jasper", max_attempts=8, max_wait=0.35)
        assert len(list(h.records())) == 120
        assert state.stats.rate_limited >= 1
        assert sum(h.calls.values()) == 6 + state.stats.rate_limited


def test_giving_up_after_the_attempts(sim):
    knobs(sim, fail_next=5, fail_status=500, fail_path=js.SERVICE_PATH)
    waits = []
    with pytest.raises(JasperError, match=r"^\[jasper\] Jasper GetModifiedTerminals at .*: gave up after 3 "
                                          r"attempts: fault 400300: System internal error"):
        list(hook(sim, waits).records())
    assert len(waits) == 2


@pytest.mark.parametrize("silent_part, what", [("service", "GetModifiedTerminals at"), ("wsdl", "load the WSDL")])
def test_a_service_that_never_answers_times_out_and_is_retried(silent_part, what):
    waits = []
    with SilentServer() as silent:
        where = ({"wsdl_path": str(js.WSDL_PATH), "service_url": silent.url() + js.SERVICE_PATH}
                 if silent_part == "service" else {"wsdl_path": silent.url() + "/ws/schema/Terminal.wsdl"})
        h = JasperHook(settings(None, **where), section="jasper", timeout=0.2, max_attempts=2, sleep=waits.append)
        with pytest.raises(JasperError, match=rf"^\[jasper\] Jasper {what} .*: timed out"):
            h.check()
    assert silent.accepted == 2 and len(waits) == 1
    assert h.calls == ({MODIFIED: 2} if silent_part == "service" else {})


def test_a_wsdl_that_is_unavailable_for_a_moment_is_asked_for_again(sim):
    waits = []
    knobs(sim, fail_next=2, fail_status=503, fail_path="/ws/schema/Terminal.wsdl")
    assert hook(sim, waits).check().startswith("Connected to Jasper")
    assert len(waits) == 2


# ---- WSDL, TLS, connections ------------------------------------------------------------------------

def test_a_missing_wsdl_file_or_url_is_a_settings_error(sim, tmp_path):
    with pytest.raises(SourceConfigError, match=r"^\[jasper\] wsdl_path: .*nowhere.wsdl is not a file"):
        hook(sim, wsdl_path=str(tmp_path / "nowhere.wsdl")).check()
    with pytest.raises(SourceConfigError, match=r"^\[jasper\] wsdl_path: .* answered 404"):
        hook(sim, wsdl_path=sim.url + "/ws/schema/Nothing.wsdl").check()
    not_wsdl = tmp_path / "page.wsdl"
    not_wsdl.write_text("<html><body>Sign in</body></html>")
    with pytest.raises(SourceConfigError, match=r"^\[jasper\] wsdl_path: .*page.wsdl has no Terminal service"):
        hook(sim, wsdl_path=str(not_wsdl)).check()
    other = tmp_path / "Other.wsdl"  # a WSDL of another service: no GetModifiedTerminals operation
    other.write_text(js.WSDL_PATH.read_text().replace('operation name="GetModifiedTerminals"',
                                                      'operation name="GetSessionInfo"'))
    (tmp_path / "JasperAPI.xsd").write_bytes((js.WSDL_DIR / "JasperAPI.xsd").read_bytes())
    with pytest.raises(SourceConfigError, match=r"^\[jasper\] wsdl_path: .* has no GetModifiedTerminals operation"):
        hook(sim, wsdl_path=str(other), service_url=sim.url + js.SERVICE_PATH).check()


def test_tls_with_a_private_ca(tmp_path):
    certs = tls_certificates(tmp_path)
    with SimulatorThread(js.build_app(js.JasperState(terminals=3, seed=1, now=NOW)),
                         ssl_context=certs.server_context()) as s:
        assert s.url.startswith("https://")
        trusted = hook(s, cacert_file=certs.ca_file)
        assert len(list(trusted.records())) == 3
        waits = []
        with pytest.raises(JasperError, match="TLS certificate is not trusted.*cacert_file"):
            hook(s, waits).check()
        assert waits == []  # a certificate does not get better by asking again


def test_from_an_airflow_connection(sim, monkeypatch):
    conn = {"conn_type": "jasper", "host": sim.url + "/ws/schema/Terminal.wsdl", "login": js.DEFAULT_USER,
            "password": js.DEFAULT_PASSWORD, "extra": {"api_token": js.DEFAULT_LICENSE_KEY}}
    monkeypatch.setenv("AIRFLOW_CONN_JASPER_DEFAULT", json.dumps(conn))
    ok, message = JasperHook().test_connection()
    assert ok and message.startswith(f"Connected to Jasper at {sim.url}{js.SERVICE_PATH}: user {js.DEFAULT_USER}")
    monkeypatch.setenv("AIRFLOW_CONN_OTHER", json.dumps({**conn, "extra": {"api_token": "wrong-key-123"}}))
    ok, message = JasperHook(jasper_conn_id="other").test_connection()
    assert not ok and "api_token" in message and "400100" in message and "wrong-key-123" not in message


def test_the_original_storage_setting_is_accepted_and_said_to_be_unused():
    base = {"username": "u", "password": "p", "api_token": "k", "sync_field": "SERIAL_NUMBER"}
    assert JasperSettings.model_validate(base).notes() == []
    notes = dict(JasperSettings.model_validate({**base, "storage": "/var/lib/connector/jasper.db"}).notes())
    assert "not used" in notes["storage"] and "_state" in notes["storage"]
