"""AppleDepHook against the Apple DEP simulator: OAuth1 session, session renewal and rotation,
refusals that stop at once, retries, cursor paging, per-serial details."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_oomnitza.hooks.appledep import AppleDepAuthError, AppleDepError, AppleDepHook
from airflow_provider_oomnitza.hooks.errors import SourceConfigError
from tests.simulators import appledep as dep
from tests.simulators.base import SimulatorThread, knobs

NOW = 1_790_000_000.0


def start(devices: int = 600, **config):
    state = dep.AppleDEPState(devices=devices, seed=17, now=NOW)
    state.config.update(config)
    return SimulatorThread(dep.build_app(state))


@pytest.fixture
def sim():
    with start() as s:
        yield s


def hook_for(sim, token: dict | None = None, waits: list | None = None, **attrs) -> AppleDepHook:
    """The hook for the simulator; ``waits`` collects the retry waits it takes (counted, not slept)."""
    hook = AppleDepHook({"url": sim.url, "api_token": json.dumps(token or sim.state.server_token)},
                        section="appledep", sleep=None if waits is None else waits.append)
    attrs.setdefault("max_wait", 2.0)
    for name, value in attrs.items():
        setattr(hook, name, value)
    return hook


def calls(sim, path: str) -> int:
    return sim.state.stats.by_path.get(path, 0)


def config(sim, **values):
    requests.post(sim.url + "/_sim/config", json=values).raise_for_status()


def expected_serials(sim) -> list[str]:
    """Apple's order, without the serials the simulator answers FAILED for."""
    return [s for s in sim.state.devices if sim.state.detail_status(s) == "SUCCESS"]


def after_first_list_page(hook, action):
    """Run ``action`` once, right after the hook's first POST /server/devices."""
    original = hook._call

    def wrapper(method, path, **kwargs):
        result = original(method, path, **kwargs)
        if path == "server/devices" and not getattr(wrapper, "done", False):
            wrapper.done = True
            action()
        return result

    hook._call = wrapper


# ---- the session -------------------------------------------------------------------------------

def test_a_correctly_signed_session_and_the_headers_of_later_calls(sim):
    hook = hook_for(sim)
    assert hook.check() == ("Connected to Apple DEP: server 'Oomnitza Simulated MDM' of 'Example Corp' "
                            "(session protocol 3)")
    assert (calls(sim, "/session"), calls(sim, "/account"), hook.sessions_opened) == (1, 1, 1)
    assert hook.session_token in sim.state.sessions
    # X-Server-Protocol-Version >= 2 is sent: the simulator leaves os/device_family out below 2.
    record = hook.record_by_id(next(iter(sim.state.devices)).lower())
    assert record["os"] and record["device_family"] and record["response_status"] == "SUCCESS"
    assert calls(sim, "/session") == 1
    assert hook.test_connection()[0]


@pytest.mark.parametrize("override", [{"consumer_secret": "CS_wrong"}, {"access_token": "AT_unknown"}])
def test_a_wrong_server_token_fails_with_a_clear_message_after_one_try(sim, override):
    hook = hook_for(sim, token={**sim.state.server_token, **override})
    with pytest.raises(AppleDepAuthError) as info:
        list(hook.records())
    message = str(info.value)
    assert message.startswith("[appledep] Apple DEP refused the server token (401 UNAUTHORIZED)")
    assert "Download Token" in message and "clock" in message
    assert isinstance(info.value, AirflowFailException)  # Airflow does not retry the task
    assert (calls(sim, "/session"), calls(sim, "/server/devices")) == (1, 0)
    ok, text = hook.test_connection()
    assert not ok and "refused the server token" in text
    assert calls(sim, "/session") == 1  # the refusal is remembered: Apple is not asked again


def test_a_malformed_token_from_a_connection_names_the_setting(sim, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DEP_TEST", json.dumps(
        {"conn_type": "appledep", "host": sim.url, "password": '{"consumer_key": "CK_1"}'}))
    with pytest.raises(SourceConfigError, match=r"^\[appledep\] api_token: the DEP server token needs the keys"):
        AppleDepHook({"conn_id": "dep_test"}, section="appledep").check()
    assert calls(sim, "/session") == 0


def test_url_and_token_from_an_airflow_connection(sim, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DEP_TEST", json.dumps(
        {"conn_type": "appledep", "host": sim.url, "password": json.dumps(sim.state.server_token),
         "extra": {"verify_ssl": "false"}}))
    hook = AppleDepHook(appledep_conn_id="dep_test")  # as Airflow builds it for a connection test
    assert hook.settings.url == sim.url and hook.tls.verify is False
    assert hook.test_connection() == (True, hook.check())


def test_an_expired_session_gets_one_new_session_however_many_threads_notice(sim):
    hook = hook_for(sim)
    hook.check()
    first = hook.session_token
    config(sim, clock_offset_s=dep.DEPConfig.session_ttl_s + 5)  # every session issued so far has expired
    batches = [[s] for s in list(sim.state.devices)[:16]]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(hook.details, batches))
    assert all(len(a) == 1 for a in answers)
    assert (calls(sim, "/session"), hook.sessions_opened) == (2, 2)
    assert hook.session_token != first


def test_an_unrecognised_session_gets_one_new_session(sim):
    hook = hook_for(sim)
    hook.check()
    sim.state.sessions.clear()  # Apple forgot it: 403 FORBIDDEN
    assert hook.check().startswith("Connected")
    assert calls(sim, "/session") == 2


def test_a_rotated_session_header_is_followed(sim):
    config(sim, rotate_every=2, strict_rotation=True)  # the replaced token stops working at once
    hook = hook_for(sim)
    for _ in range(7):
        hook.check()
    assert hook.rotations == 3
    assert calls(sim, "/session") == 1  # never a 401, so never a new session


def test_rotations_during_a_concurrent_run(sim):
    config(sim, rotate_every=3)
    hook = hook_for(sim, page_limit=40, detail_workers=3)
    serials = [r["serial_number"] for r in hook.records()]
    assert serials == expected_serials(sim)
    assert hook.rotations >= 3 and calls(sim, "/session") == 1


# ---- refusals that stop at once ------------------------------------------------------------------

def test_terms_not_signed_stops_at_once(sim):
    config(sim, terms_not_signed=True)
    hook = hook_for(sim)
    with pytest.raises(AppleDepAuthError) as info:
        list(hook.records())
    message = str(info.value)
    assert "403 T_C_NOT_SIGNED" in message and "accept" in message and "business.apple.com" in message
    assert isinstance(info.value, AirflowFailException)
    assert (calls(sim, "/session"), calls(sim, "/server/devices")) == (1, 0)
    assert not hook.test_connection()[0] and calls(sim, "/session") == 1


def test_terms_unsigned_during_a_run_stop_it_without_new_sessions(sim):
    waits: list[float] = []
    hook = hook_for(sim, waits=waits, page_limit=50, detail_workers=3)
    after_first_list_page(hook, lambda: config(sim, terms_not_signed=True))
    with pytest.raises(AppleDepAuthError, match=r"POST /\S+: refused \(403 T_C_NOT_SIGNED\)"):
        list(hook.records())
    assert waits == []  # no retry waits
    assert calls(sim, "/session") == 1 and calls(sim, "/server/devices") <= 2


def test_an_expired_server_token_is_access_denied():
    token = dep.make_server_token(4, now=NOW)
    token["access_token_expiry"] = "2020-01-01T00:00:00Z"
    state = dep.AppleDEPState(devices=10, seed=4, now=NOW, server_token=token)
    with SimulatorThread(dep.build_app(state)) as s:
        with pytest.raises(AppleDepAuthError, match=r"403 ACCESS_DENIED\): the server token has expired or was "
                                                    r"revoked.*download a new server token"):
            hook_for(s).check()
        assert calls(s, "/session") == 1


# ---- retries ----------------------------------------------------------------------------------

def test_503_with_retry_after_is_retried(sim):
    knobs(sim, fail_next=3, fail_status=503, retry_after_s=0.3, fail_path="devices$")
    waits: list[float] = []
    hook = hook_for(sim, waits=waits, page_limit=200)
    serials = [r["serial_number"] for r in hook.records()]
    assert waits == [0.3, 0.3, 0.3]  # three waits of the announced Retry-After
    assert serials == expected_serials(sim)
    assert sim.state.stats.injected_failures == 3 and calls(sim, "/session") == 1


def test_429_as_an_http_date_and_retries_that_run_out(sim):
    config(sim, throttle_status=429, retry_after_http_date=True)
    knobs(sim, rate_limit=2, rate_window_s=0.5, retry_after_s=1)  # whole seconds in an HTTP date
    hook = hook_for(sim, page_limit=300, detail_workers=1)
    assert len(list(hook.records())) == len(expected_serials(sim))
    assert sim.state.stats.rate_limited >= 1
    knobs(sim, rate_limit=0, fail_next=5, fail_status=503, fail_path="^/account$", retry_after_s=0)
    with pytest.raises(AppleDepError, match=r"^\[appledep\] Apple DEP GET http://\S+/account: gave up after 3 "
                                            r"attempts: 503 Service Unavailable: SERVICE_UNAVAILABLE$"):
        hook_for(sim, max_attempts=3).check()


# ---- paging and details ---------------------------------------------------------------------------

def test_paging_yields_every_device_exactly_once_in_apples_order(sim):
    hook = hook_for(sim, page_limit=50, detail_workers=3)
    records = list(hook.records())
    serials = [r["serial_number"] for r in records]
    assert serials == expected_serials(sim) and len(set(serials)) == len(serials)
    pages = -(-len(sim.state.devices) // 50)
    assert (calls(sim, "/server/devices"), calls(sim, "/devices")) == (pages, pages)
    # Records are Apple's detail objects, as the original yielded them.
    first = records[0]
    assert first == {**sim.state.devices[first["serial_number"]], "response_status": "SUCCESS"}


def test_a_serial_listed_twice_is_asked_for_and_yielded_once(sim):
    hook = hook_for(sim, page_limit=50)
    first = next(iter(sim.state.devices.values()))

    def list_it_again():
        for cursor in sim.state.cursors.values():
            cursor.snapshot.insert(60, dict(first, serial_number=first["serial_number"].lower()))

    after_first_list_page(hook, list_it_again)
    serials = [r["serial_number"] for r in hook.records()]
    assert serials == expected_serials(sim)
    assert calls(sim, "/devices") == calls(sim, "/server/devices")


def test_more_to_follow_as_a_string_and_the_default_page_size():
    with start(devices=2300, more_to_follow_as_string=True) as s:
        hook = hook_for(s)
        assert len(list(hook.records())) == len(expected_serials(s))
        assert (calls(s, "/server/devices"), calls(s, "/devices")) == (3, 3)  # 1000 a page


def test_mixed_response_statuses_keep_only_success(sim):
    config(sim, detail_failed_ratio=0.2)
    hook = hook_for(sim, page_limit=100)
    gone = list(sim.state.devices)[5]

    def delete_one():  # deleted after the list was taken: NOT_ACCESSIBLE in the details
        del sim.state.devices[gone]

    after_first_list_page(hook, delete_one)
    serials = [r["serial_number"] for r in hook.records()]
    failed = [s for s in sim.state.devices if sim.state.detail_status(s) == "FAILED"]
    assert len(failed) > 50 and serials == expected_serials(sim)
    assert f"Apple DEP device {gone}: details answered NOT_ACCESSIBLE; skipped" in hook.problems
    assert sorted(hook.problems) == sorted(
        [f"Apple DEP device {s}: details answered FAILED; skipped" for s in failed]
        + [f"Apple DEP device {gone}: details answered NOT_ACCESSIBLE; skipped"])


def test_an_empty_account():
    with start(devices=0) as s:
        hook = hook_for(s)
        assert list(hook.records()) == [] and hook.problems == []
        assert (calls(s, "/server/devices"), calls(s, "/devices")) == (1, 0)


@pytest.mark.parametrize("code", ["INVALID_CURSOR", "EXHAUSTED_CURSOR", "EXPIRED_CURSOR"])
def test_cursor_errors_are_clear(sim, code):
    def spoil():
        if code == "INVALID_CURSOR":
            sim.state.cursors.clear()
        elif code == "EXHAUSTED_CURSOR":
            for cursor in sim.state.cursors.values():
                cursor.offset = len(cursor.snapshot)
        else:
            config(sim, clock_offset_s=8 * 86400)  # the session expires too: a new one, then the cursor error

    hook = hook_for(sim, page_limit=100)
    after_first_list_page(hook, spoil)
    with pytest.raises(AppleDepError) as info:
        list(hook.records())
    message = str(info.value)
    assert message.startswith(f"[appledep] Apple DEP POST /server/devices: 400 {code}: ")
    assert message.endswith("Run the sync again: each run starts a new full fetch.")
    assert not isinstance(info.value, AirflowFailException)  # a task retry starts a new fetch
    if code == "EXPIRED_CURSOR":
        # The expired session gets exactly one new session; whether the list call itself saw the 401
        # (and was sent twice) depends on whether a detail call in flight renewed the session first.
        assert calls(sim, "/session") == 2 and calls(sim, "/server/devices") in (2, 3)
    else:
        assert (calls(sim, "/server/devices"), calls(sim, "/session")) == (2, 1)


def test_record_by_id(sim):
    hook = hook_for(sim)
    serial = next(iter(sim.state.devices))
    assert hook.record_by_id(serial)["serial_number"] == serial
    assert hook.record_by_id("C02NOTOURS01") is None
    assert hook.problems == ["Apple DEP device C02NOTOURS01: details answered NOT_ACCESSIBLE; skipped"]


def test_stopping_early_leaves_no_work_behind(sim):
    hook = hook_for(sim, page_limit=50, detail_workers=3)
    records = hook.records()
    assert len([next(records) for _ in range(10)]) == 10
    records.close()
    assert calls(sim, "/devices") <= 4  # the first page and the three in flight at most
