"""Reads ``config.ini`` with the original connector's parsing rules, keeping line numbers.

The standard library's ConfigParser is close but not usable as is: it strips the
indentation of continuation lines (which breaks the Python bodies of ``recordfilter``
and ``[converters]``), treats indented ``#`` lines as comments, and does not say on
which line a key stands, which every error message here needs. The rules below are
those of the original (interpolation off, section names case-sensitive, option names
lower-cased, ``;`` comments only after whitespace on a value's first line, blank lines
dropped even inside a value, ``""`` meaning an empty value, ``rem`` comment lines).
Unlike the original, a line that cannot be parsed, or that is not UTF-8, only breaks its own section.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

DEFAULT_SECTION = "DEFAULT"

_SECTION_RE = re.compile(r"\[(?P<header>[^]]+)\]")
_SEPARATOR = re.compile(r"[:=]")
# Line ends as Python's text files and editors see them (str.splitlines also splits on \f, \v, U+2028...).
_LINE_END = re.compile(r"\r\n|\r|\n")
_LINE_END_BYTES = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


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
    # Problems (errors) and notes (warnings) before the first section header.
    problems: list[tuple[int, str]] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)


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
    return _parse_lines(((line, None) for line in _LINE_END.split(text)), path)


def parse_ini_bytes(data: bytes, path: str = "<string>") -> IniFile:
    """Parse an INI file's bytes (UTF-8, with or without BOM); never raises for bad content.

    A line that is not UTF-8 is read with U+FFFD in place of the bad bytes and is an error
    of the section it is in (a warning if it is a comment), so it costs only that section.
    """
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    return _parse_lines((_decode_line(raw) for raw in _LINE_END_BYTES.split(data)), path)


def _decode_line(raw: bytes) -> tuple[str, str | None]:
    """(text, None), or (text with U+FFFD, where the first bad byte is) for a line that is not UTF-8."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        column = len(raw[:exc.start].decode("utf-8", "replace")) + 1
        return raw.decode("utf-8", "replace"), f"byte 0x{raw[exc.start]:02x} at column {column}"


def _split_option(line: str) -> tuple[str, str] | None:
    """``key = value`` or ``key: value`` -> (key, raw value); the first ``=`` or ``:`` ends the key.

    Plain string search, not a regex: a backtracking pattern was quadratic on long lines.
    """
    if line[0] in ":=" or line[0].isspace():
        return None
    match = _SEPARATOR.search(line)
    if match is None:
        return None
    return line[:match.start()].rstrip(), line[match.end():]


def _parse_lines(lines: Iterable[tuple[str, str | None]], path: str) -> IniFile:
    ini = IniFile(path=path)
    section: IniSection | None = None
    option: IniValue | None = None
    for number, (line, bad_bytes) in enumerate(lines, start=1):
        if not line.strip():
            continue
        if _is_comment(line):
            if bad_bytes:
                notes = section.notes if section is not None else ini.notes
                notes.append((number, f"this comment line is not UTF-8 text ({bad_bytes}); save the file as UTF-8"))
            continue
        problem = None
        if line[0].isspace() and option is not None:
            option.value += "\n" + line
            option.lines.append(number)
        elif match := _SECTION_RE.match(line):
            name = match.group("header")
            if name == DEFAULT_SECTION:
                ini.defaults = ini.defaults or IniSection(name, number)
                section = ini.defaults
            else:
                section = ini.sections.setdefault(name, IniSection(name, number))
            option = None
        elif section is None:
            problem = "a setting appears before the first [section] header"
        elif (parts := _split_option(line)) is None:
            option = None
            what = "an indented line with no setting above it" if line[0].isspace() else "not 'key = value'"
            problem = f"cannot read this line ({what}): {line.strip()[:60]!r}"
        else:
            key = parts[0].lower()
            if key in section.options:
                section.notes.append(
                    (number, f"'{key}' is set again (first at line {section.options[key].line}); the last one wins")
                )
            option = IniValue(_first_line_value(parts[1]), number, [number])
            section.options[key] = option
        if bad_bytes:
            problem = f"this line is not UTF-8 text ({bad_bytes}); save the file as UTF-8"
        if problem:
            (section.problems if section is not None else ini.problems).append((number, problem))
    return ini


def read_ini(path: str | Path) -> IniFile:
    """Read an INI file (UTF-8, with or without BOM). Raises only if the file cannot be read at all."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the config file: {exc.strerror or exc}") from None
    return parse_ini_bytes(data, str(path))
