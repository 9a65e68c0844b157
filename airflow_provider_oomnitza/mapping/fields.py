"""Dotted-path lookup into a raw source record, with the original connector's semantics."""
from __future__ import annotations

from typing import Any


def get_field_value(data: Any, field: str, default: Any = None) -> Any:
    """Look up ``a.b.0.c`` in nested dicts and lists.

    As in the original: falsy data gives ``default``; an all-digit segment indexes a list
    (and also works as a string key of a dict); a missing first segment falls back to the
    whole dotted name as one key (so a CSV column named ``general.serial`` is reachable,
    the 1.9.2 behaviour); any error (index out of range, lookup on a string) gives None.
    """
    try:
        return _lookup(data, field, default)
    except Exception:  # the original logged and returned None for any failure
        return None


def _lookup(data: Any, field: str, default: Any) -> Any:
    while True:
        if not data:
            return default
        head, dot, rest = field.partition(".")
        if not dot:
            return data.get(field, default)
        if isinstance(data, list) and head.isdigit():
            data, field = data[int(head)], rest
        elif head in data:
            data, field = data[head], rest
        else:
            return data.get(field, default)


def split_path(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))
