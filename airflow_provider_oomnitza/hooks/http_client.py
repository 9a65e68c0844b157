"""Retrying HTTP shared by every hook: one retry policy, one place that reads rate-limit headers.

``retrying()`` builds the tenacity policy (429/5xx/connection errors; exponential backoff
with jitter, or the server's own hint such as ``Retry-After``; each wait capped).
``RetryingClient`` is the requests-based client the source hooks use: a session per
thread (keep-alive under concurrency), an optional cap on concurrent requests (Jamf asks
for at most 5), and one re-authentication on 401 for expiring tokens.
"""
from __future__ import annotations

import email.utils
import logging
import threading
import time
from typing import Any, Callable, Iterable

import requests
import tenacity

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
WaitHint = Callable[[requests.Response], "float | None"]


class HttpError(Exception):
    """A call failed for good: a non-retryable status, or retries ran out."""

    def __init__(self, message: str, status: int | None = None, response: requests.Response | None = None):
        super().__init__(message)
        self.status = status
        self.response = response


class RetryableResponse(Exception):
    def __init__(self, response: requests.Response):
        super().__init__(f"{response.status_code} {response.reason}: {error_text(response)}")
        self.response = response


def error_text(response: requests.Response, limit: int = 300) -> str:
    """The useful part of an error body: JSON ``errors``/``message``/``error``, else the text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:limit].strip()
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            parts = [str(e.get("message") or e.get("description") or e) if isinstance(e, dict) else str(e)
                     for e in errors]
            return "; ".join(parts)[:limit]
        for key in ("message", "error", "detail", "errorMessage"):
            if key in body:
                return str(body[key])[:limit]
    return str(body)[:limit]


def retry_after_seconds(response: requests.Response) -> float | None:
    """``Retry-After`` as seconds (a number or an HTTP date), or None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def reset_epoch_seconds(header: str) -> WaitHint:
    """A wait hint from a header holding the epoch second the limit resets (Okta's X-Rate-Limit-Reset)."""

    def hint(response: requests.Response) -> float | None:
        after = retry_after_seconds(response)
        if after is not None:
            return after
        try:
            return max(0.0, float(response.headers[header]) - time.time())
        except (KeyError, ValueError):
            return None

    return hint


class _WaitHint(tenacity.wait.wait_base):
    def __init__(self, hint: WaitHint, fallback: tenacity.wait.wait_base, cap: float):
        self.hint, self.fallback, self.cap = hint, fallback, cap

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, RetryableResponse):
            seconds = self.hint(exc.response)
            if seconds is not None:
                return min(seconds, self.cap)
        return min(self.fallback(retry_state), self.cap)


def retrying(*, max_attempts: int, max_wait: float, log: Any, hint: WaitHint = retry_after_seconds,
             what: str = "call") -> tenacity.Retrying:
    """The retry policy: RetryableResponse and connection errors, backoff or the server's hint."""

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait_s = state.next_action.sleep if state.next_action else 0
        log.warning("%s failed (%s); retry %d in %.1f s", what, exc, state.attempt_number, wait_s)

    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max_attempts),
        wait=_WaitHint(hint, tenacity.wait_exponential_jitter(multiplier=0.5, max=max_wait), max_wait),
        retry=tenacity.retry_if_exception_type((RetryableResponse, requests.ConnectionError, requests.Timeout)),
        before_sleep=before_sleep,
        reraise=True,
    )


def send_with_retries(
    send: Callable[[], requests.Response],
    *,
    what: str,
    max_attempts: int,
    max_wait: float,
    log: Any,
    hint: WaitHint = retry_after_seconds,
    retry_statuses: Iterable[int] = RETRY_STATUSES,
    ok_statuses: Iterable[int] = (),
    unreachable: str = "cannot connect",
) -> requests.Response:
    """Call ``send`` under the retry policy; a final error status becomes ``HttpError`` naming ``what``."""
    retry_statuses = frozenset(retry_statuses)
    try:
        for attempt in retrying(max_attempts=max_attempts, max_wait=max_wait, log=log, hint=hint, what=what):
            with attempt:
                response = send()
                if response.status_code in retry_statuses:
                    raise RetryableResponse(response)
    except RetryableResponse as exc:
        raise HttpError(f"{what}: gave up after {max_attempts} attempts: {exc}",
                        exc.response.status_code, exc.response) from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise HttpError(f"{what}: {unreachable}: {exc}") from None
    if response.status_code >= 400 and response.status_code not in ok_statuses:
        raise HttpError(f"{what}: {response.status_code} {response.reason}: {error_text(response)}",
                        response.status_code, response)
    return response


class RetryingClient:
    """HTTP for a source API: base URL, retries, per-thread sessions, optional concurrency cap.

    ``authenticate(session)`` (optional) sets credentials on a new session and is called
    again once when a request gets 401 (an expired token), before that request is retried.
    """

    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        verify: bool | str = True,
        headers: dict[str, str] | None = None,
        auth: Any = None,
        authenticate: Callable[[requests.Session], None] | None = None,
        timeout: float = 60.0,
        max_attempts: int = 8,
        max_wait: float = 120.0,
        retry_statuses: Iterable[int] = RETRY_STATUSES,
        hint: WaitHint = retry_after_seconds,
        max_connections: int | None = None,
        log: Any = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.verify = verify
        self.headers = dict(headers or {})
        self.auth = auth
        self.authenticate = authenticate
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.retry_statuses = frozenset(retry_statuses)
        self.hint = hint
        self.log = log or logging.getLogger(__name__)
        self._local = threading.local()
        self._slots = threading.BoundedSemaphore(max_connections) if max_connections else None
        self._auth_lock = threading.Lock()
        self._auth_generation = 0

    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None or getattr(self._local, "generation", -1) != self._auth_generation:
            session = requests.Session()
            session.verify = self.verify
            session.headers.update(self.headers)
            session.auth = self.auth
            adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=1)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            if self.authenticate:
                self.authenticate(session)
            self._local.session = session
            self._local.generation = self._auth_generation
        return session

    @property
    def generation(self) -> int:
        """Bumped each time credentials must be renewed; hooks key their cached token on it."""
        return self._auth_generation

    def reauthenticate(self, generation: int) -> None:
        """Start a new credential generation (once per expiry, however many threads noticed it)."""
        with self._auth_lock:
            if self._auth_generation == generation:
                self._auth_generation += 1

    def url(self, path: str) -> str:
        return path if "://" in path else f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, ok_statuses: Iterable[int] = (), **kwargs: Any) -> requests.Response:
        """One call with retries. Statuses in ``ok_statuses`` (e.g. 204, 404) are returned, not raised."""
        url = self.url(path)
        kwargs.setdefault("timeout", self.timeout)
        reauthenticated = False

        def send() -> requests.Response:
            nonlocal reauthenticated
            generation = getattr(self._local, "generation", self._auth_generation)
            response = self._send(method, url, **kwargs)
            if response.status_code == 401 and self.authenticate and not reauthenticated:
                reauthenticated = True
                self.reauthenticate(generation)
                response = self._send(method, url, **kwargs)
            return response

        return send_with_retries(send, what=f"{self.name} {method} {_display(url)}", max_attempts=self.max_attempts,
                                 max_wait=self.max_wait, log=self.log, hint=self.hint,
                                 retry_statuses=self.retry_statuses, ok_statuses=ok_statuses)

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        if self._slots is None:
            return self.session().request(method, url, **kwargs)
        with self._slots:
            return self.session().request(method, url, **kwargs)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()


def _display(url: str) -> str:
    """The URL without its query string (which may carry secrets) for messages and logs."""
    return url.split("?", 1)[0]
