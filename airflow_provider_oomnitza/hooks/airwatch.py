"""AirWatch / Workspace ONE UEM devices (the ``airwatch`` source).

Records are shaped as the original connector shaped them: the device object of
``GET /api/mdm/devices/search``, plus ``dep`` (the row of the DEP group whose
``deviceSerialNumber`` is the device's ``SerialNumber``, when ``dep_uuid`` is set) and
``network`` (``GET /api/mdm/devices/{Id.Value}/network``, only when a mapping's source
starts with ``network.``; ``{}`` when that call fails for a device, which is reported).

Authentication: HTTP Basic with the ``aw-tenant-code`` header (``api_token``), or OAuth
client credentials (``client_id``, ``client_secret``, ``token_url``) giving a Bearer token,
renewed once on a 401. ``Accept: application/json`` (API version 1, as the original).

Paging: page 0 gives ``Total``; the other pages are fetched ``workers`` at a time and
yielded in page order. The run stops at a 204 (the API's answer for an empty result or a
page past the end), an empty ``Devices`` list, or once the pages cover ``Total``. A device
id seen twice (the inventory shifting between pages) is yielded once.

Connection (type ``airwatch``): host = the API URL, login/password = the admin; the form's
fields hold the API key (``api_token``) or the OAuth client (``client_id``, ``client_secret``,
``token_url``).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Iterator

import requests

from airflow_provider_oomnitza.hooks.base import TLS_FIELDS, SourceHook
from airflow_provider_oomnitza.hooks.errors import SourceConfigError
from airflow_provider_oomnitza.hooks.http_client import (
    HttpError, RetryingClient, TokenAuth, TokenCache, fetch_in_order,
)
from airflow_provider_oomnitza.masking import mask
from airflow_provider_oomnitza.sources.airwatch import AirWatchSettings

API = "api/mdm"
SEARCH = f"{API}/devices/search"
NETWORK = "network"

HINTS = {
    401: "check username and password (a console admin, not a directory account), api_token (the REST API "
         "key of the organization group, sent as aw-tenant-code) and that the admin has an API role",
    403: "the admin has no API role, or the role may not read devices",
}
OAUTH_HINT = "check client_id, client_secret and token_url"


class AirWatchError(HttpError):
    """An AirWatch call failed; the message says which, with AirWatch's errorCode and a hint."""


def _error_body(response: requests.Response | None) -> tuple[Any, str]:
    """``(errorCode, message)`` of an AirWatch error body (``{"errorCode", "message", "activityId"}``)."""
    if response is None:
        return None, ""
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:300].strip()
    if not isinstance(body, dict):
        return None, str(body)[:300]
    message = body.get("message") or body.get("error_description") or body.get("error") or ""
    return body.get("errorCode"), str(message)[:300]


def device_id(device: dict) -> Any:
    """``Id.Value`` of a device object (None if it has none)."""
    ident = device.get("Id")
    return ident.get("Value") if isinstance(ident, dict) else None


class AirWatchHook(SourceHook):
    """Devices from AirWatch / Workspace ONE UEM (see the module docstring)."""

    conn_name_attr = "airwatch_conn_id"
    default_conn_name = "airwatch_default"
    conn_type = "airwatch"
    hook_name = "AirWatch / Workspace ONE UEM"
    settings_model = AirWatchSettings
    extra_fields = ("api_token", "client_id", "client_secret", "token_url", *TLS_FIELDS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dep_index: dict[str, dict] | None = None
        self._last_page: int | None = None

    @property
    def url(self) -> str:
        url = self.settings.url.rstrip("/")
        return url if "://" in url else f"https://{url}"

    @property
    def oauth(self) -> bool:
        return bool(self.settings.client_id)

    @property
    def client(self) -> RetryingClient:
        return self.get_conn()

    def connect(self) -> RetryingClient:
        s = self.settings
        headers = {"Accept": "application/json"}
        if s.api_token.get_secret_value():
            headers["aw-tenant-code"] = s.api_token.get_secret_value()
        if self.oauth:
            if not s.token_url:
                raise SourceConfigError(f"{self.where} token_url: missing; OAuth (client_id) needs your region's "
                                        "token URL, e.g. https://na.uemauth.workspaceone.com/connect/token")
            self._token_client = RetryingClient(s.token_url, name="AirWatch OAuth", **self.client_options())
            auth: Any = TokenAuth(TokenCache(self._fetch_token))
        else:
            auth = (s.username, s.password.get_secret_value())
        client = RetryingClient(self.url, name="AirWatch", headers=headers, auth=auth, max_connections=s.workers,
                                **self.client_options())
        return client.authenticate()

    # -- authentication ---------------------------------------------------------------------------
    def _fetch_token(self) -> tuple[str, float | None]:
        s = self.settings
        what = "OAuth token"
        form = {"grant_type": "client_credentials", "client_id": s.client_id,
                "client_secret": s.client_secret.get_secret_value()}
        try:
            response = self._token_client.request("POST", s.token_url, data=form)
        except HttpError as exc:
            raise self._error(exc, what, OAUTH_HINT, at=s.token_url) from None
        body = self._json(response, what, at=s.token_url)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise self._fail(what, "no access_token in the answer", response, at=s.token_url)
        mask(token)
        lifetime = body.get("expires_in")
        return token, float(lifetime) if isinstance(lifetime, (int, float)) else None

    # -- calls ------------------------------------------------------------------------------------
    @property
    def _where(self) -> str:
        return f"[{self.section}] " if self.section else ""

    @property
    def workers(self) -> int:
        return self.settings.workers

    def _fail(self, what: str, text: str, response: requests.Response | None = None, *, hint: str = "",
              at: str = "") -> AirWatchError:
        """An error naming the section, the call and the server."""
        message = f"{self._where}AirWatch {what} at {at or self.url}: {text}" + (f"; {hint}" if hint else "")
        return AirWatchError(message, response.status_code if response is not None else None, response)

    def _error(self, exc: HttpError, what: str, hint: str = "", at: str = "") -> AirWatchError:
        """``_fail`` for a failed call: its status, AirWatch's errorCode and message, and a hint."""
        code, message = _error_body(exc.response)
        if exc.status is None:
            text = str(exc)
        else:
            reason = exc.response.reason if exc.response is not None else ""
            text = f"{exc.status} {reason}".strip()
            if code is not None:
                text += f" (errorCode {code})"
            text += f": {message}" if message else ""
            if "gave up after" in str(exc):
                text = f"gave up after {self.max_attempts} attempts: {text}"
            hint = hint or (OAUTH_HINT if self.oauth and exc.status == 401 else HINTS.get(exc.status, ""))
        return self._fail(what, text, exc.response, hint=hint, at=at)

    def _get(self, path: str, what: str, *, hint: str = "", **kwargs: Any) -> requests.Response:
        try:
            return self.client.request("GET", path, **kwargs)
        except AirWatchError:  # already explained (the OAuth token could not be had)
            raise
        except HttpError as exc:
            raise self._error(exc, what, hint) from None

    def _json(self, response: requests.Response, what: str, at: str = "") -> Any:
        try:
            return response.json()
        except ValueError:
            raise self._fail(what, f"the answer is not JSON: {response.text[:200]!r}", response, at=at) from None

    # -- device search ------------------------------------------------------------------------------
    def _page(self, page: int) -> tuple[list[dict], int | None, int] | None:
        """``(devices, Total, PageSize)`` of one search page; None for 204 or an empty page."""
        what = f"device search page {page}"
        page_size = self.settings.page_size
        response = self._get(SEARCH, what, params={"page": page, "pagesize": page_size}, ok_statuses=(204,))
        if response.status_code == 204 or not response.content.strip():
            return None
        body = self._json(response, what)
        devices = body.get("Devices") if isinstance(body, dict) else None
        if not isinstance(devices, list):
            raise self._fail(what, f"expected an object with a Devices list, got {response.text[:200]!r}", response)
        if not devices:
            return None
        total = body.get("Total")
        # The server may clamp pagesize; its page numbers then count its own page size.
        size = body.get("PageSize") if isinstance(body.get("PageSize"), int) and body["PageSize"] > 0 else None
        return devices, total if isinstance(total, int) else None, size or page_size

    def _pages(self) -> Iterator[list[dict]]:
        """Device pages in order; later pages are fetched ``workers`` at a time."""
        first = self._page(0)
        if first is None:
            return
        devices, total, size = first
        self._last_page = None if total is None else max(0, -(-total // size) - 1)
        yield devices

        def calls():
            page = 1
            while self._last_page is None or page <= self._last_page:
                yield lambda p=page: self._page(p)
                page += 1

        for result in fetch_in_order(calls(), workers=self.workers, ahead=self.workers, name="airwatch"):
            if result is None:  # 204 or no devices: past the end (the inventory shrank)
                return
            devices, total, size = result
            if total is not None and self._last_page is not None:
                self._last_page = max(self._last_page, -(-total // size) - 1)  # the inventory grew during the run
            yield devices

    # -- enrichment -----------------------------------------------------------------------------------
    def wants_network(self) -> bool:
        """Network details cost a call per device: read only when a path the run names is under ``network``."""
        return self.needs.names(NETWORK)

    def dep_index(self) -> dict[str, dict]:
        """The DEP group's devices by ``deviceSerialNumber`` (one call, cached)."""
        if self._dep_index is None:
            dep_uuid = self.settings.dep_uuid.strip()
            what = f"DEP group {dep_uuid}"
            response = self._get(f"{API}/dep/groups/{dep_uuid}/devices", what,
                                 hint="check dep_uuid (DEP needs AirWatch 9.2 or later)")
            rows = self._json(response, what) if response.content.strip() else []
            if not isinstance(rows, list):
                raise self._fail(what, f"expected a JSON list, got {response.text[:200]!r}", response)
            self._dep_index = {row["deviceSerialNumber"]: row for row in rows
                               if isinstance(row, dict) and row.get("deviceSerialNumber")}
            self.log.info("DEP group %s: %d devices", dep_uuid, len(self._dep_index))
        return self._dep_index

    def network(self, device: dict) -> dict:
        """Network details of one device; ``{}`` (reported) when they cannot be read."""
        dev_id = device_id(device)
        if dev_id is None:
            self.report(f"device without Id (SerialNumber {device.get('SerialNumber')!r}): no network details")
            return {}
        what = f"network details of device {dev_id}"
        try:
            body = self._json(self._get(f"{API}/devices/{dev_id}/network", what), what)
        except HttpError as exc:
            self.report(f"{exc}; network = {{}}")
            return {}
        return body if isinstance(body, dict) else {}

    def _enrich(self, devices: list[dict], pool: ThreadPoolExecutor | None = None) -> list[dict]:
        if self.settings.dep_uuid:
            index = self.dep_index()
            for device in devices:
                row = index.get(device.get("SerialNumber") or "")
                if row is not None:
                    device["dep"] = row
        if self.wants_network():
            networks: Iterable[dict] = pool.map(self.network, devices) if pool else map(self.network, devices)
            for device, net in zip(devices, networks):
                device["network"] = net
        return devices

    # -- SourceHook -----------------------------------------------------------------------------------
    def records(self) -> Iterator[dict]:
        if self.settings.dep_uuid:
            self.dep_index()  # before paging, as the original (and fail early on a wrong dep_uuid)
        seen: set[Any] = set()
        count = 0
        with ThreadPoolExecutor(self.workers, thread_name_prefix="airwatch-network") as pool:
            for devices in self._pages():
                fresh = []
                for device in devices:
                    ident = device_id(device)
                    if ident is not None and ident in seen:
                        continue
                    seen.add(ident)
                    fresh.append(device)
                count += len(fresh)
                yield from self._enrich(fresh, pool)
        self.log.info("AirWatch: %d devices from %s", count, self.url)

    def check(self) -> str:
        response = self._get(SEARCH, "device search", params={"page": 0, "pagesize": 1}, ok_statuses=(204,))
        body = {"Total": 0} if response.status_code == 204 else self._json(response, "device search")
        total = body.get("Total", "?") if isinstance(body, dict) else "?"
        message = f"Connected to AirWatch at {self.url} ({'OAuth' if self.oauth else 'Basic'}): {total} devices"
        if self.settings.dep_uuid:
            message += f"; DEP group {self.settings.dep_uuid}: {len(self.dep_index())} devices"
        return message

    def record_by_id(self, record_id: str) -> dict | None:
        """A device by its id or serial number (some serials are all digits), shaped as in ``records()``;
        None if unknown."""
        ident = str(record_id).strip()
        what = f"device {ident}"
        lookups = [(f"{API}/devices", {"searchby": "Serialnumber", "id": ident})]
        if ident.isdigit():
            lookups.insert(0, (f"{API}/devices/{ident}", None))
        for path, params in lookups:
            response = self._get(path, what, params=params, ok_statuses=(404,))
            if response.status_code == 404:
                continue
            device = self._json(response, what)
            if not isinstance(device, dict):
                raise self._fail(what, f"expected a device object, got {response.text[:200]!r}", response)
            return self._enrich([device])[0]
        return None
