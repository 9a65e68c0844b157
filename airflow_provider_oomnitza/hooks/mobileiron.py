"""MobileIronHook: devices from MobileIron Cloud (API v1) or MobileIron Core (API v2), Basic auth.

Cloud (``api_version = 1``, the default): the tenant's device partitions are listed, the
``partitions`` setting picks some (or ``All``), and each partition's devices are read 500 at a
time (``start``/``rows``, the documented maximum), newest check-in first. With
``include_checkin_devices_only`` (on by default, as the original's hidden 1.5-day rule) only
devices that checked in within ``last_checkin_date_threshold`` seconds are kept, and a
partition stops at the first page without such a device. Records are the Cloud device
objects, unchanged.

Core (``api_version = 2``): for each device space of the admin, the space's searchable field
names (``device_spaces/criteria``) are asked for on ``/api/v2/devices`` with ``labelId=-1``
(every device), ``offset``/``limit`` while ``hasMore``. Records are Core's flat objects with
dotted keys (``common.Serialnumber``), unchanged; a device seen in two spaces is sent once.

Connection (type ``mobileiron``): host = the URL, login/password = the API user; the form's
API version field says Cloud (1) or Core (2).
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Iterator

from airflow_provider_oomnitza.hooks.base import TLS_FIELDS, SourceHook
from airflow_provider_oomnitza.hooks.http_client import HttpError, RetryingClient
from airflow_provider_oomnitza.sources.mobileiron import ALL, MobileIronSettings

CLOUD_ROWS = 500  # Ivanti's documented maximum of ``rows``; Cloud answers 400 above it
CORE_LIMIT = 500
CORE_MAX_FIELDS = 512  # Core refuses more ``fields`` than this
HARDWARE_WORKERS = 4
HARDWARE_FIELDS = ("primaryHDDSize", "primaryProcessorName", "primaryProcessorCores", "primaryMemoryCapacity")
AUTH_HINTS = {
    401: "MobileIron refused the username or password; on Cloud use the tenant API user's generated e-mail-like "
         "name (admins with MFA cannot use Basic auth)",
    403: "the account may not use the API; on Core give it the API role, on Cloud Device Read Only or Device "
         "Management",
}


class MobileIronHook(SourceHook):
    conn_name_attr = "mobileiron_conn_id"
    default_conn_name = "mobileiron_default"
    conn_type = "mobileiron"
    hook_name = "MobileIron"
    settings_model = MobileIronSettings
    extra_fields = ("api_version", *TLS_FIELDS)
    clock = staticmethod(time.time)  # what "now" is for the check-in cut-off

    @property
    def api_version(self) -> int:
        return self.settings.api_version

    @property
    def http(self) -> RetryingClient:
        return self.get_conn()

    def connect(self) -> RetryingClient:
        s = self.settings
        return RetryingClient(s.url, name="MobileIron", auth=(s.username, s.password.get_secret_value()),
                              headers={"Accept": "application/json"}, **self.client_options())

    def _get(self, path: str, **params: Any) -> Any:
        try:
            response = self.http.request("GET", path, params=params or None)
        except HttpError as exc:
            hint = AUTH_HINTS.get(exc.status or 0)
            if hint:
                raise HttpError(f"{exc}. {hint}", exc.status, exc.response) from None
            raise
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            kind = response.headers.get("Content-Type")
            raise HttpError(f"MobileIron GET {path}: expected a JSON object, got {kind!r} (is url "
                            f"{self.settings.url!r} the MobileIron API?)", response.status_code, response)
        return body

    # -- the hook's interface -------------------------------------------------------------------
    def records(self) -> Iterator[dict]:
        return self._cloud_records() if self.api_version == 1 else self._core_records()

    def check(self) -> str:
        url = self.settings.url
        if self.api_version == 2:
            spaces = self._get("api/v2/device_spaces/mine").get("results") or []
            names = ", ".join(f"{s.get('name')} ({s.get('id')})" for s in spaces)
            return f"Connected to MobileIron Core at {url}: device spaces {names or 'none'}"
        partitions = self.partitions()
        message = f"Connected to MobileIron Cloud at {url}: partitions {', '.join(p['name'] for p in partitions)}"
        if self.settings.partitions:
            chosen = [p["name"] for p in self.selected_partitions(partitions)]
            message += f"; selected: {', '.join(chosen) or 'none'}"
        return message

    # -- Cloud (API v1) -------------------------------------------------------------------------
    def partitions(self) -> list[dict]:
        result = self._get("api/v1/tenant/partition/device").get("result") or {}
        return [{"id": p["id"], "name": str(p.get("name"))} for p in result.get("searchResults") or []]

    def selected_partitions(self, partitions: list[dict]) -> list[dict]:
        chosen, notes = select_partitions(partitions, self.settings.partitions or [],
                                          exact=self.settings.partition_match == "exact")
        for note in notes:
            self.log.warning("[%s] partitions: %s", self.section, note)
        return chosen

    def _cloud_records(self) -> Iterator[dict]:
        for partition in self.selected_partitions(self.partitions()):
            self.log.info("[%s] reading partition %r (id %s)", self.section, partition["name"], partition["id"])
            yield from self._partition_devices(partition)

    def _cutoff_ms(self) -> int | None:
        """Epoch milliseconds a device's ``lastCheckin`` must reach, or None when every device is kept."""
        if not self.settings.include_checkin_devices_only:
            return None
        return int((self.clock() - self.settings.last_checkin_date_threshold) * 1000)

    def _partition_devices(self, partition: dict) -> Iterator[dict]:
        cutoff = self._cutoff_ms()
        start, total, seen, skipped = 0, None, set(), 0
        while True:
            result = self._get("api/v1/device", dmPartitionId=partition["id"], rows=CLOUD_ROWS, start=start,
                               **{"sortFields[0].name": "lastCheckin", "sortFields[0].order": "DESC"}).get("result")
            result = result or {}
            if start == 0:  # as the original, the count of the first page is the one paged against
                total = result.get("totalCount") if isinstance(result.get("totalCount"), int) else None
            page = result.get("searchResults") or []
            if not page:
                break
            start += len(page)
            devices = self._valid(page, f"partition {partition['name']!r}")
            recent = devices if cutoff is None else [d for d in devices if _checked_in_since(d, cutoff)]
            skipped += len(devices) - len(recent)
            fresh = [d for d in recent if d.get("id") is None or d["id"] not in seen]
            seen.update(d["id"] for d in fresh if d.get("id") is not None)
            if self.settings.windows_hardware_inventory:
                self._add_hardware(fresh)
            yield from fresh
            if len(recent) < len(devices):  # sorted newest first: every later device checked in even earlier
                skipped += max(0, (total or 0) - start)
                break
            if start >= total if total is not None else len(page) < CLOUD_ROWS:
                break
        if cutoff is not None:
            self.log.info("[%s] partition %r: %d device(s) not checked in since %s left out "
                          "(include_checkin_devices_only)", self.section, partition["name"], skipped,
                          time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(cutoff / 1000)))

    def _valid(self, page: Iterable[Any], where: str) -> list[dict]:
        devices = []
        for item in page:
            if isinstance(item, dict):
                devices.append(item)
            else:
                self.report(f"{where}: a device that is not an object ({str(item)[:80]!r}); skipped")
        return devices

    def _add_hardware(self, devices: list[dict]) -> None:
        """As later originals: primary CPU, disk and memory of Windows devices, and their BIOS serial."""
        for device in devices:
            device.update(dict.fromkeys(HARDWARE_FIELDS))
        windows = [d for d in devices if d.get("windowsDeviceType") and d.get("id") is not None]
        if windows:
            with ThreadPoolExecutor(HARDWARE_WORKERS, thread_name_prefix="mobileiron-hw") as pool:
                for device, inventory in zip(windows, pool.map(self._hardware, windows)):
                    device.update(hardware_fields(inventory))

    def _hardware(self, device: dict) -> dict:
        path = f"api/v1/device/{device['id']}/hardwareinventory"
        try:
            response = self.http.request("GET", path, ok_statuses=(404,))
            if response.status_code == 404:  # no inventory reported yet
                return {}
            body = response.json()
            return (body.get("result") or {}) if isinstance(body, dict) else {}
        except (HttpError, ValueError) as exc:
            self.log.warning("[%s] hardware inventory of device %s not read: %s", self.section, device["id"], exc)
            return {}

    # -- Core (API v2) --------------------------------------------------------------------------
    def _core_records(self) -> Iterator[dict]:
        seen: set = set()
        for space in self._get("api/v2/device_spaces/mine").get("results") or []:
            fields = self._core_fields(space["id"])
            offset = 0
            while True:
                body = self._get("api/v2/devices", adminDeviceSpaceId=space["id"], fields=",".join(fields),
                                 labelId=-1, limit=CORE_LIMIT, offset=offset)
                page = body.get("results") or []
                for device in self._valid(page, f"device space {space.get('name')!r}"):
                    key = device.get("common.id", device.get("common.uuid"))
                    if key is None or key not in seen:
                        seen.add(key)
                        yield device
                offset += len(page)
                if not body.get("hasMore") or not page:
                    break

    def _core_fields(self, space_id: Any) -> list[str]:
        criteria = self._get("api/v2/device_spaces/criteria", adminDeviceSpaceId=space_id).get("results") or []
        names = [f["name"] for f in criteria if f.get("name")]
        if len(names) <= CORE_MAX_FIELDS:
            return names
        mapped = self.needs.paths
        kept = [n for n in names if n in mapped] + [n for n in names if n not in mapped]
        self.log.warning("[%s] device space %s offers %d fields; Core accepts %d, so %s are not read",
                         self.section, space_id, len(names), CORE_MAX_FIELDS, ", ".join(kept[CORE_MAX_FIELDS:]))
        return kept[:CORE_MAX_FIELDS]


def _checked_in_since(device: dict, cutoff_ms: int) -> bool:
    # As the original: a device without a numeric lastCheckin (never checked in) is left out.
    stamp = device.get("lastCheckin")
    return isinstance(stamp, (int, float)) and not isinstance(stamp, bool) and stamp >= cutoff_ms


def select_partitions(partitions: list[dict], wanted: list[str] | str, *, exact: bool = False
                      ) -> tuple[list[dict], list[str]]:
    """The partitions the setting selects, and notes about surprising selections.

    ``All`` selects every partition. Otherwise a partition is taken when its name is one of
    ``wanted``, or (unless ``exact``) part of one of them: the original tested whether the name
    was a substring of the raw setting text, which comes to the same for names without quotes,
    commas or brackets.
    """
    if wanted == ALL:
        return list(partitions), []
    chosen, notes = [], []
    for partition in partitions:
        name = partition["name"]
        if name in wanted:
            chosen.append(partition)
        elif not exact:
            container = next((w for w in wanted if name in w), None)
            if container is not None:
                chosen.append(partition)
                notes.append(f"partition {name!r} is selected because its name is part of {container!r} (the "
                             "original's rule); set partition_match = exact to select only exact names")
    names = {p["name"] for p in partitions}
    notes += [f"no partition is named {w!r}; the partitions are: {', '.join(sorted(names))}"
              for w in wanted if w not in names]
    return chosen, notes


def hardware_fields(inventory: dict) -> dict:
    """``primary*`` fields from a Windows hardware inventory, plus ``serialNumber`` when it has one."""
    def first(key: str) -> dict:
        items = inventory.get(key) if isinstance(inventory, dict) else None
        return items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}

    out = {
        "primaryProcessorName": first("processor").get("name"),
        "primaryProcessorCores": first("processor").get("cores"),
        "primaryHDDSize": first("hardDrive").get("size"),
        "primaryMemoryCapacity": first("physicalMemory").get("capacity"),
    }
    product = inventory.get("computerSystemProduct") if isinstance(inventory, dict) else None
    if isinstance(product, dict) and product.get("identifyingNumber"):
        out["serialNumber"] = product["identifyingNumber"]
    return out
