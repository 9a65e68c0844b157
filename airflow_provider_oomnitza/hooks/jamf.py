"""JamfHook: computers and mobile devices from the Jamf Pro API, shaped as the Classic API shaped them.

Authentication is a bearer token (Jamf Pro 11.5+ refuses Basic on data calls): from an
account (``username``/``password`` -> ``POST /api/v1/auth/token``) or from an API client
(``client_id``/``client_secret`` -> ``POST /api/oauth/token``). One token is shared by every
thread; it is renewed shortly before it expires and, should Jamf answer 401 anyway, once
through the client's re-authentication (keyed on ``RetryingClient.generation``).

Inventory comes from the paged endpoints (``/api/v1/computers-inventory``,
``/api/v2/mobile-devices/detail``) asking only for the sections the mappings need, pages
fetched concurrently within Jamf's advised limit of 5 connections. Each result is turned into
the Classic record the original connector synced (``general.serial_number``,
``location.department``, ``purchasing.po_date_epoch``, ``extension_attributes``...) by the
declarative tables ``COMPUTER_FIELDS`` and ``MOBILE_FIELDS``: Classic path <- Jamf Pro API
path + a small shape. Department and building ids become names through ``/api/v1/departments``
and ``/api/v1/buildings`` (read once). ``group_name`` reads the Classic group endpoint for
the member ids and asks for those devices with an ``id=in=(...)`` filter.

Connection (type ``jamf``): host = the Jamf Pro URL, login/password = an account, or extra
``{"client_id": ..., "client_secret": ...}`` = an API client.
"""
from __future__ import annotations

import itertools
import math
import re
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import quote

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_oomnitza.hooks.base import SourceHook
from airflow_provider_oomnitza.hooks.http_client import HttpError, RetryingClient, error_text
from airflow_provider_oomnitza.mapping.converters import BUILTIN_CONVERTERS
from airflow_provider_oomnitza.masking import mask

MAX_CONNECTIONS = 5  # Jamf's published guidance for concurrent API connections
DEFAULT_PAGE_SIZE = 200
GROUP_CHUNK = 100  # member ids per filtered request (keeps URLs short)
NAMES_PAGE_SIZE = 1000
_SERIAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")  # what a serial in an RSQL filter may hold

_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)


class JamfError(Exception):
    """Jamf Pro could not be read (a retry later may help)."""


class JamfConfigError(AirflowFailException):
    """Credentials, privileges or settings Jamf refuses: retrying does not help."""


# ---------------------------------------------------------------------------------------------
# Shapes: Jamf Pro API value -> Classic value
# ---------------------------------------------------------------------------------------------

def text(value: Any) -> Any:
    """Classic has '' where the Jamf Pro API has null."""
    return "" if value is None else value


def number(value: Any) -> Any:
    return 0 if value is None else value


def flag(value: Any) -> bool:
    return bool(value)


def integer(value: Any) -> Any:
    """Jamf Pro API ids are strings; Classic ids are numbers."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def constant(value: Any) -> Callable[[Any], Any]:
    """A Classic field the Jamf Pro API no longer has (always empty on current Jamf Pro)."""
    return lambda _: value


def words(table: dict[str, str]) -> Callable[[Any], Any]:
    """An enum of the Jamf Pro API (``FULL_SECURITY``) as the Classic text (``full security``)."""
    return lambda value: "" if value is None else table.get(value, str(value).replace("_", " ").lower())


def boolean_text(true: str, false: str) -> Callable[[Any], str]:
    return lambda value: "" if value is None else (true if value else false)


@lru_cache(maxsize=8192)
def _instant(value: str) -> datetime | None:
    try:
        if len(value) == 10:  # a date
            return datetime.fromisoformat(value).replace(tzinfo=_UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=_UTC) if moment.tzinfo is None else moment.astimezone(_UTC)


def _date_shape(render: Callable[[datetime], Any], unset: Any) -> Callable[[Any], Any]:
    def shape(value: Any) -> Any:
        moment = _instant(value) if isinstance(value, str) and value else None
        return unset if moment is None else render(moment)
    return shape


def _sliced(timestamp: Callable[[str], Any], date: Callable[[str], Any],
            slow: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The Jamf Pro API's usual forms, ``YYYY-MM-DDTHH:MM:SS.mmmZ`` and ``YYYY-MM-DD``, are
    reformatted by slicing (fast); anything else goes through ``datetime``."""
    def shape(value: Any) -> Any:
        if isinstance(value, str):
            if len(value) == 24 and value[10] == "T" and value[23] == "Z":
                return timestamp(value)
            if len(value) == 10 and value[4] == "-" and value[7] == "-":
                return date(value)
        return slow(value)
    return shape


epoch_ms = _date_shape(lambda m: (m - _EPOCH) // timedelta(milliseconds=1), 0)
utc_text = _sliced(lambda v: v[:23] + "+0000", lambda v: v + "T00:00:00.000+0000", _date_shape(
    lambda m: m.strftime("%Y-%m-%dT%H:%M:%S.") + f"{m.microsecond // 1000:03d}+0000", ""))
datetime_text = _sliced(lambda v: f"{v[:10]} {v[11:19]}", lambda v: v + " 00:00:00",
                        _date_shape(lambda m: m.strftime("%Y-%m-%d %H:%M:%S"), ""))
date_text = _sliced(lambda v: v[:10], lambda v: v, _date_shape(lambda m: m.strftime("%Y-%m-%d"), ""))
long_text = _date_shape(lambda m: m.strftime("%A, %B %d %Y at %I:%M %p"), "")

_EA_TYPES = {"STRING": "String", "INTEGER": "Integer", "DATE": "Date", "DATE_TIME": "Date"}


def extension_attributes(items: Any) -> list[dict]:
    """Jamf Pro ``[{definitionId, name, values, dataType, multiValue}]`` -> Classic
    ``[{id, name, type, multi_value, value}]``."""
    return [{"id": integer(ea.get("definitionId")), "name": ea.get("name"),
             "type": _EA_TYPES.get(ea.get("dataType"), text(ea.get("dataType"))),
             "multi_value": bool(ea.get("multiValue")), "value": ", ".join(map(str, ea.get("values") or []))}
            for ea in items or []]


def listing(**keys: str) -> Callable[[Any], list[dict]]:
    """A list of objects with renamed keys: ``listing(name="name", bundle_id="bundleId")``."""
    return lambda items: [{classic: text(item.get(pro)) for classic, pro in keys.items()} for item in items or []]


def names_of(key: str) -> Callable[[Any], list]:
    return lambda items: [item.get(key) for item in items or []]


def strings(items: Any) -> list:
    return list(items or [])


def mobile_os_type(record: dict) -> str:
    """Classic ``os_type`` (iOS, iPadOS, tvOS...) from the device type and model."""
    kind = record.get("deviceType") or ""
    model = (record.get("hardware") or {}).get("model") or ""
    if kind == "ios":
        return "iPadOS" if model.startswith("iPad") else "iOS"
    return {"tvos": "tvOS", "watchos": "watchOS", "visionos": "visionOS"}.get(kind, kind)


# ---------------------------------------------------------------------------------------------
# The tables: Classic path <- Jamf Pro API section and path + shape
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """One Classic field. ``pro`` None hands the whole result to ``shape``; ``lookup`` names the
    id -> name table (departments, buildings) the value is resolved through."""

    classic: str
    section: str | None  # the Jamf Pro API section it needs; None: always in a result
    pro: str | None
    shape: Callable[[Any], Any] = text
    lookup: str | None = None


def fields(section: str | None, *pairs: tuple) -> list[Field]:
    """Rows of one section: ``(classic, pro[, shape[, lookup]])``."""
    return [Field(pair[0], section, *pair[1:]) for pair in pairs]


def dated(section: str, classic: str, pro: str, plain: Callable[[Any], Any] | None) -> list[Field]:
    """A Classic date: its text form (if it has one), ``<classic>_epoch`` (ms) and ``<classic>_utc``."""
    rows = [Field(f"{classic}_epoch", section, pro, epoch_ms), Field(f"{classic}_utc", section, pro, utc_text)]
    return ([Field(classic, section, pro, plain)] if plain else []) + rows


G, H, OS, UL, P, A, EA = ("GENERAL", "HARDWARE", "OPERATING_SYSTEM", "USER_AND_LOCATION", "PURCHASING",
                          "APPLICATIONS", "EXTENSION_ATTRIBUTES")
SEC, DE, GM, N = "SECURITY", "DISK_ENCRYPTION", "GROUP_MEMBERSHIPS", "NETWORK"
_PURCHASING = (("purchasing.is_purchased", "purchasing.purchased", flag),
               ("purchasing.is_leased", "purchasing.leased", flag),
               ("purchasing.po_number", "purchasing.poNumber"), ("purchasing.vendor", "purchasing.vendor"),
               ("purchasing.applecare_id", "purchasing.appleCareId"),
               ("purchasing.purchase_price", "purchasing.purchasePrice"),
               ("purchasing.purchasing_account", "purchasing.purchasingAccount"),
               ("purchasing.purchasing_contact", "purchasing.purchasingContact"),
               ("purchasing.life_expectancy", "purchasing.lifeExpectancy", number))

COMPUTER_FIELDS: list[Field] = [
    *fields(None, ("general.id", "id", integer), ("general.udid", "udid")),
    *fields(G, ("general.name", "general.name"), ("general.ip_address", "general.lastIpAddress"),
            ("general.last_reported_ip", "general.lastReportedIp"),
            ("general.jamf_version", "general.jamfBinaryVersion"), ("general.platform", "general.platform"),
            ("general.barcode_1", "general.barcode1"), ("general.barcode_2", "general.barcode2"),
            ("general.asset_tag", "general.assetTag"),
            ("general.remote_management.managed", "general.remoteManagement.managed", flag),
            ("general.remote_management.management_username", "general.remoteManagement.managementUsername"),
            ("general.supervised", "general.supervised", flag),
            ("general.mdm_capable", "general.mdmCapable.capable", flag),
            ("general.management_status.enrolled_via_dep", "general.enrolledViaAutomatedDeviceEnrollment", flag),
            ("general.management_status.user_approved_mdm", "general.userApprovedMdm", flag),
            ("general.distribution_point", "general.distributionPoint"), ("general.sus", None, constant("")),
            ("general.site.id", "general.site.id", integer), ("general.site.name", "general.site.name"),
            ("general.itunes_store_account_is_active", "general.itunesStoreAccountActive", flag)),
    *dated(G, "general.report_date", "general.reportDate", datetime_text),
    *dated(G, "general.last_contact_time", "general.lastContactTime", datetime_text),
    *dated(G, "general.initial_entry_date", "general.initialEntryDate", date_text),
    *dated(G, "general.last_cloud_backup_date", "general.lastCloudBackupDate", None),
    *dated(G, "general.last_enrolled_date", "general.lastEnrolledDate", None),
    *dated(G, "general.mdm_profile_expiration", "general.mdmProfileExpiration", None),
    *fields(H, ("general.serial_number", "hardware.serialNumber"),
            ("general.network_adapter_type", "hardware.networkAdapterType"),
            ("general.mac_address", "hardware.macAddress"),
            ("general.alt_network_adapter_type", "hardware.altNetworkAdapterType"),
            ("general.alt_mac_address", "hardware.altMacAddress"),
            ("hardware.make", "hardware.make"), ("hardware.model", "hardware.model"),
            ("hardware.model_identifier", "hardware.modelIdentifier"), ("hardware.service_pack", None, constant("")),
            ("hardware.processor_type", "hardware.processorType"),
            ("hardware.is_apple_silicon", "hardware.appleSilicon", flag),
            ("hardware.processor_architecture", "hardware.processorArchitecture"),
            ("hardware.processor_speed", "hardware.processorSpeedMhz", number),
            ("hardware.processor_speed_mhz", "hardware.processorSpeedMhz", number),
            ("hardware.number_processors", "hardware.processorCount", number),
            ("hardware.number_cores", "hardware.coreCount", number),
            ("hardware.total_ram", "hardware.totalRamMegabytes", number),
            ("hardware.total_ram_mb", "hardware.totalRamMegabytes", number),
            ("hardware.boot_rom", "hardware.bootRom"), ("hardware.bus_speed", "hardware.busSpeedMhz", number),
            ("hardware.bus_speed_mhz", "hardware.busSpeedMhz", number),
            ("hardware.battery_capacity", "hardware.batteryCapacityPercent", number),
            ("hardware.cache_size", "hardware.cacheSizeKilobytes", number),
            ("hardware.cache_size_kb", "hardware.cacheSizeKilobytes", number),
            ("hardware.available_ram_slots", "hardware.openRamSlots", number),
            ("hardware.optical_drive", "hardware.opticalDrive"), ("hardware.nic_speed", "hardware.nicSpeed"),
            ("hardware.smc_version", "hardware.smcVersion"), ("hardware.ble_capable", "hardware.bleCapable", flag),
            ("hardware.supports_ios_app_installs", "hardware.supportsIosAppInstalls", flag)),
    *fields(OS, ("hardware.os_name", "operatingSystem.name"), ("hardware.os_version", "operatingSystem.version"),
            ("hardware.os_build", "operatingSystem.build"),
            ("hardware.software_update_device_id", "operatingSystem.softwareUpdateDeviceId"),
            ("hardware.active_directory_status", "operatingSystem.activeDirectoryStatus")),
    *fields(SEC, ("hardware.sip_status", "security.sipStatus", words({"ENABLED": "Enabled", "DISABLED": "Disabled"})),
            ("hardware.gatekeeper_status", "security.gatekeeperStatus",
             words({"APP_STORE_AND_IDENTIFIED_DEVELOPERS": "App Store and identified developers",
                    "APP_STORE": "App Store", "DISABLED": "Disabled"})),
            ("hardware.xprotect_version", "security.xprotectVersion"),
            ("security.activation_lock", "security.activationLockEnabled", flag),
            ("security.recovery_lock_enabled", "security.recoveryLockEnabled", flag),
            ("security.firewall_enabled", "security.firewallEnabled", flag),
            ("security.secure_boot_level", "security.secureBootLevel", words({})),
            ("security.external_boot_level", "security.externalBootLevel", words({}))),
    *fields(DE, ("hardware.disk_encryption_configuration", "diskEncryption.diskEncryptionConfigurationName"),
            ("hardware.institutional_recovery_key", "diskEncryption.institutionalRecoveryKeyPresent",
             boolean_text("Present", "Not Present")),
            ("hardware.filevault2_users", "diskEncryption.fileVault2EnabledUserNames", strings)),
    *fields(UL, ("location.username", "userAndLocation.username"),
            ("location.realname", "userAndLocation.realname"), ("location.real_name", "userAndLocation.realname"),
            ("location.email_address", "userAndLocation.email"), ("location.position", "userAndLocation.position"),
            ("location.phone", "userAndLocation.phone"), ("location.phone_number", "userAndLocation.phone"),
            ("location.department", "userAndLocation.departmentId", text, "departments"),
            ("location.building", "userAndLocation.buildingId", text, "buildings"),
            ("location.room", "userAndLocation.room")),
    *fields(P, *_PURCHASING, ("purchasing.os_applecare_id", None, constant("")),
            ("purchasing.os_maintenance_expires", None, constant(""))),
    *dated(P, "purchasing.po_date", "purchasing.poDate", date_text),
    *dated(P, "purchasing.warranty_expires", "purchasing.warrantyDate", date_text),
    *dated(P, "purchasing.lease_expires", "purchasing.leaseDate", date_text),
    *fields(A, ("software.applications", "applications",
                listing(name="name", path="path", version="version", bundle_id="bundleId"))),
    *fields(EA, ("extension_attributes", "extensionAttributes", extension_attributes)),
    *fields(GM, ("groups_accounts.computer_group_memberships", "groupMemberships", names_of("groupName"))),
]

MOBILE_FIELDS: list[Field] = [
    *fields(None, ("general.id", "mobileDeviceId", integer)),
    *fields(G, ("general.display_name", "general.displayName"), ("general.device_name", "general.displayName"),
            ("general.name", "general.displayName"), ("general.asset_tag", "general.assetTag"),
            ("general.os_version", "general.osVersion"), ("general.os_build", "general.osBuild"),
            ("general.udid", "general.udid"), ("general.ip_address", "general.ipAddress"),
            ("general.device_ownership_level", "general.deviceOwnershipType"),
            ("general.managed", "general.managed", flag), ("general.supervised", "general.supervised", flag),
            ("general.exchange_activesync_device_identifier", "general.exchangeDeviceId"),
            ("general.tethered", "general.tethered", boolean_text("true", "false")),
            ("general.device_locator_service_enabled", "general.deviceLocatorServiceEnabled", flag),
            ("general.do_not_disturb_enabled", "general.doNotDisturbEnabled", flag),
            ("general.cloud_backup_enabled", "general.cloudBackupEnabled", flag),
            ("general.itunes_store_account_is_active", "general.itunesStoreAccountActive", flag)),
    *dated(G, "general.last_inventory_update", "general.lastInventoryUpdateDate", long_text),
    *dated(G, "general.initial_entry_date", "general.initialEntryDate", None),
    *dated(G, "general.last_enrollment", "general.lastEnrolledDate", None),
    *dated(G, "general.last_cloud_backup_date", "general.lastCloudBackupDate", None),
    *dated(G, "general.last_backup_time", "general.lastBackupDate", None),
    *fields(H, ("general.capacity", "hardware.capacityMb", number),
            ("general.capacity_mb", "hardware.capacityMb", number),
            ("general.available", "hardware.availableSpaceMb", number),
            ("general.available_mb", "hardware.availableSpaceMb", number),
            ("general.percentage_used", "hardware.usedSpacePercentage", number),
            ("general.os_type", None, mobile_os_type), ("general.serial_number", "hardware.serialNumber"),
            ("general.wifi_mac_address", "hardware.wifiMacAddress"),
            ("general.bluetooth_mac_address", "hardware.bluetoothMacAddress"),
            ("general.modem_firmware", "hardware.modemFirmwareVersion"), ("general.model", "hardware.model"),
            ("general.model_display", "hardware.model"), ("general.modelDisplay", "hardware.model"),
            ("general.model_identifier", "hardware.modelIdentifier"),
            ("general.model_number", "hardware.modelNumber"),
            ("general.battery_level", "hardware.batteryLevel", number),
            ("general.ble_capable", "hardware.bluetoothLowEnergyCapable", flag)),
    *fields(N, ("general.phone_number", "network.phoneNumber"),
            ("network.home_carrier_network", "network.homeCarrierNetwork"),
            ("network.cellular_technology", "network.cellularTechnology", lambda v: "Unknown" if v is None else v),
            ("network.voice_roaming_enabled", "network.voiceRoamingEnabled", boolean_text("Enabled", "Disabled")),
            ("network.imei", "network.imei"), ("network.iccid", "network.iccid"), ("network.meid", "network.meid"),
            ("network.current_carrier_network", "network.currentCarrierNetwork"),
            ("network.carrier_settings_version", "network.carrierSettingsVersion"),
            ("network.current_mobile_country_code", "network.currentMobileCountryCode"),
            ("network.current_mobile_network_code", "network.currentMobileNetworkCode"),
            ("network.home_mobile_country_code", "network.homeMobileCountryCode"),
            ("network.home_mobile_network_code", "network.homeMobileNetworkCode"),
            ("network.data_roaming_enabled", "network.dataRoamingEnabled", flag),
            ("network.roaming", "network.roaming", flag), ("network.phone_number", "network.phoneNumber")),
    *fields(UL, ("location.username", "userAndLocation.username"),
            ("location.realname", "userAndLocation.realName"), ("location.real_name", "userAndLocation.realName"),
            ("location.email_address", "userAndLocation.emailAddress"),
            ("location.position", "userAndLocation.position"), ("location.phone", "userAndLocation.phoneNumber"),
            ("location.phone_number", "userAndLocation.phoneNumber"),
            ("location.department", "userAndLocation.departmentId", text, "departments"),
            ("location.building", "userAndLocation.buildingId", text, "buildings"),
            ("location.room", "userAndLocation.room")),
    *fields(P, *_PURCHASING),
    *dated(P, "purchasing.po_date", "purchasing.poDate", date_text),
    *dated(P, "purchasing.warranty_expires", "purchasing.warrantyExpiresDate", date_text),
    *dated(P, "purchasing.lease_expires", "purchasing.leaseExpiresDate", date_text),
    *fields(SEC, ("security.data_protection", "security.dataProtected", flag),
            ("security.passcode_present", "security.passcodePresent", flag),
            ("security.passcode_compliant", "security.passcodeCompliant", flag),
            ("security.passcode_compliant_with_profile", "security.passcodeCompliantWithProfile", flag),
            ("security.activation_lock_enabled", "security.activationLockEnabled", flag)),
    *fields(A, ("applications", "applications",
                listing(application_name="name", application_version="version",
                        application_short_version="shortVersion", identifier="identifier"))),
    *fields(EA, ("extension_attributes", "extensionAttributes", extension_attributes)),
]


def _getter(path: str | None) -> Callable[[dict], Any]:
    """A fast reader of a dotted Jamf Pro API path (sections may be null)."""
    if path is None:
        return lambda result: result
    keys = path.split(".")
    if len(keys) == 1:
        return lambda result, k=keys[0]: result.get(k)
    if len(keys) == 2:
        def two(result: dict, a: str = keys[0], b: str = keys[1]) -> Any:
            inner = result.get(a)
            return inner.get(b) if isinstance(inner, dict) else None
        return two

    def many(result: dict) -> Any:
        data: Any = result
        for key in keys:
            if not isinstance(data, dict):
                return None
            data = data.get(key)
        return data
    return many


def _name_of(names: dict[str, str]) -> Callable[[Any], str]:
    return lambda value: "" if value is None else names.get(str(value), "")


class ClassicShaper:
    """Builds Classic records from Jamf Pro API results with the rows a sync needs.

    Compiled once: each row becomes (parent dict index, key, shape) under the Jamf Pro API
    object it reads (a section, read once per record); a record is a list of fresh dicts filled
    row by row, then linked into the nested Classic object. ``text`` rows are inlined.
    """

    def __init__(self, rows: Iterable[Field], names: dict[str, dict[str, str]]):
        parents: dict[tuple[str, ...], int] = {(): 0}
        self.links: list[tuple[int, str, int]] = []  # (parent, key, child)
        by_section: dict[str, list[tuple[str, int, str, Callable[[Any], Any] | None]]] = {}
        self.others: list[tuple[int, str, Callable[[dict], Any], Callable[[Any], Any]]] = []
        for row in rows:
            *path, leaf = row.classic.split(".")
            for depth in range(1, len(path) + 1):
                if tuple(path[:depth]) not in parents:
                    parents[tuple(path[:depth])] = len(parents)
                    self.links.append((parents[tuple(path[:depth - 1])], path[depth - 1], parents[tuple(path[:depth])]))
            shape = _name_of(names[row.lookup]) if row.lookup else row.shape
            keys = row.pro.split(".") if row.pro else []
            if len(keys) == 2:
                by_section.setdefault(keys[0], []).append((keys[1], parents[tuple(path)], leaf,
                                                           None if shape is text else shape))
            else:
                self.others.append((parents[tuple(path)], leaf, _getter(row.pro), shape))
        self.sections = list(by_section.items())
        self.size = len(parents)

    def __call__(self, result: dict) -> dict:
        dicts: list[dict[str, Any]] = [{} for _ in range(self.size)]
        for section, ops in self.sections:
            inner = result.get(section)
            if not isinstance(inner, dict):
                inner = {}
            for key, parent, leaf, shape in ops:
                value = inner.get(key)
                if shape is None:
                    dicts[parent][leaf] = "" if value is None else value
                else:
                    dicts[parent][leaf] = shape(value)
        for parent, leaf, read, shape in self.others:
            dicts[parent][leaf] = shape(read(result))
        for parent, leaf, child in self.links:
            dicts[parent][leaf] = dicts[child]
        return dicts[0]


def _related(path: str, source: str) -> bool:
    """A mapping on ``source`` reads the Classic field ``path`` (or part of it, or all of it)."""
    return path == source or path.startswith(source + ".") or source.startswith(path + ".")


def rows_for(table: list[Field], mappings: dict[str, dict]) -> list[Field]:
    """The rows of the sections the mappings read (as the original asked for whole subsets), but
    names looked up by id only where a mapping reads them (they need more privileges). Every row
    when a mapping's converter is custom code (it may read any field) or no mapping has a source."""
    sources: list[str] = []
    for spec in mappings.values():
        if spec.get("source"):
            sources.append(str(spec["source"]))
        converter = str(spec.get("converter") or "").split(":", 1)[0]
        if converter == "casper_extension_attribute":
            sources.append("extension_attributes")
        elif converter and converter not in BUILTIN_CONVERTERS:
            return list(table)
    if not sources:
        return list(table)
    read = [row for row in table if any(_related(row.classic, s) for s in sources)]
    wanted = {row.section for row in read}
    return [row for row in table if (row.section is None or row.section in wanted) and (not row.lookup or row in read)]


# ---------------------------------------------------------------------------------------------
# Device kinds
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Kind:
    noun: str
    table: list[Field]
    list_path: str
    sort: str
    id_field: str  # RSQL field of the device id
    privilege: str
    group_path: str  # Classic group by name
    group_root: str
    group_members: str
    group_privilege: str


COMPUTERS = _Kind("computers", COMPUTER_FIELDS, "api/v1/computers-inventory", "id:asc", "id", "Read Computers",
                  "JSSResource/computergroups/name/", "computer_group", "computers",
                  "Read Smart Computer Groups / Read Static Computer Groups")
MOBILE_DEVICES = _Kind("mobile devices", MOBILE_FIELDS, "api/v2/mobile-devices/detail", "mobileDeviceId:asc",
                       "mobileDeviceId", "Read Mobile Devices", "JSSResource/mobiledevicegroups/name/",
                       "mobile_device_group", "mobile_devices",
                       "Read Smart Mobile Device Groups / Read Static Mobile Device Groups")


# ---------------------------------------------------------------------------------------------
# The hook
# ---------------------------------------------------------------------------------------------

class JamfHook(SourceHook):
    """Jamf Pro computers or mobile devices (``sync_type``) as Classic-shaped records."""

    conn_type = "jamf"
    hook_name = "Jamf Pro"
    default_conn_name = "jamf_default"
    extra_settings = ("client_id", "client_secret")
    max_attempts = 8  # per call, with the client's backoff (tests lower these)
    max_wait = 120.0

    def __init__(self, settings: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        s = self.settings
        self.url = str(s.get("url") or "").rstrip("/")
        if not self.url:
            raise JamfConfigError(f"[{self.section}] url: missing; set the Jamf Pro URL (or conn_id)")
        self.kind = MOBILE_DEVICES if s.get("sync_type") == "mobiledevices" else COMPUTERS
        self.page_size = max(1, min(int(s.get("page_size") or DEFAULT_PAGE_SIZE), 2000))
        self.client_id = str(s.get("client_id") or "")
        self.username = str(s.get("username") or "")
        if not self.client_id and not self.username:
            raise JamfConfigError(f"[{self.section}] username: set username and password, or client_id and "
                                  "client_secret")
        self.who = f"API client {self.client_id!r}" if self.client_id else f"account {self.username!r}"
        verify: bool | str = s.get("cacert_file") or bool(s.get("verify_ssl", True))
        common = {"verify": verify, "headers": {"Accept": "application/json"}, "log": self.log,
                  "max_attempts": self.max_attempts, "max_wait": self.max_wait}
        self._auth = RetryingClient(self.url, name="Jamf Pro", **common)
        self._client = RetryingClient(self.url, name="Jamf Pro", authenticate=self._authenticate,
                                      max_connections=MAX_CONNECTIONS, **common)
        self._token_lock = threading.Lock()
        self._token: str | None = None
        self._token_generation = -1
        self._renew_at = 0.0
        self.tokens_issued = 0


    # -- tokens -----------------------------------------------------------------------------------
    def _authenticate(self, session) -> None:
        """RetryingClient callback: a new session (per thread, per credential generation) gets the token."""
        session.headers["Authorization"] = f"Bearer {self._token_for(self._client.generation)}"

    def _token_for(self, generation: int) -> str:
        with self._token_lock:
            if self._token is None or self._token_generation != generation:
                self._token, lifetime = self._new_token()
                self._token_generation = generation
                self.tokens_issued += 1
                # Renew shortly before expiry: a minute early, or a fifth early for short lifetimes.
                self._renew_at = time.monotonic() + lifetime - min(60.0, lifetime / 5)
            return self._token

    def _renew_if_expiring(self) -> None:
        with self._token_lock:  # waits while another thread is getting the new token
            due = self._token is not None and time.monotonic() >= self._renew_at
            generation = self._token_generation
        if due:
            self._client.reauthenticate(generation)

    def _new_token(self) -> tuple[str, float]:
        """``(token, seconds it lives)`` from the API client or the account."""
        try:
            if self.client_id:
                response = self._auth.request("POST", "api/oauth/token", ok_statuses=(400, 401, 403), data={
                    "grant_type": "client_credentials", "client_id": self.client_id,
                    "client_secret": str(self.settings.get("client_secret") or "")})
                path = "/api/oauth/token"
            else:
                response = self._auth.request("POST", "api/v1/auth/token", ok_statuses=(401, 403),
                                              auth=(self.username, str(self.settings.get("password") or "")))
                path = "/api/v1/auth/token"
        except HttpError as exc:
            raise JamfError(f"[{self.section}] cannot get a Jamf Pro token at {self.url}: {exc}") from None
        if response.status_code != 200:
            keys = "client_id and client_secret" if self.client_id else "username and password"
            raise JamfConfigError(
                f"[{self.section}] Jamf Pro at {self.url} refused the {self.who} (POST {path}: "
                f"{response.status_code} {response.reason} {error_text(response)}); check {keys}".rstrip())
        body = response.json()
        token = body.get("access_token") or body.get("token")
        if not token:
            raise JamfError(f"[{self.section}] Jamf Pro answered POST {path} without a token")
        mask(token)
        return token, _lifetime(body)

    def invalidate(self) -> None:
        """Give an account's token back (API-client tokens simply expire)."""
        if self._token is None or self.client_id:
            return
        try:
            self._client.request("POST", "api/v1/auth/invalidate-token", ok_statuses=(401,))
        except HttpError as exc:
            self.log.info("Jamf Pro: could not invalidate the token (%s)", exc)
        self._token = None
        self._client.reauthenticate(self._token_generation)  # sessions drop the old token

    # -- HTTP -------------------------------------------------------------------------------------
    def _get(self, path: str, *, what: str, ok_statuses: Iterable[int] = (), **params: Any):
        self._renew_if_expiring()
        try:
            return self._client.request("GET", path, params=params or None, ok_statuses=ok_statuses)
        except HttpError as exc:
            raise self._explain(exc, path, what) from None

    def _explain(self, exc: HttpError, path: str, what: str) -> Exception:
        where = f"[{self.section}] Jamf Pro at {self.url}, GET /{path.split('?')[0]}"
        detail = error_text(exc.response) if exc.response is not None else str(exc)
        if exc.status == 401:
            return JamfConfigError(f"{where}: 401 Unauthorized even with a new token for the {self.who}: {detail}")
        if exc.status == 403:
            return JamfConfigError(f"{where}: 403 Forbidden: the {self.who} may not read {what} ({detail}); "
                                   f"give it the privilege(s) {_privilege_for(what)}")
        return JamfError(str(exc))

    def _fetch_in_order(self, calls: Iterable[Callable[[], Any]]) -> Iterator[Any]:
        """Run ``calls`` on up to MAX_CONNECTIONS threads (a few ahead), yielding results in order."""
        calls = iter(calls)
        pool = ThreadPoolExecutor(max_workers=MAX_CONNECTIONS, thread_name_prefix="jamf")
        pending = deque(pool.submit(call) for call in itertools.islice(calls, 2 * MAX_CONNECTIONS))
        try:
            while pending:
                result = pending.popleft().result()
                following = next(calls, None)
                if following is not None:
                    pending.append(pool.submit(following))
                yield result
        finally:
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True)

    # -- names ------------------------------------------------------------------------------------
    def _names(self, rows: list[Field]) -> dict[str, dict[str, str]]:
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
        """The record builder for this section's mappings, and the Jamf Pro API sections it needs."""
        rows = rows_for(self.kind.table, self.mappings)
        sections = sorted({row.section for row in rows if row.section}) or ["GENERAL"]
        return ClassicShaper(rows, self._names(rows)), sections

    # -- records ----------------------------------------------------------------------------------
    def _page(self, sections: list[str], page: int, size: int, filter_text: str = "") -> dict:
        params: dict[str, Any] = {"section": sections, "page": page, "page-size": size, "sort": self.kind.sort}
        if filter_text:
            params["filter"] = filter_text
        return self._get(self.kind.list_path, what=self.kind.noun, **params).json()

    def _results(self, sections: list[str]) -> Iterator[dict]:
        """Every inventory result (or every group member's), pages fetched concurrently."""
        group = str(self.settings.get("group_name") or "")
        if group:
            ids = self._group_member_ids(group)
            chunks = [ids[i:i + GROUP_CHUNK] for i in range(0, len(ids), GROUP_CHUNK)]
            calls = [lambda c=chunk: self._page(sections, 0, len(c), f"{self.kind.id_field}=in=({','.join(c)})")
                     for chunk in chunks]
            for body in self._fetch_in_order(calls):
                yield from body.get("results") or []
            return
        first = self._page(sections, 0, self.page_size)
        results, total = first.get("results") or [], int(first.get("totalCount") or 0)
        yield from results
        if not results or len(results) >= total:
            return
        size = len(results) if len(results) < self.page_size else self.page_size  # the server's page cap
        calls = [lambda p=page: self._page(sections, p, size) for page in range(1, math.ceil(total / size))]
        for body in self._fetch_in_order(calls):
            yield from body.get("results") or []

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
            raise JamfConfigError(f"[{self.section}] group_name: Jamf Pro at {self.url} has no {noun} group named "
                                  f"{group!r}")
        members = (response.json().get(self.kind.group_root) or {}).get(self.kind.group_members) or []
        return [str(member["id"]) for member in members if member.get("id") is not None]

    def record_by_id(self, record_id: str) -> dict | None:
        """One device (computer or mobile device per ``sync_type``) in the Classic shape, or None."""
        device_id = str(record_id).strip()
        if not device_id.isdigit():
            raise ValueError(f"a Jamf Pro device id is a number, got {record_id!r}")
        shape, sections = self.shaper()
        if self.kind is COMPUTERS:
            response = self._get(f"{self.kind.list_path}/{device_id}", what=self.kind.noun, ok_statuses=(404,),
                                 section=sections)
            result = None if response.status_code == 404 else response.json()
        else:
            found = self._page(sections, 0, 1, f"{self.kind.id_field}=={device_id}").get("results") or []
            result = found[0] if found else None
        return None if result is None else shape(result)

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
            calls = [lambda c=chunk: self._page(sections, 0, len(c), f"{self.kind.id_field}=in=({','.join(c)})")
                     for chunk in chunks]
            found: set[str] = set()
            for body in self._fetch_in_order(calls):
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
        return f"Connected to Jamf Pro {version} at {self.url} as the {self.who}; {total} {self.kind.noun}"


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
        moment = _instant(str(expires or ""))
        at = moment.timestamp() if moment else time.time() + 1200
    return max(0.5, at - time.time())
