"""The Jamf record shape: Jamf Pro API results turned into the Classic records the original connector synced.

The original read the Classic API (``/JSSResource/computers/id/N``), whose records mappings
name as ``general.serial_number``, ``location.department``, ``purchasing.po_date_epoch``...
The hook reads the paged Jamf Pro API instead; the tables here say, for each Classic field,
which Jamf Pro API section and path it comes from and how its value is shaped
(``COMPUTER_FIELDS``, ``MOBILE_FIELDS``). ``rows_for`` picks the rows a run needs and
``ClassicShaper`` builds records from them fast.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable, Iterable

from airflow_provider_oomnitza.sources.base import SourceNeeds

_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)


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
def instant(value: str) -> datetime | None:
    try:
        if len(value) == 10:  # a date
            return datetime.fromisoformat(value).replace(tzinfo=_UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=_UTC) if moment.tzinfo is None else moment.astimezone(_UTC)


def _date_shape(render: Callable[[datetime], Any], unset: Any) -> Callable[[Any], Any]:
    def shape(value: Any) -> Any:
        moment = instant(value) if isinstance(value, str) and value else None
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


def computer_extension_attributes(items: Any) -> list[dict]:
    """Computers: Jamf Pro ``[{definitionId, name, values, dataType, multiValue}]`` -> Classic
    ``[{id, name, type, multi_value, value}]``."""
    return [{"id": integer(ea.get("definitionId")), "name": ea.get("name"),
             "type": _EA_TYPES.get(ea.get("dataType"), text(ea.get("dataType"))),
             "multi_value": bool(ea.get("multiValue")), "value": ", ".join(map(str, ea.get("values") or []))}
            for ea in items or []]


def mobile_extension_attributes(items: Any) -> list[dict]:
    """Mobile devices: Jamf Pro ``[{id, name, type, value: [...], extensionAttributeCollectionAllowed,
    inventoryDisplay}]`` (not the computers' shape) -> Classic ``[{id, name, type, multi_value, value}]``."""
    return [{"id": integer(ea.get("id")), "name": ea.get("name"),
             "type": _EA_TYPES.get(ea.get("type"), text(ea.get("type"))),
             "multi_value": False, "value": ", ".join(map(str, ea.get("value") or []))}
            for ea in items or []]


_GRACE_PERIODS = {0: "Immediate", 60: "1 minute", 300: "5 minutes", 900: "15 minutes", 3600: "1 hour",
                  14400: "4 hours"}


def grace_period(seconds: Any) -> str:
    """``passcodeLockGracePeriodEnforcedSeconds`` as the Classic text ("Immediate", "5 minutes")."""
    if seconds is None:
        return ""
    return _GRACE_PERIODS.get(seconds, f"{seconds} seconds")


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
class ClassicField:
    """One Classic field. ``pro`` None hands the whole result to ``shape``; ``lookup`` names the
    id -> name table (departments, buildings) the value is resolved through."""

    classic: str
    section: str | None  # the Jamf Pro API section it needs; None: always in a result
    pro: str | None
    shape: Callable[[Any], Any] = text
    lookup: str | None = None


def fields(section: str | None, *pairs: tuple) -> list[ClassicField]:
    """Rows of one section: ``(classic, pro[, shape[, lookup]])``."""
    return [ClassicField(pair[0], section, *pair[1:]) for pair in pairs]


def dated(section: str, classic: str, pro: str, plain: Callable[[Any], Any] | None) -> list[ClassicField]:
    """A Classic date: its text form (if it has one), ``<classic>_epoch`` (ms) and ``<classic>_utc``."""
    rows = [ClassicField(f"{classic}_epoch", section, pro, epoch_ms),
            ClassicField(f"{classic}_utc", section, pro, utc_text)]
    return ([ClassicField(classic, section, pro, plain)] if plain else []) + rows


# Jamf Pro API inventory sections (the ``section`` query parameter).
GENERAL, HARDWARE, OPERATING_SYSTEM, USER_AND_LOCATION = "GENERAL", "HARDWARE", "OPERATING_SYSTEM", "USER_AND_LOCATION"
PURCHASING, APPLICATIONS, EXTENSION_ATTRIBUTES = "PURCHASING", "APPLICATIONS", "EXTENSION_ATTRIBUTES"
SECURITY, DISK_ENCRYPTION, GROUP_MEMBERSHIPS, NETWORK = "SECURITY", "DISK_ENCRYPTION", "GROUP_MEMBERSHIPS", "NETWORK"
PURCHASING_ROWS = (("purchasing.is_purchased", "purchasing.purchased", flag),
               ("purchasing.is_leased", "purchasing.leased", flag),
               ("purchasing.po_number", "purchasing.poNumber"), ("purchasing.vendor", "purchasing.vendor"),
               ("purchasing.applecare_id", "purchasing.appleCareId"),
               ("purchasing.purchase_price", "purchasing.purchasePrice"),
               ("purchasing.purchasing_account", "purchasing.purchasingAccount"),
               ("purchasing.purchasing_contact", "purchasing.purchasingContact"),
               ("purchasing.life_expectancy", "purchasing.lifeExpectancy", number))

COMPUTER_FIELDS: list[ClassicField] = [
    *fields(None, ("general.id", "id", integer), ("general.udid", "udid")),
    *fields(GENERAL, ("general.name", "general.name"), ("general.ip_address", "general.lastIpAddress"),
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
    *dated(GENERAL, "general.report_date", "general.reportDate", datetime_text),
    *dated(GENERAL, "general.last_contact_time", "general.lastContactTime", datetime_text),
    *dated(GENERAL, "general.initial_entry_date", "general.initialEntryDate", date_text),
    *dated(GENERAL, "general.last_cloud_backup_date", "general.lastCloudBackupDate", None),
    *dated(GENERAL, "general.last_enrolled_date", "general.lastEnrolledDate", None),
    *dated(GENERAL, "general.mdm_profile_expiration", "general.mdmProfileExpiration", None),
    *fields(HARDWARE, ("general.serial_number", "hardware.serialNumber"),
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
    *fields(OPERATING_SYSTEM, ("hardware.os_name", "operatingSystem.name"),
            ("hardware.os_version", "operatingSystem.version"),
            ("hardware.os_build", "operatingSystem.build"),
            ("hardware.software_update_device_id", "operatingSystem.softwareUpdateDeviceId"),
            ("hardware.active_directory_status", "operatingSystem.activeDirectoryStatus")),
    *fields(SECURITY,
            ("hardware.sip_status", "security.sipStatus", words({"ENABLED": "Enabled", "DISABLED": "Disabled"})),
            ("hardware.gatekeeper_status", "security.gatekeeperStatus",
             words({"APP_STORE_AND_IDENTIFIED_DEVELOPERS": "App Store and identified developers",
                    "APP_STORE": "App Store", "DISABLED": "Disabled"})),
            ("hardware.xprotect_version", "security.xprotectVersion"),
            ("security.activation_lock", "security.activationLockEnabled", flag),
            ("security.recovery_lock_enabled", "security.recoveryLockEnabled", flag),
            ("security.firewall_enabled", "security.firewallEnabled", flag),
            ("security.secure_boot_level", "security.secureBootLevel", words({})),
            ("security.external_boot_level", "security.externalBootLevel", words({}))),
    *fields(DISK_ENCRYPTION,
            ("hardware.disk_encryption_configuration", "diskEncryption.diskEncryptionConfigurationName"),
            ("hardware.institutional_recovery_key", "diskEncryption.institutionalRecoveryKeyPresent",
             boolean_text("Present", "Not Present")),
            ("hardware.filevault2_users", "diskEncryption.fileVault2EnabledUserNames", strings)),
    *fields(USER_AND_LOCATION, ("location.username", "userAndLocation.username"),
            ("location.realname", "userAndLocation.realname"), ("location.real_name", "userAndLocation.realname"),
            ("location.email_address", "userAndLocation.email"), ("location.position", "userAndLocation.position"),
            ("location.phone", "userAndLocation.phone"), ("location.phone_number", "userAndLocation.phone"),
            ("location.department", "userAndLocation.departmentId", text, "departments"),
            ("location.building", "userAndLocation.buildingId", text, "buildings"),
            ("location.room", "userAndLocation.room")),
    *fields(PURCHASING, *PURCHASING_ROWS, ("purchasing.os_applecare_id", None, constant("")),
            ("purchasing.os_maintenance_expires", None, constant(""))),
    *dated(PURCHASING, "purchasing.po_date", "purchasing.poDate", date_text),
    *dated(PURCHASING, "purchasing.warranty_expires", "purchasing.warrantyDate", date_text),
    *dated(PURCHASING, "purchasing.lease_expires", "purchasing.leaseDate", date_text),
    *fields(APPLICATIONS, ("software.applications", "applications",
                listing(name="name", path="path", version="version", bundle_id="bundleId"))),
    *fields(EXTENSION_ATTRIBUTES, ("extension_attributes", "extensionAttributes", computer_extension_attributes)),
    *fields(GROUP_MEMBERSHIPS,
            ("groups_accounts.computer_group_memberships", "groupMemberships", names_of("groupName"))),
]

MOBILE_FIELDS: list[ClassicField] = [
    *fields(None, ("general.id", "mobileDeviceId", integer)),
    *fields(GENERAL, ("general.display_name", "general.displayName"), ("general.device_name", "general.displayName"),
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
    *dated(GENERAL, "general.last_inventory_update", "general.lastInventoryUpdateDate", long_text),
    *dated(GENERAL, "general.initial_entry_date", "general.initialEntryDate", None),
    *dated(GENERAL, "general.last_enrollment", "general.lastEnrolledDate", None),
    *dated(GENERAL, "general.last_cloud_backup_date", "general.lastCloudBackupDate", None),
    *dated(GENERAL, "general.last_backup_time", "general.lastBackupDate", None),
    *fields(HARDWARE, ("general.capacity", "hardware.capacityMb", number),
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
    *fields(NETWORK, ("general.phone_number", "network.phoneNumber"),
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
    *fields(USER_AND_LOCATION, ("location.username", "userAndLocation.username"),
            ("location.realname", "userAndLocation.realName"), ("location.real_name", "userAndLocation.realName"),
            ("location.email_address", "userAndLocation.emailAddress"),
            ("location.position", "userAndLocation.position"), ("location.phone", "userAndLocation.phoneNumber"),
            ("location.phone_number", "userAndLocation.phoneNumber"),
            ("location.department", "userAndLocation.departmentId", text, "departments"),
            ("location.building", "userAndLocation.buildingId", text, "buildings"),
            ("location.room", "userAndLocation.room")),
    *fields(PURCHASING, *PURCHASING_ROWS),
    *dated(PURCHASING, "purchasing.po_date", "purchasing.poDate", date_text),
    *dated(PURCHASING, "purchasing.warranty_expires", "purchasing.warrantyExpiresDate", date_text),
    *dated(PURCHASING, "purchasing.lease_expires", "purchasing.leaseExpiresDate", date_text),
    *fields(SECURITY, ("security.data_protection", "security.dataProtected", flag),
            ("security.block_level_encryption_capable", "security.blockLevelEncryptionCapable", flag),
            ("security.file_level_encryption_capable", "security.fileLevelEncryptionCapable", flag),
            ("security.passcode_present", "security.passcodePresent", flag),
            ("security.passcode_compliant", "security.passcodeCompliant", flag),
            ("security.passcode_compliant_with_profile", "security.passcodeCompliantWithProfile", flag),
            ("security.passcode_lock_grace_period_enforced", "security.passcodeLockGracePeriodEnforcedSeconds",
             grace_period),
            ("security.hardware_encryption", "security.hardwareEncryption", number),
            ("security.activation_lock_enabled", "security.activationLockEnabled", flag),
            ("security.jailbreak_detected", "security.jailBreakDetected", boolean_text("Jailbroken", "Normal")),
            ("security.lost_mode_enabled", "security.lostModeEnabled", flag),
            ("security.lost_mode_enforced", "security.lostModePersistent", flag),
            ("security.lost_mode_message", "security.lostModeMessage"),
            ("security.lost_mode_phone", "security.lostModePhoneNumber"),
            ("security.lost_mode_footnote", "security.lostModeFootnote"),
            ("security.lost_mode_enable_issued_epoch", None, constant(0)),  # not in the Jamf Pro API
            ("security.lost_mode_enable_issued_utc", None, constant("")),
            ("security.lost_location_latitude", None, constant(0)),  # not in the Jamf Pro API
            ("security.lost_location_longitude", None, constant(0)),
            ("security.lost_location_altitude", "security.lostModeLocation.lostModeLocationAltitudeMeters", number),
            ("security.lost_location_speed", "security.lostModeLocation.lostModeLocationSpeedMetersPerSecond",
             number),
            ("security.lost_location_course", "security.lostModeLocation.lostModeLocationCourseDegrees", number),
            ("security.lost_location_horizontal_accuracy",
             "security.lostModeLocation.lostModeLocationHorizontalAccuracyMeters", number),
            ("security.lost_location_vertical_accuracy",
             "security.lostModeLocation.lostModeLocationVerticalAccuracyMeters", number)),
    *dated(SECURITY, "security.lost_location", "security.lostModeLocation.lastLocationUpdate", None),
    *fields(APPLICATIONS, ("applications", "applications",
                listing(application_name="name", application_version="version",
                        application_short_version="shortVersion", identifier="identifier"))),
    *fields(EXTENSION_ATTRIBUTES, ("extension_attributes", "extensionAttributes", mobile_extension_attributes)),
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

    def __init__(self, rows: Iterable[ClassicField], names: dict[str, dict[str, str]]):
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


def rows_for(table: list[ClassicField], needs: SourceNeeds) -> list[ClassicField]:
    """The rows of the sections the run reads (as the original asked for whole subsets), but names
    looked up by id only where a path the run names reads them (they need more privileges).
    Every row when the run needs whole records."""
    if needs.whole_records:
        return list(table)
    read = [row for row in table if needs.names(row.classic)]
    wanted = {row.section for row in read}
    return [row for row in table if (row.section is None or row.section in wanted) and (not row.lookup or row in read)]



