"""Shared plumbing for the loopback simulators of vendor APIs.

Every simulator is an aiohttp application built by a ``build_app(state)`` function.
This module adds what all of them need and none of them should write again:

* fault knobs (latency, a fixed-window rate limit answered with 429, the next N
  requests failing with a chosen status, before or after the handler ran and with an
  optional ``Retry-After``, or instead cut off: a reset connection, a hang past the client's
  read timeout, a truncated page), changeable at run time over HTTP at ``/_sim/knobs`` so a
  test can steer a simulator running in another process;
* counters (requests per path, peak concurrent requests) at ``/_sim/stats``;
* vendor settings: a simulator that passes a :class:`Settings` dataclass to
  ``SimState.__init__`` gets it back as ``state.config``, restored by ``/_sim/reset``
  and served at ``GET|POST /_sim/config`` by :func:`add_config_routes`;
* the state of an app or request through :func:`state_of`;
* small helpers several simulators share (:func:`decode_basic`, :func:`colon_pairs`,
  :meth:`SimState.retry_after_headers`);
* running in a background thread (for tests) or as a process (``python -m
  tests.simulators.<name> --port 0`` prints its URL on the first line);
* HTTPS: ``SimulatorThread(app, ssl_context=...)`` (or ``--certfile``/``--keyfile``) serves
  TLS; :func:`tls_certificates` makes a throw-away CA and a loopback certificate with trustme.

Simulators override :meth:`SimState.failure_response` and
:meth:`SimState.rate_limited_response` to answer faults the way their real service does;
both get the request, so the answer can depend on its path.

aiohttp writes each response in one go with TCP_NODELAY, so a simulator adds no
delay of its own, and the listen backlog is large for benchmarks with many clients.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import json
import re
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Awaitable, Callable

from aiohttp import web

BACKLOG = 2048


class Settings:
    """Base of the run-time settings dataclasses: ``update`` from a JSON object."""

    _noun = "setting"  # what an unknown key is called in the error message

    def update(self, values: dict) -> None:
        known = {f.name for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                raise KeyError(f"unknown {self._noun} {key!r}; known: {sorted(known)}")
            setattr(self, key, value)


@dataclass
class Knobs(Settings):
    """Fault and load knobs shared by all simulators."""

    _noun = "knob"

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
    # True: the failing request is handled first (it takes effect) and only its answer is
    # replaced by the failure, as when a response is lost; for testing duplicates on retry.
    fail_after_handler: bool = False
    # Seconds announced in Retry-After on injected failures (a maintenance-mode 503);
    # None leaves the failure response as the simulator builds it.
    fail_retry_after_s: float | None = None
    # What an injected failure is: "status" (answer fail_status), "reset" (close the connection
    # without an answer), "hang" (answer nothing for hang_s, then close: a client's read timeout),
    # "truncate" (status 200 with the first half of the real answer's body: a malformed page).
    fail_action: str = "status"
    hang_s: float = 5.0


@dataclass
class Stats:
    requests: int = 0
    by_path: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    peak_in_flight: int = 0
    rate_limited: int = 0
    injected_failures: int = 0


class SimState:
    """Base state object; simulators subclass it to hold their data.

    ``config``: the simulator's own :class:`Settings` (a copy is kept as ``self.config``
    and ``reset`` restores it); None for a simulator without any.
    """

    def __init__(self, config: Settings | None = None) -> None:
        self.knobs = Knobs()
        self.stats = Stats()
        self._window_start = time.monotonic()
        self._window_count = 0
        self._config_spec = (type(config), asdict(config)) if config is not None else None
        self.config: Any = self._fresh_config()

    def _fresh_config(self) -> Any:
        if self._config_spec is None:
            return None
        config_type, values = self._config_spec
        return config_type(**values)

    # Simulators override these to answer faults the way their real service does.
    def rate_limited_response(self, reset_in: float, request: web.Request) -> web.Response:
        return json_response({"error": "Too Many Requests"}, status=429, headers=self.retry_after_headers())

    def failure_response(self, status: int, request: web.Request) -> web.Response:
        return json_response({"error": f"simulated failure {status}"}, status=status)

    def retry_after_headers(self) -> dict[str, str]:
        """``Retry-After`` as the ``retry_after_s`` knob sets it for a 429 (none when it is None)."""
        if self.knobs.retry_after_s is None:
            return {}
        return {"Retry-After": fmt_seconds(self.knobs.retry_after_s)}

    def reset(self) -> None:
        self.knobs = Knobs()
        self.stats = Stats()
        self.config = self._fresh_config()
        self._window_start, self._window_count = time.monotonic(), 0

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


STATE = web.AppKey("state", SimState)


def state_of(where: web.Application | web.Request) -> Any:
    """The :class:`SimState` (subclass) of an app, or of the app serving a request."""
    app = where if isinstance(where, web.Application) else where.app
    return app[STATE]


def fmt_seconds(value: float) -> str:
    """Seconds for a header: ``2`` for whole numbers, else three decimals (``2.500``)."""
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"


def json_response(body, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def decode_basic(credentials: str) -> tuple[str, str] | None:
    """``(login, password)`` from what follows ``Basic`` in an ``Authorization`` header.

    The decoded text is split at its first ``:`` (no ``:`` gives an empty password).
    None when the value is not strict base64 of UTF-8 text (a 401 for the caller).
    """
    try:
        text = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    login, _, password = text.partition(":")
    return login, password


@web.middleware
async def _faults_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable]):
    state: SimState = state_of(request)
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
            return state.rate_limited_response(reset_in, request)
        if k.fail_next > 0 and (not k.fail_path or re.search(k.fail_path, request.path)):
            k.fail_next -= 1
            st.injected_failures += 1
            status, retry_after = k.fail_status, k.fail_retry_after_s
            if k.fail_action == "truncate":
                return _truncated(await handler(request))
            if k.fail_after_handler:
                try:
                    await handler(request)  # the request takes effect; its answer is lost
                except web.HTTPException:
                    pass
            if k.fail_action in ("reset", "hang"):
                if k.fail_action == "hang":
                    await asyncio.sleep(k.hang_s)
                if request.transport is not None:
                    request.transport.abort()  # the client sees the connection end without an answer
                raise asyncio.CancelledError
            response = state.failure_response(status, request)
            if retry_after is not None:
                response.headers["Retry-After"] = fmt_seconds(retry_after)
            return response
        return await handler(request)
    finally:
        st.in_flight -= 1


def _truncated(response: web.StreamResponse) -> web.Response:
    """A 200 with the first half of ``response``'s body, as a proxy cut off mid-page."""
    body = getattr(response, "body", None) or b""
    if not isinstance(body, bytes):
        body = bytes(getattr(body, "_value", b"")) if hasattr(body, "_value") else b""
    return web.Response(body=body[: len(body) // 2], status=200,
                        content_type=response.content_type or "application/json")


async def _update_settings(request: web.Request, settings: Settings) -> web.Response:
    try:
        settings.update(await request.json())
    except (KeyError, ValueError) as exc:
        return json_response({"error": str(exc)}, status=400)
    return json_response(asdict(settings))


async def _get_knobs(request: web.Request) -> web.Response:
    return json_response(asdict(state_of(request).knobs))


async def _set_knobs(request: web.Request) -> web.Response:
    return await _update_settings(request, state_of(request).knobs)


async def _get_stats(request: web.Request) -> web.Response:
    return json_response(asdict(state_of(request).stats))


async def _reset(request: web.Request) -> web.Response:
    state_of(request).reset()
    return json_response({"ok": True})


def make_app(state: SimState) -> web.Application:
    """An aiohttp app with the fault middleware and the ``/_sim/*`` control routes."""
    app = web.Application(middlewares=[_faults_middleware], client_max_size=64 * 1024 * 1024)
    app[STATE] = state
    app.router.add_get("/_sim/knobs", _get_knobs)
    app.router.add_post("/_sim/knobs", _set_knobs)
    app.router.add_get("/_sim/stats", _get_stats)
    app.router.add_post("/_sim/reset", _reset)
    return app


def add_config_routes(app: web.Application, extra: Callable[[Any], dict] | None = None) -> None:
    """``GET /_sim/config`` (``state.config`` plus ``extra(state)``) and ``POST /_sim/config``
    (update ``state.config`` from a JSON object; 400 for unknown keys or bad JSON)."""

    async def get_config(request: web.Request) -> web.Response:
        state = state_of(request)
        return json_response({**asdict(state.config), **(extra(state) if extra else {})})

    async def set_config(request: web.Request) -> web.Response:
        return await _update_settings(request, state_of(request).config)

    app.router.add_get("/_sim/config", get_config)
    app.router.add_post("/_sim/config", set_config)


class SimulatorThread:
    """Runs an app on 127.0.0.1 in a daemon thread; ``url`` is set once it listens (https:// with
    an ``ssl_context``)."""

    def __init__(self, app: web.Application, host: str = "127.0.0.1", port: int = 0, ssl_context=None):
        self.app, self.host, self.port = app, host, port
        self.ssl_context = ssl_context
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="simulator")
        self._error: BaseException | None = None

    @property
    def state(self):
        return state_of(self.app)

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
        site = web.TCPSite(runner, self.host, self.port, backlog=BACKLOG, ssl_context=self.ssl_context)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"{'https' if self.ssl_context else 'http'}://{self.host}:{port}"
        self._ready.set()
        await self._stop.wait()
        await runner.cleanup()


def colon_pairs(values: list[str] | None, option: str, form: str) -> dict[str, str] | None:
    """``{name: secret}`` from the ``name:secret`` values of a repeatable command-line option.

    None when the option was not given; exits with ``<option> expects <form>, got ...`` for a
    value without ``:`` or with an empty name.
    """
    if not values:
        return None
    out = {}
    for value in values:
        name, sep, secret = value.partition(":")
        if not sep or not name:
            raise SystemExit(f"{option} expects {form}, got {value!r}")
        out[name] = secret
    return out


def main(build_app: Callable[[argparse.Namespace], web.Application], description: str,
         add_arguments: Callable[[argparse.ArgumentParser], None] | None = None) -> None:
    """Command-line entry for ``python -m tests.simulators.<name>``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=int, default=0, help="requests per window (0 = off)")
    parser.add_argument("--rate-window", type=float, default=1.0, help="window length in seconds")
    parser.add_argument("--certfile", help="serve HTTPS with this PEM certificate (chain)")
    parser.add_argument("--keyfile", help="the certificate's private key (PEM)")
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args()
    app = build_app(args)
    state_of(app).knobs.update(
        {"latency_ms": args.latency_ms, "rate_limit": args.rate_limit, "rate_window_s": args.rate_window}
    )
    context = None
    if args.certfile:
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.certfile, args.keyfile)
    sim = SimulatorThread(app, args.host, args.port, ssl_context=context).start()
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
        if not line.startswith(("http://", "https://")):
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


def knobs(sim, **values) -> dict:
    """Set fault knobs of a running simulator over HTTP, as a test in another process would."""
    import requests

    response = requests.post(f"{sim.url}/_sim/knobs", json=values, timeout=10)
    response.raise_for_status()
    return response.json()


def stats(sim) -> dict:
    import requests

    return requests.get(f"{sim.url}/_sim/stats", timeout=10).json()


class TlsCertificates:
    """A throw-away CA and a certificate for 127.0.0.1 / localhost signed by it (trustme)."""

    def __init__(self, directory) -> None:
        import trustme

        self.ca = trustme.CA()
        self.server = self.ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = str(directory / "ca.pem")
        self.cert_file = str(directory / "server.pem")
        self.key_file = str(directory / "server.key")
        self.ca.cert_pem.write_to_path(self.ca_file)
        self.server.cert_chain_pems[0].write_to_path(self.cert_file)
        for pem in self.server.cert_chain_pems[1:]:
            pem.write_to_path(self.cert_file, append=True)
        self.server.private_key_pem.write_to_path(self.key_file)

    def server_context(self):
        """An SSL context for a simulator serving the certificate."""
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server.configure_cert(context)
        return context


def tls_certificates(directory) -> TlsCertificates:
    return TlsCertificates(directory)
