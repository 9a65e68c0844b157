"""The run folder: where tasks hand records to each other, in object storage.

Each DAG run gets ``<base>/<dag_id>/<run_id>/``. Records travel as JSON Lines files
written and read as streams, so memory stays flat; only paths and counts go to XCom.
The base is ``OOMNITZA_STORAGE``, else Airflow's ``[oomnitza] storage_url``, else
``file://$AIRFLOW_HOME/oomnitza/runs``. Any fsspec URL Airflow knows works
(``s3://aws_default@bucket/oomnitza``); with several workers it must be a store all of
them reach.
"""
from __future__ import annotations

import json
import os
import re
import time
from typing import Any, Iterable, Iterator

from airflow_provider_oomnitza.config.paths import airflow_home


def storage_base_url() -> str:
    env = os.environ.get("OOMNITZA_STORAGE")
    if env:
        return env
    from airflow.sdk import conf

    configured = conf.get("oomnitza", "storage_url", fallback="")
    return configured or f"file://{airflow_home() / 'oomnitza' / 'runs'}"


def _safe(part: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", part)


class RunFileMissing(FileNotFoundError):
    """A file of the run folder is gone: no retry brings it back."""


class RunStorage:
    """Files of one DAG run."""

    def __init__(self, dag_id: str, run_id: str, base_url: str | None = None):
        from airflow.sdk import ObjectStoragePath

        self.dag_root = ObjectStoragePath(base_url or storage_base_url()) / _safe(dag_id)
        self.root = self.dag_root / _safe(run_id)

    def other_runs(self) -> list["RunStorage"]:
        """The other run folders of the same DAG, whether or not Airflow still knows their runs."""
        if not self.dag_root.exists():
            return []
        out = []
        for child in sorted(self.dag_root.iterdir(), key=lambda p: p.name):
            if child.name != self.root.name and child.is_dir():
                other = RunStorage.__new__(RunStorage)
                other.dag_root, other.root = self.dag_root, child
                out.append(other)
        return out

    def age_days(self, now: float | None = None) -> float | None:
        """Days since the run started (``run.json``), else since its newest file changed; None if unknown."""
        now = time.time() if now is None else now
        started = None
        if self.exists(RUN_INFO):
            try:
                started = float(self.read_json(RUN_INFO).get("started_at"))
            except (TypeError, ValueError):
                started = None
        if started is None:
            times = [p.stat().st_mtime for p in self.root.rglob("*") if p.is_file()]
            started = max((t for t in times if t), default=None)
        return None if started is None else (now - started) / 86400

    def remove(self) -> None:
        """The whole run folder."""
        if self.root.exists():
            self.root.rmdir(recursive=True)

    def path(self, name: str):
        return self.root / name

    def write_jsonl(self, name: str, records: Iterable[Any]) -> int:
        with self.writer(name) as writer:
            for record in records:
                writer.write(record)
        return writer.count

    def writer(self, name: str) -> "JsonlWriter":
        return JsonlWriter(self.path(name))

    def write_chunks(self, prefix: str, records: Iterable[Any], chunk_size: int) -> list[int]:
        """Split records into ``<prefix>-00000.jsonl``, ``-00001``... of ``chunk_size``; the counts."""
        counts: list[int] = []
        writer: JsonlWriter | None = None
        try:
            for record in records:
                if writer is None or writer.count >= chunk_size:
                    if writer is not None:
                        writer.close()
                        counts.append(writer.count)
                    writer = self.writer(chunk_name(prefix, len(counts)))
                writer.write(record)
        finally:
            if writer is not None:
                writer.close()
        if writer is not None:
            counts.append(writer.count)
        return counts

    def read_jsonl(self, name: str) -> Iterator[Any]:
        with self._open(name) as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)

    def _open(self, name: str):
        try:
            return self.path(name).open("r", encoding="utf-8")
        except FileNotFoundError:
            raise RunFileMissing(
                f"{self.path(name)} is gone: a run's files are removed when it succeeds (unless save_data) and "
                "after [oomnitza] keep_runs_days. Start a new run of the DAG instead of clearing tasks of this one."
            ) from None

    def write_json(self, name: str, value: Any) -> None:
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, default=str, indent=2, ensure_ascii=False), encoding="utf-8")

    def read_json(self, name: str) -> Any:
        with self._open(name) as fh:
            return json.load(fh)

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def remove_tree(self, name: str) -> None:
        path = self.path(name)
        if path.exists():
            path.rmdir(recursive=True)

    def __str__(self) -> str:
        return str(self.root)


RUN_INFO = "run.json"  # when the run started, its portion, whether that is closed


def chunk_name(prefix: str, index: int) -> str:
    return f"{prefix}-{index:05d}.jsonl"


WRITE_BUFFER = 1000
_dumps = json.JSONEncoder(default=str, ensure_ascii=True).encode


class JsonlWriter:
    """Appends records to a JSON Lines file, opened on the first write."""

    def __init__(self, path):
        self.path = path
        self.count = 0
        self._fh = None
        self._buffer: list[str] = []

    def write(self, record: Any) -> None:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("w", encoding="utf-8")
        # ASCII escapes: a source record may hold text UTF-8 cannot encode (a lone surrogate from a
        # JSON source), which must travel to the map task, not fail the whole extract.
        self._buffer.append(_dumps(record))
        self.count += 1
        if len(self._buffer) >= WRITE_BUFFER:  # one write per WRITE_BUFFER records: a call through
            self._flush()                       # ObjectStoragePath/fsspec per record costs more than the JSON

    def _flush(self) -> None:
        if self._buffer:
            self._buffer.append("")
            self._fh.write("\n".join(self._buffer))
            self._buffer = []

    def close(self) -> None:
        if self._fh is None and self.count == 0:  # an empty chunk is an empty file, not a missing one
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text("", encoding="utf-8")
        if self._fh is not None:
            self._flush()
            self._fh.close()
            self._fh = None

    def __enter__(self) -> "JsonlWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
