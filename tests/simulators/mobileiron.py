"""Loopback simulator of MobileIron Core (Ivanti EPMM) API v2 and MobileIron Cloud (Ivanti
Neurons for MDM) API v1, served side by side by one app over one device fleet.

Run ``python -m tests.simulators.mobileiron --port 0 --devices 5000`` (prints its URL first).

Core v2 (on-prem):

* ``GET /api/v2/ping``
* ``GET /api/v2/device_spaces/mine`` → ``{"results": [{"id": 1, "name": "Global", ...}], ...}``
* ``GET /api/v2/device_spaces/criteria?adminDeviceSpaceId=`` → field names for ``fields``
* ``GET /api/v2/labels/label_summary?adminDeviceSpaceId=``
* ``GET /api/v2/devices?adminDeviceSpaceId=&fields=&query=&labelId=&limit=&offset=&sortField=&sortOrder=``
  → ``{"results", "totalCount", "resultCount", "hasMore"}``; 400 without ``adminDeviceSpaceId``,
  without ``fields``, or without **both** ``query`` and ``labelId`` (``labelId=-1`` = all labels).
  ``query`` supports ``"field" = "value"``, ``!=``, ``contains``, joined with AND / OR.
* Legacy ``GET /api/v1/dm/devices[?status=ACTIVE]`` — XML unless ``Accept: application/json``.

Cloud v1:

* ``GET /api/v1/tenant/partition/device`` → ``{"result": {"searchResults": [{"id", "name"}]}}``
* ``GET /api/v1/device?dmPartitionId=&start=&rows=&sortFields[0].name=lastCheckin&sortFields[0].order=DESC``
  → ``{"result": {"searchResults": [...], "totalCount": N}}``; ``lastCheckin`` is epoch ms.
  Page with ``start``; ``offset`` is ignored (the original connector found it did not work).
  ``rows`` must be 1..500 (Ivanti's documented limit; release 75 and later answer 400 with
  ``{"errors": {"globalErrors": null, "fieldErrors": [{"code": "Range", ...}]}, "result": null}``).
* ``GET /api/v1/device/{id}/hardwareinventory`` (Windows devices).

Auth: Basic with an admin holding the API role; 401 (with ``WWW-Authenticate: Basic``) for bad or
missing credentials, 403 for an account without the API role. Error bodies: Core
``{"messages": [{"type": "Error", "messageKey", "localizedMessage"}]}``, Cloud
``{"errors": [{"type", "message"}]}`` (both shapes are assumptions, see the report).
"""
from __future__ import annotations

import argparse
import random
import re
import time
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from aiohttp import web

from .base import (SimState, Settings, add_config_routes, decode_basic, json_response, main, make_app,
                   state_of)
from .device_data import Device, generate_fleet, iso_z

_USER_KEY = web.RequestKey("user", str)
DEFAULT_USER = "miadmin"
DEFAULT_PASSWORD = "Sim-Passw0rd!"
NO_ROLE_USER = ("helpdesk", "Sim-Passw0rd!")    # valid login, no API role → 403
REGIONAL_USER = ("emeaadmin", "Sim-Passw0rd!")  # API role, Core device space 2 (EMEA) only
MI_FAMILIES = ("iPhone", "iPad", "Mac", "AndroidPhone", "AndroidTablet", "Windows")
VSP_VERSION = "12.1.0.0"

@dataclass
class MobileIronConfig(Settings):
    """Vendor-specific run-time settings (``GET/POST /_sim/config``)."""

    cloud_max_rows: int = 500      # Cloud ``rows`` above this is a 400 (documented limit: 500)
    core_max_limit: int = 10000    # Core ``limit`` above this is a 400 (documented range 0..10000)
    core_default_limit: int = 50


def core_error(status: int, message: str, headers: dict | None = None) -> web.Response:
    body = {"messages": [{"type": "Error", "messageKey": f"com.mobileiron.vsp.messages.http.{status}",
                          "localizedMessage": message, "messageParameters": []}]}
    return json_response(body, status=status, headers=headers)


def cloud_error(status: int, message: str, headers: dict | None = None) -> web.Response:
    kind = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
            429: "TOO_MANY_REQUESTS"}.get(status, "SERVER_ERROR")
    return json_response({"errors": [{"type": kind, "message": message}], "result": None},
                         status=status, headers=headers)


def cloud_field_error(field: str, code: str, message: str) -> web.Response:
    """A Cloud parameter validation error, in the shape Ivanti documents for ``rows`` out of range."""
    body = {"errors": {"globalErrors": None, "fieldErrors": [{"code": code, "message": message, "field": field}]},
            "result": None}
    return json_response(body, status=400)


def mi_error(path: str, status: int, message: str, headers: dict | None = None) -> web.Response:
    """Error in the shape of whichever product the request ``path`` belongs to."""
    if path.startswith("/api/v2/") or path.startswith("/api/v1/dm/"):
        return core_error(status, message, headers)
    return cloud_error(status, message, headers)


# ---- Core field catalogue (name, displayName, type) -----------------------------------------
CORE_FIELDS = [
    ("common.id", "Device ID", "INTEGER"), ("common.uuid", "UUID", "STRING"),
    ("common.imei", "IMEI", "STRING"), ("common.imsi", "IMSI", "STRING"),
    ("common.Serialnumber", "Serial Number", "STRING"), ("common.model", "Model", "STRING"),
    ("common.model_name", "Model Name", "STRING"), ("common.manufacturer", "Manufacturer", "STRING"),
    ("common.platform", "Platform", "STRING"), ("common.platform_name", "Platform Name", "STRING"),
    ("common.os_version", "OS Version", "STRING"), ("common.status", "Status", "STRING"),
    ("common.last_connected_at", "Last Check-In", "DATE"),
    ("common.registration_date", "Registration Date", "DATE"),
    ("common.wifi_mac_address", "Wi-Fi MAC Address", "STRING"), ("common.ip_address", "IP Address", "STRING"),
    ("common.owner", "Ownership", "STRING"), ("common.compliant", "Compliant", "BOOLEAN"),
    ("common.quarantined", "Quarantined", "BOOLEAN"), ("common.current_phone_number", "Phone Number", "STRING"),
    ("common.device_space_name", "Device Space", "STRING"), ("common.storage_capacity", "Storage Capacity", "STRING"),
    ("user.user_id", "User ID", "STRING"), ("user.email_address", "Email", "STRING"),
    ("user.display_name", "Display Name", "STRING"), ("user.first_name", "First Name", "STRING"),
    ("user.last_name", "Last Name", "STRING"),
    ("ios.iPhone UDID", "UDID", "STRING"), ("ios.DeviceName", "Device Name", "STRING"),
    ("ios.IsSupervised", "Supervised", "BOOLEAN"), ("ios.BuildVersion", "Build Version", "STRING"),
    ("android.brand", "Brand", "STRING"), ("android.security_patch", "Security Patch", "STRING"),
    ("windows_phone.wp_device_name", "Windows Device Name", "STRING"),
]
CORE_FIELD_NAMES = [f[0] for f in CORE_FIELDS]
CORE_LABELS = [  # (id, name, predicate on a rendered Core record)
    (1, "All-Smartphones", lambda r: True),
    (2, "iOS", lambda r: r["common.platform"] == "iOS"),
    (3, "Android", lambda r: r["common.platform"] == "Android"),
    (4, "Windows", lambda r: r["common.platform"] == "Windows"),
    (5, "macOS", lambda r: r["common.platform"] == "macOS"),
    (6, "Company-Owned", lambda r: r["common.owner"] == "COMPANY"),
    (7, "Employee-Owned", lambda r: r["common.owner"] == "EMPLOYEE"),
]
CORE_SPACES = [  # (id, name, predicate on a Device)
    (1, "Global", lambda d: True),
    (2, "EMEA", lambda d: d.region == "EMEA"),
]
CLOUD_PARTITIONS = [(100001, "Default Partition"), (100002, "Drivers"), (100003, "Executives"),
                    (100004, "Kiosks")]

_CLOUD_PLATFORM = {"iPhone": "IOS", "iPad": "IOS", "Mac": "MACOS", "AndroidPhone": "ANDROID",
                   "AndroidTablet": "ANDROID", "Windows": "WINDOWS"}
_CORE_PLATFORM = {"iPhone": "iOS", "iPad": "iOS", "Mac": "macOS", "AndroidPhone": "Android",
                  "AndroidTablet": "Android", "Windows": "Windows"}
_CORE_STATUS = {"Enrolled": "ACTIVE", "Unenrolled": "RETIRED", "Registered": "VERIFICATION_PENDING",
                "EnrollmentInProgress": "IENROLL_INPROGRESS"}
_CLOUD_STATE = {"Enrolled": "ACTIVE", "Unenrolled": "RETIRED", "Registered": "PENDING",
                "EnrollmentInProgress": "PENDING"}


class MobileIronState(SimState):
    def __init__(self, devices: int = 2000, seed: int = 1, now: float | None = None,
                 user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD,
                 config: MobileIronConfig | None = None) -> None:
        super().__init__(config or MobileIronConfig())
        self.now0 = time.time() if now is None else now
        self.seed = seed
        # name -> (password, has API role, Core device space ids)
        self.users = {user: (password, True, [1]), NO_ROLE_USER[0]: (NO_ROLE_USER[1], False, [1]),
                      REGIONAL_USER[0]: (REGIONAL_USER[1], True, [2])}
        rng = random.Random(seed * 104729 + 5)
        self.fleet = generate_fleet(devices, seed, self.now0, families=MI_FAMILIES)
        self.core: list[dict] = []
        self.cloud: list[dict] = []
        self.device_of_cloud_id: dict[int, Device] = {}
        self.space_members: dict[int, list[int]] = {sid: [] for sid, _, _ in CORE_SPACES}
        core_id, cloud_id = 1, 998000
        for i, d in enumerate(self.fleet):
            core_id += rng.randint(1, 2)
            cloud_id += rng.randint(1, 4)
            self.core.append(self._render_core(d, core_id, rng))
            for sid, _, member in CORE_SPACES:
                if member(d):
                    self.space_members[sid].append(i)
            partition = (100004 if d.ownership == "S" else 100002 if d.region == "Field Ops"
                         else 100003 if rng.random() < 0.05 else 100001)
            self.cloud.append(self._render_cloud(d, cloud_id, partition, rng))
            self.device_of_cloud_id[cloud_id] = d
        self.cloud_by_id = {r["id"]: r for r in self.cloud}
        self._cloud_sorted: dict[tuple, list[dict]] = {}

    # ---- faults ----------------------------------------------------------------------------
    def failure_response(self, status: int, request: web.Request) -> web.Response:
        text = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                504: "Gateway Timeout"}.get(status, f"Simulated failure {status}")
        return mi_error(request.path, status, text)

    def rate_limited_response(self, reset_in: float, request: web.Request) -> web.Response:
        return mi_error(request.path, 429, "API rate limit exceeded", self.retry_after_headers())

    # ---- rendering -------------------------------------------------------------------------
    def _render_core(self, d: Device, core_id: int, rng: random.Random) -> dict:
        u = d.user
        rec = {
            "common.id": core_id,
            "common.uuid": d.guid,
            "common.imei": d.imei or None,
            "common.imsi": f"310{rng.randrange(10 ** 12):012d}" if d.imei else None,
            "common.Serialnumber": d.serial or None,
            "common.model": d.model_id,
            "common.model_name": d.model,
            "common.manufacturer": d.manufacturer,
            "common.platform": _CORE_PLATFORM[d.family],
            "common.platform_name": f"{_CORE_PLATFORM[d.family]} {d.os_version}",
            "common.os_version": d.os_version,
            "common.status": _CORE_STATUS[d.enrollment_status],
            "common.last_connected_at": iso_z(d.last_seen_at, millis=True) if d.last_seen_at else None,
            "common.registration_date": iso_z(d.enrolled_at, millis=True) if d.enrolled_at else None,
            "common.wifi_mac_address": ":".join(d.wifi_mac[i:i + 2] for i in range(0, 12, 2)).lower()
            if d.wifi_mac else None,
            "common.ip_address": d.ip_address,
            "common.owner": {"C": "COMPANY", "E": "EMPLOYEE", "S": "COMPANY"}[d.ownership],
            "common.compliant": bool(d.compliant),
            "common.quarantined": d.compliant is False and rng.random() < 0.3,
            "common.current_phone_number": d.phone_number or None,
            "common.device_space_name": "EMEA" if d.region == "EMEA" else "Global",
            "common.storage_capacity": f"{d.storage_gb} GB",
            "user.user_id": u.username if u else "unassigned",
            "user.email_address": u.email if u else None,
            "user.display_name": u.display if u else None,
            "user.first_name": u.first if u else None,
            "user.last_name": u.last if u else None,
        }
        if d.family in ("iPhone", "iPad", "Mac"):
            rec["ios.iPhone UDID"] = d.udid
            rec["ios.DeviceName"] = d.device_name
            rec["ios.IsSupervised"] = d.supervised
            rec["ios.BuildVersion"] = d.os_build
        elif d.family.startswith("Android"):
            rec["android.brand"] = d.manufacturer
            rec["android.security_patch"] = f"2026-{rng.randint(1, 11):02d}-01"
        elif d.family == "Windows":
            rec["windows_phone.wp_device_name"] = d.device_name
        # Fields without a value are not returned at all.
        return {k: v for k, v in rec.items() if v is not None}

    def _render_cloud(self, d: Device, cloud_id: int, partition: int, rng: random.Random) -> dict:
        u = d.user
        return {
            "id": cloud_id,
            "guid": d.guid,
            "deviceModel": d.model,
            "manufacturer": d.manufacturer,
            "platformType": _CLOUD_PLATFORM[d.family],
            "osVersion": d.os_version,
            "serialNumber": d.serial or None,
            "imei": d.imei or None,
            "wifiMacAddress": ":".join(d.wifi_mac[i:i + 2] for i in range(0, 12, 2)).lower()
            if d.wifi_mac else None,
            "uid": u.email if u else None,
            "emailAddress": u.email if u else None,
            "firstName": u.first if u else None,
            "lastName": u.last if u else None,
            "displayName": d.device_name or None,
            "phoneNumber": d.phone_number or None,
            "ownershipType": {"C": "COMPANY", "E": "EMPLOYEE", "S": "COMPANY"}[d.ownership],
            "lastCheckin": int(d.last_seen_at * 1000) if d.last_seen_at is not None else None,
            "registrationState": _CLOUD_STATE[d.enrollment_status],
            "registrationTime": int(d.enrolled_at * 1000) if d.enrolled_at is not None else None,
            "compliant": d.compliant,
            "windowsDeviceType": "DESKTOP" if d.family == "Windows" else None,
            "dmPartitionId": partition,
        }

    def hardware_inventory(self, cloud_id: int) -> dict:
        d = self.device_of_cloud_id[cloud_id]
        rng = random.Random(self.seed * 1_000_033 + cloud_id)
        if rng.random() < 0.05:  # never reported inventory yet
            return {"processor": [], "hardDrive": [], "physicalMemory": []}
        sticks = rng.choice([1, 2])
        return {
            "processor": [{"name": d.cpu, "cores": d.cpu_cores, "manufacturer":
                           "AuthenticAMD" if "AMD" in d.cpu else "GenuineIntel"}],
            "hardDrive": [{"size": d.storage_gb * 1000 ** 3, "model": rng.choice(
                ["SAMSUNG MZVL2512HCJQ", "WDC PC SN810", "KIOXIA KXG80ZNV512G"])}],
            "physicalMemory": [{"capacity": d.ram_gb * 1024 ** 3 // sticks} for _ in range(sticks)],
            "computerSystemProduct": {"identifyingNumber": d.serial, "name": d.model,
                                      "vendor": d.manufacturer, "uuid": d.udid},
        }

    # ---- auth ------------------------------------------------------------------------------
    def authenticate(self, request: web.Request) -> tuple[str | None, web.Response | None]:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        who = pw = None
        if scheme.lower() == "basic":
            creds = decode_basic(value)
            if creds is not None:
                who, pw = creds
        entry = self.users.get(who or "")
        if entry is None or entry[0] != pw:
            return None, mi_error(request.path, 401, "Authentication failed: bad credentials",
                                  {"WWW-Authenticate": 'Basic realm="MobileIron"'})
        if not entry[1]:
            return None, mi_error(request.path, 403,
                                  f"User {who} does not have the API role required for this call")
        return who, None


@web.middleware
async def _auth_middleware(request: web.Request, handler):
    if not request.path.startswith("/api/"):
        return await handler(request)
    state: MobileIronState = state_of(request)
    who, denied = state.authenticate(request)
    if denied is not None:
        return denied
    request[_USER_KEY] = who
    return await handler(request)


def _int_param(q, name: str, default: int | None, lo: int, hi: int) -> int:
    raw = q.get(name)
    if raw is None or raw == "":
        if default is None:
            raise ValueError(f"{name} is required")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number") from None
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be at least {lo} and no more than {hi}")
    return value


# ---- Core v2 ----------------------------------------------------------------------------------

def _space_for(request: web.Request) -> int:
    state: MobileIronState = state_of(request)
    space = _int_param(request.query, "adminDeviceSpaceId", None, 0, 2 ** 31)
    if space not in state.users[request[_USER_KEY]][2]:
        raise PermissionError(f"Admin is not assigned to device space {space}")
    return space


async def core_ping(request: web.Request) -> web.Response:
    return json_response({"results": {"apiVersion": 2, "vspVersion": VSP_VERSION}})


async def core_spaces_mine(request: web.Request) -> web.Response:
    state: MobileIronState = state_of(request)
    try:
        limit = _int_param(request.query, "limit", 10000, 0, 10000)
        offset = _int_param(request.query, "offset", 0, 0, 10_000_000)
    except ValueError as exc:
        return core_error(400, str(exc))
    mine = [s for s in CORE_SPACES if s[0] in state.users[request[_USER_KEY]][2]]
    rows = [{"id": sid, "name": name, "status": "ACTIVE", "priority": 0 if sid == 1 else sid,
             "deviceCount": len(state.space_members[sid]),
             "criteria": "" if sid == 1 else '"common.device_space_name" = "EMEA"'}
            for sid, name, _ in mine]
    page = rows[offset:offset + limit]
    return json_response({"results": page, "totalCount": len(rows), "resultCount": len(page),
                          "hasMore": offset + len(page) < len(rows)})


async def core_criteria(request: web.Request) -> web.Response:
    try:
        _space_for(request)
    except ValueError as exc:
        return core_error(400, str(exc))
    except PermissionError as exc:
        return core_error(403, str(exc))
    rows = [{"name": n, "displayName": dn, "type": t, "searchable": True} for n, dn, t in CORE_FIELDS]
    return json_response({"results": rows, "totalCount": len(rows), "resultCount": len(rows),
                          "hasMore": False})


async def core_labels(request: web.Request) -> web.Response:
    state: MobileIronState = state_of(request)
    try:
        space = _space_for(request)
        limit = _int_param(request.query, "limit", 200, 0, 200)
        offset = _int_param(request.query, "offset", 0, 0, 10_000_000)
    except ValueError as exc:
        return core_error(400, str(exc))
    except PermissionError as exc:
        return core_error(403, str(exc))
    members = [state.core[i] for i in state.space_members[space]]
    rows = [{"id": lid, "name": name, "description": f"{name} devices", "isStatic": False,
             "deviceCount": sum(1 for r in members if pred(r))} for lid, name, pred in CORE_LABELS]
    page = rows[offset:offset + limit]
    return json_response({"results": page, "totalCount": len(rows), "resultCount": len(page),
                          "hasMore": offset + len(page) < len(rows)})


_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|(!=|=)|(\w+))', re.S)


def parse_core_query(text: str):
    """A predicate for a Core search expression: ``"f" = "v"``, ``!=``, ``contains``, AND/OR.

    AND binds tighter than OR; no parentheses. Raises ValueError for anything else.
    """
    text = text.strip()
    if not text:
        return lambda r: True
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"Invalid query near: {text[pos:pos + 20]!r}")
        if m.group(1) is not None:
            tokens.append(("str", m.group(1).replace('\\"', '"')))
        elif m.group(2):
            tokens.append(("op", m.group(2)))
        else:
            word = m.group(3).upper()
            if word in ("AND", "OR"):
                tokens.append(("bool", word))
            elif word == "CONTAINS":
                tokens.append(("op", "contains"))
            else:
                raise ValueError(f"Invalid query token {m.group(3)!r}")
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    clauses, current, i = [], [], 0
    while i < len(tokens):
        if i + 2 >= len(tokens):
            raise ValueError("Incomplete query expression")
        (k1, field), (k2, op), (k3, value) = tokens[i:i + 3]
        if (k1, k2, k3) != ("str", "op", "str"):
            raise ValueError("Expected: \"field\" <op> \"value\"")
        if field not in CORE_FIELD_NAMES:
            raise ValueError(f"Unknown search field {field!r}")
        current.append((field, op, value))
        i += 3
        if i < len(tokens):
            kind, word = tokens[i]
            if kind != "bool" or i + 1 >= len(tokens):
                raise ValueError("Expected AND / OR between expressions")
            if word == "OR":
                clauses.append(current)
                current = []
            i += 1
    clauses.append(current)

    def test(rec: dict, field: str, op: str, value: str) -> bool:
        have = rec.get(field)
        have = "" if have is None else (str(have).lower() if isinstance(have, bool) else str(have))
        if op == "=":
            return have.lower() == value.lower()
        if op == "!=":
            return have.lower() != value.lower()
        return value.lower() in have.lower()

    return lambda r: any(all(test(r, *c) for c in clause) for clause in clauses)


async def core_devices(request: web.Request) -> web.Response:
    state: MobileIronState = state_of(request)
    q = request.query
    try:
        space = _space_for(request)
        if "query" not in q and "labelId" not in q:
            raise ValueError("One of query or labelId is required")
        field_list = [f.strip() for f in q.get("fields", "").split(",") if f.strip()]
        if not 1 <= len(field_list) <= 512:
            raise ValueError("fields is required (1 to 512 comma-separated field names)")
        limit = _int_param(q, "limit", state.config.core_default_limit, 0, state.config.core_max_limit)
        offset = _int_param(q, "offset", 0, 0, 10_000_000)
        predicate = parse_core_query(q.get("query", ""))
        label = None
        if "labelId" in q:
            label_id = int(q["labelId"])
            if label_id != -1:
                label = next((p for lid, _, p in CORE_LABELS if lid == label_id), None)
                if label is None:
                    raise ValueError(f"Label {label_id} does not exist")
        sort_field = q.get("sortField", "common.id")
        if sort_field not in CORE_FIELD_NAMES:
            raise ValueError(f"Invalid sortField {sort_field!r}")
        order = q.get("sortOrder", "ASC").upper()
        if order not in ("ASC", "DESC"):
            raise ValueError("sortOrder must be ASC or DESC")
    except ValueError as exc:
        return core_error(400, str(exc))
    except PermissionError as exc:
        return core_error(403, str(exc))
    rows = [state.core[i] for i in state.space_members[space]]
    rows = [r for r in rows if predicate(r) and (label is None or label(r))]
    if sort_field != "common.id" or order == "DESC":
        present = [r for r in rows if sort_field in r]
        missing = [r for r in rows if sort_field not in r]
        present.sort(key=lambda r: (r[sort_field], r["common.id"]), reverse=order == "DESC")
        rows = present + missing
    wanted = [f for f in field_list if f in CORE_FIELD_NAMES]
    page = [{f: r[f] for f in wanted if f in r} for r in rows[offset:offset + limit]]
    return json_response({"results": page, "totalCount": len(rows), "resultCount": len(page),
                          "hasMore": offset + len(page) < len(rows)})


async def core_v1_devices(request: web.Request) -> web.Response:
    """Legacy (deprecated) Core API v1: XML by default, JSON when asked for."""
    state: MobileIronState = state_of(request)
    status = request.query.get("status")
    rows = [r for r in state.core if not status or r["common.status"] == status.upper()]
    devices = []
    for r in rows:
        dev = {"uuid": r["common.uuid"], "principal": r["user.user_id"], "status": r["common.status"],
               "platform": r["common.platform_name"], "manufacturer": r["common.manufacturer"],
               "model": r["common.model"], "imei": r.get("common.imei", ""),
               "serialNumber": r.get("common.Serialnumber", ""),
               "lastConnectedAt": r.get("common.last_connected_at", ""),
               "emailAddress": r.get("user.email_address", "")}
        entries = [{"key": k.split(".", 1)[1], "value": str(v)} for k, v in r.items()
                   if k.startswith(("ios.", "android.", "windows_phone."))]
        dev["details"] = [{"entry": entries}]
        devices.append(dev)
    if "application/json" in request.headers.get("Accept", ""):
        return json_response({"devices": {"device": devices}})
    root = ET.Element("devices")
    for dev in devices:
        el = ET.SubElement(root, "device")
        for key, value in dev.items():
            if key == "details":
                details = ET.SubElement(el, "details")
                for entry in value[0]["entry"]:
                    e = ET.SubElement(details, "entry")
                    ET.SubElement(e, "key").text = entry["key"]
                    ET.SubElement(e, "value").text = entry["value"]
            else:
                ET.SubElement(el, key).text = str(value)
    body = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + ET.tostring(root, encoding="utf-8")
    return web.Response(body=body, content_type="application/xml", charset="utf-8")


# ---- Cloud v1 ---------------------------------------------------------------------------------

async def cloud_partitions(request: web.Request) -> web.Response:
    state: MobileIronState = state_of(request)
    counts: dict[int, int] = {}
    for r in state.cloud:
        counts[r["dmPartitionId"]] = counts.get(r["dmPartitionId"], 0) + 1
    rows = [{"id": pid, "name": name, "description": f"{name} devices", "defaultPartition": pid == 100001,
             "deviceCount": counts.get(pid, 0)} for pid, name in CLOUD_PARTITIONS]
    return json_response({"result": {"searchResults": rows, "totalCount": len(rows)}})


_SORT_PARAM = re.compile(r"^sortFields\[(\d+)\]\.(name|order)$")


def _cloud_sorted(state: MobileIronState, partition: int, sort: tuple) -> list[dict]:
    key = (partition, sort)
    rows = state._cloud_sorted.get(key)
    if rows is None:
        rows = [r for r in state.cloud if r["dmPartitionId"] == partition]
        # Stable sorts from the last key to the first; missing values always go last.
        rows.sort(key=lambda r: r["id"])
        for name, order in reversed(sort):
            present = [r for r in rows if r.get(name) is not None]
            missing = [r for r in rows if r.get(name) is None]
            present.sort(key=lambda r: r[name], reverse=order == "DESC")
            rows = present + missing
        state._cloud_sorted[key] = rows
    return rows


async def cloud_devices(request: web.Request) -> web.Response:
    state: MobileIronState = state_of(request)
    q = request.query
    try:
        partition = _int_param(q, "dmPartitionId", None, 0, 2 ** 63)
        if partition not in dict(CLOUD_PARTITIONS):
            raise ValueError(f"Invalid dmPartitionId {partition}")
        start = _int_param(q, "start", 0, 0, 2 ** 31)
        rows_wanted = _int_param(q, "rows", 50, 0, 2 ** 31)
        if not 1 <= rows_wanted <= state.config.cloud_max_rows:
            return cloud_field_error("rows", "Range", f"must be between 1 and {state.config.cloud_max_rows}")
        if "fq" in q:
            raise ValueError("fq filtering is not implemented by this simulator")
        sorts: dict[int, dict] = {}
        for k, v in q.items():
            m = _SORT_PARAM.match(k)
            if m:
                sorts.setdefault(int(m.group(1)), {})[m.group(2)] = v
        sort = []
        for idx in sorted(sorts):
            name, order = sorts[idx].get("name"), sorts[idx].get("order", "ASC").upper()
            if not name or (state.cloud and name not in state.cloud[0]) or order not in ("ASC", "DESC"):
                raise ValueError(f"Invalid sortFields[{idx}]")
            sort.append((name, order))
    except ValueError as exc:
        return cloud_error(400, str(exc))
    ordered = _cloud_sorted(state, partition, tuple(sort))
    page = ordered[start:start + rows_wanted]
    wanted = [f.strip() for f in q.get("fields", "").split(",") if f.strip()]
    if wanted:
        page = [{f: r.get(f) for f in wanted} for r in page]
    return json_response({"result": {"searchResults": page, "totalCount": len(ordered),
                                     "start": start, "rows": rows_wanted}})


async def cloud_hardware(request: web.Request) -> web.Response:
    state: MobileIronState = state_of(request)
    dev_id = int(request.match_info["id"])
    rec = state.cloud_by_id.get(dev_id)
    if rec is None:
        return cloud_error(404, f"Device {dev_id} not found")
    if not rec["windowsDeviceType"]:
        return cloud_error(404, f"Hardware inventory is not available for {rec['platformType']} device {dev_id}")
    return json_response({"result": state.hardware_inventory(dev_id)})


def build_app(state: MobileIronState) -> web.Application:
    app = make_app(state)
    app.middlewares.append(_auth_middleware)
    add_config_routes(app, lambda s: {"devices": len(s.cloud)})
    app.router.add_get("/api/v2/ping", core_ping)
    app.router.add_get("/api/v2/device_spaces/mine", core_spaces_mine)
    app.router.add_get("/api/v2/device_spaces/criteria", core_criteria)
    app.router.add_get("/api/v2/labels/label_summary", core_labels)
    app.router.add_get("/api/v2/devices", core_devices)
    app.router.add_get("/api/v1/dm/devices", core_v1_devices)
    app.router.add_get("/api/v1/tenant/partition/device", cloud_partitions)
    app.router.add_get("/api/v1/device", cloud_devices)
    app.router.add_get(r"/api/v1/device/{id:\d+}/hardwareinventory", cloud_hardware)
    return app


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--devices", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--user", default=DEFAULT_USER)
    p.add_argument("--password", default=DEFAULT_PASSWORD)
    p.add_argument("--cloud-max-rows", type=int, default=500)


def _from_args(args: argparse.Namespace) -> web.Application:
    return build_app(MobileIronState(devices=args.devices, seed=args.seed, user=args.user,
                                     password=args.password,
                                     config=MobileIronConfig(cloud_max_rows=args.cloud_max_rows)))


if __name__ == "__main__":
    main(_from_args, "MobileIron Core v2 / Cloud v1 API simulator", _add_arguments)
