"""A Chef node as the ``chef`` source's record: ``{"hardware": {...}}``, the fields the original connector sent.

Ohai reports the same facts under different attributes per platform, so each ``hardware`` key is
read from the base path, or from the node's platform's own (``mac_os_x``, ``windows``). Sizes
become whole megabytes from Ohai's unit-suffixed text (``"16384MB"`` on macOS, ``"16318480kB"``
elsewhere), whatever the platform. ``attribute_extension`` adds keys per platform.

Partial search (``partial_search_body``) asks the server for only the attributes a record reads,
instead of whole nodes (Ohai's data is large: packages, network, languages...), and
``node_from_partial`` puts them back where ``node_record`` reads them. It addresses the node's
merged attributes, where Ohai's automatic ones win, so it gives the same record, as long as
every ``attribute_extension`` path is one it can ask for (``partial_search_problem``).
"""
from __future__ import annotations

import re
from typing import Any, Mapping

from airflow_provider_oomnitza.mapping.fields import get_field_value
from airflow_provider_oomnitza.sources.chef import DEFAULT_PLATFORM

# hardware key -> path under ``automatic``; the platforms' own paths replace the base ones.
BASE_PATHS: dict[str, tuple[str, ...]] = {
    "ip_address": ("ipaddress",),
    "mac_address": ("macaddress",),
    "hostname": ("hostname",),
    "fqdn": ("fqdn",),
    "domain": ("domain",),
    "platform": ("platform",),
    "platform_version": ("platform_version",),
    "serial_number": ("dmi", "system", "serial_number"),  # Linux (the original had none)
    "model": ("dmi", "system", "product_name"),
    "cpu": ("cpu", "0", "model_name"),
    "cpu_count": ("cpu", "total"),
    "uptime_seconds": ("uptime_seconds",),
}
PLATFORM_PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "mac_os_x": {"serial_number": ("hardware", "serial_number"), "model": ("hardware", "machine_model"),
                 "cpu": ("cpu", "model_name"), "cpu_count": ("hardware", "number_processors")},
    "windows": {"serial_number": ("kernel", "os_info", "serial_number"), "model": ("kernel", "cs_info", "model"),
                "cpu_count": ("kernel", "cs_info", "number_of_processors")},
}
FIELDS = ("name", *BASE_PATHS, "total_memory_mb", "total_hdd_mb")
# What node_record reads under ``automatic``.
AUTOMATIC_READS = sorted({path for paths in (BASE_PATHS, *PLATFORM_PATHS.values()) for path in paths.values()}
                         | {("memory", "total"), ("filesystem",), ("kernel", "os_info", "system_drive")})
TOP_LEVEL = ("name", "chef_environment")  # node fields partial search returns as they are

_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", re.IGNORECASE)
_KB_PER = {"": 1, "k": 1, "m": 1024, "g": 1024 ** 2, "t": 1024 ** 3}


def dig(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def megabytes(value: Any) -> int | None:
    """Whole MB of an Ohai size: a number (kB) or text with a unit (``"16384MB"``, ``"16318480kB"``)."""
    if isinstance(value, bool) or value is None:
        return None
    match = _SIZE.fullmatch(str(value))
    if not match:
        return None
    return int(float(match[1]) * _KB_PER[match[2].lower()]) // 1024


def root_volume(auto: Mapping) -> Any:
    """The system volume's filesystem entry, by its mount point: ``/``, or Windows' system drive (``C:``)
    in Ohai's ``by_mountpoint`` layout or the older one keyed by drive (not whichever entry comes first)."""
    filesystem = auto.get("filesystem")
    if not isinstance(filesystem, Mapping):
        return None
    if auto.get("platform") != "windows":
        return dig(filesystem, ("by_mountpoint", "/"))
    drive = dig(auto, ("kernel", "os_info", "system_drive")) or "C:"
    return dig(filesystem, ("by_mountpoint", drive)) or filesystem.get(drive)


def node_record(node: Mapping, extension: Mapping[str, Mapping[str, str]]) -> dict:
    """``{"hardware": {...}}`` of one node; ``extension`` is ``attribute_extension``."""
    auto = node.get("automatic") or {}
    if not isinstance(auto, Mapping):
        auto = {}
    platform = auto.get("platform")
    paths = {**BASE_PATHS, **PLATFORM_PATHS.get(platform, {})}
    hardware: dict[str, Any] = {"name": node.get("name")}
    hardware.update({key: dig(auto, path) for key, path in paths.items()})
    if platform == "windows" and hardware["cpu_count"] is None:  # older Ohai without cs_info
        hardware["cpu_count"] = dig(auto, BASE_PATHS["cpu_count"])
    hardware["total_memory_mb"] = megabytes(dig(auto, ("memory", "total")))
    hardware["total_hdd_mb"] = megabytes(dig(root_volume(auto), ("kb_size",)))
    for key in (DEFAULT_PLATFORM, platform):  # the platform's own win over __default__
        for name, path in (extension.get(key) or {}).items():
            hardware[name] = get_field_value(node, path)
    return {"hardware": hardware}


def partial_search_problem(extension: Mapping[str, Mapping[str, str]]) -> str | None:
    """Why partial search cannot give what ``extension`` reads (None when it can): it reads merged attributes,
    so a path into ``normal``/``default``/``override`` (one precedence level) or with a list index needs the
    whole node."""
    for keys in extension.values():
        for path in keys.values():
            head, _, rest = path.partition(".")
            if path in TOP_LEVEL:
                continue
            if head != "automatic" or not rest or any(not p or p.isdigit() for p in rest.split(".")):
                return f"attribute_extension reads {path!r}"
    return None


def partial_search_body(extension: Mapping[str, Mapping[str, str]]) -> dict[str, list[str]]:
    """What a record reads, as a partial search body: ``name`` and ``chef_environment`` under their own names,
    the automatic attributes under short keys (``a0``, ``a1``...; they come back with every row) with their
    path in the merged node."""
    wanted = {tuple(path.split(".")[1:]) for keys in extension.values() for path in keys.values()
              if path not in TOP_LEVEL}
    body: dict[str, list[str]] = {key: [key] for key in TOP_LEVEL}
    body.update({f"a{i}": list(path) for i, path in enumerate(sorted(wanted | set(AUTOMATIC_READS)))})
    return body


def node_from_partial(data: Mapping[str, Any], body: Mapping[str, list[str]]) -> dict:
    """A node shaped as ``node_record`` reads it, from a partial search row's ``data`` for ``body``."""
    node: dict[str, Any] = {"automatic": {}}
    for key in sorted(body, key=lambda k: len(body[k])):  # a subtree before the paths inside it
        value = data.get(key)
        if value is None:
            continue
        if key in TOP_LEVEL:
            node[key] = value
            continue
        *parents, leaf = body[key]
        target: Any = node["automatic"]
        for part in parents:
            target = target.setdefault(part, {}) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target[leaf] = value
    return node
