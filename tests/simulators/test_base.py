"""The shared simulator plumbing (tests/simulators/base.py), against a tiny app built here."""
from __future__ import annotations

import base64
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
import requests
from aiohttp import web

from tests.simulators.base import (Knobs, Settings, SimState, SimulatorThread, add_config_routes, colon_pairs,
                                   decode_basic, json_response, make_app, state_of)


@dataclass
class TinyConfig(Settings):
    page_size: int = 10
    mode: str = "plain"


class TinyState(SimState):
    """Keeps what was posted, so a test can see whether a request took effect."""

    def __init__(self) -> None:
        super().__init__(TinyConfig())
        self.items: list = []


async def echo(request: web.Request) -> web.Response:
    return json_response({"path": request.path})


async def add_item(request: web.Request) -> web.Response:
    state: TinyState = state_of(request)
    state.items.append(await request.json())
    return json_response({"count": len(state.items)}, status=201)


def build_tiny_app(state: SimState | None = None) -> web.Application:
    app = make_app(state if state is not None else TinyState())
    app.router.add_get("/echo", echo)
    app.router.add_get("/other", echo)
    app.router.add_post("/items", add_item)
    add_config_routes(app, lambda s: {"items": len(s.items)})
    return app


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(build_tiny_app()) as running:
        yield running


@pytest.fixture(autouse=True)
def _reset(sim):
    requests.post(sim.url + "/_sim/reset", timeout=10).raise_for_status()
    sim.state.items.clear()


@pytest.fixture
def fresh():
    """A simulator of its own, for tests of the rate-limit window (``/_sim/reset`` keeps it)."""
    with SimulatorThread(build_tiny_app()) as running:
        yield running


def knobs(sim, **values) -> dict:
    r = requests.post(sim.url + "/_sim/knobs", json=values, timeout=10)
    r.raise_for_status()
    return r.json()


def stats(sim) -> dict:
    return requests.get(sim.url + "/_sim/stats", timeout=10).json()


# ---------------------------------------------------------------------------------- state access

def test_state_is_kept_under_an_app_key_without_warnings():
    state = TinyState()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        app = build_tiny_app(state)
    assert state_of(app) is state
    assert "state" not in app  # no string key any more
    with SimulatorThread(app) as running:
        assert running.state is state


def test_state_of_a_request_is_its_apps_state(sim):
    seen = []

    async def peek(request: web.Request) -> web.Response:
        seen.append(state_of(request))
        return json_response({})

    state = TinyState()
    app = build_tiny_app(state)
    app.router.add_get("/peek", peek)
    with SimulatorThread(app) as running:
        requests.get(running.url + "/peek", timeout=10).raise_for_status()
    assert seen == [state]


# ---------------------------------------------------------------------------------------- knobs

def test_knobs_round_trip_and_reject_unknown_names(sim):
    body = requests.get(sim.url + "/_sim/knobs", timeout=10).json()
    assert body == {"latency_ms": 0.0, "rate_limit": 0, "rate_window_s": 1.0, "retry_after_s": 1.0,
                    "fail_next": 0, "fail_status": 503, "fail_path": "", "fail_after_handler": False,
                    "fail_retry_after_s": None, "fail_action": "status", "hang_s": 5.0}
    assert knobs(sim, latency_ms=5)["latency_ms"] == 5
    r = requests.post(sim.url + "/_sim/knobs", json={"no_such_knob": 1}, timeout=10)
    assert r.status_code == 400 and "unknown knob 'no_such_knob'" in r.json()["error"]
    r = requests.post(sim.url + "/_sim/knobs", data=b"{not json", timeout=10)
    assert r.status_code == 400


def test_latency_delays_every_request_but_not_control_routes(sim):
    knobs(sim, latency_ms=250)
    start = time.monotonic()
    assert requests.get(sim.url + "/echo", timeout=10).status_code == 200
    assert time.monotonic() - start >= 0.25
    knobs(sim, latency_ms=600_000)  # ten minutes: a control route that waited would time out below
    assert requests.get(sim.url + "/_sim/stats", timeout=10).status_code == 200


@pytest.mark.parametrize("retry_after, header", [(2.5, "2.500"), (3, "3"), (None, None)])
def test_rate_limit_answers_429_with_retry_after(fresh, retry_after, header):
    knobs(fresh, rate_limit=2, rate_window_s=30, retry_after_s=retry_after)
    codes = [requests.get(fresh.url + "/echo", timeout=10).status_code for _ in range(2)]
    r = requests.get(fresh.url + "/echo", timeout=10)
    assert codes == [200, 200]
    assert r.status_code == 429 and r.json() == {"error": "Too Many Requests"}
    assert r.headers.get("Retry-After") == header
    assert stats(fresh)["rate_limited"] == 1


def test_rate_limit_window_reopens(fresh):
    knobs(fresh, rate_limit=1, rate_window_s=0.3)
    assert requests.get(fresh.url + "/echo", timeout=10).status_code == 200
    assert requests.get(fresh.url + "/echo", timeout=10).status_code == 429
    time.sleep(0.35)
    assert requests.get(fresh.url + "/echo", timeout=10).status_code == 200


def test_fail_next_only_hits_paths_matching_fail_path(sim):
    knobs(sim, fail_next=2, fail_status=502, fail_path="^/items$")
    assert requests.get(sim.url + "/echo", timeout=10).status_code == 200  # not matched, not counted
    failed = [requests.post(sim.url + "/items", json={"n": i}, timeout=10) for i in range(2)]
    assert [r.status_code for r in failed] == [502, 502]
    assert failed[0].json() == {"error": "simulated failure 502"}
    assert "Retry-After" not in failed[0].headers
    assert sim.state.items == []  # failed before the handler ran: nothing stored
    r = requests.post(sim.url + "/items", json={"n": 2}, timeout=10)
    assert r.status_code == 201 and sim.state.items == [{"n": 2}]
    s = stats(sim)
    assert s["injected_failures"] == 2 and knobs(sim)["fail_next"] == 0
    assert s["by_path"] == {"/echo": 1, "/items": 3}


def test_fail_after_handler_lets_the_request_take_effect(sim):
    """The upload is stored but the client sees an error, so a retry stores it twice."""
    knobs(sim, fail_next=1, fail_status=500, fail_path="^/items$", fail_after_handler=True)
    first = requests.post(sim.url + "/items", json={"serial": "A"}, timeout=10)
    assert first.status_code == 500 and first.json() == {"error": "simulated failure 500"}
    assert sim.state.items == [{"serial": "A"}]
    retry = requests.post(sim.url + "/items", json={"serial": "A"}, timeout=10)
    assert retry.status_code == 201
    assert sim.state.items == [{"serial": "A"}, {"serial": "A"}]
    assert stats(sim)["injected_failures"] == 1


def test_fail_after_handler_replaces_error_answers_too(sim):
    knobs(sim, fail_next=1, fail_status=503, fail_after_handler=True)
    r = requests.get(sim.url + "/no/such/route", timeout=10)
    assert r.status_code == 503 and r.json() == {"error": "simulated failure 503"}
    assert requests.get(sim.url + "/no/such/route", timeout=10).status_code == 404


@pytest.mark.parametrize("seconds, header", [(120, "120"), (1.5, "1.500")])
def test_fail_retry_after_announces_maintenance(sim, seconds, header):
    knobs(sim, fail_next=1, fail_status=503, fail_retry_after_s=seconds)
    r = requests.get(sim.url + "/echo", timeout=10)
    assert r.status_code == 503 and r.headers["Retry-After"] == header
    assert r.json() == {"error": "simulated failure 503"}
    after = requests.get(sim.url + "/echo", timeout=10)
    assert after.status_code == 200 and "Retry-After" not in after.headers


def test_fault_hooks_get_the_request():
    class PathState(TinyState):
        def failure_response(self, status, request):
            return json_response({"failed": request.path}, status=status)

        def rate_limited_response(self, reset_in, request):
            return json_response({"limited": request.path, "reset_in": round(reset_in)}, status=429)

    with SimulatorThread(build_tiny_app(PathState())) as running:
        knobs(running, fail_next=1, fail_status=500, fail_retry_after_s=7)
        r = requests.get(running.url + "/other", timeout=10)
        assert (r.status_code, r.json(), r.headers["Retry-After"]) == (500, {"failed": "/other"}, "7")
        knobs(running, rate_limit=1, rate_window_s=60)
        requests.get(running.url + "/echo", timeout=10)
        r = requests.get(running.url + "/echo", timeout=10)
        assert (r.status_code, r.json()) == (429, {"limited": "/echo", "reset_in": 60})


# ---------------------------------------------------------------------------------------- stats

def test_stats_count_requests_and_peak_concurrency(sim):
    knobs(sim, latency_ms=600)
    with ThreadPoolExecutor(5) as pool:
        codes = list(pool.map(lambda _: requests.get(sim.url + "/echo", timeout=10).status_code, range(5)))
    assert codes == [200] * 5
    s = stats(sim)
    assert s["requests"] == 5 and s["by_path"] == {"/echo": 5}
    assert s["peak_in_flight"] == 5 and s["in_flight"] == 0


# ------------------------------------------------------------------------------ reset and config

def test_reset_restores_knobs_stats_and_config(sim):
    knobs(sim, latency_ms=1, rate_limit=50, fail_next=3, fail_path="^/nothing$", fail_after_handler=True,
          fail_retry_after_s=9)
    requests.post(sim.url + "/_sim/config", json={"page_size": 99}, timeout=10).raise_for_status()
    requests.get(sim.url + "/echo", timeout=10)
    assert stats(sim)["requests"] == 1
    assert requests.post(sim.url + "/_sim/reset", timeout=10).json() == {"ok": True}
    assert requests.get(sim.url + "/_sim/knobs", timeout=10).json() == {
        **asdict(Knobs())}
    assert stats(sim) == {"requests": 0, "by_path": {}, "in_flight": 0, "peak_in_flight": 0,
                          "rate_limited": 0, "injected_failures": 0}
    assert requests.get(sim.url + "/_sim/config", timeout=10).json()["page_size"] == 10


def test_config_routes(sim):
    assert requests.get(sim.url + "/_sim/config", timeout=10).json() == {"page_size": 10, "mode": "plain",
                                                                          "items": 0}
    r = requests.post(sim.url + "/_sim/config", json={"mode": "strict"}, timeout=10)
    assert r.json() == {"page_size": 10, "mode": "strict"} and sim.state.config.mode == "strict"
    r = requests.post(sim.url + "/_sim/config", json={"nope": 1}, timeout=10)
    assert r.status_code == 400 and "unknown setting 'nope'" in r.json()["error"]


def test_state_keeps_its_own_copy_of_the_config():
    given = TinyConfig(page_size=3)
    state = SimState(given)
    assert state.config == given and state.config is not given
    state.config.page_size = 4
    state.reset()
    assert state.config.page_size == 3 and given.page_size == 3
    assert SimState().config is None


# ------------------------------------------------------------------------------------- helpers

def test_decode_basic():
    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    assert decode_basic(b64("user:pa:ss")) == ("user", "pa:ss")
    assert decode_basic(" " + b64("user:") + " ") == ("user", "")
    assert decode_basic(b64("user")) == ("user", "")
    assert decode_basic("!!!") is None
    assert decode_basic(base64.b64encode(b"\xff:x").decode()) is None


def test_colon_pairs():
    assert colon_pairs(None, "--user", "LOGIN:PASSWORD") is None
    assert colon_pairs(["a:1", "b:x:y", "c:"], "--user", "LOGIN:PASSWORD") == {"a": "1", "b": "x:y", "c": ""}
    with pytest.raises(SystemExit, match=r"--client expects name:secret, got 'nocolon'"):
        colon_pairs(["nocolon"], "--client", "name:secret")
    with pytest.raises(SystemExit, match="--user expects LOGIN:PASSWORD"):
        colon_pairs([":pw"], "--user", "LOGIN:PASSWORD")


def test_https_with_a_test_ca_in_a_thread_and_as_a_process(tmp_path):
    from tests.simulators.base import SimulatorProcess, tls_certificates

    certs = tls_certificates(tmp_path)
    with SimulatorThread(make_app(SimState()), ssl_context=certs.server_context()) as sim:
        assert sim.url.startswith("https://127.0.0.1:")
        assert requests.get(sim.url + "/_sim/stats", verify=certs.ca_file, timeout=10).status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(sim.url + "/_sim/stats", verify=True, timeout=10)
    with SimulatorProcess("tests.simulators.oomnitza", "--certfile", certs.cert_file, "--keyfile", certs.key_file,
                          cwd=str(Path(__file__).resolve().parents[2])) as proc:
        assert proc.url.startswith("https://")
        assert requests.get(proc.url + "/_sim/stats", verify=certs.ca_file, timeout=10).status_code == 200
