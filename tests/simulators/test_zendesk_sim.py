"""Tests for the Zendesk Support simulator, including zenpy (the vendor client) run unchanged."""
from __future__ import annotations

import base64
import collections

import pytest
import requests
from zenpy import Zenpy
from zenpy.lib.exception import APIException

from tests.simulators import zendesk as zd
from tests.simulators.base import SimulatorProcess, SimulatorThread, knobs, stats

NOW = 1_790_000_000.0
N_USERS = 300
TOKEN_AUTH = (f"{zd.DEFAULT_EMAIL}/token", zd.DEFAULT_TOKEN)
USERS = "/api/v2/users.json"


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(zd.build_app(zd.ZendeskState(users=N_USERS, seed=7, now=NOW))) as s:
        yield s


@pytest.fixture(autouse=True)
def _reset(sim):
    requests.post(sim.url + "/_sim/reset").raise_for_status()


@pytest.fixture
def api():
    s = requests.Session()
    s.auth = TOKEN_AUTH
    return s


def config(sim, **values):
    requests.post(sim.url + "/_sim/config", json=values).raise_for_status()


def listed(sim) -> set[int]:
    d = sim.state.directory
    return {d.ids[i] for i in d.listed()}


def walk_cursor(api, url, params=None) -> tuple[list[dict], int]:
    """Follow ``links.next`` until ``meta.has_more`` is false: (users, requests made)."""
    users, calls = [], 0
    r = api.get(url, params=params)
    while True:
        calls += 1
        assert r.status_code == 200, r.text
        body = r.json()
        users += body["users"]
        if not body["meta"]["has_more"]:
            return users, calls
        r = api.get(body["links"]["next"])


# ---- authentication ------------------------------------------------------------------------

def test_api_token_basic_auth(sim, api):
    r = api.get(sim.url + USERS, params={"page[size]": 5})
    assert r.status_code == 200
    assert len(r.json()["users"]) == 5
    # The header really is Basic base64("{email}/token:{token}").
    sent = r.request.headers["Authorization"].split(" ", 1)[1]
    assert base64.b64decode(sent).decode() == f"{zd.DEFAULT_EMAIL}/token:{zd.DEFAULT_TOKEN}"


def test_oauth_bearer_and_agent_credentials(sim):
    r = requests.get(sim.url + USERS, headers={"Authorization": f"Bearer {zd.DEFAULT_OAUTH_TOKEN}"})
    assert r.status_code == 200 and r.json()["count"] == len(listed(sim))
    r = requests.get(sim.url + USERS, auth=(f"{zd.AGENT_EMAIL}/token", zd.DEFAULT_TOKEN))
    assert r.status_code == 200  # agents may list users


@pytest.mark.parametrize("headers,auth", [
    ({}, None),                                                           # no credentials
    ({}, (f"{zd.DEFAULT_EMAIL}/token", "wrong-token")),
    ({}, ("nobody@example.com/token", zd.DEFAULT_TOKEN)),                 # unknown e-mail
    ({}, (zd.DEFAULT_EMAIL, zd.DEFAULT_TOKEN)),                           # token without "/token"
    ({}, (zd.DEFAULT_EMAIL, zd.DEFAULT_PASSWORD)),                        # password auth: deprecated
    ({"Authorization": "Basic !!!not-base64"}, None),
    ({"Authorization": "Bearer made-up"}, None),
    ({"Authorization": f"SSWS {zd.DEFAULT_TOKEN}"}, None),
])
def test_auth_failures_are_401_couldnt_authenticate(sim, headers, auth):
    r = requests.get(sim.url + USERS, headers=headers, auth=auth)
    assert r.status_code == 401
    assert r.json() == {"error": "Couldn't authenticate you"}
    assert "X-Rate-Limit" not in r.headers


def test_password_auth_only_when_enabled(sim):
    config(sim, password_auth=True)
    assert requests.get(sim.url + USERS, auth=(zd.DEFAULT_EMAIL, zd.DEFAULT_PASSWORD)).status_code == 200
    assert requests.get(sim.url + USERS, auth=(zd.DEFAULT_EMAIL, "wrong")).status_code == 401


def test_end_user_credentials_are_forbidden(sim):
    r = requests.get(sim.url + USERS, auth=(f"{zd.END_USER_EMAIL}/token", zd.DEFAULT_TOKEN))
    assert r.status_code == 403
    assert r.json()["error"]["title"] == "Forbidden" and "account owner" in r.json()["error"]["message"]


def test_users_me_answers_anonymous_without_valid_credentials(sim, api):
    """The real /users/me degrades to an anonymous user instead of a 401: a credential check
    must not rely on its status code."""
    for auth in (None, (zd.DEFAULT_EMAIL, "wrong-password")):
        r = requests.get(sim.url + "/api/v2/users/me.json", auth=auth)
        assert r.status_code == 200 and r.json()["user"]["id"] is None
        assert r.json()["user"]["name"] == "Anonymous user"
    r = requests.get(sim.url + "/api/v2/users/me.json", auth=(f"{zd.DEFAULT_EMAIL}/token", "wrong"))
    assert r.status_code == 401
    me = api.get(sim.url + "/api/v2/users/me.json").json()["user"]
    assert me["email"] == zd.DEFAULT_EMAIL and me["role"] == "admin" and me["id"]


# ---- cursor pagination ---------------------------------------------------------------------

def test_cursor_pagination_yields_every_listed_user_once(sim, api):
    users, calls = walk_cursor(api, sim.url + USERS, {"page[size]": 40})
    ids = [u["id"] for u in users]
    assert len(ids) == len(set(ids)) and set(ids) == listed(sim)
    assert ids == sorted(ids)
    assert calls == -(-len(ids) // 40)
    # Deleted users are not listed; suspended ones are.
    assert all(u["active"] for u in users)
    assert any(u["suspended"] for u in users)
    assert len(listed(sim)) < N_USERS


def test_cursor_links_and_meta_shape(sim, api):
    body = api.get(sim.url + "/api/v2/users", params={"page[size]": 3, "role": "end-user"}).json()
    assert set(body) == {"users", "meta", "links"}
    assert set(body["meta"]) == {"has_more", "after_cursor", "before_cursor"}
    nxt = body["links"]["next"]
    # Absolute, on the host that was asked, keeping the filter, cursor percent-encoded as Zendesk does.
    assert nxt.startswith(sim.url + "/api/v2/users?page%5Bafter%5D=")
    assert "page%5Bsize%5D=3" in nxt and "role=end-user" in nxt
    assert zd.decode_cursor(body["meta"]["after_cursor"]) == body["users"][-1]["id"]
    second = api.get(nxt).json()
    assert {u["role"] for u in second["users"]} == {"end-user"}
    back = api.get(second["links"]["prev"]).json()
    assert [u["id"] for u in back["users"]] == [u["id"] for u in body["users"]]


def test_cursor_default_and_page_size_limits(sim, api):
    assert len(api.get(sim.url + USERS, params={"page[after]": zd.encode_cursor(0)}).json()["users"]) == 100
    assert len(api.get(sim.url + USERS, params={"page[size]": 100}).json()["users"]) == 100
    for bad in ("101", "0", "abc"):
        r = api.get(sim.url + USERS, params={"page[size]": bad})
        assert r.status_code == 400
        assert r.json()["errors"][0]["code"] == "InvalidPaginationParameter"
    r = api.get(sim.url + USERS, params={"page[size]": 10, "page[after]": "not-a-cursor"})
    assert r.status_code == 400 and r.json()["errors"][0]["title"] == "page[after] is not valid"


def test_cursor_empty_result_and_full_last_page_quirk(sim, api):
    body = api.get(sim.url + USERS, params={"page[size]": 10, "external_id": "no-such"}).json()
    assert body == {"users": [], "meta": {"has_more": False, "after_cursor": None, "before_cursor": None},
                    "links": {"next": None, "prev": None}}
    admins = api.get(sim.url + USERS, params={"role": "admin"}).json()["count"]
    config(sim, has_more_when_full=True)
    body = api.get(sim.url + USERS, params={"page[size]": admins, "role": "admin"}).json()
    assert body["meta"]["has_more"] is True
    last = api.get(body["links"]["next"]).json()
    assert last["users"] == [] and last["meta"]["has_more"] is False


# ---- offset pagination ---------------------------------------------------------------------

def test_offset_pagination_follows_next_page(sim, api):
    url, ids, pages = sim.url + USERS, [], 0
    while url:
        body = api.get(url).json()
        pages += 1
        ids += [u["id"] for u in body["users"]]
        assert body["count"] == len(listed(sim))
        url = body["next_page"]
    assert len(ids) == len(set(ids)) and set(ids) == listed(sim)
    assert pages == -(-len(ids) // 100)
    body = api.get(sim.url + USERS, params={"page": 2, "per_page": 7, "role": "agent"}).json()
    assert body["next_page"] == f"{sim.url}{USERS}?page=3&per_page=7&role=agent"
    assert body["previous_page"] == f"{sim.url}{USERS}?page=1&per_page=7&role=agent"
    # per_page is capped at 100.
    assert len(api.get(sim.url + USERS, params={"per_page": 500}).json()["users"]) == 100


def test_offset_pagination_stops_at_10000_records(api):
    """The original connector's loop (follow next_page, 100 per page) against just over 10 000 users:
    page 101 is refused with Zendesk's 400 InvalidPaginationDepth."""
    state = zd.ZendeskState(users=10_400, seed=3, now=NOW, config=zd.ZendeskConfig(rate_limit_per_minute=0))
    assert len(state._listed) > 10_000
    with SimulatorThread(zd.build_app(state)) as s:
        url, seen, last = s.url + USERS, 0, None
        while url:
            last = api.get(url)
            if last.status_code != 200:
                break
            seen += len(last.json()["users"])
            url = last.json()["next_page"]
        assert seen == 10_000 and url.endswith("page=101")
        assert last.status_code == 400
        err = last.json()["errors"][0]
        assert err["code"] == "InvalidPaginationDepth"
        assert "limited to page 100 or up to 10000 records" in err["title"]
        assert "Cursor Pagination" in err["detail"]
        # The limit is on records: a small page far out is refused too, cursor paging is not.
        assert api.get(s.url + USERS, params={"page": 1001, "per_page": 10}).status_code == 400
        assert api.get(s.url + USERS, params={"page": 1000, "per_page": 10}).status_code == 200
        users, _ = walk_cursor(api, s.url + USERS, {"page[size]": 100})
        assert len(users) == len(state._listed)


# ---- filters, single records, organizations -------------------------------------------------

def test_role_filters(sim, api):
    d = sim.state.directory
    want = collections.Counter(d.role(i) for i in d.listed())
    for role in ("end-user", "agent", "admin"):
        body = api.get(sim.url + USERS, params={"role": role}).json()
        assert body["count"] == want[role] > 0 and {u["role"] for u in body["users"]} == {role}
    r = api.get(sim.url + USERS + "?role[]=agent&role[]=admin")
    assert r.json()["count"] == want["agent"] + want["admin"]


def test_show_user_deleted_user_and_not_found(sim, api):
    d = sim.state.directory
    i = next(i for i in range(d.n) if d.is_deleted(i))
    user = api.get(sim.url + f"/api/v2/users/{d.ids[i]}.json").json()["user"]
    assert user["id"] == d.ids[i] and user["active"] is False
    r = api.get(sim.url + "/api/v2/users/1.json")
    assert r.status_code == 404 and r.json() == {"error": "RecordNotFound", "description": "Not found"}
    r = api.get(sim.url + "/api/v2/tickets.json")
    assert r.status_code == 404 and r.json() == {"error": "InvalidEndpoint", "description": "Not found"}


def test_organizations_endpoint_and_user_links(sim, api):
    body = api.get(sim.url + "/api/v2/organizations.json", params={"page[size]": 5}).json()
    orgs = body["organizations"]
    while body["meta"]["has_more"]:
        body = api.get(body["links"]["next"]).json()
        orgs += body["organizations"]
    org_ids = {o["id"] for o in orgs}
    assert len(orgs) == len(org_ids) == 12
    users, _ = walk_cursor(api, sim.url + USERS, {"page[size]": 100})
    assert {u["organization_id"] for u in users} - {None} <= org_ids
    assert any(u["organization_id"] is None for u in users)
    one = orgs[3]
    assert api.get(sim.url + f"/api/v2/organizations/{one['id']}.json").json()["organization"] == one
    offset = api.get(sim.url + "/api/v2/organizations.json").json()
    assert offset["count"] == 12 and offset["next_page"] is None


# ---- rate limiting and faults ---------------------------------------------------------------

def test_rate_limit_headers_and_429(sim, api):
    config(sim, rate_limit_per_minute=3, rate_window_s=30)
    got = [api.get(sim.url + USERS, params={"page[size]": 1}) for _ in range(3)]
    assert [r.headers["X-Rate-Limit-Remaining"] for r in got] == ["2", "1", "0"]
    assert all(r.headers["X-Rate-Limit"] == "3" and r.headers["ratelimit-limit"] == "3" for r in got)
    assert [r.headers["ratelimit-remaining"] for r in got] == ["2", "1", "0"]
    assert 0 < int(got[0].headers["ratelimit-reset"]) <= 30
    r = api.get(sim.url + USERS)
    assert r.status_code == 429
    assert r.text == "Number of allowed API requests per minute exceeded"
    assert r.headers["Content-Type"].startswith("text/plain")
    assert 1 <= int(r.headers["Retry-After"]) <= 30 and r.headers["X-Rate-Limit-Remaining"] == "0"
    assert stats(sim)["rate_limited"] == 1


def test_rate_headers_on_single_records_are_account_only(sim, api):
    uid = sim.state.directory.ids[0]
    r = api.get(sim.url + f"/api/v2/users/{uid}.json")
    assert r.headers["X-Rate-Limit"] == "700" and "ratelimit-reset" not in r.headers


def test_rate_window_resets(sim, api):
    config(sim, rate_limit_per_minute=2)
    codes = [api.get(sim.url + "/api/v2/users/me.json").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    config(sim, clock_offset_s=60)  # the minute is over
    r = api.get(sim.url + "/api/v2/users/me.json")
    assert r.status_code == 200 and r.headers["X-Rate-Limit-Remaining"] == "1"


def test_fault_knobs_answer_like_zendesk(sim, api):
    knobs(sim, fail_next=2, fail_status=503, fail_path="users", fail_retry_after_s=5)
    assert api.get(sim.url + "/api/v2/organizations.json").status_code == 200  # path does not match
    for _ in range(2):
        r = api.get(sim.url + USERS)
        assert r.status_code == 503 and r.json() == {"status": 503, "error": "Service Unavailable"}
        assert r.headers["Retry-After"] == "5"
    assert api.get(sim.url + USERS).status_code == 200
    knobs(sim, fail_next=1, fail_status=500, fail_retry_after_s=None)
    assert api.get(sim.url + USERS).json() == {"status": 500, "error": "Internal Server Error"}
    knobs(sim, rate_limit=1, rate_window_s=30, retry_after_s=2.2)
    api.get(sim.url + USERS)
    r = api.get(sim.url + USERS)
    assert r.status_code == 429 and r.headers["Retry-After"] == "3" and r.text.startswith("Number of allowed")
    knobs(sim, rate_limit=0, latency_ms=30)
    assert api.get(sim.url + USERS).status_code == 200
    assert stats(sim)["injected_failures"] == 3


def test_unknown_config_setting_rejected(sim):
    assert requests.post(sim.url + "/_sim/config", json={"nope": 1}).status_code == 400


# ---- data -----------------------------------------------------------------------------------

def test_data_variety(sim, api):
    users, _ = walk_cursor(api, sim.url + USERS, {"page[size]": 100})
    roles = collections.Counter(u["role"] for u in users)
    assert roles["end-user"] > roles["agent"] > 0 and roles["admin"] > 0
    assert {u["role_type"] for u in users if u["role"] == "admin"} == {4}
    assert any(u["custom_role_id"] for u in users if u["role"] == "agent")
    assert any(u["email"] is None for u in users) and any(u["phone"] for u in users)
    assert sum(u["phone"] is None for u in users) > len(users) / 2
    assert all(u["email"] or u["phone"] for u in users)
    assert any(not u["name"].isascii() for u in users)
    assert any(" " not in u["name"].strip() for u in users)              # single-word or CJK names
    assert any(u["last_login_at"] is None for u in users)
    emails = [u["email"] for u in users if u["email"]]
    assert len(emails) == len(set(emails))
    needed = {"id", "url", "name", "email", "phone", "role", "active", "suspended", "organization_id",
              "external_id", "created_at", "updated_at", "user_fields", "tags", "locale", "time_zone"}
    assert all(needed <= set(u) for u in users)


def test_generation_is_deterministic_and_lazy(monkeypatch):
    a = zd.ZendeskState(users=200, seed=3, now=NOW).directory
    b = zd.ZendeskState(users=200, seed=3, now=NOW).directory
    c = zd.ZendeskState(users=200, seed=4, now=NOW).directory
    assert [a.user(i, "x") for i in range(200)] == [b.user(i, "x") for i in range(200)]
    assert list(a.ids) != list(c.ids)
    # 50 000 users: set-up renders no record; a page renders exactly its own users.
    rendered = []
    real_user = zd.UserDirectory.user
    monkeypatch.setattr(zd.UserDirectory, "user", lambda self, i, base: rendered.append(i) or real_user(self, i, base))
    state = zd.ZendeskState(users=50_000, seed=1, now=NOW)
    assert rendered == [] and len(state._listed) > 45_000
    with SimulatorThread(zd.build_app(state)) as s:
        body = requests.get(s.url + USERS, auth=TOKEN_AUTH, params={"page[size]": 100}).json()
        nxt = requests.get(body["links"]["next"], auth=TOKEN_AUTH).json()
    assert len(rendered) == 200 and [u["id"] for u in body["users"] + nxt["users"]] == \
        [state.directory.ids[i] for i in state._listed[:200]]
    last = real_user(state.directory, 49_999, "https://acme.zendesk.com")
    assert last["id"] == state.directory.ids[-1] and state.directory.index_of(last["id"]) == 49_999


# ---- as a process ---------------------------------------------------------------------------

def test_runs_as_process_with_cli_credentials():
    with SimulatorProcess("tests.simulators.zendesk", "--users", "120", "--seed", "4", "--email",
                          "ops@example.com", "--api-token", "tok-1", "--rate-limit-per-minute", "400") as proc:
        r = requests.get(proc.url + USERS, auth=("ops@example.com/token", "tok-1"), params={"page[size]": 100})
        assert r.status_code == 200 and r.headers["X-Rate-Limit"] == "400"
        assert 100 <= len(r.json()["users"]) + len(requests.get(
            r.json()["links"]["next"], auth=("ops@example.com/token", "tok-1")).json()["users"]) <= 120
        assert requests.get(proc.url + USERS, auth=TOKEN_AUTH).status_code == 401


# ---- zenpy, the vendor's client, unchanged --------------------------------------------------

@pytest.fixture
def zenpy_env(sim, monkeypatch):
    """zenpy's own switches for a custom host (ZENPY_FORCE_NETLOC / ZENPY_FORCE_SCHEME,
    added upstream for pointing it at a local Zendesk mock)."""
    monkeypatch.setenv("ZENPY_FORCE_NETLOC", sim.url.split("://", 1)[1])
    monkeypatch.setenv("ZENPY_FORCE_SCHEME", "http")


def test_zenpy_lists_every_user_through_cursor_paging_and_429s(sim, zenpy_env):
    # 3 requests per 2-second "minute": the 4th page request gets a 429 with Retry-After: 2.
    config(sim, rate_limit_per_minute=3, rate_window_s=2.0)
    client = Zenpy(subdomain="acme", email=zd.DEFAULT_EMAIL, token=zd.DEFAULT_TOKEN)
    ids = [user.id for user in client.users(cursor_pagination=50)]
    assert len(ids) == len(set(ids)) and set(ids) == listed(sim)
    st = stats(sim)
    pages = -(-len(ids) // 50)
    assert pages > 3
    assert st["rate_limited"] >= 1                       # zenpy had to wait out at least one 429
    assert st["by_path"][USERS] == pages + st["rate_limited"]  # and retried exactly those


def test_zenpy_offset_paging_and_oauth(sim, zenpy_env):
    client = Zenpy(subdomain="acme", oauth_token=zd.DEFAULT_OAUTH_TOKEN)
    ids = [user.id for user in client.users(cursor_pagination=False)]
    assert len(ids) == len(set(ids)) and set(ids) == listed(sim)
    agents = [u for u in client.users(role="agent")]
    assert agents and {u.role for u in agents} == {"agent"}
    orgs = [o.name for o in client.organizations()]
    assert len(orgs) == 12 and "Müller & Söhne GmbH" in orgs


def test_zenpy_sees_the_offset_depth_error(sim, zenpy_env):
    config(sim, offset_record_limit=100)  # the 10 000-record rule, scaled down to this directory
    client = Zenpy(subdomain="acme", email=zd.DEFAULT_EMAIL, token=zd.DEFAULT_TOKEN)
    with pytest.raises(APIException, match="InvalidPaginationDepth"):
        list(client.users(cursor_pagination=False))


def test_zenpy_auth_failure(sim, zenpy_env):
    client = Zenpy(subdomain="acme", email=zd.DEFAULT_EMAIL, token="wrong")
    with pytest.raises(APIException, match="Couldn't authenticate you"):
        list(client.users())
