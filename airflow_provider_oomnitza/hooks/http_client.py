"""The client toolkit every hook shares: retries, tokens, ordered prefetch, TLS.

- ``send_with_retries`` is the one retry loop (429/5xx/connection errors; exponential backoff
  with jitter, or the server's own hint such as ``Retry-After``; each wait capped), with one
  log line per failed attempt and one re-authentication when the server refuses a token.
- ``RateBudget``: spaces calls out while the rate-limit headers say the budget is nearly spent.
- ``TokenCache`` and ``TokenAuth``: one token shared by every thread, fetched on first use,
  renewed shortly before it expires and once when the server refuses it, one renewal at a
  time however many threads noticed.
- ``fetch_in_order``: calls run a few at a time on threads, results come back in order
  (pages of an inventory, detail calls, bulk posts).
- ``RetryingClient``: the requests-based client of the source hooks: a base URL, a session per
  thread (keep-alive under concurrency), TLS from ``TlsOptions``, an optional cap on
  concurrent requests (Jamf asks for at most 5), an optional ``RateBudget`` that slows down
  when the server says few requests are left.
"""
from __future__ import annotations

import email.utils
import itertools
import logging
import re
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator, TypeVar

import requests
import tenacity

from airflow_provider_oomnitza.hooks.errors import HttpError  # noqa: F401 - the hooks' error contract
from airflow_provider_oomnitza.hooks.tls import TlsOptions, tls_failure
from airflow_provider_oomnitza.masking import mask

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
WaitHint = Callable[[requests.Response], "float | None"]
T = TypeVar("T")


class RetryableResponse(Exception):
    def __init__(self, response: requests.Response):
        super().__init__(f"{response.status_code} {response.reason}: {error_text(response)}")
        self.response = response


class MalformedBody(RetryableResponse):
    """A 2xx answer announced as JSON whose body is not JSON: a page cut off on the way (retried)."""

    def __init__(self, response: requests.Response, error: ValueError):
        Exception.__init__(self, f"{response.status_code} with a body that is not valid JSON "
                                 f"({len(response.content)} bytes, cut off?): {error}")
        self.response = response


def _checked_json(response: requests.Response) -> None:
    """Parse a JSON answer once (raising ``MalformedBody`` if it is not JSON); ``response.json()`` then
    returns that parse instead of parsing again."""
    if not 200 <= response.status_code < 300 or "json" not in response.headers.get("Content-Type", ""):
        return
    if not response.content:
        return
    try:
        body = response.json()
    except ValueError as exc:
        raise MalformedBody(response, exc) from None
    response.json = lambda *args, **kwargs: body  # type: ignore[method-assign]


def json_of(response: requests.Response, kind: type | tuple[type, ...] = dict) -> Any:
    """The answer's JSON body if it is a ``kind`` (an object by default), else None: not JSON at all, or
    another shape (an HTML login page, a proxy's error, a list where an object was due). Hooks say why."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, kind) else None


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


def server_now(response: requests.Response) -> float:
    """The server's clock when it answered (its ``Date`` header), else ours.

    Waits until a reset the server names in epoch seconds are measured against this, so that a
    client whose clock is off does not wait too little (and get refused again) or far too long.
    """
    value = response.headers.get("Date")
    if value:
        try:
            return email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            pass
    return time.time()


def _epoch(value: str | None) -> float | None:
    """The earliest of the epoch seconds in a header (repeated headers arrive joined by commas)."""
    try:
        return min(float(part) for part in (value or "").split(",") if part.strip())
    except ValueError:
        return None


def reset_epoch_seconds(header: str, *, margin: float = 0.0, statuses: Iterable[int] = (429,)) -> WaitHint:
    """A wait hint from a header holding the epoch second the limit resets (Okta's X-Rate-Limit-Reset):
    ``Retry-After`` if the answer has one, else, for a refusal in ``statuses`` (a 429: a 503 carries the
    header too, but has nothing to do with the limit), the reset measured against the answer's ``Date``
    (the server's clock), plus ``margin`` (the reset and Date have whole seconds only)."""
    statuses = frozenset(statuses)

    def hint(response: requests.Response) -> float | None:
        after = retry_after_seconds(response)
        if after is not None:
            return after
        if response.status_code not in statuses:
            return None
        reset = _epoch(response.headers.get(header))
        if reset is None:
            return None
        return max(0.0, reset - server_now(response) + margin)

    return hint


def reset_in_seconds(header: str) -> WaitHint:
    """A wait hint from a header holding the seconds until the limit resets (OneLogin's X-RateLimit-Reset,
    not an epoch time); ``Retry-After`` wins when the server sends it."""

    def hint(response: requests.Response) -> float | None:
        after = retry_after_seconds(response)
        if after is not None:
            return after
        try:
            return max(0.0, float(response.headers[header]))
        except (KeyError, ValueError):
            return None

    return hint


class RateBudget:
    """Slows a client down while the server says its request budget is nearly spent.

    For APIs that put the budget on every answer (Okta's ``X-Rate-Limit-*``, OneLogin's
    ``X-RateLimit-*``, Zendesk's ``ratelimit-*``): ``observe`` (a response hook) reads ``limit`` and
    ``remaining``, and ``reset`` (a wait hint: seconds to the reset). Once no more than ``low`` of
    the limit is left, requests are spaced ``time to the reset / calls left`` apart (with none
    left, the next one waits for the reset), so the budget lasts until it resets instead of
    running into 429s. ``RetryingClient(budget=)`` asks ``delay()`` before each request; each
    caller reserves its own slot, so concurrent threads are spread too. The latest answer wins:
    its budget is the newest. A 429 is left to the retry loop (its hint says how long); a limit
    of 0 (Okta's concurrency answers) is ignored. ``waits`` counts the slowed requests.
    """

    def __init__(self, *, limit: str, remaining: str, reset: WaitHint, low: float = 0.1,
                 clock: Callable[[], float] = time.monotonic, log: Any = None, name: str = "API"):
        self.limit_header, self.remaining_header, self.reset = limit, remaining, reset
        self.low, self.clock, self.name = low, clock, name
        self.log = log or logging.getLogger(__name__)
        self._lock = threading.Lock()
        self._due = 0.0
        self._spacing = 0.0
        self.waits = 0

    def spacing(self, response: requests.Response) -> float:
        """Seconds between calls that the answer's budget asks for (0 while the budget is ample)."""
        limit = _epoch(response.headers.get(self.limit_header))
        remaining = _epoch(response.headers.get(self.remaining_header))
        if response.status_code == 429 or limit is None or remaining is None or limit <= 0:
            return 0.0
        if remaining > self.low * limit:
            return 0.0
        to_reset = self.reset(response)
        return 0.0 if to_reset is None else to_reset / max(1.0, remaining)

    def observe(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.status_code == 429:
            return
        spacing = self.spacing(response)
        with self._lock:
            if spacing and not self._spacing:
                self.log.warning("%s rate limit: %s of %s calls left, the budget resets in %.0f s; slowing down to "
                                 "one call every %.1f s", self.name, response.headers.get(self.remaining_header),
                                 response.headers.get(self.limit_header), self.reset(response) or 0, spacing)
            self._spacing = spacing
            self._due = self.clock() + spacing if spacing else 0.0

    def delay(self) -> float:
        """Seconds the next request should wait; reserves its slot so the one after waits longer."""
        with self._lock:
            if not self._spacing:
                return 0.0
            now = self.clock()
            wait = max(0.0, self._due - now)
            self._due = max(self._due, now) + self._spacing
            if wait > 0:
                self.waits += 1
            return wait


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


def failure_reason(exc: BaseException) -> str:
    """A short reason for a failed attempt: the status, or the root of a connection error (not urllib3's
    whole text with its object addresses)."""
    if isinstance(exc, RetryableResponse):
        return str(exc)[:200]
    tls = tls_failure(exc)
    if tls:
        return tls
    if isinstance(exc, requests.Timeout):
        return "timed out"
    root: BaseException = exc
    while True:  # requests' ConnectionError > urllib3's MaxRetryError > the reason
        inner = getattr(root, "reason", None)
        if not isinstance(inner, BaseException) and root.args and isinstance(root.args[0], BaseException):
            inner = root.args[0]
        if not isinstance(inner, BaseException) or inner is root:
            break
        root = inner
    text = re.sub(r"<[\w.]+ object at 0x[0-9a-fA-F]+>:?\s*", "", str(root))
    text = text.replace("Failed to establish a new connection: ", "").strip()
    return (text or type(root).__name__)[:200]


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, requests.exceptions.SSLError):  # a certificate does not get better by asking again
        return False
    return isinstance(exc, (RetryableResponse, requests.ConnectionError, requests.Timeout))


def retrying(*, max_attempts: int, max_wait: float, log: Any, hint: WaitHint = retry_after_seconds,
             what: str = "call", sleep: Callable[[float], None] = time.sleep,
             retry_also: Callable[[BaseException], bool] | None = None) -> tenacity.Retrying:
    """The retry policy: RetryableResponse and connection errors (and what ``retry_also`` accepts: a
    client that is not requests-based, such as SOAP faults), backoff or the server's hint; one
    WARNING line per failed attempt (what failed, attempt n of m, the next wait)."""

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait_s = state.next_action.sleep if state.next_action else 0
        log.warning("%s failed: %s; attempt %d of %d, next in %.1f s", what, failure_reason(exc),
                    state.attempt_number, max_attempts, wait_s)

    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max_attempts),
        wait=_WaitHint(hint, tenacity.wait_exponential_jitter(multiplier=0.5, max=max_wait), max_wait),
        retry=tenacity.retry_if_exception(lambda exc: _retryable(exc) or bool(retry_also and retry_also(exc))),
        before_sleep=before_sleep,
        sleep=sleep,
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
    renew_auth: Callable[[requests.Response], bool] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> requests.Response:
    """Call ``send`` under the retry policy; a final error status becomes ``HttpError`` naming ``what``.

    ``renew_auth(response)`` is asked once per call when a response comes back: it returns True
    when it saw a refused token and renewed it, and ``send`` is then called again at once.
    """
    retry_statuses = frozenset(retry_statuses)
    renewed = False

    def attempt() -> requests.Response:
        nonlocal renewed
        response = send()
        if renew_auth is not None and not renewed and response.status_code < 500 and renew_auth(response):
            renewed = True
            response = send()
        return response

    try:
        for try_ in retrying(max_attempts=max_attempts, max_wait=max_wait, log=log, hint=hint, what=what,
                             sleep=sleep):
            with try_:
                response = attempt()
                if response.status_code in retry_statuses:
                    raise RetryableResponse(response)
                _checked_json(response)
    except MalformedBody as exc:
        raise HttpError(f"{what}: gave up after {max_attempts} attempts: {exc}") from None
    except RetryableResponse as exc:
        raise HttpError(f"{what}: gave up after {max_attempts} attempts: {exc}",
                        exc.response.status_code, exc.response) from None
    except requests.exceptions.SSLError as exc:
        raise HttpError(f"{what}: {failure_reason(exc)}") from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise HttpError(f"{what}: {unreachable} ({failure_reason(exc)}; {max_attempts} attempts)") from None
    if response.status_code >= 400 and response.status_code not in ok_statuses:
        raise HttpError(f"{what}: {response.status_code} {response.reason}: {error_text(response)}",
                        response.status_code, response)
    return response


# ---------------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------------

Token = tuple[str, "float | None"]  # (value, seconds it lives; None: until the server refuses it)


class TokenCache:
    """One token for every thread of a hook.

    ``fetch()`` gets a new ``(token, lifetime)``. The token is fetched on first use and renewed
    a minute before it expires (a fifth of its life early for short lifetimes); ``renew(refused)``
    renews it after the server refused ``refused``, unless another thread already did. A lock
    keeps it to one fetch at a time: threads that need the token meanwhile wait for that one.
    """

    def __init__(self, fetch: Callable[[], Token], *, clock: Callable[[], float] = time.monotonic):
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = float("inf")
        self.issued = 0  # tokens fetched (tests count renewals with it)

    def current(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                self._renew()
            assert self._token is not None
            return self._token

    def renew(self, refused: str | None) -> None:
        """The server refused ``refused``: fetch a new token, once, however many threads report it."""
        with self._lock:
            if self._token is None or self._token == refused:
                self._renew()

    def adopt(self, used: str | None, new: str) -> bool:
        """The server handed over a new token in answer to ``used`` (a rotation): take it unless stale."""
        with self._lock:
            if used == self._token and new != self._token:
                mask(new)
                self._token = new
                return True
            return False

    def forget(self) -> str | None:
        """Drop the token (after giving it back); the next use fetches a new one. Returns the old one."""
        with self._lock:
            token, self._token = self._token, None
            return token

    @property
    def token(self) -> str | None:
        return self._token

    def _renew(self) -> None:
        token, lifetime = self._fetch()
        mask(token)  # every run-time token (OAuth, Jamf bearer, Oomnitza session), in one place
        self._token = token
        self.issued += 1
        if lifetime is None:
            self._renew_at = float("inf")
        else:
            self._renew_at = self._clock() + lifetime - min(60.0, lifetime / 5)


def _refused_401(response: requests.Response) -> bool:
    return response.status_code == 401


class TokenAuth(requests.auth.AuthBase):
    """Puts the cache's current token on each request (``<scheme> <token>`` in ``header``).

    ``refused(response)`` says whether an answer means "this token is no longer good" (401 by
    default); the retry loop then calls ``renew_if_refused`` once and sends the request again.
    """

    def __init__(self, cache: TokenCache, *, header: str = "Authorization", scheme: str = "Bearer",
                 refused: Callable[[requests.Response], bool] = _refused_401):
        self.cache = cache
        self.header = header
        self.scheme = scheme
        self.refused = refused

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        token = self.cache.current()
        request.headers[self.header] = f"{self.scheme} {token}" if self.scheme else token
        return request

    def renew_if_refused(self, response: requests.Response) -> bool:
        if not self.refused(response):
            return False
        sent = response.request.headers.get(self.header) if response.request is not None else None
        if sent and self.scheme:
            sent = sent.removeprefix(f"{self.scheme} ")
        self.cache.renew(sent)
        return True


# ---------------------------------------------------------------------------------------------
# Ordered, bounded prefetch
# ---------------------------------------------------------------------------------------------

def fetch_in_order(calls: Iterable[Callable[[], T]], *, workers: int, ahead: int | None = None,
                   name: str = "fetch") -> Iterator[T]:
    """Run ``calls`` on ``workers`` threads, at most ``ahead`` (default twice ``workers``) submitted
    at once, and yield their results in the order of ``calls``.

    ``calls`` is read lazily, in the caller's thread, one call per result taken: a generator of
    calls may look at the results already yielded (a total that grew, a cursor, the end of the
    list). Stopping the iteration cancels what has not started; an exception of a call is raised
    where its result would have been yielded.
    """
    workers = max(1, workers)
    ahead = max(workers, ahead or 2 * workers)
    pending_calls = iter(calls)
    pool = ThreadPoolExecutor(workers, thread_name_prefix=name)
    pending: deque[Future] = deque()

    def fill() -> None:
        for call in itertools.islice(pending_calls, ahead - len(pending)):
            pending.append(pool.submit(call))

    try:
        fill()
        while pending:
            result = pending.popleft().result()
            yield result
            fill()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------------------------

class RetryingClient:
    """HTTP for a source API: base URL, retries, per-thread sessions, TLS, optional concurrency cap.

    ``auth`` is any requests auth; a ``TokenAuth`` also gets its one renewal when the server
    refuses its token. ``response_hooks`` see every response (a token rotation). ``budget`` (a
    ``RateBudget``) slows requests down when the server's remaining budget runs low. ``sleep`` is
    how retry and budget waits are spent (tests count them instead).
    """

    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        tls: TlsOptions | None = None,
        headers: dict[str, str] | None = None,
        auth: Any = None,
        timeout: float = 60.0,
        max_attempts: int = 8,
        max_wait: float = 120.0,
        retry_statuses: Iterable[int] = RETRY_STATUSES,
        hint: WaitHint = retry_after_seconds,
        max_connections: int | None = None,
        log: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        response_hooks: Iterable[Callable[..., Any]] = (),
        budget: RateBudget | None = None,
    ):
        self.response_hooks = list(response_hooks) + ([budget.observe] if budget else [])
        self.budget = budget
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.tls = tls or TlsOptions()
        self.headers = dict(headers or {})
        self.auth = auth
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.retry_statuses = frozenset(retry_statuses)
        self.hint = hint
        self.sleep = sleep
        self.log = log or logging.getLogger(__name__)
        self._local = threading.local()
        self._slots = threading.BoundedSemaphore(max_connections) if max_connections else None
        self._context = self.tls.ssl_context()

    def session(self) -> requests.Session:
        """This thread's session (keep-alive connections are per thread)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = self.tls.session(self._context, pool_connections=1, pool_maxsize=1)
            session.headers.update(self.headers)
            session.auth = self.auth
            session.hooks["response"].extend(self.response_hooks)
            session.mount("http://", requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=1))
            self._local.session = session
        return session

    def authenticate(self) -> RetryingClient:
        """Get the token now (if the auth has one), so that bad credentials show before any data call."""
        if isinstance(self.auth, TokenAuth):
            self.auth.cache.current()
        return self

    def url(self, path: str) -> str:
        return path if "://" in path else f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, *, ok_statuses: Iterable[int] = (), **kwargs: Any) -> requests.Response:
        """One call with retries. Statuses in ``ok_statuses`` (e.g. 204, 404) are returned, not raised."""
        url = self.url(path)
        kwargs.setdefault("timeout", self.timeout)
        renew = self.auth.renew_if_refused if isinstance(self.auth, TokenAuth) else None
        return send_with_retries(lambda: self._send(method, url, **kwargs), what=f"{self.name} {method} {display(url)}",
                                 max_attempts=self.max_attempts, max_wait=self.max_wait, log=self.log,
                                 hint=self.hint, retry_statuses=self.retry_statuses, ok_statuses=ok_statuses,
                                 renew_auth=renew, sleep=self.sleep)

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        if self.budget is not None:
            wait = self.budget.delay()
            if wait > 0:
                self.sleep(min(wait, self.max_wait))
        if self._slots is None:
            return self.session().request(method, url, **kwargs)
        with self._slots:
            return self.session().request(method, url, **kwargs)

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs).json()


def display(url: str) -> str:
    """The URL without its query string (which may carry secrets) for messages and logs."""
    return url.split("?", 1)[0]
