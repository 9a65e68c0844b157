"""Value types of INI settings, with strict parsing and messages that say what was expected.

Settings are pydantic models (pydantic already ships with Airflow); these annotated
types turn the raw INI strings into typed values.
"""
from __future__ import annotations

import ast
import json
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, SecretStr

TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})
BOOL_EXPECTED = "expected true/false, yes/no, on/off or 1/0 (any case)"
BRIEF_LIMIT = 80


def clip(name: str, limit: int = BRIEF_LIMIT) -> str:
    """A section or key name as messages show it: cut to ``limit`` characters."""
    return name if len(name) <= limit else f"{name[:limit]}..."


def brief(value: Any, limit: int = BRIEF_LIMIT) -> str:
    """``repr(value)`` cut to about ``limit`` characters, so a huge bad value still gives a readable message."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]!r}... ({len(value)} characters)"
    try:
        text = repr(value)
    except Exception:  # e.g. RecursionError for a deeply nested list
        return f"a deeply nested {type(value).__name__}"
    return text if len(text) <= limit + 2 else f"{text[:limit]}... ({len(text)} characters)"


def parse_bool(value: Any) -> bool:
    """Strict boolean: the original silently read ``TRUE`` as false; here it is true and junk is an error."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{BOOL_EXPECTED}, got {brief(value)}")


INT_MAX = 2**31 - 1  # what Airflow's database and the APIs behind these settings hold


def parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError(f"expected a whole number, got {value!r}")
    if isinstance(value, int):
        number = value
    else:
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError(f"expected a whole number, got {brief(value)}") from None
    if abs(number) > INT_MAX:
        raise ValueError(f"expected a whole number from {-INT_MAX} to {INT_MAX}, got {brief(value)}")
    return number


def parse_literal(value: Any) -> Any:
    """JSON, or a Python literal (the spec's own examples use single quotes)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder's stack
        pass
    try:
        return ast.literal_eval(value.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError(f"expected JSON (or a Python literal), got {brief(value)}") from None


def parse_json_list(value: Any) -> list:
    try:
        parsed = parse_literal(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, list):
        raise ValueError(f'expected a JSON list such as ["a", "b"], got {brief(value)}')
    return parsed


def parse_json_object(value: Any) -> dict:
    try:
        parsed = parse_literal(value)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise ValueError(f'expected a JSON object such as {{"key": "value"}}, got {brief(value)}')
    return parsed


def split_commas(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def split_words(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return str(value).split()


Bool = Annotated[bool, BeforeValidator(parse_bool)]
Int = Annotated[int, BeforeValidator(parse_int)]
JsonList = Annotated[list, BeforeValidator(parse_json_list)]
JsonObject = Annotated[dict, BeforeValidator(parse_json_object)]
FieldList = Annotated[list[str], BeforeValidator(split_commas)]
WordList = Annotated[list[str], BeforeValidator(split_words)]
Secret = SecretStr

REQUIRED = ...


def setting(default: Any = REQUIRED, *, example: Any = None, doc: str = "", validate_default: bool = False) -> Any:
    """Declare a setting: its default (``REQUIRED`` if none), the example ``generate-ini`` writes, a line of doc."""
    extra = {} if example is None else {"example": example}
    return Field(default, description=doc, json_schema_extra=extra, validate_default=validate_default or None)
