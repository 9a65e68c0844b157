"""The effective mappings of one section: defaults, server-side mappings and INI specs merged."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_oomnitza.config.settings import CommonSettings, UserSettings
from airflow_provider_oomnitza.mapping.spec import merge_server_mappings, merge_specs
from airflow_provider_oomnitza.sources.base import SourceType

# A user record is identified by USER unless sync_field says otherwise. Connector 1.x also forced
# EMAIL on every user source; 2.x dropped that (only LDAP's default mappings mark EMAIL required).
DEFAULT_USER_SYNC_FIELDS = ("USER",)


@dataclass
class EffectiveMappings:
    mappings: dict[str, dict[str, Any]]
    # Oomnitza fields identifying a record (sent as the bulk API's sync_field).
    sync_fields: list[str]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def build_mappings(
    source: SourceType,
    settings: CommonSettings,
    ini_mappings: dict[str, dict[str, Any]],
    server_mappings: dict[str, Any] | None = None,
) -> EffectiveMappings:
    """Merge in the original's order. ``server_mappings=None`` means "not fetched" (offline):
    fields that could still come from the server then give warnings instead of errors."""
    mappings = copy.deepcopy(source.default_mappings_of(settings)) if settings.use_default_mappings else {}
    if server_mappings and settings.use_server_map:
        merge_server_mappings(mappings, server_mappings)
    merge_specs(mappings, ini_mappings)
    for spec in mappings.values():
        converter = source.default_converters.get(spec.get("source") or "")
        if converter and "converter" not in spec:
            spec["converter"] = converter
    for name, spec in source.extra_mappings_of(settings).items():
        mappings.setdefault(name, spec)

    if isinstance(settings, UserSettings):
        if settings.default_position.lower() != "unused":
            mappings.setdefault("POSITION", {"setting": "default_position"})
        mappings.setdefault("PERMISSIONS_ID", {"setting": "default_role"})
        sync_fields = list(settings.sync_field) or list(DEFAULT_USER_SYNC_FIELDS)
    else:
        sync_fields = list(settings.sync_field)
    required = sync_fields

    result = EffectiveMappings(mappings, sync_fields)
    offline = server_mappings is None and settings.use_server_map
    for name in required:
        if name in mappings:
            mappings[name]["required"] = True
            continue
        message = f"the identifying field {name} has no mapping; add mapping.{name} = {{\"source\": \"...\"}}"
        if offline:
            result.warnings.append(message + " (unless Oomnitza's server-side mappings provide it)")
        else:
            result.errors.append(message)
    return result
