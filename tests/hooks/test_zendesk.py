"""ZendeskHook against the Zendesk simulator: auth, cursor paging, rate limits, organizations, errors, TLS."""
import base64
import json

import pytest
import requests

from airflow_provider_oomnitza.hooks import zendesk as zendesk_hook
from airflow_provider_oomnitza.hooks.errors import SourceConfigError
from airflow_provider_oomnitza.hooks.http_client import HttpError
from airflow_provider_oomnitza.hooks.zendesk import ZendeskError, ZendeskHook, zendesk_error
from airflow_provider_oomnitza.sources.base import SourceNeeds
from airflow_provider_oomnitza.sources.zendesk import ZendeskSettings
from tests.simulators import zendesk as zd
from tests.simulators.base import SimulatorThread, knobs, tls_certificates

NOW = 1_790_000_000.0
USERS = "/api/v2/users.json"
ORGS = "/api/v2/organizations.json"


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(zd.build_app(zd.ZendeskState(users=350, seed=5, now=NOW))) as s:
        yield s


@pytest.fixture(autouse=True)
def _fresh(sim):
    sim.state.reset()


class Clock:
    """The hook's ``sleep``: counts the waits and moves the simulator's rate-limit clock on by them."""

    def __init__(self, sim):
        self.sim, self.waits = sim, []

    def __call__(self, seconds):
        self.waits.append(seconds)
        self.sim.state.config.clock_offset_s += seconds


def hook(sim, sleep=None, needs=None, **settings):
    base = {"url": sim.url, "username": zd.DEFAULT_EMAIL, "api_token": zd.DEFAULT_TOKEN}
    return ZendeskHook(base | settings, section="zendesk", sleep=sleep or (lambda s: None), needs=needs,
                       max_attempts=4)


def listed(sim):
    d = sim.state.directory
    return [d.user(i, sim.url) for i in d.listed()]


def calls(sim, path=USERS):
    return sim.state.stats.by_path.get(path, 0)


# ---- records and paging --------------------------------------------------------------------------------

def test_every_user_once_across_cursor_pages_as_the_api_gives_it(sim):
    records = list(hook(sim).records())
    expected = listed(sim)
    assert len(expected) > 300 and len(records) == len({r["id"] for r in records})
    assert records == expected  # raw user dicts, unchanged, in the API's order
    assert "organization" not in records[0]
    assert calls(sim) == -(-len(expected) // 100)  # page[size]=100, the maximum


def test_cursor_paging_goes_past_the_offset_depth_limit(sim):
    """The original's offset loop stops at Zendesk's 10,000-record limit (scaled down here to 100)."""
    requests.post(sim.url + "/_sim/config", json={"offset_record_limit": 100}).raise_for_status()
    assert requests.get(sim.url + USERS, params={"page": 2}, auth=(f"{zd.DEFAULT_EMAIL}/token",
                                                                  zd.DEFAULT_TOKEN)).status_code == 400
    assert len(list(hook(sim).records())) == len(listed(sim))


def test_a_full_last_page_may_say_has_more_and_the_next_page_is_empty(sim, monkeypatch):
    """As zenpy has seen Zendesk do: has_more stays true on a full last page; the next page is empty."""
    requests.post(sim.url + "/_sim/config", json={"has_more_when_full": True}).raise_for_status()
    admins = [u for u in listed(sim) if u["role"] == "admin"]
    monkeypatch.setattr(zendesk_hook, "PAGE_SIZE", len(admins))  # one full page of admins
    assert list(hook(sim, roles="admin").records()) == admins
    assert calls(sim) == 2


def test_an_empty_directory(sim):
    with SimulatorThread(zd.build_app(zd.ZendeskState(users=0, now=NOW, organizations=0))) as empty:
        h = hook(empty, load_organizations=True)
        assert list(h.records()) == []
        assert empty.state.stats.by_path == {USERS: 1, ORGS: 1}
        assert h.test_connection()[0]


def test_roles_filter_with_role_brackets(sim):
    records = list(hook(sim, roles="agent, admin").records())
    expected = [u for u in listed(sim) if u["role"] in ("agent", "admin")]
    assert records == expected and 0 < len(expected) < len(listed(sim))


def test_links_next_is_followed_on_the_configured_host_only(sim):
    h = hook(sim)
    link = "https://elsewhere.example/api/v2/users.json?page%5Bafter%5D=eyJv&page%5Bsize%5D=100"
    assert h._next(link) == f"{sim.url}/api/v2/users.json?page%5Bafter%5D=eyJv&page%5Bsize%5D=100"
    proxied = hook(sim, url="https://proxy.example/zendesk/")
    assert proxied._next(link).startswith("https://proxy.example/zendesk/api/v2/users.json?page%5Bafter")
    assert proxied._next("https://proxy.example/zendesk/api/v2/users.json?x=1") == \
        "https://proxy.example/zendesk/api/v2/users.json?x=1"


def test_has_more_without_a_next_link_is_an_error_not_a_short_list(sim, monkeypatch):
    h = hook(sim)
    real = h._json

    def without_next(path, what, **kwargs):
        body = real(path, what, **kwargs)
        body["links"]["next"] = None
        return body

    monkeypatch.setattr(h, "_json", without_next)
    with pytest.raises(ZendeskError, match=r"list users, page 1 .* meta.has_more is true but links.next is missing"):
        list(h.records())


# ---- authentication ------------------------------------------------------------------------------------

def test_api_token_is_sent_as_email_slash_token_basic_auth(sim):
    h = hook(sim, username=zd.DEFAULT_EMAIL + "/token")  # a "/token" already written is not doubled
    sent = []
    h.client.response_hooks.append(lambda r, *a, **k: sent.append(r.request.headers["Authorization"]))
    assert h.test_connection() == (True, f"Connected to Zendesk at {sim.url} (API token): users can be listed; "
                                         "account limit 700 requests a minute")
    scheme, value = sent[0].split(" ", 1)
    assert scheme == "Basic" and base64.b64decode(value).decode() == f"{zd.DEFAULT_EMAIL}/token:{zd.DEFAULT_TOKEN}"


def test_oauth_token_is_sent_as_bearer(sim):
    h = ZendeskHook({"url": sim.url, "oauth_token": zd.DEFAULT_OAUTH_TOKEN}, section="zendesk")
    ok, message = h.test_connection()
    assert ok and "(OAuth token)" in message, message
    assert len(list(h.records())) == len(listed(sim))


@pytest.mark.parametrize("settings,hint", [
    ({"api_token": "wrong-token"}, "check username (the e-mail of an agent or admin"),
    ({"username": "nobody@example.com"}, "and api_token"),
    ({"oauth_token": "expired"}, "check oauth_token"),
])
def test_refused_credentials_fail_at_once_with_status_401(sim, settings, hint):
    waits = []
    with pytest.raises(HttpError) as caught:
        list(hook(sim, sleep=waits.append, **settings).records())
    assert caught.value.status == 401
    assert f"[zendesk] Zendesk list users, page 1 at {sim.url}: 401 Unauthorized: Couldn't authenticate you" \
        in str(caught.value)
    assert hint in str(caught.value)
    assert calls(sim) == 1 and waits == []  # not retried


def test_an_end_users_credentials_are_403_with_what_to_do(sim):
    ok, message = hook(sim, username=zd.END_USER_EMAIL).test_connection()
    assert not ok
    assert "403 Forbidden: You do not have access to this page" in message and "agent or admin" in message


def test_missing_credentials_are_a_settings_error(sim):
    with pytest.raises(SourceConfigError, match=r"^\[zendesk\] username: missing required setting \(or oauth_token"):
        ZendeskHook({"url": sim.url}, section="zendesk").get_conn()


# ---- rate limits and failures ----------------------------------------------------------------------------

def test_a_429_mid_run_waits_its_retry_after_and_loses_nothing(sim):
    clock = Clock(sim)
    records = hook(sim, sleep=clock).records()
    first = [next(records) for _ in range(100)]
    knobs(sim, fail_next=1, fail_status=429, fail_path="users", fail_retry_after_s=7)
    rest = list(records)
    assert first + rest == listed(sim)
    assert clock.waits == [7.0]  # the server's hint, not the backoff
    assert sim.state.stats.injected_failures == 1
    assert calls(sim) == -(-len(listed(sim)) // 100) + 1


def test_the_account_limit_429_has_a_plain_text_body_and_is_waited_out(sim):
    """Over the per-minute limit: 429, Retry-After, "Number of allowed API requests..." (not JSON)."""
    requests.post(sim.url + "/_sim/config", json={"rate_limit_per_minute": 2, "rate_window_s": 30}).raise_for_status()
    clock = Clock(sim)
    h = hook(sim, sleep=clock)
    h.client.budget = None  # no pacing: the server answers 429 when the budget is spent
    assert list(h.records()) == listed(sim)
    assert sim.state.stats.rate_limited >= 1
    assert len(clock.waits) == sim.state.stats.rate_limited and all(1 <= w <= 30 for w in clock.waits)


def test_a_low_budget_slows_the_calls_down_instead_of_running_into_429s(sim):
    requests.post(sim.url + "/_sim/config", json={"rate_limit_per_minute": 3, "rate_window_s": 30}).raise_for_status()
    clock = Clock(sim)
    h = hook(sim, sleep=clock, load_organizations=True)
    assert len(list(h.records())) == len(listed(sim))
    assert sim.state.stats.rate_limited == 0
    assert h.budget.waits >= 1 and len(clock.waits) == h.budget.waits
    assert all(0 < w <= 30 for w in clock.waits)


def test_a_page_that_fails_once_is_retried(sim):
    waits = []
    records = hook(sim, sleep=waits.append).records()
    first = [next(records) for _ in range(100)]
    knobs(sim, fail_next=1, fail_status=503, fail_path="users")
    assert first + list(records) == listed(sim)
    assert len(waits) == 1 and sim.state.stats.injected_failures == 1


def test_retries_run_out_with_zendesks_text(sim):
    knobs(sim, fail_next=10, fail_status=429, fail_path="users", fail_retry_after_s=3)
    waits = []
    with pytest.raises(ZendeskError) as caught:
        list(hook(sim, sleep=waits.append).records())
    assert caught.value.status == 429 and waits == [3.0] * 3
    assert "gave up after 4 attempts: 429 Too Many Requests: Number of allowed API requests per minute exceeded" \
        in str(caught.value)


@pytest.mark.parametrize("body,text", [
    ({"error": "Couldn't authenticate you"}, "Couldn't authenticate you"),
    ({"error": {"title": "Forbidden", "message": "No access."}}, "Forbidden: No access."),
    ({"error": "InvalidEndpoint", "description": "Not found"}, "InvalidEndpoint: Not found"),
    ({"errors": [{"code": "InvalidPaginationParameter", "title": "page[size] is not valid"}]},
     "InvalidPaginationParameter: page[size] is not valid"),
    ("Number of allowed API requests per minute exceeded", "Number of allowed API requests per minute exceeded"),
])
def test_zendesk_error_bodies(body, text):
    response = requests.Response()
    response._content = (json.dumps(body) if isinstance(body, dict) else body).encode()
    assert zendesk_error(response) == text


# ---- organizations ---------------------------------------------------------------------------------------

def organizations(sim):
    d = sim.state.directory
    return {d.org_ids[k]: d.organization(k, sim.url) for k in range(len(d.org_ids))}


def test_load_organizations_adds_the_object_or_an_empty_one(sim):
    records = list(hook(sim, load_organizations="true").records())
    orgs = organizations(sim)
    assert [{k: v for k, v in r.items() if k != "organization"} for r in records] == listed(sim)
    assert all(r["organization"] == orgs.get(r["organization_id"], {}) for r in records)
    assert any(r["organization"] == {} for r in records) and any(r["organization"] for r in records)
    assert calls(sim, ORGS) == 1


@pytest.mark.parametrize("value", ["false", "False", "0", "no"])
def test_load_organizations_false_means_false(sim, value):
    """The original turned loading on for any non-empty value, its own generated 'false' included."""
    records = list(hook(sim, load_organizations=value).records())
    assert "organization" not in records[0] and calls(sim, ORGS) == 0


def test_a_mapping_that_reads_organization_loads_them_with_a_warning(sim, capfd):
    needs = SourceNeeds(paths=frozenset({"email", "organization.name"}), whole_records=False)
    records = list(hook(sim, needs=needs, load_organizations="false").records())
    assert any(r["organization"].get("name") for r in records)
    assert "load_organizations is false but a mapping reads organization" in capfd.readouterr().out


def test_organizations_page_like_users(sim):
    with SimulatorThread(zd.build_app(zd.ZendeskState(users=20, seed=2, now=NOW, organizations=230))) as many:
        h = hook(many)
        assert len(h.organizations()) == 230
        assert many.state.stats.by_path[ORGS] == 3


def test_record_by_id(sim):
    user = listed(sim)[7]
    h = hook(sim, load_organizations=True)
    got = h.record_by_id(str(user["id"]))
    assert got == {**user, "organization": organizations(sim).get(user["organization_id"], {})}
    assert h.record_by_id("1") is None


# ---- settings and the connection -------------------------------------------------------------------------

def settings_problems(**values):
    base = {"default_role": 25, "default_position": "Employee"}
    return dict(ZendeskSettings.model_validate(base | values).problems())


def test_settings_problems():
    assert settings_problems(system_name="acme", username="a@b.c", api_token="t") == {}
    assert settings_problems(system_name="acme", oauth_token="o") == {}
    assert set(settings_problems(system_name="acme")) == {"username", "api_token"}
    assert "system_name" in settings_problems(oauth_token="o")
    assert "expected your Zendesk subdomain" in settings_problems(system_name="https://acme.zendesk.com",
                                                                  oauth_token="o")["system_name"]
    assert settings_problems(system_name="acme.zendesk.com", oauth_token="o") == {}
    assert "got 'owner'" in settings_problems(system_name="acme", oauth_token="o", roles="agent,owner")["roles"]
    assert settings_problems(conn_id="zd", roles="agent") == {}


def test_the_url_comes_from_system_name_unless_given():
    h = ZendeskHook({"system_name": "Acme.zendesk.com", "oauth_token": "o"}, section="zendesk")
    assert h.url == "https://acme.zendesk.com"
    assert ZendeskHook({"url": "support.acme.com/", "oauth_token": "o"}).url == "https://support.acme.com"


def connection(monkeypatch, **conn):
    monkeypatch.setenv("AIRFLOW_CONN_ZENDESK_TEST", json.dumps({"conn_type": "zendesk", **conn}))
    return ZendeskHook(zendesk_conn_id="zendesk_test", max_attempts=2)


def test_from_a_connection(sim, monkeypatch):
    h = connection(monkeypatch, host=sim.url, login=zd.DEFAULT_EMAIL, password=zd.DEFAULT_TOKEN)
    assert h.test_connection()[0] and len(list(h.records())) == len(listed(sim))
    h = connection(monkeypatch, host=sim.url, extra={"oauth_token": zd.DEFAULT_OAUTH_TOKEN})
    ok, message = h.test_connection()
    assert ok and "(OAuth token)" in message
    h = connection(monkeypatch, host="acme", login="a@b.c", password="t")
    assert h.url == "https://acme.zendesk.com"
    h = connection(monkeypatch, host="acme.zendesk.com", login="a@b.c", password="t")
    assert h.url == "https://acme.zendesk.com"


def test_from_a_section_with_conn_id(sim, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ZD", json.dumps({"conn_type": "zendesk", "host": sim.url,
                                                      "login": zd.DEFAULT_EMAIL, "password": zd.DEFAULT_TOKEN}))
    h = ZendeskHook({"conn_id": "zd", "load_organizations": True, "default_role": 25,
                     "default_position": "E"}, section="zendesk")
    records = list(h.records())
    assert len(records) == len(listed(sim)) and "organization" in records[0]


# ---- TLS ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def https_sim(tmp_path_factory):
    certs = tls_certificates(tmp_path_factory.mktemp("tls"))
    with SimulatorThread(zd.build_app(zd.ZendeskState(users=5, now=NOW)), ssl_context=certs.server_context()) as s:
        assert s.url.startswith("https://")
        s.certs = certs
        yield s


def test_tls_an_unknown_ca_is_refused_without_retries(https_sim):
    https_sim.state.reset()
    waits = []
    ok, message = hook(https_sim, sleep=waits.append).test_connection()
    assert not ok
    assert "TLS certificate is not trusted" in message and "set cacert_file" in message, message
    assert waits == [] and https_sim.state.stats.requests == 0


def test_tls_cacert_file_trusts_the_servers_ca(https_sim):
    h = hook(https_sim, cacert_file=https_sim.certs.ca_file)
    ok, message = h.test_connection()
    assert ok, message
    assert len(list(h.records())) == len(https_sim.state.directory.listed())


def test_tls_verify_ssl_false_works_with_a_warning(https_sim, capfd):
    ok, message = hook(https_sim, verify_ssl=False, cacert_file="/not/read.pem").test_connection()
    assert ok, message
    assert "verify_ssl = false: the server's TLS certificate is not checked" in capfd.readouterr().out
