"""Jasper (Cisco Control Center) SIM terminals, over SOAP."""
from airflow_provider_oomnitza.config.settings import AssetSettings
from airflow_provider_oomnitza.config.types import Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType

DEFAULT_STORAGE = "storage.db"


class JasperSettings(AssetSettings):
    wsdl_path: str = setting("http://api.jasperwireless.com/ws/schema/Terminal.wsdl",
                             doc="Terminal WSDL: a URL, or a file on every worker.")
    username: str = setting(doc="Jasper user.", example="username@example.com")
    password: Secret = setting(doc="Its password.", example="change-me")
    storage: str = setting(DEFAULT_STORAGE, doc="Accepted for compatibility and not used: the 'modified since' "
                                                "time is kept in the run storage.")
    api_token: Secret = setting(doc="Jasper API license key.", example="YOUR Jasper API TOKEN")
    service_url: str = setting("", doc="Terminal service address (https://<host>/ws/service/terminal); empty: the "
                                       "address the WSDL names.")

    def notes(self) -> list[tuple[str, str]]:
        out = super().notes()
        if self.storage.strip() != DEFAULT_STORAGE:
            out.append(("storage", "is accepted but not used: the time of the last successful sync is kept in the "
                                   "run storage (OOMNITZA_STORAGE or Airflow's [oomnitza] storage_url, folder "
                                   "_state), which every worker reaches"))
        return out


SOURCE = SourceType(name="jasper", title="Jasper", record_type="assets", mapping_name="Jasper",
                    settings=JasperSettings, hook="airflow_provider_oomnitza.hooks.jasper.JasperHook")
