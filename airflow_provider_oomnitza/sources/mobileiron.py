"""MobileIron (Ivanti) devices."""
from typing import Annotated, Any

from pydantic import BeforeValidator

from airflow_provider_oomnitza.config.settings import AssetSettings
from airflow_provider_oomnitza.config.types import Secret, parse_json_list, setting
from airflow_provider_oomnitza.sources.base import SourceType


def _partitions(value: Any) -> list:
    # The original accepted the bare word All for every partition.
    if isinstance(value, str) and value.strip() == "All":
        return ["All"]
    return parse_json_list(value)


class MobileIronSettings(AssetSettings):
    url: str = setting("https://na1.mobileiron.com", doc="MobileIron URL.")
    username: str = setting(doc="API user.", example="username@example.com")
    password: Secret = setting(doc="Its password.", example="change-me")
    partitions: Annotated[list, BeforeValidator(_partitions)] = setting(
        doc='Partitions to load, as a JSON list, or All.', example='["Drivers"]'
    )


SOURCE = SourceType(name="mobileiron", title="MobileIron", record_type="assets", mapping_name="MobileIron",
                    settings=MobileIronSettings)
