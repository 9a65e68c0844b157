"""Chef Infra Server nodes."""
from airflow_provider_oomnitza.config.settings import AssetSettings
from airflow_provider_oomnitza.config.types import JsonObject, setting
from airflow_provider_oomnitza.sources.base import SourceType


class ChefSettings(AssetSettings):
    url: str = setting(doc="Chef server URL with organization.", example="https://chef-server/organizations/ORG/")
    client: str = setting(doc="Chef client (user) name.", example="user")
    key_file: str = setting(doc="The client's RSA private key file.", example="/home/user/user.pem")
    attribute_extension: JsonObject = setting({}, doc="Extra node attributes per platform, as JSON.")


SOURCE = SourceType(name="chef", title="Chef", record_type="assets", mapping_name="Chef", settings=ChefSettings)
