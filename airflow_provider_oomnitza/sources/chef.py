"""Chef Infra Server nodes."""
from pydantic import SecretStr

from airflow_provider_oomnitza.config.settings import AssetSettings
from airflow_provider_oomnitza.config.types import JsonObject, Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType

DEFAULT_PLATFORM = "__default__"
EXTENSION_EXPECTED = ('expected {"<platform> or __default__": {"<new hardware key>": "<dotted node path>"}}, e.g. '
                      '{"__default__": {"kernel_name": "automatic.kernel.name"}}')


class ChefSettings(AssetSettings):
    url: str = setting(doc="Chef server URL with organization.", example="https://chef-server/organizations/ORG/")
    client: str = setting(doc="Chef client (user) name.", example="user")
    key_file: str = setting("", doc="The client's RSA private key file (PEM).", example="/home/user/user.pem")
    client_key: Secret = setting(SecretStr(""), doc="The client's RSA private key as PEM text, instead of key_file "
                                                    "(best kept as an Airflow connection's password).")
    attribute_extension: JsonObject = setting({}, doc="Extra node attributes per platform, as JSON.")

    def problems(self) -> list[tuple[str, str]]:
        out = super().problems()
        bad = [platform for platform, keys in self.attribute_extension.items()
               if not isinstance(keys, dict) or not all(isinstance(k, str) and isinstance(p, str) and p.strip()
                                                        for k, p in keys.items())]
        if bad:
            out.append(("attribute_extension", f"{EXTENSION_EXPECTED}; the entry of {bad[0]!r} is not such a map"))
        if self.conn_id:  # URL and credentials come from the Airflow connection
            return out
        if not self.url.startswith(("https://", "http://")):
            out.append(("url", f"expected the Chef server URL with organization, e.g. "
                               f"https://chef-server/organizations/ORG/, got {self.url!r}"))
        if not self.key_file and not self.client_key.get_secret_value():
            out.append(("key_file", "missing required setting (e.g. /home/user/user.pem): the client's private key "
                                    "file (or client_key, or an Airflow connection via conn_id)"))
        return out

    def notes(self) -> list[tuple[str, str]]:
        out = super().notes()
        if self.url and "/organizations/" not in self.url:
            out.append(("url", "has no /organizations/<org> part; Chef Infra Server 12 and later serve every API "
                               "under it (e.g. https://chef-server/organizations/ORG/)"))
        return out


SOURCE = SourceType(name="chef", title="Chef", record_type="assets", mapping_name="Chef", settings=ChefSettings,
                    hook="airflow_provider_oomnitza.hooks.chef.ChefHook")
