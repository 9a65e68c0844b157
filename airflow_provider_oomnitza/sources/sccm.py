"""Microsoft SCCM / Configuration Manager computers, read from its SQL views."""
from typing import Literal

from pydantic import SecretStr

from airflow_provider_oomnitza.config.settings import AssetSettings
from airflow_provider_oomnitza.config.types import Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType


class SccmSettings(AssetSettings):
    server: str = setting(doc="SQL Server hosting the SCCM database.", example="server.example.com")
    database: str = setting("CM_DCT", doc="SCCM database name.")
    username: str = setting("", doc="SQL login (SQL Server authentication).", example="change-me")
    password: Secret = setting(SecretStr(""), doc="Its password.", example="change-me")
    authentication: Literal["SQL Server", "Windows"] = setting("SQL Server", doc="SQL Server or Windows.")
    driver: str = setting("", doc="ODBC driver name (e.g. ODBC Driver 18 for SQL Server, FreeTDS); empty picks "
                                  "the newest ODBC Driver N for SQL Server installed, else FreeTDS.")

    def problems(self):
        out = super().problems()
        if self.authentication == "SQL Server":
            if not self.username and "username" not in self.vault_keys:
                out.append(("username", "missing required setting (SQL Server authentication needs a login)"))
            if not self.password.get_secret_value() and "password" not in self.vault_keys and not self.env_password:
                out.append(("password", "missing required setting (SQL Server authentication needs a password)"))
        return out


SOURCE = SourceType(
    name="sccm",
    title="Microsoft SCCM",
    record_type="assets",
    mapping_name="SCCM",
    settings=SccmSettings,
    default_mappings={"APPLICATIONS": {"source": "software"}},
    default_converters={"hardware.last_logon": "date_format"},  # as the original
    hook="airflow_provider_oomnitza.hooks.sccm.SccmHook",
)
