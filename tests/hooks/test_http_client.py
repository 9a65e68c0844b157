"""RetryingClient: retries with server hints, one re-authentication, a concurrency cap."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from aiohttp import web

from airflow_provider_oomnitza.hooks.http_client import HttpError, RetryingClient, reset_epoch_seconds
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


def client(sim, **kw):
    tokens = iter(["stale", "good", "good"])

    def authenticate(session):
        session.headers["Authorization"] = f"Bearer {next(tokens)}"

    kw.setdefault("authenticate", authenticate)
    return RetryingClient(sim.url, name="Test", max_attempts=4, max_wait=0.5, **kw)


def test_a_401_reauthenticates_once_and_retries(server):
    c = client(server)
    assert c.get_json("data") == {"ok": True, "q": ""}
    assert c.generation == 1
    assert c.get_json("data")["ok"]  # the new session keeps the good token
    assert c.generation == 1


def test_a_persistent_401_is_an_error(server):
    c = client(server, authenticate=lambda s: s.headers.update(Authorization="Bearer bad"))
    with pytest.raises(HttpError) as info:
        c.get_json("data")
    assert info.value.status == 401 and "INVALID_TOKEN" in str(info.value)


def test_5xx_and_429_are_retried_with_the_servers_hint(server):
    knobs(server, fail_next=2, fail_status=503)
    c = client(server, authenticate=lambda s: s.headers.update(Authorization="Bearer good"))
    assert c.get_json("data")["ok"]
    knobs(server, rate_limit=1, rate_window_s=0.3, retry_after_s=0.3)
    started = time.monotonic()
    assert c.get_json("data")["ok"] and c.get_json("data")["ok"]
    assert time.monotonic() - started >= 0.25
    assert server.state.stats.rate_limited >= 1


def test_retries_run_out_with_a_clear_message_without_the_query_string(server):
    knobs(server, fail_next=10, fail_status=502)
    c = client(server, authenticate=lambda s: s.headers.update(Authorization="Bearer good"))
    with pytest.raises(HttpError) as info:
        c.get_json("data?api_key=secret-value")
    assert "gave up after 4 attempts" in str(info.value) and "secret-value" not in str(info.value)


def test_ok_statuses_are_returned(server):
    c = client(server)
    assert c.request("GET", "missing", ok_statuses=(404,)).status_code == 404
    with pytest.raises(HttpError, match="404 Not Found: nope"):
        c.request("GET", "missing")


def test_concurrency_is_capped(server):
    c = client(server, authenticate=lambda s: s.headers.update(Authorization="Bearer good"), max_connections=3)
    with ThreadPoolExecutor(10) as pool:
        assert all(r["ok"] for r in pool.map(lambda _: c.get_json("data"), range(30)))
    assert server.state.stats.peak_in_flight == 3


def test_reset_epoch_hint():
    response = requests.Response()
    response.headers["X-Rate-Limit-Reset"] = str(int(time.time()) + 5)
    assert 3.5 < reset_epoch_seconds("X-Rate-Limit-Reset")(response) <= 5
    response.headers["Retry-After"] = "1"
    assert reset_epoch_seconds("X-Rate-Limit-Reset")(response) == 1.0
