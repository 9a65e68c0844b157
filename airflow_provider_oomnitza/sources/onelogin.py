"""OneLogin users."""
from pydantic import SecretStr

from airflow_provider_oomnitza.config.settings import UserSettings
from airflow_provider_oomnitza.config.types import Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType, simple_mappings


class OneLoginSettings(UserSettings):
    url: str = setting("https://api.us.onelogin.com/api/1/users", doc="OneLogin users API URL.")
    client_id: str = setting("", doc="API client id.", example="qwerty12345678901234567890")
    client_secret: Secret = setting(SecretStr(""), doc="API client secret.", example="qwerty12345678901234567890")
    api_token: Secret = setting(SecretStr(""), doc="Old API key; only when no client id/secret.")

    def problems(self):
        out = super().problems()
        has_client = self.client_id and (self.client_secret.get_secret_value() or "client_secret" in self.vault_keys)
        if not has_client and not (self.api_token.get_secret_value() or "api_token" in self.vault_keys):
            out.append(("client_id", "needs client_id and client_secret (or the old API's api_token)"))
        return out

    def notes(self):
        out = super().notes()
        if not self.client_id and self.api_token.get_secret_value():
            out.append(("api_token", "uses OneLogin's old, deprecated API; prefer client_id and client_secret"))
        return out


SOURCE = SourceType(
    name="onelogin",
    title="OneLogin",
    record_type="users",
    mapping_name="OneLogin",
    settings=OneLoginSettings,
    default_mappings=simple_mappings(
        USER="username",
        FIRST_NAME="firstname",
        LAST_NAME="lastname",
        EMAIL="email",
        PHONE="phone",
        PERMISSIONS_ID={"setting": "default_role"},
    ),
)
