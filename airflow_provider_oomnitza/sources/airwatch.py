"""VMware AirWatch / Workspace ONE UEM devices."""
from airflow_provider_oomnitza.config.settings import AssetSettings
from airflow_provider_oomnitza.config.types import Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType


class AirWatchSettings(AssetSettings):
    url: str = setting("https://apidev.awmdm.com", doc="AirWatch API server URL.")
    username: str = setting(doc="AirWatch admin user.", example="username@example.com")
    password: Secret = setting(doc="Its password.", example="change-me")
    api_token: Secret = setting(doc="REST API key (aw-tenant-code).", example="YOUR AirWatch API TOKEN")
    dep_uuid: str = setting("", doc="Apple DEP group uuid whose details are added to each device.")


SOURCE = SourceType(
    name="airwatch",
    title="AirWatch / Workspace ONE UEM",
    record_type="assets",
    mapping_name="AirWatch",
    settings=AirWatchSettings,
)
