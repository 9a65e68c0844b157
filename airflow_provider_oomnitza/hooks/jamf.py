"""JamfHook: computers and mobile devices from the Jamf Pro API, shaped as the Classic API shaped them.

Authentication is a bearer token (Jamf Pro 11.5+ refuses Basic on data calls): from an
account (``username``/``password`` -> ``POST /api/v1/auth/token``) or from an API client
(``client_id``/``client_secret`` -> ``POST /api/v1/oauth/token``; servers older than that path
answer 404 there and get ``/api/oauth/token``). One token serves every thread (the shared
``TokenCache``: renewed shortly before it expires, and once if Jamf answers 401 anyway).

Inventory comes from the paged endpoints asking only for the sections the run needs, pages
fetched concurrently within Jamf's advised limit of 5 connections. Computers are read from the
newest inventory endpoint the server has (``/api/v4/computers-inventory`` since Jamf Pro 11.30,
else ``/v3`` since 11.23, else ``/v1``), found once per run and logged; mobile devices from
``/api/v2/mobile-devices/detail``. Each result becomes the Classic record the original
connector synced (``hooks/jamf_records.py``). Department and building ids become names through
``/api/v1/departments`` and ``/api/v1/buildings`` (read once). ``group_name`` reads the Classic
group endpoint for the member ids and asks for those devices with an ``id=in=(...)`` filter.

Connection (type ``jamf``): host = the Jamf Pro URL, login/password = an account, or the form's
client id and secret = an API client.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Any, Iterable, Iterator
from urllib.parse import quote

from airflow_provider_oomnitza.hooks.base import TLS_FIELDS, SourceHook
from airflow_provider_oomnitza.hooks.errors import HttpError, RefusedCredentials, SourceConfigError
from airflow_provider_oomnitza.hooks.http_client import (
    RetryingClient, TokenAuth, TokenCache, error_text, fetch_in_order,
)
from airflow_provider_oomnitza.hooks.jamf_records import (
    COMPUTER_FIELDS, MOBILE_FIELDS, ClassicField, ClassicShaper, instant, rows_for,
)
from airflow_provider_oomnitza.masking import mask
from airflow_provider_oomnitza.sources.casper import CasperSettings

MAX_CONNECTIONS = 5  # Jamf's published guidance for concurrent API connections
GROUP_CHUNK = 100  # member ids per filtered request (keeps URLs short)
NAMES_PAGE_SIZE = 1000
COMPUTER_INVENTORY_VERSIONS = ("v4", "v3", "v1")  # newest first
OAUTH_TOKEN_PATHS = ("api/v1/oauth/token", "api/oauth/token")  # current, then the deprecated one
_SERIAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")  # what a serial in an RSQL filter may hold


class JamfError(HttpError):
    """Jamf Pro could not be read (a retry later may help)."""


class JamfConfigError(SourceConfigError):
    """Settings Jamf refuses (a group that does not exist): retrying does not help."""


class JamfAuthError(JamfConfigError, RefusedCredentials):
    """Credentials or privileges Jamf refuses (401/403 after a new token): retrying does not help."""


@dataclass(frozen=True)
class DeviceKind:
    noun: str
    table: list[ClassicField]
    sort: str
    id_field: str  # RSQL field of the device id
    privilege: str
    group_path: str  # Classic group by name
    group_root: str
    group_members: str
    group_privilege: str


COMPUTERS = DeviceKind("computers", COMPUTER_FIELDS, "id:asc", "id", "Read Computers",
                       "JSSResource/computergroups/name/", "computer_group", "computers",
                       "Read Smart Computer Groups / Read Static Computer Groups")
MOBILE_DEVICES = DeviceKind("mobile devices", MOBILE_FIELDS, "mobileDeviceId:asc", "mobileDeviceId",
                            "Read Mobile Devices", "JSSResource/mobiledevicegroups/name/", "mobile_device_group",
                            "mobile_devices", "Read Smart Mobile Device Groups / Read Static Mobile Device Groups")
MOBILE_INVENTORY = "api/v2/mobile-devices/detail"


class JamfHook(SourceHook):
    """Jamf Pro computers or mobile devices (``sync_type``) as Classic-shaped records."""

    conn_name_attr = "jamf_conn_id"
    default_conn_name = "jamf_default"
    conn_type = "jamf"
    hook_name = "Jamf Pro"
    settings_model = CasperSettings
    extra_fields = ("client_id", "client_secret", *TLS_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._inventory_path: str | None = None
        self._oauth_path: str | None = None
        self._tokens: TokenCache | None = None

    # -- settings ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self.settings.url.rstrip("/")

    @property
    def kind(self) -> DeviceKind:
        return MOBILE_DEVICES if self.settings.sync_type == "mobiledevices" else COMPUTERS

    @property
    def who(self) -> str:
        s = self.settings
        return f"API client {s.client_id!r}" if s.client_id else f"account {s.username!r}"

    @property
    def tokens_issued(self) -> int:
        return self._tokens.issued if self._tokens else 0

    # -- the client -------------------------------------------------------------------------------
    def connect(self) -> RetryingClient:
        """The data client, with a token (bad credentials fail here)."""
        common = {"headers": {"Accept": "application/json"}, **self.client_options()}
        self._token_client = RetryingClient(self.url, name="Jamf Pro", **common)
        self._tokens = TokenCache(self._new_token)
        client = RetryingClient(self.url, name="Jamf Pro", auth=TokenAuth(self._tokens),
                                max_connections=MAX_CONNECTIONS, **common)
        return client.authenticate()

    def _new_token(self) -> tuple[str, float]:
        """``(token, seconds it lives)`` from the API client or the account."""
        s = self.settings
        try:
            if s.client_id:
                path, response = self._oauth_token(s.client_id, s.client_secret.get_secret_value())
            else:
                path = "api/v1/auth/token"
                response = self._token_client.request("POST", path, ok_statuses=(401, 403),
                                                      auth=(s.username, s.password.get_secret_value()))
        except HttpError as exc:
            raise JamfError(f"{self.where} cannot get a Jamf Pro token at {self.url}: {exc}", exc.status,
                            exc.response) from None
        if response.status_code != 200:
            keys = "client_id and client_secret" if s.client_id else "username and password"
            raise JamfAuthError(
                f"{self.where} Jamf Pro at {self.url} refused the {self.who} (POST /{path}: "
                f"{response.status_code} {response.reason} {error_text(response)}); check {keys}".rstrip(),
                response.status_code, response)
        body = response.json()
        token = body.get("access_token") or body.get("token")
        if not token:
            raise JamfError(f"{self.where} Jamf Pro answered POST /{path} without a token")
        mask(token)
        return token, _lifetime(body)

    def _oauth_token(self, client_id: str, secret: str):
        """The client-credentials token from the current path, or the deprecated one where it is 404."""
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        for path in ([self._oauth_path] if self._oauth_path else OAUTH_TOKEN_PATHS):
            response = self._token_client.request("POST", path, ok_statuses=(400, 401, 403, 404), data=form)
            if response.status_code != 404:
                if self._oauth_path is None and path != OAUTH_TOKEN_PATHS[0]:
                    self.log.info("Jamf Pro at %s has no /%s; using the older /%s", self.url, OAUTH_TOKEN_PATHS[0],
                                  path)
                self._oauth_path = path
                return path, response
        return path, response

    def invalidate(self) -> None:
        """Give an account's token back (API-client tokens simply expire)."""
        if self._tokens is None or self._tokens.token is None or self.settings.client_id:
            return
        try:
            self.get_conn().request("POST", "api/v1/auth/invalidate-token", ok_statuses=(401,))
        except HttpError as exc:
            self.log.info("Jamf Pro: could not invalidate the token (%s)", exc)
        self._tokens.forget()

    # -- HTTP -------------------------------------------------------------------------------------
    def _get(self, path: str, *, what: str, ok_statuses: Iterable[int] = (), **params: Any):
        try:
            return self.get_conn().request("GET", path, params=params or None, ok_statuses=ok_statuses)
        except (JamfError, JamfConfigError):
            raise
        except HttpError as exc:
            raise self._explain(exc, path, what) from None

    def _explain(self, exc: HttpError, path: str, what: str) -> Exception:
        where = f"{self.where} Jamf Pro at {self.url}, GET /{path.split('?')[0]}"
        detail = error_text(exc.response) if exc.response is not None else str(exc)
        if exc.status == 401:
            return JamfAuthError(f"{where}: 401 Unauthorized even with a new token for the {self.who}: {detail}",
                                 401, exc.response)
        if exc.status == 403:
            return JamfAuthError(f"{where}: 403 Forbidden: the {self.who} may not read {what} ({detail}); "
                                 f"give it the privilege(s) {_privilege_for(what)}", 403, exc.response)
        return JamfError(str(exc), exc.status, exc.response)

    # -- names ------------------------------------------------------------------------------------
    def _names(self, rows: list[ClassicField]) -> dict[str, dict[str, str]]:
        """Department and building names by id, read once if a row needs them."""
        names: dict[str, dict[str, str]] = {}
        for table in sorted({row.lookup for row in rows if row.lookup}):
            names[table] = {}
            page = 0
            while True:
                body = self._get(f"api/v1/{table}", what=table, page=page, **{"page-size": NAMES_PAGE_SIZE}).json()
                results = body.get("results") or []
                names[table].update({str(item.get("id")): item.get("name") or "" for item in results})
                page += 1
                if not results or page * NAMES_PAGE_SIZE >= int(body.get("totalCount") or 0):
                    break
        return names

    def shaper(self) -> tuple[ClassicShaper, list[str]]:
        """The record builder for this run's needs, and the Jamf Pro API sections it reads."""
        rows = rows_for(self.kind.table, self.needs)
        sections = sorted({row.section for row in rows if row.section}) or ["GENERAL"]
        return ClassicShaper(rows, self._names(rows)), sections

    # -- records ----------------------------------------------------------------------------------
    def _page(self, sections: list[str], page: int, size: int, filter_text: str = "") -> dict:
        params: dict[str, Any] = {"section": sections, "page": page, "page-size": size, "sort": self.kind.sort}
        if filter_text:
            params["filter"] = filter_text
        if self.kind is MOBILE_DEVICES:
            return self._get(MOBILE_INVENTORY, what=self.kind.noun, **params).json()
        if self._inventory_path is None:
            return self._first_inventory_page(params)
        return self._get(self._inventory_path, what=self.kind.noun, **params).json()

    def _first_inventory_page(self, params: dict) -> dict:
        """The first page, from the newest computer inventory endpoint the server has (found once)."""
        for version in COMPUTER_INVENTORY_VERSIONS:
            path = f"api/{version}/computers-inventory"
            response = self._get(path, what=self.kind.noun, ok_statuses=(404,), **params)
            if response.status_code != 404:
                self._inventory_path = path
                self.log.info("Jamf Pro at %s: computers from /%s", self.url, path)
                return response.json()
        raise JamfError(f"{self.where} Jamf Pro at {self.url} has no computer inventory endpoint ("
                        + ", ".join(f"/api/{v}/computers-inventory" for v in COMPUTER_INVENTORY_VERSIONS)
                        + " all answer 404); is url the Jamf Pro server?", 404)

    def _results(self, sections: list[str]) -> Iterator[dict]:
        """Every inventory result (or every group member's), pages fetched concurrently."""
        pages = self._page_bodies(sections)
        for body in pages:
            yield from body.get("results") or []

    def _page_bodies(self, sections: list[str]) -> Iterator[dict]:
        group = self.settings.group_name
        if group:
            ids = self._group_member_ids(group)
            if not ids:
                return
            chunks = [ids[i:i + GROUP_CHUNK] for i in range(0, len(ids), GROUP_CHUNK)]
            first, rest = chunks[0], chunks[1:]
            yield self._page(sections, 0, len(first), self._id_filter(first))  # finds the endpoint once
            yield from fetch_in_order((lambda c=chunk: self._page(sections, 0, len(c), self._id_filter(c))
                                       for chunk in rest), workers=MAX_CONNECTIONS, name="jamf")
            return
        page_size = self.settings.page_size
        first = self._page(sections, 0, page_size)
        results, total = first.get("results") or [], int(first.get("totalCount") or 0)
        yield first
        if not results or len(results) >= total:
            return
        size = len(results) if len(results) < page_size else page_size  # the server's page cap
        yield from fetch_in_order((lambda p=page: self._page(sections, p, size)
                                   for page in range(1, math.ceil(total / size))),
                                  workers=MAX_CONNECTIONS, name="jamf")

    def _id_filter(self, ids: list[str]) -> str:
        return f"{self.kind.id_field}=in=({','.join(ids)})"

    def records(self) -> Iterator[dict]:
        shape, sections = self.shaper()
        self.log.info("Jamf Pro %s at %s: sections %s", self.kind.noun, self.url, ", ".join(sections))
        seen: set[str] = set()
        try:
            for result in self._results(sections):
                key = str(result.get("id") or result.get("mobileDeviceId"))
                if key in seen:  # a device moved between pages while they were read
                    continue
                seen.add(key)
                yield shape(result)
        finally:
            self.invalidate()

    def _group_member_ids(self, group: str) -> list[str]:
        response = self._get(self.kind.group_path + quote(group, safe=""), what=f"{self.kind.noun} groups",
                             ok_statuses=(404,))
        if response.status_code == 404:
            noun = "computer" if self.kind is COMPUTERS else "mobile device"
            raise JamfConfigError(f"{self.where} group_name: Jamf Pro at {self.url} has no {noun} group named "
                                  f"{group!r}")
        members = (response.json().get(self.kind.group_root) or {}).get(self.kind.group_members) or []
        return [str(member["id"]) for member in members if member.get("id") is not None]

    def record_by_id(self, record_id: str) -> dict | None:
        """One device (computer or mobile device per ``sync_type``) in the Classic shape, or None."""
        device_id = str(record_id).strip()
        if not device_id.isdigit():
            raise ValueError(f"a Jamf Pro device id is a number, got {record_id!r}")
        shape, sections = self.shaper()
        found = self._page(sections, 0, 1, f"{self.kind.id_field}=={device_id}").get("results") or []
        return shape(found[0]) if found else None

    def records_by_keys(self, keys: Iterable[str]) -> Iterator[dict]:
        """The devices named by Jamf Pro id (digits) or serial number, each once, in the Classic shape.

        Used by webhook and ``devices`` runs: serials are resolved to ids with one filtered request
        per ``GROUP_CHUNK`` keys, then the devices are read the same way group members are. Keys
        that name no device are reported as problems, not raised.
        """
        wanted = list(dict.fromkeys(str(k).strip().upper() for k in keys if str(k).strip()))  # serials: upper case
        ids = [k for k in wanted if k.isdigit()]
        serials = [k for k in wanted if not k.isdigit()]
        shape, sections = self.shaper()
        try:
            for key in serials:
                if not _SERIAL.fullmatch(key):
                    self.report(f"[{self.section}] {key!r} is neither a Jamf Pro id nor a serial number; skipped")
            serials = [k for k in serials if _SERIAL.fullmatch(k)]
            by_serial = self._ids_of_serials(serials)
            for serial in serials:
                if serial not in by_serial:
                    self.report(f"[{self.section}] no {self.kind.noun} with serial number {serial} in Jamf Pro")
            ids = list(dict.fromkeys(ids + list(by_serial.values())))
            chunks = [ids[i:i + GROUP_CHUNK] for i in range(0, len(ids), GROUP_CHUNK)]
            found: set[str] = set()
            for body in fetch_in_order((lambda c=chunk: self._page(sections, 0, len(c), self._id_filter(c))
                                        for chunk in chunks), workers=MAX_CONNECTIONS, name="jamf"):
                for result in body.get("results") or []:
                    key = str(result.get("id") or result.get("mobileDeviceId"))
                    if key not in found:
                        found.add(key)
                        yield shape(result)
            for missing in (i for i in ids if i not in found):
                self.report(f"[{self.section}] no {self.kind.noun} with id {missing} in Jamf Pro")
        finally:
            self.invalidate()

    def _ids_of_serials(self, serials: list[str]) -> dict[str, str]:
        """``{serial: id}`` for the serials Jamf Pro knows (serials compared case-insensitively)."""
        field = "hardware.serialNumber" if self.kind is COMPUTERS else "serialNumber"  # the RSQL names differ
        out: dict[str, str] = {}
        for i in range(0, len(serials), GROUP_CHUNK):
            chunk = serials[i:i + GROUP_CHUNK]
            body = self._page(["HARDWARE"], 0, len(chunk), f"{field}=in=({','.join(chunk)})")
            asked = {s.upper(): s for s in chunk}
            for result in body.get("results") or []:
                serial = (result.get("hardware") or {}).get("serialNumber")
                if serial and str(serial).upper() in asked:
                    out[asked[str(serial).upper()]] = str(result.get("id") or result.get("mobileDeviceId"))
        return out

    def check(self) -> str:
        version = self._get("api/v1/jamf-pro-version", what="the Jamf Pro version").json().get("version", "?")
        total = self._page(["GENERAL"], 0, 1).get("totalCount", "?")
        where = f"/{self._inventory_path}" if self.kind is COMPUTERS else f"/{MOBILE_INVENTORY}"
        return (f"Connected to Jamf Pro {version} at {self.url} as the {self.who}; {total} {self.kind.noun} "
                f"(from {where})")


def _privilege_for(what: str) -> str:
    for kind in (COMPUTERS, MOBILE_DEVICES):
        if what == kind.noun:
            return kind.privilege
        if what == f"{kind.noun} groups":
            return kind.group_privilege
    return {"departments": "Read Departments", "buildings": "Read Buildings"}.get(what, "to read " + what)


def _lifetime(body: dict) -> float:
    """Seconds a token lives: ``expires_in`` (API clients), or ``expires`` (ISO, or epoch ms on old servers)."""
    if body.get("expires_in") is not None:
        return max(0.5, float(body["expires_in"]))
    expires = body.get("expires")
    if isinstance(expires, (int, float)):
        at = expires / 1000
    else:
        moment = instant(str(expires or ""))
        at = moment.timestamp() if moment else time.time() + 1200
    return max(0.5, at - time.time())
