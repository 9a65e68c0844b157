"""Turns raw source records into Oomnitza records, with mappings compiled once per run.

Per record, as the original: the filter, then each field (value from source, setting
or hardcoded; then the converter; then ``type``; then ``required``). Unlike the
original, nothing one record does can stop the batch: a filter that raises, a value
that does not convert to its ``type`` or a missing required field skips that record
(``RecordSkipped`` says why), and a converter that raises sets the field to None (as
the original) and is counted and reported with the record's identity.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from airflow_provider_oomnitza.config.types import BRIEF_LIMIT, brief, clip, parse_bool
from airflow_provider_oomnitza.mapping.code import CompiledCode
from airflow_provider_oomnitza.mapping.converters import BUILTIN_CONVERTERS, ConverterContext
from airflow_provider_oomnitza.mapping.fields import get_field_value
from airflow_provider_oomnitza.mapping.spec import is_required, parse_converter

TYPE_FUNCS: dict[str, Callable[[Any], Any]] = {"str": str, "int": int, "float": float, "bool": parse_bool}
MAX_KEPT_PROBLEMS = 1000


class RecordSkipped(Exception):
    """A record that is not sent. ``kind`` is ``filtered``, ``missing`` or ``error``."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class MapperStats:
    mapped: int = 0
    filtered: int = 0
    missing: int = 0
    errors: int = 0
    converter_errors: int = 0
    # (record identity, message), at most MAX_KEPT_PROBLEMS of them.
    problems: list[tuple[str, str]] = field(default_factory=list)

    def note(self, identity: str, message: str) -> None:
        if len(self.problems) < MAX_KEPT_PROBLEMS:
            self.problems.append((identity, message))


@dataclass(frozen=True)
class _Field:
    name: str
    source: str | None  # dotted path (None: use ``constant``)
    plain: bool  # source has no dot: a single dict lookup
    constant: Any
    convert: Callable[[Any, Any], Any] | None  # (record, value) -> value
    converter_name: str | None
    type_name: str | None
    required: bool


class RecordMapper:
    """A section's mappings, compiled for one run."""

    def __init__(
        self,
        mappings: dict[str, dict[str, Any]],
        settings: dict[str, Any],
        *,
        sync_fields: Iterable[str] = (),
        record_filter: CompiledCode | None = None,
        custom_converters: dict[str, CompiledCode] | None = None,
        context: ConverterContext | None = None,
        log: logging.Logger | None = None,
    ):
        self.log = log or logging.getLogger(__name__)
        self.context = context or ConverterContext(log=self.log)
        self.stats = MapperStats()
        self._settings = settings
        helpers = {
            "LOG": self.log,
            "converter": self._run_named_converter,
            "cae": self._cae,
            "get_field_value": get_field_value,
        }
        self._custom = {name: code.bind(helpers) for name, code in (custom_converters or {}).items()}
        self._filter = record_filter.bind(helpers) if record_filter else None
        self._fields = [self._compile_field(name, spec) for name, spec in mappings.items()]
        self._plain = [(f.name, f.source) for f in self._fields if f.plain and not _needs_work(f)]
        self._complex = [f for f in self._fields if not (f.plain and not _needs_work(f))]
        identity_sources = [mappings.get(n, {}).get("source") for n in sync_fields]
        self._identity_sources = [s for s in identity_sources if s]

    # -- compiling -----------------------------------------------------------------------------
    def _compile_field(self, name: str, spec: dict[str, Any]) -> _Field:
        source = spec.get("source") or None
        constant = None
        if not source:
            if spec.get("setting"):
                constant = self._settings.get(spec["setting"])
            elif spec.get("hardcoded") is not None:
                constant = spec["hardcoded"]
        convert = None
        converter_name = spec.get("converter") or None
        if converter_name:
            convert = self._converter_call(converter_name, source or name)
        return _Field(
            name=name,
            source=source,
            plain=bool(source) and "." not in source,
            constant=constant,
            convert=convert,
            converter_name=converter_name,
            type_name=spec.get("type"),
            required=is_required(spec),
        )

    def _resolve(self, name: str) -> Callable[..., Any]:
        """Custom converters (by lower-cased name) shadow built-ins; built-ins match exactly."""
        custom = self._custom.get(name.lower())
        if custom is not None:
            return custom
        builtin = BUILTIN_CONVERTERS.get(name)
        if builtin is None:
            raise KeyError(f"unknown converter '{name}'")
        ctx = self.context
        return lambda f, record, value, params: builtin(f, record, value, params, ctx)

    def _converter_call(self, text: str, field_arg: str) -> Callable[[Any, Any], Any]:
        name, params = parse_converter(text)
        fn = self._resolve(name)
        return lambda record, value: fn(field_arg, record, value, params)

    # -- helpers visible to INI code --------------------------------------------------------------
    def _run_named_converter(self, record: dict, name: str, **params: Any) -> Any:
        return self._resolve(name)(None, record, None, params)

    def _cae(self, record: dict, attr: str, default: Any = None) -> Any:
        return BUILTIN_CONVERTERS["casper_extension_attribute"](
            None, record, None, {"attr": attr, "default": default}, self.context
        )

    # -- mapping -------------------------------------------------------------------------------
    def identity(self, record: Any, index: int | None = None) -> str:
        """How a record is named in reports: its index and its sync-field source values."""
        name = f"record #{index}" if index is not None else "record"
        if isinstance(record, dict):
            values = [(s, get_field_value(record, s)) for s in self._identity_sources]
            if any(v not in (None, "") for _, v in values):
                return f"{name} (" + ", ".join(f"{s}={brief(v)}" for s, v in values) + ")"
        return name

    def map(self, record: Any, index: int | None = None) -> dict[str, Any]:
        """One Oomnitza record, or ``RecordSkipped``."""
        if not isinstance(record, dict):
            self.stats.errors += 1
            raise RecordSkipped("error", f"expected a record object, got {type(record).__name__}")
        if self._filter is not None:
            try:
                keep = bool(self._filter(record))
            except Exception as exc:
                self.stats.errors += 1
                message = f"recordfilter raised {type(exc).__name__}: {_text_of(exc)}"
                self.stats.note(self.identity(record, index), message)
                raise RecordSkipped("error", message) from None
            if not keep:
                self.stats.filtered += 1
                raise RecordSkipped("filtered", "did not pass the recordfilter")
        get = record.get
        out = {name: get(source) for name, source in self._plain}
        missing = None
        for f in self._complex:
            if f.source is None:
                value = f.constant
            elif f.plain:
                value = get(f.source)
            else:
                value = get_field_value(record, f.source)
            if f.convert is not None:
                try:
                    value = f.convert(record, value)
                except Exception as exc:
                    value = None
                    self.stats.converter_errors += 1
                    self.stats.note(
                        self.identity(record, index),
                        f"{f.name}: converter '{f.converter_name}' raised {type(exc).__name__}: {_text_of(exc)}",
                    )
            if f.type_name is not None and value is not None:
                try:
                    value = TYPE_FUNCS[f.type_name](value)
                except Exception as exc:  # TypeError, ValueError, OverflowError (int of inf), RecursionError...
                    self.stats.errors += 1
                    message = f"{f.name}: cannot convert {brief(value)} to {f.type_name} ({_text_of(exc)})"
                    self.stats.note(self.identity(record, index), message)
                    raise RecordSkipped("error", message) from None
            if f.required and _is_empty(value):
                missing = (missing or []) + [f.name]
            out[f.name] = value
        if missing:
            self.stats.missing += 1
            raise RecordSkipped("missing", f"missing required fields: {', '.join(missing)}")
        self.stats.mapped += 1
        return out

    def map_all(self, records: Iterable[Any]) -> Iterator[tuple[int, Any, dict | RecordSkipped]]:
        """``(index, raw record, mapped record or RecordSkipped)`` for each record."""
        for index, record in enumerate(records):
            try:
                yield index, record, self.map(record, index)
            except RecordSkipped as skipped:
                yield index, record, skipped


def _text_of(exc: BaseException) -> str:
    """An exception's message, short, even when ``str(exc)`` is huge or itself fails."""
    try:
        return clip(str(exc), 2 * BRIEF_LIMIT)
    except Exception:
        return "(no message)"


def _is_empty(value: Any) -> bool:
    try:
        return not value
    except Exception:  # a value whose truth cannot be told is not empty
        return False


def _needs_work(f: _Field) -> bool:
    return f.convert is not None or f.type_name is not None or f.required
