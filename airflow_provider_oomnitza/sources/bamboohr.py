"""BambooHR employees."""
from typing import Any

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from airflow_provider_oomnitza.config.settings import UserSettings
from airflow_provider_oomnitza.config.types import Bool, Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType, simple_mappings

DEFAULT_URL = "https://api.bamboohr.com/api/gateway.php"


def _credential(default: Any, *, doc: str, example: str) -> Any:
    """A setting required unless ``conn_id`` names an Airflow connection that holds it (its default is
    validated too, so that an absent one is checked)."""
    return Field(default, description=doc, json_schema_extra={"example": example}, validate_default=True)


class BambooHrSettings(UserSettings):
    url: str = setting(DEFAULT_URL, doc="BambooHR API URL: https://api.bamboohr.com, or the original's gateway URL "
                                        "https://api.bamboohr.com/api/gateway.php (both work).")
    system_name: str = _credential("", doc="Your company's BambooHR subdomain: the x of x.bamboohr.com.",
                                   example="YOUR BambooHR SYSTEM NAME")
    api_token: Secret = _credential(SecretStr(""), doc="BambooHR API key (sent as the Basic auth user name).",
                                    example="YOUR BambooHR API TOKEN")
    include_inactive: Bool = setting(False, doc="Also load inactive and terminated employees (read with a custom "
                                                "report, which the API key's user must be allowed to run).")

    @field_validator("system_name", "api_token")
    @classmethod
    def _needed_without_connection(cls, value: Any, info: ValidationInfo) -> Any:
        """Required (with the usual "missing required setting") unless conn_id is set."""
        empty = not (value.get_secret_value() if isinstance(value, SecretStr) else value)
        if empty and not info.data.get("conn_id"):
            raise PydanticCustomError("missing", "Field required")
        return value

    def problems(self) -> list[tuple[str, str]]:
        out = super().problems()
        if self.url and not self.url.strip().lower().startswith(("https://", "http://")):
            out.append(("url", f"expected the BambooHR API URL starting with https://, got {self.url!r}"))
        return out


SOURCE = SourceType(
    name="bamboohr",
    title="BambooHR",
    record_type="users",
    mapping_name="BambooHR",
    settings=BambooHrSettings,
    hook="airflow_provider_oomnitza.hooks.bamboohr.BambooHRHook",
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
