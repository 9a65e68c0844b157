"""Loopback simulator of the VMware AirWatch / Workspace ONE UEM REST API (MDM part).

Run ``python -m tests.simulators.airwatch --port 0 --devices 5000`` (prints its URL first), or in
tests ``SimulatorThread(build_app(AirWatchState(devices=500))).start()``.

Endpoints (each also answers under ``/api/v1/...``, the 1.81 connector's prefix):

* ``POST /connect/token`` — OAuth2 client credentials (form or Basic client auth) → Bearer token.
* ``GET /api/mdm/devices/search`` — ``page`` (0-based), ``pagesize`` (default 500), filters
  ``user``, ``model``, ``platform``, ``ownership``, ``lgid``, ``compliantstatus``, ``seensince``,
  ``lastseen``, ``orderby``/``sortorder``; → ``{"Devices", "Page", "PageSize", "Total"}``, or
  **204 with an empty body** when nothing matches or the page is past the end.
* ``GET /api/mdm/devices/{id}``, ``GET /api/mdm/devices?searchby=Serialnumber|Macaddress|Udid|
  ImeiNumber&id=...`` — one device.
* ``GET /api/mdm/devices/{id}/network`` (2.1.0) and
  ``GET /api/v1/mdm/devices/macaddress/{mac}/network`` (1.81) — network details.
* ``GET /api/mdm/dep/groups/{uuid}/devices`` — DEP assignments, a JSON array (not paged).
* ``GET /api/system/info`` — product version (handy for a connection test).

Auth: ``Authorization: Basic`` **and** ``aw-tenant-code``, or ``Authorization: Bearer`` from
``/connect/token`` (no tenant code needed). Failures: 401 ``{"errorCode": 1005, ...}``; 403 for an
admin without the API role. ``Accept: application/json;version=1..4`` (no version = 1); an Accept
that rules out JSON gets 406.

Vendor-specific settings live in :class:`AirWatchConfig`, readable/settable at ``/_sim/config``
(e.g. ``{"quota_per_day": 100}`` turns on the daily-quota mode answering 429).
"""
from __future__ import annotations

import argparse
import base64
import binascii
import datetime as _dt
import random
import re
import secrets
import time
import uuid
from dataclasses import dataclass

from aiohttp import web

from .base import (SimState, Settings, add_config_routes, decode_basic, json_response, main, make_app,
                   state_of)
from .device_data import Device, dotnet_naive, generate_fleet

_API_VERSION_KEY = web.RequestKey("api_version", int)
DEFAULT_USER = "apiadmin"
DEFAULT_PASSWORD = "Sim-Passw0rd!"
DEFAULT_TENANT_CODE = "1SIMTENANTCODEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
DEFAULT_CLIENT_ID = "sim-client-0001"
DEFAULT_CLIENT_SECRET = "sim-client-secret-0001"
# Extra accounts every simulator knows, for the failure cases.
NO_ROLE_USER = ("consoleonly", "Sim-Passw0rd!")        # console admin without an API role → 403
DIRECTORY_USER = ("CORP\\ldapadmin", "Sim-Passw0rd!")  # directory (AD) account → 401 1005
SUPPORTED_VERSIONS = (1, 2, 3, 4)
PRODUCT_VERSION = "23.10.0.5"

_PLATFORM = {"iPhone": ("Apple", 2), "iPad": ("Apple", 2), "AppleTV": ("AppleTv", 22),
             "Mac": ("AppleOsX", 10), "AndroidPhone": ("Android", 5), "AndroidTablet": ("Android", 5),
             "Windows": ("WinRT", 12), "ChromeOS": ("ChromeOS", 19)}
_GROUPS = {"Corp": 570, "Sales": 571, "Field Ops": 572, "EMEA": 573, "Kiosks": 574}


@dataclass
class AirWatchConfig(Settings):
    """Vendor-specific run-time settings (``GET/POST /_sim/config``)."""

    quota_per_day: int = 0        # API calls per tenant per (simulated) day; 0 = no quota
    max_pagesize: int = 10000     # larger ``pagesize`` values are clamped to this
    token_ttl_s: float = 3600.0   # lifetime of /connect/token Bearer tokens
    clock_offset_s: float = 0.0   # added to the wall clock: lets a test expire tokens/quota days


def aw_error(status: int, message: str, code: int | None = None, headers: dict | None = None) -> web.Response:
    """AirWatch error body: ``{"errorCode", "message", "activityId"}``."""
    body = {"errorCode": code if code is not None else status, "message": message,
            "activityId": str(uuid.uuid4())}
    return json_response(body, status=status, headers=headers)


class AirWatchState(SimState):
    def __init__(self, devices: int = 2000, seed: int = 1, now: float | None = None,
                 user: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD,
                 tenant_code: str = DEFAULT_TENANT_CODE, client_id: str = DEFAULT_CLIENT_ID,
                 client_secret: str = DEFAULT_CLIENT_SECRET, dep_uuid: str | None = None,
                 reenrolled_ratio: float = 0.005, config: AirWatchConfig | None = None) -> None:
        super().__init__(config or AirWatchConfig())
        self.now0 = time.time() if now is None else now
        self.seed = seed
        self.tenant_code = tenant_code
        self.clients = {client_id: client_secret}
        # name -> (password, has API role, is a directory account)
        self.users = {user: (password, True, False),
                      NO_ROLE_USER[0]: (NO_ROLE_USER[1], False, False),
                      DIRECTORY_USER[0]: (DIRECTORY_USER[1], True, True)}
        self.tokens: dict[str, float] = {}
        self._quota_day = 0
        self._quota_used = 0
        rng = random.Random(seed * 7919 + 1)
        self.dep_uuid = dep_uuid or str(uuid.UUID(int=rng.getrandbits(128), version=4))
        self.fleet = generate_fleet(devices, seed, self.now0)
        self.records: list[dict] = []
        self._device_of: dict[int, Device] = {}
        next_id = 10000
        for d in self.fleet:
            if d.serial and rng.random() < reenrolled_ratio:
                # Wiped and enrolled again: an older Unenrolled record (lower Id) shares the serial.
                next_id += rng.randint(1, 3)
                old = self._render(d, next_id, rng)
                seen = (d.last_seen_at or self.now0) - rng.uniform(30, 400) * 86400
                old.update({"EnrollmentStatus": "Unenrolled", "ComplianceStatus": "NotAvailable",
                            "Uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                            "LastSeen": dotnet_naive(seen), "LastComplianceCheckOn": dotnet_naive(seen - 600),
                            "LastCompromisedCheckOn": dotnet_naive(seen - 900),
                            "LastEnrolledOn": dotnet_naive(seen - rng.uniform(30, 700) * 86400)})
                self.records.append(old)
                self._device_of[next_id] = d
            next_id += rng.randint(1, 3)  # ids have gaps, like a tenant where devices were deleted
            self.records.append(self._render(d, next_id, rng))
            self._device_of[next_id] = d
        self.by_id = {r["Id"]["Value"]: r for r in self.records}
        # The current record (higher Id) wins over an old Unenrolled one with the same MAC.
        self.by_mac = {r["MacAddress"].upper(): r for r in self.records if r["MacAddress"]}
        self.seen_ts = {r["Id"]["Value"]: _parse_naive(r["LastSeen"]) for r in self.records if r["LastSeen"]}
        self.dep_groups = {self.dep_uuid.lower(): self._render_dep(rng)}

    # ---- clock, faults -----------------------------------------------------------------
    def now(self) -> float:
        return time.time() + self.config.clock_offset_s

    def reset(self) -> None:
        super().reset()
        self.tokens.clear()
        self._quota_used = 0

    def failure_response(self, status: int, request: web.Request) -> web.Response:
        text = {500: "An unexpected error occurred.", 502: "Bad Gateway", 503: "Service Unavailable",
                504: "Gateway Timeout", 401: "An error occurred while validating remote service client "
                "credentials or user not found", 403: "Access denied"}.get(status, f"Simulated failure {status}")
        return aw_error(status, text, 1005 if status == 401 else None)

    def rate_limited_response(self, reset_in: float, request: web.Request) -> web.Response:
        return aw_error(429, "Too many requests. Server throttling limit reached.",
                        headers=self.retry_after_headers())

    # ---- rendering ---------------------------------------------------------------------
    def _render(self, d: Device, dev_id: int, rng: random.Random) -> dict:
        platform, platform_id = _PLATFORM[d.family]
        if d.family in ("iPhone", "iPad"):
            model = f"{d.model} ({d.storage_gb} GB {d.color})"
        elif d.manufacturer != "Apple":
            model = f"{d.manufacturer} {d.model}"
        else:
            model = d.model
        user = d.user
        username = user.username if user else "staging"
        lg_name = d.region
        lg_id = _GROUPS[lg_name]
        compliance = {True: "Compliant", False: "NonCompliant", None: "NotAvailable"}[d.compliant]
        rec = {
            "Id": {"Value": dev_id},
            "Uuid": d.guid,
            "Udid": d.udid,
            "SerialNumber": d.serial,
            "MacAddress": d.wifi_mac,
            "Imei": d.imei,
            "EasId": f"{rng.getrandbits(100):025X}"[:20] if d.family in ("iPhone", "iPad", "AndroidPhone")
            and rng.random() < 0.6 else "",
            "AssetNumber": d.asset_tag or d.udid,
            "DeviceFriendlyName": f"{username} {d.model} {d.os_name} {d.os_version}"
            if rng.random() < 0.9 else d.device_name,
            "DeviceReportedName": d.device_name,
            "LocationGroupId": {"Id": {"Value": lg_id}, "Name": lg_name,
                                "Uuid": str(uuid.uuid5(uuid.NAMESPACE_OID, f"lg-{lg_id}"))},
            "LocationGroupName": lg_name,
            "UserId": {"Id": {"Value": user.user_id if user else 1}, "Name": user.display if user else "staging",
                       "Uuid": str(uuid.uuid5(uuid.NAMESPACE_OID, f"user-{user.user_id if user else 1}"))},
            "UserName": username,
            "DisplayName": user.display if user else "Staging User",
            "UserEmailAddress": user.email if user else "",
            "EnrollmentUserId": {"Id": {"Value": user.user_id if user else 1}},
            "Ownership": d.ownership,
            "PlatformId": {"Id": {"Value": platform_id}, "Name": platform},
            "Platform": platform,
            "ModelId": {"Id": {"Value": sum(map(ord, d.model_id)) % 200 + 1}, "Name": model},
            "Model": model,
            "OperatingSystem": d.os_version,
            "OSBuildVersion": d.os_build,
            "PhoneNumber": d.phone_number,
            "LastSeen": dotnet_naive(d.last_seen_at) if d.last_seen_at is not None else None,
            "EnrollmentStatus": d.enrollment_status,
            "ComplianceStatus": compliance,
            "CompromisedStatus": d.compromised,
            "LastEnrolledOn": dotnet_naive(d.enrolled_at) if d.enrolled_at is not None else None,
            "LastComplianceCheckOn": dotnet_naive(d.last_seen_at - rng.uniform(0, 3600))
            if d.last_seen_at is not None else None,
            "LastCompromisedCheckOn": dotnet_naive(d.last_seen_at - rng.uniform(0, 7200))
            if d.last_seen_at is not None else None,
            "IsSupervised": d.supervised,
            "VirtualMemory": 0,
            "DeviceCapacity": float(d.storage_gb * 1024 ** 3) if rng.random() < 0.9 else 0.0,
            "AvailableDeviceCapacity": float(int(d.storage_gb * rng.uniform(0.05, 0.8) * 1024 ** 3)),
            "DataEncryptionYN": "Y" if d.encrypted else "N",
            "AcLineStatus": rng.choice([0, 1, 255]),
            "IsRemoteManagementEnabled": rng.choice(["true", "false", ""]),
        }
        if d.is_apple:
            rec["EnrolledViaDEP"] = d.dep
            rec["IsCloudBackupEnabled"] = d.family != "Mac" and rng.random() < 0.4
        if d.family == "Windows":
            rec["ProcessorArchitecture"] = 9
            rec["SystemIntegrityProtectionEnabled"] = None
        return rec

    def network(self, dev_id: int) -> dict:
        """Network details, rendered on demand (deterministic per device id)."""
        d = self._device_of[dev_id]
        rng = random.Random(self.seed * 1_000_003 + dev_id)
        net = {
            "DeviceId": dev_id,
            "IPAddress": {"WifiIPAddress": d.ip_address if d.wifi_mac else "",
                          "CellularIPAddress": f"100.{rng.randint(64, 127)}.{rng.randint(0, 255)}."
                          f"{rng.randint(1, 254)}" if d.imei else "",
                          "EthernetIPAddress": d.ip_address if d.ethernet_mac else ""},
            "WifiInfo": {"WifiMacAddress": ":".join(d.wifi_mac[i:i + 2] for i in range(0, 12, 2))
                         if d.wifi_mac else "", "SSID": rng.choice(["CORP-WIFI", "CORP-GUEST", "Home", ""]),
                         "SignalStrength": rng.randint(-90, -30)},
            "EthernetMacAddress": d.ethernet_mac,
            "RoamingStatus": bool(d.imei) and rng.random() < 0.05,
        }
        if d.imei:
            net["CellularNetworkInfo"] = {
                "CarrierName": d.carrier, "CardId": f"8901{rng.randrange(10 ** 15):015d}",
                "PhoneNumber": d.phone_number, "SignalStrength": rng.randint(0, 5),
                "DataRoamingEnabled": rng.random() < 0.3, "VoiceRoamingEnabled": rng.random() < 0.6,
                "CurrentMCC": "310", "CurrentMNC": rng.choice(["410", "260", "012"]),
            }
        return net

    def _render_dep(self, rng: random.Random) -> list[dict]:
        rows = []
        profile = str(uuid.UUID(int=rng.getrandbits(128), version=4)).replace("-", "").upper()
        fleet = [d for d in self.fleet if d.dep and d.serial]
        # Some devices are assigned in Apple Business Manager but were never enrolled.
        extra = random.Random(self.seed + 99)
        known = {d.serial for d in self.fleet if d.serial}
        unenrolled = [u for u in generate_fleet(max(1, len(fleet) // 20), self.seed + 99, self.now0,
                                                families=("iPhone", "iPad", "Mac"))
                      if u.serial and u.serial not in known]
        for enrolled, d in [(True, d) for d in fleet] + [(False, u) for u in unenrolled]:
            assigned = (d.enrolled_at or self.now0) - extra.uniform(1, 60) * 86400
            status = extra.choice(["PUSHED", "PUSHED", "ASSIGNED"]) if enrolled else extra.choice(
                ["ASSIGNED", "EMPTY"])
            row = {
                "deviceSerialNumber": d.serial,
                "deviceModel": d.model,
                "deviceDescription": f"{d.model.upper()} {d.color.upper()} {d.storage_gb}GB",
                "color": d.color.upper(),
                "deviceAssetNumber": d.asset_tag,
                "deviceFamily": {"iPhone": "iPhone", "iPad": "iPad", "Mac": "Mac"}.get(d.family, d.family),
                "os": {"macOS": "OSX", "iPadOS": "iOS"}.get(d.os_name, d.os_name),
                "profileStatus": status,
                "profileUuid": profile if status != "EMPTY" else "",
                "profileName": "Corporate ADE" if status != "EMPTY" else "",
                "profileAssignTime": dotnet_naive(assigned + 3600) if status != "EMPTY" else None,
                "profilePushTime": dotnet_naive(assigned + 7200) if status == "PUSHED" else None,
                "deviceAssignedDate": dotnet_naive(assigned),
                "deviceAssignedBy": "buyer@example.com",
                "enrollmentStatus": "Enrolled" if enrolled and d.enrollment_status == "Enrolled" else "Unenrolled",
            }
            rows.append(row)
        return rows

    # ---- auth, versions, quota ---------------------------------------------------------
    def check_auth(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            expires = self.tokens.get(value.strip())
            if expires is None or expires <= self.now():
                return aw_error(401, "The access token is invalid or has expired.", 1005,
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
            return None
        who = ""
        if scheme == "basic":
            creds = decode_basic(value)
            who, pw = creds if creds is not None else ("", None)
            entry = self.users.get(who)
            tenant = request.headers.get("aw-tenant-code", "")
            if entry and entry[0] == pw and not entry[2] and tenant == self.tenant_code:
                if not entry[1]:
                    return aw_error(403, f"User {who} does not have the required API role to access "
                                    "this resource.", 1001)
                return None
        return aw_error(401, "An error occurred while validating remote service client credentials or "
                        f"user not found : {who}", 1005)

    @staticmethod
    def negotiate(request: web.Request) -> int | web.Response:
        """The API version chosen by ``Accept``; 406 if it asks for something we do not serve."""
        accept = request.headers.get("Accept", "")
        if not accept.strip():
            return 1
        for media_range in accept.split(","):
            parts = [p.strip() for p in media_range.split(";")]
            mtype = parts[0].lower()
            if mtype not in ("application/json", "application/*", "*/*"):
                continue
            version = 1
            for p in parts[1:]:
                k, _, v = p.partition("=")
                if k.strip().lower() == "version":
                    try:
                        version = int(v.strip())
                    except ValueError:
                        version = -1
            if version in SUPPORTED_VERSIONS:
                return version
            return aw_error(406, f"API version {version} is not supported for this resource; "
                            f"supported versions: {list(SUPPORTED_VERSIONS)}.")
        return aw_error(406, "The requested media type is not supported; use application/json.")

    def take_quota(self) -> tuple[web.Response | None, dict]:
        limit = self.config.quota_per_day
        if limit <= 0:
            return None, {}
        now = self.now()
        day = int(now // 86400)
        if day != self._quota_day:
            self._quota_day, self._quota_used = day, 0
        self._quota_used += 1
        reset = (day + 1) * 86400
        headers = {"X-RateLimit-Limit": str(limit),
                   "X-RateLimit-Remaining": str(max(0, limit - self._quota_used)),
                   "X-RateLimit-Reset": str(int(reset))}
        if self._quota_used > limit:
            headers["Retry-After"] = str(int(reset - now) + 1)
            return aw_error(429, "The daily API quota for this organization group has been exceeded.",
                            headers=headers), headers
        return None, headers


@web.middleware
async def _api_middleware(request: web.Request, handler):
    """Auth, version negotiation and quota for everything under ``/api/``."""
    state: AirWatchState = state_of(request)
    if not request.path.startswith("/api/"):
        return await handler(request)
    denied = state.check_auth(request)
    if denied is not None:
        return denied
    version = state.negotiate(request)
    if isinstance(version, web.Response):
        return version
    request[_API_VERSION_KEY] = version
    over, headers = state.take_quota()
    if over is not None:
        return over
    resp = await handler(request)
    resp.headers.update(headers)
    return resp


# ---- handlers ---------------------------------------------------------------------------

def _q(request: web.Request) -> dict[str, str]:
    """Query parameters with case-insensitive names (UEM is an ASP.NET service)."""
    return {k.lower(): v for k, v in request.query.items()}


def _parse_naive(text: str) -> float:
    return _dt.datetime.fromisoformat(text).replace(tzinfo=_dt.timezone.utc).timestamp()


def _parse_when(text: str) -> float:
    for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%Y-%m-%d"):
        try:
            return _dt.datetime.strptime(text, fmt).replace(tzinfo=_dt.timezone.utc).timestamp()
        except ValueError:
            pass
    d = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.timezone.utc)
    return d.timestamp()


def _sort_key(state: AirWatchState, name: str):
    if name.lower() in ("id", "deviceid"):
        return lambda r: r["Id"]["Value"]
    if name.lower() == "lastseen":
        return lambda r: state.seen_ts.get(r["Id"]["Value"]) or 0.0
    return lambda r: (str(r.get(name)) if r.get(name) is not None else "").lower()


async def token(request: web.Request) -> web.Response:
    state: AirWatchState = state_of(request)
    form = await request.post()
    client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, client_secret = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            pass
    if form.get("grant_type") != "client_credentials":
        return json_response({"error": "unsupported_grant_type"}, status=400)
    if not client_id or state.clients.get(client_id) != client_secret:
        return json_response({"error": "invalid_client"}, status=400)
    tok = secrets.token_urlsafe(48)
    state.tokens[tok] = state.now() + state.config.token_ttl_s
    return json_response({"access_token": tok, "expires_in": int(state.config.token_ttl_s),
                          "token_type": "Bearer", "scope": "api"})


async def search(request: web.Request) -> web.Response:
    state: AirWatchState = state_of(request)
    q = _q(request)
    try:
        page = int(q.get("page", "0"))
        pagesize = int(q.get("pagesize", "500"))
        if page < 0 or pagesize < 1:
            raise ValueError
    except ValueError:
        return aw_error(400, "Invalid value for page or pagesize.")
    pagesize = min(pagesize, state.config.max_pagesize)
    rows = state.records
    try:
        if "user" in q:
            rows = [r for r in rows if r["UserName"].lower() == q["user"].lower()]
        if "model" in q:
            rows = [r for r in rows if q["model"].lower() in r["Model"].lower()]
        if "platform" in q:
            rows = [r for r in rows if r["Platform"].lower() == q["platform"].lower()]
        if "ownership" in q:
            rows = [r for r in rows if r["Ownership"].lower() == q["ownership"].lower()]
        if "lgid" in q:
            lgid = int(q["lgid"])
            rows = [r for r in rows if r["LocationGroupId"]["Id"]["Value"] == lgid]
        if "compliantstatus" in q:
            want = q["compliantstatus"].lower() in ("true", "compliant", "1")
            rows = [r for r in rows if (r["ComplianceStatus"] == "Compliant") == want]
        for key in ("seensince", "lastseen"):
            if key in q:
                since = _parse_when(q[key])
                rows = [r for r in rows if (state.seen_ts.get(r["Id"]["Value"]) or -1) >= since]
    except ValueError:
        return aw_error(400, "Invalid search parameter value.")
    orderby = q.get("orderby")
    if orderby:
        known = {k.lower(): k for k in state.records[0]} if state.records else {}
        if orderby.lower() not in known and orderby.lower() not in ("id", "deviceid"):
            return aw_error(400, f"Invalid orderby field: {orderby}")
        desc = q.get("sortorder", "ASC").upper() == "DESC"
        field = known.get(orderby.lower(), orderby)
        rows = sorted(rows, key=_sort_key(state, field), reverse=desc)
    total = len(rows)
    start = page * pagesize
    if start >= total:
        return web.Response(status=204)
    return json_response({"Devices": rows[start:start + pagesize], "Page": page, "PageSize": pagesize,
                          "Total": total})


def _device_or_404(state: AirWatchState, dev_id: str):
    rec = state.by_id.get(int(dev_id))
    if rec is None:
        return None, aw_error(404, f"Device not found for id {dev_id}.")
    return rec, None


async def device_by_id(request: web.Request) -> web.Response:
    rec, err = _device_or_404(state_of(request), request.match_info["id"])
    return err or json_response(rec)


async def device_lookup(request: web.Request) -> web.Response:
    state: AirWatchState = state_of(request)
    q = _q(request)
    field = {"serialnumber": "SerialNumber", "macaddress": "MacAddress", "udid": "Udid",
             "imeinumber": "Imei", "easid": "EasId", "deviceid": "Id"}.get(q.get("searchby", "").lower())
    value = q.get("id", "")
    if not field or not value:
        return aw_error(400, "searchBy and id are required.")
    for rec in state.records:
        have = rec[field]["Value"] if field == "Id" else rec.get(field)
        if str(have).lower() == value.lower() and rec["EnrollmentStatus"] != "Unenrolled":
            return json_response(rec)
    for rec in state.records:  # fall back to an unenrolled record
        have = rec[field]["Value"] if field == "Id" else rec.get(field)
        if str(have).lower() == value.lower():
            return json_response(rec)
    return aw_error(404, f"Device not found for {q.get('searchby')} {value}.")


async def network_by_id(request: web.Request) -> web.Response:
    state: AirWatchState = state_of(request)
    rec, err = _device_or_404(state, request.match_info["id"])
    return err or json_response(state.network(rec["Id"]["Value"]))


async def network_by_mac(request: web.Request) -> web.Response:
    state: AirWatchState = state_of(request)
    mac = re.sub(r"[^0-9A-Fa-f]", "", request.match_info["mac"]).upper()
    rec = state.by_mac.get(mac)
    if rec is None:
        return aw_error(404, f"Device not found for MAC address {request.match_info['mac']}.")
    return json_response(state.network(rec["Id"]["Value"]))


async def dep_devices(request: web.Request) -> web.Response:
    state: AirWatchState = state_of(request)
    rows = state.dep_groups.get(request.match_info["uuid"].lower())
    if rows is None:
        return aw_error(404, f"DEP group {request.match_info['uuid']} not found.")
    return json_response(rows)


async def system_info(request: web.Request) -> web.Response:
    return json_response({"ProductName": "Workspace ONE UEM", "ProductVersion": PRODUCT_VERSION,
                          "ApiVersion": request.get(_API_VERSION_KEY, 1)})


def build_app(state: AirWatchState) -> web.Application:
    app = make_app(state)
    app.middlewares.append(_api_middleware)
    add_config_routes(app, lambda s: {"dep_uuid": s.dep_uuid, "devices": len(s.records),
                                      "quota_used": s._quota_used})
    app.router.add_post("/connect/token", token)
    for prefix in ("/api", "/api/v1"):
        app.router.add_get(prefix + "/mdm/devices/search", search)
        app.router.add_get(prefix + r"/mdm/devices/{id:\d+}/network", network_by_id)
        app.router.add_get(prefix + "/mdm/devices/macaddress/{mac}/network", network_by_mac)
        app.router.add_get(prefix + r"/mdm/devices/{id:\d+}", device_by_id)
        app.router.add_get(prefix + "/mdm/devices", device_lookup)
        app.router.add_get(prefix + "/mdm/dep/groups/{uuid}/devices", dep_devices)
        app.router.add_get(prefix + "/system/info", system_info)
    return app


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--devices", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--user", default=DEFAULT_USER)
    p.add_argument("--password", default=DEFAULT_PASSWORD)
    p.add_argument("--tenant-code", default=DEFAULT_TENANT_CODE)
    p.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    p.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    p.add_argument("--dep-uuid", default=None, help="DEP group uuid (default: derived from --seed)")
    p.add_argument("--quota-per-day", type=int, default=0, help="daily API quota, 0 = off")


def _from_args(args: argparse.Namespace) -> web.Application:
    return build_app(AirWatchState(
        devices=args.devices, seed=args.seed, user=args.user, password=args.password,
        tenant_code=args.tenant_code, client_id=args.client_id, client_secret=args.client_secret,
        dep_uuid=args.dep_uuid, config=AirWatchConfig(quota_per_day=args.quota_per_day)))


if __name__ == "__main__":
    main(_from_args, "AirWatch / Workspace ONE UEM API simulator", _add_arguments)
