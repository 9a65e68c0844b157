"""Find secret values where they must never be: files, texts, database rows.

Shared by the leak-scan tests of the credentials and reliability work. A secret is looked for as
itself and in the encodings it would take on the way out (URL-quoted, base64 of its bytes, JSON-escaped),
so a leak through a header dump or a serialized XCom is found too.
"""
from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Iterable
from urllib.parse import quote, quote_plus

MIN_LENGTH = 6  # shorter values match by chance (e.g. "admin"); tests use long random secrets


def forms(secret: str) -> set[str]:
    """The secret and the forms it takes when quoted, escaped or base64-encoded."""
    out = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1],
           base64.b64encode(secret.encode()).decode().rstrip("=")}
    return {f for f in out if len(f) >= MIN_LENGTH}


def scan_text(text: str, secrets: Iterable[str], where: str) -> list[str]:
    """One finding per secret form found in ``text``: ``"<where>: contains <secret[:3]>..."``."""
    found = []
    for secret in secrets:
        for form in forms(secret):
            if form in text:
                found.append(f"{where}: contains a form of the secret {secret[:3]}... ({len(secret)} chars)")
                break
    return found


def scan_paths(paths: Iterable[Path | str], secrets: Iterable[str]) -> list[str]:
    """Scan every file under the given files or folders (bytes decoded leniently)."""
    secrets = [s for s in secrets if s and len(s) >= MIN_LENGTH]
    found: list[str] = []
    for root in paths:
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            found += scan_text(path.read_bytes().decode("utf-8", "replace"), secrets, str(path))
    return found


def assert_no_leaks(secrets: Iterable[str], *, paths: Iterable[Path | str] = (),
                    texts: dict[str, str] | None = None) -> None:
    """Fail with every place a secret was found (never printing the secret itself)."""
    secrets = [s for s in secrets if s and len(s) >= MIN_LENGTH]
    assert secrets, "a leak scan needs the secrets it looks for"
    found = scan_paths(paths, secrets)
    for where, text in (texts or {}).items():
        found += scan_text(text, secrets, where)
    assert not found, "secrets leaked:\n" + "\n".join(found)
