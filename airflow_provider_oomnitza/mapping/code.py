"""Python bodies from the INI (``recordfilter`` and ``[converters]``), compiled once at load.

The INI is trusted admin configuration, like a DAG file: these bodies run with full
Python. A body is wrapped as a function; as in the original 2.x, a one-line form
(``recordfilter = return True``) works, and continuation lines keep their indentation.
Compile errors name the INI line. The function is compiled once and bound to fresh
globals per run (``bind``), so each sync gets its own ``converter()``/``cae()`` helpers.
"""
from __future__ import annotations

import ast
import builtins
import types
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from airflow_provider_oomnitza.config.ini import IniValue
from airflow_provider_oomnitza.config.types import brief

FILTER_ARGS = ("record",)
CONVERTER_ARGS = ("field", "record", "value", "params")
_DICT_ATTRS = frozenset(dir(dict))


class DynamicException(Exception):
    """Raised by INI code on purpose, or wrapping what INI code raised (the original's name)."""


class CodeError(ValueError):
    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


@dataclass
class CompiledCode:
    name: str
    code: types.CodeType
    # Warnings found while reading the body (e.g. ``record.asset_type`` on a dict).
    warnings: list[tuple[int, str]]
    # The body as the INI holds it (for the section fingerprint, config/fingerprint.py).
    source: str = ""

    def bind(self, helpers: dict[str, Any]) -> Callable:
        """A callable of this body whose globals hold ``helpers`` (LOG, converter, cae, ...)."""
        namespace = {"__builtins__": builtins, "DynamicException": DynamicException, **helpers}
        return types.FunctionType(self.code, namespace, self.name)


def compile_body(name: str, args: tuple[str, ...], value: IniValue, filename: str) -> CompiledCode:
    """Compile an INI body as ``def name(args): body``; raises CodeError with the INI line."""
    if not name.isidentifier():
        raise CodeError(f"'{name}' is not a valid Python function name", value.line)
    raw_lines = value.value.split("\n")
    src_lines = [f"def {name}({', '.join(args)}):"]
    line_map = [value.line]
    first = raw_lines[0].strip()
    if first:
        src_lines.append("    " + first)
        line_map.append(value.lines[0])
    for text, number in zip(raw_lines[1:], value.lines[1:]):
        src_lines.append(text)
        line_map.append(number)
    if len(src_lines) == 1:
        raise CodeError("the body is empty; expected Python code that returns a value", value.line)
    source = "\n".join(src_lines) + "\n"
    try:
        with warnings.catch_warnings(record=True) as caught:  # SyntaxWarnings, reported with the INI line
            warnings.simplefilter("always")
            module = compile(source, filename, "exec")
            tree = ast.parse(source)
    except SyntaxError as exc:
        index = (exc.lineno or 1) - 1
        line = line_map[index] if 0 <= index < len(line_map) else value.line
        kind = type(exc).__name__
        raise CodeError(f"Python {kind} at line {line}: {exc.msg}", line) from None
    except (MemoryError, RecursionError):  # the parser's and compiler's own limits on nesting
        raise CodeError("Python code too deeply nested for the compiler; split the expression up", value.line) \
            from None
    except Exception as exc:  # e.g. ValueError for a NUL byte: whatever compile() refuses is this key's error
        raise CodeError(f"Python code cannot be compiled: {type(exc).__name__}: {brief(str(exc))}", value.line) \
            from None
    code = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    found = [(_ini_line(w.lineno, line_map), f"Python {w.category.__name__}: {w.message}")
             for w in caught if issubclass(w.category, SyntaxWarning)]
    return CompiledCode(name, code, list(dict.fromkeys(found)) + _record_attribute_warnings(tree, line_map),
                        value.value)


def _ini_line(lineno: int | None, line_map: list[int]) -> int:
    index = (lineno or 1) - 1
    return line_map[index] if 0 <= index < len(line_map) else line_map[0]


def _record_attribute_warnings(tree: ast.AST, line_map: list[int]) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "record"
            and node.attr not in _DICT_ATTRS
        ):
            line = line_map[node.lineno - 1] if node.lineno - 1 < len(line_map) else line_map[0]
            out.append((line, f"record is a dict: record.{node.attr} fails; use record.get({node.attr!r})"))
    return out
