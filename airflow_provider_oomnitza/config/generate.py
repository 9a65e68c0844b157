"""Writes an example ``config.ini`` with every section and its settings, valid as written."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from airflow_provider_oomnitza.config.settings import (
    SYNC_FIELD_EXAMPLE, AssetSettings, CommonSettings, OomnitzaSettings, SettingsModel,
)
from airflow_provider_oomnitza.sources import GENERATED_TYPES, SOURCE_TYPES

# Values that must differ from the declared example for the file to validate as written.
EXAMPLE_OVERRIDES = {
    ("appledep", "api_token"): json.dumps({
        "consumer_key": "CK_replace-me", "consumer_secret": "CS_replace-me",
        "access_token": "AT_replace-me", "access_secret": "AS_replace-me",
    }),
}
# Settings written commented out: mutually exclusive with another, or seldom needed.
COMMENTED = {("csv_assets", "directory"), ("csv_users", "directory")}
# Where the identifying field comes from, for types whose default mappings do not map it
# (assets: sync_field = SERIAL_NUMBER; users: USER), so that the file validates without warnings.
EXAMPLE_IDENTITY_SOURCES = {
    "chef": "hardware.serial_number",
    "csv_assets": "serial_number",
    "csv_users": "username",
    "jasper": "iccid",
    "json_assets": "serial_number",
    "json_users": "username",
    "ldap_assets": "serialNumber",
    "sccm": "hardware.serial_number",
}

HEADER = """\
# config.ini for the Oomnitza Airflow provider (same format as the Oomnitza Connector's).
# One section per connection; enable the ones you use. [type.suffix] sections, such as
# [ldap.Contractors], are extra connections of the same type. Mappings go at the end of a
# section: mapping.FIELD = {"source": "path.in.record", "converter": "name"}.
# Check it with: oomnitza-airflow validate --ini <this file>
"""


def _format(value: Any) -> str:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, str):
        return value
    if value == [] or value == {}:
        return ""  # an empty value means the default
    return json.dumps(value)


def _example(type_name: str, model: type[SettingsModel], key: str) -> str:
    if (type_name, key) in EXAMPLE_OVERRIDES:
        return EXAMPLE_OVERRIDES[(type_name, key)]
    if key == "sync_field" and issubclass(model, AssetSettings):
        return SYNC_FIELD_EXAMPLE
    info = model.model_fields[key]
    extra = info.json_schema_extra or {}
    if "example" in extra:
        return _format(extra["example"])
    return "" if info.is_required() else _format(info.default)


def _own_keys(model: type[SettingsModel]) -> list[str]:
    """The type's own settings first, then required common ones (sync_field of assets...)."""
    common = CommonSettings.model_fields
    own = [k for k in model.model_fields if k not in common]
    required_common = [k for k, f in model.model_fields.items() if k in common and f.is_required()]
    if issubclass(model, AssetSettings):
        required_common.append("sync_field")
    return own + required_common


def _example_mappings(type_name: str) -> list[str]:
    """``mapping.X`` lines for the identifying field when the type's defaults do not map it."""
    source_type = SOURCE_TYPES[type_name]
    field = SYNC_FIELD_EXAMPLE if source_type.record_type == "assets" else "USER"
    if field in source_type.default_mappings:
        return []
    lines = [f"mapping.{field} = {json.dumps({'source': EXAMPLE_IDENTITY_SOURCES[type_name]})}"]
    if source_type.record_type == "users":
        lines.append('mapping.EMAIL = {"source": "email"}')
    return lines


def _line(key: str, value: str, commented: bool = False) -> str:
    text = f"{key} = {value}".rstrip()
    return f"# {text}" if commented else text


def render_example() -> str:
    lines = [HEADER, "[oomnitza]"]
    for key in OomnitzaSettings.model_fields:
        value = _example("oomnitza", OomnitzaSettings, key)
        lines.append(_line(key, value, commented=key not in ("url", "api_token", "username", "password")))
    lines.append("")
    for type_name in GENERATED_TYPES:
        lines += render_section(type_name)
    return "\n".join(lines)


def render_section(type_name: str, name: str | None = None) -> list[str]:
    """The lines of one example section of ``type_name`` (disabled), valid as written."""
    model = SOURCE_TYPES[type_name].settings
    lines = [f"[{name or type_name}]", "enable = False"]
    own = _own_keys(model)
    for key in own:
        lines.append(_line(key, _example(type_name, model, key), (type_name, key) in COMMENTED))
    lines.append("# Settings every section accepts, with their defaults:")
    for key in model.model_fields:
        if key not in own:
            lines.append(_line(key, _example(type_name, model, key), commented=True))
    lines += _example_mappings(type_name)
    lines.append("")
    return lines


def write_example(path: str | Path) -> Path | None:
    """Write the example to ``path``; an existing file is first renamed to a new ``.bak`` name.

    Returns the backup path, if one was made. Backups are never overwritten.
    """
    path = Path(path)
    backup = None
    if path.exists():
        backup = path.with_name(path.name + ".bak")
        n = 1
        while backup.exists():
            backup = path.with_name(f"{path.name}.bak.{n}")
            n += 1
        path.rename(backup)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_example(), encoding="utf-8")
    return backup
