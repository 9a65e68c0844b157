"""BambooHR employees."""
from airflow_provider_oomnitza.config.settings import UserSettings
from airflow_provider_oomnitza.config.types import Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType, simple_mappings


class BambooHrSettings(UserSettings):
    url: str = setting("https://api.bamboohr.com/api/gateway.php", doc="BambooHR API gateway URL.")
    system_name: str = setting(doc="Your company's BambooHR subdomain.", example="YOUR BambooHR SYSTEM NAME")
    api_token: Secret = setting(doc="BambooHR API key.", example="YOUR BambooHR API TOKEN")


SOURCE = SourceType(
    name="bamboohr",
    title="BambooHR",
    record_type="users",
    mapping_name="BambooHR",
    settings=BambooHrSettings,
    default_mappings=simple_mappings(
        USER="workEmail",
        FIRST_NAME="firstName",
        LAST_NAME="lastName",
        EMAIL="workEmail",
        PHONE="mobilePhone",
        POSITION="jobTitle",
        PERMISSIONS_ID={"setting": "default_role"},
    ),
)
