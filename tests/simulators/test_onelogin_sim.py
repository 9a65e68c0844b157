"""Tests for the OneLogin simulator, including the official ``onelogin`` SDK running unchanged."""
from __future__ import annotations

import base64
import collections
import time
from concurrent.futures import ThreadPoolExecutor

import onelogin
import pytest
import requests
import urllib3
import xmltodict

from tests.simulators import onelogin as ol
from tests.simulators.base import SimulatorProcess, SimulatorThread
from tests.simulators.onelogin_data import STATUS_NAMES, UserDirectory

N_USERS = 230
CLIENT = (ol.DEFAULT_CLIENT_ID, ol.DEFAULT_CLIENT_SECRET)
USERS_V2 = "/api/2/users"
USERS_V1 = "/api/1/users"


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(ol.build_app(ol.OneLoginState(users=N_USERS, seed=5))) as s:
        yield s


@pytest.fixture(autouse=True)
def _reset(sim):
    requests.post(sim.url + "/_sim/reset").raise_for_status()


def config(sim, **values):
    requests.post(sim.url + "/_sim/config", json=values).raise_for_status()


def token(sim) -> str:
    r = requests.post(sim.url + "/auth/oauth2/v2/token", json={"grant_type": "client_credentials"}, auth=CLIENT)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


@pytest.fixture
def api(sim):
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token(sim)}"
    return s


def all_ids(sim) -> list[int]:
    return [u["id"] for u in sim.state.users]


# ---- tokens ----------------------------------------------------------------------------------

def test_v2_token_accepts_basic_legacy_header_and_form_and_returns_the_same_token(sim):
    url = sim.url + "/auth/oauth2/v2/token"
    basic = requests.post(url, json={"grant_type": "client_credentials"}, auth=CLIENT)
    legacy = requests.post(url, json={"grant_type": "client_credentials"}, headers={
        "Authorization": f"client_id:{CLIENT[0]}, client_secret:{CLIENT[1]}"})
    form = requests.post(url, data={"grant_type": "client_credentials", "client_id": CLIENT[0],
                                    "client_secret": CLIENT[1]})
    bodies = [r.json() for r in (basic, legacy, form)]
    assert [r.status_code for r in (basic, legacy, form)] == [200, 200, 200]
    assert len({b["access_token"] for b in bodies}) == 1  # same token until it expires
    body = bodies[0]
    assert body["token_type"] == "bearer" and body["account_id"] == ol.ACCOUNT_ID
    assert 35990 <= body["expires_in"] <= 36000 and body["created_at"].endswith("Z")
    assert set(body) == {"access_token", "created_at", "expires_in", "refresh_token", "token_type", "account_id"}
    # expires_in counts down: an hour later the same token has an hour less.
    config(sim, clock_offset_s=3600)
    later = requests.post(url, json={"grant_type": "client_credentials"}, auth=CLIENT).json()
    assert later["access_token"] == body["access_token"] and later["expires_in"] <= 32400


@pytest.mark.parametrize("case", ["wrong_secret", "unknown_client", "no_auth", "garbage_basic"])
def test_v2_token_bad_client_is_401_flat_error(sim, case):
    kwargs = {"auth": CLIENT}
    if case == "wrong_secret":
        kwargs = {"auth": (CLIENT[0], "nope")}
    elif case == "unknown_client":
        kwargs = {"auth": ("someone-else", CLIENT[1])}
    elif case == "no_auth":
        kwargs = {}
    elif case == "garbage_basic":
        kwargs = {"headers": {"Authorization": "Basic !!!"}}
    r = requests.post(sim.url + "/auth/oauth2/v2/token", json={"grant_type": "client_credentials"}, **kwargs)
    assert r.status_code == 401
    assert r.json() == {"error": True, "code": 401, "type": "Unauthorized", "message": "Authentication Failure"}


def test_v2_token_bad_grant_type_is_400(sim):
    for body in ({"grant_type": "password"}, {}):
        r = requests.post(sim.url + "/auth/oauth2/v2/token", json=body, auth=CLIENT)
        assert r.status_code == 400
        assert r.json()["code"] == 400 and r.json()["message"] == "grant_type is incorrect/absent"


def test_v1_token_envelope_and_new_token_invalidates_the_old(sim):
    legacy = {"Authorization": f"client_id:{CLIENT[0]}, client_secret:{CLIENT[1]}"}
    first = requests.post(sim.url + "/auth/oauth2/token", json={"grant_type": "client_credentials"}, headers=legacy)
    assert first.status_code == 200
    assert first.json()["status"] == {"error": False, "code": 200, "type": "success", "message": "Success"}
    tok1 = first.json()["data"][0]["access_token"]
    assert first.json()["data"][0]["expires_in"] == 36000
    ok = requests.get(sim.url + USERS_V1, headers={"Authorization": f"bearer:{tok1}"})
    assert ok.status_code == 200
    tok2 = requests.post(sim.url + "/auth/oauth2/token", json={"grant_type": "client_credentials"},
                         headers=legacy).json()["data"][0]["access_token"]
    assert tok2 != tok1
    r = requests.get(sim.url + USERS_V1, headers={"Authorization": f"bearer:{tok1}"})
    assert r.status_code == 401
    assert r.json() == {"status": {"error": True, "code": 401, "type": "Unauthorized",
                                   "message": "Authentication Failure"}}
    # The v1 call takes only the legacy header.
    r = requests.post(sim.url + "/auth/oauth2/token", json={"grant_type": "client_credentials"}, auth=CLIENT)
    assert r.status_code == 401 and r.json()["status"]["code"] == 401


def test_resource_calls_accept_both_bearer_styles_and_refuse_others(sim):
    tok = token(sim)
    for header in (f"Bearer {tok}", f"bearer {tok}", f"bearer:{tok}"):
        assert requests.get(sim.url + USERS_V2, headers={"Authorization": header}).status_code == 200
        assert requests.get(sim.url + USERS_V1, headers={"Authorization": header}).status_code == 200
    for header in ({}, {"Authorization": "Bearer made-up"}, {"Authorization": f"SSWS {tok}"}):
        r = requests.get(sim.url + USERS_V2, headers=header)
        assert r.status_code == 401
        assert r.json() == {"statusCode": 401, "name": "UnauthorizedError", "message": "Unauthorized"}


def test_expired_token_is_401_and_a_new_one_works(sim, api):
    assert api.get(sim.url + USERS_V2).status_code == 200
    config(sim, clock_offset_s=36001)  # ten hours later
    r = api.get(sim.url + USERS_V2)
    assert r.status_code == 401 and r.json()["name"] == "UnauthorizedError"
    fresh = token(sim)
    assert fresh != api.headers["Authorization"].split()[1]
    assert requests.get(sim.url + USERS_V2, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_revoke(sim):
    tok = token(sim)
    r = requests.post(sim.url + "/auth/oauth2/revoke", json={"access_token": tok}, auth=CLIENT)
    assert r.status_code == 200 and r.json()["status"]["code"] == 200
    assert requests.get(sim.url + USERS_V2, headers={"Authorization": f"Bearer {tok}"}).status_code == 401


# ---- users v2 ---------------------------------------------------------------------------------

def test_v2_cursor_paging_yields_every_user_once(sim, api):
    seen, cursor, pages = [], None, 0
    while True:
        r = api.get(sim.url + USERS_V2, params={"limit": 100, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200
        pages += 1
        assert r.headers["Total-Count"] == str(N_USERS) and r.headers["Total-Pages"] == "3"
        assert r.headers["Current-Page"] == str(pages) and r.headers["Page-Items"] == "100"
        assert ("Before-Cursor" in r.headers) == (pages > 1)
        assert isinstance(r.json(), list)
        seen += [u["id"] for u in r.json()]
        cursor = r.headers.get("After-Cursor")
        if not cursor:
            assert 'rel="next"' not in r.headers.get("Link", "")
            break
        assert f'cursor={requests.utils.quote(cursor, safe="")}>; rel="next"' in r.headers["Link"]
    assert pages == 3 and seen == all_ids(sim)
    # OneLogin's cursor is base64 of "limit=L&page=P": it carries its own page size.
    assert base64.b64decode(r.headers["Before-Cursor"]).decode() == "limit=100&page=2"


def test_v2_default_limit_clamp_and_page_numbers(sim, api):
    r = api.get(sim.url + USERS_V2)
    assert len(r.json()) == 50 and r.headers["Page-Items"] == "50" and r.headers["Total-Pages"] == "5"
    r = api.get(sim.url + USERS_V2, params={"limit": 1000})
    assert len(r.json()) == 100 and r.headers["Page-Items"] == "100"  # clamped to the maximum
    r = api.get(sim.url + USERS_V2, params={"limit": 100, "page": 3})
    assert [u["id"] for u in r.json()] == all_ids(sim)[200:] and "After-Cursor" not in r.headers
    r = api.get(sim.url + USERS_V2, params={"limit": 100, "page": 9})
    assert r.status_code == 200 and r.json() == [] and r.headers["Current-Page"] == "9"


@pytest.mark.parametrize("params,message", [
    ({"limit": 0}, "positive"), ({"limit": "ten"}, "Invalid query parameter value"),
    ({"page": -1}, "positive"), ({"cursor": "not-a-cursor"}, "Invalid cursor"),
    ({"cursor": base64.b64encode(b"page=2").decode()}, "Invalid cursor"),
    ({"after_cursor": "x"}, "query parameter(s) not allowed: after_cursor")])
def test_v2_bad_parameters_are_400(sim, api, params, message):
    r = api.get(sim.url + USERS_V2, params=params)
    assert r.status_code == 400
    body = r.json()
    assert body["statusCode"] == 400 and body["name"] == "BadRequestError" and message in body["message"]


def test_v2_concurrent_page_requests_yield_every_user_once(sim, api):
    requests.post(sim.url + "/_sim/knobs", json={"latency_ms": 30}).raise_for_status()
    pages = [5, 1, 4, 2, 3, 6, 7]  # out of order, two past the end

    def fetch(page):
        return api.get(sim.url + USERS_V2, params={"limit": 40, "page": page}).json()

    with ThreadPoolExecutor(7) as pool:
        results = list(pool.map(fetch, pages))
    ids = sorted(u["id"] for page in results for u in page)
    assert ids == all_ids(sim)
    assert requests.get(sim.url + "/_sim/stats").json()["peak_in_flight"] >= 4


def test_v2_filters_fields_and_sort(sim, api):
    users = list(sim.state.users)
    r = api.get(sim.url + USERS_V2, params={"email": "*@corp.example.co.uk", "limit": 100})
    expected = [u["id"] for u in users if (u["email"] or "").endswith("@corp.example.co.uk")]
    assert [u["id"] for u in r.json()] == expected[:100] and r.headers["Total-Count"] == str(len(expected)) != "0"
    directory = [u["id"] for u in users if u["directory_id"] == 48213]
    r = api.get(sim.url + USERS_V2, params={"directory_id": 48213, "limit": 100})
    assert r.headers["Total-Count"] == str(len(directory)) and [u["id"] for u in r.json()] == directory[:100]
    since = sorted(u["updated_at"] for u in users)[N_USERS // 2]
    r = api.get(sim.url + USERS_V2, params={"updated_since": since, "limit": 100})
    assert int(r.headers["Total-Count"]) == sum(u["updated_at"] > since for u in users)
    some = users[7]
    r = api.get(sim.url + USERS_V2, params={"user_ids": f"{some['id']},{users[9]['id']}", "fields": "email,status"})
    assert r.json() == [{"id": some["id"], "email": some["email"], "status": some["status"]},
                        {"id": users[9]["id"], "email": users[9]["email"], "status": users[9]["status"]}]
    cc = next(u["custom_attributes"]["cost_center"] for u in users if u["custom_attributes"]["cost_center"])
    r = api.get(sim.url + USERS_V2, params={"custom_attributes.cost_center": cc})
    assert r.json() and all(u["custom_attributes"]["cost_center"] == cc for u in r.json())
    r = api.get(sim.url + USERS_V2, params={"sort": "-id", "limit": 5})
    assert [u["id"] for u in r.json()] == all_ids(sim)[::-1][:5]
    r = api.get(sim.url + USERS_V2, params={"sort": "+phone"})
    assert r.status_code == 422
    assert r.json() == {"statusCode": 422, "name": "UnprocessableEntityFieldError",
                        "message": "Invalid sort field: phone", "field": "phone"}


def test_v2_single_user(sim, api):
    user = sim.state.users[17]
    assert api.get(sim.url + f"{USERS_V2}/{user['id']}").json() == user
    r = api.get(sim.url + f"{USERS_V2}/{user['id'] + 1}")
    assert r.status_code == 404 and r.json()["name"] == "NotFoundError"


# ---- users v1 (the original connector's API) ----------------------------------------------------

def test_v1_original_connector_loop(sim):
    """1.81: v1 token with the legacy header, then ``?after_cursor=`` (empty first) until null."""
    tok = requests.post(sim.url + "/auth/oauth2/token", json={"grant_type": "client_credentials"}, headers={
        "Authorization": f"client_id:{CLIENT[0]}, client_secret:{CLIENT[1]}",
        "Content-Type": "application/json"}).json()["data"][0]["access_token"]
    seen, cursor, calls = [], "", 0
    while True:
        r = requests.get(f"{sim.url}{USERS_V1}?after_cursor={cursor}", headers={"Authorization": f"bearer:{tok}"})
        calls += 1
        body = r.json()
        assert body["status"]["code"] == 200 and "X-RateLimit-Remaining" in r.headers
        seen += [u["id"] for u in body["data"]]
        cursor = body["pagination"]["after_cursor"]
        if cursor is None:
            assert body["pagination"]["next_link"] is None
            break
        assert body["pagination"]["next_link"].endswith(f"after_cursor={cursor}")
    assert seen == all_ids(sim) and calls == 5  # 50 per page
    last = body["data"][-1]
    assert last["role_id"] == sim.state.users[N_USERS - 1]["role_ids"] and "role_ids" not in last
    assert {"openid_name", "locale_code", "custom_attributes"} <= set(last)


def test_v1_next_link_limit_and_before_cursor(sim, api):
    r = api.get(sim.url + USERS_V1, params={"limit": 500})
    assert len(r.json()["data"]) == 50  # v1 maximum
    nxt = r.json()["pagination"]["next_link"]
    page2 = api.get(nxt).json()
    assert [u["id"] for u in page2["data"]] == all_ids(sim)[50:100]
    back = api.get(page2["pagination"]["previous_link"]).json()
    assert [u["id"] for u in back["data"]] == all_ids(sim)[:50]
    r = api.get(sim.url + USERS_V1, params={"after_cursor": "%%%"})
    assert r.status_code == 400 and r.json()["status"]["type"] == "bad request"


# ---- the retired XML API (original's api_token setting) ------------------------------------------

def test_xml_api_pages_until_empty_with_nil_values(sim):
    seen, page = [], 1
    while True:
        r = requests.get(sim.url + "/api/v2/users.xml", params={"include_custom_attributes": "true", "page": page},
                         auth=(ol.DEFAULT_API_TOKEN, "x"))
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/xml")
        users = (xmltodict.parse(r.text)["users"] or {}).get("user")
        if not users:
            break
        users = users if isinstance(users, list) else [users]
        seen += [int(u["id"]["#text"]) for u in users]
        page += 1
    assert seen == all_ids(sim) and page == 4
    rec = xmltodict.parse(requests.get(sim.url + "/api/v2/users.xml", auth=(ol.DEFAULT_API_TOKEN, "x")).text)
    users = rec["users"]["user"]
    assert any(u["phone"] == {"@nil": "true"} for u in users)  # what the original turned into None
    assert any("custom_attribute_cost_center" in u for u in users)
    r = requests.get(sim.url + "/api/v2/users.xml", auth=("wrong", "x"))
    assert r.status_code == 401 and "Access denied" in r.text


# ---- rate limiting --------------------------------------------------------------------------------

def test_rate_limit_headers_on_every_resource_response_and_429(sim, api):
    config(sim, rate_limit=3, rate_window_s=30)
    remaining = []
    for path in (USERS_V2, USERS_V1, f"{USERS_V2}/{sim.state.users[0]['id']}"):
        r = api.get(sim.url + path)
        assert r.status_code == 200 and r.headers["X-RateLimit-Limit"] == "3"
        assert 0 < int(r.headers["X-RateLimit-Reset"]) <= 30  # seconds until the window resets
        remaining.append(r.headers["X-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    token(sim)  # the token call is not counted, and is not refused
    r = api.get(sim.url + USERS_V2)
    assert r.status_code == 429
    assert r.json() == {"statusCode": 429, "name": "TooManyRequestsError", "message": "Too Many Requests"}
    assert r.headers["X-RateLimit-Remaining"] == "0" and 0 < int(r.headers["X-RateLimit-Reset"]) <= 30
    assert "Retry-After" not in r.headers
    r = api.get(sim.url + USERS_V1)
    assert r.status_code == 429 and r.json()["status"]["code"] == 429
    rate = api.get(sim.url + "/auth/rate_limit").json()["data"]
    assert rate["X-RateLimit-Limit"] == 3 and rate["X-RateLimit-Remaining"] == 0
    # The window ends: the full budget is back.
    config(sim, clock_offset_s=31)
    r = api.get(sim.url + USERS_V2)
    assert r.status_code == 200 and r.headers["X-RateLimit-Remaining"] == "2"
    assert requests.get(sim.url + "/_sim/stats").json()["rate_limited"] == 2


def test_default_budget_is_5000_an_hour_and_retry_after_is_opt_in(sim, api):
    r = api.get(sim.url + USERS_V2)
    assert r.headers["X-RateLimit-Limit"] == "5000" and r.headers["X-RateLimit-Remaining"] == "4999"
    assert 3590 <= int(r.headers["X-RateLimit-Reset"]) <= 3600
    config(sim, rate_limit=1, rate_window_s=20, retry_after_on_429=True)
    api.get(sim.url + USERS_V2)
    r = api.get(sim.url + USERS_V2)
    assert r.status_code == 429 and r.headers["Retry-After"] == r.headers["X-RateLimit-Reset"]


# ---- fault knobs ------------------------------------------------------------------------------------

def test_injected_failures_answer_like_onelogin(sim, api):
    requests.post(sim.url + "/_sim/knobs", json={"fail_next": 1, "fail_status": 503,
                                                 "fail_path": "^/api/2/"}).raise_for_status()
    r = api.get(sim.url + USERS_V2)
    assert r.status_code == 503 and r.headers["Content-Type"].startswith("text/html")  # the load balancer
    assert "503 Service Unavailable" in r.text
    requests.post(sim.url + "/_sim/knobs",
                  json={"fail_next": 1, "fail_status": 500, "fail_path": ""}).raise_for_status()
    r = api.get(sim.url + USERS_V2)
    assert r.status_code == 500 and r.json()["name"] == "InternalServerError"
    requests.post(sim.url + "/_sim/knobs", json={"fail_next": 1, "fail_status": 500}).raise_for_status()
    r = api.get(sim.url + USERS_V1)
    assert r.status_code == 500 and r.json()["status"]["code"] == 500
    assert api.get(sim.url + USERS_V2).status_code == 200
    requests.post(sim.url + "/_sim/knobs", json={"rate_limit": 1, "rate_window_s": 30}).raise_for_status()
    assert api.get(sim.url + USERS_V2).status_code == 200
    r = api.get(sim.url + USERS_V2)
    assert r.status_code == 429 and r.json()["name"] == "TooManyRequestsError"
    assert r.headers["X-RateLimit-Remaining"] == "0" and int(r.headers["X-RateLimit-Reset"]) >= 1
    stats = requests.get(sim.url + "/_sim/stats").json()
    assert stats["injected_failures"] == 3 and stats["rate_limited"] == 1


def test_unknown_route_and_setting(sim):
    r = requests.get(sim.url + "/api/1/nothing", headers={"Authorization": f"bearer:{token(sim)}"})
    assert r.status_code == 404 and r.json()["status"]["message"] == "No Route Exists"
    assert requests.post(sim.url + "/_sim/config", json={"nope": 1}).status_code == 400


# ---- data ---------------------------------------------------------------------------------------

def test_data_variety():
    users = list(UserDirectory(3000, seed=2))
    assert len({u["id"] for u in users}) == 3000
    assert len({u["username"] for u in users if u["username"]}) == sum(1 for u in users if u["username"])
    assert set(collections.Counter(u["status"] for u in users)) == set(STATUS_NAMES)
    assert {u["state"] for u in users} == {0, 1, 2, 3}
    assert all(u["locked_until"] for u in users if u["status"] == 3)
    assert all(u["activated_at"] is None and u["last_login"] is None for u in users if u["status"] == 0)
    for key in ("username", "email", "phone", "lastname", "title", "department", "manager_user_id"):
        assert any(u[key] is None for u in users), key
    assert any(not (u["firstname"] + (u["lastname"] or "")).isascii() for u in users)
    assert any("'" in (u["lastname"] or "") for u in users)
    assert {type(u["manager_user_id"]) for u in users} == {int, str, type(None)}
    directory = [u for u in users if u["directory_id"]]
    assert directory and all(u["samaccountname"] and u["distinguished_name"] for u in directory)
    assert all(u["samaccountname"] is None for u in users if not u["directory_id"])
    assert any(v is None for u in users for v in u["custom_attributes"].values())


def test_generation_is_deterministic_and_lazy():
    a, b, c = UserDirectory(500, seed=3), UserDirectory(500, seed=3), UserDirectory(500, seed=4)
    assert list(a) == list(b) and list(a) != list(c)
    big = ol.OneLoginState(users=50_000)
    assert len(big.users) == 50_000
    page = big.users.slice(49_900, 50_000)
    assert len(page) == 100 and sum(u is not None for u in big.users._cache) == 100
    assert big.users.index_of_id(page[-1]["id"]) == 49_999


# ---- as a process -----------------------------------------------------------------------------

def test_runs_as_process_with_cli_credentials():
    with SimulatorProcess("tests.simulators.onelogin", "--users", "120", "--seed", "4",
                          "--client", "cid-1:secret-1", "--hourly-limit", "10") as proc:
        r = requests.post(proc.url + "/auth/oauth2/v2/token", json={"grant_type": "client_credentials"},
                          auth=("cid-1", "secret-1"))
        assert r.status_code == 200
        tok = r.json()["access_token"]
        r = requests.get(proc.url + USERS_V2, headers={"Authorization": f"Bearer {tok}"}, params={"limit": 100})
        assert r.headers["Total-Count"] == "120" and r.headers["X-RateLimit-Limit"] == "10"
        assert requests.post(proc.url + "/auth/oauth2/v2/token", json={"grant_type": "client_credentials"},
                             auth=CLIENT).status_code == 401


# ---- the official SDK, unchanged -----------------------------------------------------------------

def sdk(sim, retries=None):
    """The SDK as its README sets it up; ``host`` is its documented base-URL switch."""
    conf = onelogin.Configuration(host=sim.url, username=CLIENT[0], password=CLIENT[1])
    if retries is not None:
        conf.retries = retries  # documented: "Adding retries to override urllib3 default value 3"
    client = onelogin.ApiClient(conf)

    def new_token():
        # Configuration(access_token=...) is overwritten with None in the SDK's constructor;
        # the token has to be assigned afterwards.
        conf.access_token = onelogin.OAuth2Api(client).generate_token(
            onelogin.GenerateTokenRequest(grant_type="client_credentials")).access_token

    return client, new_token


def test_official_sdk_lists_every_user_through_429_and_token_expiry(sim):
    """The SDK pages with After-Cursor, waits out a 429 for X-RateLimit-Reset seconds, and gets a
    new token when the old one expires mid-listing; every user arrives exactly once."""
    config(sim, rate_limit=2, rate_window_s=2)
    client, new_token = sdk(sim)
    new_token()
    users_api = onelogin.UsersV2Api(client)
    seen, cursor, pages = [], None, 0
    waits, refreshes, events = [], 0, []
    while True:
        try:
            response = users_api.list_users2_with_http_info(limit=50, cursor=cursor)
        except onelogin.ApiException as exc:
            if exc.status == 429:
                reset = int(exc.headers["X-RateLimit-Reset"])
                waits.append(reset)
                events.append(("429", pages))
                time.sleep(reset)
                continue
            if exc.status == 401:
                refreshes += 1
                events.append(("401", pages))
                new_token()
                continue
            raise
        assert all(isinstance(u, onelogin.User) for u in response.data)  # the SDK's strict model
        seen += [u.id for u in response.data]
        pages += 1
        if pages == 2:
            # The token expires in the middle of the listing (ten hours pass; the rate window
            # restarts too, and pages 3 and 4 use up its budget of 2, so page 5 gets a 429).
            config(sim, clock_offset_s=36001)
        cursor = response.headers.get("After-Cursor")
        if not cursor:
            break
    assert sorted(seen) == seen == all_ids(sim) and pages == 5
    assert waits and all(1 <= w <= 2 for w in waits)
    assert any(kind == "429" and 0 < at < 5 for kind, at in events)  # mid-listing
    assert refreshes == 1 and ("401", 2) in events
    stats = requests.get(sim.url + "/_sim/stats").json()
    assert stats["rate_limited"] == len(waits)


def test_official_sdk_retries_429_with_its_own_urllib3_switch(sim):
    """``Configuration.retries`` (urllib3) gets through OneLogin's 429s by backing off; urllib3
    does not read X-RateLimit-Reset, so it only works when the backoff outlasts the window."""
    config(sim, rate_limit=2, rate_window_s=1)
    retry = urllib3.Retry(total=6, status_forcelist=[429], backoff_factor=0.4, backoff_max=2,
                          raise_on_status=True)
    client, new_token = sdk(sim, retries=retry)
    new_token()
    users_api = onelogin.UsersV2Api(client)
    seen, cursor = [], None
    while True:
        response = users_api.list_users2_with_http_info(limit=100, cursor=cursor)
        seen += [u.id for u in response.data]
        cursor = response.headers.get("After-Cursor")
        if not cursor:
            break
    assert seen == all_ids(sim)
    assert requests.get(sim.url + "/_sim/stats").json()["rate_limited"] >= 1


def test_official_sdk_token_failure_and_rate_limit_call(sim):
    conf = onelogin.Configuration(host=sim.url, username=CLIENT[0], password="wrong")
    with pytest.raises(onelogin.ApiException) as exc:
        onelogin.OAuth2Api(onelogin.ApiClient(conf)).generate_token(
            onelogin.GenerateTokenRequest(grant_type="client_credentials"))
    assert exc.value.status == 401 and "Authentication Failure" in exc.value.body
    client, new_token = sdk(sim)
    new_token()
    limits = onelogin.OAuth2Api(client).get_rate_limit()
    assert limits.data.x_rate_limit_limit == 5000 and limits.status.code == 200
