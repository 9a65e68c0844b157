"""Typed settings models: what every section accepts, and the asset / user / Oomnitza variants.

Each source type declares its own subclass in ``sources/<type>.py``. Field order is the
order ``generate-ini`` writes. ``problems()`` returns cross-field errors as
``(key, message)`` pairs so the loader can point at the offending key.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator
from pydantic_core import PydanticCustomError

from airflow_provider_oomnitza.config.types import Bool, FieldList, Int, Secret, WordList, setting

SCHEDULE_PRESETS = frozenset({"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly",
                              "@yearly", "@annually"})
SCHEDULE_EXPECTED = "expected a cron expression such as '0 6 * * *' or a preset such as @daily"


def schedule_problem(value: str) -> str | None:
    """Why a schedule is not one Airflow accepts, or None."""
    if not value or value in SCHEDULE_PRESETS:
        return None
    from croniter import croniter  # an Airflow dependency

    return None if croniter.is_valid(value) else f"{SCHEDULE_EXPECTED}, got {value!r}"


SYNC_FIELD_EXAMPLE = "SERIAL_NUMBER"
SYNC_FIELD_MISSING = f"missing required setting (e.g. {SYNC_FIELD_EXAMPLE}): the Oomnitza field(s) identifying an asset"

MAX_REJECTED_EXPECTED = "expected a whole number of records (0 or more) or a percentage such as 5%"


def max_rejected_allows(value: str, records: int) -> int:
    """How many rejected records ``max_rejected`` (a count, or a percentage of ``records``) allows."""
    text = str(value).strip()
    try:
        if text.endswith("%"):
            percent = float(text[:-1])
            if not 0 <= percent <= 100:
                raise ValueError
            return int(records * percent / 100)
        count = int(text)
        if count < 0:
            raise ValueError
        return count
    except ValueError:
        raise ValueError(f"{MAX_REJECTED_EXPECTED}, got {value!r}") from None


def url_problem(value: str) -> str | None:
    """Why ``value`` is not an Oomnitza URL, or None. The check the sync's Asset (ui/assets.py) needs:
    an invalid URL found only when the DAG is built cost every section its DAG (found by fuzzing)."""
    from airflow_provider_oomnitza.ui.assets import oomnitza_asset_uri

    shown = value if len(value) <= 80 else value[:80] + "..."
    try:
        uri = oomnitza_asset_uri("assets", value)
    except ValueError:
        return f"expected the Oomnitza URL, e.g. https://acme.oomnitza.com, got {shown!r}"
    if len(uri) > 300:  # a DNS name has at most 253 characters (an Asset name at most 1500)
        return f"the host name is too long (at most 253 characters), got {shown!r}"
    return None


def max_rejected_problem(value: str) -> str | None:
    try:
        max_rejected_allows(value, 0)
    except ValueError as exc:
        return str(exc)
    return None


SslProtocol = Literal["", "ssl", "sslv23", "ssl23", "tls", "tls1", "tls1_1", "tls1_2", "tls1_3"]


class SettingsModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    def problems(self) -> list[tuple[str, str]]:
        """Cross-field errors as ``(key, message)``."""
        return []

    def notes(self) -> list[tuple[str, str]]:
        """Cross-field warnings as ``(key, message)``."""
        return []

    def values(self, reveal: bool = False) -> dict[str, Any]:
        """Settings as plain values; secrets masked unless ``reveal``."""
        out = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                value = value.get_secret_value() if reveal else ("***" if value.get_secret_value() else "")
            out[name] = value
        return out

    @classmethod
    def secret_keys(cls) -> frozenset[str]:
        return frozenset(n for n, f in cls.model_fields.items() if f.annotation is SecretStr)


class CommonSettings(SettingsModel):
    """Settings every connector section accepts (the original's CommonSettings)."""

    verify_ssl: Bool = setting(True, doc="Check the server's TLS certificate.")
    cacert_file: str = setting("", doc="CA bundle file for the server's certificate.")
    cacert_dir: str = setting("", doc="Directory of CA certificates (LDAP).")
    env_password: str = setting("", doc="Name of an environment variable holding the password.")
    ssl_protocol: SslProtocol = setting("", doc="Force a TLS version; empty negotiates.")
    use_server_map: Bool = setting(True, doc="Merge the mappings configured in Oomnitza.")
    use_default_mappings: Bool = setting(True, doc="Start from the source type's default mappings.")
    only_if_filled: str = setting("", doc="Accepted for compatibility; the bulk API ignores it.")
    dont_overwrite: str = setting("", doc="Accepted for compatibility; the bulk API ignores it.")
    insert_only: Bool = setting(False, doc="Only create records in Oomnitza, never update.")
    update_only: Bool = setting(False, doc="Only update records in Oomnitza, never create.")
    vault_keys: WordList = setting([], doc="Settings to load from the secret store.")
    vault_backend: Literal["keyring", "vault"] = setting("keyring", doc="Secret store for vault_keys.")
    vault_conn_id: str = setting("vault_default", doc="Airflow connection of the Vault that vault_keys are read from.")
    vault_alias: str = setting("", doc="Vault secret path of vault_keys (empty: the section name).")
    # Validated even when absent, so that AssetSettings' check runs whichever base class declares the field.
    sync_field: FieldList = setting([], doc="Oomnitza field(s) identifying a record, comma-separated.",
                                    validate_default=True)
    schedule: str = setting("", doc="Cron expression or preset for this section's DAG.")
    conn_id: str = setting("", doc="Airflow connection with this section's URL and credentials (instead of the INI's).")
    max_rejected: str = setting("", doc="This section's [oomnitza] max_rejected (empty: use that one).")
    delta_sync: Bool = setting(False, doc="Send only records new or changed since the last successful run "
                                          "(docs/performance.md, delta sync).")

    def problems(self) -> list[tuple[str, str]]:
        out = []
        if self.max_rejected and max_rejected_problem(self.max_rejected):
            out.append(("max_rejected", max_rejected_problem(self.max_rejected)))
        if schedule_problem(self.schedule):
            out.append(("schedule", schedule_problem(self.schedule)))
        if self.insert_only and self.update_only:
            out.append(("update_only", "insert_only and update_only are both true; set at most one"))
        return out

    def notes(self) -> list[tuple[str, str]]:
        out = []
        for key in ("only_if_filled", "dont_overwrite"):
            if getattr(self, key):
                out.append((key, "is accepted but not sent: Oomnitza's bulk API has no such option"))
        if self.ssl_protocol in ("tls", "tls1"):
            out.append(("ssl_protocol", "forces TLS 1.0, which current servers refuse; leave it empty to negotiate"))
        return out


class AssetSettings(CommonSettings):
    """Sections whose records are Oomnitza assets."""

    sync_field: FieldList = setting(
        [], doc="Oomnitza field(s) identifying an asset (serial number is typical).",
        example=SYNC_FIELD_EXAMPLE, validate_default=True,
    )

    @field_validator("sync_field")
    @classmethod
    def _sync_field_required(cls, value: list[str]) -> list[str]:
        """Required for every asset type, whatever its other base classes (a validator is inherited through
        the whole MRO; a field's required-ness is not: ``CsvSource`` would bring the optional one)."""
        if not value:
            raise PydanticCustomError("missing_sync_field", SYNC_FIELD_MISSING)
        return value


class UserSettings(CommonSettings):
    """Sections whose records are Oomnitza users."""

    default_role: Int = setting(doc="Numeric Oomnitza role id given to imported users.", example=25)
    default_position: str = setting(
        doc="Position given to users without one; 'unused' adds no POSITION.", example="Employee"
    )


class OomnitzaSettings(SettingsModel):
    """The ``[oomnitza]`` section: where records go."""

    url: str = setting("", doc="Your Oomnitza URL.", example="https://example.oomnitza.com")
    api_token: Secret = setting(SecretStr(""), doc="API token (preferred over username/password).")
    username: str = setting("", doc="Oomnitza user, when no api_token.", example="oomnitza-sa")
    password: Secret = setting(SecretStr(""), doc="Password of that user.", example="ThePassword")
    env_password: str = setting("", doc="Name of an environment variable holding the password.")
    verify_ssl: Bool = setting(True, doc="Check Oomnitza's TLS certificate.")
    ssl_protocol: SslProtocol = setting("", doc="Force a TLS version; empty negotiates.")
    vault_keys: WordList = setting([], doc="Settings to load from the secret store.")
    vault_backend: Literal["keyring", "vault"] = setting("keyring", doc="Secret store for vault_keys.")
    vault_conn_id: str = setting("vault_default", doc="Airflow connection of the Vault that vault_keys are read from.")
    vault_alias: str = setting("", doc="Vault secret path of vault_keys (empty: the section name).")
    schedule: str = setting("", doc="Default schedule for every section's DAG (cron or preset).")
    conn_id: str = setting("", doc="Airflow connection with Oomnitza's URL and credentials (instead of the above).")
    batch_size: Int = setting(100, doc="Records per bulk request.")
    workers: Int = setting(2, doc="Bulk requests in flight per push task (the --workers option).")
    chunk_size: Int = setting(20000, doc="Records per chunk; each chunk is mapped and pushed by its own task.")
    parallel_chunks: Int = setting(4, doc="Chunks mapped or pushed at once in one run (Oomnitza sees at most "
                                          "this many push tasks, each with `workers` requests in flight).")
    retries: Int = setting(2, doc="Airflow retries of each task of a sync.")
    retry_delay: Int = setting(30, doc="Seconds between those retries.")
    max_rejected: str = setting("0", doc="Records refused by Oomnitza or skipped for errors that a run accepts before "
                                         "it fails: a count, or a percentage of the records extracted such as 5%.")
    max_record_bytes: Int = setting(1048576, doc="Largest source record (as JSON) a run takes; a larger one is "
                                                 "skipped and reported (0: no limit).")
    timeout: Int = setting(60, doc="Seconds to wait for Oomnitza's answer to one request before retrying it.")
    keep_runs_days: Int = setting(7, doc="Days a run folder is kept; older ones are removed when the section runs "
                                         "again (0 keeps them).")
    full_sync_every: str = setting("", doc="With delta_sync: send every record again when the last full sync "
                                           "is this old (12h, 7d, 2w); empty: only with the full_sync parameter.",
                                   example="7d")
    allow_python: Bool = setting(True, doc="Allow Python in this file (recordfilter, [converters]); it runs as "
                                           "trusted code with the Airflow worker's rights.")

    def problems(self) -> list[tuple[str, str]]:
        out = [(key, f"expected a whole number of at least 1, got {getattr(self, key)}")
               for key in ("batch_size", "workers", "chunk_size", "parallel_chunks", "timeout") if getattr(self, key) < 1]
        out += [(key, f"expected a whole number of at least 0, got {getattr(self, key)}")
                for key in ("retries", "retry_delay", "keep_runs_days", "max_record_bytes") if getattr(self, key) < 0]
        if max_rejected_problem(self.max_rejected):
            out.append(("max_rejected", max_rejected_problem(self.max_rejected)))
        if schedule_problem(self.schedule):
            out.append(("schedule", schedule_problem(self.schedule)))
        if self.url and url_problem(self.url):
            out.append(("url", url_problem(self.url)))
        try:
            from airflow_provider_oomnitza.delta import period_seconds

            period_seconds(self.full_sync_every)
        except ValueError as exc:
            out.append(("full_sync_every", str(exc)))
        if self.conn_id:
            return out
        if not self.url:
            out.append(("url", "missing required setting (e.g. https://example.oomnitza.com), or set conn_id"))
        has_login = self.username and (self.password.get_secret_value() or self.env_password)
        if not self.api_token.get_secret_value() and not has_login and not self.vault_keys:
            out.append(("api_token", "needs either api_token, or username and password (or conn_id)"))
        return out

    def notes(self) -> list[tuple[str, str]]:
        if self.api_token.get_secret_value() and self.password.get_secret_value():
            return [("password", "both api_token and password are set; the api_token is used")]
        return []
