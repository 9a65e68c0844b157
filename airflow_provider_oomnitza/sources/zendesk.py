"""Zendesk users."""
from airflow_provider_oomnitza.config.settings import UserSettings
from airflow_provider_oomnitza.config.types import Bool, Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType, simple_mappings


class ZendeskSettings(UserSettings):
    system_name: str = setting(doc="Your Zendesk subdomain.", example="oomnitza")
    api_token: Secret = setting(doc="Zendesk API token.", example="YOUR Zendesk API TOKEN")
    username: str = setting(doc="Zendesk agent e-mail.", example="username@example.com")
    load_organizations: Bool = setting(False, doc="Add each user's organization to the record.")


SOURCE = SourceType(
    name="zendesk",
    title="Zendesk",
    record_type="users",
    mapping_name="Zendesk",
    settings=ZendeskSettings,
    default_mappings=simple_mappings(
        USER="email",
        FIRST_NAME={"source": "name", "converter": "first_from_full"},
        LAST_NAME={"source": "name", "converter": "last_from_full"},
        EMAIL="email",
        PHONE="phone",
        PERMISSIONS_ID={"setting": "default_role"},
    ),
)
