"""Zendesk Support users (the ``zendesk`` source).

Records are the user objects of ``GET /api/v2/users.json``, unchanged, as the original
connector passed them on; with ``load_organizations`` each also gets ``organization``: the
object of its ``organization_id`` from ``GET /api/v2/organizations.json``, or ``{}``.

Authentication: an API token, ``Authorization: Basic base64("<username>/token:<api_token>")``,
or an OAuth access token, ``Authorization: Bearer <oauth_token>`` (Zendesk retires API tokens
on 30 April 2027). There is no token to renew: a 401 or 403 fails at once.

Paging: cursor pagination, ``page[size]=100`` (the maximum), then ``links.next`` while
``meta.has_more``; its path and query are followed on the configured URL, so credentials go
to no other host. Offset pagination (``page``/``per_page``, what the original used) is refused
by Zendesk past 10,000 records.

Rate limits: a 429 is retried after its ``Retry-After`` (its body is plain text); list answers
carry ``ratelimit-limit`` / ``-remaining`` / ``-reset`` (seconds), and when at most a tenth of
the budget is left the calls are spread over the time until the reset (``RateBudget``).

Airflow's own ``ZendeskHook`` (``apache-airflow-providers-zendesk``, on zenpy) is not used:
see docs/sources/zendesk.md.

Connection (type ``zendesk``): host = the Zendesk URL (or just the subdomain), login = the
agent's e-mail, password = the API token; the form's OAuth token field instead of both.
"""
from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import urlsplit

import requests

from airflow_provider_oomnitza.hooks.base import TLS_FIELDS, SourceHook
from airflow_provider_oomnitza.hooks.errors import SourceConfigError
from airflow_provider_oomnitza.hooks.http_client import (
    HttpError, RateBudget, RetryingClient, json_of, reset_in_seconds,
)
from airflow_provider_oomnitza.masking import mask
from airflow_provider_oomnitza.sources.zendesk import ZendeskSettings, zendesk_url

USERS = "api/v2/users.json"
ORGANIZATIONS = "api/v2/organizations.json"
PAGE_SIZE = 100  # Zendesk's maximum page[size]
ORGANIZATION = "organization"

TOKEN_HINT = ("check username (the e-mail of an agent or admin; the hook adds /token itself) and api_token "
              "(Admin Center > Apps and integrations > APIs; token access must be on)")
OAUTH_HINT = "check oauth_token (it may have expired or been revoked)"
FORBIDDEN_HINT = ("the credentials are valid but may not list users: use an agent or admin's e-mail (end-users "
                  "get 403), or an OAuth token with the read or users:read scope")


class ZendeskError(HttpError):
    """A Zendesk call failed; the message names the section, the call, Zendesk's error and a hint."""


def zendesk_error(response: requests.Response | None) -> str:
    """Zendesk's explanation in an error answer: ``{"error": "..."}``, ``{"error": {"title", "message"}}``,
    ``{"error", "description"}``, ``{"errors": [{"code", "title"}]}``, or plain text (a 429)."""
    if response is None:
        return ""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300].strip()
    if not isinstance(body, dict):
        return str(body)[:300]
    error = body.get("error")
    if isinstance(error, dict):
        text = ": ".join(str(error[k]) for k in ("title", "message") if error.get(k))
    elif error:
        text = str(error) + (f": {body['description']}" if body.get("description") else "")
    elif isinstance(body.get("errors"), list):
        text = "; ".join(": ".join(str(e[k]) for k in ("code", "title") if e.get(k)) if isinstance(e, dict)
                         else str(e) for e in body["errors"])
    else:
        text = body.get("description") or str(body)
    return str(text)[:300]


class ZendeskHook(SourceHook):
    """Users from Zendesk Support (see the module docstring)."""

    conn_name_attr = "zendesk_conn_id"
    default_conn_name = "zendesk_default"
    conn_type = "zendesk"
    hook_name = "Zendesk"
    settings_model = ZendeskSettings
    connection_fields = {"host": "url", "login": "username", "password": "api_token"}
    extra_fields = ("oauth_token", *TLS_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget: RateBudget | None = None

    def values_from_connection(self, conn_id: str) -> dict[str, Any]:
        """As every hook; a host that is a bare word (``acme``) is the subdomain."""
        values = super().values_from_connection(conn_id)
        host = (self.get_connection(conn_id).host or "").strip()
        if host and "." not in host and "://" not in host and host != "localhost":
            values.pop("url", None)
            values["system_name"] = host
        return values

    @property
    def url(self) -> str:
        return zendesk_url(self.settings)

    @property
    def oauth(self) -> bool:
        return bool(self.settings.oauth_token.get_secret_value())

    @property
    def client(self) -> RetryingClient:
        return self.get_conn()

    def connect(self) -> RetryingClient:
        s = self.settings
        headers = {"Accept": "application/json"}
        auth: Any = None
        if self.oauth:
            token = s.oauth_token.get_secret_value()
            mask(token)
            headers["Authorization"] = f"Bearer {token}"
        elif s.username and s.api_token.get_secret_value():
            mask(s.api_token.get_secret_value())
            auth = (f"{s.username.strip().removesuffix('/token')}/token", s.api_token.get_secret_value())
        else:
            raise SourceConfigError(f"{self.where} username, api_token: missing; Zendesk needs an agent's e-mail and "
                                    "an API token, or oauth_token")
        self.budget = RateBudget(limit="ratelimit-limit", remaining="ratelimit-remaining",
                                 reset=reset_in_seconds("ratelimit-reset"), log=self.log, name="Zendesk")
        return RetryingClient(self.url, name="Zendesk", headers=headers, auth=auth, budget=self.budget,
                              **self.client_options())

    # -- calls ------------------------------------------------------------------------------------
    def _fail(self, what: str, text: str, response: requests.Response | None = None, hint: str = "") -> ZendeskError:
        where = f"[{self.section}] " if self.section else ""
        message = f"{where}Zendesk {what} at {self.url}: {text}" + (f"; {hint}" if hint else "")
        return ZendeskError(message, response.status_code if response is not None else None, response)

    def _get(self, path: str, what: str, **kwargs: Any) -> requests.Response:
        try:
            return self.client.request("GET", path, **kwargs)
        except HttpError as exc:
            if exc.status is None or exc.response is None:
                raise self._fail(what, str(exc)) from None
            reason = exc.response.reason or ""
            detail = zendesk_error(exc.response).rstrip(".")
            detail = detail.removeprefix(f"{reason}: ") if reason else detail  # {"error": {"title": "Forbidden"...
            text = f"{exc.status} {reason}: {detail}"
            if "gave up after" in str(exc):
                text = f"gave up after {self.max_attempts} attempts: {text}"
            hint = {401: OAUTH_HINT if self.oauth else TOKEN_HINT, 403: FORBIDDEN_HINT}.get(exc.status, "")
            raise self._fail(what, text, exc.response, hint) from None

    def _json(self, path: str, what: str, **kwargs: Any) -> dict:
        response = self._get(path, what, **kwargs)
        body = json_of(response)
        if body is None:
            raise self._fail(what, f"expected a JSON object, got {response.text[:200]!r} (is {self.url} "
                                   "the Zendesk URL?)", response)
        return body

    def _next(self, link: str) -> str:
        """``links.next`` on the configured URL: its path and (percent-encoded, opaque) query, as given."""
        parts = urlsplit(link)
        path, prefix = parts.path, urlsplit(self.url).path.rstrip("/")
        if prefix and path.startswith(prefix + "/"):  # a proxy's prefix, already in the link
            path = path[len(prefix):]
        return self.url + path + (f"?{parts.query}" if parts.query else "")

    def pages(self, path: str, key: str, what: str, params: dict | None = None) -> Iterator[list]:
        """The ``key`` lists of a cursor-paged listing, page by page, while ``meta.has_more``."""
        url: str = path
        query: Any = {"page[size]": PAGE_SIZE, **(params or {})}
        page = 1
        while True:
            call = f"{what}, page {page}"
            body = self._json(url, call, params=query)
            items = body.get(key)
            if not isinstance(items, list):
                raise self._fail(call, f"expected an object with a {key} list, got keys {sorted(body)}")
            yield items
            meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
            if not meta.get("has_more"):
                return
            link = (body.get("links") or {}).get("next") if isinstance(body.get("links"), dict) else None
            if not link:
                raise self._fail(call, "meta.has_more is true but links.next is missing; the listing is incomplete")
            url, query, page = self._next(link), None, page + 1

    # -- organizations ------------------------------------------------------------------------------
    def wants_organizations(self) -> bool:
        """``load_organizations``, or a mapping that reads ``organization`` (the original loaded them for
        any non-empty value, the generated ``false`` included, so such configs keep working)."""
        if self.settings.load_organizations:
            return True
        if self.needs.names(ORGANIZATION):
            self.log.warning("%s load_organizations is false but a mapping reads organization: loading them "
                             "(the original connector did for any value but an empty one); set "
                             "load_organizations = true to say so", self.where)
            return True
        return False

    def organizations(self) -> dict[Any, dict]:
        """Every organization by id."""
        by_id: dict[Any, dict] = {}
        for page in self.pages(ORGANIZATIONS, "organizations", "list organizations"):
            by_id.update((org["id"], org) for org in page if isinstance(org, dict) and "id" in org)
        self.log.info("Zendesk: %d organizations", len(by_id))
        return by_id

    def _organization(self, organization_id: Any) -> dict:
        if organization_id is None:
            return {}
        response = self._get(f"api/v2/organizations/{organization_id}.json", f"organization {organization_id}",
                             ok_statuses=(404,))
        if response.status_code == 404:
            return {}
        body = response.json()
        org = body.get(ORGANIZATION) if isinstance(body, dict) else None
        return org if isinstance(org, dict) else {}

    # -- SourceHook -----------------------------------------------------------------------------------
    def _role_params(self) -> dict:
        return {"role[]": list(self.settings.roles)} if self.settings.roles else {}

    def records(self) -> Iterator[dict]:
        orgs = self.organizations() if self.wants_organizations() else None
        seen: set[Any] = set()
        for page in self.pages(USERS, "users", "list users", self._role_params()):
            for user in page:
                if not isinstance(user, dict):
                    self.report(f"Zendesk users: an entry that is not an object ({str(user)[:80]!r}); skipped")
                    continue
                ident = user.get("id")
                if ident is not None:
                    if ident in seen:
                        continue
                    seen.add(ident)
                if orgs is not None:
                    user[ORGANIZATION] = orgs.get(user.get("organization_id"), {})
                yield user
        self.log.info("Zendesk: %d users from %s", len(seen), self.url)

    def check(self) -> str:
        """One page of one user: a list call, because ``users/me`` answers 200 "Anonymous user" to bad passwords."""
        response = self._get(USERS, "list users", params={"page[size]": 1, **self._role_params()})
        limit = response.headers.get("X-Rate-Limit")
        return (f"Connected to Zendesk at {self.url} ({'OAuth token' if self.oauth else 'API token'}): users can be "
                f"listed" + (f"; account limit {limit} requests a minute" if limit else ""))

    def record_by_id(self, record_id: str) -> dict | None:
        """One user by id, shaped as in ``records()``; None if unknown."""
        ident = str(record_id).strip()
        response = self._get(f"api/v2/users/{ident}.json", f"user {ident}", ok_statuses=(404,))
        if response.status_code == 404:
            return None
        body = response.json()
        user = body.get("user") if isinstance(body, dict) else None
        if not isinstance(user, dict):
            raise self._fail(f"user {ident}", f"expected an object with a user, got {response.text[:200]!r}", response)
        if self.wants_organizations():
            user[ORGANIZATION] = self._organization(user.get("organization_id"))
        return user
