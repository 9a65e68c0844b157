"""The run folder: where tasks hand records to each other, in object storage.

Each DAG run gets ``<base>/<dag_id>/<run_id>/``. Records travel as JSON Lines files
written and read as streams, so memory stays flat; only paths and counts go to XCom.
The base is ``OOMNITZA_STORAGE``, else Airflow's ``[oomnitza] storage_url``, else
``file://$AIRFLOW_HOME/oomnitza/runs``. Any fsspec URL Airflow knows works
(``s3://aws_default@bucket/oomnitza``); with several workers it must be a store all of
them reach.

Run files hold personal data (names, e-mail addresses, serial numbers): on local storage the
folders below the base are created ``0700`` and the files ``0600`` (readable by the Airflow user
only); on object storage the bucket's own access rules apply.
"""
from __future__ import annotations

import json
import os
import re
import time
from typing import Any, Callable, Iterable, Iterator

from airflow_provider_oomnitza.config.paths import airflow_home


def storage_base_url() -> str:
    env = os.environ.get("OOMNITZA_STORAGE")
    if env:
        return env
    from airflow.sdk import conf

    configured = conf.get("oomnitza", "storage_url", fallback="")
    return configured or f"file://{airflow_home() / 'oomnitza' / 'runs'}"


LOCAL_PROTOCOLS = frozenset({"file", "local"})
DIR_MODE, FILE_MODE = 0o700, 0o600


def _local(path) -> str | None:
    """The local filesystem path of ``path``, or None on object storage."""
    protocol = getattr(path, "protocol", "file")
    protocols = protocol if isinstance(protocol, (tuple, list)) else (protocol,)
    return path.path if LOCAL_PROTOCOLS & set(protocols) else None


def make_private_dirs(directory, top) -> None:
    """``directory`` and its missing parents; on local storage every folder from ``top`` down is ``0700``."""
    directory.mkdir(parents=True, exist_ok=True)
    local, stop = _local(directory), _local(top)
    if local is None or stop is None:
        return
    current = local.rstrip("/")
    stop = stop.rstrip("/")
    while current.startswith(stop) and len(current) >= len(stop):
        os.chmod(current, DIR_MODE)
        if current == stop:
            break
        current = os.path.dirname(current)


def open_private(path, top):
    """``path`` opened for writing (folders made as ``make_private_dirs``); a new local file is ``0600``
    from the start, so no other user can open it in between."""
    make_private_dirs(path.parent, top)
    local = _local(path)
    if local is not None:
        os.close(os.open(local, os.O_CREAT | os.O_WRONLY, FILE_MODE))
        os.chmod(local, FILE_MODE)
    return path.open("w", encoding="utf-8")


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
        return JsonlWriter(self.path(name), top=self.dag_root)

    def write_chunks(self, prefix: str, records: Iterable[Any], chunk_size: int, *, max_record_bytes: int = 0,
                     oversize: Callable[[int, int], None] | None = None) -> list[int]:
        """Split records into ``<prefix>-00000.jsonl``, ``-00001``... of ``chunk_size``; the counts.

        A record longer than ``max_record_bytes`` as JSON (0: no limit) is left out and reported to
        ``oversize(its number, counted from 1, its size)``: one huge record must not fill a worker's memory
        in every later task."""
        counts: list[int] = []
        writer: JsonlWriter | None = None
        try:
            for number, record in enumerate(records, start=1):
                line = JsonlWriter.line(record)
                if max_record_bytes and len(line) > max_record_bytes:
                    if oversize is not None:
                        oversize(number, len(line))
                    continue
                if writer is None or writer.count >= chunk_size:
                    if writer is not None:
                        writer.close()
                        counts.append(writer.count)
                    writer = self.writer(chunk_name(prefix, len(counts)))
                writer.write_line(line)
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
        with open_private(self.path(name), self.dag_root) as fh:
            fh.write(json.dumps(value, default=str, indent=2, ensure_ascii=False))

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

    def __init__(self, path, top=None):
        self.path = path
        self.top = top if top is not None else path.parent
        self.count = 0
        self._fh = None
        self._buffer: list[str] = []

    @staticmethod
    def line(record: Any) -> str:
        # ASCII escapes: a source record may hold text UTF-8 cannot encode (a lone surrogate from a
        # JSON source), which must travel to the map task, not fail the whole extract.
        return _dumps(record)

    def write(self, record: Any) -> None:
        self.write_line(self.line(record))

    def write_line(self, line: str) -> None:
        if self._fh is None:
            self._fh = open_private(self.path, self.top)
        self._buffer.append(line)
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
            open_private(self.path, self.top).close()
        if self._fh is not None:
            self._flush()
            self._fh.close()
            self._fh = None

    def __enter__(self) -> "JsonlWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
