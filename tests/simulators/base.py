"""Shared plumbing for the loopback simulators of vendor APIs.

Every simulator is an aiohttp application built by a ``build_app(state)`` function.
This module adds what all of them need and none of them should write again:

* fault knobs (latency, a fixed-window rate limit answered with 429, the next N
  requests failing with a chosen status), changeable at run time over HTTP at
  ``/_sim/knobs`` so a test can steer a simulator running in another process;
* counters (requests per path, peak concurrent requests) at ``/_sim/stats``;
* running in a background thread (for tests) or as a process (``python -m
  tests.simulators.<name> --port 0`` prints its URL on the first line).

aiohttp writes each response in one go with TCP_NODELAY, so a simulator adds no
delay of its own, and the listen backlog is large for benchmarks with many clients.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Awaitable, Callable

from aiohttp import web

BACKLOG = 2048


@dataclass
class Knobs:
    """Fault and load knobs shared by all simulators."""

    latency_ms: float = 0.0
    # Fixed-window rate limit: at most ``rate_limit`` requests per ``rate_window_s``; 0 = off.
    rate_limit: int = 0
    rate_window_s: float = 1.0
    # Seconds announced in Retry-After on 429; None leaves the header out.
    retry_after_s: float | None = 1.0
    # The next ``fail_next`` requests (whose path matches ``fail_path``) get ``fail_status``.
    fail_next: int = 0
    fail_status: int = 503
    fail_path: str = ""

    def update(self, values: dict) -> None:
        known = {f.name: f.type for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                raise KeyError(f"unknown knob {key!r}; known: {sorted(known)}")
            setattr(self, key, value)


@dataclass
class Stats:
    requests: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    peak_in_flight: int = 0
    rate_limited: int = 0
    injected_failures: int = 0


class SimState:
    """Base state object; simulators subclass it to hold their data."""

    def __init__(self) -> None:
        self.knobs = Knobs()
        self.stats = Stats()
        self._window_start = time.monotonic()
        self._window_count = 0

    # Simulators override these to answer faults the way their real service does.
    def rate_limited_response(self, reset_in: float) -> web.Response:
        headers = {}
        if self.knobs.retry_after_s is not None:
            headers["Retry-After"] = _fmt_seconds(self.knobs.retry_after_s)
        return json_response({"error": "Too Many Requests"}, status=429, headers=headers)

    def failure_response(self, status: int) -> web.Response:
        return json_response({"error": f"simulated failure {status}"}, status=status)

    def reset(self) -> None:
        self.knobs = Knobs()
        self.stats = Stats()

    def _take_rate_slot(self) -> float | None:
        """Count this request; return seconds until the window resets if over the limit."""
        k = self.knobs
        if k.rate_limit <= 0:
            return None
        now = time.monotonic()
        if now - self._window_start >= k.rate_window_s:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        if self._window_count > k.rate_limit:
            return max(0.0, k.rate_window_s - (now - self._window_start))
        return None


def _fmt_seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def json_response(body, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers=headers,
        content_type="application/json",
    )


@web.middleware
async def _faults_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable]):
    state: SimState = request.app["state"]
    if request.path.startswith("/_sim/"):
        return await handler(request)
    st, k = state.stats, state.knobs
    st.requests += 1
    st.by_path[request.path] = st.by_path.get(request.path, 0) + 1
    st.in_flight += 1
    st.peak_in_flight = max(st.peak_in_flight, st.in_flight)
    try:
        if k.latency_ms:
            await asyncio.sleep(k.latency_ms / 1000.0)
        reset_in = state._take_rate_slot()
        if reset_in is not None:
            st.rate_limited += 1
            return state.rate_limited_response(reset_in)
        if k.fail_next > 0 and (not k.fail_path or re.search(k.fail_path, request.path)):
            k.fail_next -= 1
            st.injected_failures += 1
            return state.failure_response(k.fail_status)
        return await handler(request)
    finally:
        st.in_flight -= 1


async def _get_knobs(request: web.Request) -> web.Response:
    return json_response(asdict(request.app["state"].knobs))


async def _set_knobs(request: web.Request) -> web.Response:
    state: SimState = request.app["state"]
    try:
        state.knobs.update(await request.json())
    except (KeyError, ValueError) as exc:
        return json_response({"error": str(exc)}, status=400)
    return json_response(asdict(state.knobs))


async def _get_stats(request: web.Request) -> web.Response:
    return json_response(asdict(request.app["state"].stats))


async def _reset(request: web.Request) -> web.Response:
    request.app["state"].reset()
    return json_response({"ok": True})


def make_app(state: SimState) -> web.Application:
    """An aiohttp app with the fault middleware and the ``/_sim/*`` control routes."""
    app = web.Application(middlewares=[_faults_middleware], client_max_size=64 * 1024 * 1024)
    app["state"] = state
    app.router.add_get("/_sim/knobs", _get_knobs)
    app.router.add_post("/_sim/knobs", _set_knobs)
    app.router.add_get("/_sim/stats", _get_stats)
    app.router.add_post("/_sim/reset", _reset)
    return app


class SimulatorThread:
    """Runs an app on 127.0.0.1 in a daemon thread; ``url`` is set once it listens."""

    def __init__(self, app: web.Application, host: str = "127.0.0.1", port: int = 0):
        self.app, self.host, self.port = app, host, port
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="simulator")
        self._error: BaseException | None = None

    @property
    def state(self):
        return self.app["state"]

    def start(self) -> "SimulatorThread":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("simulator did not start within 10 s")
        if self._error:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def __enter__(self) -> "SimulatorThread":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced to start()
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, backlog=BACKLOG)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://{self.host}:{port}"
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()


def main(build_app: Callable[[argparse.Namespace], web.Application], description: str,
         add_arguments: Callable[[argparse.ArgumentParser], None] | None = None) -> None:
    """Command-line entry for ``python -m tests.simulators.<name>``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=int, default=0, help="requests per window (0 = off)")
    parser.add_argument("--rate-window", type=float, default=1.0, help="window length in seconds")
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args()
    app = build_app(args)
    app["state"].knobs.update(
        {"latency_ms": args.latency_ms, "rate_limit": args.rate_limit, "rate_window_s": args.rate_window}
    )
    sim = SimulatorThread(app, args.host, args.port).start()
    print(sim.url, flush=True)
    try:
        sim._thread.join()
    except KeyboardInterrupt:
        sim.stop()


class SimulatorProcess:
    """Starts ``python -m <module> --port 0 ...`` and reads its URL from the first line."""

    def __init__(self, module: str, *args: str, cwd: str | None = None):
        import subprocess
        import sys

        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, "--port", "0", *args],
            stdout=subprocess.PIPE, text=True, cwd=cwd,
        )
        line = self.proc.stdout.readline().strip() if self.proc.stdout else ""
        if not line.startswith("http://"):
            self.proc.kill()
            raise RuntimeError(f"{module} did not print its URL (got {line!r})")
        self.url = line

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except Exception:
            self.proc.kill()

    def __enter__(self) -> "SimulatorProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
