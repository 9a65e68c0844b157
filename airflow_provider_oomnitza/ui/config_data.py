"""What the config page shows: the INI in use, read and validated by the same loader as
``oomnitza-airflow validate``, as one :class:`SectionView` per section; and a bounded preview of
the first records a section would send, read from its source and mapped as a run maps them.
"""
from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_oomnitza.config.loader import CONVERTERS, OOMNITZA, Config, Issue, SectionConfig, load_config_text
from airflow_provider_oomnitza.config.paths import default_ini_path
from airflow_provider_oomnitza.dag_factory import dag_id_for
from airflow_provider_oomnitza.ui.config_file import secret_keys, section_text, split_lines, without_secrets

log = logging.getLogger(__name__)

PREVIEW_LIMIT = 10
PREVIEW_SECONDS = 20.0


def ini_path() -> Path:
    return default_ini_path()


def read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig", "replace")


@dataclass
class Setting:
    key: str
    value: str
    line: int | None
    secret: bool = False


@dataclass
class SectionView:
    name: str
    kind: str  # the source type, "oomnitza" or "converters"
    enabled: bool
    line: int
    dag_id: str | None
    issues: list[Issue]
    settings: list[Setting] = field(default_factory=list)
    mappings: dict[str, Any] | None = None
    sync_fields: list[str] = field(default_factory=list)
    mapping_problems: list[str] = field(default_factory=list)
    mapping_origin: str = ""
    code: list[tuple[str, list[tuple[int, str]]]] = field(default_factory=list)  # (key, [(line, text)])
    editable_text: str = ""  # the block without its secret lines
    secrets: list[str] = field(default_factory=list)  # secret settings the block holds (kept on save)
    conn_id: str = ""

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]


def load(text: str, path: Path) -> Config:
    return load_config_text(text, path)


def views(config: Config, text: str, server: dict[str, dict[str, Any] | None] | None = None) -> list[SectionView]:
    """One view per section of the file, in file order: [oomnitza], the sources, [converters].
    ``server``: Oomnitza's mappings by section (None for a section: not reachable, offline)."""
    from airflow_provider_oomnitza.config.ini import parse_ini_text

    ini = parse_ini_text(text, config.path)
    out = []
    for name, raw in ini.sections.items():
        block = section_text(text, name) or ""
        secrets = secret_keys(name)
        editable, held = without_secrets(block, secrets)
        if name == CONVERTERS:
            issues = [i for i in config.issues if i.section in (CONVERTERS, None)]
            view = SectionView(name, CONVERTERS, True, raw.line, None, issues)
            view.code = [(key, _numbered(value)) for key, value in raw.options.items()]
        else:
            section = config.oomnitza if name == OOMNITZA else config.sections.get(name)
            if section is None:
                continue
            view = _section_view(section, raw, secrets, (server or {}).get(name))
        view.editable_text, view.secrets = editable, held
        out.append(view)
    return out


def _numbered(value) -> list[tuple[int, str]]:
    """A Python body's lines with their file line numbers (the empty rest of ``key:`` left out)."""
    lines = list(zip(value.lines, value.value.split("\n")))
    return lines[1:] if lines and not lines[0][1].strip() else lines


def _section_view(section: SectionConfig, raw, secrets: set[str], server: dict[str, Any] | None) -> SectionView:
    is_source = section.name != OOMNITZA
    view = SectionView(section.name, section.type_name, section.enabled, section.line,
                       dag_id_for(section.name) if is_source else None, list(section.issues))
    for key, value in raw.options.items():
        if key == "recordfilter":
            view.code.append((key, _numbered(value)))
        elif not key.startswith("mapping."):
            secret = key in secrets
            view.settings.append(Setting(key, "" if secret else value.value, value.line, secret))
    if section.settings is not None:
        view.conn_id = getattr(section.settings, "conn_id", "") or ""
    if is_source and section.source is not None and section.settings is not None:
        effective = section.effective_mappings(server)
        view.mappings, view.sync_fields = effective.mappings, list(effective.sync_fields)
        view.mapping_problems = [f"error: {m}" for m in effective.errors] + [f"warning: {m}" for m in effective.warnings]
        view.mapping_origin = ("defaults, Oomnitza's server-side mappings and the INI" if server is not None
                               else "defaults and the INI (offline: without Oomnitza's server-side mappings)")
    return view


def server_mappings(config: Config, section: SectionConfig) -> dict[str, Any] | None:
    """Oomnitza's mappings for the section (one attempt: a page must not wait on retries), or None
    when Oomnitza is not reachable."""
    if section.settings is None or section.source is None or not getattr(section.settings, "use_server_map", False):
        return None
    from airflow_provider_oomnitza.hooks.oomnitza import OomnitzaHook

    try:
        return OomnitzaHook.from_config(config, max_attempts=1, max_wait=0.0, timeout=10.0).get_mappings(
            section.mapping_name)
    except Exception as exc:  # noqa: BLE001 - unreachable: show the offline mappings, say so
        log.info("Oomnitza not reachable for [%s]'s mappings: %s", section.name, type(exc).__name__)
        return None


@dataclass
class Preview:
    records: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    read: int = 0


def preview(config: Config, section: SectionConfig, limit: int = PREVIEW_LIMIT,
            seconds: float = PREVIEW_SECONDS) -> Preview:
    """The first ``limit`` records the section reads from its source, mapped as a run maps them
    (nothing is sent); reading stops after ``seconds`` (the source call is left to finish on its own)."""
    from airflow.sdk.module_loading import import_string

    from airflow_provider_oomnitza.mapping.converters import ConverterContext
    from airflow_provider_oomnitza.mapping.engine import RecordMapper, RecordSkipped
    from airflow_provider_oomnitza.mapping.needs import needs_of

    result = Preview()
    if section.source is None or section.source.hook is None or section.settings is None:
        result.notes.append(f"[{section.name}] cannot be previewed: its source has no hook or its settings are invalid")
        return result
    server = server_mappings(config, section)
    if server is None and section.settings.use_server_map:
        result.notes.append("Oomnitza's server-side mappings are left out (not reachable)")
    effective = section.effective_mappings(server)
    if effective.errors:
        result.notes += [f"mapping error: {e}" for e in effective.errors]
        return result
    needs = needs_of(effective.mappings, custom_converters=config.converters,
                     has_record_filter=section.record_filter is not None)
    hook = import_string(section.source.hook)(section.settings, section=section.name, needs=needs,
                                              max_attempts=1, timeout=seconds)
    raw: list[Any] = []
    failure: list[BaseException] = []

    def read() -> None:
        try:
            raw.extend(itertools.islice(hook.records(), limit))
        except BaseException as exc:  # noqa: BLE001 - reported on the page
            failure.append(exc)

    reader = threading.Thread(target=read, name=f"oomnitza-preview-{section.name}", daemon=True)
    reader.start()
    reader.join(seconds)
    if reader.is_alive():
        result.notes.append(f"the source did not give {limit} records within {seconds:.0f}s; showing what arrived")
    if failure:
        result.notes.append(f"the source failed: {type(failure[0]).__name__}: {failure[0]}")
    records = list(raw)
    result.read = len(records)
    mapper = RecordMapper(effective.mappings, section.mapping_settings(section.settings.values(reveal=True)),
                          sync_fields=effective.sync_fields, record_filter=section.record_filter,
                          custom_converters=config.converters,
                          context=ConverterContext(log=logging.getLogger("oomnitza.ui.preview")))
    for index, record, mapped in mapper.map_all(records):
        if isinstance(mapped, RecordSkipped):
            result.skipped.append(f"{mapper.identity(record, index)}: {mapped.kind}: {mapped.message}")
        else:
            result.records.append(mapped)
    return result


def issue_lines(issues: list[Issue], first: int, count: int) -> dict[int, list[Issue]]:
    """Issues by line, for the lines ``first .. first + count - 1`` of the file."""
    out: dict[int, list[Issue]] = {}
    for issue in issues:
        if issue.line and first <= issue.line < first + count:
            out.setdefault(issue.line, []).append(issue)
    return out


def numbered_block(text: str, first_line: int) -> list[tuple[int, str]]:
    return [(first_line + i, line.rstrip("\r\n")) for i, line in enumerate(split_lines(text))]
