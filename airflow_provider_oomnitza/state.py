"""What a section remembers between runs (an incremental source's "changed since"), in the run storage.

``<storage base>/_state/<section>.json`` holds the committed value and the values runs staged:

* ``read(section)``: the value the last successful run committed (None before the first).
* ``stage(section, run_id, value)``: a run's candidate (the extract task), not yet in force.
* ``commit(section, run_id)``: the run succeeded (the report task): its staged value is now
  the one ``read`` gives. A failed run never commits, so the next run starts from the last
  good value again; a resumed run (its failed tasks cleared) commits when it succeeds.

A commit never replaces a value staged later than its own (an older run finishing late).
The file lives next to the run folders, in object storage every worker reaches, and is written
under a temporary name and renamed, so a reader never sees half a file.
"""
from __future__ import annotations

import json
import time
import uuid
from typing import Any

from airflow_provider_oomnitza.storage import _safe, storage_base_url

FOLDER = "_state"


class SourceState:
    """The per-section state files of one storage base."""

    def __init__(self, base_url: str | None = None):
        from airflow.sdk import ObjectStoragePath

        self.root = ObjectStoragePath(base_url or storage_base_url()) / FOLDER

    def path(self, section: str):
        return self.root / f"{_safe(section)}.json"

    def _load(self, section: str) -> dict[str, Any]:
        path = self.path(section)
        if not path.exists():
            return {"section": section, "pending": {}}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"{path}: not the JSON this provider writes ({exc}); remove the file to start over "
                             "(the next run then reads the whole source)") from None
        data.setdefault("pending", {})
        return data

    def _save(self, section: str, data: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        temp = self.root / f".{_safe(section)}.{uuid.uuid4().hex}.tmp"
        temp.write_text(json.dumps(data, indent=2, default=str, ensure_ascii=False), encoding="utf-8")
        temp.rename(self.path(section))

    def read(self, section: str) -> Any:
        """The committed value, or None."""
        return self._load(section).get("value")

    def stage(self, section: str, run_id: str, value: Any) -> None:
        data = self._load(section)
        data["pending"][run_id] = {"value": value, "staged_at": time.time()}
        self._save(section, data)

    def commit(self, section: str, run_id: str) -> bool:
        """Put the run's staged value in force; False when it had none or a later one is in force."""
        data = self._load(section)
        staged = data["pending"].pop(run_id, None)
        if staged is None:
            return False
        superseded = staged["staged_at"] < data.get("staged_at", float("-inf"))
        if not superseded:
            data.update(value=staged["value"], staged_at=staged["staged_at"], committed_by=run_id,
                        committed_at=time.time())
        # Values staged before the one in force can never be committed.
        data["pending"] = {r: p for r, p in data["pending"].items() if p["staged_at"] > data["staged_at"]}
        self._save(section, data)
        return not superseded
