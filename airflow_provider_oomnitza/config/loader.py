"""Loads and validates ``config.ini``: one result per section, never all-or-nothing.

Every problem is an ``Issue`` naming the file, line, section and key and saying what
was expected. A section with errors gets no DAG; the other sections are unaffected.
"""
from __future__ import annotations

import difflib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import ValidationError

from airflow_provider_oomnitza.config.ini import IniFile, IniSection, IniValue, parse_ini_bytes, read_ini
from airflow_provider_oomnitza.config.settings import CommonSettings, OomnitzaSettings, SettingsModel
from airflow_provider_oomnitza.config.types import brief, clip, parse_bool
from airflow_provider_oomnitza.credentials import FROM_SECRET_STORE, KEYRING_GONE, default_conn_id
from airflow_provider_oomnitza.mapping.build import EffectiveMappings, build_mappings
from airflow_provider_oomnitza.mapping.code import (
    CONVERTER_ARGS, FILTER_ARGS, CodeError, CompiledCode, compile_body,
)
from airflow_provider_oomnitza.mapping.spec import (
    MappingError, did_you_mean, field_name_of, parse_converter, parse_spec, shadowed_keys,
)
from airflow_provider_oomnitza.sources import SOURCE_TYPES, type_of_section
from airflow_provider_oomnitza.sources.base import SourceType

log = logging.getLogger(__name__)
# Messages quote what the file holds; a huge value or name is cut so the message stays readable.
MESSAGE_LIMIT = 600

OOMNITZA = "oomnitza"
CONVERTERS = "converters"
# Settings names a mapping may reference besides the section's own.
INTERNAL_SETTINGS = frozenset({"VERSION"})
PYTHON_NOT_ALLOWED = ("Python code is not allowed in this file ([oomnitza] allow_python = false); remove it, or "
                      "set allow_python = true if whoever edits this file may run code as the Airflow worker")


@dataclass
class Issue:
    severity: Literal["error", "warning"]
    path: str
    section: str | None
    key: str | None
    line: int | None
    message: str
    # An error that stops a run but not the reading of the section (vault_keys):
    # show-mappings and preview still work on such a section.
    runtime: bool = False

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        if self.section is not None:
            where += f": [{clip(self.section)}]"
        if self.key:
            where += f" {clip(self.key)}"
        return f"{where}: {clip(self.message, MESSAGE_LIMIT)}"


@dataclass
class SectionConfig:
    """One validated section. ``settings`` is None when the settings themselves are invalid."""

    name: str
    type_name: str
    source: SourceType | None
    enabled: bool
    line: int
    settings: SettingsModel | None = None
    ini_mappings: dict[str, dict[str, Any]] = field(default_factory=dict)
    record_filter: CompiledCode | None = None
    issues: list[Issue] = field(default_factory=list)
    mapping_lines: dict[str, int] = field(default_factory=dict)
    key_lines: dict[str, int] = field(default_factory=dict)
    # Each setting's value as written in the INI (non-empty ones), for {"setting": ...} mappings.
    written: dict[str, str] = field(default_factory=dict)

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def mapping_name(self) -> str:
        assert self.source and self.settings is not None
        return self.source.mapping_name_of(self.settings)  # type: ignore[arg-type]

    def mapping_settings(self, values: dict[str, Any]) -> dict[str, Any]:
        """What ``{"setting": ...}`` sends: the settings ``values`` (resolved, typed), except that list and
        boolean settings are sent as the user wrote them (``"SERIAL_NUMBER"``, not ``["SERIAL_NUMBER"]``),
        as the original did; an unwritten list is its items joined with ", ". Numbers stay numbers."""
        out = dict(values)
        for key, value in values.items():
            if isinstance(value, (list, bool)):
                if key in self.written:
                    out[key] = self.written[key]
                elif isinstance(value, list):
                    out[key] = ", ".join(map(str, value))
        return out

    def effective_mappings(self, server_mappings: dict[str, Any] | None = None) -> EffectiveMappings:
        """Mappings as a run would use them; ``server_mappings=None`` means offline."""
        assert self.source and isinstance(self.settings, CommonSettings)
        return build_mappings(self.source, self.settings, self.ini_mappings, server_mappings)


@dataclass
class Config:
    path: str
    oomnitza: SectionConfig | None
    sections: dict[str, SectionConfig]
    converters: dict[str, CompiledCode]
    issues: list[Issue] = field(default_factory=list)

    def enabled_sections(self) -> list[SectionConfig]:
        return [s for s in self.sections.values() if s.enabled]

    def warnings_for(self, section: SectionConfig) -> list[Issue]:
        """Warnings that concern a section's runs: its own, [oomnitza]'s and the file's ([converters])."""
        out = [i for i in self.issues if i.severity == "warning"]
        if self.oomnitza:
            out += self.oomnitza.warnings
        return out + section.warnings

    def all_issues(self) -> list[Issue]:
        out = list(self.issues)
        if self.oomnitza:
            out += self.oomnitza.issues
        for section in self.sections.values():
            out += section.issues
        return out

    @property
    def ok(self) -> bool:
        return not any(i.severity == "error" for i in self.all_issues())


def load_config(path: str | Path, environ: dict[str, str] | None = None) -> Config:
    """Read and validate a config file. Raises only if the file cannot be read at all."""
    return _Loader(read_ini(path), os.environ if environ is None else environ).load()


def load_config_text(text: str, path: str | Path, environ: dict[str, str] | None = None) -> Config:
    """Validate a file's would-be text exactly as :func:`load_config` validates the file (the UI's
    editor checks an edit before saving it); issues name ``path``."""
    return _Loader(parse_ini_bytes(text.encode("utf-8"), str(path)), os.environ if environ is None else environ).load()


class _Loader:
    def __init__(self, ini: IniFile, environ: Any):
        self.ini = ini
        self.environ = environ
        self.file_issues: list[Issue] = []
        self.converters: dict[str, CompiledCode] = {}
        self.broken_converters: set[str] = set()
        self.allow_python = True

    def issue(self, severity, section, key, line, message, runtime: bool = False) -> Issue:
        return Issue(severity, self.ini.path, section, key, line, message, runtime)

    def load(self) -> Config:
        for line, message in self.ini.problems:
            self.file_issues.append(self.issue("error", None, None, line, message))
        for line, message in self.ini.notes:
            self.file_issues.append(self.issue("warning", None, None, line, message))
        oomnitza = None
        if OOMNITZA in self.ini.sections:
            oomnitza = self._contained(self.ini.sections[OOMNITZA], self._load_oomnitza)
            self.allow_python = _allow_python(oomnitza, self._options(self.ini.sections[OOMNITZA]))
        else:
            self.file_issues.append(
                self.issue("error", OOMNITZA, None, None, "missing [oomnitza] section (where to send records)")
            )
        self._load_converters()
        sections = {
            name: self._contained(section, self._load_section)
            for name, section in self.ini.sections.items()
            if name not in (OOMNITZA, CONVERTERS)
        }
        return Config(self.ini.path, oomnitza, sections, self.converters, self.file_issues)

    def _contained(self, section: IniSection, load: Callable[[IniSection], SectionConfig]) -> SectionConfig:
        """``load(section)``; whatever it raises is that section's error, never the whole file's."""
        try:
            return load(section)
        except Exception as exc:  # a bug of ours or a limit of Python's: still only this section's problem
            log.warning("Reading [%s] of %s failed", section.name, self.ini.path, exc_info=True)
            type_name = OOMNITZA if section.name == OOMNITZA else type_of_section(section.name)
            sec = SectionConfig(section.name, type_name, SOURCE_TYPES.get(type_name), True, section.line)
            enable = self._options(section).get("enable")
            if section.name != OOMNITZA and enable is not None:
                try:
                    sec.enabled = parse_bool(enable.value)
                except ValueError:
                    pass  # shown as enabled, so that the error is reported
            sec.issues.append(self.issue("error", section.name, None, section.line,
                                         f"this section cannot be read ({type(exc).__name__}: {brief(str(exc))})"))
            return sec

    # -- [converters] -------------------------------------------------------------------------
    def _load_converters(self) -> None:
        section = self.ini.sections.get(CONVERTERS)
        if section is None:
            return
        for line, message in section.problems:
            self.file_issues.append(self.issue("error", CONVERTERS, None, line, message))
        for name, value in section.options.items():
            if not self.allow_python:
                self.broken_converters.add(name)
                self.file_issues.append(self.issue("error", CONVERTERS, name, value.line, PYTHON_NOT_ALLOWED))
                continue
            try:
                compiled = compile_body(name, CONVERTER_ARGS, value, self._code_filename(CONVERTERS, name))
            except Exception as exc:  # CodeError, or anything else: still only this converter's error
                self.broken_converters.add(name)
                line = exc.line if isinstance(exc, CodeError) else value.line
                message = str(exc) if isinstance(exc, CodeError) else f"cannot be read ({type(exc).__name__})"
                self.file_issues.append(self.issue("error", CONVERTERS, name, line, message))
                continue
            self.converters[name] = compiled
            for line, message in compiled.warnings:
                self.file_issues.append(self.issue("warning", CONVERTERS, name, line, message))

    def _code_filename(self, section: str, key: str) -> str:
        return f"{self.ini.path}[{section}].{key}"

    # -- settings -----------------------------------------------------------------------------
    def _options(self, section: IniSection) -> dict[str, IniValue]:
        options = dict(self.ini.defaults.options) if self.ini.defaults else {}
        options.update(section.options)
        return options

    def _validate_settings(self, sec: SectionConfig, model: type[SettingsModel], raw: dict[str, IniValue]):
        fields = model.model_fields
        for key, value in raw.items():
            if key not in fields:
                hint = difflib.get_close_matches(key, list(fields), n=1)
                suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
                sec.issues.append(self.issue(
                    "warning", sec.name, key, value.line, f"unknown setting for {sec.type_name}, ignored{suggestion}"
                ))
        values: dict[str, Any] = {k: v.value for k, v in raw.items() if k in fields and v.value != ""}
        sec.written = dict(values)
        vault_keys = values.get("vault_keys", "").split() if isinstance(values.get("vault_keys"), str) else []
        if vault_keys and (values.get("vault_backend") or fields["vault_backend"].default) == "keyring":
            key = "vault_backend" if "vault_backend" in raw else "vault_keys"
            message = KEYRING_GONE.format(conn_id=default_conn_id(sec.name),
                                          vault_conn_id=values.get("vault_conn_id") or "vault_default")
            sec.issues.append(self.issue("error", sec.name, key, raw[key].line, message, runtime=True))
        for key in vault_keys:
            if key not in fields:
                sec.issues.append(self.issue("error", sec.name, "vault_keys", raw["vault_keys"].line,
                                             f"'{key}' is not a setting of {sec.type_name}"))
            elif key not in values:
                values[key] = FROM_SECRET_STORE
        env_var = values.get("env_password")
        if env_var and env_var not in self.environ:
            sec.issues.append(self.issue(
                "warning", sec.name, "env_password", raw["env_password"].line,
                f"environment variable {env_var} is not set here; runs fail unless it is set where tasks run",
            ))
        if env_var and "password" in fields and "password" not in values:
            values["password"] = FROM_SECRET_STORE
        if values.get("conn_id"):  # the connection holds the secrets (the hook checks it has them)
            for key in model.secret_keys():
                if key not in values and fields[key].is_required():
                    values[key] = FROM_SECRET_STORE
        try:
            settings = model.model_validate(values)
        except ValidationError as exc:
            for err in exc.errors(include_input=False, include_url=False):
                key = str(err["loc"][0]) if err["loc"] else None
                line = raw[key].line if key in raw else sec.line
                sec.issues.append(self.issue("error", sec.name, key, line, _pydantic_message(err, fields, key)))
            return None
        for severity, pairs in (("error", settings.problems()), ("warning", settings.notes())):
            for key, message in pairs:
                line = raw[key].line if key in raw else sec.line
                sec.issues.append(self.issue(severity, sec.name, key, line, message))
        return settings

    def _load_oomnitza(self, section: IniSection) -> SectionConfig:
        sec = SectionConfig(OOMNITZA, OOMNITZA, None, True, section.line)
        self._ini_problems(sec, section)
        raw = {k: v for k, v in self._options(section).items() if k != "enable"}
        sec.key_lines = {k: v.line for k, v in raw.items()}
        sec.settings = self._validate_settings(sec, OomnitzaSettings, raw)
        return sec

    def _ini_problems(self, sec: SectionConfig, section: IniSection) -> None:
        for line, message in section.problems:
            sec.issues.append(self.issue("error", sec.name, None, line, message))
        for line, message in section.notes:
            sec.issues.append(self.issue("warning", sec.name, None, line, message))

    # -- connector sections -------------------------------------------------------------------
    def _load_section(self, section: IniSection) -> SectionConfig:
        type_name = type_of_section(section.name)
        source = SOURCE_TYPES.get(type_name)
        options = self._options(section)
        sec = SectionConfig(section.name, type_name, source, False, section.line)
        self._ini_problems(sec, section)
        sec.key_lines = {k: v.line for k, v in options.items()}
        sec.enabled = self._enabled(sec, options.get("enable"))
        if source is None:
            hint = difflib.get_close_matches(type_name, list(SOURCE_TYPES), n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            sec.issues.append(self.issue(
                "error", sec.name, None, section.line,
                f"unknown source type '{type_name}'{suggestion}; expected one of {', '.join(SOURCE_TYPES)}",
            ))
            return sec
        settings_raw: dict[str, IniValue] = {}
        for key, value in options.items():
            if key == "enable":
                continue
            if key == "recordfilter":
                self._compile_filter(sec, value)
            elif key.startswith("mapping."):
                self._read_mapping(sec, key, value)
            else:
                settings_raw[key] = value
        sec.settings = self._validate_settings(sec, source.settings, settings_raw)
        if sec.settings is not None:
            self._check_mappings(sec)
        return sec

    def _enabled(self, sec: SectionConfig, value: IniValue | None) -> bool:
        if value is None:
            return False
        if value.value == "":
            sec.issues.append(self.issue("warning", sec.name, "enable", value.line, "is empty; the section is off"))
            return False
        try:
            return parse_bool(value.value)
        except ValueError as exc:
            sec.issues.append(self.issue("error", sec.name, "enable", value.line, str(exc)))
            return False

    def _compile_filter(self, sec: SectionConfig, value: IniValue) -> None:
        if not self.allow_python:
            sec.issues.append(self.issue("error", sec.name, "recordfilter", value.line, PYTHON_NOT_ALLOWED))
            return
        try:
            sec.record_filter = compile_body(
                "the_filter", FILTER_ARGS, value, self._code_filename(sec.name, "recordfilter")
            )
        except CodeError as exc:
            sec.issues.append(self.issue("error", sec.name, "recordfilter", exc.line, str(exc)))
            return
        for line, message in sec.record_filter.warnings:
            sec.issues.append(self.issue("warning", sec.name, "recordfilter", line, message))

    def _read_mapping(self, sec: SectionConfig, key: str, value: IniValue) -> None:
        shown = "mapping." + key.split(".", 1)[1].upper()  # option names are lower-cased when read
        ignored: list[str] = []
        try:
            name = field_name_of(key)
            spec = parse_spec(value.value, ignored)
        except MappingError as exc:
            sec.issues.append(self.issue("error", sec.name, shown, value.line, str(exc)))
            return
        shown = f"mapping.{name}"
        for message in ignored:
            sec.issues.append(self.issue("warning", sec.name, shown, value.line, message))
        if name in sec.ini_mappings:
            sec.issues.append(self.issue(
                "warning", sec.name, key, value.line,
                f"maps {name} again (also at line {sec.mapping_lines[name]}); the specs are merged, later keys win",
            ))
            sec.ini_mappings[name].update(spec)
        else:
            sec.ini_mappings[name] = spec
        sec.mapping_lines[name] = value.line

    def _check_mappings(self, sec: SectionConfig) -> None:
        assert sec.source is not None and sec.settings is not None
        setting_names = set(type(sec.settings).model_fields) | INTERNAL_SETTINGS
        for name, spec in sec.ini_mappings.items():
            key, line = f"mapping.{name}", sec.mapping_lines[name]
            default = sec.source.default_mappings_of(sec.settings).get(name, {})
            if not any(spec.get(k) or (k == "hardcoded" and spec.get(k) is not None)
                       for k in ("source", "setting", "hardcoded", "converter")) and not default:
                sec.issues.append(self.issue(
                    "error", sec.name, key, line, "needs a non-empty source, setting, hardcoded or converter"
                ))
            if spec.get("setting") and spec["setting"] not in setting_names:
                sec.issues.append(self.issue(
                    "warning", sec.name, key, line,
                    f"'{spec['setting']}' is not a setting of {sec.type_name}, so the field is sent empty, as the "
                    f"original did{did_you_mean(spec['setting'], setting_names)}",
                ))
            for shadowed in shadowed_keys(default, spec):
                sec.issues.append(self.issue(
                    "warning", sec.name, key, line,
                    f"'{shadowed}' is ignored: the default mapping's source/setting takes precedence; "
                    f"blank it, e.g. {{\"source\": \"\", \"{shadowed}\": ...}}",
                ))
        effective = sec.effective_mappings()
        for message in effective.errors:
            sec.issues.append(self.issue("error", sec.name, "sync_field", sec.line_of("sync_field"), message))
        for message in effective.warnings:
            sec.issues.append(self.issue("warning", sec.name, "sync_field", sec.line_of("sync_field"), message))
        for name, spec in effective.mappings.items():
            if spec.get("converter"):
                problem = self.converter_problem(spec["converter"])
                if problem:
                    line = sec.mapping_lines.get(name, sec.line)
                    sec.issues.append(self.issue("error", sec.name, f"mapping.{name}", line, problem))

    def converter_problem(self, text: str) -> str | None:
        from airflow_provider_oomnitza.mapping.converters import BUILTIN_CONVERTERS

        name, _ = parse_converter(text)
        if name.lower() in self.broken_converters:
            return f"converter '{name}' in [converters] does not compile (see its error)"
        if name.lower() in self.converters or name in BUILTIN_CONVERTERS:
            return None
        known = sorted(BUILTIN_CONVERTERS) + sorted(self.converters)
        hint = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
        return f"unknown converter '{name}'{suggestion} (built-in: {', '.join(sorted(BUILTIN_CONVERTERS))})"


def _allow_python(oomnitza: SectionConfig, options: dict[str, IniValue]) -> bool:
    """[oomnitza] allow_python; when [oomnitza] itself is invalid, an unreadable value means no (the safe side)."""
    if isinstance(oomnitza.settings, OomnitzaSettings):
        return oomnitza.settings.allow_python
    raw = options.get("allow_python")
    if raw is None or raw.value == "":
        return True
    try:
        return parse_bool(raw.value)
    except ValueError:
        return False


def _pydantic_message(err: dict, fields: dict, key: str | None) -> str:
    if err["type"] == "missing":
        example = (fields[key].json_schema_extra or {}).get("example") if key in fields else None
        return "missing required setting" + (f" (e.g. {example})" if example is not None else "")
    message = err["msg"]
    for prefix in ("Value error, ",):
        message = message.removeprefix(prefix)
    if err["type"] == "literal_error":
        message = message.replace("Input should be", "expected")
    return message
