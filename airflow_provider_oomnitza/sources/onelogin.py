"""OneLogin users."""
from urllib.parse import urlsplit

from pydantic import SecretStr

from airflow_provider_oomnitza.config.settings import UserSettings
from airflow_provider_oomnitza.config.types import Int, Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType, simple_mappings

MAX_PAGE_SIZE = 100  # the users API's largest page
LEGACY_NOTE = ("uses OneLogin's deprecated API key and XML users API (/api/v2/users.xml), which OneLogin may shut "
               "off; create an API credential (Administration > Developers > API Credentials, 'Read users') and "
               "set client_id and client_secret")


class OneLoginSettings(UserSettings):
    url: str = setting("https://api.us.onelogin.com",
                       doc="OneLogin API host: https://<subdomain>.onelogin.com, https://api.us.onelogin.com or "
                           "https://api.eu.onelogin.com (a path such as the original's /api/1/users is ignored; "
                           "with api_token: the XML users URL, e.g. https://app.onelogin.com/api/v2/users.xml).")
    client_id: str = setting("", doc="API credential client id.", example="qwerty12345678901234567890")
    client_secret: Secret = setting(SecretStr(""), doc="API credential client secret.",
                                    example="qwerty12345678901234567890")
    api_token: Secret = setting(SecretStr(""), doc="Deprecated API key (XML API); only when no client id/secret.")
    page_size: Int = setting(MAX_PAGE_SIZE, doc=f"Users per page (1 to {MAX_PAGE_SIZE}).")

    @property
    def uses_client(self) -> bool:
        """OAuth client credentials (API v2), as the original: both set; else the legacy API key."""
        return bool(self.client_id and (self.client_secret.get_secret_value() or "client_secret" in self.vault_keys))

    def problems(self):
        out = super().problems()
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            out.append(("page_size", f"expected a whole number from 1 to {MAX_PAGE_SIZE}, got {self.page_size}"))
        if urlsplit(self.url if "://" in self.url else f"https://{self.url}").scheme not in ("http", "https"):
            out.append(("url", f"expected an https:// URL such as https://example.onelogin.com, got {self.url!r}"))
        if self.conn_id:  # credentials come from the Airflow connection
            return out
        if not self.uses_client and not (self.api_token.get_secret_value() or "api_token" in self.vault_keys):
            out.append(("client_id", "needs client_id and client_secret (or the deprecated api_token)"))
        return out

    def notes(self):
        out = super().notes()
        if self.uses_client:
            if self.api_token.get_secret_value():
                out.append(("api_token", "is not used: client_id and client_secret are set"))
        elif self.api_token.get_secret_value():
            out.append(("api_token", LEGACY_NOTE))
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
    hook="airflow_provider_oomnitza.hooks.onelogin.OneLoginHook",
)
