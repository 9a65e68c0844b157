"""A short fingerprint of what one section's sync reads from config.ini.

The DAG processor stores it on the section's DAG as the tag ``ini:<fingerprint>``; every task
computes it again from the INI where it runs and fails if the two differ, so a worker with
another copy of the file never syncs with other settings than the DAG shows
(docs/deployment.md, "config.ini on every machine").

Only what changes a sync counts: [oomnitza]'s settings, the section's type, settings, mappings
and recordfilter, and the [converters] bodies it may call. Secrets count only as set or not
(their values must not reach a tag), and neither comments, key order nor the file's path count.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from airflow_provider_oomnitza.config.loader import Config, SectionConfig
from airflow_provider_oomnitza.mapping.spec import parse_converter

TAG_PREFIX = "ini:"
LENGTH = 12


def section_fingerprint(config: Config, section: SectionConfig) -> str:
    """First 12 hex digits of the SHA-256 of the section's canonical JSON (see the module doc)."""
    text = json.dumps(_canonical(config, section), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:LENGTH]


def fingerprint_tag(fingerprint: str) -> str:
    return TAG_PREFIX + fingerprint


def fingerprint_of_tags(tags: Any) -> str | None:
    """The fingerprint in a DAG's tags, or None when it carries none."""
    for tag in tags or ():
        name = getattr(tag, "name", tag)  # a tag may come as a string or as a tag object
        if isinstance(name, str) and name.startswith(TAG_PREFIX):
            return name[len(TAG_PREFIX):]
    return None


def _canonical(config: Config, section: SectionConfig) -> dict[str, Any]:
    oomnitza = config.oomnitza.settings if config.oomnitza else None
    settings = section.settings
    return {
        "oomnitza": oomnitza.values() if oomnitza is not None else None,  # secrets: "***" when set, else ""
        "type": section.type_name,
        "settings": settings.values() if settings is not None else None,
        "mappings": section.ini_mappings,
        "recordfilter": section.record_filter.source if section.record_filter else None,
        "converters": {name: config.converters[name].source for name in sorted(_converters_used(config, section))},
    }


def _converters_used(config: Config, section: SectionConfig) -> set[str]:
    """The [converters] the section's mappings name; all of them when Oomnitza's server-side mappings
    (unknown until a run starts) may name any."""
    if section.settings is None or section.source is None:
        return set()
    if getattr(section.settings, "use_server_map", False):
        return set(config.converters)
    named = {parse_converter(spec["converter"])[0].lower()
             for spec in section.effective_mappings({}).mappings.values() if spec.get("converter")}
    return named & set(config.converters)
