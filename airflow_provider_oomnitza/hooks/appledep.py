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

Connection (type ``appledep``): host = the service URL, password = the server token JSON.
"""
from __future__ import annotations

import json
import threading
from typing import Any, Iterator

import requests

from airflow_provider_oomnitza import __version__
from airflow_provider_oomnitza.hooks.base import TLS_FIELDS, SourceHook
from airflow_provider_oomnitza.hooks.errors import RefusedCredentials
from airflow_provider_oomnitza.hooks.http_client import (
    HttpError, RetryingClient, TokenAuth, TokenCache, fetch_in_order,
)
from airflow_provider_oomnitza.masking import mask
from airflow_provider_oomnitza.sources.appledep import AppleDepSettings

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


class AppleDepError(HttpError):
    """An Apple DEP call failed (another try of the task may succeed)."""


class AppleDepAuthError(RefusedCredentials):
    """Apple refuses this server token; retrying cannot help until someone acts. Airflow does not retry it."""


def _session_refused(response: requests.Response) -> bool:
    """An expired session (401) or one Apple does not recognise (403 FORBIDDEN): open a new one."""
    return response.status_code == 401 or (response.status_code == 403 and response.text.strip() == "FORBIDDEN")


class AppleDepHook(SourceHook):
    conn_name_attr = "appledep_conn_id"
    default_conn_name = "appledep_default"
    conn_type = "appledep"
    hook_name = "Apple DEP"
    settings_model = AppleDepSettings
    connection_fields = {"host": "url", "password": "api_token"}
    extra_fields = TLS_FIELDS

    page_limit = 1000   # devices per /server/devices page (Apple's maximum; the original asked for 50)
    detail_workers = 2  # /devices calls in flight while the next page is fetched

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions_opened = 0  # GET /session calls that returned a session
        self.rotations = 0        # session tokens adopted from a response header
        self._lock = threading.Lock()
        self._refused: AppleDepAuthError | None = None  # Apple refused the token: no thread asks again
        self._sessions = TokenCache(self._open_session)

    @property
    def session_token(self) -> str | None:
        return self._sessions.token

    @property
    def client(self) -> RetryingClient:
        return self.get_conn()

    # -- the clients -----------------------------------------------------------------------------
    def connect(self) -> RetryingClient:
        """The client for every call but /session (the session opens on its first call)."""
        from requests_oauthlib import OAuth1

        token = json.loads(self.settings.api_token.get_secret_value())  # its form was checked with the settings
        headers = {"X-Server-Protocol-Version": PROTOCOL_VERSION, "User-Agent": USER_AGENT}
        self._signed = RetryingClient(self.settings.url, name="Apple DEP", headers=headers, auth=OAuth1(
            token["consumer_key"], token["consumer_secret"], token["access_token"], token["access_secret"],
            realm="ADM", signature_method="HMAC-SHA1"), **self.client_options())
        client = RetryingClient(self.settings.url, name="Apple DEP",
                                headers={**headers, "Content-Type": "application/json;charset=UTF8"},
                                auth=TokenAuth(self._sessions, header=SESSION_HEADER, scheme="",
                                               refused=_session_refused),
                                response_hooks=[self._adopt_rotation], **self.client_options())
        return client

    # -- the auth session ----------------------------------------------------------------------
    def _open_session(self) -> tuple[str, None]:
        """A new auth session token (the TokenCache calls this, one thread at a time)."""
        if self._refused is not None:
            raise self._refused
        self.get_conn()
        try:
            body = self._signed.get_json("session")
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
        return token, None  # Apple says when it is over: 401

    def _where(self) -> str:
        return f"[{self.section}] " if self.section else ""

    def _session_error(self, exc: HttpError) -> Exception:
        code = _apple_code(exc)
        if code in REFUSALS:
            return AppleDepAuthError(f"{self._where()}Apple DEP refused the server token ({exc.status} {code}): "
                                     f"{REFUSALS[code]}.", exc.status, exc.response)
        if exc.status == 401:
            return AppleDepAuthError(
                f"{self._where()}Apple DEP refused the server token (401 {code or 'UNAUTHORIZED'}): api_token is not "
                "the current server token of this device management service, or this machine's clock is more than "
                f"a few minutes off. To get the current one, {TOKEN_HELP}.", 401, exc.response)
        if exc.status == 400:
            return AppleDepAuthError(f"{self._where()}Apple DEP rejected the signed GET /session (400 "
                                     f"{code or 'BAD_REQUEST'}); check api_token and url ({exc})", 400, exc.response)
        return AppleDepError(f"{self._where()}cannot open an Apple DEP session: {exc}", exc.status, exc.response)

    def _adopt_rotation(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Apple may send a new session token in any response: switch to it, unless it is already stale."""
        new = response.headers.get(SESSION_HEADER)
        if new and self._sessions.adopt(response.request.headers.get(SESSION_HEADER), new):
            mask(new)
            with self._lock:
                self.rotations += 1

    # -- calls -----------------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One Apple DEP call (JSON answer); Apple's refusals become errors that say what to do."""
        try:
            return self.client.request(method, path, **kwargs).json()
        except (AppleDepError, AppleDepAuthError):
            raise
        except HttpError as exc:
            raise self._call_error(method, path, exc) from None

    def _call_error(self, method: str, path: str, exc: HttpError) -> Exception:
        code = _apple_code(exc)
        where = f"{self._where()}Apple DEP {method} /{path}"
        if code in REFUSALS:
            return AppleDepAuthError(f"{where}: refused ({exc.status} {code}): {REFUSALS[code]}.", exc.status,
                                     exc.response)
        if exc.status in (401, 403):
            return AppleDepAuthError(f"{where}: {exc.status} {code or 'refused'} even with a new session: {exc}",
                                     exc.status, exc.response)
        if code in CURSOR_ERRORS:
            return AppleDepError(f"{where}: {exc.status} {code}: {CURSOR_ERRORS[code]}. Run the sync again: "
                                 "each run starts a new full fetch.", exc.status, exc.response)
        return AppleDepError(f"{self._where()}{exc}", exc.status, exc.response)

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
        calls = ((lambda serials=serials: (serials, self.details(serials))) for serials in self.serial_pages())
        for serials, details in fetch_in_order(calls, workers=max(1, self.detail_workers),
                                               ahead=max(1, self.detail_workers), name="appledep"):
            yield from self._successes(serials, details)

    def record_by_id(self, record_id: str) -> dict | None:
        serial = record_id.strip().upper()
        return next(self._successes([serial], self.details([serial])), None)


def _apple_code(exc: HttpError) -> str:
    """Apple's error code: the bare upper-case word of a plain-text error body ("T_C_NOT_SIGNED")."""
    text = exc.response.text.strip() if exc.response is not None else ""
    return text if text.replace("_", "").isalnum() and text.isupper() else ""
