"""Apple DEP (Automated Device Enrollment service, ``mdmenrollment.apple.com``) devices.

Authentication: the DEP server token (``api_token``, JSON with consumer_key, consumer_secret,
access_token, access_secret) signs ``GET /session`` with OAuth 1.0a (HMAC-SHA1, ``realm="ADM"``,
signed by requests-oauthlib). The returned auth session token goes in ``X-ADM-Auth-Session`` on
every other call, with ``X-Server-Protocol-Version``. The session token is shared by all threads:
a response carrying a new ``X-ADM-Auth-Session`` replaces it for everyone, and a 401 (expired
session) gets one new session however many threads noticed it (the client's re-authentication,
keyed on ``client.generation``). A 403 ``FORBIDDEN`` (session not recognised) also gets one new
session. A 403 ``T_C_NOT_SIGNED`` or ``ACCESS_DENIED`` stops the sync at once with what to do;
retrying cannot help (the original retried those forever).

Records: ``POST /server/devices`` is paged with its cursor until ``more_to_follow`` is false,
``page_limit`` devices a page; the serial numbers of each page go to ``POST /devices`` and the
detail objects answered ``SUCCESS`` are the records, as the original connector yielded them (the
other statuses are reported, with the serial). Up to ``detail_workers`` detail calls run in
threads while the next page is listed; records come out in Apple's order, each serial once.

Connection (type ``appledep``): host = the service URL, password = the server token JSON;
extra may hold ``verify_ssl``.
"""
from __future__ import annotations

import json
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar, Iterator

import requests
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_oomnitza import __version__
from airflow_provider_oomnitza.config.types import parse_bool
from airflow_provider_oomnitza.hooks.base import SourceHook
from airflow_provider_oomnitza.hooks.http_client import HttpError, RetryingClient
from airflow_provider_oomnitza.sources.appledep import token_problem
from airflow_provider_oomnitza.masking import mask

SESSION_HEADER = "X-ADM-Auth-Session"
PROTOCOL_VERSION = "3"  # the original sent 2; 3 is what current clients send (os, device_family need >= 2)
USER_AGENT = f"airflow-provider-oomnitza/{__version__}"

TOKEN_HELP = ("download a new server token for this MDM server in Apple Business Manager (or Apple School "
              "Manager): Preferences > your device management service > Download Token; decrypt it and put its "
              "JSON in api_token (or the connection's password)")
REFUSALS = {
    "T_C_NOT_SIGNED": "the organisation has not accepted Apple's latest terms and conditions. An administrator must "
                      "sign in to Apple Business Manager (business.apple.com) or Apple School Manager "
                      "(school.apple.com) and accept them; then run the sync again",
    "ACCESS_DENIED": "the server token has expired or was revoked (tokens last a year and a new download replaces "
                     "the old one); " + TOKEN_HELP,
}
CURSOR_ERRORS = {
    "INVALID_CURSOR": "Apple no longer recognises the cursor it gave for the previous page",
    "EXHAUSTED_CURSOR": "Apple says the device list was already read to its end with this cursor",
    "EXPIRED_CURSOR": "the cursor is older than Apple keeps cursors (7 days)",
}


class AppleDepError(Exception):
    """An Apple DEP call failed (another try of the task may succeed)."""


class AppleDepAuthError(AirflowFailException):
    """Apple refuses this server token; retrying cannot help until someone acts. Airflow does not retry it."""


class _SessionAuth(requests.auth.AuthBase):
    """Puts the hook's current auth session token on each request, so a rotation reaches every thread."""

    def __init__(self, hook: AppleDepHook):
        self.hook = hook

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[SESSION_HEADER] = self.hook.session_token or ""
        return request


class AppleDepHook(SourceHook):
    conn_type = "appledep"
    hook_name = "Apple DEP"
    default_conn_name = "appledep_default"
    connection_fields: ClassVar[dict[str, str]] = {"host": "url", "password": "api_token"}
    extra_settings: ClassVar[tuple[str, ...]] = ("verify_ssl",)

    page_limit = 1000   # devices per /server/devices page (Apple's maximum; the original asked for 50)
    detail_workers = 2  # /devices calls in flight while the next page is fetched
    max_attempts = 8    # per call, for 429/5xx/connection errors (Retry-After honoured)
    max_wait = 120.0


    def __init__(self, settings: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.session_token: str | None = None
        self.sessions_opened = 0  # GET /session calls that returned a session
        self.rotations = 0        # session tokens adopted from a response header
        self._token_generation = -1
        self._lock = threading.Lock()
        self._refused: AppleDepAuthError | None = None  # Apple refused the token: no thread asks again
        self._clients: tuple[RetryingClient, RetryingClient] | None = None

    # -- settings and clients --------------------------------------------------------------------
    def _where(self) -> str:
        return f"[{self.section}] " if self.section else ""

    def _server_token(self) -> dict[str, str]:
        raw = self.settings.get("api_token") or ""
        problem = token_problem(raw)
        if problem:
            raise AppleDepAuthError(f"{self._where()}api_token: {problem}")
        return json.loads(raw)

    def _verify(self) -> bool | str:
        verify = parse_bool(self.settings.get("verify_ssl", True))
        return (self.settings.get("cacert_file") or True) if verify else False

    @property
    def client(self) -> RetryingClient:
        return self._make_clients()[1]

    def _make_clients(self) -> tuple[RetryingClient, RetryingClient]:
        """(the OAuth1-signed client for /session, the client for every other call)."""
        if self._clients is None:
            from requests_oauthlib import OAuth1

            token = self._server_token()
            url = self.settings.get("url") or "https://mdmenrollment.apple.com"
            common: dict[str, Any] = {"name": "Apple DEP", "verify": self._verify(), "log": self.log,
                                      "max_attempts": self.max_attempts, "max_wait": self.max_wait}
            headers = {"X-Server-Protocol-Version": PROTOCOL_VERSION, "User-Agent": USER_AGENT}
            signed = RetryingClient(url, headers=headers, auth=OAuth1(
                token["consumer_key"], token["consumer_secret"], token["access_token"], token["access_secret"],
                realm="ADM", signature_method="HMAC-SHA1"), **common)
            data = RetryingClient(url, headers={**headers, "Content-Type": "application/json;charset=UTF8"},
                                  auth=_SessionAuth(self), authenticate=self._authenticate, **common)
            self._clients = (signed, data)
        return self._clients

    # -- the auth session ----------------------------------------------------------------------
    def _authenticate(self, session: requests.Session) -> None:
        """Called by the client for each new per-thread session: a session token for this generation."""
        session.hooks["response"].append(self._adopt_rotation)
        generation = self.client.generation
        with self._lock:
            if self._refused is not None:
                raise self._refused
            if self.session_token is None or self._token_generation != generation:
                self.session_token = self._open_session()
                self._token_generation = generation

    def _open_session(self) -> str:
        signed = self._make_clients()[0]
        try:
            body = signed.get_json("session")
        except HttpError as exc:
            error = self._session_error(exc)
            if isinstance(error, AppleDepAuthError):
                self._refused = error
            raise error from None
        token = body.get("auth_session_token") if isinstance(body, dict) else None
        if not token:
            raise AppleDepError(f"{self._where()}Apple DEP answered GET /session without an auth_session_token")
        self.sessions_opened += 1
        mask(token)
        return token

    def _session_error(self, exc: HttpError) -> Exception:
        code = _apple_code(exc)
        if code in REFUSALS:
            return AppleDepAuthError(f"{self._where()}Apple DEP refused the server token ({exc.status} {code}): "
                                     f"{REFUSALS[code]}.")
        if exc.status == 401:
            return AppleDepAuthError(
                f"{self._where()}Apple DEP refused the server token (401 {code or 'UNAUTHORIZED'}): api_token is not "
                "the current server token of this device management service, or this machine's clock is more than "
                f"a few minutes off. To get the current one, {TOKEN_HELP}.")
        if exc.status == 400:
            return AppleDepAuthError(f"{self._where()}Apple DEP rejected the signed GET /session (400 "
                                     f"{code or 'BAD_REQUEST'}); check api_token and url ({exc})")
        return AppleDepError(f"{self._where()}cannot open an Apple DEP session: {exc}")

    def _adopt_rotation(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Apple may send a new session token in any response: switch to it, unless it is already stale."""
        new = response.headers.get(SESSION_HEADER)
        if not new:
            return
        used = response.request.headers.get(SESSION_HEADER)
        with self._lock:
            if used == self.session_token and new != self.session_token:
                mask(new)
                self.session_token = new
                self.rotations += 1

    # -- calls -----------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One Apple DEP call (JSON answer); Apple's refusals become errors that say what to do."""
        client = self.client
        generation = client.generation
        try:
            try:
                return client.request(method, path, **kwargs).json()
            except HttpError as exc:
                if exc.status != 403 or _apple_code(exc) != "FORBIDDEN":
                    raise
                # Apple does not recognise the session: one new session, as for a 401.
                client.reauthenticate(generation)
                return client.request(method, path, **kwargs).json()
        except HttpError as exc:
            raise self._call_error(method, path, exc) from None

    def _call_error(self, method: str, path: str, exc: HttpError) -> Exception:
        code = _apple_code(exc)
        where = f"{self._where()}Apple DEP {method} /{path}"
        if code in REFUSALS:
            return AppleDepAuthError(f"{where}: refused ({exc.status} {code}): {REFUSALS[code]}.")
        if code in CURSOR_ERRORS:
            return AppleDepError(f"{where}: {exc.status} {code}: {CURSOR_ERRORS[code]}. Run the sync again: "
                                 "each run starts a new full fetch.")
        return AppleDepError(f"{self._where()}{exc}")

    # -- API -------------------------------------------------------------------------------------
    def check(self) -> str:
        account = self._call("GET", "account")
        return (f"Connected to Apple DEP: server {account.get('server_name')!r} of "
                f"{account.get('org_name')!r} (session protocol {PROTOCOL_VERSION})")

    def serial_pages(self) -> Iterator[list[str]]:
        """The serial numbers of the account's devices, a page at a time, each serial once."""
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = self._call("POST", "server/devices", json={"limit": self.page_limit, "cursor": cursor})
            serials = []
            for device in page.get("devices") or []:
                serial = str(device.get("serial_number") or "").strip().upper()
                if not serial:
                    self.report(f"Apple DEP listed a device without serial_number; skipped: {device}")
                elif serial not in seen:
                    seen.add(serial)
                    serials.append(serial)
            if serials:
                yield serials
            more = str(page.get("more_to_follow")).lower() == "true"
            if not more:
                return
            if not page.get("cursor") or page["cursor"] == cursor:
                raise AppleDepError(f"{self._where()}Apple DEP said more devices follow but gave no new cursor")
            cursor = page["cursor"]

    def details(self, serials: list[str]) -> dict[str, dict]:
        """``{serial: detail object}`` from ``POST /devices`` (every status)."""
        body = self._call("POST", "devices", json={"devices": serials})
        devices = body.get("devices") if isinstance(body, dict) else None
        if not isinstance(devices, dict):
            raise AppleDepError(f"{self._where()}Apple DEP POST /devices: expected a devices object, got {body!r:.200}")
        return devices

    def _successes(self, serials: list[str], details: dict[str, dict]) -> Iterator[dict]:
        for serial in serials:
            detail = details.get(serial)
            status = detail.get("response_status") if isinstance(detail, dict) else None
            if status == "SUCCESS":
                yield detail
            else:
                self.report(f"Apple DEP device {serial}: details answered {status or 'nothing'}; skipped")

    def records(self) -> Iterator[dict]:
        """The detail object of every device Apple answers SUCCESS for, in Apple's order."""
        workers = max(1, self.detail_workers)
        pending: deque[tuple[list[str], Future]] = deque()
        with ThreadPoolExecutor(workers, thread_name_prefix="appledep") as pool:
            try:
                for serials in self.serial_pages():
                    pending.append((serials, pool.submit(self.details, serials)))
                    while len(pending) > workers:
                        serials, future = pending.popleft()
                        yield from self._successes(serials, future.result())
                while pending:
                    serials, future = pending.popleft()
                    yield from self._successes(serials, future.result())
            finally:
                for _, future in pending:
                    future.cancel()

    def record_by_id(self, record_id: str) -> dict | None:
        serial = record_id.strip().upper()
        return next(self._successes([serial], self.details([serial])), None)


def _apple_code(exc: HttpError) -> str:
    """Apple's error code: the bare upper-case word of a plain-text error body ("T_C_NOT_SIGNED")."""
    text = exc.response.text.strip() if exc.response is not None else ""
    return text if text.replace("_", "").isalnum() and text.isupper() else ""
