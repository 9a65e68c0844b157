"""Loopback simulator of the OneLogin API (OAuth2 tokens, users v2 and v1, the retired XML API).

Run ``python -m tests.simulators.onelogin --port 0 --users 50000`` (prints its URL first), or in
tests ``SimulatorThread(build_app(OneLoginState(users=300))).start()``.  The official ``onelogin``
SDK talks to it unchanged with ``onelogin.Configuration(host=<url>, username=<client id>,
password=<client secret>)``.

Endpoints:

* ``POST /auth/oauth2/v2/token`` — client credentials as HTTP Basic, as the legacy header
  ``Authorization: client_id:<id>, client_secret:<secret>`` or as ``client_id``/``client_secret``
  in a form body; body ``grant_type=client_credentials`` (JSON or form).  Answers the flat token
  ``{"access_token", "created_at", "expires_in", "refresh_token", "token_type": "bearer",
  "account_id"}``; the same token comes back until it expires (10 h), ``expires_in`` counting down.
  Errors are ``{"error": true, "code", "type", "message"}`` (400 bad grant, 401 bad client).
* ``POST /auth/oauth2/token`` — the v1 token call the original connector made (legacy header
  only); answers ``{"status": {...}, "data": [token]}`` and, as documented for v1, invalidates
  the client's earlier tokens.
* ``POST /auth/oauth2/revoke`` and ``GET /auth/rate_limit`` (the hourly budget as JSON).
* ``GET /api/2/users`` — ``Authorization: Bearer <token>`` (``bearer:<token>`` also accepted); a
  bare JSON array; ``limit`` (default 50, larger values clamped to 100), ``page`` (1-based) or
  ``cursor`` (the ``After-Cursor``/``Before-Cursor`` header value: base64 of
  ``limit=L&page=P``, so it carries its own limit); filters ``email``, ``username``,
  ``firstname``, ``lastname``, ``samaccountname``, ``external_id`` (``*`` wildcards),
  ``directory_id``, ``user_ids``, ``created_*``/``updated_*``/``last_login_since|until``,
  ``custom_attributes.<name>``; ``fields``; ``sort`` (``+field``/``-field``).  Paging headers
  ``Total-Count``, ``Total-Pages``, ``Current-Page``, ``Page-Items``, ``After-Cursor`` (absent on
  the last page), ``Before-Cursor`` (absent on the first) and ``Link``.  Unknown parameters:
  400 ``{"statusCode", "name": "BadRequestError", "message"}``; bad token: 401
  ``{"statusCode": 401, "name": "UnauthorizedError", "message": "Unauthorized"}``.
* ``GET /api/2/users/{id}`` — one user; 404 ``NotFoundError``.
* ``GET /api/1/users`` — ``Authorization: bearer:<token>``; ``{"status", "pagination":
  {"before_cursor", "after_cursor", "previous_link", "next_link"}, "data"}``; ``limit`` max 50,
  ``after_cursor``/``before_cursor``; errors in the ``status`` envelope.
* ``GET /api/v2/users.xml?page=N`` — the retired XML API behind the original's ``api_token``
  setting: Basic ``<api_token>:x``, ``<users type="array">`` of hyphenated fields with
  ``nil="true"`` for nulls and ``custom_attribute_<name>`` elements; an empty array past the end.

Rate limiting: an account-wide budget (default 5000 calls per hour, as OneLogin documents)
counted on ``/api/*`` calls.  Every resource response carries ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (**seconds until** the window resets, not an
epoch time); over budget the answer is 429 with the same headers and remaining 0.  OneLogin
documents no ``Retry-After``; ``retry_after_on_429`` adds one for experiments.

Vendor settings live in :class:`OneLoginConfig` (``GET/POST /_sim/config``), e.g.
``{"rate_limit": 5, "rate_window_s": 1}`` or ``{"clock_offset_s": 36001}`` to expire tokens.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import datetime as _dt
import fnmatch
import json
import math
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode
from xml.sax.saxutils import escape

from aiohttp import web

from .base import SimState, Settings, add_config_routes, colon_pairs, decode_basic, json_response, main, make_app, \
    state_of
from .onelogin_data import UserDirectory, as_v1, iso_millis, xml_fields

DEFAULT_CLIENT_ID = "0f3c9a7e5b2d4c61a8e9f0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1"
DEFAULT_CLIENT_SECRET = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"
DEFAULT_API_TOKEN = "3f1e5d7c9b2a4e6d8c0b1a3f5e7d9c2b4a6e8d0c"
ACCOUNT_ID = 184_263
NOW = 1_790_000_000.0

V2_FILTERS = {"email", "username", "firstname", "lastname", "samaccountname", "external_id"}
V2_IDS = {"directory_id"}
V2_TIMES = {"created_since": ("created_at", 1), "created_until": ("created_at", -1),
            "updated_since": ("updated_at", 1), "updated_until": ("updated_at", -1),
            "last_login_since": ("last_login", 1), "last_login_until": ("last_login", -1)}
V2_PARAMS = {"limit", "page", "cursor", "fields", "sort", "user_ids"} | V2_FILTERS | V2_IDS | set(V2_TIMES)
SORTABLE = {"id", "firstname", "lastname", "email", "username", "created_at", "updated_at", "last_login"}
V1_PARAMS = {"limit", "after_cursor", "before_cursor", "fields", "sort", "id", "since", "until",
             "email", "username", "firstname", "lastname", "samaccountname", "directory_id", "external_id"}

_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}
_V2_NAMES = {400: "BadRequestError", 401: "UnauthorizedError", 403: "ForbiddenError", 404: "NotFoundError",
             422: "UnprocessableEntityError", 429: "TooManyRequestsError", 500: "InternalServerError"}


@dataclass
class OneLoginConfig(Settings):
    """Vendor-specific run-time settings (``GET/POST /_sim/config``)."""

    token_ttl_s: float = 36000.0       # OneLogin access tokens live 10 hours
    rate_limit: int = 5000             # account-wide calls per window on /api/*; 0 = unlimited
    rate_window_s: float = 3600.0
    retry_after_on_429: bool = False   # OneLogin sends only X-RateLimit-*; True adds Retry-After
    default_limit: int = 50            # v2 page size without ``limit``
    max_limit: int = 100               # v2 ``limit`` is clamped to this
    v1_max_limit: int = 50             # v1 page size and ``limit`` maximum
    xml_page_size: int = 100
    clock_offset_s: float = 0.0        # added to the clock: expires tokens, ends rate windows
    # Faults of a live directory: each v2 page after the first also repeats the last ``page_overlap``
    # users of the page before (paging shifted by users added meanwhile), and every token
    # expires after the ``expire_tokens_after_pages``-th v2 page was served (0 = never).
    page_overlap: int = 0
    expire_tokens_after_pages: int = 0


# ---- error bodies ----------------------------------------------------------------------------

def v2_error(status: int, message: str, headers: dict | None = None, name: str | None = None,
             **extra) -> web.Response:
    """Resource API v2 error: ``{"statusCode", "name", "message"}`` (plus e.g. ``field``)."""
    body = {"statusCode": status, "name": name or _V2_NAMES.get(status, "Error"), "message": message, **extra}
    return json_response(body, status=status, headers=headers)


def v1_error(status: int, message: str, headers: dict | None = None, kind: str | None = None) -> web.Response:
    """v1 and token-call error: the ``status`` envelope."""
    kinds = {400: "bad request", 401: "Unauthorized", 404: "not found"}
    kind = kind or kinds.get(status, _REASONS.get(status, "error"))
    body = {"status": {"error": True, "code": status, "type": kind, "message": message}}
    return json_response(body, status=status, headers=headers)


def token_error(status: int, message: str) -> web.Response:
    """v2 token call error: the flat ``{"error", "code", "type", "message"}`` of the OpenAPI spec."""
    kind = {400: "bad request", 401: "Unauthorized", 404: "Not Found"}.get(status, _REASONS.get(status, "error"))
    return json_response({"error": True, "code": status, "type": kind, "message": message}, status=status)


def gateway_error(status: int) -> web.Response:
    """502/503/504 come from the load balancer in front of the API: HTML, not JSON."""
    title = f"{status} {_REASONS.get(status, 'Error')}"
    html = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n" \
           "</body>\r\n</html>\r\n"
    return web.Response(text=html, status=status, content_type="text/html")


def api_family(path: str) -> str:
    if path.startswith("/api/2/"):
        return "v2"
    if path.startswith("/auth/oauth2/v2/"):
        return "token"
    if path.startswith("/api/v2/users.xml"):
        return "xml"
    return "v1"


# ---- state -----------------------------------------------------------------------------------

class OneLoginState(SimState):
    def __init__(self, users: int = 300, seed: int = 1, now: float = NOW,
                 clients: dict[str, str] | None = None, api_token: str = DEFAULT_API_TOKEN,
                 config: OneLoginConfig | None = None) -> None:
        super().__init__(config or OneLoginConfig())
        self.users = UserDirectory(users, seed, now)
        self.clients = clients or {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
        self.api_token = api_token
        self.tokens: dict[str, tuple[str, float, float]] = {}   # token -> (client id, created, expires)
        self.tokens_issued = 0
        self.pages_served = 0
        self._budget_start: float | None = None
        self._budget_used = 0

    def now(self) -> float:
        return time.time() + self.config.clock_offset_s

    def reset(self) -> None:
        super().reset()
        self.tokens.clear()
        self.tokens_issued = 0
        self.pages_served = 0
        self._budget_start, self._budget_used = None, 0

    # -- tokens
    def issue_token(self, client_id: str, reuse: bool) -> tuple[str, float, float]:
        now = self.now()
        for token, (owner, created, expires) in list(self.tokens.items()):
            if owner != client_id:
                continue
            if reuse and expires > now:
                return token, created, expires
            del self.tokens[token]  # v1 invalidates the client's earlier tokens; v2 drops expired ones
        token, expires = secrets.token_hex(32), now + self.config.token_ttl_s
        self.tokens[token] = (client_id, now, expires)
        self.tokens_issued += 1
        return token, now, expires

    def token_valid(self, token: str) -> bool:
        entry = self.tokens.get(token)
        return entry is not None and entry[2] > self.now()

    # -- the hourly budget
    def rate_state(self, take: bool) -> tuple[int, int, int, bool]:
        """``(limit, remaining, reset_in_s, over)``; ``take`` counts one call."""
        cfg, now = self.config, self.now()
        if self._budget_start is None or now - self._budget_start >= cfg.rate_window_s:
            self._budget_start, self._budget_used = now, 0
        over = False
        if take and cfg.rate_limit > 0:
            if self._budget_used >= cfg.rate_limit:
                over = True
            else:
                self._budget_used += 1
        reset_in = max(1, math.ceil(cfg.rate_window_s - (now - self._budget_start)))
        limit = cfg.rate_limit if cfg.rate_limit > 0 else 5000
        remaining = max(0, limit - self._budget_used) if cfg.rate_limit > 0 else limit
        return limit, remaining, reset_in, over

    @staticmethod
    def rate_headers(limit: int, remaining: int, reset_in: int) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(reset_in)}

    def too_many(self, path: str, headers: dict[str, str]) -> web.Response:
        if self.config.retry_after_on_429:
            headers = {**headers, "Retry-After": headers["X-RateLimit-Reset"]}
        message = "Too Many Requests"
        family = api_family(path)
        if family == "v2":
            return v2_error(429, message, headers=headers)
        if family == "xml":
            return web.Response(text="Rate limit exceeded\n", status=429, headers=headers)
        return v1_error(429, message, headers=headers, kind="Too Many Requests")

    # -- the shared fault knobs, answered as OneLogin would
    def rate_limited_response(self, reset_in: float, request: web.Request) -> web.Response:
        limit = self.knobs.rate_limit
        return self.too_many(request.path, self.rate_headers(limit, 0, max(1, math.ceil(reset_in))))

    def failure_response(self, status: int, request: web.Request) -> web.Response:
        if status in (502, 503, 504):
            return gateway_error(status)
        family = api_family(request.path)
        message = {401: "Unauthorized", 500: "Internal Server Error"}.get(status, _REASONS.get(status, "Error"))
        if family == "v2":
            return v2_error(status, message)
        if family == "token":
            return token_error(status, message)
        if family == "xml":
            return web.Response(text=f"{message}\n", status=status)
        return v1_error(status, message)


# ---- authentication ----------------------------------------------------------------------------

def client_credentials(request: web.Request, form: dict) -> tuple[str, str] | None:
    """Client id and secret from Basic, the legacy header, or the form body."""
    header = request.headers.get("Authorization", "").strip()
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        return decode_basic(value)
    if header.lower().startswith("client_id:"):
        parts = dict(p.strip().partition(":")[::2] for p in header.split(","))
        return parts.get("client_id", "").strip(), parts.get("client_secret", "").strip()
    if form.get("client_id"):
        return form.get("client_id", ""), form.get("client_secret", "")
    return None


def bearer_token(request: web.Request) -> str:
    """The token of ``Bearer <t>`` or of OneLogin's ``bearer:<t>``."""
    header = request.headers.get("Authorization", "").strip()
    if header.lower().startswith("bearer:"):
        return header[len("bearer:"):].strip()
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


async def _body(request: web.Request) -> dict:
    """JSON or form body as a dict of strings ({} when absent or unreadable)."""
    if not request.can_read_body:
        return {}
    raw = await request.read()
    if request.content_type == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw.decode("utf-8", "replace")))
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        return {"__invalid__": "1"}
    return data if isinstance(data, dict) else {"__invalid__": "1"}


# ---- middleware: budget and auth for resource calls --------------------------------------------

@web.middleware
async def _api_middleware(request: web.Request, handler):
    state: OneLoginState = state_of(request)
    path = request.path
    if not (path.startswith("/api/") or path == "/auth/rate_limit"):
        return await handler(request)
    family = api_family(path)
    if family == "xml":
        creds = decode_basic(request.headers.get("Authorization", "").partition(" ")[2]) \
            if request.headers.get("Authorization", "").lower().startswith("basic ") else None
        if creds is None or creds[0] != state.api_token:
            return web.Response(text="HTTP Basic: Access denied.\n", status=401,
                                headers={"WWW-Authenticate": 'Basic realm="Application"'})
    else:
        if not state.token_valid(bearer_token(request)):
            if family == "v2":
                return v2_error(401, "Unauthorized")
            return v1_error(401, "Authentication Failure")
    if path == "/auth/rate_limit":
        return await handler(request)
    limit, remaining, reset_in, over = state.rate_state(take=True)
    headers = state.rate_headers(limit, remaining, reset_in)
    if over:
        state.stats.rate_limited += 1
        return state.too_many(path, headers)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers.update(headers)
        raise
    response.headers.update(headers)
    return response


# ---- token handlers ----------------------------------------------------------------------------

def _token_body(token: str, created: float, expires: float, now: float) -> dict:
    return {"access_token": token, "created_at": iso_millis(created), "expires_in": round(max(0.0, expires - now)),
            "refresh_token": secrets.token_hex(32), "token_type": "bearer", "account_id": ACCOUNT_ID}


async def token_v2(request: web.Request) -> web.Response:
    state: OneLoginState = state_of(request)
    body = await _body(request)
    creds = client_credentials(request, body)
    if creds is None or not creds[0] or state.clients.get(creds[0]) != creds[1]:
        return token_error(401, "Authentication Failure")
    if body.get("grant_type") != "client_credentials":
        return token_error(400, "grant_type is incorrect/absent")
    token, created, expires = state.issue_token(creds[0], reuse=True)
    return json_response(_token_body(token, created, expires, state.now()))


async def token_v1(request: web.Request) -> web.Response:
    state: OneLoginState = state_of(request)
    body = await _body(request)
    header = request.headers.get("Authorization", "")
    creds = client_credentials(request, {}) if header.lower().startswith("client_id:") else None
    if creds is None or state.clients.get(creds[0]) != creds[1]:
        return v1_error(401, "Authentication Failure")
    if body.get("grant_type") != "client_credentials":
        return v1_error(400, "grant_type is incorrect/absent")
    token, created, expires = state.issue_token(creds[0], reuse=False)
    return json_response({"status": {"error": False, "code": 200, "type": "success", "message": "Success"},
                          "data": [_token_body(token, created, expires, state.now())]})


async def revoke(request: web.Request) -> web.Response:
    state: OneLoginState = state_of(request)
    body = await _body(request)
    creds = client_credentials(request, body)
    if creds is None or state.clients.get(creds[0]) != creds[1]:
        return v1_error(401, "Authentication Failure")
    token = body.get("access_token", "")
    if not token:
        return v1_error(400, "access_token is incorrect/absent")
    state.tokens.pop(token, None)
    return json_response({"status": {"error": False, "code": 200, "type": "success", "message": "Success"}})


async def rate_limit(request: web.Request) -> web.Response:
    state: OneLoginState = state_of(request)
    limit, remaining, reset_in, _ = state.rate_state(take=False)
    return json_response({"status": {"error": False, "code": 200, "type": "success", "message": "Success"},
                          "data": {"X-RateLimit-Limit": limit, "X-RateLimit-Remaining": remaining,
                                   "X-RateLimit-Reset": reset_in}})


# ---- users v2 ----------------------------------------------------------------------------------

def _parse_time(text: str) -> float:
    d = _dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.timezone.utc)
    return d.timestamp()


def _matches(value, pattern: str) -> bool:
    if value is None:
        return False
    value, pattern = str(value).lower(), pattern.lower()
    return fnmatch.fnmatchcase(value, pattern) if "*" in pattern else value == pattern


def _filter(users, q: dict[str, str]) -> list[dict] | None:
    """Users matching the filters in ``q``; None when there are none (all users, lazily)."""
    tests = []
    for key, value in q.items():
        if key in V2_FILTERS:
            tests.append(lambda u, k=key, v=value: _matches(u.get(k), v))
        elif key in V2_IDS:
            want = int(value)
            tests.append(lambda u, k=key, w=want: u.get(k) == w)
        elif key == "user_ids":
            ids = {int(x) for x in value.split(",") if x.strip()}
            tests.append(lambda u, s=ids: u["id"] in s)
        elif key == "id":
            tests.append(lambda u, w=int(value): u["id"] == w)
        elif key in V2_TIMES or key in ("since", "until"):
            field, sign = V2_TIMES.get(key) or ("created_at", 1 if key == "since" else -1)
            bound = _parse_time(value)
            tests.append(lambda u, f=field, s=sign, b=bound: u.get(f) is not None
                         and (_parse_time(u[f]) - b) * s > 0)
        elif key.startswith("custom_attributes."):
            name = key.split(".", 1)[1]
            tests.append(lambda u, n=name, v=value: _matches(u["custom_attributes"].get(n), v))
    if not tests:
        return None
    return [u for u in users if all(t(u) for t in tests)]


def _project(user: dict, fields: list[str] | None) -> dict:
    if not fields:
        return user
    return {k: user[k] for k in ["id", *fields] if k in user}


def _cursor(limit: int, page: int) -> str:
    return base64.b64encode(f"limit={limit}&page={page}".encode()).decode()


def _decode_cursor(text: str) -> tuple[int, int]:
    try:
        raw = base64.b64decode(text, validate=True).decode()
        parts = dict(parse_qsl(raw, strict_parsing=True))
        limit, page = int(parts["limit"]), int(parts["page"])
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError):
        raise ValueError(f"Invalid cursor: {text}")
    if limit < 1 or page < 1:
        raise ValueError(f"Invalid cursor: {text}")
    return limit, page


def _selection(state: OneLoginState, q: dict[str, str], sort: str | None):
    """All users matching ``q`` (a lazy directory when unfiltered and unsorted)."""
    rows = _filter(state.users, q)
    if sort:
        desc = sort.startswith("-")
        field = sort.lstrip("+- ")
        if field not in SORTABLE:
            raise LookupError(field)
        rows = sorted(rows if rows is not None else list(state.users),
                      key=lambda u: (u.get(field) is None, str(u.get(field) or "").lower()
                                     if field != "id" else u["id"]), reverse=desc)
    return rows if rows is not None else state.users


async def list_users_v2(request: web.Request) -> web.Response:
    state: OneLoginState = state_of(request)
    cfg = state.config
    q = dict(request.query)
    unknown = sorted(k for k in q if k not in V2_PARAMS and not k.startswith("custom_attributes."))
    if unknown:
        return v2_error(400, f"query parameter(s) not allowed: {', '.join(unknown)}")
    try:
        if "cursor" in q:
            limit, page = _decode_cursor(q["cursor"])
        else:
            limit = int(q.get("limit", cfg.default_limit))
            page = int(q.get("page", 1))
            if limit < 1 or page < 1:
                raise ValueError("limit and page must be positive integers")
        limit = min(limit, cfg.max_limit)
        rows = _selection(state, q, q.get("sort"))
    except LookupError as exc:
        field = str(exc.args[0])
        return v2_error(422, f"Invalid sort field: {field}", name="UnprocessableEntityFieldError", field=field)
    except ValueError as exc:
        return v2_error(400, str(exc) if "cursor" in str(exc) or "positive" in str(exc)
                        else f"Invalid query parameter value: {exc}")
    total = len(rows)
    pages = max(1, math.ceil(total / limit))
    start = (page - 1) * limit
    first = max(0, start - cfg.page_overlap) if page > 1 else start
    items = rows.slice(first, start + limit) if isinstance(rows, UserDirectory) else rows[first:start + limit]
    state.pages_served += 1
    if cfg.expire_tokens_after_pages and state.pages_served == cfg.expire_tokens_after_pages:
        state.tokens.clear()  # the next call's token is refused: it expired mid-run
    fields = [f.strip() for f in q["fields"].split(",") if f.strip()] if q.get("fields") else None
    headers = {"Total-Count": str(total), "Total-Pages": str(pages), "Current-Page": str(page),
               "Page-Items": str(limit)}
    base = {k: v for k, v in q.items() if k not in ("cursor", "page", "limit")}
    links = []
    if page < pages:
        headers["After-Cursor"] = _cursor(limit, page + 1)
        links.append((headers["After-Cursor"], "next"))
    if page > 1:
        headers["Before-Cursor"] = _cursor(limit, min(page - 1, pages))
        links.append((headers["Before-Cursor"], "prev"))
    if links:
        url = str(request.url.with_query(None))
        headers["Link"] = ", ".join(f'<{url}?{urlencode({**base, "cursor": c})}>; rel="{rel}"' for c, rel in links)
    return json_response([_project(u, fields) for u in items], headers=headers)


async def get_user_v2(request: web.Request) -> web.Response:
    state: OneLoginState = state_of(request)
    try:
        index = state.users.index_of_id(int(request.match_info["user_id"]))
    except ValueError:
        index = None
    if index is None:
        return v2_error(404, "The resource can't be found or the server has not found anything matching "
                             "the Request-URI")
    return json_response(state.users[index])


# ---- users v1 ----------------------------------------------------------------------------------

def _v1_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _v1_offset(text: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        kind, _, value = raw.partition(":")
        offset = int(value)
        if kind != "o" or offset < 0:
            raise ValueError
        return offset
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError(f"Invalid cursor: {text}")


async def list_users_v1(request: web.Request) -> web.Response:
    state: OneLoginState = state_of(request)
    cfg = state.config
    q = dict(request.query)
    unknown = sorted(k for k in q if k not in V1_PARAMS and not k.startswith("custom_attributes."))
    if unknown:
        return v1_error(400, f"Invalid query parameter(s): {', '.join(unknown)}")
    try:
        limit = min(int(q.get("limit", cfg.v1_max_limit)), cfg.v1_max_limit)
        if limit < 1:
            raise ValueError
        if q.get("after_cursor"):
            start = _v1_offset(q["after_cursor"])
        elif q.get("before_cursor"):
            start = max(0, _v1_offset(q["before_cursor"]) - limit)
        else:
            start = 0
        rows = _selection(state, q, q.get("sort"))
    except LookupError as exc:
        return v1_error(400, f"Invalid sort field: {exc.args[0]}")
    except ValueError as exc:
        return v1_error(400, str(exc) or "Invalid limit")
    total = len(rows)
    items = rows.slice(start, start + limit) if isinstance(rows, UserDirectory) else rows[start:start + limit]
    fields = [f.strip() for f in q["fields"].split(",") if f.strip()] if q.get("fields") else None
    after = _v1_cursor(start + limit) if start + limit < total else None
    before = _v1_cursor(start) if start > 0 else None
    base = {k: v for k, v in q.items() if k not in ("after_cursor", "before_cursor")}
    url = str(request.url.with_query(None))
    pagination = {"before_cursor": before, "after_cursor": after,
                  "previous_link": f"{url}?{urlencode({**base, 'before_cursor': before})}" if before else None,
                  "next_link": f"{url}?{urlencode({**base, 'after_cursor': after})}" if after else None}
    return json_response({"status": {"error": False, "code": 200, "type": "success", "message": "Success"},
                          "pagination": pagination, "data": [_project(as_v1(u), fields) for u in items]})


# ---- the retired XML API -------------------------------------------------------------------------

def _xml_user(user: dict) -> str:
    parts = []
    for tag, value, kind in xml_fields(user):
        typed = f' type="{kind}"' if kind else ""
        if value is None:
            parts.append(f'<{tag}{typed} nil="true"/>')
        else:
            parts.append(f"<{tag}{typed}>{escape(str(value))}</{tag}>")
    return "  <user>\n    " + "\n    ".join(parts) + "\n  </user>\n"


async def list_users_xml(request: web.Request) -> web.Response:
    state: OneLoginState = state_of(request)
    try:
        page = int(request.query.get("page", "1"))
    except ValueError:
        page = 1
    size = state.config.xml_page_size
    items = state.users.slice((max(page, 1) - 1) * size, max(page, 1) * size)
    body = '<?xml version="1.0" encoding="UTF-8"?>\n<users type="array">\n' + "".join(
        _xml_user(u) for u in items) + "</users>\n"
    return web.Response(text=body, content_type="application/xml", charset="utf-8")


# ---- app -----------------------------------------------------------------------------------------

@web.middleware
async def _not_found_middleware(request: web.Request, handler):
    """Unknown routes and methods answer as OneLogin does: 404 "No Route Exists"."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        if api_family(request.path) == "v2":
            return v2_error(404, "The resource can't be found or the server has not found anything "
                                 "matching the Request-URI")
        return v1_error(404, "No Route Exists")


def build_app(state: OneLoginState | argparse.Namespace | None = None) -> web.Application:
    if isinstance(state, argparse.Namespace):
        state = state_from_args(state)
    state = state or OneLoginState()
    app = make_app(state)
    app.middlewares.append(_not_found_middleware)
    app.middlewares.append(_api_middleware)
    add_config_routes(app, lambda s: {"users": len(s.users), "tokens_issued": s.tokens_issued})
    app.router.add_post("/auth/oauth2/v2/token", token_v2)
    app.router.add_post("/auth/oauth2/token", token_v1)
    app.router.add_post("/auth/oauth2/revoke", revoke)
    app.router.add_get("/auth/rate_limit", rate_limit)
    app.router.add_get("/api/2/users", list_users_v2)
    app.router.add_get("/api/2/users/{user_id}", get_user_v2)
    app.router.add_get("/api/1/users", list_users_v1)
    app.router.add_get("/api/v2/users.xml", list_users_xml)
    return app


def state_from_args(args: argparse.Namespace) -> OneLoginState:
    config = OneLoginConfig(rate_limit=args.hourly_limit, rate_window_s=args.limit_window)
    clients = colon_pairs(args.client, "--client", "CLIENT_ID:CLIENT_SECRET")
    return OneLoginState(users=args.users, seed=args.seed, clients=clients,
                         api_token=args.api_token, config=config)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--client", action="append", metavar="CLIENT_ID:CLIENT_SECRET",
                        help="API credential pair (repeatable); default: the module's DEFAULT_CLIENT_*")
    parser.add_argument("--api-token", default=DEFAULT_API_TOKEN, help="key for the retired XML API")
    parser.add_argument("--hourly-limit", type=int, default=5000, help="account calls per window (0 = off)")
    parser.add_argument("--limit-window", type=float, default=3600.0, help="rate window in seconds")


if __name__ == "__main__":
    main(build_app, "OneLogin API simulator", _add_arguments)
