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


# Fields of the shared device list that a DEP device detail object has. Apple knows no device
# name, user, network address or OS version; ``description`` is Apple's product description
# ("IPAD WI-FI 64GB SPACE GRAY") and ``device_assigned_date`` (when the device was assigned in
# DEP, which happens when it is bought) is the nearest DEP has to a purchase date; the default
# timestamp converter below turns it into epoch seconds.
DEFAULT_MAPPINGS = {
    "SERIAL_NUMBER": {"source": "serial_number"},
    "DEVICE_NAME": {"source": "description"},
    "MODEL": {"source": "model"},
    "MANUFACTURER": {"hardcoded": "Apple"},
    "OPERATING_SYSTEM": {"source": "os"},
    "BARCODE": {"source": "asset_tag"},
    "PURCHASE_DATE": {"source": "device_assigned_date"},
}

SOURCE = SourceType(
    name="appledep",
    title="Apple DEP",
    record_type="assets",
    mapping_name="AppleDEP",
    settings=AppleDepSettings,
    hook="airflow_provider_oomnitza.hooks.appledep.AppleDepHook",
    default_mappings=DEFAULT_MAPPINGS,
    default_converters={
        "device_assigned_date": "timestamp",
        "profile_assign_time": "timestamp",
        "profile_push_time": "timestamp",
    },
)
