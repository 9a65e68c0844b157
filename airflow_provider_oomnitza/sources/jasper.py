"""Jasper (Cisco Control Center) SIM terminals, over SOAP."""
from airflow_provider_oomnitza.config.settings import AssetSettings
from airflow_provider_oomnitza.config.types import Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType


class JasperSettings(AssetSettings):
    wsdl_path: str = setting("http://api.jasperwireless.com/ws/schema/Terminal.wsdl", doc="Terminal WSDL URL.")
    username: str = setting(doc="Jasper user.", example="username@example.com")
    password: Secret = setting(doc="Its password.", example="change-me")
    storage: str = setting("storage.db", doc="File keeping the 'modified since' date between runs.")
    api_token: Secret = setting(doc="Jasper API license key.", example="YOUR Jasper API TOKEN")


SOURCE = SourceType(name="jasper", title="Jasper", record_type="assets", mapping_name="Jasper",
                    settings=JasperSettings)
