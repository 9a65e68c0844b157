"""Loopback simulator of the Okta Management API, users part (what a people sync reads).

Run ``python -m tests.simulators.okta --port 0 --users 50000`` (prints its URL first), or in
tests ``SimulatorThread(build_app(OktaState(users=300))).start()``.

Endpoints:

* ``GET /api/v1/users`` — ``limit`` (default and maximum 200; larger values give 200),
  ``after`` (opaque cursor: the id of the last user of the previous page), ``filter``
  (``status``, ``lastUpdated``, ``id``, ``profile.login|email|firstName|lastName``; ``eq``, and
  ``gt|ge|lt|le`` for ``lastUpdated``; ``and``/``or``/parentheses), ``search`` (any top-level or
  profile property; ``eq``, ``sw``, ``co``, ``gt|ge|lt|le``; values case-insensitive), ``q``
  (prefix of firstName/lastName/email; default limit 10, never paged).
  Without ``filter``/``search`` — and with ``q`` — DEPROVISIONED users are left out; a
  ``filter`` or ``search`` returns them when they match.
  Paging: ``Link: <...>; rel="self"`` then ``Link: <...>; rel="next"`` as two header lines,
  absolute URLs on the host the client called; no ``next`` on the last page.
* ``GET /api/v1/users/{id or login}`` — one user; 404 ``E0000007``.

Every ``/api/`` response carries ``X-Rate-Limit-Limit``, ``X-Rate-Limit-Remaining``,
``X-Rate-Limit-Reset`` (UTC epoch seconds when the window ends), ``X-Okta-Request-Id`` and
``Date``. Over the limit: 429 ``E0000047`` with the same headers (Remaining 0). Okta's
per-minute limit for ``/api/v1/users`` is :class:`OktaConfig` ``rate_limit`` per
``rate_window_s``; the shared ``rate_limit`` knob, when set, takes its place (base.py counts,
this module reports). ``concurrency_limit`` answers requests beyond N in flight with 429 and
``X-Rate-Limit-Limit: 0`` / ``-Remaining: 0`` as Okta's concurrent limit does.

Auth: ``Authorization: SSWS <token>``. A wrong token (or another scheme) → 401 ``E0000011``
"Invalid token provided"; no ``Authorization`` at all → 403 ``E0000005`` "Invalid session";
a token whose admin may not read users → 403 ``E0000006``. Error bodies are Okta's:
``{"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses": []}``.
"""
from __future__ import annotations

import argparse
import bisect
import math
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from aiohttp import web
from multidict import CIMultiDict

from .base import SimState, Settings, add_config_routes, json_response, main, make_app, state_of
from .okta_data import Directory, parse_okta_time

DEFAULT_TOKEN = "00SimOktaApiToken0000000000000000000000000a"
NO_PERMISSION_TOKEN = "00SimOktaReadOnlyHelpDesk00000000000000000b"  # admin without users read
USERS_PATH = "/api/v1/users"


@dataclass
class OktaConfig(Settings):
    """Vendor-specific run-time settings (``GET/POST /_sim/config``)."""

    rate_limit: int = 600          # requests per window to /api/v1/users (Okta's per-minute bucket)
    rate_window_s: float = 60.0
    concurrency_limit: int = 0     # simultaneous API requests allowed; 0 = off (Okta orgs: 75)
    max_limit: int = 200           # page-size maximum for the users list
    default_limit: int = 200       # page size without ``limit``
    split_link_headers: bool = True  # False: one ``Link`` header, values joined by ", "
    # The official Python SDK 3.x sends ``SSWS<token>`` without the space; True refuses that.
    require_space_after_ssws: bool = False


_ERRORS = {
    400: ("E0000001", "Api validation failed: {detail}"),
    401: ("E0000011", "Invalid token provided"),
    403: ("E0000006", "You do not have permission to perform the requested action"),
    404: ("E0000007", "Not found: Resource not found: {detail}"),
    405: ("E0000022", "The endpoint does not support the provided HTTP method"),
    429: ("E0000047", "API call exceeded rate limit due to too many requests."),
    500: ("E0000009", "Internal Server Error"),
    502: ("E0000009", "Internal Server Error"),
    503: ("E0000010", "Service is temporarily unavailable"),
    504: ("E0000009", "Internal Server Error"),
}


def okta_error(status: int, code: str | None = None, summary: str | None = None, *, detail: str = "",
               causes: list[str] | None = None, headers: dict | None = None) -> web.Response:
    default_code, default_summary = _ERRORS.get(status, ("E0000009", "Internal Server Error"))
    code = code or default_code
    body = {"errorCode": code, "errorSummary": summary or default_summary.format(detail=detail),
            "errorLink": code, "errorId": "oae" + secrets.token_urlsafe(16)[:22],
            "errorCauses": [{"errorSummary": c} for c in causes or []]}
    return json_response(body, status=status, headers=headers)


class OktaState(SimState):
    def __init__(self, users: int = 300, seed: int = 1, now: float | None = None,
                 token: str = DEFAULT_TOKEN, config: OktaConfig | None = None) -> None:
        super().__init__(config or OktaConfig())
        self.directory = Directory(users, seed, now)
        self.tokens = {token: True, NO_PERMISSION_TOKEN: False}  # token -> may read users
        self._bucket_start = 0.0
        self._bucket_count = 0
        self._api_in_flight = 0  # not reset: requests may be in flight during a reset
        self._views: dict[tuple, list[int]] = {}
        self.concurrency_rejected = 0
        self.retries_seen = 0  # requests a client marked as retries (``X-Okta-Retry-Count``)

    def reset(self) -> None:
        super().reset()
        self._bucket_start, self._bucket_count = 0.0, 0
        self.concurrency_rejected = 0
        self.retries_seen = 0

    # ---- rate limiting -------------------------------------------------------------------
    def _window(self) -> tuple[int, int, float]:
        """``(limit, used, reset_epoch)`` of the window this request counts in."""
        now_mono = time.monotonic()
        if self.knobs.rate_limit > 0:  # the shared knob: base.py counted this request already
            left = self._window_start + self.knobs.rate_window_s - now_mono
            return self.knobs.rate_limit, self._window_count, time.time() + max(0.0, left)
        cfg = self.config
        if not self._bucket_start or now_mono - self._bucket_start >= cfg.rate_window_s:
            self._bucket_start, self._bucket_count = now_mono, 0
        self._bucket_count += 1
        left = self._bucket_start + cfg.rate_window_s - now_mono
        return cfg.rate_limit, self._bucket_count, time.time() + left

    @staticmethod
    def _rate_headers(limit: int, remaining: int, reset_epoch: float) -> dict[str, str]:
        return {"X-Rate-Limit-Limit": str(limit), "X-Rate-Limit-Remaining": str(max(0, remaining)),
                "X-Rate-Limit-Reset": str(math.ceil(reset_epoch))}

    def rate_limited_response(self, reset_in: float, request: web.Request) -> web.Response:
        headers = self._rate_headers(self.knobs.rate_limit, 0, time.time() + reset_in)
        headers["X-Okta-Request-Id"] = _request_id()
        return okta_error(429, headers=headers)

    def failure_response(self, status: int, request: web.Request) -> web.Response:
        limit, used, reset = self._window()
        headers = self._rate_headers(limit, limit - used, reset)
        headers["X-Okta-Request-Id"] = _request_id()
        return okta_error(status, detail=request.path, headers=headers)

    # ---- listing views -------------------------------------------------------------------
    def view(self, kind: str, expression: str) -> list[int]:
        """Indices (in id order) a listing shows: ``kind`` is default, filter or search."""
        key = (kind, expression)
        hit = self._views.get(key)
        if hit is not None:
            return hit
        d = self.directory
        if kind == "default":
            out = [i for i, s in enumerate(d.statuses) if s != "DEPROVISIONED"]
        else:
            pred = FilterParser(expression, search=kind == "search").parse()
            out = [i for i in range(len(d)) if pred(d, i)]
        if len(self._views) > 64:
            self._views.clear()
        self._views[key] = out
        return out


def _request_id() -> str:
    return secrets.token_urlsafe(20)[:27]


# ---- filter / search expressions ------------------------------------------------------------

class FilterError(ValueError):
    pass


_FILTER_ATTRS = {"status", "lastUpdated", "id", "profile.login", "profile.email", "profile.firstName",
                 "profile.lastName"}
_TIME_ATTRS = {"created", "activated", "statusChanged", "lastLogin", "lastUpdated", "passwordChanged"}
_TOKEN = re.compile(r'\s*(\(|\)|"(?:[^"\\]|\\.)*"|[^\s()"]+)')


class FilterParser:
    """Okta filter (``search=False``) or search expression → predicate ``(directory, index)``."""

    def __init__(self, text: str, search: bool) -> None:
        self.search = search
        self.tokens: list[str] = []
        pos = 0
        text = text.strip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m:
                raise FilterError(text)
            self.tokens.append(m.group(1))
            pos = m.end()
        self.pos = 0

    def parse(self):
        if not self.tokens:
            raise FilterError("empty expression")
        pred = self._or()
        if self.pos != len(self.tokens):
            raise FilterError(f"unexpected {self.tokens[self.pos]!r}")
        return pred

    def _next(self) -> str:
        if self.pos >= len(self.tokens):
            raise FilterError("unexpected end")
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def _peek_word(self, word: str) -> bool:
        return self.pos < len(self.tokens) and self.tokens[self.pos].lower() == word

    def _or(self):
        parts = [self._and()]
        while self._peek_word("or"):
            self.pos += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda d, i: any(p(d, i) for p in parts))

    def _and(self):
        parts = [self._term()]
        while self._peek_word("and"):
            self.pos += 1
            parts.append(self._term())
        return parts[0] if len(parts) == 1 else (lambda d, i: all(p(d, i) for p in parts))

    def _term(self):
        tok = self._next()
        if tok == "(":
            inner = self._or()
            if self._next() != ")":
                raise FilterError("missing )")
            return inner
        attr, op = tok, self._next().lower()
        raw = self._next()
        if not (raw.startswith('"') and raw.endswith('"') and len(raw) >= 2):
            raise FilterError(f"value of {attr} must be quoted")
        value = raw[1:-1].replace('\\"', '"')
        return self._comparison(attr, op, value)

    def _comparison(self, attr: str, op: str, value: str):
        ordered = op in ("gt", "ge", "lt", "le")
        if self.search:
            if op not in ("eq", "sw", "co", "gt", "ge", "lt", "le"):
                raise FilterError(f"operator {op}")
            if not (attr in _TIME_ATTRS or attr in ("id", "status", "type.id") or attr.startswith("profile.")):
                raise FilterError(f"property {attr}")
        else:
            if attr not in _FILTER_ATTRS:
                raise FilterError(f"property {attr} cannot be filtered on")
            if op != "eq" and not (ordered and attr == "lastUpdated"):
                raise FilterError(f"operator {op} on {attr}")
        fold = self.search  # search values are case-insensitive, filter values are not
        if attr in _TIME_ATTRS and ordered:
            try:
                target = parse_okta_time(value)
            except ValueError as exc:
                raise FilterError(f"time {value}") from exc

            def cmp(got):
                if got is None:
                    return False
                t = parse_okta_time(got)
                return {"gt": t > target, "ge": t >= target, "lt": t < target, "le": t <= target}[op]
        else:
            want = value.lower() if fold else value

            def cmp(got):
                if got is None:
                    return False
                got = str(got).lower() if fold else str(got)
                if op == "eq":
                    return got == want
                if op == "sw":
                    return got.startswith(want)
                if op == "co":
                    return want in got
                return {"gt": got > want, "ge": got >= want, "lt": got < want, "le": got <= want}[op]

        if attr == "status":
            return lambda d, i: cmp(d.statuses[i])
        if attr == "id":
            return lambda d, i: cmp(d.ids[i])
        path = attr.split(".")

        def pred(d, i):
            node = d.user(i)
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None
            return cmp(node)
        return pred


# ---- middleware and handlers -----------------------------------------------------------------

@web.middleware
async def _okta_middleware(request: web.Request, handler):
    """Rate-limit headers, concurrency limit and auth for everything under ``/api/``."""
    state: OktaState = state_of(request)
    if not request.path.startswith("/api/"):
        return await handler(request)
    if "X-Okta-Retry-Count" in request.headers:
        state.retries_seen += 1
    limit, used, reset = state._window()
    headers = state._rate_headers(limit, limit - used, reset)
    headers["X-Okta-Request-Id"] = _request_id()
    if state.knobs.rate_limit <= 0 and used > limit:
        state.stats.rate_limited += 1
        return okta_error(429, headers=headers)
    denied = _check_auth(state, request)
    if denied is not None:
        denied.headers.update(headers)
        return denied
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        response = okta_error(404, detail=f"{request.path} (Resource)")
    except web.HTTPMethodNotAllowed:
        response = okta_error(405)
    response.headers.update(headers)
    return response


@web.middleware
async def _concurrency_middleware(request: web.Request, handler):
    """Okta's concurrent-request limit, checked on arrival (outside the shared latency knob).

    Rejected requests never reach base.py, so they show in ``concurrency_rejected`` only.
    """
    state: OktaState = state_of(request)
    limit = state.config.concurrency_limit
    if not request.path.startswith("/api/"):
        return await handler(request)
    if limit and state._api_in_flight >= limit:
        state.concurrency_rejected += 1
        headers = state._rate_headers(0, 0, time.time() + 1)  # concurrent values: limit 0, remaining 0
        headers["X-Okta-Request-Id"] = _request_id()
        return okta_error(429, headers=headers)
    state._api_in_flight += 1
    try:
        return await handler(request)
    finally:
        state._api_in_flight -= 1


def _check_auth(state: OktaState, request: web.Request) -> web.Response | None:
    header = request.headers.get("Authorization")
    if header is None:
        return okta_error(403, "E0000005", "Invalid session")
    header = header.strip()
    token = None
    if header.startswith("SSWS "):
        token = header[5:].strip()
    elif header.startswith("SSWS") and not state.config.require_space_after_ssws:
        token = header[4:]
    allowed = state.tokens.get(token) if token else None
    if allowed is None:
        return okta_error(401)
    if not allowed:
        return okta_error(403)
    return None


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _links(base: str, rec: dict) -> dict:
    href = f"{base}{USERS_PATH}/{rec['id']}"
    links = {"self": {"href": href}}
    status = rec["status"]
    lifecycle = f"{href}/lifecycle"
    if status in ("STAGED", "DEPROVISIONED"):
        links["activate"] = {"href": f"{lifecycle}/activate", "method": "POST"}
    if status == "PROVISIONED":
        links["reactivate"] = {"href": f"{lifecycle}/reactivate", "method": "POST"}
    if status == "SUSPENDED":
        links["unsuspend"] = {"href": f"{lifecycle}/unsuspend", "method": "POST"}
    if status == "LOCKED_OUT":
        links["unlock"] = {"href": f"{lifecycle}/unlock", "method": "POST"}
    if status in ("ACTIVE", "PASSWORD_EXPIRED", "RECOVERY", "LOCKED_OUT"):
        links["suspend"] = {"href": f"{lifecycle}/suspend", "method": "POST"}
        links["resetPassword"] = {"href": f"{lifecycle}/reset_password", "method": "POST"}
        links["expirePassword"] = {"href": f"{lifecycle}/expire_password", "method": "POST"}
        links["resetFactors"] = {"href": f"{lifecycle}/reset_factors", "method": "POST"}
    if status != "DEPROVISIONED":
        links["deactivate"] = {"href": f"{lifecycle}/deactivate", "method": "POST"}
    links["schema"] = {"href": f"{base}/api/v1/meta/schemas/user/{rec['type']['id']}"}
    links["type"] = {"href": f"{base}/api/v1/meta/types/user/{rec['type']['id']}"}
    return links


def _with_links(base: str, rec: dict) -> dict:
    return {**rec, "_links": _links(base, rec)}


def _parse_limit(raw: str | None, default: int, maximum: int) -> int | web.Response:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        return okta_error(400, detail="limit", causes=[f"limit: The value '{raw}' is not a valid integer."])
    if value < 1:
        return okta_error(400, detail="limit", causes=["limit: must be greater than 0."])
    return min(value, maximum)


async def list_users(request: web.Request) -> web.Response:
    state: OktaState = state_of(request)
    cfg, d, query = state.config, state.directory, request.query
    base = _base_url(request)
    q, flt, search = query.get("q"), query.get("filter"), query.get("search")
    if query.get("sortBy") or query.get("sortOrder"):
        return okta_error(400, "E0000031", "Invalid search criteria.",
                          causes=["sortBy/sortOrder are not implemented by this simulator"])
    if sum(x is not None for x in (q, flt, search)) > 1:
        return okta_error(400, "E0000031", "Invalid search criteria.",
                          causes=["Use only one of q, filter and search."])
    limit = _parse_limit(query.get("limit"), 10 if q is not None else cfg.default_limit, cfg.max_limit)
    if isinstance(limit, web.Response):
        return limit

    if q is not None:  # people picker: prefix match, no DEPROVISIONED, never paged
        needle = q.lower()
        rows = []
        for i in state.view("default", ""):
            p = d.user(i)["profile"]
            if any((p.get(k) or "").lower().startswith(needle) for k in ("firstName", "lastName", "email")):
                rows.append(i)
                if len(rows) == limit:
                    break
        return json_response([_with_links(base, d.user(i)) for i in rows],
                             headers=CIMultiDict([("Link", f"<{base}{request.path_qs}>; rel=\"self\"")]))

    try:
        if flt is not None:
            visible = state.view("filter", flt)
        elif search is not None:
            visible = state.view("search", search)
        else:
            visible = state.view("default", "")
    except FilterError as exc:
        return okta_error(400, "E0000031", "Invalid search criteria.", causes=[str(exc)])

    after = query.get("after")
    start = bisect.bisect_left(visible, d.after(after)) if after else 0
    page = visible[start:start + limit]
    body = [_with_links(base, d.user(i)) for i in page]

    links = [f"<{base}{request.path_qs}>; rel=\"self\""]
    if start + limit < len(visible):
        params = [("after", d.ids[page[-1]])] + [(k, v) for k, v in query.items() if k != "after"]
        links.append(f"<{base}{request.path}?{urlencode(params, quote_via=quote)}>; rel=\"next\"")
    headers = CIMultiDict([("Link", value) for value in links]) if cfg.split_link_headers \
        else CIMultiDict([("Link", ", ".join(links))])
    return json_response(body, headers=headers)


async def get_user(request: web.Request) -> web.Response:
    state: OktaState = state_of(request)
    d = state.directory
    key = request.match_info["key"]
    index = d.index_of(key)
    if index is None:  # by login (also its short name before the @), case-insensitive
        wanted = key.lower()
        index = next((i for i in range(len(d)) if d.user(i)["profile"]["login"].lower() == wanted), None)
    if index is None:
        return okta_error(404, detail=f"{key} (User)")
    return json_response(_with_links(_base_url(request), d.user(index)))


def build_app(state: OktaState) -> web.Application:
    app = make_app(state)
    app.middlewares.insert(0, _concurrency_middleware)  # outermost: before the latency knob
    app.middlewares.append(_okta_middleware)
    add_config_routes(app, lambda s: {"users": len(s.directory), "retries_seen": s.retries_seen,
                                      "concurrency_rejected": s.concurrency_rejected})
    app.router.add_get(USERS_PATH, list_users)
    app.router.add_get(USERS_PATH + "/{key}", get_user)
    return app


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--users", type=int, default=300)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--token", default=DEFAULT_TOKEN)
    p.add_argument("--users-rate-limit", type=int, default=600, help="requests per window to /api/v1/users")
    p.add_argument("--users-rate-window", type=float, default=60.0)
    p.add_argument("--concurrency-limit", type=int, default=0)


def _from_args(args: argparse.Namespace) -> web.Application:
    return build_app(OktaState(
        users=args.users, seed=args.seed, token=args.token,
        config=OktaConfig(rate_limit=args.users_rate_limit, rate_window_s=args.users_rate_window,
                          concurrency_limit=args.concurrency_limit)))


if __name__ == "__main__":
    main(_from_args, "Okta Management API (users) simulator", _add_arguments)
