"""Which source paths a run reads: what the mappings, their converters and the record filter look at.

The hook gets the answer (``SourceNeeds``) and asks its API for no more (Jamf's inventory
sections, AirWatch's per-device network call, LDAP attributes). Anything that may read any
field (a custom converter, a ``recordfilter``, no mapping with a source) makes the run need
whole records.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping

from airflow_provider_oomnitza.mapping.converters import BUILTIN_CONVERTERS
from airflow_provider_oomnitza.mapping.spec import parse_converter
from airflow_provider_oomnitza.sources.base import SourceNeeds


def _converter_paths(name: str, params: Mapping[str, Any]) -> list[str]:
    """Source paths a built-in converter reads besides its mapping's ``source``."""
    if name == "casper_extension_attribute":
        return ["extension_attributes"]
    if name == "mac_model_from_sn":
        return ["general.serial_number"]
    if name == "first_field" and isinstance(params.get("fields"), str):
        return [key for key in params["fields"].split(",") if key]
    if name == "concat" and isinstance(params.get("values"), str):
        return [piece for piece in params["values"].split(",") if piece and piece[0] not in "'\""]
    return []


def needs_of(mappings: Mapping[str, Mapping[str, Any]], *, custom_converters: Iterable[str] = (),
             has_record_filter: bool = False) -> SourceNeeds:
    """The source paths ``mappings`` read, and whether they (or the record filter) may read any field."""
    custom = {name.lower() for name in custom_converters}
    paths: set[str] = set()
    whole = has_record_filter
    for spec in mappings.values():
        if spec.get("source"):
            paths.add(str(spec["source"]))
        if spec.get("converter"):
            name, params = parse_converter(str(spec["converter"]))
            if name.lower() in custom or name not in BUILTIN_CONVERTERS:
                whole = True
            paths.update(_converter_paths(name, params))
    return SourceNeeds(frozenset(paths), whole_records=whole or not paths)
