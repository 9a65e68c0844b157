"""VMware AirWatch / Workspace ONE UEM devices."""
import uuid

from pydantic import SecretStr

from airflow_provider_oomnitza.config.settings import AssetSettings
from airflow_provider_oomnitza.config.types import Int, Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType

MAX_WORKERS = 16
TOKEN_URL_EXAMPLE = "https://na.uemauth.workspaceone.com/connect/token"


class AirWatchSettings(AssetSettings):
    url: str = setting("https://apidev.awmdm.com", doc="AirWatch API server URL (the as###, not the cn### console).")
    # username, password and api_token are required unless OAuth (client_id...) or conn_id is used: see problems().
    username: str = setting("", doc="AirWatch admin user (a console admin with an API role).",
                            example="username@example.com")
    password: Secret = setting(SecretStr(""), doc="Its password.", example="change-me")
    api_token: Secret = setting(SecretStr(""), doc="REST API key (sent as aw-tenant-code).",
                                example="YOUR AirWatch API TOKEN")
    dep_uuid: str = setting("", doc="Apple DEP group uuid whose details are added to each device.")
    client_id: str = setting("", doc="OAuth client id (instead of username, password and api_token).")
    client_secret: Secret = setting(SecretStr(""), doc="OAuth client secret.")
    token_url: str = setting("", doc=f"OAuth token URL of your region, e.g. {TOKEN_URL_EXAMPLE}.")
    page_size: Int = setting(500, doc="Devices per search page.")
    workers: Int = setting(4, doc=f"Requests to AirWatch in flight at once (1 to {MAX_WORKERS}).")

    def problems(self):
        out = super().problems()
        if self.page_size < 1:
            out.append(("page_size", f"expected a whole number of at least 1, got {self.page_size}"))
        if not 1 <= self.workers <= MAX_WORKERS:
            out.append(("workers", f"expected a whole number from 1 to {MAX_WORKERS}, got {self.workers}"))
        if self.dep_uuid:
            try:
                uuid.UUID(self.dep_uuid)
            except ValueError:
                out.append(("dep_uuid", "expected the DEP group's uuid such as "
                                        f"1c9f3e2a-5b7d-4c8e-9f01-23456789abcd, got {self.dep_uuid!r}"))
        if self.conn_id:  # credentials come from the Airflow connection
            return out
        if self.client_id or self.client_secret.get_secret_value():
            if not self.client_id:
                out.append(("client_id", "missing: OAuth needs client_id with client_secret"))
            if not self.client_secret.get_secret_value():
                out.append(("client_secret", "missing: OAuth needs client_secret with client_id"))
            if not self.token_url:
                out.append(("token_url", f"missing required setting with client_id (e.g. {TOKEN_URL_EXAMPLE}; "
                                         "your region's token URL)"))
            return out
        for key, example in (("username", "username@example.com"), ("password", "change-me"),
                             ("api_token", "the REST API key")):
            value = getattr(self, key)
            if not (value.get_secret_value() if isinstance(value, SecretStr) else value):
                out.append((key, f"missing required setting (e.g. {example}); or use OAuth (client_id, "
                                 "client_secret, token_url) or conn_id"))
        return out

    def notes(self):
        out = super().notes()
        if self.client_id and (self.username or self.password.get_secret_value()):
            out.append(("client_id", "OAuth is used; username and password are not sent"))
        if self.url.rstrip("/").lower().endswith("/api"):
            out.append(("url", "ends with /api, which the provider adds itself; give the server URL only"))
        return out


def _mapping(source: str, converter: str = "") -> dict:
    return {"source": source, **({"converter": converter} if converter else {})}


# Only fields every device search record has; network.* fields cost one call per device (opt in).
DEFAULT_MAPPINGS = {
    "SERIAL_NUMBER": _mapping("SerialNumber"),
    "DEVICE_NAME": _mapping("DeviceReportedName", "first_field:fields=DeviceFriendlyName"),
    "MODEL": _mapping("Model"),
    "OPERATING_SYSTEM": _mapping("Platform"),
    "OS_VERSION": _mapping("OperatingSystem"),
    "MAC_ADDRESS": _mapping("MacAddress"),
    "IMEI__MEID": _mapping("Imei"),
    "ASSIGNED_TO": _mapping("UserName"),
    "LAST_SEEN": _mapping("LastSeen", "date_format"),  # no zone in the API: read as UTC
}

SOURCE = SourceType(
    name="airwatch",
    title="AirWatch / Workspace ONE UEM",
    record_type="assets",
    mapping_name="AirWatch",
    settings=AirWatchSettings,
    default_mappings=DEFAULT_MAPPINGS,
    hook="airflow_provider_oomnitza.hooks.airwatch.AirWatchHook",
)
