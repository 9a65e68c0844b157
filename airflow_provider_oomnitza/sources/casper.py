"""Jamf Pro (Casper) computers and mobile devices."""
from typing import Literal

from airflow_provider_oomnitza.config.settings import AssetSettings
from airflow_provider_oomnitza.config.types import Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType

DATE_FIELDS = (
    "general.report_date",
    "general.last_contact_time",
    "general.initial_entry_date",
    "purchasing.warranty_expires",
    "purchasing.lease_expires",
    "purchasing.po_date",
)


class CasperSettings(AssetSettings):
    url: str = setting("https://jss.jamfcloud.com/example", doc="Jamf Pro URL.")
    username: str = setting(doc="Jamf Pro auditor account.", example="username@example.com")
    password: Secret = setting(doc="Its password.", example="change-me")
    sync_type: Literal["computers", "mobiledevices"] = setting("computers", doc="What to load.")
    group_name: str = setting("", doc="Only load devices of this group; empty loads all.")


def _mapping_name(settings: CasperSettings) -> str:
    # The original fixed this in 1.9.10: mobile devices use their own server-side mappings.
    return "Casper.MDM" if settings.sync_type == "mobiledevices" else "Casper"


def _extra_mappings(settings: CasperSettings) -> dict[str, dict]:
    if settings.sync_type == "computers":
        return {"APPLICATIONS": {"source": "software.applications"}}
    return {}


SOURCE = SourceType(
    name="casper",
    title="Jamf Pro (Casper)",
    record_type="assets",
    mapping_name="Casper",
    settings=CasperSettings,
    default_converters={path: "date_format" for path in DATE_FIELDS},
    mapping_name_for=_mapping_name,
    extra_mappings=_extra_mappings,
)
