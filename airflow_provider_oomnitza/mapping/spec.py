"""Mapping specs: reading ``mapping.FIELD = {...}`` and merging defaults, server and INI mappings.

A spec is a dict with any of ``source`` (dotted path in the raw record), ``setting``
(a section setting's value), ``hardcoded`` (a literal), ``converter`` (``name`` or
``name:arg=val|flag``), ``required`` and ``type``. Value precedence when a record is
mapped: a non-empty ``source``, else a non-empty ``setting``, else ``hardcoded``.

Merge order (the original's, see docs/mappings.md): the source type's defaults, then
Oomnitza's server-side mappings (each sets or replaces only ``source``), then the INI
specs merged key by key (keys are never removed), then default converters, then the
fields the source type always adds, then required-field rules.
"""
from __future__ import annotations

import copy
import difflib
import json
import re
from typing import Any

from airflow_provider_oomnitza.config.types import TRUE_WORDS, brief, parse_bool, parse_literal

SPEC_KEYS = ("source", "setting", "hardcoded", "converter", "required", "type")
TYPES = ("str", "int", "float", "bool")
FIELD_NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")


class MappingError(ValueError):
    """A mapping spec that cannot work, with a message that says what was expected."""


def field_name_of(key: str) -> str:
    """``mapping.serial.x`` -> ``SERIAL``: upper-cased, up to the next dot (as the original)."""
    name = key.split(".", 2)[1] if key.count(".") >= 1 else ""
    if not FIELD_NAME_RE.match(name):
        raise MappingError(f"{brief(name)} is not an Oomnitza field name; expected mapping.FIELD (letters, digits, _)")
    return name.upper()


def parse_spec(raw: str, warnings: list[str] | None = None) -> dict[str, Any]:
    """Parse one ``mapping.X`` value: JSON, a Python-literal dict as the spec's examples are written, or a
    bare source name (``mapping.NOTES = notes`` is ``{"source": "notes"}``, as in the original).

    What the original ignored (unknown keys) is dropped with a message appended to ``warnings``.
    """
    value: Any
    text = raw.strip()
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder's stack
        if text and text[0] not in "{[(\"'":
            return {"source": text}
        try:
            value = parse_literal(text)
        except ValueError:
            raise MappingError(f'expected a JSON object such as {{"source": "field"}}, got {brief(raw)}') from None
    if isinstance(value, tuple) and len(value) == 1 and isinstance(value[0], dict):
        value = value[0]  # a trailing comma, as in the spec's default-mapping listings
    if not isinstance(value, dict):
        raise MappingError(f'expected a JSON object such as {{"source": "field"}}, got {brief(raw)}')
    return check_spec(value, warnings)


def check_spec(spec: dict[str, Any], warnings: list[str] | None = None) -> dict[str, Any]:
    for key in [k for k in spec if k not in SPEC_KEYS]:
        del spec[key]
        if warnings is not None:
            warnings.append(f"unknown key {brief(key)} is ignored, as the original did"
                            f"{did_you_mean(str(key)[:100], SPEC_KEYS)} "
                            f"(expected some of {', '.join(SPEC_KEYS)})")
    for key in ("source", "setting", "converter"):
        if key in spec and spec[key] is not None and not isinstance(spec[key], str):
            raise MappingError(f"'{key}' must be a string, got {brief(spec[key])}")
    if "type" in spec and spec["type"] not in TYPES:
        raise MappingError(f"'type' must be one of {', '.join(TYPES)}, got {brief(spec['type'])}")
    if "hardcoded" in spec:
        spec["hardcoded"] = _json_value(spec["hardcoded"])
    if "required" in spec:
        try:
            spec["required"] = parse_bool(spec["required"])
        except ValueError as exc:
            raise MappingError(f"'required': {exc}") from None
    return spec


def _json_value(value: Any) -> Any:
    """A ``hardcoded`` value as it will be sent: JSON types only (a Python-literal tuple becomes a list)."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError):
        raise MappingError(f"'hardcoded' must be a JSON value (text, number, true/false, null, list or object), "
                           f"got {brief(value)}") from None


def did_you_mean(word: str, known) -> str:
    hint = difflib.get_close_matches(word, list(known), n=1)
    return f"; did you mean {hint[0]!r}?" if hint else ""


def is_required(spec: dict[str, Any]) -> bool:
    flag = spec.get("required")
    return flag is True or (isinstance(flag, str) and flag.lower() in TRUE_WORDS)


def parse_converter(text: str) -> tuple[str, dict[str, str | bool]]:
    """``name:k=v|flag`` -> (``name``, ``{"k": "v", "flag": True}``), split exactly as the original."""
    name, colon, rest = text.partition(":")
    params: dict[str, str | bool] = {}
    if colon:
        for piece in rest.split("|"):
            key, eq, val = piece.partition("=")
            params[key] = val if eq else True
    return name, params


def merge_server_mappings(mappings: dict[str, dict], server: dict[str, Any]) -> None:
    """Apply Oomnitza's ``{source: field or [fields]}``: set or replace each target's ``source``."""
    for source, targets in server.items():
        for target in targets if isinstance(targets, list) else [targets]:
            if isinstance(target, str) and target:
                mappings.setdefault(target, {})["source"] = source


def merge_specs(base: dict[str, dict], override: dict[str, dict]) -> None:
    """INI specs merge key by key onto what is there; keys are never removed."""
    for name, spec in override.items():
        base.setdefault(name, {}).update(copy.deepcopy(spec))


def shadowed_keys(default: dict[str, Any], ini: dict[str, Any]) -> list[str]:
    """INI keys that the merge will ignore because a default ``source`` (or setting) outranks them."""
    merged = {**default, **ini}
    out = []
    if merged.get("source"):
        out += [k for k in ("setting", "hardcoded") if k in ini]
    elif merged.get("setting"):
        out += [k for k in ("hardcoded",) if k in ini]
    return out
