"""Tests for the Okta users-API simulator, including Okta's own Python SDK run against it."""
from __future__ import annotations

import asyncio
import collections
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from tests.simulators import okta as ok
from tests.simulators.base import SimulatorProcess, SimulatorThread, knobs, stats
from tests.simulators.okta_data import STATUS_WEIGHTS, Directory, parse_okta_time

NOW = 1_790_000_000.0  # fixed "now" so the directory is the same on every run
N_USERS = 700
USERS = ok.USERS_PATH
REPO = Path(__file__).resolve().parents[2]
ERROR_KEYS = {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(ok.build_app(ok.OktaState(users=N_USERS, seed=7, now=NOW))) as s:
        yield s


@pytest.fixture(autouse=True)
def _reset(sim):
    requests.post(sim.url + "/_sim/reset").raise_for_status()


@pytest.fixture
def api():
    s = requests.Session()
    s.headers.update({"Authorization": f"SSWS {ok.DEFAULT_TOKEN}", "Accept": "application/json"})
    return s


def config(sim, **values) -> dict:
    r = requests.post(sim.url + "/_sim/config", json=values)
    r.raise_for_status()
    return r.json()


def links(response: requests.Response) -> list[str]:
    """The ``Link`` header lines as sent (requests would merge them into one string)."""
    return response.raw.headers.getlist("Link")


def visible_ids(state: ok.OktaState) -> list[str]:
    d = state.directory
    return [d.ids[i] for i in range(len(d)) if d.statuses[i] != "DEPROVISIONED"]


def assert_okta_error(r: requests.Response, status: int, code: str) -> dict:
    assert r.status_code == status
    body = r.json()
    assert set(body) == ERROR_KEYS
    assert body["errorCode"] == code and body["errorLink"] == code
    assert body["errorId"].startswith("oae") and body["errorSummary"]
    assert isinstance(body["errorCauses"], list)
    return body


def assert_rate_headers(r: requests.Response) -> tuple[int, int, int]:
    h = r.headers
    limit, remaining, reset = (int(h["X-Rate-Limit-Limit"]), int(h["X-Rate-Limit-Remaining"]),
                               int(h["X-Rate-Limit-Reset"]))
    assert h["X-Okta-Request-Id"] and h["Date"].endswith("GMT")
    return limit, remaining, reset


# ---- authentication ---------------------------------------------------------------------------

def test_ssws_token_lists_users_with_rate_limit_headers(sim, api):
    before = int(time.time())
    r = api.get(sim.url + USERS)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    users = r.json()
    assert len(users) == 200  # default page size
    assert [u["id"] for u in users] == visible_ids(sim.state)[:200]
    limit, remaining, reset = assert_rate_headers(r)
    assert (limit, remaining) == (600, 599)
    assert before < reset <= before + 61  # epoch seconds when the minute window ends
    assert users[0]["_links"]["self"]["href"] == f"{sim.url}{USERS}/{users[0]['id']}"


@pytest.mark.parametrize("header,status,code", [
    (f"SSWS {'x' * 42}", 401, "E0000011"),
    (f"Bearer {ok.DEFAULT_TOKEN}", 401, "E0000011"),
    (f"ssws {ok.DEFAULT_TOKEN}", 401, "E0000011"),
    ("SSWS ", 401, "E0000011"),
    (None, 403, "E0000005"),
    (f"SSWS {ok.NO_PERMISSION_TOKEN}", 403, "E0000006"),
])
def test_auth_failures_answer_like_okta(sim, header, status, code):
    headers = {"Accept": "application/json"}
    if header is not None:
        headers["Authorization"] = header
    r = requests.get(sim.url + USERS, headers=headers)
    body = assert_okta_error(r, status, code)
    if code == "E0000011":
        assert body["errorSummary"] == "Invalid token provided"
    if code == "E0000005":
        assert body["errorSummary"] == "Invalid session"
    assert_rate_headers(r)  # Okta reports the rate limit on failures too


def test_ssws_without_space_as_the_python_sdk_sends_it(sim):
    r = requests.get(sim.url + USERS, headers={"Authorization": f"SSWS{ok.DEFAULT_TOKEN}"})
    assert r.status_code == 200
    config(sim, require_space_after_ssws=True)
    r = requests.get(sim.url + USERS, headers={"Authorization": f"SSWS{ok.DEFAULT_TOKEN}"})
    assert_okta_error(r, 401, "E0000011")


# ---- paging -------------------------------------------------------------------------------------

def test_link_paging_visits_every_user_exactly_once(sim, api):
    seen, pages = [], 0
    url = f"{sim.url}{USERS}?limit=97"
    while url:
        r = api.get(url)
        assert r.status_code == 200
        batch = r.json()
        seen += [u["id"] for u in batch]
        pages += 1
        lines = links(r)
        assert lines[0] == f"<{url}>; rel=\"self\""  # self first, as its own header line
        nxt = [line for line in lines if line.endswith('rel="next"')]
        url = None
        if nxt:
            assert len(lines) == 2 and lines[1] == nxt[0]
            url = nxt[0][1:nxt[0].index(">")]
            query = parse_qs(urlsplit(url).query)
            assert query["after"] == [batch[-1]["id"]] and query["limit"] == ["97"]
            assert url.startswith(sim.url)
            assert len(batch) == 97
    expected = visible_ids(sim.state)
    assert seen == expected and len(set(seen)) == len(seen)
    assert pages == -(-len(expected) // 97)
    assert stats(sim)["by_path"][USERS] == pages


def test_original_connector_loop_with_requests_links(sim, api):
    """The 1.81 connector: limit=100 and ``response.links["next"]["url"]`` until there is none."""
    seen, url = [], f"{sim.url}{USERS}?limit=100"
    while url:
        r = api.get(url)
        seen += [u["id"] for u in r.json()]
        url = r.links.get("next", {}).get("url")
    assert seen == visible_ids(sim.state)
    # Its second pass for the deprovisioned users, with the filter unencoded in the URL.
    url = f'{sim.url}{USERS}?limit=100&filter=status eq "DEPROVISIONED"'
    gone = []
    while url:
        r = api.get(url)
        gone += [u["id"] for u in r.json()]
        url = r.links.get("next", {}).get("url")
    d = sim.state.directory
    assert gone == [d.ids[i] for i in range(len(d)) if d.statuses[i] == "DEPROVISIONED"] != []


def test_single_link_header_variant(sim, api):
    config(sim, split_link_headers=False)
    r = api.get(sim.url + USERS, params={"limit": 5})
    assert len(links(r)) == 1 and set(r.links) == {"self", "next"}


@pytest.mark.parametrize("limit,expected", [("500", 200), ("200", 200), ("1", 1), (None, 200)])
def test_page_size_default_and_maximum(sim, api, limit, expected):
    params = {"limit": limit} if limit else {}
    assert len(api.get(sim.url + USERS, params=params).json()) == expected


@pytest.mark.parametrize("limit", ["0", "-5", "abc"])
def test_invalid_limit_is_400(sim, api, limit):
    body = assert_okta_error(api.get(sim.url + USERS, params={"limit": limit}), 400, "E0000001")
    assert "limit" in body["errorSummary"] and body["errorCauses"]


def test_opaque_cursor_between_ids(sim, api):
    ids = visible_ids(sim.state)
    cursor = ids[10][:-1]  # not an id; users after that position are listed
    got = [u["id"] for u in api.get(sim.url + USERS, params={"after": cursor, "limit": 3}).json()]
    assert got == ids[10:13]
    assert api.get(sim.url + USERS, params={"after": "zzz"}).json() == []


# ---- DEPROVISIONED, filter, search, q ---------------------------------------------------------------

def _all(api, url, **params) -> list[dict]:
    out, params = [], {"limit": 200, **params}
    r = api.get(url, params=params)
    while True:
        assert r.status_code == 200, r.text
        out += r.json()
        if "next" not in r.links:
            return out
        r = api.get(r.links["next"]["url"])


def test_deprovisioned_left_out_unless_filter_or_search_asks(sim, api):
    d = sim.state.directory
    gone = {d.ids[i] for i, s in enumerate(d.statuses) if s == "DEPROVISIONED"}
    assert gone
    default = {u["id"] for u in _all(api, sim.url + USERS)}
    assert not default & gone
    assert {u["id"] for u in _all(api, sim.url + USERS, filter='status eq "DEPROVISIONED"')} == gone
    assert {u["id"] for u in _all(api, sim.url + USERS, search='status eq "DEPROVISIONED"')} == gone
    # Any filter/search returns DEPROVISIONED users that match it.
    old = {u["id"] for u in _all(api, sim.url + USERS, filter='lastUpdated gt "2000-01-01T00:00:00.000Z"')}
    assert old == set(d.ids)


def test_filter_expressions(sim, api):
    d = sim.state.directory
    users = [d.user(i) for i in range(len(d))]
    got = _all(api, sim.url + USERS, filter='status eq "SUSPENDED" or status eq "LOCKED_OUT"')
    assert {u["id"] for u in got} == {u["id"] for u in users if u["status"] in ("SUSPENDED", "LOCKED_OUT")}
    cut = "2024-01-01T00:00:00.000Z"
    got = _all(api, sim.url + USERS, filter=f'lastUpdated ge "{cut}" and (status eq "ACTIVE")')
    expect = {u["id"] for u in users if u["status"] == "ACTIVE"
              and parse_okta_time(u["lastUpdated"]) >= parse_okta_time(cut)}
    assert {u["id"] for u in got} == expect and 0 < len(expect) < len(users)
    one = users[3]
    got = _all(api, sim.url + USERS, filter=f'profile.login eq "{one["profile"]["login"]}"')
    assert [u["id"] for u in got] == [one["id"]]
    # Filter values are case-sensitive; search values are not.
    upper = one["profile"]["login"].upper()
    assert _all(api, sim.url + USERS, filter=f'profile.login eq "{upper}"') == []
    assert [u["id"] for u in _all(api, sim.url + USERS, search=f'profile.login eq "{upper}"')] == [one["id"]]


@pytest.mark.parametrize("param,expr", [
    ("filter", 'profile.login sw "a"'),          # filter supports only eq (gt.. for lastUpdated)
    ("filter", 'profile.title eq "Engineer"'),   # not a filterable property
    ("filter", 'status eq ACTIVE'),              # values are quoted
    ("filter", 'status eq "ACTIVE" and'),
    ("search", 'profile.lastName ne "x"'),       # ``ne`` is not supported
])
def test_invalid_expressions_are_400(sim, api, param, expr):
    assert_okta_error(api.get(sim.url + USERS, params={param: expr}), 400, "E0000031")


def test_search_on_any_profile_property(sim, api):
    d = sim.state.directory
    users = [d.user(i) for i in range(len(d))]
    got = _all(api, sim.url + USERS, search='profile.department eq "r&d" and profile.lastName sw "m"')
    expect = {u["id"] for u in users if u["profile"].get("department") == "R&D"
              and (u["profile"]["lastName"] or "").lower().startswith("m")}
    assert {u["id"] for u in got} == expect


def test_q_prefix_search_is_small_and_unpaged(sim, api):
    r = api.get(sim.url + USERS, params={"q": "j"})
    users = r.json()
    assert 0 < len(users) <= 10 and "next" not in r.links
    assert all("DEPROVISIONED" != u["status"] for u in users)
    assert all(any((u["profile"].get(k) or "").lower().startswith("j")
                   for k in ("firstName", "lastName", "email")) for u in users)


def test_get_one_user_by_id_or_login(sim, api):
    one = sim.state.directory.user(5)
    assert api.get(f"{sim.url}{USERS}/{one['id']}").json()["profile"] == one["profile"]
    assert api.get(f"{sim.url}{USERS}/{one['profile']['login'].upper()}").json()["id"] == one["id"]
    body = assert_okta_error(api.get(f"{sim.url}{USERS}/00unope"), 404, "E0000007")
    assert "00unope" in body["errorSummary"]
    assert_okta_error(api.get(f"{sim.url}/api/v1/nothing"), 404, "E0000007")


# ---- rate limiting and faults ----------------------------------------------------------------------

def test_okta_rate_limit_window_and_429(sim, api):
    config(sim, rate_limit=3, rate_window_s=30)
    seen = [api.get(sim.url + USERS, params={"limit": 1}) for _ in range(4)]
    assert [r.status_code for r in seen] == [200, 200, 200, 429]
    heads = [assert_rate_headers(r) for r in seen]
    assert [h[:2] for h in heads] == [(3, 2), (3, 1), (3, 0), (3, 0)]
    assert len({h[2] for h in heads}) == 1 and heads[0][2] >= time.time() + 28
    assert_okta_error(seen[3], 429, "E0000047")
    assert seen[3].json()["errorSummary"] == "API call exceeded rate limit due to too many requests."
    assert "Retry-After" not in seen[3].headers  # Okta says when via X-Rate-Limit-Reset
    assert stats(sim)["rate_limited"] == 1


def test_shared_rate_limit_knob_reports_okta_headers(sim, api):
    knobs(sim, rate_limit=2, rate_window_s=30)
    seen = [api.get(sim.url + USERS, params={"limit": 1}) for _ in range(3)]
    assert [r.status_code for r in seen] == [200, 200, 429]
    assert [assert_rate_headers(r)[:2] for r in seen] == [(2, 1), (2, 0), (2, 0)]
    assert int(seen[2].headers["X-Rate-Limit-Reset"]) >= time.time() + 28
    assert_okta_error(seen[2], 429, "E0000047")


def test_concurrency_limit(sim, api):
    config(sim, concurrency_limit=2)
    knobs(sim, latency_ms=300)
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: requests.get(sim.url + USERS, params={"limit": 1},
                                                       headers=dict(api.headers)), range(6)))
    limited = [r for r in results if r.status_code == 429]
    assert limited and len(limited) < 6
    for r in limited:
        assert_okta_error(r, 429, "E0000047")
        assert (r.headers["X-Rate-Limit-Limit"], r.headers["X-Rate-Limit-Remaining"]) == ("0", "0")
    assert requests.get(sim.url + "/_sim/config").json()["concurrency_rejected"] == len(limited)


@pytest.mark.parametrize("status,code", [(500, "E0000009"), (503, "E0000010")])
def test_injected_failures_answer_like_okta(sim, api, status, code):
    knobs(sim, fail_next=1, fail_status=status, fail_path="/api/v1/users")
    assert_okta_error(api.get(sim.url + USERS), status, code)
    r = api.get(sim.url + USERS)
    assert r.status_code == 200
    assert stats(sim)["injected_failures"] == 1


def test_unknown_config_setting_rejected(sim):
    assert requests.post(sim.url + "/_sim/config", json={"nope": 1}).status_code == 400


# ---- data --------------------------------------------------------------------------------------------

def test_directory_variety(sim):
    d = sim.state.directory
    users = [d.user(i) for i in range(len(d))]
    counts = collections.Counter(u["status"] for u in users)
    assert set(counts) == set(STATUS_WEIGHTS) and counts["ACTIVE"] > len(users) / 2
    logins = [u["profile"]["login"].lower() for u in users]
    assert len(set(logins)) == len(logins)
    assert any(not u["profile"]["firstName"].isascii() for u in users)
    assert any(u["profile"]["login"] != u["profile"]["email"] for u in users)
    assert any("@" not in u["profile"]["login"] for u in users)
    assert any(u["profile"]["mobilePhone"] is None for u in users)
    assert any(u["profile"]["lastName"] is None for u in users)
    assert any("title" not in u["profile"] for u in users) and any("title" in u["profile"] for u in users)
    assert {u["credentials"]["provider"]["type"] for u in users} >= {"OKTA", "ACTIVE_DIRECTORY"}
    for u in users:
        if u["status"] == "STAGED":
            assert u["activated"] is None and u["lastLogin"] is None
        if u["status"] == "PROVISIONED":
            assert u["lastLogin"] is None and u["activated"] is not None
        if u["lastLogin"] is not None:
            assert parse_okta_time(u["created"]) <= parse_okta_time(u["lastLogin"]) <= NOW
        assert parse_okta_time(u["created"]) <= parse_okta_time(u["lastUpdated"]) <= NOW


def test_every_record_fits_the_sdk_user_model(sim, api):
    from okta.models import User

    for raw in _all(api, sim.url + USERS, search='status sw ""'):
        user = User.from_dict(raw)
        assert user.id == raw["id"] and user.status.value == raw["status"]
        assert user.profile.login == raw["profile"]["login"]


def test_generation_is_deterministic_and_lazy():
    a, b, c = Directory(300, 3, NOW), Directory(300, 3, NOW), Directory(300, 4, NOW)
    assert a.ids == b.ids and a.statuses == b.statuses
    assert b.user(299) == a.user(299)  # one user rendered alone is the same user
    assert a.ids != c.ids
    big = Directory(50_000, 1, NOW)
    assert len(big) == 50_000 and len(set(big.ids)) == 50_000 and big.ids == sorted(big.ids)
    assert not big._cache  # nothing rendered until asked for
    assert big.user(49_999)["id"] == big.ids[-1] and len(big._cache) == 1


def test_runs_as_process_with_50000_users():
    with SimulatorProcess("tests.simulators.okta", "--users", "50000", "--token", "tok-0123456789",
                          "--users-rate-limit", "1000", cwd=str(REPO)) as proc:
        assert requests.get(proc.url + "/_sim/config").json()["users"] == 50_000
        head = {"Authorization": "SSWS tok-0123456789"}
        r = requests.get(proc.url + USERS, headers=head)
        assert r.status_code == 200 and len(r.json()) == 200 and r.headers["X-Rate-Limit-Limit"] == "1000"
        nxt = r.links["next"]["url"]
        assert requests.get(nxt, headers=head).json()[0]["id"] > r.json()[-1]["id"]
        assert requests.get(proc.url + USERS, headers={"Authorization": f"SSWS {ok.DEFAULT_TOKEN}"}).status_code == 401


# ---- Okta's own Python SDK, unchanged -----------------------------------------------------------------

@pytest.fixture
def sdk_env(monkeypatch):
    """Only the SDK's documented switches: OKTA_TESTING_TESTINGDISABLEHTTPSCHECK allows http://."""
    import os

    for name in list(os.environ):
        if name.startswith("OKTA_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", "true")


def _sdk_client(sim, token=ok.DEFAULT_TOKEN, **extra):
    from okta.client import Client

    return Client({"orgUrl": sim.url, "token": token, **extra})


def test_sdk_lists_every_user_through_paging_and_waits_out_a_429(sim, sdk_env):
    from okta.pagination import paginate_all

    # Okta's per-window budget, scaled down: 2 requests per second, so page 3 gets a 429.
    config(sim, rate_limit=2, rate_window_s=1)
    client = _sdk_client(sim, rateLimit={"maxRetries": 3})

    async def list_all():
        return [user async for user in paginate_all(client.list_users, limit=200)]

    users = asyncio.run(list_all())
    ids = [u.id for u in users]
    expected = visible_ids(sim.state)
    assert ids == expected and len(set(ids)) == len(ids) == len(expected)
    st = stats(sim)
    assert st["rate_limited"] >= 1                  # the simulator said 429 mid-listing ...
    assert sim.state.retries_seen >= 1               # ... the SDK retried that request itself ...
    assert st["by_path"][USERS] == -(-len(expected) // 200) + st["rate_limited"]  # ... once per 429
    d = sim.state.directory
    first = d.user(d.index_of(ids[0]))
    assert users[0].profile.login == first["profile"]["login"]
    assert users[0].profile.first_name == first["profile"]["firstName"]


def test_sdk_sees_next_link_because_it_comes_after_self(sim, sdk_env):
    """The SDK turns the headers into a dict: of two ``Link`` lines only the last survives."""
    from okta.pagination import PaginationHelper

    client = _sdk_client(sim)
    users, resp, err = asyncio.run(client.list_users(limit=50))
    assert err is None and len(users) == 50
    assert resp.headers["Link"].endswith('rel="next"')
    assert PaginationHelper.extract_next_cursor(resp.headers) == users[-1].id


def test_sdk_reads_deprovisioned_users_with_a_filter(sim, sdk_env):
    from okta.pagination import paginate_all

    client = _sdk_client(sim)

    async def gone():
        return [u async for u in paginate_all(client.list_users, limit=50, filter='status eq "DEPROVISIONED"')]

    d = sim.state.directory
    assert [u.id for u in asyncio.run(gone())] == [d.ids[i] for i, s in enumerate(d.statuses)
                                                   if s == "DEPROVISIONED"]


def test_sdk_gets_okta_error_for_a_bad_token(sim, sdk_env):
    client = _sdk_client(sim, token="00" + "y" * 40)
    users, resp, err = asyncio.run(client.list_users())
    assert users is None and resp.status == 401
    assert "E0000011" in str(err) and "Invalid token provided" in str(err)


def test_sdk_refuses_http_without_its_testing_switch(sim, monkeypatch):
    monkeypatch.delenv("OKTA_TESTING_TESTINGDISABLEHTTPSCHECK", raising=False)
    with pytest.raises(ValueError, match="https"):
        _sdk_client(sim)
