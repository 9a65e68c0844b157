"""OktaHook: users from the Okta Management API (the ``okta`` source).

Authentication: ``Authorization: SSWS <api_token>`` (an API token; it acts with its admin's
rights, which must include reading users). A refused token is not retried: 401 ``E0000011``
or 403 (``E0000005``/``E0000006``) fails the task at once with what to check.

Listing: ``GET /api/v1/users?limit=200`` (200 is the maximum), then the ``Link: <...>;
rel="next"`` URL of each answer until an answer has none; the ``after`` cursor in it is
opaque, so pages are read one after another. Okta's plain listing leaves DEPROVISIONED users
out; with ``deprovisioned = true`` a second listing, ``filter=status eq "DEPROVISIONED"``,
adds them (the original's second pass). A user seen twice (its status changed between the two
listings) is yielded once.

Rate limits: Okta puts ``X-Rate-Limit-Limit``, ``-Remaining`` and ``-Reset`` (epoch seconds)
on every answer. A 429 (``E0000047``, no ``Retry-After``) is waited out until the reset,
measured against the answer's ``Date`` (Okta's clock) plus a second, as Okta's SDKs do; and
when few requests are left in the window, requests are spread over the rest of it
(``RateBudget``) so that a long sync rarely meets a 429 at all.

Records: the user objects as Okta returns them, unchanged (``id``, ``status``, ``created``,
``activated``, ``lastLogin``, ``lastUpdated``, ``profile``, ``credentials``, ``_links``...),
as the original connector sent them: mappings read any of it (``profile.login``, ``status``).

Connection (type ``okta``): host = the org URL, password = the API token.
"""
from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import quote, urlsplit

import requests

from airflow_provider_oomnitza.hooks.base import TLS_FIELDS, SourceHook
from airflow_provider_oomnitza.hooks.errors import HttpError, RefusedCredentials
from airflow_provider_oomnitza.hooks.http_client import (
    RateBudget, RetryingClient, display, json_of, reset_epoch_seconds,
)
from airflow_provider_oomnitza.masking import mask
from airflow_provider_oomnitza.sources.okta import OktaSettings, org_url

USERS = "api/v1/users"
PAGE_LIMIT = 200  # the documented maximum of ``limit`` for listing users (the original asked for 100)
DEPROVISIONED = 'status eq "DEPROVISIONED"'
RESET = "X-Rate-Limit-Reset"

HINTS = {
    "E0000011": "check api_token: an Okta API token (Security > API > Tokens) of this org; a token expires "
                "after 30 days without use and when its admin is deactivated",
    "E0000005": "no usable Authorization header reached Okta (a proxy may strip it); check api_token",
    "E0000006": "the token's admin may not list users: create the token as an admin whose role can read users "
                "(e.g. Read-Only Administrator)",
    "E0000007": "check url: your Okta org URL, e.g. https://acme.okta.com",
    "E0000047": "the org's rate limit for /api/v1/users stayed exhausted; other API clients may share it",
}


class OktaError(HttpError):
    """An Okta call failed (another try of the task may succeed)."""


class OktaAuthError(RefusedCredentials):
    """Okta refused the API token (401/403): retrying cannot help, so Airflow does not retry."""


def okta_error_body(response: requests.Response | None) -> tuple[str, str]:
    """``(errorCode, errorSummary plus its causes)`` of an Okta error answer; ``("", text)`` for other bodies."""
    if response is None:
        return "", ""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:300].strip()
    if not isinstance(body, dict):
        return "", str(body)[:300]
    summary = str(body.get("errorSummary") or body.get("message") or "")
    causes = [str(c.get("errorSummary")) for c in body.get("errorCauses") or [] if isinstance(c, dict)]
    if causes:
        summary += f" ({'; '.join(causes)})"
    return str(body.get("errorCode") or ""), summary[:500]


class OktaHook(SourceHook):
    """Users from Okta (see the module docstring)."""

    conn_name_attr = "okta_conn_id"
    default_conn_name = "okta_default"
    conn_type = "okta"
    hook_name = "Okta"
    settings_model = OktaSettings
    connection_fields = {"host": "url", "password": "api_token"}
    extra_fields = TLS_FIELDS
    # Below this share of the window's budget, requests are spread over the rest of the window
    # (None: never slow down; a 429 is still waited out).
    slow_down_below: float | None = 0.1

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._url: str | None = None
        self.budget: RateBudget | None = None

    @property
    def url(self) -> str:
        """The org URL, ``-admin`` taken out (with a warning: the Admin Console's host is not the API's)."""
        if self._url is None:
            given = self.settings.url
            self._url = org_url(given)
            if urlsplit(self._url).hostname != urlsplit(given if "://" in given else f"https://{given}").hostname:
                self.log.warning("%s url: %s is the Okta Admin Console; the API is served on the org URL, so %s is "
                                 "used (write that in the settings to silence this)", self.where, given, self._url)
        return self._url

    @property
    def client(self) -> RetryingClient:
        return self.get_conn()

    def connect(self) -> RetryingClient:
        token = self.settings.api_token.get_secret_value()
        mask(token)
        if self.slow_down_below is not None:
            self.budget = RateBudget(limit="X-Rate-Limit-Limit", remaining="X-Rate-Limit-Remaining",
                                     reset=reset_epoch_seconds(RESET, margin=1.0, statuses=range(200, 600)),
                                     low=self.slow_down_below, log=self.log, name="Okta")
        return RetryingClient(self.url, name="Okta", headers={"Accept": "application/json",
                                                               "Authorization": f"SSWS {token}"},
                              hint=reset_epoch_seconds(RESET, margin=1.0), budget=self.budget,
                              **self.client_options())

    # -- calls ------------------------------------------------------------------------------------
    def _error(self, exc: HttpError, what: str) -> HttpError:
        """An error naming the section, the call, Okta's errorCode and summary, and what to check."""
        if exc.status is None:  # not reached: the client's message says why
            return OktaError(f"{self.where} {exc}", None, None)
        code, summary = okta_error_body(exc.response)
        reason = exc.response.reason if exc.response is not None else ""
        text = f"{exc.status} {reason}".strip() + (f" ({code})" if code else "") + (f": {summary}" if summary else "")
        if "gave up after" in str(exc):
            text = f"gave up after {self.max_attempts} attempts: {text}"
        hint = HINTS.get(code) or {401: HINTS["E0000011"], 403: HINTS["E0000006"]}.get(exc.status, "")
        message = f"{self.where} Okta {what} at {self.url}: {text}" + (f"; {hint}" if hint else "")
        kind = OktaAuthError if exc.status in (401, 403) else OktaError
        return kind(message, exc.status, exc.response)

    def _get(self, path: str, what: str, **kwargs: Any) -> requests.Response:
        try:
            return self.client.request("GET", path, **kwargs)
        except HttpError as exc:
            raise self._error(exc, what) from None

    def _json(self, response: requests.Response, what: str, kind: type) -> Any:
        body = json_of(response, kind)
        if body is None:
            shown = response.headers.get("Content-Type") or "no content type"
            raise OktaError(f"{self.where} Okta {what} at {self.url}: expected a JSON "
                            f"{'list' if kind is list else 'object'}, got {shown} ({response.text[:120]!r}); is url "
                            "your Okta org URL?", response.status_code, response)
        return body

    def _next(self, response: requests.Response) -> str | None:
        """The ``rel="next"`` link (requests joins Okta's separate Link lines), kept on the org URL: the token
        goes to no other host."""
        link = (response.links.get("next") or {}).get("url")
        if not link:
            return None
        if link.startswith(f"{self.url}/"):
            return link
        parts = urlsplit(link)
        return f"{self.url}{parts.path}" + (f"?{parts.query}" if parts.query else "")

    # -- listing ----------------------------------------------------------------------------------
    def listing(self, filter_: str | None = None) -> Iterator[list[dict]]:
        """The pages of one user listing, following ``rel="next"`` until there is none."""
        what = "list users" + (f" ({filter_})" if filter_ else "")
        params: dict[str, Any] | None = {"limit": PAGE_LIMIT, **({"filter": filter_} if filter_ else {})}
        url: str | None = USERS
        seen_links: set[str] = set()
        page = 0
        while url:
            response = self._get(url, f"{what}, page {page + 1}", params=params)
            users = self._json(response, f"{what}, page {page + 1}", list)
            yield users
            page += 1
            url, params = self._next(response), None
            if url in seen_links:  # a server that links back would page forever
                raise OktaError(f"{self.where} Okta {what}: page {page} links back to {display(url)}", None, response)
            if url:
                seen_links.add(url)

    def records(self) -> Iterator[dict]:
        seen: set[str] = set()
        passes = [None] + ([DEPROVISIONED] if self.settings.deprovisioned else [])
        for filter_ in passes:
            count = skipped = 0
            for users in self.listing(filter_):
                for user in users:
                    if not isinstance(user, dict):
                        self.report(f"Okta list users: an entry that is not a user object ({str(user)[:80]!r}); "
                                    "skipped")
                        continue
                    ident = user.get("id")
                    if ident is not None and ident in seen:
                        skipped += 1
                        continue
                    if ident is not None:
                        seen.add(ident)
                    count += 1
                    yield user
            self.log.info("Okta %s: %d users%s", filter_ or "users (all but DEPROVISIONED)", count,
                          f", {skipped} already read" if skipped else "")
        if self.budget is not None and self.budget.waits:
            self.log.info("Okta: %d requests slowed down to stay within the rate limit", self.budget.waits)

    def check(self) -> str:
        response = self._get(USERS, "list users", params={"limit": 1})
        self._json(response, "list users", list)
        h = response.headers
        budget = (f"; rate limit {h['X-Rate-Limit-Limit']}, {h.get('X-Rate-Limit-Remaining', '?')} left"
                  if "X-Rate-Limit-Limit" in h else "")
        return f"Connected to Okta at {self.url}: the token may list users{budget}"

    def record_by_id(self, record_id: str) -> dict | None:
        """One user by id or login, shaped as in ``records()``; None if Okta does not know it."""
        what = f"user {record_id}"
        response = self._get(f"{USERS}/{quote(str(record_id).strip(), safe='@')}", what, ok_statuses=(404,))
        if response.status_code == 404:
            return None
        return self._json(response, what, dict)
