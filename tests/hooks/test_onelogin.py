"""OneLoginHook against the OneLogin simulator, and the onelogin settings.

Waits are counted through the hook's ``sleep``; where the simulator's budget must actually reset,
that ``sleep`` moves the simulator's clock on by the time asked for instead of sleeping.
"""
from __future__ import annotations

import base64
import json
import math

import pytest
import requests
from aiohttp import web
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_oomnitza.config.loader import load_config
from airflow_provider_oomnitza.hooks.onelogin import OneLoginAuthError, OneLoginError, OneLoginHook, users_from_xml
from airflow_provider_oomnitza.mapping.needs import needs_of
from tests.simulators import onelogin as ol
from tests.simulators.base import SimulatorThread, knobs, stats, tls_certificates

N_USERS = 230
USERS = "/api/2/users"
TOKEN = "/auth/oauth2/v2/token"
FAST = {"max_wait": 0.05}


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(ol.build_app(ol.OneLoginState(users=N_USERS, seed=5))) as s:
        yield s


@pytest.fixture(autouse=True)
def _reset(request):
    if "sim" in request.fixturenames:
        requests.post(request.getfixturevalue("sim").url + "/_sim/reset").raise_for_status()


def client(sim, **extra):
    return {"url": sim.url, "client_id": ol.DEFAULT_CLIENT_ID, "client_secret": ol.DEFAULT_CLIENT_SECRET, **extra}


def legacy(sim, **extra):
    return {"url": sim.url, "api_token": ol.DEFAULT_API_TOKEN, **extra}


def sim_config(sim, **values):
    requests.post(sim.url + "/_sim/config", json=values).raise_for_status()


def all_ids(sim):
    return [u["id"] for u in sim.state.users]


def ids(records):
    return [r["id"] for r in records]


class SimClock:
    """A ``sleep`` that records the wait and moves the simulator's clock on by it (the budget resets)."""

    def __init__(self, sim):
        self.sim, self.waits, self.offset = sim, [], 0.0

    def __call__(self, seconds):
        self.waits.append(seconds)
        self.offset += seconds
        sim_config(self.sim, clock_offset_s=self.offset)


def app_with(state, middleware):
    app = ol.build_app(state)
    app.middlewares.append(middleware)
    return app


# ---- paging ---------------------------------------------------------------------------------------

def test_every_user_once_in_order_through_the_after_cursor(sim):
    records = list(OneLoginHook(client(sim)).records())
    assert ids(records) == all_ids(sim)
    by_path = stats(sim)["by_path"]
    assert by_path[USERS] == math.ceil(N_USERS / 100)  # page_size 100 by default, nothing past the end
    assert by_path[TOKEN] == 1 and "/auth/oauth2/token" not in by_path  # v2 token only, fetched once
    # The user as the API gives it, plus role_id: the v1 name of role_ids, which the original read.
    first = sim.state.users[0]
    assert records[0] == {**first, "role_id": first["role_ids"]}


def test_page_size_and_the_cursor_sent_back(sim):
    seen = []

    @web.middleware
    async def record_queries(request, handler):
        if request.path == USERS:
            seen.append(dict(request.query))
        return await handler(request)

    state = ol.OneLoginState(users=120, seed=3)
    with SimulatorThread(app_with(state, record_queries)) as s:
        assert ids(OneLoginHook(client(s, page_size=50)).records()) == [u["id"] for u in state.users]
    assert [q.get("limit") for q in seen] == ["50"] * 3
    assert "cursor" not in seen[0] and all(q["cursor"] for q in seen[1:])
    assert len({q["cursor"] for q in seen[1:]}) == 2


def test_users_without_a_username_come_as_they_are(sim):
    records = list(OneLoginHook(client(sim)).records())
    email_only = [r for r in records if r["username"] is None]
    assert email_only and all("username" in r for r in records)
    assert any(r["email"] for r in email_only)


def test_an_empty_directory():
    with SimulatorThread(ol.build_app(ol.OneLoginState(users=0))) as s:
        hook = OneLoginHook(client(s))
        assert list(hook.records()) == []
        assert hook.check().endswith("(API v2, client credentials): 0 users")
        assert stats(s)["by_path"][USERS] == 2  # records() once, check() once
    assert hook.problems == []


def test_a_user_added_during_the_run_shifts_pages_yet_each_user_comes_once():
    state = ol.OneLoginState(users=100, seed=4)
    before = [u["id"] for u in state.users]

    @web.middleware
    async def grow_after_page_1(request, handler):
        response = await handler(request)
        if request.path == USERS and "cursor" not in request.query:
            # a user sorted first: every later user moves one place on
            new = dict(state.users[0], id=1)
            state.users._cache.insert(0, new)
            state.users.n += 1
        return response

    with SimulatorThread(app_with(state, grow_after_page_1)) as s:
        got = ids(OneLoginHook(client(s, page_size=25)).records())
    assert sorted(got) == sorted(before)  # the repeated user came once; the new one is for the next run


# ---- tokens ---------------------------------------------------------------------------------------

def test_the_token_request_is_basic_auth_with_a_json_grant_on_the_urls_own_host():
    seen = []

    @web.middleware
    async def record_token_call(request, handler):
        response = await handler(request)
        if request.path == TOKEN:  # the body once the handler has read it
            seen.append((request.headers.get("Authorization"), request.content_type, await request.json()))
        return response

    with SimulatorThread(app_with(ol.OneLoginState(users=5), record_token_call)) as s:
        # the original's url with a path: the host is used for both calls, never api.us.onelogin.com
        assert len(list(OneLoginHook(client(s, url=s.url + "/api/1/users")).records())) == 5
    basic = "Basic " + base64.b64encode(f"{ol.DEFAULT_CLIENT_ID}:{ol.DEFAULT_CLIENT_SECRET}".encode()).decode()
    assert seen == [(basic, "application/json", {"grant_type": "client_credentials"})]


def test_a_token_that_expires_mid_run_is_renewed_once(sim):
    records = OneLoginHook(client(sim, page_size=50)).records()
    first = [next(records) for _ in range(50)]
    sim_config(sim, clock_offset_s=36001)  # ten hours later: the token is refused with 401
    rest = list(records)
    assert ids(first + rest) == all_ids(sim)
    by_path = stats(sim)["by_path"]
    assert by_path[TOKEN] == 2 and by_path[USERS] == math.ceil(N_USERS / 50) + 1  # one page sent twice
    assert sim.state.tokens_issued == 2


def test_refused_client_credentials_fail_at_once_with_a_clear_message(sim):
    hook = OneLoginHook(client(sim, client_secret="wrong-secret"), section="onelogin.prod")
    with pytest.raises(OneLoginAuthError) as info:
        list(hook.records())
    assert isinstance(info.value, AirflowFailException) and info.value.status == 401
    assert str(info.value) == (f"[onelogin.prod] OneLogin token at {sim.url}: 401 Unauthorized: Authentication "
                               "Failure; check client_id and client_secret (an API credential of this OneLogin "
                               "account) and url (the account's https://<subdomain>.onelogin.com, or api.us / api.eu)")
    assert stats(sim)["by_path"] == {TOKEN: 1}  # not retried, no users call
    ok, text = hook.test_connection()
    assert not ok and "401 Unauthorized: Authentication Failure" in text and "wrong-secret" not in text


@pytest.mark.parametrize("status,expected", [
    (401, "401 Unauthorized (UnauthorizedError); check client_id and client_secret"),
    (403, "403 Forbidden (ForbiddenError); the API credential may not read users: give it the 'Read users' scope"),
])
def test_a_users_call_refused_after_one_new_token_fails_at_once(status, expected):
    @web.middleware
    async def refuse(request, handler):
        if request.path == USERS:
            return ol.v2_error(status, {401: "Unauthorized", 403: "Forbidden"}[status])
        return await handler(request)

    state = ol.OneLoginState(users=10)
    with SimulatorThread(app_with(state, refuse)) as s:
        with pytest.raises(OneLoginAuthError) as info:
            list(OneLoginHook(client(s), section="onelogin", **FAST).records())
        by_path = stats(s)["by_path"]
    assert info.value.status == status and isinstance(info.value, AirflowFailException)
    assert str(info.value).startswith(f"[onelogin] OneLogin users page 1 at {s.url}: {expected}")
    if status == 401:  # one new token, the page asked again, then given up
        assert by_path == {TOKEN: 2, USERS: 2}
    else:
        assert by_path == {TOKEN: 1, USERS: 1}


# ---- rate limits, failures ------------------------------------------------------------------------

def test_a_429_mid_run_waits_the_seconds_x_ratelimit_reset_gives(sim):
    clock = SimClock(sim)
    sim_config(sim, rate_window_s=20)
    records = OneLoginHook(client(sim), sleep=clock).records()
    first = [next(records) for _ in range(100)]
    sim_config(sim, rate_limit=1)  # the account's budget (1 per 20 s now) is used up by page 1: page 2 gets 429
    rest = list(records)
    assert ids(first + rest) == all_ids(sim)
    assert stats(sim)["rate_limited"] == 1
    # Reset is "seconds until the reset" (20), not an epoch time (which would be 0 s) nor a guess (backoff).
    assert clock.waits[0] == 20.0


def test_a_low_budget_slows_the_run_down_instead_of_running_into_429(sim, capfd):
    clock = SimClock(sim)
    # 20 calls per 60 s and 23 pages to read: without pacing the 21st call would get a 429.
    sim_config(sim, rate_limit=20, rate_window_s=60)
    assert ids(OneLoginHook(client(sim, page_size=10), sleep=clock).records()) == all_ids(sim)
    assert stats(sim)["rate_limited"] == 0
    assert len(clock.waits) == 2  # after the 18th call (2 left) and the 19th (1 left)
    assert 55 <= sum(clock.waits) <= 60  # the rest of the window, spread over the calls left
    assert capfd.readouterr().out.count("OneLogin rate limit: 2 of 20 calls left") == 1  # one line, not one per call


def test_an_exhausted_budget_says_when_it_resets(sim):
    sim_config(sim, rate_limit=1, rate_window_s=3600)
    hook = OneLoginHook(client(sim), section="onelogin", max_attempts=2, sleep=lambda s: None)
    hook.check()
    with pytest.raises(OneLoginError) as info:
        list(hook.records())
    assert info.value.status == 429 and not isinstance(info.value, AirflowFailException)
    text = str(info.value)
    assert "gave up after 2 attempts: 429 Too Many Requests (TooManyRequestsError)" in text
    assert "API call budget (1 calls per hour) is used up" in text and "it resets in 3600 s" in text


def test_a_page_that_fails_once_is_asked_again(sim):
    knobs(sim, fail_next=1, fail_status=503, fail_path=f"^{USERS}$")
    waits = []
    assert ids(OneLoginHook(client(sim), sleep=waits.append, **FAST).records()) == all_ids(sim)
    st = stats(sim)
    assert st["injected_failures"] == 1 and st["by_path"][USERS] == math.ceil(N_USERS / 100) + 1
    assert len(waits) == 1


def test_a_persistent_5xx_fails_with_the_status(sim):
    knobs(sim, fail_next=100, fail_status=500, fail_path=f"^{USERS}$")
    with pytest.raises(OneLoginError, match=r"OneLogin users page 1 at .*: gave up after 3 attempts: 500 Internal "
                                            r"Server Error \(InternalServerError\)"):
        list(OneLoginHook(client(sim), max_attempts=3, **FAST).records())


def test_not_a_onelogin_host_says_so():
    async def html(request):
        return web.Response(text="<html>welcome</html>", content_type="text/html")

    app = web.Application()
    app.router.add_post("/" + "auth/oauth2/v2/token", html)
    with SimulatorThread(app) as s:
        ok, message = OneLoginHook(client(s), section="onelogin").test_connection()
    assert not ok and "OneLogin token" in message and "the answer is not JSON" in message and "check url" in message


# ---- custom attributes, single user -----------------------------------------------------------------

def test_a_mapping_source_naming_a_custom_attribute_reads_it_as_the_original_did(sim):
    needs = needs_of({"USER": {"source": "username"}, "EMPLOYEE_ID": {"source": "employee_id"},
                      "CC": {"source": "custom_attributes.cost_center"}, "NOPE": {"source": "no_such_attribute"}})
    records = list(OneLoginHook(client(sim), needs=needs).records())
    for record, user in zip(records, sim.state.users):
        assert record["employee_id"] == user["custom_attributes"]["employee_id"]
        assert "no_such_attribute" not in record and "cost_center" not in record
    assert any(r["employee_id"] is None for r in records) and any(r["employee_id"] for r in records)
    plain = next(OneLoginHook(client(sim)).records())
    assert "employee_id" not in plain  # nothing added unless a mapping names it


def test_record_by_id(sim):
    hook = OneLoginHook(client(sim))
    user = sim.state.users[17]
    assert hook.record_by_id(str(user["id"])) == {**user, "role_id": user["role_ids"]}
    assert hook.record_by_id(str(user["id"] + 1)) is None and hook.record_by_id("jdoe") is None


# ---- the deprecated API key (XML API) -------------------------------------------------------------------

def test_the_deprecated_api_key_reads_the_xml_api_with_a_warning(sim, capfd):
    needs = needs_of({"USER": {"source": "username"}, "CC": {"source": "cost_center"}})
    hook = OneLoginHook(legacy(sim), section="onelogin", needs=needs)
    records = list(hook.records())
    assert [int(r["id"]) for r in records] == all_ids(sim)
    logged = capfd.readouterr().out
    assert "[onelogin] api_token uses OneLogin's deprecated API key and XML users API" in logged
    assert "set client_id and client_secret" in logged
    by_path = stats(sim)["by_path"]
    assert by_path["/api/v2/users.xml"] == math.ceil(N_USERS / 100) + 1 and TOKEN not in by_path  # to the empty page
    user = sim.state.users[0]
    first = records[0]
    assert (first["username"], first["firstname"], first["email"]) == (user["username"], user["firstname"],
                                                                       user["email"])
    assert first["directory-id"] is None or first["directory-id"] == str(user["directory_id"])  # nil -> None
    assert first["cost_center"] == first["custom_attribute_cost_center"] == user["custom_attributes"]["cost_center"]
    assert any(r["phone"] is None for r in records)
    assert hook.check().startswith(f"Connected to OneLogin at {sim.url}/api/v2/users.xml with the deprecated API key")


def test_the_deprecated_api_key_uses_an_xml_url_as_given_and_client_credentials_win(sim):
    hook = OneLoginHook(legacy(sim, url=sim.url + "/api/v2/users.xml"))
    assert hook.legacy_url == sim.url + "/api/v2/users.xml"
    assert len(list(hook.records())) == N_USERS
    both = OneLoginHook(client(sim, api_token=ol.DEFAULT_API_TOKEN))
    assert not both.legacy and len(list(both.records())) == N_USERS


def test_a_refused_api_key(sim):
    hook = OneLoginHook(legacy(sim, api_token="not-the-key"), section="onelogin")
    with pytest.raises(OneLoginAuthError) as info:
        list(hook.records())
    assert str(info.value) == (f"[onelogin] OneLogin XML users page 1 at {sim.url}/api/v2/users.xml: 401 "
                               "Unauthorized: HTTP Basic: Access denied.; check api_token (the deprecated API key); "
                               "better, create an API credential and set client_id and client_secret")
    assert "not-the-key" not in str(info.value)


def test_users_from_xml_nil_empty_and_not_users():
    xml = (b'<?xml version="1.0" encoding="UTF-8"?>\n<users type="array"><user><id type="integer">7</id>'
           b'<phone nil="true"/><username></username><firstname>Zo\xc3\xab</firstname></user></users>')
    assert users_from_xml(xml) == [{"id": "7", "phone": None, "username": None, "firstname": "Zoë"}]
    assert users_from_xml(b'<users type="array">\n</users>') == []
    with pytest.raises(ValueError, match="expected <users>, got <error>"):
        users_from_xml(b"<error><message>Your IP is not allowed</message></error>")


# ---- connections ----------------------------------------------------------------------------------------

def test_connection_test_through_an_airflow_connection(sim, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OL_TEST", json.dumps({
        "conn_type": "onelogin", "host": sim.url, "login": ol.DEFAULT_CLIENT_ID,
        "password": ol.DEFAULT_CLIENT_SECRET}))
    ok, message = OneLoginHook(onelogin_conn_id="ol_test").test_connection()
    assert ok, message
    assert message == f"Connected to OneLogin at {sim.url} (API v2, client credentials): {N_USERS} users"
    # INI settings are replaced by the connection's
    hook = OneLoginHook(client(sim, client_secret="stale", conn_id="ol_test"), section="onelogin")
    assert len(list(hook.records())) == N_USERS
    monkeypatch.setenv("AIRFLOW_CONN_OL_KEY", json.dumps({
        "conn_type": "onelogin", "host": sim.url, "extra": {"api_token": ol.DEFAULT_API_TOKEN}}))
    ok, message = OneLoginHook(onelogin_conn_id="ol_key").test_connection()
    assert ok and "deprecated API key" in message, message


# ---- TLS ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def https_sim(tmp_path_factory):
    certs = tls_certificates(tmp_path_factory.mktemp("tls"))
    with SimulatorThread(ol.build_app(ol.OneLoginState(users=5)), ssl_context=certs.server_context()) as s:
        assert s.url.startswith("https://")
        yield s, certs


def test_tls_an_unknown_ca_is_refused_with_a_clear_message_and_no_retries(https_sim):
    s, _ = https_sim
    waits = []
    ok, message = OneLoginHook(client(s), section="onelogin", sleep=waits.append).test_connection()
    assert not ok and "TLS certificate is not trusted" in message and "set cacert_file" in message, message
    assert waits == [] and s.state.stats.requests == 0


def test_tls_cacert_file_trusts_the_servers_ca(https_sim):
    s, certs = https_sim
    hook = OneLoginHook(client(s, cacert_file=certs.ca_file))
    ok, message = hook.test_connection()
    assert ok, message
    assert len(list(hook.records())) == 5


def test_tls_verify_ssl_false_works_with_a_warning(https_sim, capfd):
    s, _ = https_sim
    ok, message = OneLoginHook(client(s, verify_ssl=False)).test_connection()
    assert ok, message
    assert "verify_ssl = false: the server's TLS certificate is not checked" in capfd.readouterr().out


# ---- settings -------------------------------------------------------------------------------------------------

def load(tmp_path, body):
    path = tmp_path / "config.ini"
    path.write_text("[oomnitza]\nurl = https://example.oomnitza.com\napi_token = t\n\n[onelogin]\nenable = yes\n"
                    "default_role = 25\ndefault_position = Employee\n" + body)
    config = load_config(path)
    section = config.sections["onelogin"]
    return section, [str(i).replace(str(path), "FILE") for i in section.issues]


def test_settings_need_client_credentials_or_the_deprecated_key_or_a_connection(tmp_path):
    section, issues = load(tmp_path, "client_id = c\n")
    assert not section.ok
    assert issues == ["FILE:9: [onelogin] client_id: needs client_id and client_secret (or the deprecated api_token)"]
    section, issues = load(tmp_path, "conn_id = onelogin_default\n")
    assert section.ok and issues == []
    section, issues = load(tmp_path, "client_id = c\nclient_secret = s\n")
    assert section.ok and issues == [] and section.source.hook.endswith("hooks.onelogin.OneLoginHook")


def test_settings_notes_and_page_size(tmp_path):
    section, issues = load(tmp_path, "api_token = k\n")
    assert section.ok and len(issues) == 1
    assert issues[0].startswith("FILE:9: [onelogin] api_token: uses OneLogin's deprecated API key and XML users API")
    section, issues = load(tmp_path, "client_id = c\nclient_secret = s\napi_token = k\n")
    assert section.ok and issues == ["FILE:11: [onelogin] api_token: is not used: client_id and client_secret are set"]
    section, issues = load(tmp_path, "client_id = c\nclient_secret = s\npage_size = 500\n")
    assert not section.ok and issues == ["FILE:11: [onelogin] page_size: expected a whole number from 1 to 100, "
                                         "got 500"]


def test_default_mappings(tmp_path):
    section, _ = load(tmp_path, "client_id = c\nclient_secret = s\nuse_server_map = no\n")
    mappings = section.effective_mappings().mappings
    assert {k: v.get("source") or v.get("setting") for k, v in mappings.items()} == {
        "USER": "username", "FIRST_NAME": "firstname", "LAST_NAME": "lastname", "EMAIL": "email",
        "PHONE": "phone", "PERMISSIONS_ID": "default_role", "POSITION": "default_position"}
    assert mappings["USER"]["required"] is True
