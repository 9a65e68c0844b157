"""Accepted webhook events, kept in the run storage until a run has synced their devices.

``<storage base>/_webhooks/<section>/pending/<received ms>-<uuid>.json``: one small file per
event, written under a temporary name and renamed, so a run never reads half a file. A run
takes every file present when it starts (a snapshot), and only a successful run removes the
files it took; events that arrive meanwhile wait for the next run. Nothing is lost when the
scheduler is busy or a run fails: the files stay until a run succeeds.
"""
from __future__ import annotations

import json
import time
import uuid
from typing import Any, Iterable

from airflow_provider_oomnitza.storage import _safe, storage_base_url

FOLDER = "_webhooks"
TEMP_PREFIX = "."


class PendingEvents:
    """The pending events of one section."""

    def __init__(self, section: str, base_url: str | None = None):
        from airflow.sdk import ObjectStoragePath

        self.section = section
        self.root = ObjectStoragePath(base_url or storage_base_url()) / FOLDER / _safe(section) / "pending"

    def add(self, event: dict[str, Any]) -> str:
        """Store one event durably; its file name."""
        name = f"{int(time.time() * 1000):013d}-{uuid.uuid4().hex}.json"
        self.root.mkdir(parents=True, exist_ok=True)
        temp = self.root / f"{TEMP_PREFIX}{name}"
        temp.write_text(json.dumps({**event, "received_at": time.time()}, ensure_ascii=True), encoding="utf-8")
        temp.rename(self.root / name)
        return name

    def names(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.name.endswith(".json")
                      and not p.name.startswith(TEMP_PREFIX))

    def snapshot(self) -> list[tuple[str, dict[str, Any] | None]]:
        """Every pending event now, oldest first, as ``(file name, event or None if unreadable)``."""
        out: list[tuple[str, dict[str, Any] | None]] = []
        for name in self.names():
            try:
                out.append((name, json.loads((self.root / name).read_text(encoding="utf-8"))))
            except FileNotFoundError:  # removed by a run that finished meanwhile
                continue
            except (ValueError, OSError):
                out.append((name, None))
        return out

    def remove(self, names: Iterable[str]) -> int:
        removed = 0
        for name in names:
            try:
                (self.root / name).unlink()
                removed += 1
            except FileNotFoundError:
                pass
        return removed

    def __str__(self) -> str:
        return str(self.root)
