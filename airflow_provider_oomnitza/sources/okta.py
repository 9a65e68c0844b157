"""Okta users."""
from airflow_provider_oomnitza.config.settings import UserSettings
from airflow_provider_oomnitza.config.types import Bool, Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType, simple_mappings


class OktaSettings(UserSettings):
    url: str = setting("https://example-admin.okta.com", doc="Your Okta org URL.")
    api_token: Secret = setting(doc="Okta API token.", example="YOUR Okta API TOKEN")
    deprovisioned: Bool = setting(False, doc="Also load DEPROVISIONED users.")


SOURCE = SourceType(
    name="okta",
    title="Okta",
    record_type="users",
    mapping_name="Okta",
    settings=OktaSettings,
    default_mappings=simple_mappings(
        USER="profile.login",
        FIRST_NAME="profile.firstName",
        LAST_NAME="profile.lastName",
        EMAIL="profile.email",
        PHONE="profile.mobilePhone",
        PERMISSIONS_ID={"setting": "default_role"},
    ),
)
