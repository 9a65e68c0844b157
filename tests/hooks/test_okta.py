"""OktaHook against the Okta simulator: SSWS auth, Link paging, rate limits, errors, TLS; the okta settings."""
from __future__ import annotations

import itertools
import json
import time

import pytest
import requests
from aiohttp import web

from airflow_provider_oomnitza.hooks.errors import RefusedCredentials
from airflow_provider_oomnitza.hooks.okta import OktaAuthError, OktaError, OktaHook
from airflow_provider_oomnitza.sources.okta import org_url
from tests.simulators import okta as ok
from tests.simulators.base import SimulatorThread, knobs, stats, tls_certificates

NOW = 1_790_000_000.0
N_USERS = 700
USERS = ok.USERS_PATH


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(ok.build_app(ok.OktaState(users=N_USERS, seed=11, now=NOW))) as s:
        yield s


@pytest.fixture(autouse=True)
def _reset(request):
    if "sim" in request.fixturenames:
        requests.post(request.getfixturevalue("sim").url + "/_sim/reset").raise_for_status()


def settings(sim, **extra):
    return {"url": sim.url, "api_token": ok.DEFAULT_TOKEN, **extra}


def hook(sim, waits=None, **extra):
    return OktaHook(settings(sim, **extra), section="okta", sleep=waits.append if waits is not None else None)


def sim_config(sim, **values):
    requests.post(sim.url + "/_sim/config", json=values).raise_for_status()


def expected_users(state, *, deprovisioned=False, base=None):
    """The users the API lists, in its order (by id), as the API renders them."""
    d = state.directory
    plain = [i for i in range(len(d)) if d.statuses[i] != "DEPROVISIONED"]
    gone = [i for i in range(len(d)) if d.statuses[i] == "DEPROVISIONED"] if deprovisioned else []
    return [ok._with_links(base, d.user(i)) for i in plain + gone] if base else [d.ids[i] for i in plain + gone]


def ids(records):
    return [r["id"] for r in records]


def pages(count, size=200):
    return max(1, -(-count // size))


def small_sim(users=40, **config):
    return SimulatorThread(ok.build_app(ok.OktaState(users=users, seed=3, now=NOW, config=ok.OktaConfig(**config))))


def app_with(state, middleware):
    app = ok.build_app(state)
    app.middlewares.append(middleware)
    return app


# ---- paging ----------------------------------------------------------------------------------------

def test_every_user_once_as_okta_renders_it_200_per_page(sim):
    # The server's own default page is larger here: the page count shows the hook asks for 200.
    sim_config(sim, default_limit=500, max_limit=500)
    records = list(hook(sim).records())
    expected = expected_users(sim.state, base=sim.url)
    assert records == expected  # every user once, in the API's order, the whole object unchanged
    assert not any(r["status"] == "DEPROVISIONED" for r in records)
    assert {"id", "status", "created", "lastLogin", "profile", "credentials", "_links"} <= set(records[0])
    assert stats(sim)["by_path"][USERS] == pages(len(expected))


def test_deprovisioned_users_come_from_a_second_filtered_listing(sim):
    records = list(hook(sim, deprovisioned=True).records())
    assert ids(records) == expected_users(sim.state, deprovisioned=True)
    gone = [r for r in records if r["status"] == "DEPROVISIONED"]
    assert gone and records[-len(gone):] == gone
    plain = len(records) - len(gone)
    assert stats(sim)["by_path"][USERS] == pages(plain) + pages(len(gone))


def test_a_user_deprovisioned_between_the_two_listings_comes_once():
    state = ok.OktaState(users=300, seed=5, now=NOW)
    first = next(i for i, s in enumerate(state.directory.statuses) if s == "ACTIVE")

    @web.middleware
    async def deprovision_after_first_page(request, handler):
        response = await handler(request)
        if request.path == USERS and "filter" not in request.query and "after" not in request.query:
            state.directory.statuses[first] = "DEPROVISIONED"
            state._views.clear()
        return response

    with SimulatorThread(app_with(state, deprovision_after_first_page)) as s:
        got = ids(hook(s, deprovisioned=True).records())
    assert len(got) == len(set(got)) == len(state.directory)
    assert got.count(state.directory.ids[first]) == 1


def test_the_next_link_is_followed_on_the_org_url_only():
    """A next link naming another host is read on the configured URL: the token goes nowhere else."""
    state = ok.OktaState(users=500, seed=6, now=NOW)

    @web.middleware
    async def links_elsewhere(request, handler):
        response = await handler(request)
        if request.path == USERS:
            base = f"{request.scheme}://{request.host}"
            lines = [v.replace(base, "https://elsewhere.example") for v in response.headers.getall("Link", [])]
            del response.headers["Link"]
            for line in lines:
                response.headers.add("Link", line)
        return response

    with SimulatorThread(app_with(state, links_elsewhere)) as s:
        assert ids(hook(s).records()) == expected_users(state)


def test_an_empty_directory():
    with small_sim(users=0) as s:
        h = hook(s, deprovisioned=True)
        assert list(h.records()) == []
        assert h.check().startswith(f"Connected to Okta at {s.url}: the token may list users; rate limit 600")
        assert stats(s)["by_path"][USERS] == 3  # each listing once, the check once
    assert h.problems == []


def test_records_can_stop_early(sim):
    assert len(list(itertools.islice(hook(sim).records(), 250))) == 250
    assert stats(sim)["by_path"][USERS] == 2


def test_record_by_id_or_login(sim):
    d = sim.state.directory
    user = ok._with_links(sim.url, d.user(5))
    h = hook(sim)
    assert h.record_by_id(user["id"]) == user
    assert h.record_by_id(user["profile"]["login"]) == user
    assert h.record_by_id("00unope") is None


# ---- authentication and errors ---------------------------------------------------------------------

def test_a_wrong_token_fails_at_once_with_okta_code_and_no_retry(sim):
    h = hook(sim, waits := [], api_token="00" + "x" * 40)
    with pytest.raises(OktaAuthError) as info:
        list(h.records())
    message = str(info.value)
    assert isinstance(info.value, RefusedCredentials) and info.value.status == 401
    assert message.startswith(f"[okta] Okta list users, page 1 at {sim.url}: 401 Unauthorized (E0000011): Invalid "
                              "token provided; check api_token")
    assert "x" * 40 not in message
    assert stats(sim)["requests"] == 1 and waits == []
    ok_, text = h.test_connection()
    assert not ok_ and "E0000011" in text


def test_an_admin_without_permission_is_a_403(sim):
    with pytest.raises(OktaAuthError) as info:
        list(hook(sim, api_token=ok.NO_PERMISSION_TOKEN).records())
    assert info.value.status == 403
    assert "403 Forbidden (E0000006): You do not have permission" in str(info.value)
    assert "Read-Only Administrator" in str(info.value)


def test_the_token_is_sent_as_ssws(sim):
    """Okta's scheme, exactly: the simulator refuses Bearer (401) and no header at all (403 E0000005)."""
    h = hook(sim)
    assert h.client.session().headers["Authorization"] == f"SSWS {ok.DEFAULT_TOKEN}"
    assert h.check().startswith("Connected to Okta")


def test_a_page_failing_once_is_retried_with_backoff_not_until_the_reset(sim):
    waits: list[float] = []
    records = hook(sim, waits).records()
    first = list(itertools.islice(records, 200))
    knobs(sim, fail_next=1, fail_status=503, fail_path=USERS)  # the next page fails once
    rest = list(records)
    assert ids(first + rest) == expected_users(sim.state)
    st = stats(sim)
    assert st["injected_failures"] == 1 and st["by_path"][USERS] == pages(len(first + rest)) + 1
    assert len(waits) == 1 and waits[0] < 5  # a 503 also carries X-Rate-Limit-Reset: not a reason to wait for it


def test_5xx_that_persists_fails_with_the_status(sim):
    knobs(sim, fail_next=100, fail_status=500, fail_path=USERS)
    with pytest.raises(OktaError, match=r"gave up after 3 attempts: 500 Internal Server Error \(E0000009\): "
                                        "Internal Server Error") as info:
        list(OktaHook(settings(sim), section="okta", max_attempts=3, sleep=lambda s: None).records())
    assert not isinstance(info.value, RefusedCredentials)


def test_an_answer_that_is_not_okta_says_to_check_the_url():
    state = ok.OktaState(users=5, seed=1, now=NOW)

    @web.middleware
    async def sign_in_page(request, handler):
        return web.Response(text="<html>Sign in</html>", content_type="text/html")

    with SimulatorThread(app_with(state, sign_in_page)) as s:
        with pytest.raises(OktaError, match=r"expected a JSON list, got text/html.*is url your Okta org URL\?"):
            list(hook(s).records())


# ---- rate limits ------------------------------------------------------------------------------------

def test_a_429_mid_run_is_waited_out_until_the_reset_measured_against_date(sim):
    waits: list[float] = []
    records = hook(sim, waits).records()
    first = list(itertools.islice(records, 200))
    knobs(sim, fail_next=1, fail_status=429, fail_path=USERS)  # E0000047, X-Rate-Limit-Reset: the window's end
    rest = list(records)
    assert ids(first + rest) == expected_users(sim.state)
    assert stats(sim)["injected_failures"] == 1
    # The window is 60 s from the first request: the wait is Reset - Date + 1 s, not the client's backoff.
    assert len(waits) == 1 and 56 <= waits[0] <= 62


def test_without_slowing_down_the_limit_is_met_and_waited_out():
    with small_sim(users=150, rate_limit=5, rate_window_s=1, default_limit=20, max_limit=20) as s:
        h = hook(s, waits := [])
        h.slow_down_below = None
        h.sleep = lambda seconds: (waits.append(seconds), time.sleep(seconds))
        assert ids(h.records()) == expected_users(s.state)
        assert stats(s)["rate_limited"] >= 1 and len(waits) >= 1


def test_slowing_down_as_the_budget_runs_low_avoids_the_429():
    with small_sim(users=150, rate_limit=5, rate_window_s=1, default_limit=20, max_limit=20) as s:
        h = hook(s, waits := [])
        h.slow_down_below = 0.4
        h.sleep = lambda seconds: (waits.append(seconds), time.sleep(seconds))
        assert ids(h.records()) == expected_users(s.state)
        assert stats(s)["rate_limited"] == 0
        assert h.budget.waits >= 1 and len(waits) == h.budget.waits


# ---- settings and connections ---------------------------------------------------------------------

@pytest.mark.parametrize("given,used", [
    ("https://acme-admin.okta.com", "https://acme.okta.com"),
    ("acme-admin.oktapreview.com/", "https://acme.oktapreview.com"),
    ("https://acme-admin.okta-emea.com:443", "https://acme.okta-emea.com:443"),
    ("https://acme.okta.com/", "https://acme.okta.com"),
    ("https://sso-admin.acme.com", "https://sso-admin.acme.com"),  # a custom domain is the user's own
])
def test_org_url(given, used):
    assert org_url(given) == used


def test_an_admin_console_url_is_used_without_admin_with_a_warning(capfd):
    h = OktaHook({"url": "https://example-admin.okta.com", "api_token": "t"}, section="okta")
    assert h.url == "https://example.okta.com"
    assert "[okta] url: https://example-admin.okta.com is the Okta Admin Console" in capfd.readouterr().out


def test_a_connection_gives_url_and_token(sim, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_OKTA_DEFAULT", json.dumps({
        "conn_type": "okta", "host": sim.url, "password": ok.DEFAULT_TOKEN}))
    h = OktaHook()
    assert h.conn_id == "okta_default"
    assert h.test_connection() == (True, f"Connected to Okta at {sim.url}: the token may list users; rate limit "
                                         "600, 599 left")
    assert len(list(OktaHook(okta_conn_id="okta_default").records())) == len(expected_users(sim.state))


# ---- TLS (the three cases of tests/hooks/test_tls.py) ---------------------------------------------------

@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return tls_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def https_sim(certs):
    with SimulatorThread(ok.build_app(ok.OktaState(users=5, seed=1, now=NOW)), ssl_context=certs.server_context()) as s:
        assert s.url.startswith("https://")
        yield s


def test_tls_an_unknown_ca_is_refused_with_a_clear_message_and_no_retries(https_sim):
    waits: list[float] = []
    ok_, message = hook(https_sim, waits).test_connection()
    assert not ok_
    assert "TLS certificate is not trusted" in message and "set cacert_file" in message, message
    assert waits == [] and https_sim.state.stats.requests == 0


def test_tls_cacert_file_trusts_the_servers_ca(https_sim, certs):
    h = hook(https_sim, cacert_file=certs.ca_file)
    ok_, message = h.test_connection()
    assert ok_, message
    assert len(list(h.records())) == len(expected_users(https_sim.state))


def test_tls_verify_ssl_false_works_with_a_warning(https_sim, capfd):
    ok_, message = hook(https_sim, verify_ssl=False, cacert_file="/not/read.pem").test_connection()
    assert ok_, message
    assert "verify_ssl = false: the server's TLS certificate is not checked" in capfd.readouterr().out
