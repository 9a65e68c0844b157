"""The shared client toolkit: retries that follow the server's hint, tokens, ordered prefetch, a concurrency cap.

Waits are counted (the client's ``sleep`` records them), never timed.
"""
import email.utils
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from airflow_provider_oomnitza.hooks.http_client import (
    HttpError, RateBudget, RetryingClient, TokenAuth, TokenCache, fetch_in_order, reset_epoch_seconds,
)
from tests.simulators.base import SimState, SimulatorThread, json_response, knobs, make_app


@pytest.fixture
def server():
    state = SimState()
    state.tokens = {"good"}
    app = make_app(state)

    async def data(request):
        if request.headers.get("Authorization") not in {f"Bearer {t}" for t in state.tokens}:
            return json_response({"errors": [{"description": "INVALID_TOKEN"}]}, status=401)
        import asyncio

        await asyncio.sleep(0.02)
        return json_response({"ok": True, "q": request.query_string})

    async def missing(request):
        return json_response({"message": "nope"}, status=404)

    app.router.add_get("/data", data)
    app.router.add_get("/missing", missing)
    with SimulatorThread(app) as sim:
        yield sim


class Tokens:
    """A token source: hands out the given tokens in turn, counting fetches."""

    def __init__(self, *values, lifetime=None):
        self.values, self.lifetime, self.fetched = list(values), lifetime, 0

    def __call__(self):
        self.fetched += 1
        return self.values.pop(0), self.lifetime


def client(sim, tokens=None, waits=None, **kw):
    kw.setdefault("max_wait", 5)
    auth = TokenAuth(TokenCache(tokens or Tokens("good")))
    return RetryingClient(sim.url, name="Test", max_attempts=4, auth=auth,
                          sleep=(waits.append if waits is not None else time.sleep), **kw)


# ---- tokens -------------------------------------------------------------------------------------

def test_a_401_renews_the_token_once_and_sends_again(server):
    tokens = Tokens("stale", "good")
    c = client(server, tokens)
    assert c.get_json("data") == {"ok": True, "q": ""}
    assert c.get_json("data")["ok"]  # the new token is kept
    assert tokens.fetched == 2 and server.state.stats.by_path["/data"] == 3


def test_a_401_that_persists_after_one_renewal_is_an_http_error_with_the_status(server):
    tokens = Tokens("bad", "still-bad", "never-asked")
    with pytest.raises(HttpError) as info:
        client(server, tokens).get_json("data")
    assert info.value.status == 401 and "INVALID_TOKEN" in str(info.value)
    assert tokens.fetched == 2 and server.state.stats.by_path["/data"] == 2


def test_a_token_is_renewed_shortly_before_it_expires():
    now = [0.0]
    tokens = Tokens("a", "b", "c", lifetime=100)
    cache = TokenCache(tokens, clock=lambda: now[0])
    assert cache.current() == "a"
    now[0] = 79.0  # a fifth of its life before expiry: still good
    assert cache.current() == "a"
    now[0] = 80.0
    assert cache.current() == "b" and tokens.fetched == 2


def test_one_renewal_however_many_threads_see_the_token_refused():
    started, release = threading.Event(), threading.Event()
    count = [0]

    def fetch():
        count[0] += 1
        if count[0] == 2:  # the renewal: hold it while the other threads pile up
            started.set()
            release.wait(5)
        return f"t{count[0]}", None

    cache = TokenCache(fetch)
    stale = cache.current()
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(cache.renew, stale) for _ in range(8)]
        assert started.wait(5)
        release.set()
        [f.result() for f in futures]
    assert count[0] == 2 and cache.current() == "t2"


def test_a_rotated_token_is_adopted_unless_stale():
    cache = TokenCache(Tokens("a"))
    cache.current()
    assert cache.adopt("a", "b") and cache.current() == "b"
    assert not cache.adopt("a", "c") and cache.current() == "b"


# ---- retries ------------------------------------------------------------------------------------

def test_the_wait_follows_retry_after_when_it_is_longer_than_the_backoff(server):
    knobs(server, fail_next=2, fail_status=503, fail_retry_after_s=4)
    waits = []
    assert client(server, waits=waits).get_json("data")["ok"]
    assert waits == [4.0, 4.0]  # the fallback backoff would have been about 0.5 s and 1 s


def test_retry_after_zero_means_at_once(server):
    knobs(server, fail_next=3, fail_status=503, fail_retry_after_s=0)
    waits = []
    assert client(server, waits=waits).get_json("data")["ok"]
    assert waits == [0.0, 0.0, 0.0]


def test_without_a_hint_the_backoff_grows_and_is_capped(server):
    knobs(server, fail_next=3, fail_status=502, fail_retry_after_s=None)
    waits = []
    assert client(server, waits=waits, max_wait=1.2).get_json("data")["ok"]
    assert len(waits) == 3 and all(0 < w <= 1.2 for w in waits) and waits[-1] == 1.2


def test_a_429_hint_is_capped_by_max_wait(server):
    knobs(server, rate_limit=1, rate_window_s=60, retry_after_s=600)
    waits = []
    c = client(server, waits=waits)
    assert c.get_json("data")["ok"]
    with pytest.raises(HttpError, match="gave up after 4 attempts: 429"):
        c.get_json("data")
    assert waits == [5.0, 5.0, 5.0]


def test_one_short_log_line_per_attempt(server, caplog):
    knobs(server, fail_next=2, fail_status=503, fail_retry_after_s=0)
    with caplog.at_level(logging.WARNING):
        client(server, waits=[]).get_json("data")
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert lines == [f"Test GET {server.url}/data failed: 503 Service Unavailable: simulated failure 503; "
                     f"attempt {n} of 4, next in 0.0 s" for n in (1, 2)]


def test_an_unreachable_server_logs_the_reason_not_urllib3s_text(caplog):
    waits = []
    c = RetryingClient("http://127.0.0.1:9", name="Test", max_attempts=3, sleep=waits.append)
    with caplog.at_level(logging.WARNING), pytest.raises(HttpError) as info:
        c.get_json("data")
    assert info.value.status is None and len(waits) == 2
    text = str(info.value) + "\n".join(r.getMessage() for r in caplog.records)
    assert "Connection refused" in text and "object at 0x" not in text and "Max retries" not in text
    assert "attempt 1 of 3" in text and "attempt 2 of 3" in text


def test_retries_run_out_with_a_clear_message_without_the_query_string(server):
    knobs(server, fail_next=10, fail_status=502, fail_retry_after_s=0)
    with pytest.raises(HttpError) as info:
        client(server, waits=[]).get_json("data?api_key=secret-value")
    assert "gave up after 4 attempts" in str(info.value) and "secret-value" not in str(info.value)


def test_ok_statuses_are_returned(server):
    c = client(server)
    assert c.request("GET", "missing", ok_statuses=(404,)).status_code == 404
    with pytest.raises(HttpError, match="404 Not Found: nope"):
        c.request("GET", "missing")


def test_reset_epoch_hint():
    response = requests.Response()
    response.status_code = 429
    response.headers["X-Rate-Limit-Reset"] = str(int(time.time()) + 5)
    assert 3.5 < reset_epoch_seconds("X-Rate-Limit-Reset")(response) <= 5
    response.headers["Retry-After"] = "1"
    assert reset_epoch_seconds("X-Rate-Limit-Reset")(response) == 1.0


def test_reset_epoch_hint_is_measured_against_the_servers_date():
    """A client clock an hour ahead of the server's would otherwise not wait at all."""
    server_time = int(time.time()) - 3600
    response = requests.Response()
    response.status_code = 429
    response.headers["Date"] = email.utils.formatdate(server_time, usegmt=True)
    response.headers["X-Rate-Limit-Reset"] = f"{server_time + 30}, {server_time + 5}"  # two buckets: the first reset
    assert reset_epoch_seconds("X-Rate-Limit-Reset")(response) == 5.0
    assert reset_epoch_seconds("X-Rate-Limit-Reset", margin=1)(response) == 6.0
    response.headers["Date"] = "not a date"  # then our own clock
    assert reset_epoch_seconds("X-Rate-Limit-Reset")(response) == 0.0
    response.status_code = 503  # a failure, not the limit: the client's own backoff
    assert reset_epoch_seconds("X-Rate-Limit-Reset")(response) is None


@pytest.fixture
def budget_server():
    """Answers with a budget of 10 requests per window: Remaining counts down, the reset is 9 s after Date."""
    state = SimState()
    app = make_app(state)
    server_time = int(time.time()) - 7200  # the server's clock is off: only its Date says how far the reset is

    async def data(request):
        used = state.stats.by_path["/data"]
        limit = int(request.query.get("limit", 10))
        headers = {"Date": email.utils.formatdate(server_time, usegmt=True), "X-Rate-Limit-Limit": str(limit),
                   "X-Rate-Limit-Remaining": str(max(0, 10 - used)), "X-Rate-Limit-Reset": str(server_time + 9)}
        return json_response({"used": used}, headers=headers)

    app.router.add_get("/data", data)
    with SimulatorThread(app) as sim:
        yield sim


def okta_budget(**kw):
    return RateBudget(limit="X-Rate-Limit-Limit", remaining="X-Rate-Limit-Remaining",
                      reset=reset_epoch_seconds("X-Rate-Limit-Reset", margin=1, statuses=range(200, 600)), **kw)


def test_rate_budget_spreads_the_last_requests_over_the_rest_of_the_window(budget_server):
    waits: list[float] = []
    budget = okta_budget(low=0.3)
    c = RetryingClient(budget_server.url, name="Test", budget=budget, sleep=waits.append)
    for _ in range(11):
        c.get_json("data")
    # After Remaining 3, 2, 1, 0 (of 10): the 10 s to the reset shared by the requests left.
    assert waits == [pytest.approx(w, abs=0.3) for w in (10 / 3, 10 / 2, 10 / 1, 10 / 1)]
    assert budget.waits == 4


def test_rate_budget_ignores_a_limit_of_zero_and_answers_without_the_headers(budget_server, server):
    waits: list[float] = []
    c = RetryingClient(budget_server.url, name="Test", budget=okta_budget(), sleep=waits.append)
    for _ in range(12):
        c.get_json("data", params={"limit": 0})  # Okta's concurrency answers carry Limit 0
    assert waits == []
    plain = RetryingClient(server.url, name="Test", budget=okta_budget(), sleep=waits.append,
                           auth=TokenAuth(TokenCache(Tokens("good"))))
    assert plain.get_json("data")["ok"] and waits == []


# ---- concurrency ----------------------------------------------------------------------------------

def test_concurrency_is_capped(server):
    c = client(server, max_connections=3)
    with ThreadPoolExecutor(10) as pool:
        assert all(r["ok"] for r in pool.map(lambda _: c.get_json("data"), range(30)))
    assert server.state.stats.peak_in_flight == 3


def test_fetch_in_order_keeps_order_and_bounds_what_runs_ahead():
    lock = threading.Lock()
    running, peak, submitted = [0], [0], [0]

    def call(i):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01 * (i % 3))
        with lock:
            running[0] -= 1
        return i

    def calls():
        for i in range(40):
            submitted[0] += 1
            yield lambda i=i: call(i)

    results = []
    for result in fetch_in_order(calls(), workers=4, ahead=6):
        results.append(result)
        assert submitted[0] <= len(results) + 6  # never more than ``ahead`` submitted beyond what was taken
    assert results == list(range(40)) and peak[0] == 4


def test_fetch_in_order_stops_reading_calls_when_the_consumer_stops():
    submitted = []

    def calls():
        for i in range(1000):
            submitted.append(i)
            yield lambda i=i: i

    taken = []
    for result in fetch_in_order(calls(), workers=2, ahead=3):
        taken.append(result)
        if len(taken) == 5:
            break
    assert taken == [0, 1, 2, 3, 4] and len(submitted) <= 5 + 3


def test_fetch_in_order_raises_a_calls_error_where_its_result_would_be():
    def boom():
        raise ValueError("page 2 failed")

    got = []
    with pytest.raises(ValueError, match="page 2 failed"):
        for result in fetch_in_order([lambda: 1, boom, lambda: 3], workers=2):
            got.append(result)
    assert got == [1]
