"""MobileIron devices: MobileIron Cloud (API v1; Ivanti Neurons for MDM) or MobileIron Core (API v2; Ivanti EPMM)."""
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator

from airflow_provider_oomnitza.config.settings import AssetSettings
from airflow_provider_oomnitza.config.types import Bool, Int, Secret, parse_json_list, setting
from airflow_provider_oomnitza.sources.base import SourceType, simple_mappings

ALL = "All"
# The original 1.81 kept only devices that checked in within the last 1.5 days; 2.3.3 made that
# configurable with this default (in seconds).
DEFAULT_CHECKIN_THRESHOLD = 129600
CLOUD_ONLY = ("partitions", "partition_match", "include_checkin_devices_only", "last_checkin_date_threshold",
              "windows_hardware_inventory")


def _partitions(value: Any) -> list[str] | str:
    # The bare word All selects every partition (as in the original); anything else is a JSON list of names.
    if isinstance(value, str) and value.strip() == ALL:
        return ALL
    return [str(name) for name in parse_json_list(value)]


class MobileIronSettings(AssetSettings):
    url: str = setting("https://na1.mobileiron.com", doc="MobileIron Cloud URL (na1, na2, eu1, ap1...) or Core URL.")
    username: str = setting(doc="API user (Cloud: the tenant API user; Core: an admin with the API role).",
                            example="username@example.com")
    password: Secret = setting(doc="Its password.", example="change-me")
    api_version: Int = setting(1, doc="1 = MobileIron Cloud (API v1); 2 = MobileIron Core (API v2).")
    partitions: Annotated[list[str] | str, BeforeValidator(_partitions)] = setting(
        [], doc="Cloud partitions to load: a JSON list of names, or All.", example='["Drivers"]'
    )
    partition_match: Literal["substring", "exact"] = setting(
        "substring", doc="substring: as the original, a partition whose name is part of a listed name is taken "
        "too; exact: only partitions named exactly."
    )
    include_checkin_devices_only: Bool = setting(
        True, doc="Cloud: only load devices that checked in within last_checkin_date_threshold (the original's "
        "behaviour)."
    )
    last_checkin_date_threshold: Int = setting(
        DEFAULT_CHECKIN_THRESHOLD, doc="Seconds: how recent a device's last check-in must be (129600 = 36 hours)."
    )
    windows_hardware_inventory: Bool = setting(
        False, doc="Cloud: add primary CPU, disk, memory and BIOS serial of Windows devices (one call per device)."
    )

    def problems(self) -> list[tuple[str, str]]:
        out = super().problems()
        if self.api_version not in (1, 2):
            out.append(("api_version", f"expected 1 (MobileIron Cloud) or 2 (MobileIron Core), got {self.api_version}"))
        elif self.api_version == 1 and self.partitions == []:
            out.append(("partitions", 'missing required setting (e.g. ["Drivers"]): a JSON list of partition names, '
                                      "or All"))
        if self.last_checkin_date_threshold < 1:
            out.append(("last_checkin_date_threshold",
                        f"expected a whole number of seconds of at least 1, got {self.last_checkin_date_threshold}"))
        return out

    def notes(self) -> list[tuple[str, str]]:
        out = super().notes()
        if self.api_version == 2:
            out += [(key, "applies to MobileIron Cloud (api_version = 1) only; ignored with MobileIron Core")
                    for key in CLOUD_ONLY if key in self.model_fields_set]
        elif self.partitions == [ALL]:
            out.append(("partitions", '["All"] selects a partition named All, as in the original; for every '
                                      "partition write: partitions = All"))
        return out


# Shared device field names; only what each API's device records really have.
DEFAULT_MAPPINGS = simple_mappings(
    SERIAL_NUMBER="serialNumber", DEVICE_NAME="displayName", MODEL="deviceModel", MANUFACTURER="manufacturer",
    OPERATING_SYSTEM="platformType", OS_VERSION="osVersion", MAC_ADDRESS="wifiMacAddress", IMEI__MEID="imei",
    ASSIGNED_TO="uid", LAST_SEEN={"source": "lastCheckin", "converter": "timestamp:unit=ms"},
)
CORE_DEFAULT_MAPPINGS = simple_mappings(
    SERIAL_NUMBER="common.Serialnumber", MODEL="common.model_name", MANUFACTURER="common.manufacturer",
    OPERATING_SYSTEM="common.platform", OS_VERSION="common.os_version", MAC_ADDRESS="common.wifi_mac_address",
    IP_ADDRESS="common.ip_address", IMEI__MEID="common.imei", ASSIGNED_TO="user.email_address",
    LAST_SEEN={"source": "common.last_connected_at", "converter": "date_format"},
)


def _default_mappings(settings: MobileIronSettings) -> dict[str, dict]:
    return CORE_DEFAULT_MAPPINGS if settings.api_version == 2 else DEFAULT_MAPPINGS


SOURCE = SourceType(name="mobileiron", title="MobileIron", record_type="assets", mapping_name="MobileIron",
                    settings=MobileIronSettings, default_mappings=DEFAULT_MAPPINGS,
                    default_mappings_for=_default_mappings,
                    hook="airflow_provider_oomnitza.hooks.mobileiron.MobileIronHook")
