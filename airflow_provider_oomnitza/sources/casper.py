"""Jamf Pro (Casper) computers and mobile devices."""
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from airflow_provider_oomnitza.config.settings import AssetSettings
from airflow_provider_oomnitza.config.types import Int, Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType

DATE_FIELDS = (
    "general.report_date",
    "general.last_contact_time",
    "general.initial_entry_date",
    "purchasing.warranty_expires",
    "purchasing.lease_expires",
    "purchasing.po_date",
)
MAX_PAGE_SIZE = 2000


def _account_setting(default: Any, *, doc: str, example: str) -> Any:
    """A ``setting()`` whose default is validated too, so an absent username/password is checked."""
    return Field(default, description=doc, json_schema_extra={"example": example}, validate_default=True)


class CasperSettings(AssetSettings):
    url: str = setting("https://jss.jamfcloud.com/example", doc="Jamf Pro URL.")
    # The API client comes before the account so that the account's checks can see it.
    client_id: str = setting("", doc="Jamf Pro API client id (instead of username and password).")
    client_secret: Secret = setting(SecretStr(""), doc="The API client's secret.")
    username: str = _account_setting("", doc="Jamf Pro auditor account (when no API client is set).",
                                     example="username@example.com")
    password: Secret = _account_setting(SecretStr(""), doc="Its password.", example="change-me")
    sync_type: Literal["computers", "mobiledevices"] = setting("computers", doc="What to load.")
    group_name: str = setting("", doc="Only load devices of this group; empty loads all.")
    page_size: Int = setting(200, doc=f"Devices per Jamf Pro API page (1 to {MAX_PAGE_SIZE}).")

    @field_validator("username", "password")
    @classmethod
    def _account_needed(cls, value: Any, info: ValidationInfo) -> Any:
        """Required (with the usual "missing required setting") unless an API client or conn_id is set."""
        empty = not (value.get_secret_value() if isinstance(value, SecretStr) else value)
        given = info.data
        if empty and not (given.get("client_id") or given.get("conn_id")):
            raise PydanticCustomError("missing", "Field required")
        return value

    def problems(self) -> list[tuple[str, str]]:
        out = super().problems()
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            out.append(("page_size", f"expected a whole number from 1 to {MAX_PAGE_SIZE}, got {self.page_size}"))
        if self.conn_id:  # URL and credentials come from the Airflow connection
            return out
        if not self.url.startswith(("https://", "http://")):
            out.append(("url", f"expected the Jamf Pro URL starting with https://, got {self.url!r}"))
        if self.client_secret.get_secret_value() and not self.client_id:
            out.append(("client_id", "missing: client_secret is set, so set the API client's client_id too"))
        elif self.client_id and not self.client_secret.get_secret_value():
            out.append(("client_secret", "missing: set the API client's secret (client_id is set), or use "
                                         "username and password instead of client_id"))
        return out

    def notes(self) -> list[tuple[str, str]]:
        out = super().notes()
        if self.url.endswith("/"):
            out.append(("url", f"ends with '/'; it is removed ({self.url.rstrip('/')})"))
        if self.client_id and self.username and not self.conn_id:
            out.append(("username", "both an API client and a username are set; the API client is used"))
        return out


def _mapping_name(settings: CasperSettings) -> str:
    # The original fixed this in 1.9.10: mobile devices use their own server-side mappings.
    return "Casper.MDM" if settings.sync_type == "mobiledevices" else "Casper"


# Default mappings on fields with the same Classic path for computers and mobile devices.
# default_converters gives the dates their date_format.
DEFAULT_MAPPINGS = {
    "SERIAL_NUMBER": {"source": "general.serial_number"},
    "DEVICE_NAME": {"source": "general.name"},
    "IP_ADDRESS": {"source": "general.ip_address"},
    "ASSIGNED_TO": {"source": "location.username"},
    "BARCODE": {"source": "general.asset_tag"},
    "PURCHASE_DATE": {"source": "purchasing.po_date"},
    "PO_NUMBER": {"source": "purchasing.po_number"},
    "PURCHASE_PRICE": {"source": "purchasing.purchase_price"},
    "VENDOR": {"source": "purchasing.vendor"},
    "WARRANTY_END_DATE": {"source": "purchasing.warranty_expires"},
}
# Defaults whose source differs between the two record shapes.
TYPE_DEFAULT_MAPPINGS = {
    "computers": {
        "MODEL": {"source": "hardware.model"},
        "MANUFACTURER": {"source": "hardware.make"},
        "OPERATING_SYSTEM": {"source": "hardware.os_name"},
        "OS_VERSION": {"source": "hardware.os_version"},
        "MAC_ADDRESS": {"source": "general.mac_address"},
        "LAST_SEEN": {"source": "general.last_contact_time"},
    },
    "mobiledevices": {
        "MODEL": {"source": "general.model"},
        "OPERATING_SYSTEM": {"source": "general.os_type"},
        "OS_VERSION": {"source": "general.os_version"},
        "MAC_ADDRESS": {"source": "general.wifi_mac_address"},
        "IMEI__MEID": {"source": "network.imei"},
        "LAST_SEEN": {"source": "general.last_inventory_update_utc", "converter": "date_format"},
    },
}


def _default_mappings(settings: CasperSettings) -> dict[str, dict]:
    return {**DEFAULT_MAPPINGS, **TYPE_DEFAULT_MAPPINGS[settings.sync_type]}


def _extra_mappings(settings: CasperSettings) -> dict[str, dict]:
    # As the original: computers get APPLICATIONS unless something maps it.
    return {"APPLICATIONS": {"source": "software.applications"}} if settings.sync_type == "computers" else {}


SOURCE = SourceType(
    name="casper",
    title="Jamf Pro (Casper)",
    record_type="assets",
    mapping_name="Casper",
    settings=CasperSettings,
    default_mappings=DEFAULT_MAPPINGS,
    default_mappings_for=_default_mappings,
    default_converters={path: "date_format" for path in DATE_FIELDS},
    hook="airflow_provider_oomnitza.hooks.jamf.JamfHook",
    mapping_name_for=_mapping_name,
    extra_mappings=_extra_mappings,
)
