"""Zendesk users."""
import re

from pydantic import SecretStr

from airflow_provider_oomnitza.config.settings import UserSettings
from airflow_provider_oomnitza.config.types import Bool, FieldList, Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType, simple_mappings

ROLES = ("end-user", "agent", "admin")
_SUBDOMAIN = re.compile(r"^[A-Za-z0-9_-]+$")


class ZendeskSettings(UserSettings):
    system_name: str = setting("", doc="Your Zendesk subdomain (acme for https://acme.zendesk.com).",
                               example="oomnitza")
    # username + api_token, or oauth_token: see problems().
    api_token: Secret = setting(SecretStr(""), doc="Zendesk API token (Zendesk retires API tokens on 30 April "
                                "2027: use oauth_token).", example="YOUR Zendesk API TOKEN")
    username: str = setting("", doc="E-mail of the agent or admin the API token authenticates as.",
                            example="username@example.com")
    oauth_token: Secret = setting(SecretStr(""), doc="OAuth access token (sent as Bearer), instead of username "
                                  "and api_token.")
    load_organizations: Bool = setting(False, doc="Add each user's organization (or {}) to the record as "
                                       "organization.")
    roles: FieldList = setting([], doc="Only users with these roles (end-user, agent, admin), comma-separated; "
                               "empty: every user.")
    url: str = setting("", doc="Zendesk URL; empty: https://<system_name>.zendesk.com (set it for a proxy or a "
                       "host-mapped domain).")

    def problems(self) -> list[tuple[str, str]]:
        out = super().problems()
        unknown = [r for r in self.roles if r not in ROLES]
        if unknown:
            out.append(("roles", f"expected roles among {', '.join(ROLES)}, got {', '.join(map(repr, unknown))}"))
        if self.conn_id:  # URL and credentials come from the Airflow connection
            return out
        if not self.url:
            if not self.system_name:
                out.append(("system_name", "missing required setting (e.g. acme for https://acme.zendesk.com)"))
            elif not _SUBDOMAIN.match(zendesk_subdomain(self.system_name)):
                out.append(("system_name", f"expected your Zendesk subdomain (acme for https://acme.zendesk.com), "
                                           f"got {self.system_name!r}"))
        if not self.oauth_token.get_secret_value():
            missing = "missing required setting (or oauth_token instead of username and api_token)"
            if not self.username:
                out.append(("username", missing))
            if not self.api_token.get_secret_value():
                out.append(("api_token", missing))
        return out

    def notes(self) -> list[tuple[str, str]]:
        out = super().notes()
        if self.oauth_token.get_secret_value() and (self.username or self.api_token.get_secret_value()):
            out.append(("oauth_token", "is used; username and api_token are not"))
        return out


def zendesk_subdomain(system_name: str) -> str:
    """The subdomain of a ``system_name``; ``acme.zendesk.com`` (a common slip) is read as ``acme``."""
    name = system_name.strip().lower()
    return name[: -len(".zendesk.com")] if name.endswith(".zendesk.com") else name


def zendesk_url(settings: ZendeskSettings) -> str:
    """Where the API is: ``url`` if set (a bare host means https), else ``https://<system_name>.zendesk.com``."""
    url = settings.url.strip().rstrip("/")
    if url:
        return url if "://" in url else f"https://{url}"
    return f"https://{zendesk_subdomain(settings.system_name)}.zendesk.com"


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
    hook="airflow_provider_oomnitza.hooks.zendesk.ZendeskHook",
)
