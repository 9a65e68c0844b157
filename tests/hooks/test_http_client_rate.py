"""The toolkit's rate-budget parts: a reset hint in seconds-until (not epoch), and pacing on a low budget.

A small server answers with scripted rate-limit headers; waits are counted through ``sleep``.
"""
import logging

import pytest
import requests

from airflow_provider_oomnitza.hooks.http_client import (
    BudgetPacer, HttpError, RetryingClient, reset_in_seconds,
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


def pacer(waits, **kw):
    return BudgetPacer(**HEADERS, reset=RESET, sleep=waits.append, name="Test", **kw)


def test_the_pacer_does_nothing_while_the_budget_is_ample():
    waits = []
    p = pacer(waits)
    for remaining in (99, 50, 11):
        p(response(**{"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": str(remaining),
                      "X-RateLimit-Reset": "600"}))
    p(response())  # no rate headers at all
    assert waits == [] and p.waits == 0


def test_the_pacer_spreads_the_calls_left_over_the_time_to_the_reset(caplog):
    waits = []
    p = pacer(waits, max_wait=100)
    with caplog.at_level(logging.WARNING):
        for remaining, reset in ((10, 600), (5, 50), (0, 30)):
            p(response(**{"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": str(remaining),
                          "X-RateLimit-Reset": str(reset)}))
    assert waits == [60.0, 10.0, 30.0]  # 600/10, 50/5, and the reset itself when nothing is left
    assert caplog.text.count("slowing down") == 1  # one line when pacing starts, not one per call
    assert "10 of 100 calls left" in caplog.text


def test_the_pacer_caps_its_wait_and_leaves_429_to_the_retry_loop():
    waits = []
    p = pacer(waits, max_wait=5)
    p(response(**{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "3000"}))
    limited = response(**{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3000"})
    limited.status_code = 429
    p(limited)
    assert waits == [5.0]


def test_a_client_with_a_pacer_slows_down_on_a_low_budget(server):
    server.state.script = [(200, 100, 50, 600), (200, 100, 4, 20), (200, 100, 2, 10)]
    waits = []
    client = RetryingClient(server.url, name="Test", hint=RESET, sleep=waits.append,
                            response_hooks=[pacer(waits)])
    for _ in range(4):
        assert client.get_json("data")["ok"]
    assert waits == [5.0, 5.0]  # 20 s / 4 calls, 10 s / 2 calls; none while the budget was ample
