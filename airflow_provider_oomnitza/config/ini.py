"""Reads ``config.ini`` with the original connector's parsing rules, keeping line numbers.

The standard library's ConfigParser is close but not usable as is: it strips the
indentation of continuation lines (which breaks the Python bodies of ``recordfilter``
and ``[converters]``), treats indented ``#`` lines as comments, and does not say on
which line a key stands, which every error message here needs. The rules below are
those of the original (interpolation off, section names case-sensitive, option names
lower-cased, ``;`` comments only after whitespace on a value's first line, blank lines
dropped even inside a value, ``""`` meaning an empty value, ``rem`` comment lines).
Unlike the original, a line that cannot be parsed only breaks its own section.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SECTION = "DEFAULT"

_SECTION_RE = re.compile(r"\[(?P<header>[^]]+)\]")
_OPTION_RE = re.compile(r"(?P<option>[^:=\s][^:=]*)\s*(?P<sep>[:=])\s*(?P<value>.*)$")


@dataclass
class IniValue:
    """One option's raw value and where it came from."""

    value: str
    line: int
    # INI line number of each line of ``value`` (first line, then continuation lines).
    lines: list[int] = field(default_factory=list)


@dataclass
class IniSection:
    name: str
    line: int
    options: dict[str, IniValue] = field(default_factory=dict)
    # (line, message) for lines inside this section that could not be read.
    problems: list[tuple[int, str]] = field(default_factory=list)
    # (line, message) for things that are read but probably not meant (repeated keys).
    notes: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class IniFile:
    path: str
    sections: dict[str, IniSection] = field(default_factory=dict)
    defaults: IniSection | None = None
    # Problems before the first section header.
    problems: list[tuple[int, str]] = field(default_factory=list)


def _is_comment(line: str) -> bool:
    if line[0] in "#;":
        return True
    return line[0] in "rR" and line.split(None, 1)[0].lower() == "rem"


def _first_line_value(raw: str) -> str:
    pos = raw.find(";")
    if pos > 0 and raw[pos - 1].isspace():
        raw = raw[:pos]
    raw = raw.strip()
    return "" if raw == '""' else raw


def parse_ini_text(text: str, path: str = "<string>") -> IniFile:
    """Parse INI text; never raises for bad content, problems are recorded instead."""
    ini = IniFile(path=path)
    section: IniSection | None = None
    option: IniValue | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or _is_comment(line):
            continue
        if line[0].isspace() and option is not None:
            option.value += "\n" + line.rstrip("\r\n")
            option.lines.append(number)
            continue
        match = _SECTION_RE.match(line)
        if match:
            name = match.group("header")
            if name == DEFAULT_SECTION:
                ini.defaults = ini.defaults or IniSection(name, number)
                section = ini.defaults
            else:
                section = ini.sections.setdefault(name, IniSection(name, number))
            option = None
            continue
        if section is None:
            ini.problems.append((number, "a setting appears before the first [section] header"))
            continue
        match = _OPTION_RE.match(line)
        if not match:
            option = None
            what = "an indented line with no setting above it" if line[0].isspace() else "not 'key = value'"
            section.problems.append((number, f"cannot read this line ({what}): {line.strip()[:60]!r}"))
            continue
        key = match.group("option").rstrip().lower()
        if key in section.options:
            section.notes.append(
                (number, f"'{key}' is set again (first at line {section.options[key].line}); the last one wins")
            )
        option = IniValue(_first_line_value(match.group("value")), number, [number])
        section.options[key] = option
    return ini


def read_ini(path: str | Path) -> IniFile:
    """Read an INI file (UTF-8, with or without BOM)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: config file not found") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_ini_text(text, str(path))
