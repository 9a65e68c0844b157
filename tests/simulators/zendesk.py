"""Loopback simulator of the Zendesk Support API (users and organizations).

Run ``python -m tests.simulators.zendesk --port 0 --users 50000`` (prints its URL first), or in
tests ``SimulatorThread(build_app(ZendeskState(users=300))).start()``.

Endpoints (each with and without ``.json``, as Zendesk answers both):

* ``GET /api/v2/users`` — list users (deleted users left out, suspended ones included),
  filters ``role`` / ``role[]`` (``end-user``, ``agent``, ``admin``) and ``external_id``.

  - **Cursor pagination** when ``page[size]`` is given (1..100; larger is a 400
    ``InvalidPaginationParameter``): ``{"users", "meta": {"has_more", "after_cursor",
    "before_cursor"}, "links": {"next", "prev"}}``; follow ``links.next`` (``page[after]``) until
    ``meta.has_more`` is false; ``page[before]`` walks backwards; a bad cursor is a 400.
  - **Offset pagination** otherwise: ``page`` (1-based), ``per_page`` (default 100, larger values
    clamped to 100) → ``{"users", "next_page", "previous_page", "count"}`` with absolute
    ``next_page`` URLs. Past the first 10 000 records (``page * per_page``) the answer is a **400
    ``InvalidPaginationDepth``** — the limit the original connector's offset loop runs into.
* ``GET /api/v2/users/{id}`` — one user (a deleted one shows ``active: false``).
* ``GET /api/v2/users/me`` — the caller; **200 "Anonymous user" without credentials or with a
  wrong password** (as the real service answers), 401 for a wrong API token.
* ``GET /api/v2/organizations`` (same two paginations), ``GET /api/v2/organizations/{id}``.

Auth: ``Authorization: Basic base64("{email}/token:{api_token}")`` for an agent or admin e-mail,
or ``Authorization: Bearer {oauth_token}``. Password Basic auth is refused (Zendesk deprecated it)
unless ``password_auth`` is set in the config. Failures: 401 ``{"error": "Couldn't authenticate
you"}``; an end-user's credentials get 403 ``{"error": {"title": "Forbidden", "message": ...}}``;
unknown paths 404 ``{"error": "InvalidEndpoint", "description": "Not found"}``.

Rate limit (per account and minute, ``rate_limit_per_minute`` in the config, window
``rate_window_s`` so tests can shorten the minute): every authenticated answer carries
``X-Rate-Limit`` / ``X-Rate-Limit-Remaining``; list endpoints also ``ratelimit-limit`` /
``ratelimit-remaining`` / ``ratelimit-reset`` (seconds). Over the limit: **429** with
``Retry-After`` (whole seconds) and the plain-text body ``Number of allowed API requests per
minute exceeded``.

Vendor-specific settings live in :class:`ZendeskConfig`, readable/settable at ``/_sim/config``.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import bisect
import json
import math
import struct
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Callable
from urllib.parse import quote

from aiohttp import web

from .base import SimState, Settings, add_config_routes, decode_basic, json_response, main, make_app, state_of
from .zendesk_data import ROLES, UserDirectory

DEFAULT_EMAIL = "api.admin@example.com"
DEFAULT_TOKEN = "SimZendeskApiToken0000000000000000000000"
DEFAULT_OAUTH_TOKEN = "sim-oauth-access-token-0001"
DEFAULT_PASSWORD = "Sim-Passw0rd!"
AGENT_EMAIL = "api.agent@example.com"      # an agent: may list users too
END_USER_EMAIL = "customer@example.com"    # an end-user: valid credentials, 403 on the lists
MAX_PAGE_SIZE = 100

AUTH_FAILED = {"error": "Couldn't authenticate you"}
FORBIDDEN = {"error": {"title": "Forbidden", "message": "You do not have access to this page. Please contact "
                       "the account owner of this help desk for further help."}}
NOT_FOUND = {"error": "InvalidEndpoint", "description": "Not found"}
RECORD_NOT_FOUND = {"error": "RecordNotFound", "description": "Not found"}
RATE_LIMIT_TEXT = "Number of allowed API requests per minute exceeded"
PAGINATION_DEPTH = {"errors": [{
    "code": "InvalidPaginationDepth",
    "title": "Pagination requests using Offset Pagination are limited to page 100 or up to 10000 records "
             "(page * per_page)",
    "detail": "There are limits to the page depth in Offset Pagination. Offset Pagination will be deprecated "
              "fully in the near future.\nPlease switch to Cursor Pagination at the earliest. Cursor Pagination "
              "does not have any limits.\nSee https://developer.zendesk.com/documentation/api-basics/pagination/"
              "comparing-cursor-pagination-and-offset-pagination\n"}]}
ANONYMOUS = {"id": None, "url": None, "name": "Anonymous user", "email": "invalid@example.com",
             "created_at": None, "updated_at": None, "time_zone": "Pacific Time (US & Canada)",
             "iana_time_zone": "America/Los_Angeles", "phone": None, "photo": None, "locale_id": 1,
             "locale": "en-US", "organization_id": None, "role": "end-user", "verified": False,
             "authenticity_token": "sim-anonymous", "active": True, "suspended": False}


def pagination_error(title: str) -> web.Response:
    return json_response({"errors": [{"code": "InvalidPaginationParameter", "title": title}]}, status=400)


@dataclass
class ZendeskConfig(Settings):
    """Vendor-specific run-time settings (``GET/POST /_sim/config``)."""

    rate_limit_per_minute: int = 700   # Enterprise plan; 0 = no account limit
    rate_window_s: float = 60.0        # length of the rate-limit "minute" (shorten in tests)
    offset_record_limit: int = 10000   # offset pagination refuses page * per_page beyond this
    password_auth: bool = False        # Zendesk deprecated password access to the API
    # Quirk seen by zenpy: ``has_more`` stays true on a full last page and the next page is empty.
    has_more_when_full: bool = False
    clock_offset_s: float = 0.0        # added to the rate-limit clock: lets a test end the "minute"


@dataclass
class ApiAccount:
    """A Zendesk account member whose credentials the simulator accepts."""

    email: str
    role: str
    user_id: int
    name: str
    password: str = DEFAULT_PASSWORD


class ZendeskState(SimState):
    def __init__(self, users: int = 300, seed: int = 1, now: float | None = None, organizations: int = 12,
                 email: str = DEFAULT_EMAIL, api_token: str = DEFAULT_TOKEN,
                 oauth_token: str = DEFAULT_OAUTH_TOKEN, config: ZendeskConfig | None = None) -> None:
        super().__init__(config or ZendeskConfig())
        self.directory = UserDirectory(users, seed, now if now is not None else time.time(), organizations)
        self.accounts = {a.email.lower(): a for a in (
            ApiAccount(email, "admin", 360_000_000_001, "API Admin"),
            ApiAccount(AGENT_EMAIL, "agent", 360_000_000_002, "API Agent"),
            ApiAccount(END_USER_EMAIL, "end-user", 360_000_000_003, "Carla Customer"))}
        self.api_tokens = {api_token}
        self.oauth_tokens = {oauth_token: email.lower()}
        self._listed = self.directory.listed()
        self._ids_cache: dict[tuple, list[int]] = {}
        self._rl_start = self.clock()
        self._rl_used = 0

    def clock(self) -> float:
        return time.monotonic() + self.config.clock_offset_s

    def reset(self) -> None:
        super().reset()
        self._rl_start, self._rl_used = self.clock(), 0

    # ---- faults answered the Zendesk way ------------------------------------------------
    def failure_response(self, status: int, request: web.Request) -> web.Response:
        if status == 401:
            return json_response(AUTH_FAILED, status=401)
        if status == 403:
            return json_response(FORBIDDEN, status=403)
        if status == 404:
            return json_response(NOT_FOUND, status=404)
        if status == 429:
            return _too_many(1, {})
        return json_response({"status": status, "error": _reason(status)}, status=status)

    def rate_limited_response(self, reset_in: float, request: web.Request) -> web.Response:
        wait = self.knobs.retry_after_s if self.knobs.retry_after_s is not None else reset_in
        return _too_many(max(1, math.ceil(wait)), {})

    # ---- auth --------------------------------------------------------------------------
    def authenticate(self, request: web.Request) -> ApiAccount | str:
        """The caller's account, or why not: ``"none"`` (no credentials), ``"password"``
        (a wrong or refused password) or ``"bad"`` (wrong token / malformed)."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        scheme = scheme.lower()
        if not scheme:
            return "none"
        if scheme == "bearer":
            email = self.oauth_tokens.get(value.strip())
            return self.accounts[email] if email in self.accounts else "bad"
        if scheme != "basic":
            return "bad"
        creds = decode_basic(value)
        if creds is None:
            return "bad"
        login, secret = creds
        if login.endswith("/token"):
            account = self.accounts.get(login[: -len("/token")].lower())
            return account if account is not None and secret in self.api_tokens else "bad"
        account = self.accounts.get(login.lower())
        if account is not None and self.config.password_auth and secret == account.password:
            return account
        return "password"

    def take_rate_slot(self) -> tuple[bool, dict[str, str], dict[str, str]]:
        """Count one authenticated request: ``(over the limit, account headers, list headers)``."""
        limit = self.config.rate_limit_per_minute
        if limit <= 0:
            return False, {}, {}
        now = self.clock()
        if now - self._rl_start >= self.config.rate_window_s:
            self._rl_start, self._rl_used = now, 0
        self._rl_used += 1
        remaining = max(0, limit - self._rl_used)
        reset = max(1, math.ceil(self.config.rate_window_s - (now - self._rl_start)))
        account = {"X-Rate-Limit": str(limit), "X-Rate-Limit-Remaining": str(remaining)}
        listing = {"ratelimit-limit": str(limit), "ratelimit-remaining": str(remaining), "ratelimit-reset": str(reset)}
        if self._rl_used > limit:
            self.stats.rate_limited += 1
            return True, {**account, **listing, "Retry-After": str(reset)}, {}
        return False, account, listing

    def listed_ids(self, roles: tuple[str, ...], external_id: str | None) -> list[int]:
        """Ids the users list shows for these filters, in id order (cached: filters are few)."""
        key = (roles, external_id)
        if key not in self._ids_cache:
            d = self.directory
            indexes = self._listed
            if roles:
                wanted = {ROLES.index(r) for r in roles if r in ROLES}
                indexes = [i for i in indexes if d.roles[i] in wanted]
            if external_id is not None:
                indexes = [i for i in indexes if d.user(i, "")["external_id"] == external_id]
            self._ids_cache[key] = [d.ids[i] for i in indexes]
        return self._ids_cache[key]

    # ---- me ----------------------------------------------------------------------------
    def me(self, account: ApiAccount, base_url: str) -> dict:
        return {"id": account.user_id, "url": f"{base_url}/api/v2/users/{account.user_id}.json",
                "name": account.name, "email": account.email, "role": account.role, "active": True,
                "suspended": False, "verified": True, "organization_id": None, "locale": "en-US",
                "time_zone": "UTC", "iana_time_zone": "Etc/UTC"}


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _too_many(retry_after: int, headers: dict[str, str]) -> web.Response:
    return web.Response(text=RATE_LIMIT_TEXT, status=429, content_type="text/plain",
                        headers={**headers, "Retry-After": str(retry_after)})


_ACCOUNT_KEY = web.RequestKey("zendesk_account", ApiAccount)
_LIST_HEADERS_KEY = web.RequestKey("zendesk_list_headers", dict)


@web.middleware
async def _api_middleware(request: web.Request, handler):
    """Auth and the account rate limit for everything under ``/api/``."""
    state: ZendeskState = state_of(request)
    if not request.path.startswith("/api/"):
        return await handler(request)
    who = state.authenticate(request)
    is_me = request.path.rstrip("/") in ("/api/v2/users/me", "/api/v2/users/me.json")
    if isinstance(who, str):
        if is_me and who in ("none", "password"):
            return json_response({"user": ANONYMOUS})
        return json_response(AUTH_FAILED, status=401)
    over, headers, list_headers = state.take_rate_slot()
    if over:
        return _too_many(int(headers.pop("Retry-After")), headers)
    if who.role == "end-user" and not is_me:
        resp = json_response(FORBIDDEN, status=403)
    else:
        request[_ACCOUNT_KEY] = who
        request[_LIST_HEADERS_KEY] = list_headers
        resp = await handler(request)
    resp.headers.update(headers)
    return resp


# ---- paging ------------------------------------------------------------------------------

def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def encode_cursor(record_id: int) -> str:
    """Opaque cursor shaped like Zendesk's: base64 of ``{"o":"id","v":<base64 of the id>}``."""
    inner = base64.b64encode(struct.pack("<q", record_id)).decode().rstrip("=")
    return base64.b64encode(json.dumps({"o": "id", "v": inner}, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str) -> int | None:
    try:
        data = json.loads(base64.b64decode(cursor, validate=True))
        inner = data["v"] + "=" * (-len(data["v"]) % 4)
        if data.get("o") != "id":
            return None
        return struct.unpack("<q", base64.b64decode(inner, validate=True))[0]
    except (binascii.Error, ValueError, KeyError, TypeError, struct.error):
        return None


def _query_without(request: web.Request, *drop: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.query.items() if k not in drop]


def _url(request: web.Request, params: list[tuple[str, str]]) -> str:
    query = "&".join(f"{quote(k, safe='')}={quote(str(v), safe='')}" for k, v in params)
    return f"{_base_url(request)}{request.path}" + (f"?{query}" if query else "")


def _paged(request: web.Request, key: str, ids: list[int], render: Callable[[int], dict]) -> web.Response:
    """Answer a list endpoint over ``ids`` (sorted record ids) with either pagination style."""
    state: ZendeskState = state_of(request)
    headers = request.get(_LIST_HEADERS_KEY, {})
    q = request.query
    cursor_keys = [k for k in q if k.startswith("page[")]
    if cursor_keys:
        try:
            size = int(q.get("page[size]", str(MAX_PAGE_SIZE)))
        except ValueError:
            return pagination_error("page[size] is not valid")
        if not 1 <= size <= MAX_PAGE_SIZE:
            return pagination_error("page[size] is not valid")
        if "page[after]" in q:
            after = decode_cursor(q["page[after]"])
            if after is None:
                return pagination_error("page[after] is not valid")
            start = bisect.bisect_right(ids, after)
            chunk = ids[start:start + size]
            more = start + size < len(ids)
        elif "page[before]" in q:
            before = decode_cursor(q["page[before]"])
            if before is None:
                return pagination_error("page[before] is not valid")
            end = bisect.bisect_left(ids, before)
            chunk = ids[max(0, end - size):end]
            more = end - size > 0
        else:
            chunk, more = ids[:size], size < len(ids)
        if state.config.has_more_when_full and len(chunk) == size:
            more = True
        rest = _query_without(request, "page[after]", "page[before]", "page[size]")
        after_c = encode_cursor(chunk[-1]) if chunk else None
        before_c = encode_cursor(chunk[0]) if chunk else None
        body = {key: [render(i) for i in chunk],
                "meta": {"has_more": more, "after_cursor": after_c, "before_cursor": before_c},
                "links": {"next": _url(request, [("page[after]", after_c), ("page[size]", str(size))] + rest)
                          if after_c else None,
                          "prev": _url(request, [("page[before]", before_c), ("page[size]", str(size))] + rest)
                          if before_c else None}}
        return json_response(body, headers=headers)
    try:
        page = int(q.get("page", "1"))
        per_page = int(q.get("per_page", str(MAX_PAGE_SIZE)))
    except ValueError:
        return json_response({"error": "InvalidValue", "description": "page and per_page must be integers"},
                             status=400)
    page, per_page = max(1, page), max(1, min(per_page, MAX_PAGE_SIZE))
    if page * per_page > state.config.offset_record_limit:
        return json_response(PAGINATION_DEPTH, status=400, headers=headers)
    start = (page - 1) * per_page
    chunk = ids[start:start + per_page]
    rest = _query_without(request, "page")

    def page_url(n: int) -> str:
        return _url(request, [("page", str(n))] + rest)

    body = {key: [render(i) for i in chunk],
            "next_page": page_url(page + 1) if start + per_page < len(ids) else None,
            "previous_page": page_url(page - 1) if page > 1 else None,
            "count": len(ids)}
    return json_response(body, headers=headers)


# ---- handlers ----------------------------------------------------------------------------

async def list_users(request: web.Request) -> web.Response:
    state: ZendeskState = state_of(request)
    d = state.directory
    roles = tuple(sorted(set(request.query.getall("role[]", []) + request.query.getall("role", []))))
    ids = state.listed_ids(roles, request.query.get("external_id"))
    base = _base_url(request)
    return _paged(request, "users", ids, lambda uid: d.user(d.index_of(uid), base))


async def show_user(request: web.Request) -> web.Response:
    state: ZendeskState = state_of(request)
    raw = request.match_info["id"]
    if raw in ("me", "me.json"):
        return json_response({"user": state.me(request[_ACCOUNT_KEY], _base_url(request))})
    try:
        i = state.directory.index_of(int(raw.removesuffix(".json")))
    except ValueError:
        return json_response(RECORD_NOT_FOUND, status=404)
    if i is None:
        return json_response(RECORD_NOT_FOUND, status=404)
    return json_response({"user": state.directory.user(i, _base_url(request))})


async def list_organizations(request: web.Request) -> web.Response:
    state: ZendeskState = state_of(request)
    d = state.directory
    order = sorted(range(len(d.org_ids)), key=lambda k: d.org_ids[k])
    index = {d.org_ids[k]: k for k in order}
    base = _base_url(request)
    return _paged(request, "organizations", [d.org_ids[k] for k in order],
                  lambda oid: d.organization(index[oid], base))


async def show_organization(request: web.Request) -> web.Response:
    state: ZendeskState = state_of(request)
    d = state.directory
    try:
        oid = int(request.match_info["id"].removesuffix(".json"))
    except ValueError:
        return json_response(RECORD_NOT_FOUND, status=404)
    if oid not in d.org_ids:
        return json_response(RECORD_NOT_FOUND, status=404)
    return json_response({"organization": d.organization(d.org_ids.index(oid), _base_url(request))})


async def not_found(request: web.Request) -> web.Response:
    return json_response(NOT_FOUND, status=404)


def build_app(state: ZendeskState) -> web.Application:
    app = make_app(state)
    app.middlewares.append(_api_middleware)
    add_config_routes(app, lambda s: {"users": s.directory.n, "listed_users": len(s._listed),
                                      "organizations": len(s.directory.org_ids), "rate_used": s._rl_used})
    for suffix in ("", ".json"):
        app.router.add_get("/api/v2/users" + suffix, list_users)
        app.router.add_get("/api/v2/organizations" + suffix, list_organizations)
    app.router.add_get("/api/v2/users/{id}", show_user)
    app.router.add_get("/api/v2/organizations/{id}", show_organization)
    app.router.add_route("*", "/api/{tail:.*}", not_found)
    return app


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--users", type=int, default=300)
    p.add_argument("--organizations", type=int, default=12)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--email", default=DEFAULT_EMAIL, help="admin e-mail for {email}/token auth")
    p.add_argument("--api-token", default=DEFAULT_TOKEN)
    p.add_argument("--oauth-token", default=DEFAULT_OAUTH_TOKEN)
    p.add_argument("--rate-limit-per-minute", type=int, default=700, help="account limit, 0 = off")


def _from_args(args: argparse.Namespace) -> web.Application:
    return build_app(ZendeskState(
        users=args.users, seed=args.seed, organizations=args.organizations, email=args.email,
        api_token=args.api_token, oauth_token=args.oauth_token,
        config=ZendeskConfig(rate_limit_per_minute=args.rate_limit_per_minute)))


if __name__ == "__main__":
    main(_from_args, "Zendesk Support API simulator (users, organizations)", _add_arguments)
