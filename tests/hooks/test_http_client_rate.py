"""The toolkit's rate-budget parts: a reset hint in seconds-until (not epoch), and pacing on a low budget.

A small server answers with scripted rate-limit headers; waits are counted through ``sleep``.
"""
import logging

import pytest
import requests

from airflow_provider_oomnitza.hooks.http_client import (
    HttpError, RateBudget, RetryingClient, reset_in_seconds,
)
from tests.simulators.base import SimState, SimulatorThread, json_response, make_app

HEADERS = {"limit": "X-RateLimit-Limit", "remaining": "X-RateLimit-Remaining"}
RESET = reset_in_seconds("X-RateLimit-Reset")


@pytest.fixture
def server():
    """``/data`` answers the next scripted ``(status, limit, remaining, reset)``, then 200 with an ample budget."""
    state = SimState()
    state.script = []
    app = make_app(state)

    async def data(request):
        status, limit, remaining, reset = state.script.pop(0) if state.script else (200, 100, 99, 3600)
        headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
                   "X-RateLimit-Reset": str(reset)}
        return json_response({"statusCode": status} if status != 200 else {"ok": True}, status=status,
                             headers=headers)

    app.router.add_get("/data", data)
    with SimulatorThread(app) as sim:
        yield sim


def response(**headers):
    r = requests.Response()
    r.status_code = 200
    r.headers.update(headers)
    return r


def test_reset_in_seconds_reads_seconds_until_the_reset_not_an_epoch():
    assert RESET(response(**{"X-RateLimit-Reset": "17"})) == 17.0
    assert RESET(response(**{"X-RateLimit-Reset": "17", "Retry-After": "3"})) == 3.0  # Retry-After wins
    assert RESET(response(**{"X-RateLimit-Reset": "soon"})) is None
    assert RESET(response()) is None


def test_a_429_waits_the_reset_seconds_the_server_gives(server):
    server.state.script = [(429, 100, 0, 7), (429, 100, 0, 6)]
    waits = []
    client = RetryingClient(server.url, name="Test", hint=RESET, max_wait=60, sleep=waits.append)
    assert client.get_json("data")["ok"]
    assert waits == [7.0, 6.0]  # not the backoff (about 0.5 s, 1 s), not "epoch 7 is in the past" (0 s)


def test_a_429_wait_is_capped_and_retries_run_out(server):
    server.state.script = [(429, 100, 0, 3000)] * 3
    waits = []
    client = RetryingClient(server.url, name="Test", hint=RESET, max_wait=5, max_attempts=3, sleep=waits.append)
    with pytest.raises(HttpError, match="gave up after 3 attempts: 429") as info:
        client.get_json("data")
    assert info.value.status == 429 and waits == [5.0, 5.0]


def budget(**kw):
    return RateBudget(**HEADERS, reset=RESET, name="Test", clock=lambda: 0.0, **kw)


def low(remaining, reset, limit=100, status=200):
    r = response(**{"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
                    "X-RateLimit-Reset": str(reset)})
    r.status_code = status
    return r


def test_the_budget_does_nothing_while_it_is_ample():
    b = budget()
    for remaining in (99, 50, 11):
        b.observe(low(remaining, 600))
        assert b.delay() == 0
    b.observe(response())  # no rate headers at all
    assert b.delay() == 0 and b.waits == 0


def test_the_budget_spreads_the_calls_left_over_the_time_to_the_reset(caplog):
    b = budget()
    waits = []
    with caplog.at_level(logging.WARNING):
        for remaining, reset in ((10, 600), (5, 50), (0, 30)):
            b.observe(low(remaining, reset))
            waits.append(b.delay())
    assert waits == [60.0, 10.0, 30.0]  # 600/10, 50/5, and the reset itself when nothing is left
    assert caplog.text.count("slowing down") == 1  # one line when pacing starts, not one per call
    assert "10 of 100 calls left" in caplog.text


def test_concurrent_callers_each_reserve_their_own_slot():
    b = budget()
    b.observe(low(4, 20))  # 5 s apart
    assert [b.delay() for _ in range(3)] == [5.0, 10.0, 15.0]  # three threads waiting on one answer
    assert b.waits == 3


def test_a_429_is_left_to_the_retry_loop():
    b = budget()
    b.observe(low(0, 3000, limit=5000, status=429))
    assert b.delay() == 0


def test_a_client_with_a_budget_slows_down_on_a_low_budget_and_caps_the_wait(server):
    server.state.script = [(200, 100, 50, 600), (200, 100, 4, 20), (200, 100, 2, 10), (200, 100, 1, 3000)]
    waits = []
    client = RetryingClient(server.url, name="Test", hint=RESET, sleep=waits.append, max_wait=60,
                            budget=RateBudget(**HEADERS, reset=RESET, name="Test"))
    for _ in range(5):
        assert client.get_json("data")["ok"]
    # 20 s / 4 calls, 10 s / 2 calls, then 3000 s capped by max_wait; none while the budget was ample
    assert waits == [pytest.approx(5.0, abs=0.2), pytest.approx(5.0, abs=0.2), 60]
