"""Jamf Pro (formerly Casper / JSS) simulator: Classic API, Jamf Pro API, auth and webhooks.

A real aiohttp server on loopback that follows Jamf Pro's wire protocol closely enough that
Jamf's own clients (and our JamfHook) work against it unchanged.  Facts come from
``/work/shared/reference/source-apis.md`` section 1; where that reference was silent or unsure
the choice made here is noted in the docstring of the piece concerned and summarised below.

Run it::

    python -m tests.simulators.jamf --port 0 --computers 500 --mobile-devices 200 \\
        --user admin:jamf1234 --client oomnitza:s3cret --token-lifetime 60 [--allow-basic]

or in-process with ``SimulatorThread(build_app(JamfState(...)))``.  Generated dates lead up to a
fixed anchor (2026-04-01T00:00:00Z) so every run serves identical data; pass ``--anchor now`` (or
``JamfState(anchor_ms=...)``) when a test filters on "checked in within N days" of the real clock.

Endpoints (all GET unless noted)
    Classic: ``/JSSResource/computers``, ``/computers/subset/basic``,
    ``/computers/{id|name|udid|serialnumber|macaddress}/<v>[/subset/<A&B>]``, the same for
    ``/mobiledevices``, ``/computergroups[/{id|name}/<v>]``, ``/mobiledevicegroups[/{id|name}/<v>]``.
    Jamf Pro API: ``/api/v1|v2|v3|v4/computers-inventory`` (``section``, ``page``, ``page-size``,
    ``sort``, ``filter``; v3 from Jamf Pro 11.23, v4 from 11.30, see ``version``),
    ``/api/v1|v2|v3|v4/computers-inventory/{id}`` (``section``), ``/api/vN/computers-inventory-detail/{id}``, ``/api/v2/mobile-devices`` (paged, sort),
    ``/api/v2/mobile-devices/{id}``, ``/api/v2/mobile-devices/{id}/detail``,
    ``/api/v2/mobile-devices/detail`` (paged, ``section``/``sort``/``filter``), ``/api/v1/departments``,
    ``/api/v1/buildings``, ``/api/v1/jamf-pro-version``, ``/api/v1/auth``.
    Control: base ``/_sim/knobs``, ``/_sim/stats``, ``/_sim/reset``; ``GET|POST /_sim/jamf`` (Jamf knobs,
    ``fail_detail_once``, ``delete``, ``delete_after_list``, ``restore_all``, ``expire_tokens``);
    ``POST /_sim/webhook`` (make the simulator send one webhook).

Authentication
    ``POST /api/v1/auth/token`` (Basic) -> ``{"token", "expires"}``; ``POST /api/v1/auth/keep-alive``
    (Bearer) rotates the token and invalidates the old one; ``POST /api/v1/auth/invalidate-token``
    -> 204; ``POST /api/v1/oauth/token`` (from 11.20, see ``SERVED_SINCE``) and the deprecated
    ``POST /api/oauth/token`` (form ``grant_type=client_credentials``) ->
    ``{"access_token", "scope", "token_type": "Bearer", "expires_in"}``.  Bearer tokens work on
    ``/api`` and ``/JSSResource``.  Basic on data calls is refused (401) unless
    ``basic_allowed_on_data`` (Jamf Pro < 11.5 behaviour) and then only on ``/JSSResource``: the
    Jamf Pro API never took Basic for data.  Unknown, invalidated or expired token -> 401;
    authenticated without the needed privilege -> 403.

Errors
    Classic paths answer errors with a small HTML status page; ``/api`` paths with
    ``{"httpStatus": n, "errors": [{"code", "field", "description", "id"}]}``.  Injected faults from
    the base knobs use the same bodies (see :meth:`JamfState.failure_response`).

Choices where the reference was silent or unsure
    * Unknown Classic subset names (e.g. ``Extension_attributes``, what the original connector
      produced) are **ignored**: the record carries only the recognised subsets, so a mapping on
      ``extension_attributes`` silently gets nothing - the original's bug, reproduced.  Subset
      names match case-insensitively (``general`` works).  ``unknown_subset="error"`` answers 400
      instead; ``subset_case_sensitive=True`` makes matching exact.
    * ``page-size`` above ``max_page_size`` (default 2000) is silently clamped, as reported for
      real Jamf Pro (no 400, ``totalCount`` unchanged); ``page-size < 1`` or ``page < 0`` -> 400.
    * Sections not asked for come back as ``null`` keys; an unknown ``section`` value -> 400.
    * RSQL: ``==`` (``*`` wildcards, case-insensitive), ``!=``, ``=lt= =le= =gt= =ge= < <= > >=``,
      ``=in=(a,b)``, ``=out=(...)``, ``;`` (and), ``,`` (or), parentheses, quoted values; unknown
      fields or bad syntax -> 400.  The keywords ``and``/``or`` are not supported.
    * Webhook XML is ``<JSSEvent><webhook>...</webhook><event>...</event></JSSEvent>``; content
      types ``application/json`` / ``application/xml`` (charset UTF-8).  ``product`` on mobile events
      is ``null``.  Jamf's retry behaviour is not simulated: one POST per call.
    * Keep-alive also works for API-client (OAuth) tokens.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import fnmatch
import json
import re
import secrets
import time
import uuid
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Iterable
from xml.sax.saxutils import escape as _xml_escape

from aiohttp import web

from .base import SimState, SimulatorThread, colon_pairs, main, make_app, state_of
from .jamf_data import (COMPUTER_FIELDS, DAY_MS, DEFAULT_ANCHOR_MS, MOBILE_FIELDS, MOBILE_LIST_SORT_FIELDS,
                        Inventory)

__all__ = ["JamfState", "JamfKnobs", "build_app", "WEBHOOK_EVENTS", "PRIVILEGES", "DEFAULT_ACCOUNTS",
           "DEFAULT_API_CLIENTS", "COMPUTER_SUBSETS", "MOBILE_SUBSETS", "SimulatorThread"]

JAMF_PRO_VERSION = "11.30.0"  # the version modelled by default: a current one
OLD_JAMF_PRO_VERSION = "11.14.1"  # before /v3 and /v4 computer inventory and /api/v1/oauth/token
VERSION_BUILD = "-t1738338460"
# Endpoints a Jamf Pro version serves only from a release on (Jamf's API changelog: /v3 computer
# inventory was added in 11.23.0, /v4 in 11.30.0, which deprecated /v3). When /api/v1/oauth/token
# replaced /api/oauth/token is not in the changelog we read; the simulator assumes 11.20.0. The
# deprecated paths are still served, as Jamf Pro 11.30 serves them.
SERVED_SINCE = (
    (re.compile(r"^/api/v3/computers-inventory"), (11, 23, 0)),
    (re.compile(r"^/api/v4/computers-inventory"), (11, 30, 0)),
    (re.compile(r"^/api/v1/oauth/token$"), (11, 20, 0)),
)


def version_tuple(version: str) -> tuple[int, ...]:
    """``"11.30.0-t123"`` -> ``(11, 30, 0)``."""
    return tuple(int(part) for part in re.findall(r"\d+", version.split("-", 1)[0])[:3])
DEFAULT_ACCOUNTS = {"admin": "jamf1234"}
DEFAULT_API_CLIENTS = {"oomnitza-client": "oomnitza-secret"}

PRIV_COMPUTERS = "Read Computers"
PRIV_MOBILE = "Read Mobile Devices"
PRIV_COMPUTER_GROUPS = "Read Static Computer Groups"
PRIV_MOBILE_GROUPS = "Read Static Mobile Device Groups"
PRIV_DEPARTMENTS = "Read Departments"
PRIV_BUILDINGS = "Read Buildings"
PRIVILEGES = (PRIV_COMPUTERS, PRIV_MOBILE, PRIV_COMPUTER_GROUPS, PRIV_MOBILE_GROUPS, PRIV_DEPARTMENTS,
              PRIV_BUILDINGS)

# Classic subset name (Jamf's spelling) -> key of the detail object.
COMPUTER_SUBSETS = {"General": "general", "Location": "location", "Purchasing": "purchasing",
                    "Peripherals": "peripherals", "Hardware": "hardware", "Certificates": "certificates",
                    "Security": "security", "Software": "software", "ExtensionAttributes": "extension_attributes",
                    "GroupsAccounts": "groups_accounts", "iPhones": "iphones",
                    "ConfigurationProfiles": "configuration_profiles"}
MOBILE_SUBSETS = {"General": "general", "Location": "location", "Purchasing": "purchasing",
                  "Applications": "applications", "Security": "security", "Network": "network",
                  "Certificates": "certificates", "ConfigurationProfiles": "configuration_profiles",
                  "ProvisioningProfiles": "provisioning_profiles", "MobileDeviceGroups": "mobile_device_groups",
                  "ExtensionAttributes": "extension_attributes"}

WEBHOOK_EVENTS = ("ComputerAdded", "ComputerCheckIn", "ComputerInventoryCompleted", "ComputerPolicyFinished",
                  "ComputerPushCapabilityChanged", "MobileDeviceCheckIn", "MobileDeviceCommandCompleted",
                  "MobileDeviceEnrolled", "MobileDevicePushSent", "MobileDeviceUnEnrolled")
NESTED_COMPUTER_EVENTS = ("ComputerCheckIn", "ComputerPolicyFinished")

KINDS = ("computers", "mobile_devices")
_KIND_ALIASES = {"computers": "computers", "computer": "computers", "mobile_devices": "mobile_devices",
                 "mobiledevices": "mobile_devices", "mobile_device": "mobile_devices", "mobile": "mobile_devices"}

def _kind(name: str) -> str:
    try:
        return _KIND_ALIASES[name]
    except KeyError:
        raise ValueError(f"unknown device kind {name!r}; use 'computers' or 'mobile_devices'") from None


# ---------------------------------------------------------------------------------------------
# Response helpers: JSON, Classic XML, HTML status pages, Jamf Pro API error bodies
# ---------------------------------------------------------------------------------------------

def _json(body: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(body=json.dumps(body, ensure_ascii=False).encode("utf-8"), status=status,
                        headers=headers, content_type="application/json", charset="UTF-8")


_STATUS_TEXT = {
    400: ("Bad Request", "The request could not be understood by the server due to malformed syntax"),
    401: ("Unauthorized", "The request requires user authentication"),
    403: ("Forbidden", "The server understood the request, but is refusing to fulfill it"),
    404: ("Not Found", "The server has not found anything matching the request URI"),
    405: ("Method Not Allowed", "The method specified in the request is not allowed for the resource"),
    409: ("Conflict", "The request could not be completed due to a conflict with the current state of the resource"),
    429: ("Too Many Requests", "The user has sent too many requests in a given amount of time"),
    500: ("Internal Server Error",
          "The server encountered an unexpected condition which prevented it from fulfilling the request"),
    502: ("Bad Gateway", "The server, while acting as a gateway or proxy, received an invalid response"),
    503: ("Service Unavailable",
          "The server is currently unable to handle the request due to a temporary overloading or maintenance"),
    504: ("Gateway Timeout", "The server, while acting as a gateway or proxy, did not receive a timely response"),
}
_API_ERROR_CODE = {400: "INVALID_FIELD", 401: "INVALID_TOKEN", 403: "INVALID_PRIVILEGE", 404: "INVALID_ID",
                   405: "METHOD_NOT_ALLOWED", 429: "TOO_MANY_REQUESTS", 500: "UNEXPECTED_ERROR",
                   502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE", 504: "GATEWAY_TIMEOUT"}


def html_error(status: int, headers: dict | None = None) -> web.Response:
    """Classic API error: a small HTML status page, never JSON."""
    title, text = _STATUS_TEXT.get(status, ("Error", "The server could not complete the request"))
    page = ("<html>\n<head>\n   <title>Status page</title>\n</head>\n<body style=\"font-family: sans-serif;\">\n"
            f"<p style=\"font-size: 1.2em;font-weight: bold;margin: 1em 0px;\">{title}</p>\n"
            f"<p>{text}</p>\n"
            "<p>You can get technical details <a href=\"https://www.rfc-editor.org/rfc/rfc9110\">here</a>.<br>\n"
            "Please continue your <a href=\"/\">visit</a> at our home page.\n</p>\n</body>\n</html>\n")
    return web.Response(text=page, status=status, headers=headers, content_type="text/html", charset="UTF-8")


def api_error(status: int, description: str | None = None, code: str | None = None,
              field: str | None = None, headers: dict | None = None) -> web.Response:
    """Jamf Pro API error body."""
    desc = description or _STATUS_TEXT.get(status, ("Error",))[0]
    errors = [{"code": code or _API_ERROR_CODE.get(status, "ERROR"), "field": field, "description": desc,
               "id": "0"}]
    return _json({"httpStatus": status, "errors": errors}, status=status, headers=headers)


def _is_classic(path: str) -> bool:
    return path.startswith("/JSSResource")


# Classic XML: list element name -> item element name.  Lists carry <size> unless listed in _NO_SIZE.
_XML_ITEM = {"computers": "computer", "mobile_devices": "mobile_device", "applications": "application",
             "extension_attributes": "extension_attribute", "storage": "device", "partitions": "partition",
             "computer_group_memberships": "group", "local_accounts": "user", "filevault2_users": "user",
             "configuration_profiles": "configuration_profile", "certificates": "certificate",
             "criteria": "criterion", "mobile_device_groups": "mobile_device_group",
             "provisioning_profiles": "mobile_device_provisioning_profile", "attachments": "attachment",
             "peripherals": "peripheral", "iphones": "iphone", "fonts": "font", "plugins": "plugin",
             "computer_groups": "computer_group", "mapped_printers": "printer",
             "installed_by_casper": "package", "installed_by_installer_swu": "package",
             "cached_by_casper": "package", "available_updates": "update",
             "available_software_updates": "name", "running_services": "name", "licensed_software": "name",
             "unix_executables": "string"}
_XML_NO_SIZE = {"extension_attributes", "storage", "partitions", "computer_group_memberships", "local_accounts",
                "filevault2_users", "attachments", "mapped_printers", "available_updates"}


def _xml_into(parts: list[str], tag: str, value: Any) -> None:
    if isinstance(value, dict):
        parts.append(f"<{tag}>")
        for key, item in value.items():
            _xml_into(parts, key, item)
        parts.append(f"</{tag}>")
    elif isinstance(value, (list, tuple)):
        parts.append(f"<{tag}>")
        if tag not in _XML_NO_SIZE:
            parts.append(f"<size>{len(value)}</size>")
        item_tag = _XML_ITEM.get(tag) or (tag[:-1] if tag.endswith("s") else "item")
        for item in value:
            _xml_into(parts, item_tag, item)
        parts.append(f"</{tag}>")
    elif value is None or value == "":
        parts.append(f"<{tag}/>")
    elif isinstance(value, bool):
        parts.append(f"<{tag}>{'true' if value else 'false'}</{tag}>")
    else:
        parts.append(f"<{tag}>{_xml_escape(str(value))}</{tag}>")


def to_xml(root: str, value: Any) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>']
    _xml_into(parts, root, value)
    return "".join(parts).encode("utf-8")


def _accept_prefers_json(accept: str) -> bool:
    """Classic content negotiation: JSON only when the client prefers it; XML otherwise."""
    best_json = best_xml = -1.0
    for media in accept.split(","):
        pieces = [p.strip() for p in media.split(";")]
        mtype, q = pieces[0].lower(), 1.0
        for param in pieces[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if mtype in ("application/json", "text/json"):
            best_json = max(best_json, q)
        elif mtype in ("application/xml", "text/xml", "*/*", "application/*", "text/*"):
            best_xml = max(best_xml, q)
    return best_json > 0 and best_json >= best_xml


def classic_response(request: web.Request, root: str, payload: Any) -> web.Response:
    if _accept_prefers_json(request.headers.get("Accept", "")):
        return _json({root: payload})
    return web.Response(body=to_xml(root, payload), content_type="text/xml", charset="UTF-8")


# ---------------------------------------------------------------------------------------------
# Auth model
# ---------------------------------------------------------------------------------------------

@dataclass
class Principal:
    kind: str  # "user" or "client"
    name: str
    secret: str
    privileges: frozenset[str]


@dataclass
class Token:
    principal: Principal
    expires_at: float  # wall clock, seconds


def _principals(kind: str, source: dict | None, default: dict) -> dict[str, Principal]:
    """``{"name": "secret"}`` or ``{"name": {"password"|"secret": s, "privileges": [...]|"privileged": bool}}``."""
    out = {}
    for name, spec in (default if source is None else source).items():
        if isinstance(spec, str):
            secret, privs = spec, PRIVILEGES
        else:
            secret = spec.get("password", spec.get("secret", ""))
            if "privileges" in spec:
                privs = tuple(spec["privileges"])
            else:
                privs = PRIVILEGES if spec.get("privileged", True) else ()
        out[name] = Principal(kind, name, secret, frozenset(privs))
    return out


def _iso_ms(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---------------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------------

@dataclass
class JamfKnobs:
    """Jamf-specific switches, changeable at run time over ``POST /_sim/jamf``."""

    basic_allowed_on_data: bool = False
    token_lifetime_s: float = 1800.0
    max_page_size: int = 2000
    unknown_subset: str = "ignore"  # "ignore" | "error"
    subset_case_sensitive: bool = False
    # Extra latency per request while more than ``slow_above_concurrency`` requests are in flight:
    # each request sleeps ``slow_extra_ms`` times the number of requests above the limit.  0 = off.
    slow_above_concurrency: int = 0
    slow_extra_ms: float = 0.0
    # The next ``malformed_json_next`` JSON responses whose path matches ``malformed_json_path``
    # are cut in half (status 200, Content-Type still application/json).
    malformed_json_path: str = ""
    malformed_json_next: int = 0
    # Status answered by a detail call listed in ``fail_detail_once``.
    fail_detail_status: int = 500
    # The Jamf Pro version modelled: which endpoints exist (``SERVED_SINCE``) and what
    # ``/api/v1/jamf-pro-version`` answers.
    version: str = JAMF_PRO_VERSION

    def update(self, values: dict) -> None:
        """Set several knobs at once; nothing changes if any key or value is invalid."""
        known = {f.name for f in fields(self)}
        for key, value in values.items():
            if key not in known:
                raise KeyError(f"unknown Jamf knob {key!r}; known: {sorted(known)}")
            if key == "unknown_subset" and value not in ("ignore", "error"):
                raise ValueError("unknown_subset must be 'ignore' or 'error'")
        for key, value in values.items():
            setattr(self, key, value)


class JamfState(SimState):
    """Inventory, accounts, tokens and fault switches of one simulated Jamf Pro server.

    ``accounts`` / ``api_clients``: ``{"name": "secret"}`` (all privileges) or
    ``{"name": {"password": "...", "privileges": [...]}}``; ``{"privileged": False}`` or
    ``"privileges": []`` gives an account that can get a token but gets 403 on data.
    ``computer_groups`` / ``mobile_device_groups``: ``{"group name": [ids]}`` static groups
    (defaults: a handful derived from the inventory, including "Sales & Marketing").
    """

    def __init__(self, computers: int = 100, mobile_devices: int = 50, seed: int = 1, *,
                 accounts: dict | None = None, api_clients: dict | None = None,
                 token_lifetime: float = 1800.0, basic_allowed_on_data: bool = False,
                 computer_groups: dict[str, Iterable[int]] | None = None,
                 mobile_device_groups: dict[str, Iterable[int]] | None = None,
                 anchor_ms: int = DEFAULT_ANCHOR_MS, max_page_size: int = 2000,
                 version: str = JAMF_PRO_VERSION) -> None:
        super().__init__()
        self.inventory = Inventory(computers, mobile_devices, seed, anchor_ms, computer_groups, mobile_device_groups)
        self.accounts = _principals("user", accounts, DEFAULT_ACCOUNTS)
        self.api_clients = _principals("client", api_clients, DEFAULT_API_CLIENTS)
        self._knob_defaults = {"basic_allowed_on_data": basic_allowed_on_data,
                               "token_lifetime_s": float(token_lifetime), "max_page_size": max_page_size,
                               "version": version}
        self.jamf = JamfKnobs(**self._knob_defaults)
        self.slowed_requests = 0
        self.tokens: dict[str, Token] = {}
        self.fail_detail_ids: dict[str, set[int]] = {k: set() for k in KINDS}
        self.deleted: dict[str, set[int]] = {k: set() for k in KINDS}
        self.delete_after_list: dict[str, set[int]] = {k: set() for k in KINDS}
        self.webhooks_sent: list[dict] = []
        self._order_cache: dict[tuple, list[int]] = {}
        self._version = 0

    # -- base hooks -------------------------------------------------------------------------

    def failure_response(self, status: int, request: web.Request) -> web.Response:
        """Injected failures look like Jamf's: HTML on Classic paths, JSON error bodies on ``/api``."""
        return html_error(status) if _is_classic(request.path) else api_error(status)

    def rate_limited_response(self, reset_in: float, request: web.Request) -> web.Response:
        # Jamf Pro has no rate limiter; this only answers if a test turns the base knob on.
        headers = self.retry_after_headers()
        return html_error(429, headers) if _is_classic(request.path) else api_error(429, headers=headers)

    def reset(self) -> None:
        """Faults, stats and deletions back to the start; tokens and inventory stay."""
        super().reset()
        self.slowed_requests = 0  # requests that got slow_extra_ms for a crowd (tests count them)
        self.jamf = JamfKnobs(**self._knob_defaults)
        for k in KINDS:
            self.fail_detail_ids[k].clear()
            self.deleted[k].clear()
            self.delete_after_list[k].clear()
        self._changed()

    # -- inventory views --------------------------------------------------------------------

    def _store(self, kind: str) -> dict[int, dict]:
        return self.inventory.computers if kind == "computers" else self.inventory.mobile_devices

    def device(self, kind: str, device_id: int) -> dict | None:
        """A device that still exists (not deleted)."""
        kind = _kind(kind)
        if device_id in self.deleted[kind]:
            return None
        return self._store(kind).get(device_id)

    def visible_ids(self, kind: str) -> list[int]:
        kind = _kind(kind)
        gone = self.deleted[kind]
        return [i for i in self._store(kind) if i not in gone]

    def _changed(self) -> None:
        self._version += 1
        self._order_cache.clear()

    def delete_device(self, kind: str, *device_ids: int) -> None:
        kind = _kind(kind)
        self.deleted[kind].update(device_ids)
        self._changed()

    def delete_after_next_list(self, kind: str, *device_ids: int) -> None:
        """The devices stay in the next list response, then vanish (detail -> 404)."""
        self.delete_after_list[_kind(kind)].update(device_ids)

    def restore_all(self) -> None:
        for k in KINDS:
            self.deleted[k].clear()
        self._changed()

    def fail_detail_once(self, kind: str, *device_ids: int) -> None:
        """The next detail call for each device answers ``fail_detail_status`` (500), then works."""
        self.fail_detail_ids[_kind(kind)].update(device_ids)

    def _listed(self, kind: str) -> None:
        pending = self.delete_after_list[kind]
        if pending:
            self.deleted[kind].update(pending)
            pending.clear()
            self._changed()

    def _take_detail_fault(self, kind: str, device_id: int) -> bool:
        ids = self.fail_detail_ids[kind]
        if device_id in ids:
            ids.discard(device_id)
            return True
        return False

    # -- tokens -----------------------------------------------------------------------------

    def issue_token(self, principal: Principal) -> tuple[Token, str]:
        """A new bearer token for ``principal``: ``(Token, token string)``."""
        now = time.time()
        expires = now + self.jamf.token_lifetime_s
        header = _b64url(b'{"alg":"HS256","typ":"JWT"}')
        claims = {"token-uuid": str(uuid.uuid4()), "sub": principal.name, "iat": int(now), "exp": int(expires),
                  "type": "apiClient" if principal.kind == "client" else "user"}
        value = f"{header}.{_b64url(json.dumps(claims).encode())}.{_b64url(secrets.token_bytes(32))}"
        token = Token(principal, expires)
        self.tokens[value] = token
        return token, value

    def expire_all_tokens(self) -> None:
        for token in self.tokens.values():
            token.expires_at = 0.0

    def _bearer(self, value: str) -> Principal | None:
        token = self.tokens.get(value)
        if token is None:
            return None
        if token.expires_at <= time.time():
            self.tokens.pop(value, None)
            return None
        return token.principal

    def _basic(self, header_value: str) -> Principal | None:
        try:
            decoded = base64.b64decode(header_value.strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        account = self.accounts.get(user)
        if not sep or account is None or not secrets.compare_digest(account.secret.encode(), password.encode()):
            return None
        return account

    def authenticate(self, request: web.Request, classic: bool, privilege: str | None) -> Principal | web.Response:
        """The caller of a data endpoint, or the 401/403 response to send."""
        error = html_error if classic else api_error
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        scheme = scheme.lower()
        principal = None
        if scheme == "bearer":
            principal = self._bearer(value.strip())
        elif scheme == "basic" and classic and self.jamf.basic_allowed_on_data:
            principal = self._basic(value)
        if principal is None:
            return error(401)
        if privilege and privilege not in principal.privileges:
            return html_error(403) if classic else api_error(403, f"Missing privilege: {privilege}")
        return principal

    # -- ordering for the paged Jamf Pro API lists ------------------------------------------

    def ordered_ids(self, kind: str, sort: str, filter_text: str, filter_fields: dict,
                    sort_fields: dict) -> list[int]:
        """Ids of the visible devices matching ``filter_text``, in ``sort`` order (ties by id)."""
        key = (kind, sort, filter_text, id(filter_fields), id(sort_fields), self._version)
        cached = self._order_cache.get(key)
        if cached is not None:
            return cached
        inv, store = self.inventory, self._store(kind)
        records = [store[i] for i in self.visible_ids(kind)]
        if filter_text.strip():
            predicate = RsqlParser(filter_text, filter_fields).parse()
            records = [r for r in records if predicate(inv, r)]
        records.sort(key=lambda r: r["id"])
        for name, descending in reversed(_parse_sort(sort, sort_fields)):
            getter = sort_fields[name][1]
            records.sort(key=lambda r: _sort_key(getter(inv, r)), reverse=descending)
        ids = [r["id"] for r in records]
        if len(self._order_cache) > 64:
            self._order_cache.clear()
        self._order_cache[key] = ids
        return ids

    # -- webhooks ---------------------------------------------------------------------------

    def webhook_payload(self, event_name: str, device_id: int, fmt: str = "json", *,
                        webhook_id: int | None = None, webhook_name: str | None = None,
                        event_timestamp_ms: int | None = None, policy_id: int = 37, successful: bool = True,
                        trigger: str = "CLIENT_CHECKIN") -> tuple[bytes, str]:
        """The body Jamf Pro POSTs for ``event_name`` about inventory device ``device_id``.

        Flat events carry the device fields directly in ``event`` (``event.jssID``);
        ``ComputerCheckIn`` and ``ComputerPolicyFinished`` nest them under ``event.computer``
        (``event.computer.jssID``) next to ``trigger``/``username`` or ``policyId``/``successful``.
        Returns ``(body, content_type)``.  Deleted devices can still be named (think UnEnrolled).
        """
        if event_name not in WEBHOOK_EVENTS:
            raise ValueError(f"unknown webhook event {event_name!r}; known: {', '.join(WEBHOOK_EVENTS)}")
        if fmt not in ("json", "xml"):
            raise ValueError("fmt must be 'json' or 'xml'")
        inv = self.inventory
        if event_name.startswith("Computer"):
            rec = inv.computers.get(device_id)
            if rec is None:
                raise KeyError(f"no computer with id {device_id}")
            fields_ = inv.webhook_computer(rec)
            if event_name == "ComputerCheckIn":
                event = {"computer": fields_, "trigger": trigger, "username": fields_["username"]}
            elif event_name == "ComputerPolicyFinished":
                event = {"computer": fields_, "policyId": policy_id, "successful": successful}
            else:
                event = fields_
        else:
            rec = inv.mobile_devices.get(device_id)
            if rec is None:
                raise KeyError(f"no mobile device with id {device_id}")
            event = inv.webhook_mobile(rec)
        webhook = {"eventTimestamp": int(time.time() * 1000) if event_timestamp_ms is None else event_timestamp_ms,
                   "id": WEBHOOK_EVENTS.index(event_name) + 1 if webhook_id is None else webhook_id,
                   "name": webhook_name or f"Oomnitza {event_name}", "webhookEvent": event_name}
        if fmt == "json":
            body = json.dumps({"event": event, "webhook": webhook}, ensure_ascii=False).encode("utf-8")
            return body, "application/json; charset=UTF-8"
        parts = ['<?xml version="1.0" encoding="UTF-8"?><JSSEvent>']
        _xml_into(parts, "webhook", {"id": webhook["id"], "name": webhook["name"],
                                     "webhookEvent": event_name, "eventTimestamp": webhook["eventTimestamp"]})
        _xml_into(parts, "event", event)
        parts.append("</JSSEvent>")
        return "".join(parts).encode("utf-8"), "application/xml; charset=UTF-8"

    def send_webhook(self, url: str, event_name: str, device_id: int, fmt: str = "json",
                     auth: tuple[str, str] | None = None, headers: dict | None = None,
                     timeout: float | tuple[float, float] = 10.0, **payload_options: Any):
        """POST one webhook like Jamf Pro does (optional Basic ``auth`` or custom ``headers``).

        Returns the ``requests.Response``; connection errors and timeouts propagate.
        """
        import requests

        body, content_type = self.webhook_payload(event_name, device_id, fmt, **payload_options)
        all_headers = {"Content-Type": content_type, "User-Agent": "Jamf Pro Webhook (simulator)"}
        all_headers.update(headers or {})
        response = requests.post(url, data=body, headers=all_headers, auth=auth, timeout=timeout)
        self.webhooks_sent.append({"url": url, "event": event_name, "device_id": device_id, "format": fmt,
                                   "status": response.status_code})
        return response


# ---------------------------------------------------------------------------------------------
# RSQL filter and sort
# ---------------------------------------------------------------------------------------------

class RsqlError(ValueError):
    def __init__(self, message: str, code: str = "INVALID_RSQL_FILTER"):
        super().__init__(message)
        self.code = code


class SortError(ValueError):
    pass


_RSQL_OPS = ("=ge=", "=gt=", "=le=", "=lt=", "=in=", "=out=", "==", "!=", ">=", "<=", ">", "<")
_OP_ALIASES = {">=": "=ge=", "<=": "=le=", ">": "=gt=", "<": "=lt="}
_SELECTOR = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


def _parse_instant(text: str, date_only: bool) -> int:
    value = text.strip()
    if re.search(r"T\d\d:\d\d(:\d\d(\.\d+)?)? \d\d:?\d\d$", value):  # '+' decoded to ' ' in a query string
        value = value[:-6] + "+" + value[-5:] if value[-6] == " " else value
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            dt = datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
        else:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=timezone.utc)
    except ValueError:
        raise RsqlError(f"invalid date value {text!r}") from None
    ms = int(dt.timestamp() * 1000)
    return ms - ms % DAY_MS if date_only else ms


def _sort_key(value: Any) -> tuple:
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.lower())
    return (1, value)


class RsqlParser:
    """A practical subset of RSQL (see the module docstring) compiled to a predicate."""

    def __init__(self, text: str, field_map: dict):
        self.s, self.i, self.fields = text, 0, field_map

    def parse(self) -> Callable[[Inventory, dict], bool]:
        node = self._or()
        self._ws()
        if self.i != len(self.s):
            raise RsqlError(f"unexpected {self.s[self.i:]!r} at position {self.i}")
        return node

    def _ws(self) -> None:
        while self.i < len(self.s) and self.s[self.i].isspace():
            self.i += 1

    def _peek(self, ch: str) -> bool:
        self._ws()
        return self.s.startswith(ch, self.i)

    def _or(self):
        terms = [self._and()]
        while self._peek(","):
            self.i += 1
            terms.append(self._and())
        return terms[0] if len(terms) == 1 else (lambda inv, r: any(t(inv, r) for t in terms))

    def _and(self):
        terms = [self._term()]
        while self._peek(";"):
            self.i += 1
            terms.append(self._term())
        return terms[0] if len(terms) == 1 else (lambda inv, r: all(t(inv, r) for t in terms))

    def _term(self):
        if self._peek("("):
            self.i += 1
            node = self._or()
            if not self._peek(")"):
                raise RsqlError("missing ')'")
            self.i += 1
            return node
        return self._comparison()

    def _value(self) -> str:
        self._ws()
        if self.i < len(self.s) and self.s[self.i] in "\"'":
            quote, self.i = self.s[self.i], self.i + 1
            out = []
            while self.i < len(self.s) and self.s[self.i] != quote:
                if self.s[self.i] == "\\" and self.i + 1 < len(self.s):
                    self.i += 1
                out.append(self.s[self.i])
                self.i += 1
            if self.i >= len(self.s):
                raise RsqlError("unterminated quoted value")
            self.i += 1
            return "".join(out)
        start = self.i
        while self.i < len(self.s) and self.s[self.i] not in ";,()":
            self.i += 1
        value = self.s[start:self.i].strip()
        if not value:
            raise RsqlError(f"missing value at position {start}")
        return value

    def _comparison(self):
        self._ws()
        m = _SELECTOR.match(self.s, self.i)
        if not m:
            raise RsqlError(f"expected a field name at position {self.i}")
        name = m.group(0)
        self.i = m.end()
        if name not in self.fields:
            raise RsqlError(f"field {name!r} is not allowed in the filter", code="INVALID_FIELD")
        self._ws()
        op = next((o for o in _RSQL_OPS if self.s.startswith(o, self.i)), None)
        if op is None:
            raise RsqlError(f"expected a comparison operator after {name!r}")
        self.i += len(op)
        op = _OP_ALIASES.get(op, op)
        if op in ("=in=", "=out="):
            if not self._peek("("):
                raise RsqlError(f"{op} needs a parenthesised list")
            self.i += 1
            values = [self._value()]
            while self._peek(","):
                self.i += 1
                values.append(self._value())
            if not self._peek(")"):
                raise RsqlError("missing ')' after value list")
            self.i += 1
        else:
            values = [self._value()]
        return _compile_comparison(name, self.fields[name], op, values)


def _compile_comparison(name: str, spec: tuple, op: str, values: list[str]):
    typ, getter = spec

    def convert(v: str) -> Any:
        try:
            if typ == "int":
                return int(v)
            if typ == "bool":
                if v.lower() not in ("true", "false"):
                    raise ValueError(v)
                return v.lower() == "true"
        except ValueError:
            raise RsqlError(f"invalid value {v!r} for {name}") from None
        if typ in ("datetime", "date"):
            return _parse_instant(v, typ == "date")
        return v

    targets = [convert(v) for v in values]

    def norm(value: Any) -> Any:
        if value is None:
            return None
        if typ == "date":
            return value - value % DAY_MS
        if typ == "str":
            return str(value).lower()
        return value

    if typ == "str":
        targets = [t.lower() for t in targets]

    def equals(value: Any, target: Any) -> bool:
        if value is None:
            return False
        if typ == "str" and "*" in target:
            return fnmatch.fnmatchcase(value, target)
        return value == target

    if op in ("==", "=in="):
        return lambda inv, r: any(equals(norm(getter(inv, r)), t) for t in targets)
    if op in ("!=", "=out="):
        return lambda inv, r: not any(equals(norm(getter(inv, r)), t) for t in targets)
    target = targets[0]
    compare = {"=gt=": lambda a: a > target, "=ge=": lambda a: a >= target,
               "=lt=": lambda a: a < target, "=le=": lambda a: a <= target}[op]

    def ordered(inv: Inventory, r: dict) -> bool:
        value = norm(getter(inv, r))
        return value is not None and compare(value)

    return ordered


def _parse_sort(sort: str, field_map: dict) -> list[tuple[str, bool]]:
    out = []
    for part in sort.split(","):
        part = part.strip()
        if not part:
            continue
        name, _, direction = part.partition(":")
        direction = (direction or "asc").lower()
        if name not in field_map:
            raise SortError(f"field {name!r} is not allowed in sort")
        if direction not in ("asc", "desc"):
            raise SortError(f"sort direction must be asc or desc, not {direction!r}")
        out.append((name, direction == "desc"))
    return out


# ---------------------------------------------------------------------------------------------
# Middlewares
# ---------------------------------------------------------------------------------------------

def serves(version: str, path: str) -> bool:
    """Whether the Jamf Pro ``version`` has the endpoint at ``path``."""
    have = version_tuple(version)
    return all(have >= since for pattern, since in SERVED_SINCE if pattern.match(path))


@web.middleware
async def _jamf_middleware(request: web.Request, handler):
    """Innermost: slow-when-crowded, Jamf-shaped 404/405, malformed-JSON injection."""
    state: JamfState = state_of(request)
    if request.path.startswith("/_sim/"):
        return await handler(request)
    k = state.jamf
    if not serves(k.version, request.path):
        return api_error(404)
    if k.slow_above_concurrency > 0 and k.slow_extra_ms > 0:
        over = state.stats.in_flight - k.slow_above_concurrency
        if over > 0:
            state.slowed_requests += 1
            await asyncio.sleep(over * k.slow_extra_ms / 1000.0)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status not in (404, 405):
            raise
        response = html_error(exc.status) if _is_classic(request.path) else api_error(exc.status)
    if (k.malformed_json_next > 0 and isinstance(response, web.Response)
            and response.content_type == "application/json"
            and (not k.malformed_json_path or re.search(k.malformed_json_path, request.path))):
        k.malformed_json_next -= 1
        body = bytes(response.body or b"{}")
        response = web.Response(body=body[: max(1, len(body) // 2)], status=response.status,
                                content_type="application/json", charset="UTF-8")
    return response


# ---------------------------------------------------------------------------------------------
# Handlers
# ---------------------------------------------------------------------------------------------

Handler = Callable[[web.Request, JamfState, Principal], Awaitable[web.StreamResponse]]


def _guard(classic: bool, privilege: str | None) -> Callable[[Handler], Callable]:
    def wrap(fn: Handler):
        async def handler(request: web.Request) -> web.StreamResponse:
            state: JamfState = state_of(request)
            principal = state.authenticate(request, classic, privilege)
            if isinstance(principal, web.Response):
                return principal
            return await fn(request, state, principal)
        return handler
    return wrap


# -- auth endpoints ---------------------------------------------------------------------------

async def auth_token(request: web.Request) -> web.Response:
    state: JamfState = state_of(request)
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    account = state._basic(value) if scheme.lower() == "basic" else None
    if account is None:
        return _json({"httpStatus": 401, "errors": []}, status=401)
    token, value = state.issue_token(account)
    return _json({"token": value, "expires": _iso_ms(token.expires_at)})


def _bearer_value(request: web.Request) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


async def auth_keep_alive(request: web.Request) -> web.Response:
    state: JamfState = state_of(request)
    old = _bearer_value(request)
    principal = state._bearer(old)
    if principal is None:
        return api_error(401)
    state.tokens.pop(old, None)
    token, value = state.issue_token(principal)
    return _json({"token": value, "expires": _iso_ms(token.expires_at)})


async def auth_invalidate(request: web.Request) -> web.Response:
    state: JamfState = state_of(request)
    value = _bearer_value(request)
    if state._bearer(value) is None:
        return api_error(401)
    state.tokens.pop(value, None)
    return web.Response(status=204)


async def auth_details(request: web.Request) -> web.Response:
    state: JamfState = state_of(request)
    principal = state._bearer(_bearer_value(request))
    if principal is None:
        return api_error(401)
    full = principal.privileges >= set(PRIVILEGES)
    return _json({"account": {"id": "1", "username": principal.name, "realName": "", "email": "",
                              "accessLevel": "FullAccess", "privilegeSet": "ADMINISTRATOR" if full else "CUSTOM",
                              "privileges": sorted(principal.privileges), "currentSiteId": "-1"},
                  "sites": [], "authenticationType": "JSS"})


async def oauth_token(request: web.Request) -> web.Response:
    state: JamfState = state_of(request)
    if not request.content_type.startswith("application/x-www-form-urlencoded"):
        return _json({"error": "invalid_request",
                      "error_description": "expected application/x-www-form-urlencoded"}, status=400)
    form = await request.post()
    if form.get("grant_type") != "client_credentials":
        return _json({"error": "unsupported_grant_type"}, status=400)
    client = state.api_clients.get(str(form.get("client_id", "")))
    secret = str(form.get("client_secret", ""))
    if client is None or not secrets.compare_digest(client.secret.encode(), secret.encode()):
        return _json({"error": "invalid_client"}, status=401)
    token, value = state.issue_token(client)
    full = client.privileges >= set(PRIVILEGES)
    return _json({"access_token": value, "scope": "api-role:1" if full else "api-role:2",
                  "token_type": "Bearer", "expires_in": int(round(token.expires_at - time.time()))})


@_guard(classic=False, privilege=None)
async def pro_version(request, state, principal):
    return _json({"version": state.jamf.version + VERSION_BUILD})


# -- Classic API ------------------------------------------------------------------------------

_CLASSIC_KEYS = {"id", "name", "udid", "serialnumber", "macaddress"}


def _classic_find(state: JamfState, kind: str, key: str, value: str) -> dict | None:
    if key not in _CLASSIC_KEYS:
        return None
    if key == "id":
        try:
            return state.device(kind, int(value))
        except ValueError:
            return None
    field = {"name": "name", "udid": "udid", "serialnumber": "serial",
             "macaddress": "mac" if kind == "computers" else "wifi"}[key]
    wanted = value.lower() if key in ("udid", "macaddress") else value
    for i in state.visible_ids(kind):
        rec = state._store(kind)[i]
        have = rec[field].lower() if key in ("udid", "macaddress") else rec[field]
        if have and have == wanted:
            return rec
    return None


def _select_subsets(state: JamfState, full: dict, subsets: str, table: dict[str, str]) -> dict | None:
    """The detail narrowed to ``subsets`` (``A&B``); None means answer 400 (strict mode)."""
    k = state.jamf
    lookup = table if k.subset_case_sensitive else {name.lower(): key for name, key in table.items()}
    keys = []
    for name in subsets.split("&"):
        name = name.strip()
        if not name:
            continue
        key = lookup.get(name if k.subset_case_sensitive else name.lower())
        if key is None:
            if k.unknown_subset == "error":
                return None
            continue
        if key not in keys:
            keys.append(key)
    return {key: full[key] for key in full if key in keys}


def _classic_detail(kind: str, privilege: str):
    root, table = ("computer", COMPUTER_SUBSETS) if kind == "computers" else ("mobile_device", MOBILE_SUBSETS)

    @_guard(classic=True, privilege=privilege)
    async def handler(request, state: JamfState, principal):
        rec = _classic_find(state, kind, request.match_info["key"], request.match_info["value"])
        if rec is None:
            return html_error(404)
        if state._take_detail_fault(kind, rec["id"]):
            return html_error(state.jamf.fail_detail_status)
        inv = state.inventory
        full = inv.classic_computer(rec) if kind == "computers" else inv.classic_mobile(rec)
        subsets = request.match_info.get("subsets")
        if subsets is not None:
            full = _select_subsets(state, full, subsets, table)
            if full is None:
                return html_error(400)
        return classic_response(request, root, full)

    return handler


@_guard(classic=True, privilege=PRIV_COMPUTERS)
async def classic_computers(request, state: JamfState, principal):
    inv = state.inventory
    items = [inv.classic_computer_list_item(inv.computers[i]) for i in state.visible_ids("computers")]
    state._listed("computers")
    return classic_response(request, "computers", items)


@_guard(classic=True, privilege=PRIV_COMPUTERS)
async def classic_computers_basic(request, state: JamfState, principal):
    inv = state.inventory
    items = [inv.classic_computer_basic(inv.computers[i]) for i in state.visible_ids("computers")]
    state._listed("computers")
    return classic_response(request, "computers", items)


@_guard(classic=True, privilege=PRIV_MOBILE)
async def classic_mobiles(request, state: JamfState, principal):
    inv = state.inventory
    items = [inv.classic_mobile_list_item(inv.mobile_devices[i]) for i in state.visible_ids("mobile_devices")]
    state._listed("mobile_devices")
    return classic_response(request, "mobile_devices", items)


def _classic_groups(mobile: bool):
    privilege = PRIV_MOBILE_GROUPS if mobile else PRIV_COMPUTER_GROUPS
    list_root = "mobile_device_groups" if mobile else "computer_groups"
    root = "mobile_device_group" if mobile else "computer_group"
    kind = "mobile_devices" if mobile else "computers"

    @_guard(classic=True, privilege=privilege)
    async def listing(request, state: JamfState, principal):
        groups = state.inventory.mobile_device_groups if mobile else state.inventory.computer_groups
        return classic_response(request, list_root, [{"id": g.id, "name": g.name, "is_smart": g.is_smart}
                                                     for g in groups.values()])

    @_guard(classic=True, privilege=privilege)
    async def one(request, state: JamfState, principal):
        groups = state.inventory.mobile_device_groups if mobile else state.inventory.computer_groups
        key, value = request.match_info["key"], request.match_info["value"]
        group = None
        if key == "name":
            group = groups.get(value)
        elif key == "id":
            group = next((g for g in groups.values() if str(g.id) == value), None)
        if group is None:
            return html_error(404)
        payload = state.inventory.classic_group(group, mobile)
        member_key = "mobile_devices" if mobile else "computers"
        gone = state.deleted[kind]
        payload[member_key] = [m for m in payload[member_key] if m["id"] not in gone]
        state._listed(kind)
        return classic_response(request, root, payload)

    return listing, one


# -- Jamf Pro API -----------------------------------------------------------------------------

def _paging(request: web.Request, state: JamfState) -> tuple[int, int] | web.Response:
    try:
        page = int(request.query.get("page", "0"))
        size = int(request.query.get("page-size", "100"))
    except ValueError:
        return api_error(400, "page and page-size must be integers", "INVALID_PARAMETER", "page-size")
    if page < 0:
        return api_error(400, "page must be 0 or greater", "INVALID_PARAMETER", "page")
    if size < 1:
        return api_error(400, "page-size must be 1 or greater", "INVALID_PARAMETER", "page-size")
    return page, min(size, state.jamf.max_page_size)


def _sections(request: web.Request, allowed: tuple[str, ...]) -> list[str] | web.Response:
    sections = []
    for value in request.query.getall("section", []):
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if part not in allowed:
                return api_error(400, f"Invalid section {part!r}; allowed: {', '.join(allowed)}",
                                 "INVALID_FIELD", "section")
            sections.append(part)
    return sections or ["GENERAL"]


def _paged_ids(request: web.Request, state: JamfState, kind: str, default_sort: str,
               field_map: dict, sort_map: dict, allow_filter: bool) -> tuple[list[int], int, int] | web.Response:
    paging = _paging(request, state)
    if isinstance(paging, web.Response):
        return paging
    page, size = paging
    sort = ",".join(request.query.getall("sort", [])) or default_sort
    filter_text = request.query.get("filter", "") if allow_filter else ""
    try:
        ids = state.ordered_ids(kind, sort, filter_text, field_map, sort_map)
    except SortError as exc:
        return api_error(400, str(exc), "INVALID_FIELD", "sort")
    except RsqlError as exc:
        return api_error(400, str(exc), exc.code, "filter")
    state._listed(kind)
    return ids[page * size:(page + 1) * size], len(ids), size


@_guard(classic=False, privilege=PRIV_COMPUTERS)
async def pro_computers_inventory(request, state: JamfState, principal):
    sections = _sections(request, Inventory.COMPUTER_SECTIONS)
    if isinstance(sections, web.Response):
        return sections
    result = _paged_ids(request, state, "computers", "general.name:asc", COMPUTER_FIELDS, COMPUTER_FIELDS, True)
    if isinstance(result, web.Response):
        return result
    ids, total, _ = result
    inv = state.inventory
    return _json({"totalCount": total, "results": [inv.pro_computer(inv.computers[i], sections) for i in ids]})


def _pro_computer_one(all_sections: bool):
    @_guard(classic=False, privilege=PRIV_COMPUTERS)
    async def handler(request, state: JamfState, principal):
        if all_sections:
            sections = list(Inventory.COMPUTER_SECTIONS)
        else:
            sections = _sections(request, Inventory.COMPUTER_SECTIONS)
            if isinstance(sections, web.Response):
                return sections
        cid = int(request.match_info["id"])
        rec = state.device("computers", cid)
        if rec is None:
            return api_error(404, f"Computer with id {cid} does not exist", "INVALID_ID", "id")
        if state._take_detail_fault("computers", cid):
            return api_error(state.jamf.fail_detail_status)
        return _json(state.inventory.pro_computer(rec, sections))
    return handler


@_guard(classic=False, privilege=PRIV_MOBILE)
async def pro_mobile_devices(request, state: JamfState, principal):
    result = _paged_ids(request, state, "mobile_devices", "id:asc", MOBILE_LIST_SORT_FIELDS,
                        MOBILE_LIST_SORT_FIELDS, False)
    if isinstance(result, web.Response):
        return result
    ids, total, _ = result
    inv = state.inventory
    return _json({"totalCount": total, "results": [inv.pro_mobile_list_item(inv.mobile_devices[i]) for i in ids]})


@_guard(classic=False, privilege=PRIV_MOBILE)
async def pro_mobile_devices_detail_paged(request, state: JamfState, principal):
    sections = _sections(request, Inventory.MOBILE_SECTIONS)
    if isinstance(sections, web.Response):
        return sections
    result = _paged_ids(request, state, "mobile_devices", "displayName:asc", MOBILE_FIELDS, MOBILE_FIELDS, True)
    if isinstance(result, web.Response):
        return result
    ids, total, _ = result
    inv = state.inventory
    return _json({"totalCount": total,
                  "results": [inv.pro_mobile_inventory(inv.mobile_devices[i], sections) for i in ids]})


def _pro_mobile_one(detail: bool):
    @_guard(classic=False, privilege=PRIV_MOBILE)
    async def handler(request, state: JamfState, principal):
        mid = int(request.match_info["id"])
        rec = state.device("mobile_devices", mid)
        if rec is None:
            return api_error(404, f"Mobile device with id {mid} does not exist", "INVALID_ID", "id")
        if state._take_detail_fault("mobile_devices", mid):
            return api_error(state.jamf.fail_detail_status)
        inv = state.inventory
        return _json(inv.pro_mobile_detail_v2(rec) if detail else inv.pro_mobile_list_item(rec))
    return handler


def _pro_named_list(attr: str, privilege: str):
    @_guard(classic=False, privilege=privilege)
    async def handler(request, state: JamfState, principal):
        paging = _paging(request, state)
        if isinstance(paging, web.Response):
            return paging
        page, size = paging
        items = [{"id": i, "name": name} for i, name in getattr(state.inventory, attr).items()]
        return _json({"totalCount": len(items), "results": items[page * size:(page + 1) * size]})
    return handler


# -- control routes ---------------------------------------------------------------------------

def _jamf_control_view(state: JamfState) -> dict:
    return {"knobs": asdict(state.jamf),
            "fail_detail_once": {k: sorted(v) for k, v in state.fail_detail_ids.items()},
            "deleted": {k: sorted(v) for k, v in state.deleted.items()},
            "delete_after_list": {k: sorted(v) for k, v in state.delete_after_list.items()},
            "live_tokens": sum(1 for t in state.tokens.values() if t.expires_at > time.time()),
            "webhooks_sent": state.webhooks_sent[-50:]}


async def control_get(request: web.Request) -> web.Response:
    return _json(_jamf_control_view(state_of(request)))


async def control_post(request: web.Request) -> web.Response:
    """Jamf knobs plus ``fail_detail_once`` / ``delete`` / ``delete_after_list`` ({kind: [ids]}),
    ``restore_all`` and ``expire_tokens`` (true)."""
    state: JamfState = state_of(request)
    try:
        body = await request.json()
        actions = {key: body.pop(key) for key in ("fail_detail_once", "delete", "delete_after_list",
                                                    "restore_all", "expire_tokens") if key in body}
        state.jamf.update(body)
        for kind, ids in actions.get("fail_detail_once", {}).items():
            state.fail_detail_once(kind, *map(int, ids))
        for kind, ids in actions.get("delete", {}).items():
            state.delete_device(kind, *map(int, ids))
        for kind, ids in actions.get("delete_after_list", {}).items():
            state.delete_after_next_list(kind, *map(int, ids))
        if actions.get("restore_all"):
            state.restore_all()
        if actions.get("expire_tokens"):
            state.expire_all_tokens()
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        return _json({"error": str(exc)}, status=400)
    return _json(_jamf_control_view(state))


async def control_webhook(request: web.Request) -> web.Response:
    """``POST /_sim/webhook {"url", "event", "device_id", "format"?, "auth"?, "headers"?, "timeout"?}``.

    Builds the payload for an inventory device and POSTs it to ``url`` the way Jamf Pro does;
    answers ``{"status": <receiver status>, ...}``, 400 for a bad request and 502 when the
    receiver cannot be reached or times out.
    """
    import aiohttp

    state: JamfState = state_of(request)
    try:
        spec = await request.json()
        url, event, device_id = spec["url"], spec["event"], int(spec["device_id"])
        fmt = spec.get("format", "json")
        body, content_type = state.webhook_payload(event, device_id, fmt)
    except (KeyError, ValueError, TypeError) as exc:
        return _json({"error": str(exc)}, status=400)
    headers = {"Content-Type": content_type, "User-Agent": "Jamf Pro Webhook (simulator)"}
    auth = spec.get("auth")
    if auth:
        user, password = (auth["username"], auth["password"]) if isinstance(auth, dict) else auth
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    headers.update(spec.get("headers") or {})
    timeout = aiohttp.ClientTimeout(total=float(spec.get("timeout", 10.0)))
    record = {"url": url, "event": event, "device_id": device_id, "format": fmt}
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.post(url, data=body, headers=headers) as resp:
                await resp.read()
                record["status"] = resp.status
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        record["error"] = f"{type(exc).__name__}: {exc}"
        state.webhooks_sent.append(record)
        return _json(record, status=502)
    state.webhooks_sent.append(record)
    return _json({**record, "content_type": content_type, "bytes": len(body)})


# ---------------------------------------------------------------------------------------------
# App factory and CLI
# ---------------------------------------------------------------------------------------------

def build_app(state: JamfState | None = None) -> web.Application:
    """The Jamf Pro simulator app (base knobs, stats and control routes included)."""
    state = state or JamfState()
    app = make_app(state)
    app.middlewares.append(_jamf_middleware)
    r = app.router
    r.add_get("/_sim/jamf", control_get)
    r.add_post("/_sim/jamf", control_post)
    r.add_post("/_sim/webhook", control_webhook)

    r.add_post("/api/v1/auth/token", auth_token)
    r.add_post("/api/v1/auth/keep-alive", auth_keep_alive)
    r.add_post("/api/v1/auth/invalidate-token", auth_invalidate)
    r.add_get("/api/v1/auth", auth_details)
    r.add_post("/api/oauth/token", oauth_token)
    r.add_post("/api/v1/oauth/token", oauth_token)
    r.add_get("/api/v1/jamf-pro-version", pro_version)

    r.add_get("/JSSResource/computers", classic_computers)
    r.add_get("/JSSResource/computers/subset/basic", classic_computers_basic)
    r.add_get("/JSSResource/computers/{key}/{value}", _classic_detail("computers", PRIV_COMPUTERS))
    r.add_get("/JSSResource/computers/{key}/{value}/subset/{subsets}", _classic_detail("computers", PRIV_COMPUTERS))
    r.add_get("/JSSResource/mobiledevices", classic_mobiles)
    r.add_get("/JSSResource/mobiledevices/{key}/{value}", _classic_detail("mobile_devices", PRIV_MOBILE))
    r.add_get("/JSSResource/mobiledevices/{key}/{value}/subset/{subsets}",
              _classic_detail("mobile_devices", PRIV_MOBILE))
    for mobile, path in ((False, "computergroups"), (True, "mobiledevicegroups")):
        listing, one = _classic_groups(mobile)
        r.add_get(f"/JSSResource/{path}", listing)
        r.add_get(f"/JSSResource/{path}/{{key}}/{{value}}", one)

    for version in ("v1", "v2", "v3", "v4"):
        r.add_get(f"/api/{version}/computers-inventory", pro_computers_inventory)
        r.add_get(f"/api/{version}/computers-inventory/{{id:\\d+}}", _pro_computer_one(False))
        r.add_get(f"/api/{version}/computers-inventory-detail/{{id:\\d+}}", _pro_computer_one(True))
    r.add_get("/api/v2/mobile-devices", pro_mobile_devices)
    r.add_get("/api/v2/mobile-devices/detail", pro_mobile_devices_detail_paged)
    r.add_get("/api/v2/mobile-devices/{id:\\d+}", _pro_mobile_one(False))
    r.add_get("/api/v2/mobile-devices/{id:\\d+}/detail", _pro_mobile_one(True))
    r.add_get("/api/v1/departments", _pro_named_list("departments", PRIV_DEPARTMENTS))
    r.add_get("/api/v1/buildings", _pro_named_list("buildings", PRIV_BUILDINGS))
    return app


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--computers", type=int, default=100, help="number of computers")
    parser.add_argument("--mobile-devices", type=int, default=50, help="number of mobile devices")
    parser.add_argument("--seed", type=int, default=1, help="inventory seed (same seed, same data)")
    parser.add_argument("--user", action="append", metavar="LOGIN:PASSWORD",
                        help=f"Jamf account (repeatable; default {next(iter(DEFAULT_ACCOUNTS))}:...)")
    parser.add_argument("--client", action="append", metavar="ID:SECRET",
                        help=f"API client (repeatable; default {next(iter(DEFAULT_API_CLIENTS))}:...)")
    parser.add_argument("--token-lifetime", type=float, default=1800.0, help="token lifetime in seconds")
    parser.add_argument("--allow-basic", action="store_true",
                        help="accept Basic auth on Classic data calls (Jamf Pro < 11.5)")
    parser.add_argument("--max-page-size", type=int, default=2000, help="Jamf Pro API page-size clamp")
    parser.add_argument("--jamf-version", default=JAMF_PRO_VERSION,
                        help=f"Jamf Pro version modelled (which endpoints exist; default {JAMF_PRO_VERSION})")
    parser.add_argument("--anchor", default=None,
                        help="'now' or an ISO date/time the generated dates lead up to "
                             "(default 2026-04-01T00:00:00Z, so data is identical on every run)")


def _anchor_ms(value: str | None) -> int:
    if not value:
        return DEFAULT_ANCHOR_MS
    if value == "now":
        return int(time.time() * 1000)
    try:
        return _parse_instant(value, date_only=False)
    except RsqlError:
        raise SystemExit(f"--anchor expects 'now' or an ISO date/time, got {value!r}") from None


def _app_from_args(args: argparse.Namespace) -> web.Application:
    state = JamfState(args.computers, args.mobile_devices, args.seed, anchor_ms=_anchor_ms(args.anchor),
                      accounts=colon_pairs(args.user, "--user", "name:secret"),
                      api_clients=colon_pairs(args.client, "--client", "name:secret"),
                      token_lifetime=args.token_lifetime, basic_allowed_on_data=args.allow_basic,
                      max_page_size=args.max_page_size, version=args.jamf_version)
    return build_app(state)


if __name__ == "__main__":
    main(_app_from_args, "Jamf Pro (Classic + Jamf Pro API) simulator", _add_arguments)
