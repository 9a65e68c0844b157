"""Editing one section of config.ini as text, leaving the rest of the file as it was.

A section's *block* is its header line and every line up to the next header, less the comment
lines right above that header (they belong to the next section) and the blank lines before them. Replacing a block keeps
the other sections, their comments and their order byte for byte. Secret settings (typed
``Secret`` in the section's settings model) never leave the server and are never taken from a
form: :func:`without_secrets` shows a placeholder instead of their values, :func:`with_secrets`
puts the file's current lines back in their place before the edited block is validated and saved.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from airflow_provider_oomnitza.config.ini import DEFAULT_SECTION

_HEADER = re.compile(r"\[(?P<name>[^]]+)\]")
KEY_RE = re.compile(r"(?P<key>[^\s:=][^:=]*?)\s*[:=]")
_LINE_END = re.compile(r"(?<=\n)")


# What the editor shows instead of a secret's value; a line left so keeps the file's value.
SECRET_PLACEHOLDER = "********"


class EditError(ValueError):
    """An edit that cannot be applied (a header in the wrong place, a secret typed into the form)."""


def split_lines(text: str) -> list[str]:
    """Lines with their line ends (so joining them gives the text back)."""
    return [line for line in _LINE_END.split(text) if line]


def header_of(line: str) -> str | None:
    match = _HEADER.match(line)
    return match.group("name") if match else None


def _is_comment(line: str) -> bool:
    stripped = line.rstrip("\r\n")
    return not stripped.strip() or stripped[0] in "#;" or stripped.split(None, 1)[0].lower() == "rem"


def block_range(lines: list[str], name: str) -> tuple[int, int] | None:
    """``(start, end)`` indexes of section ``name``'s block in ``lines`` (end exclusive), or None."""
    start = next((i for i, line in enumerate(lines) if header_of(line) == name), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if header_of(lines[i]) is not None), len(lines))
    if end < len(lines):  # the comment lines right above the next header are that section's
        while end - 1 > start and lines[end - 1].strip() and _is_comment(lines[end - 1]):
            end -= 1
        while end - 1 > start and not lines[end - 1].strip():
            end -= 1
    return start, end


def section_text(text: str, name: str) -> str | None:
    lines = split_lines(text)
    found = block_range(lines, name)
    return None if found is None else "".join(lines[found[0]:found[1]])


def secret_keys(section: str) -> set[str]:
    """Settings of the section's type (or [oomnitza]) that are secrets."""
    from airflow_provider_oomnitza.config.settings import OomnitzaSettings
    from airflow_provider_oomnitza.sources import SOURCE_TYPES, type_of_section

    if section == "oomnitza":
        model = OomnitzaSettings
    else:
        source = SOURCE_TYPES.get(type_of_section(section))
        if source is None:
            return set()
        model = source.settings
    return {name for name, info in model.model_fields.items() if info.annotation is SecretStr}


def _options(lines: list[str]) -> list[tuple[str, list[str]]]:
    """(key, its lines: the key line and its continuation lines) for each option in a block."""
    out: list[tuple[str, list[str]]] = []
    for line in lines:
        if line[:1].isspace() and line.strip() and out:
            out[-1][1].append(line)
        elif not _is_comment(line) and header_of(line) is None and (match := KEY_RE.match(line)):
            out.append((match.group("key").strip().lower(), [line]))
    return out


def without_secrets(block: str, secrets: set[str]) -> tuple[str, list[str]]:
    """The block with each secret setting's value (and continuation lines) replaced by
    :data:`SECRET_PLACEHOLDER`, and the secret keys it had."""
    lines = split_lines(block)
    options = {id(option[0]): option for key, option in _options(lines) if key in secrets}
    hidden = {id(line) for option in options.values() for line in option[1:]}
    out, held = [], []
    for line in lines:
        if id(line) in options:
            match = KEY_RE.match(line)
            held.append(match.group("key").strip().lower())
            out.append(line[: match.end()] + f" {SECRET_PLACEHOLDER}\n")
        elif id(line) not in hidden:
            out.append(line)
    return "".join(out), held


def with_secrets(edited: str, current: str | None, name: str, secrets: set[str]) -> str:
    """The edited block with each placeholder line put back as the file's current secret lines.

    A secret typed into the form is refused: secrets are set in the Airflow connection (or kept
    in the file by whoever holds it), never through this page. Removing a placeholder line
    removes that setting.
    """
    lines = split_lines(edited.replace("\r\n", "\n"))
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    kept = {key: option for key, option in _options(split_lines(current or "")) if key in secrets}
    typed = sorted(key for key, option in _options(lines) if key in secrets
                   and (key not in kept or len(option) > 1 or _value(option[0]) != SECRET_PLACEHOLDER))
    if typed:
        raise EditError(f"[{name}] {', '.join(typed)}: secrets are not typed here; leave the line as "
                        f"'{typed[0]} = {SECRET_PLACEHOLDER}' to keep the file's value, or set it in the section's "
                        "Airflow connection (conn_id)")
    headers = [(i, header_of(line)) for i, line in enumerate(lines) if header_of(line) is not None]
    first = next((i for i, line in enumerate(lines) if not _is_comment(line)), None)
    if not headers or headers[0][0] != first:
        raise EditError(f"the text must start with the section header [{name}]")
    if headers[0][1] != name or len(headers) > 1:
        found = ", ".join(f"[{h}] (line {i + 1})" for i, h in headers)
        raise EditError(f"edit one section at a time: expected only [{name}], found {found}")
    out = []
    for line in lines:
        match = KEY_RE.match(line) if header_of(line) is None and not _is_comment(line) else None
        key = match.group("key").strip().lower() if match else None
        out.extend(kept[key] if key in kept else [line])
    return "".join(out)


def _value(line: str) -> str:
    return line[KEY_RE.match(line).end():].strip()


def replace_block(text: str, name: str, block: str) -> str:
    """The file text with section ``name``'s block replaced (or appended when it is new)."""
    if name == DEFAULT_SECTION:
        raise EditError("[DEFAULT] is not edited here")
    lines = split_lines(text)
    found = block_range(lines, name)
    if found is None:
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        return "".join(lines) + ("\n" if lines else "") + block
    start, end = found
    return "".join(lines[:start]) + block + "".join(lines[end:])


@dataclass
class Writable:
    ok: bool
    reason: str = ""


def writable(path: Path) -> Writable:
    """Whether the API server may save the file in place: it must be writable, in a writable folder
    (for the temporary file and the backup), and not inside a DAG bundle's checkout (a git
    bundle's next pull would undo the change)."""
    path = Path(path)
    try:
        from airflow.dag_processing.bundles.base import get_bundle_storage_root_path

        bundles = get_bundle_storage_root_path().resolve()
        if path.resolve().is_relative_to(bundles):
            return Writable(False, f"{path} is inside a DAG bundle's checkout ({bundles}); change it where the "
                                   "bundle comes from (e.g. its git repository)")
    except Exception:  # noqa: BLE001 - no Airflow config: nothing to compare with
        pass
    if not path.exists():
        return Writable(False, f"{path} does not exist")
    if not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222:  # root ignores the mode: honour it
        return Writable(False, f"{path} is read-only for the API server")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return Writable(False, f"the folder {path.parent} is read-only for the API server")
    return Writable(True)


def save_atomically(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same folder and ``os.replace``,
    after copying the current file to ``<name>.bak`` (its mode is kept). Returns the backup's path."""
    path = Path(path)
    backup = path.with_name(path.name + ".bak")
    shutil.copy2(path, backup)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return backup


def changed_keys(before: str | None, after: str) -> list[str]:
    """Keys added, removed or changed between two blocks (for the change log; values are not logged)."""
    old = {k: "".join(v) for k, v in _options(split_lines(before or ""))}
    new = {k: "".join(v) for k, v in _options(split_lines(after))}
    return sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
