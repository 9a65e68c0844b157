"""Okta users."""
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_oomnitza.config.settings import UserSettings
from airflow_provider_oomnitza.config.types import Bool, Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType, simple_mappings

# Okta's own domains; an org's Admin Console is ``<org>-admin.<domain>``, its API ``<org>.<domain>``.
OKTA_DOMAINS = ("okta.com", "oktapreview.com", "okta-emea.com", "okta-gov.com", "okta.mil", "okta-miltest.com",
                "trex-govcloud.com")


def org_url(url: str) -> str:
    """The org URL the API answers on: ``https://`` added to a bare host, no trailing ``/``, and the Admin
    Console's ``-admin`` taken out of an Okta host (``acme-admin.okta.com`` -> ``acme.okta.com``)."""
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = f"https://{url}"
    parts = urlsplit(url)
    host = parts.hostname or ""
    label, _, domain = host.partition(".")
    if label.endswith("-admin") and domain in OKTA_DOMAINS:
        netloc = f"{label.removesuffix('-admin')}.{domain}" + (f":{parts.port}" if parts.port else "")
        url = urlunsplit(parts._replace(netloc=netloc))
    return url


class OktaSettings(UserSettings):
    url: str = setting("https://example-admin.okta.com",
                       doc="Your Okta org URL, e.g. https://acme.okta.com (an -admin host is read without -admin).")
    api_token: Secret = setting(doc="Okta API token (Security > API > Tokens), sent as SSWS.",
                                example="YOUR Okta API TOKEN")
    deprovisioned: Bool = setting(False, doc="Also load DEPROVISIONED users (Okta's user list leaves them out).")


SOURCE = SourceType(
    name="okta",
    title="Okta",
    record_type="users",
    mapping_name="Okta",
    settings=OktaSettings,
    default_mappings=simple_mappings(
        USER="profile.login",
        FIRST_NAME="profile.firstName",
        LAST_NAME="profile.lastName",
        EMAIL="profile.email",
        PHONE="profile.mobilePhone",
        PERMISSIONS_ID={"setting": "default_role"},
    ),
    hook="airflow_provider_oomnitza.hooks.okta.OktaHook",
)
