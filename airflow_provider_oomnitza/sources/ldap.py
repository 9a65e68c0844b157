"""LDAP / Active Directory people (``ldap``) and computer objects (``ldap_assets``)."""
from airflow_provider_oomnitza.config.settings import AssetSettings, CommonSettings, UserSettings
from airflow_provider_oomnitza.config.types import Bool, Int, JsonList, Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType, simple_mappings


class LdapSearch(CommonSettings):
    """Connection and search settings shared by both LDAP section types."""

    url: str = setting(doc="LDAP server URI (ldap:// or ldaps://).", example="ldap://ldap.forumsys.com:389")
    username: str = setting(doc="Bind DN, or 'anonymous'.", example="cn=read-only-admin,dc=example,dc=com")
    password: Secret = setting("", doc="Bind password.")
    base_dn: str = setting(doc="Where the search starts.", example="dc=example,dc=com")
    group_dn: str = setting("", doc="Only members of this group.")
    protocol_version: Int = setting(3, doc="LDAP protocol version, 2 or 3.")
    filter: str = setting("(objectClass=*)", doc="LDAP search filter.")
    groups_dn: JsonList = setting([], doc="Only members of these groups, as a JSON list of DNs.")
    group_members_attr: str = setting("member", doc="Group attribute listing its members.")
    group_member_filter: str = setting("", doc="Filter to find a member, {} standing for the member value.")
    start_tls: Bool = setting(False, doc="Upgrade an ldap:// connection with StartTLS (ldaps:// is TLS already).")

    def problems(self):
        out = super().problems()
        if self.protocol_version not in (2, 3):
            out.append(("protocol_version", f"expected 2 or 3, got {self.protocol_version}"))
        return out


class LdapUserSettings(LdapSearch, UserSettings):
    page_criterium: str = setting("", doc="Accepted for compatibility; paging is automatic.")


class LdapAssetSettings(LdapSearch, AssetSettings):
    pass


SOURCE = SourceType(
    name="ldap",
    title="LDAP / Active Directory users",
    record_type="users",
    mapping_name="LDAP",
    settings=LdapUserSettings,
    hook="airflow_provider_oomnitza.hooks.ldap.LdapHook",
    default_mappings=simple_mappings(
        USER={"source": "uid", "converter": "ldap_user_field", "required": True},
        FIRST_NAME="givenName",
        LAST_NAME="sn",
        EMAIL={"source": "mail", "required": True},
        PERMISSIONS_ID={"setting": "default_role"},
    ),
)

ASSETS = SourceType(
    name="ldap_assets",
    title="LDAP / Active Directory assets",
    record_type="assets",
    mapping_name="LDAP_assets",
    settings=LdapAssetSettings,
    hook="airflow_provider_oomnitza.hooks.ldap.LdapAssetsHook",
)
