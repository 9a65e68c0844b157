"""OomnitzaHook against the Oomnitza sandbox: auth, mappings, bulk pushes, retries, rejections."""
import json
import logging
import time
import uuid

import pytest
import requests

from airflow_provider_oomnitza.hooks.errors import HttpError
from airflow_provider_oomnitza.bulk import BulkTarget, OomnitzaError, portion_for_run
from airflow_provider_oomnitza.hooks.http_client import retry_after_seconds
from airflow_provider_oomnitza.hooks.oomnitza import OomnitzaHook
from tests.simulators.base import knobs


def hook_for(sim, **values):
    settings = {"url": sim.url, "api_token": "sandbox-token", "verify_ssl": True} | values
    return OomnitzaHook.from_settings(settings, max_wait=2)


def target(data_type="assets", **kw):
    return BulkTarget(connector_name="CSV_assets", data_type=data_type, sync_field=["SERIAL"],
                      portion=str(uuid.uuid4()), **kw)


def test_token_auth_and_server_mappings(oomnitza_sandbox):
    oomnitza_sandbox.state.mappings["Casper"] = {"general.serial_number": "SERIAL", "hardware.model": ["MODEL"]}
    hook = hook_for(oomnitza_sandbox)
    assert hook.get_mappings("Casper") == {"general.serial_number": "SERIAL", "hardware.model": ["MODEL"]}
    assert hook.get_mappings("Unknown") == {}
    assert hook.test_connection() == (True, "Connected to Oomnitza")


def test_bad_token_is_a_clear_error(oomnitza_sandbox):
    hook = hook_for(oomnitza_sandbox, api_token="wrong")
    with pytest.raises(OomnitzaError) as info:
        hook.get_mappings("Casper")
    assert info.value.status == 401
    ok, message = hook_for(oomnitza_sandbox, api_token="wrong").test_connection()
    assert not ok and "401" in message


def test_username_password_login_gets_a_token(oomnitza_sandbox):
    hook = hook_for(oomnitza_sandbox, api_token="", username="admin", password="admin")
    assert hook.get_mappings("X") == {}
    bad = hook_for(oomnitza_sandbox, api_token="", username="admin", password="nope")
    with pytest.raises(OomnitzaError, match="401"):
        bad.get_mappings("X")


def test_airflow_connection_from_the_environment(oomnitza_sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OOMNITZA_TEST", json.dumps(
        {"conn_type": "oomnitza", "host": oomnitza_sandbox.url, "password": "sandbox-token"}))
    hook = OomnitzaHook.from_settings({"conn_id": "oomnitza_test"})
    assert hook.test_connection()[0]


def test_push_batches_concurrently_and_upserts(oomnitza_sandbox):
    hook = hook_for(oomnitza_sandbox)
    records = [{"SERIAL": f"SN{i:04d}", "MODEL": "MacBook"} for i in range(250)]
    t = target()
    result = hook.push(records, t, batch_size=100, workers=3)
    assert (result.sent, result.batches, result.rejected) == (250, 3, [])
    stored = {r["SERIAL"]: r for r in oomnitza_sandbox.state.records("assets")}
    assert len(stored) == 250 and stored["SN0042"]["MODEL"] == "MacBook"
    assert oomnitza_sandbox.state.portion(t.portion)["added"] == 250
    # the same records again: unchanged; a changed one: updated
    hook.push([{"SERIAL": "SN0042", "MODEL": "MacBook Pro"}], t)
    log = hook.run_log(t.portion, page_size=100)
    assert (log["added"], log["updated"]) == (250, 1)
    assert len(log["records"]) == 251
    assert oomnitza_sandbox.state.portion(t.portion)["posts"] == 4


def test_insert_only_and_update_only_reach_oomnitza(oomnitza_sandbox):
    hook = hook_for(oomnitza_sandbox)
    hook.push([{"SERIAL": "A", "MODEL": "x"}], target())
    t = target(update_only=True)
    hook.push([{"SERIAL": "A", "MODEL": "y"}, {"SERIAL": "B", "MODEL": "z"}], t)
    assert {r["SERIAL"]: r["MODEL"] for r in oomnitza_sandbox.state.records("assets")} == {"A": "y"}
    assert hook.run_log(t.portion)["skipped"] == 1


def test_429_with_retry_after_is_retried_to_success(oomnitza_sandbox, capfd, caplog):
    knobs(oomnitza_sandbox, rate_limit=1, rate_window_s=0.5, retry_after_s=0.3)
    waits: list[float] = []

    def sleep(seconds):  # counted, and slept so that the sandbox's window passes
        waits.append(seconds)
        time.sleep(seconds)

    hook = OomnitzaHook.from_settings({"url": oomnitza_sandbox.url, "api_token": "sandbox-token"}, max_wait=2,
                                      sleep=sleep)
    with caplog.at_level(logging.WARNING):
        result = hook.push([{"SERIAL": f"S{i}"} for i in range(6)], target(), batch_size=2, workers=1)
    assert result.sent == 6
    rate_limited = oomnitza_sandbox.state.stats.rate_limited
    assert rate_limited >= 1 and waits == [0.3] * rate_limited  # one wait per 429, as long as Retry-After says
    logged = caplog.text + "".join(capfd.readouterr())
    assert "attempt 1 of 8, next in 0.3 s" in logged and "429" in logged


def test_5xx_burst_is_retried_and_persistent_failure_gives_up(oomnitza_sandbox):
    knobs(oomnitza_sandbox, fail_next=3, fail_status=503, fail_path="^/api/v3/bulk$")
    hook = hook_for(oomnitza_sandbox)
    assert hook.push([{"SERIAL": "S1"}], target()).sent == 1
    assert oomnitza_sandbox.state.stats.injected_failures == 3
    knobs(oomnitza_sandbox, fail_next=100, fail_status=502, fail_path="^/api/v3/bulk$")
    quick = OomnitzaHook.from_settings({"url": oomnitza_sandbox.url, "api_token": "sandbox-token"},
                                       max_attempts=3, max_wait=0.05)
    with pytest.raises(OomnitzaError, match="gave up after 3 attempts"):
        quick.push([{"SERIAL": "S2"}], target())


def test_a_refused_record_is_isolated_and_the_rest_is_sent(oomnitza_sandbox):
    hook = hook_for(oomnitza_sandbox)
    records = [{"SERIAL": f"S{i}"} for i in range(10)]
    records[6] = {"SERIAL": "", "MODEL": "no serial"}  # the sandbox refuses the whole batch (400)
    result = hook.push(records, target(), batch_size=10)
    assert result.sent == 9
    assert [(r, reason[:24]) for r, reason in result.rejected] == [
        ({"SERIAL": "", "MODEL": "no serial"}, "POST /api/v3/bulk: 400 B")
    ]
    assert "has no value for any sync field" in result.rejected[0][1]


def test_unreachable_oomnitza_is_a_clear_error():
    hook = OomnitzaHook.from_settings({"url": "http://127.0.0.1:9", "api_token": "t"}, max_attempts=2, max_wait=0.05)
    with pytest.raises(OomnitzaError, match="cannot reach Oomnitza"):
        hook.get_mappings("X")


def test_locations_and_finalize(oomnitza_sandbox):
    hook = hook_for(oomnitza_sandbox)
    locations = hook.get_locations(page_size=2)
    assert len(locations) == len(oomnitza_sandbox.state.locations) and "location_id" in locations[0]
    t = target()
    hook.push([{"SERIAL": "A"}], t)
    assert hook.finalize(t.portion)["finalized"] is True
    with pytest.raises(OomnitzaError, match="409"):
        hook.push([{"SERIAL": "B"}], t)


def test_portion_is_stable_per_run():
    assert portion_for_run("d", "r1") == portion_for_run("d", "r1") != portion_for_run("d", "r2")
    uuid.UUID(portion_for_run("d", "r1"))


def test_retry_after_parsing():
    response = requests.Response()
    response.headers["Retry-After"] = "2.5"
    assert retry_after_seconds(response) == 2.5
    response.headers["Retry-After"] = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert retry_after_seconds(response) == 0.0
    response.headers["Retry-After"] = "soon"
    assert retry_after_seconds(response) is None


def test_the_token_never_reaches_the_log(oomnitza_sandbox, caplog, capfd):
    knobs(oomnitza_sandbox, fail_next=1, fail_status=500)
    with caplog.at_level(logging.DEBUG):
        hook_for(oomnitza_sandbox).get_mappings("X")
    logged = caplog.text + "".join(capfd.readouterr())
    assert "attempt 1 of 8" in logged and "sandbox-token" not in logged


def test_unknown_connection_extras_are_never_sent_as_headers(oomnitza_sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_O", json.dumps({
        "conn_type": "oomnitza", "host": oomnitza_sandbox.url, "password": "sandbox-token",
        "extra": {"verify": False, "api_key": "leak-me", "timeout": 30, "cacert_file": "", "ssl_protocol": ""}}))
    hook = OomnitzaHook("o")
    session = hook._session()
    assert not {"api_key", "cacert_file", "ssl_protocol"} & set(session.headers) and session.verify is False
    assert hook.get_mappings("X") == {}
    assert oomnitza_sandbox.state.stats.requests == 1


def test_a_host_without_scheme_means_https(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_O", json.dumps({"conn_type": "oomnitza", "host": "acme.oomnitza.com",
                                                      "password": "t"}))
    hook = OomnitzaHook("o")
    hook.get_conn()
    assert hook.url_from_endpoint("api/v3/assets") == "https://acme.oomnitza.com/api/v3/assets"
    monkeypatch.setenv("AIRFLOW_CONN_E", json.dumps({"conn_type": "oomnitza", "host": "localhost", "schema": "http",
                                                      "port": 8080, "password": "t"}))
    explicit = OomnitzaHook("e")
    explicit.get_conn()
    assert explicit.url_from_endpoint("api") == "http://localhost:8080/api"


@pytest.fixture
def recording_oomnitza():
    """A minimal Oomnitza that records every request and can forget its tokens."""
    from aiohttp import web

    from tests.simulators.base import SimState, SimulatorThread, json_response, make_app

    state = SimState()
    state.seen, state.tokens, state.issued = [], set(), 0
    app = make_app(state)

    async def request_token(request):
        form = await request.post()
        state.seen.append((request.path, dict(request.headers), dict(form)))
        if (form.get("login"), form.get("password")) != ("svc", "pa55-word"):
            return json_response({"error": "bad credentials"}, status=401)
        state.issued += 1
        token = f"token-{state.issued}"
        if not getattr(state, "refuse_new_tokens", False):
            state.tokens.add(token)
        return json_response({"token": token})

    async def mappings(request):
        state.seen.append((request.path, dict(request.headers), dict(request.query)))
        if request.headers.get("Authorization2") not in state.tokens:
            return json_response({"error": "invalid token"}, status=401)
        return json_response({})

    app.router.add_post("/api/request_token", request_token)
    app.router.add_get("/api/v2/mappings", mappings)
    with SimulatorThread(app) as sim:
        yield sim


def test_the_password_goes_to_request_token_only_and_basic_auth_is_never_sent(recording_oomnitza):
    sim = recording_oomnitza
    hook = OomnitzaHook.from_settings({"url": sim.url, "username": "svc", "password": "pa55-word"})
    assert hook.get_mappings("A") == {} and hook.get_mappings("B") == {}
    seen = sim.state.seen
    assert [path for path, _, _ in seen] == ["/api/request_token", "/api/v2/mappings", "/api/v2/mappings"]
    assert all("Authorization" not in headers for _, headers, _ in seen)  # never Basic
    for path, headers, values in seen[1:]:
        assert headers["Authorization2"] == "token-1"
        assert "pa55-word" not in json.dumps([headers, values])


def test_a_refused_token_is_renewed_once_and_a_persistent_401_is_an_http_error(recording_oomnitza):
    sim = recording_oomnitza
    hook = OomnitzaHook.from_settings({"url": sim.url, "username": "svc", "password": "pa55-word"})
    hook.get_mappings("A")
    sim.state.tokens.clear()  # Oomnitza forgets the token: one new one, and the call is sent again
    assert hook.get_mappings("B") == {} and sim.state.issued == 2
    sim.state.tokens.clear()
    sim.state.refuse_new_tokens = True  # bad credentials from now on: new tokens are refused too
    with pytest.raises(HttpError) as info:
        hook.get_mappings("C")
    assert info.value.status == 401 and isinstance(info.value, OomnitzaError)
    assert sim.state.issued == 3  # one renewal, not one per retry
