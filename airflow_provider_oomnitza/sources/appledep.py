"""Apple DEP (Automated Device Enrollment) devices."""
import json

from airflow_provider_oomnitza.config.settings import AssetSettings
from airflow_provider_oomnitza.config.types import Secret, setting
from airflow_provider_oomnitza.sources.base import SourceType

TOKEN_PREFIXES = {"consumer_key": "CK_", "consumer_secret": "CS_", "access_token": "AT_", "access_secret": "AS_"}


def token_problem(token: str) -> str | None:
    """Why a DEP server token is unusable, or None. Same checks as the original."""
    try:
        data = json.loads(token)
    except ValueError:
        return "expected the DEP server token as JSON with consumer_key, consumer_secret, access_token, access_secret"
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in TOKEN_PREFIXES):
        return "the DEP server token needs the keys " + ", ".join(TOKEN_PREFIXES)
    for key, prefix in TOKEN_PREFIXES.items():
        if not data[key].startswith(prefix):
            return f"the DEP server token's {key} should start with {prefix}"
    return None


class AppleDepSettings(AssetSettings):
    url: str = setting("https://mdmenrollment.apple.com", doc="Apple DEP service URL.")
    api_token: Secret = setting(doc="The server token (JSON) from Apple Business Manager.",
                                example="YOUR APPLE DEP SERVER TOKEN")

    def problems(self):
        out = super().problems()
        if "api_token" not in self.vault_keys:
            problem = token_problem(self.api_token.get_secret_value())
            if problem:
                out.append(("api_token", problem))
        return out


SOURCE = SourceType(
    name="appledep",
    title="Apple DEP",
    record_type="assets",
    mapping_name="AppleDEP",
    settings=AppleDepSettings,
    default_converters={
        "device_assigned_date": "timestamp",
        "profile_assign_time": "timestamp",
        "profile_push_time": "timestamp",
    },
)
