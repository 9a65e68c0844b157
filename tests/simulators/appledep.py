"""Loopback simulator of Apple's Device Enrollment Program service (``mdmenrollment.apple.com``).

Run ``python -m tests.simulators.appledep --port 0 --token-json-file server_token.json``: an
existing token file is loaded (keys ``consumer_key`` CK_, ``consumer_secret`` CS_,
``access_token`` AT_, ``access_secret`` AS_, optional ``access_token_expiry``); a missing one
is generated from ``--seed`` and written there, so a client can read it.

Endpoints:

* ``GET /session`` — OAuth 1.0a, HMAC-SHA1, ``realm="ADM"``, verified as RFC 5849 says (base
  string from method, URL and parameters; nonce replay and timestamp checks) →
  ``{"auth_session_token": "..."}``. Errors (plain text): 400 ``BAD_REQUEST`` (missing,
  duplicated or unsupported oauth parameters), 401 ``UNAUTHORIZED`` (unknown key/token, bad
  signature, reused nonce, stale timestamp), 403 ``ACCESS_DENIED`` (server token past its
  ``access_token_expiry``), 403 ``T_C_NOT_SIGNED`` (terms mode, forever).
* Everything else needs ``X-ADM-Auth-Session``: missing or expired → 401 ``UNAUTHORIZED``,
  unknown → 403 ``FORBIDDEN``. Every ``rotate_every``-th request of a session answers with a new
  token in the ``X-ADM-Auth-Session`` response header (old one kept valid unless
  ``strict_rotation``). ``X-Server-Protocol-Version`` < 2 (or absent) drops ``os`` and
  ``device_family``.
* ``GET /account`` — server and organisation details.
* ``POST /server/devices`` ``{"limit", "cursor"}`` — full list over a snapshot taken when the
  cursor-less call starts; ``{"devices", "cursor", "more_to_follow", "fetched_until"}``; limit
  defaults to 100 and is clamped to 1000.
* ``POST /devices/sync`` ``{"cursor", "limit"}`` — changes after the cursor, rows carry
  ``op_type`` (added/modified/deleted) and ``op_date``; a serial can appear more than once.
* ``POST /devices`` ``{"devices": [serials]}`` — ``{"devices": {serial: {..., "response_status"}}}``
  with ``SUCCESS``, ``NOT_ACCESSIBLE`` (not ours / deleted) or ``FAILED``.
* Cursor errors (400, plain text): ``CURSOR_REQUIRED``, ``INVALID_CURSOR``, ``EXHAUSTED_CURSOR``
  (finished fetch cursor sent to ``/server/devices``), ``EXPIRED_CURSOR`` (older than 7 days);
  ``MALFORMED_REQUEST_BODY``, ``DEVICE_ID_REQUIRED``.

Simulator controls besides ``/_sim/knobs``: ``GET/POST /_sim/config`` (:class:`DEPConfig`, e.g.
``{"terms_not_signed": true}`` or ``{"clock_offset_s": 700000}`` to age sessions and cursors) and
``POST /_sim/changes {"count": N}`` to append N change events for ``/devices/sync``.
"""
from __future__ import annotations

import argparse
import base64
import datetime as _dt
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import time
import uuid
import zlib
from dataclasses import dataclass
from email.utils import formatdate
from urllib.parse import quote, unquote

from aiohttp import web

from .base import SimState, Settings, add_config_routes, json_response, main, make_app, state_of
from .device_data import APPLE_FAMILIES, Device, generate_fleet, iso_z

_PROTOCOL_KEY = web.RequestKey("protocol", int)
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
TOKEN_PREFIXES = {"consumer_key": "CK_", "consumer_secret": "CS_", "access_token": "AT_",
                  "access_secret": "AS_"}


MAX_REMEMBERED = 100_000  # cursors, nonces and sessions kept before the oldest are forgotten


def _trim(store: dict, limit: int) -> None:
    while len(store) > limit:
        del store[next(iter(store))]


def plain(status: int, text: str, headers: dict | None = None) -> web.Response:
    """Apple answers errors with a bare upper-case code as a plain-text body."""
    return web.Response(status=status, text=text, headers=headers, content_type="text/plain",
                        charset="UTF-8")


@dataclass
class DEPConfig(Settings):
    """Vendor-specific run-time settings (``GET/POST /_sim/config``)."""

    session_ttl_s: float = 180.0        # lifetime of an auth session token from when it is issued
    rotate_every: int = 10              # new X-ADM-Auth-Session every N requests of a session; 0 = never
    strict_rotation: bool = False       # the replaced token stops working at once (401 UNAUTHORIZED)
    terms_not_signed: bool = False      # every call, /session included → 403 T_C_NOT_SIGNED
    throttle_status: int = 503          # status of rate-limit answers (Apple: 503, sometimes 429)
    retry_after_http_date: bool = False  # Retry-After as an HTTP-date instead of seconds
    detail_failed_ratio: float = 0.01   # share of our serials that /devices reports as FAILED
    cursor_ttl_s: float = 7 * 86400.0   # cursors older than this → EXPIRED_CURSOR
    more_to_follow_as_string: bool = False  # "true"/"false" strings, as in older Apple samples
    oauth_timestamp_window_s: float = 600.0  # |oauth_timestamp - wall clock| allowed; 0 = no check
    max_detail_serials: int = 1000      # /devices with more serials → 400 MALFORMED_REQUEST_BODY
    clock_offset_s: float = 0.0         # added to the clock used for sessions, cursors and dates


@dataclass
class _Session:
    token: str
    expires_at: float
    uses: int = 0
    retired: bool = False


@dataclass
class _Cursor:
    kind: str                    # "fetch" or "sync"
    issued_at: float
    seq: int                     # event-log position the cursor's data is current to
    snapshot: list | None = None  # fetch: the device list being paged
    offset: int = 0              # fetch: next index into the snapshot


def make_server_token(seed: int = 1, now: float | None = None) -> dict:
    """A server token in the shape ABM hands out (after decryption), deterministic per seed."""
    rng = random.Random(seed * 15485863 + 3)
    now = time.time() if now is None else now

    def hexs(n: int) -> str:
        return f"{rng.getrandbits(n * 4):0{n}x}"

    return {"consumer_key": "CK_" + hexs(128), "consumer_secret": "CS_" + hexs(40),
            "access_token": f"AT_O{rng.randrange(10 ** 10):010d}O" + hexs(40),
            "access_secret": "AS_" + hexs(40),
            "access_token_expiry": iso_z(now + 365 * 86400)}


def check_server_token(token: dict) -> None:
    for key, prefix in TOKEN_PREFIXES.items():
        if not str(token.get(key, "")).startswith(prefix):
            raise ValueError(f"Token key {key} has improper prefix")


def _pct(text: str) -> str:
    return quote(text, safe="~")


def _parse_oauth_header(header: str) -> dict[str, str]:
    """``OAuth realm="ADM", oauth_x="..."`` → dict; ValueError on duplicates or garbage."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "oauth":
        raise ValueError("not an OAuth header")
    params: dict[str, str] = {}
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r'([A-Za-z0-9_.~%-]+)\s*=\s*"([^"]*)"', part)
        if not m:
            raise ValueError(f"malformed OAuth parameter {part!r}")
        name, value = unquote(m.group(1)), unquote(m.group(2))
        if name in params:
            raise ValueError(f"duplicate OAuth parameter {name}")
        params[name] = value
    return params


def signature_base_string(method: str, base_url: str, params: list[tuple[str, str]]) -> str:
    """RFC 5849 §3.4.1: method & encoded base URL & encoded normalized parameters."""
    encoded = sorted((_pct(k), _pct(v)) for k, v in params)
    normalized = "&".join(f"{k}={v}" for k, v in encoded)
    return "&".join([method.upper(), _pct(base_url), _pct(normalized)])


def hmac_sha1_signature(base_string: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{_pct(consumer_secret)}&{_pct(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base_string.encode(), hashlib.sha1).digest()).decode()


def request_base_url(request: web.Request) -> str:
    scheme = request.scheme.lower()
    host = request.host.lower()
    if (scheme, host.rsplit(":", 1)[-1]) in (("http", "80"), ("https", "443")) and ":" in host:
        host = host.rsplit(":", 1)[0]
    return f"{scheme}://{host}{request.rel_url.raw_path}"


_DEP_MODELS = {"MacBook Pro (14-inch, 2023)": 'MacBook Pro 14"', "MacBook Air (M2, 2022)": 'MacBook Air 13"',
               "Mac mini (2023)": "Mac mini", "Apple TV 4K (3rd generation)": "Apple TV 4K"}


class AppleDEPState(SimState):
    def __init__(self, devices: int = 2000, seed: int = 1, now: float | None = None,
                 server_token: dict | None = None, config: DEPConfig | None = None) -> None:
        super().__init__(config or DEPConfig())
        self.now0 = time.time() if now is None else now
        self.seed = seed
        self.server_token = server_token or make_server_token(seed, self.now0)
        check_server_token(self.server_token)
        self.sessions: dict[str, _Session] = {}
        self.nonces: dict[tuple[str, str, str], None] = {}  # insertion-ordered set
        self.cursors: dict[str, _Cursor] = {}
        self.rng = random.Random(seed * 179424673 + 11)
        self.profile_uuids = [uuid.UUID(int=self.rng.getrandbits(128), version=4).hex.upper() for _ in range(3)]
        self.server_uuid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4)).upper()
        self._fleet = generate_fleet(devices, seed, self.now0, families=APPLE_FAMILIES)
        # serial -> current record (insertion order = Apple's listing order)
        self.devices: dict[str, dict] = {}
        for d in self._fleet:
            if d.serial:  # every device Apple knows has a serial
                self.devices[d.serial] = self._render(d, self.rng)
        self.events: list[dict] = []  # sync log; event i has sequence number i + 1
        self._extra_seed = 0

    # ---- clock, faults -------------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.config.clock_offset_s

    def _retry_after(self) -> dict:
        if self.knobs.retry_after_s is not None and self.config.retry_after_http_date:
            return {"Retry-After": formatdate(time.time() + self.knobs.retry_after_s, usegmt=True)}
        return self.retry_after_headers()

    def failure_response(self, status: int, request: web.Request) -> web.Response:
        text = {400: "MALFORMED_REQUEST_BODY", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
                405: "METHOD_NOT_ALLOWED", 429: "TOO_MANY_REQUESTS", 500: "INTERNAL_SERVER_ERROR",
                502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE", 504: "GATEWAY_TIMEOUT"}.get(status, "ERROR")
        return plain(status, text, self._retry_after() if status in (429, 503) else None)

    def rate_limited_response(self, reset_in: float, request: web.Request) -> web.Response:
        status = self.config.throttle_status
        return plain(status, "SERVICE_UNAVAILABLE" if status == 503 else "TOO_MANY_REQUESTS",
                     self._retry_after())

    # ---- device records --------------------------------------------------------------------
    def _render(self, d: Device, rng: random.Random) -> dict:
        assigned = (d.enrolled_at or self.now0) - rng.uniform(1, 90) * 86400
        status = rng.choices(["pushed", "assigned", "empty", "removed"], [65, 20, 10, 5])[0]
        os_name = {"iOS": "iOS", "iPadOS": "iOS", "macOS": "OSX", "tvOS": "tvOS"}[d.os_name]
        model = _DEP_MODELS.get(d.model, d.model)
        rec = {
            "serial_number": d.serial,
            "model": model,
            "description": f"{d.model.upper()} {d.storage_gb}GB {d.color.upper()}-{rng.choice(['USA', 'GBR', 'DEU'])}",
            "color": d.color.upper(),
            "asset_tag": d.asset_tag,
            "os": os_name,
            "device_family": {"AppleTV": "AppleTV"}.get(d.family, d.family),
            "profile_status": status,
            "device_assigned_date": iso_z(assigned),
            "device_assigned_by": rng.choice(["buyer@example.com", "it-procurement@example.com",
                                              "Apple Store Business"]),
        }
        if status in ("assigned", "pushed"):
            rec["profile_uuid"] = rng.choice(self.profile_uuids)
            rec["profile_assign_time"] = iso_z(assigned + rng.uniform(60, 86400))
        if status == "pushed":
            rec["profile_push_time"] = iso_z(assigned + rng.uniform(86400, 5 * 86400))
        return rec

    def detail_status(self, serial: str) -> str:
        if serial not in self.devices:
            return "NOT_ACCESSIBLE"
        if zlib.crc32(serial.encode()) % 10000 < self.config.detail_failed_ratio * 10000:
            return "FAILED"
        return "SUCCESS"

    def apply_changes(self, count: int) -> list[dict]:
        """Append ``count`` change events (added / modified / deleted), with duplicates."""
        rng = random.Random(self.seed * 7 + 1000 + len(self.events))
        ts = max(self.now(), self._last_op_ts() + 1)
        new: list[dict] = []
        modified: list[str] = []
        for i in range(count):
            ts += rng.uniform(1, 600)
            kind = rng.choices(["added", "modified", "deleted"], [25, 55, 20])[0]
            if i == count - 1 and modified and count >= 3:
                kind = "modified-again"  # make sure a serial shows up twice
            if kind == "added" or not self.devices:
                self._extra_seed += 1
                d = generate_fleet(1, self.seed * 1000 + self._extra_seed, ts, families=APPLE_FAMILIES)[0]
                if not d.serial or d.serial in self.devices:
                    continue
                rec = self._render(d, rng)
                rec["device_assigned_date"] = iso_z(ts)
                self.devices[d.serial] = rec
                new.append({**rec, "op_type": "added", "op_date": iso_z(ts)})
            elif kind in ("modified", "modified-again"):
                serial = modified[0] if kind == "modified-again" else rng.choice(list(self.devices))
                rec = dict(self.devices[serial])  # copy: snapshots of running fetches stay intact
                rec["profile_status"] = rng.choice(["assigned", "pushed", "removed"])
                rec["asset_tag"] = rng.choice([rec["asset_tag"], f"AT-{rng.randint(100000, 999999)}"])
                if rec["profile_status"] == "removed":
                    for k in ("profile_uuid", "profile_assign_time", "profile_push_time"):
                        rec.pop(k, None)
                else:
                    rec["profile_uuid"] = rng.choice(self.profile_uuids)
                    rec["profile_assign_time"] = iso_z(ts - 30)
                    if rec["profile_status"] == "pushed":
                        rec["profile_push_time"] = iso_z(ts)
                self.devices[serial] = rec
                modified.append(serial)
                new.append({**rec, "op_type": "modified", "op_date": iso_z(ts)})
            else:
                serial = rng.choice(list(self.devices))
                rec = self.devices.pop(serial)
                new.append({**rec, "op_type": "deleted", "op_date": iso_z(ts)})
        self.events.extend(new)
        return new

    def _last_op_ts(self) -> float:
        if not self.events:
            return 0.0
        return _dt.datetime.fromisoformat(self.events[-1]["op_date"].replace("Z", "+00:00")).timestamp()

    # ---- OAuth1 and sessions -------------------------------------------------------------
    def verify_session_request(self, request: web.Request) -> web.Response | None:
        """RFC 5849 check of the ``/session`` request; None when it is correctly signed."""
        header = request.headers.get("Authorization", "")
        try:
            oauth = _parse_oauth_header(header)
        except ValueError:
            return plain(400, "BAD_REQUEST")
        query = list(request.query.items())
        for name, _ in query:
            if name.startswith("oauth_") and name in oauth:
                return plain(400, "BAD_REQUEST")  # the same oauth parameter twice
        required = ("oauth_consumer_key", "oauth_token", "oauth_signature_method", "oauth_signature",
                    "oauth_timestamp", "oauth_nonce")
        if any(not oauth.get(k) for k in required):
            return plain(400, "BAD_REQUEST")
        if oauth["oauth_signature_method"] != "HMAC-SHA1" or oauth.get("oauth_version", "1.0") != "1.0":
            return plain(400, "BAD_REQUEST")
        tok = self.server_token
        if oauth["oauth_consumer_key"] != tok["consumer_key"] or oauth["oauth_token"] != tok["access_token"]:
            return plain(401, "UNAUTHORIZED")
        try:
            stamp = int(oauth["oauth_timestamp"])
        except ValueError:
            return plain(400, "BAD_REQUEST")
        window = self.config.oauth_timestamp_window_s
        if window and abs(time.time() - stamp) > window:
            return plain(401, "UNAUTHORIZED")
        params = query + [(k, v) for k, v in oauth.items() if k not in ("realm", "oauth_signature")]
        base = signature_base_string(request.method, request_base_url(request), params)
        expected = hmac_sha1_signature(base, tok["consumer_secret"], tok["access_secret"])
        if not hmac.compare_digest(expected, oauth["oauth_signature"]):
            return plain(401, "UNAUTHORIZED")
        nonce_key = (oauth["oauth_consumer_key"], oauth["oauth_nonce"], oauth["oauth_timestamp"])
        if nonce_key in self.nonces:
            return plain(401, "UNAUTHORIZED")
        self.nonces[nonce_key] = None
        _trim(self.nonces, MAX_REMEMBERED)
        expiry = tok.get("access_token_expiry")
        if expiry:
            try:
                exp = _dt.datetime.fromisoformat(expiry.replace("Z", "+00:00")).timestamp()
            except ValueError:
                exp = None
            if exp is not None and exp <= self.now():
                return plain(403, "ACCESS_DENIED")
        return None

    def new_session(self) -> str:
        token = secrets.token_hex(16).upper()
        token = f"{token[:8]}-{token[8:12]}-{token[12:16]}-{token[16:20]}-{token[20:]}"
        now = self.now()
        if len(self.sessions) >= MAX_REMEMBERED:
            self.sessions = {k: v for k, v in self.sessions.items() if v.expires_at > now and not v.retired}
            _trim(self.sessions, MAX_REMEMBERED - 1)
        self.sessions[token] = _Session(token, now + self.config.session_ttl_s)
        return token

    def check_session(self, request: web.Request) -> tuple[web.Response | None, str | None]:
        """(error, rotated token). A rotated token goes out in the response header."""
        token = request.headers.get("X-ADM-Auth-Session", "").strip()
        if not token:
            return plain(401, "UNAUTHORIZED"), None
        sess = self.sessions.get(token)
        if sess is None:
            return plain(403, "FORBIDDEN"), None
        if sess.retired or sess.expires_at <= self.now():
            return plain(401, "UNAUTHORIZED"), None
        sess.uses += 1
        rotated = None
        if self.config.rotate_every and sess.uses % self.config.rotate_every == 0:
            rotated = self.new_session()
            if self.config.strict_rotation:
                sess.retired = True
        return None, rotated

    # ---- cursors -------------------------------------------------------------------------
    def issue_cursor(self, cur: _Cursor) -> str:
        token = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
        self.cursors[token] = cur
        _trim(self.cursors, MAX_REMEMBERED)  # long benchmarks: forget the oldest (→ INVALID_CURSOR)
        return token

    def more(self, value: bool):
        return ("true" if value else "false") if self.config.more_to_follow_as_string else value


@web.middleware
async def _session_middleware(request: web.Request, handler):
    state: AppleDEPState = state_of(request)
    if request.path.startswith("/_sim/") or request.path == "/session":
        return await handler(request)
    if state.config.terms_not_signed:
        return plain(403, "T_C_NOT_SIGNED")
    denied, rotated = state.check_session(request)
    if denied is not None:
        return denied
    try:
        version = int(request.headers.get("X-Server-Protocol-Version", "1"))
    except ValueError:
        version = 1
    request[_PROTOCOL_KEY] = version
    try:
        resp = await handler(request)
    except web.HTTPNotFound:
        resp = plain(404, "NOT_FOUND")
    except web.HTTPMethodNotAllowed:
        resp = plain(405, "METHOD_NOT_ALLOWED")
    if rotated:
        resp.headers["X-ADM-Auth-Session"] = rotated
    return resp


def _shape(request: web.Request, rec: dict) -> dict:
    if request.get(_PROTOCOL_KEY, 1) >= 2:
        return rec
    return {k: v for k, v in rec.items() if k not in ("os", "device_family")}


async def _body(request: web.Request) -> dict:
    try:
        body = json.loads(await request.read() or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ValueError("MALFORMED_REQUEST_BODY") from None
    if not isinstance(body, dict):
        raise ValueError("MALFORMED_REQUEST_BODY")
    return body


def _limit(body: dict) -> int:
    limit = body.get("limit", DEFAULT_LIMIT)
    if limit is None:
        return DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError("MALFORMED_REQUEST_BODY")
    return min(limit, MAX_LIMIT)


async def session(request: web.Request) -> web.Response:
    state: AppleDEPState = state_of(request)
    denied = state.verify_session_request(request)
    if denied is not None:
        return denied
    if state.config.terms_not_signed:
        return plain(403, "T_C_NOT_SIGNED")
    return json_response({"auth_session_token": state.new_session()})


async def account(request: web.Request) -> web.Response:
    state: AppleDEPState = state_of(request)
    urls = [{"uri": "/session", "http_method": ["GET"]},
            {"uri": "/account", "http_method": ["GET"]},
            {"uri": "/server/devices", "http_method": ["POST"],
             "limit": {"default": DEFAULT_LIMIT, "maximum": MAX_LIMIT}},
            {"uri": "/devices/sync", "http_method": ["POST"],
             "limit": {"default": DEFAULT_LIMIT, "maximum": MAX_LIMIT}},
            {"uri": "/devices", "http_method": ["POST"]}]
    return json_response({
        "server_name": "Oomnitza Simulated MDM", "server_uuid": state.server_uuid,
        "admin_id": "it-admin@example.com", "facilitator_id": "it-admin@example.com",
        "org_name": "Example Corp", "org_email": "it@example.com", "org_phone": "+1 (555) 010-0100",
        "org_address": "1 Example Way, Cupertino CA 95014, US", "org_id": "1234567",
        "org_id_hash": hashlib.sha256(b"1234567").hexdigest(), "org_type": "org", "org_version": "v2",
        "urls": urls})


async def fetch_devices(request: web.Request) -> web.Response:
    state: AppleDEPState = state_of(request)
    try:
        body = await _body(request)
        limit = _limit(body)
    except ValueError as exc:
        return plain(400, str(exc))
    token = body.get("cursor")
    now = state.now()
    if token in (None, ""):
        cur = _Cursor("fetch", now, len(state.events), snapshot=list(state.devices.values()))
    else:
        cur = state.cursors.get(token) if isinstance(token, str) else None
        if cur is None or cur.kind != "fetch":
            return plain(400, "INVALID_CURSOR")
        if now - cur.issued_at > state.config.cursor_ttl_s:
            return plain(400, "EXPIRED_CURSOR")
        if cur.offset >= len(cur.snapshot):
            return plain(400, "EXHAUSTED_CURSOR")
    page = cur.snapshot[cur.offset:cur.offset + limit]
    nxt = _Cursor("fetch", now, cur.seq, snapshot=cur.snapshot, offset=cur.offset + len(page))
    more = nxt.offset < len(cur.snapshot)
    return json_response({"devices": [_shape(request, r) for r in page], "cursor": state.issue_cursor(nxt),
                          "more_to_follow": state.more(more), "fetched_until": iso_z(now)})


async def sync_devices(request: web.Request) -> web.Response:
    state: AppleDEPState = state_of(request)
    try:
        body = await _body(request)
        limit = _limit(body)
    except ValueError as exc:
        return plain(400, str(exc))
    token = body.get("cursor")
    if token in (None, ""):
        return plain(400, "CURSOR_REQUIRED")
    cur = state.cursors.get(token) if isinstance(token, str) else None
    if cur is None:
        return plain(400, "INVALID_CURSOR")
    now = state.now()
    if now - cur.issued_at > state.config.cursor_ttl_s:
        return plain(400, "EXPIRED_CURSOR")
    rows = state.events[cur.seq:cur.seq + limit]
    seq = cur.seq + len(rows)
    more = seq < len(state.events)
    return json_response({"devices": [_shape(request, r) for r in rows],
                          "cursor": state.issue_cursor(_Cursor("sync", now, seq)),
                          "more_to_follow": state.more(more), "fetched_until": iso_z(now)})


async def device_details(request: web.Request) -> web.Response:
    state: AppleDEPState = state_of(request)
    try:
        body = await _body(request)
    except ValueError as exc:
        return plain(400, str(exc))
    serials = body.get("devices")
    if serials is None or serials == []:
        return plain(400, "DEVICE_ID_REQUIRED")
    if (not isinstance(serials, list) or not all(isinstance(s, str) for s in serials)
            or len(serials) > state.config.max_detail_serials):
        return plain(400, "MALFORMED_REQUEST_BODY")
    out = {}
    for serial in serials:
        status = state.detail_status(serial)
        out[serial] = ({**_shape(request, state.devices[serial]), "response_status": status}
                       if status == "SUCCESS" else {"response_status": status})
    return json_response({"devices": out})


async def _post_changes(request: web.Request) -> web.Response:
    state: AppleDEPState = state_of(request)
    try:
        count = int((await request.json()).get("count", 10))
    except (ValueError, TypeError, AttributeError):
        return json_response({"error": "body must be {\"count\": N}"}, status=400)
    return json_response({"events": state.apply_changes(count)})


def build_app(state: AppleDEPState) -> web.Application:
    app = make_app(state)
    app.middlewares.append(_session_middleware)
    add_config_routes(app, lambda s: {"devices": len(s.devices), "events": len(s.events),
                                      "sessions": len(s.sessions)})
    app.router.add_post("/_sim/changes", _post_changes)
    app.router.add_get("/session", session)
    app.router.add_get("/account", account)
    app.router.add_post("/server/devices", fetch_devices)
    app.router.add_post("/devices/sync", sync_devices)
    app.router.add_post("/devices", device_details)
    return app


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--devices", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--token-json-file", default=None,
                   help="server token JSON to accept; generated from --seed and written if missing")
    p.add_argument("--session-ttl", type=float, default=DEPConfig.session_ttl_s)
    p.add_argument("--rotate-every", type=int, default=DEPConfig.rotate_every)
    p.add_argument("--terms-not-signed", action="store_true")


def _from_args(args: argparse.Namespace) -> web.Application:
    token = None
    if args.token_json_file:
        if os.path.exists(args.token_json_file):
            with open(args.token_json_file, encoding="utf-8") as fh:
                token = json.load(fh)
        else:
            token = make_server_token(args.seed)
            with open(args.token_json_file, "w", encoding="utf-8") as fh:
                json.dump(token, fh, indent=2)
    config = DEPConfig(session_ttl_s=args.session_ttl, rotate_every=args.rotate_every,
                       terms_not_signed=args.terms_not_signed)
    return build_app(AppleDEPState(devices=args.devices, seed=args.seed, server_token=token, config=config))


if __name__ == "__main__":
    main(_from_args, "Apple DEP (mdmenrollment.apple.com) simulator", _add_arguments)
