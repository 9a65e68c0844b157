"""OneLogin users (the ``onelogin`` source).

Authentication: an API credential (``client_id``, ``client_secret``) gets a Bearer token from
``POST /auth/oauth2/v2/token`` (HTTP Basic, JSON ``{"grant_type": "client_credentials"}``) on
the same host as the users API (``url``: ``https://<subdomain>.onelogin.com`` or
``api.us``/``api.eu``; the original always asked the US host). The token (10 hours) is shared by
the hook's calls, renewed a minute before it expires and once when the API answers 401. The
older ``/auth/oauth2/token`` is not used: each call to it cancels the credential's earlier tokens.

Users: ``GET /api/2/users?limit=<page_size>``, then ``cursor=<After-Cursor>`` (a response
header) until a page comes without one. Pages are a bare JSON array; a user seen twice (the
directory shifting between pages) is yielded once.

Rate limits: OneLogin counts calls per account and hour and sends ``X-RateLimit-Limit``,
``-Remaining`` and ``-Reset`` (seconds until the reset, not an epoch time) and no Retry-After.
A 429 waits ``Reset`` seconds (capped by ``max_wait``, then retried up to ``max_attempts``);
with a tenth of the budget left, calls are spread over the time to the reset (``RateBudget``).

Records are the v2 user objects plus ``role_id`` (the v1 API's name of ``role_ids``, which the
original read). As the original, a mapping source that names no field of the user but one of
its custom attributes (``{"source": "cost_center"}``) reads ``custom_attributes.cost_center``.

The deprecated ``api_token`` (used only when client_id/client_secret are not both set, as the
original) reads the old XML API: ``GET <url or host/api/v2/users.xml>?include_custom_attributes=
true&page=N`` with Basic ``<api_token>:x`` until an empty page, with a warning; its records have
the XML's hyphenated fields and ``custom_attribute_<name>`` fields, ``nil`` values as None.

Connection (type ``onelogin``): host = the API host, login = client id, password = client
secret; the form's field holds the deprecated API key.
"""
from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import urlsplit
from xml.etree import ElementTree

import requests

from airflow_provider_oomnitza.hooks.base import TLS_FIELDS, SourceHook
from airflow_provider_oomnitza.hooks.errors import RefusedCredentials
from airflow_provider_oomnitza.hooks.http_client import (
    HttpError, RateBudget, RetryingClient, TokenAuth, TokenCache, error_text, reset_in_seconds,
)
from airflow_provider_oomnitza.masking import mask
from airflow_provider_oomnitza.sources.onelogin import LEGACY_NOTE, OneLoginSettings

TOKEN = "auth/oauth2/v2/token"
USERS = "api/2/users"
LEGACY_USERS = "api/v2/users.xml"
LIMIT, REMAINING, RESET = "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"
WAIT_HINT = reset_in_seconds(RESET)

CLIENT_HINT = ("check client_id and client_secret (an API credential of this OneLogin account) and url (the "
               "account's https://<subdomain>.onelogin.com, or api.us / api.eu)")
HINTS = {
    401: CLIENT_HINT,
    403: "the API credential may not read users: give it the 'Read users' scope (or higher)",
    404: "check url: it should be the account's OneLogin API host, e.g. https://example.onelogin.com",
}
LEGACY_HINTS = {
    401: "check api_token (the deprecated API key); better, create an API credential and set client_id and "
         "client_secret",
    404: "check url: with api_token it is the XML users URL, e.g. https://app.onelogin.com/api/v2/users.xml",
}


class OneLoginError(HttpError):
    """A OneLogin call failed; the message names the section, the call and the server, with a hint."""


class OneLoginAuthError(RefusedCredentials, OneLoginError):
    """OneLogin refused the credentials or their scope (401/403 after one new token): fails the task at once."""


class OneLoginHook(SourceHook):
    """Users from OneLogin (see the module docstring)."""

    conn_name_attr = "onelogin_conn_id"
    default_conn_name = "onelogin_default"
    conn_type = "onelogin"
    hook_name = "OneLogin"
    settings_model = OneLoginSettings
    connection_fields = {"host": "url", "login": "client_id", "password": "client_secret"}
    extra_fields = ("api_token", *TLS_FIELDS)

    # -- where and how ----------------------------------------------------------------------------
    @property
    def origin(self) -> str:
        """``scheme://host[:port]`` of ``url``: the v2 API and its token call live there, whatever the path."""
        url = self.settings.url.strip()
        parts = urlsplit(url if "://" in url else f"https://{url}")
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def legacy(self) -> bool:
        """The deprecated API key and XML API (only when client_id and client_secret are not both set)."""
        return not self.settings.uses_client

    @property
    def legacy_url(self) -> str:
        url = self.settings.url.strip().rstrip("/")
        return url if url.lower().endswith(".xml") else f"{self.origin}/{LEGACY_USERS}"

    @property
    def client(self) -> RetryingClient:
        return self.get_conn()

    def connect(self) -> RetryingClient:
        s = self.settings
        options = self.client_options()
        budget = RateBudget(limit=LIMIT, remaining=REMAINING, reset=WAIT_HINT, log=self.log, name="OneLogin")
        if self.legacy:
            self.log.warning("%s api_token %s", self.where, LEGACY_NOTE)
            return RetryingClient(self.origin, name="OneLogin", auth=(s.api_token.get_secret_value(), "x"),
                                  hint=WAIT_HINT, budget=budget, **options)
        self._token_client = RetryingClient(self.origin, name="OneLogin", **options)
        client = RetryingClient(self.origin, name="OneLogin", auth=TokenAuth(TokenCache(self._fetch_token)),
                                headers={"Accept": "application/json"}, hint=WAIT_HINT, budget=budget,
                                **options)
        return client.authenticate()

    def _fetch_token(self) -> tuple[str, float | None]:
        s = self.settings
        what = "token"
        try:
            response = self._token_client.request(
                "POST", TOKEN, json={"grant_type": "client_credentials"},
                auth=(s.client_id, s.client_secret.get_secret_value()))
        except HttpError as exc:
            raise self._error(exc, what, hint=CLIENT_HINT if exc.status in (400, 401) else "") from None
        body = self._json(response, what)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise self._fail(what, f"no access_token in the answer: {response.text[:200]!r}", response)
        mask(token)
        lifetime = body.get("expires_in")
        return token, float(lifetime) if isinstance(lifetime, (int, float)) and lifetime > 0 else None

    # -- errors -----------------------------------------------------------------------------------
    def _fail(self, what: str, text: str, response: requests.Response | None = None, *, hint: str = "",
              at: str = "") -> OneLoginError:
        prefix = f"{self.where} " if self.section or self.conn_id else ""
        message = f"{prefix}OneLogin {what} at {at or self.origin}: {text}" + (f"; {hint}" if hint else "")
        status = response.status_code if response is not None else None
        kind = OneLoginAuthError if status in (401, 403) else OneLoginError
        return kind(message, status, response)

    def _error(self, exc: HttpError, what: str, *, hint: str = "", at: str = "") -> OneLoginError:
        """``_fail`` for a failed call: its status, OneLogin's error name and message, and a hint."""
        response = exc.response
        if exc.status is None or response is None:
            return self._fail(what, str(exc).partition(": ")[2] or str(exc), hint=hint, at=at)
        text = f"{exc.status} {response.reason}".strip()
        name = _error_name(response)
        text += f" ({name})" if name else ""
        message = error_text(response)
        text += f": {message}" if message and message != response.reason else ""
        if "gave up after" in str(exc):
            text = f"gave up after {self.max_attempts} attempts: {text}"
        if exc.status == 429 and not hint:
            hint = budget_hint(response)
        if not hint:
            hint = (LEGACY_HINTS if self.legacy else HINTS).get(exc.status, "")
        return self._fail(what, text, response, hint=hint, at=at)

    def _get(self, path: str, what: str, **kwargs: Any) -> requests.Response:
        try:
            return self.client.request("GET", path, **kwargs)
        except OneLoginError:  # the token could not be had: already explained
            raise
        except HttpError as exc:
            raise self._error(exc, what, at=self.legacy_url if self.legacy else "") from None

    def _json(self, response: requests.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise self._fail(what, f"the answer is not JSON: {response.text[:200]!r}", response,
                             hint=HINTS[404]) from None

    # -- API v2 -----------------------------------------------------------------------------------
    def _page(self, number: int, cursor: str | None) -> tuple[list[dict], requests.Response]:
        what = f"users page {number}"
        params = {"limit": self.settings.page_size, **({"cursor": cursor} if cursor else {})}
        response = self._get(USERS, what, params=params)
        users = self._json(response, what)
        if not isinstance(users, list):
            raise self._fail(what, f"expected a JSON array of users, got {response.text[:200]!r}", response)
        return users, response

    def _v2_records(self) -> Iterator[dict]:
        seen: set[Any] = set()
        cursor: str | None = None
        number = count = 0
        while True:
            number += 1
            users, response = self._page(number, cursor)
            if number == 1:
                self.log.info("OneLogin: %s users at %s", response.headers.get("Total-Count", "?"), self.origin)
            for user in users:
                if not isinstance(user, dict):
                    self.report(f"users page {number}: a user that is not an object ({str(user)[:80]!r}); skipped")
                    continue
                if user.get("id") is not None and user["id"] in seen:
                    continue
                seen.add(user.get("id"))
                count += 1
                yield self._shaped(user, user.get("custom_attributes"))
            following = response.headers.get("After-Cursor")
            if not following or not users:
                break
            if following == cursor:
                raise self._fail(f"users page {number}", "the After-Cursor repeats the one sent; stopped", response)
            cursor = following
        self.log.info("OneLogin: %d users read in %d pages", count, number)

    def _shaped(self, user: dict, custom: Any, prefix: str = "") -> dict:
        """The user as the original's mappings read it: ``role_id`` (v1's name), and the custom attributes
        that mapping sources name without their prefix."""
        if "role_ids" in user and "role_id" not in user:
            user["role_id"] = user["role_ids"]
        for name in self._bare_names:
            if name in user:
                continue
            if prefix:
                if prefix + name in user:
                    user[name] = user[prefix + name]
            elif isinstance(custom, dict) and name in custom:
                user[name] = custom[name]
        return user

    @property
    def _bare_names(self) -> list[str]:
        """Mapping sources that are a plain name (no dot): candidates for a custom attribute."""
        return sorted(p for p in self.needs.paths if p and "." not in p)

    # -- the deprecated XML API ---------------------------------------------------------------------
    def _legacy_page(self, number: int) -> list[dict]:
        what = f"XML users page {number}"
        response = self._get(self.legacy_url, what, params={"include_custom_attributes": "true", "page": number})
        try:
            return users_from_xml(response.content)
        except (ElementTree.ParseError, ValueError) as exc:
            raise self._fail(what, f"not the users XML ({exc}): {response.text[:200]!r}", response,
                             hint=LEGACY_HINTS[404], at=self.legacy_url) from None

    def _legacy_records(self) -> Iterator[dict]:
        seen: set[Any] = set()
        number = count = 0
        while True:
            number += 1
            users = self._legacy_page(number)
            fresh = [u for u in users if u.get("id") is None or u["id"] not in seen]
            if not fresh:  # an empty page, or the server ignoring ``page``: the end
                break
            seen.update(u.get("id") for u in fresh)
            count += len(fresh)
            for user in fresh:
                yield self._shaped(user, None, prefix="custom_attribute_")
        self.log.info("OneLogin (XML API): %d users read in %d pages", count, number)

    # -- SourceHook ---------------------------------------------------------------------------------
    def records(self) -> Iterator[dict]:
        return self._legacy_records() if self.legacy else self._v2_records()

    def check(self) -> str:
        if self.legacy:
            users = self._legacy_page(1)
            return (f"Connected to OneLogin at {self.legacy_url} with the deprecated API key: {len(users)} users on "
                    "the first page; create an API credential (client_id, client_secret) to use the current API")
        response = self._get(USERS, "users", params={"limit": 1})
        users = self._json(response, "users")
        total = response.headers.get("Total-Count", str(len(users) if isinstance(users, list) else "?"))
        return f"Connected to OneLogin at {self.origin} (API v2, client credentials): {total} users"

    def record_by_id(self, record_id: str) -> dict | None:
        """A user by its OneLogin id, shaped as in ``records()``; None if unknown."""
        if self.legacy:
            raise NotImplementedError(f"{self.where} OneLogin's deprecated XML API is read whole; set client_id and "
                                      "client_secret to fetch single users")
        ident = str(record_id).strip()
        if not ident.isdigit():
            return None
        what = f"user {ident}"
        response = self._get(f"{USERS}/{ident}", what, ok_statuses=(404,))
        if response.status_code == 404:
            return None
        user = self._json(response, what)
        return self._shaped(user, user.get("custom_attributes")) if isinstance(user, dict) else None


def _error_name(response: requests.Response) -> str:
    """OneLogin's error ``name`` (``UnauthorizedError``...) of a v2 error body, if any."""
    try:
        body = response.json()
    except ValueError:
        return ""
    name = body.get("name") if isinstance(body, dict) else None
    return str(name)[:80] if name else ""


def budget_hint(response: requests.Response) -> str:
    """What a 429 means: the account's hourly call budget, shared by every integration, and when it returns."""
    limit, reset = response.headers.get(LIMIT), response.headers.get(RESET)
    text = "the OneLogin account's API call budget"
    text += f" ({limit} calls per hour)" if limit else ""
    text += " is used up (every integration of the account shares it)"
    return text + (f"; it resets in {reset} s" if reset else "")


def users_from_xml(content: bytes) -> list[dict]:
    """The ``<user>`` elements of the XML API's ``<users>`` as dicts: element name -> text, ``nil="true"``
    -> None (as the original's ``@nil`` rule), an empty element -> None, nested elements -> their text."""
    root = ElementTree.fromstring(content)
    if root.tag != "users":
        raise ValueError(f"expected <users>, got <{root.tag}>")
    users = []
    for element in root.findall("user"):
        user: dict[str, Any] = {}
        for field in element:
            if field.get("nil") == "true":
                user[field.tag] = None
            else:
                text = "".join(field.itertext()).strip()
                user[field.tag] = text or None
        users.append(user)
    return users
