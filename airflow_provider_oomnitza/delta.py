"""Delta sync: send only the records that are new or changed since the section's last successful run.

A record's fingerprint is a 64-bit hash of its mapped fields, keyed by a 64-bit hash of its sync
field values. The fingerprints of the last successful run are one compact file per DAG in the run
storage (``<base>/_delta/<dag_id>/``), so every worker sees them: 16 bytes a record, sorted by key,
looked up by bisection (1M records: 16 MB, read by each push task).

During a run each push task *stages* the fingerprints of the records now in Oomnitza (sent and
accepted, or skipped as unchanged) as a sorted file of its own; the report task *commits* them
(merging the staged files with the previous fingerprints, streamed) only when the run succeeded.
So a failed run never hides a change: its records are compared with the same old fingerprints
next time. A full sync (the ``full_sync`` Param, ``[oomnitza] full_sync_every``, or no
fingerprints yet) sends everything and replaces the fingerprints with the ones it staged, which
also forgets records gone from the source. Two different records colliding on a 64-bit hash is
about one in 10^7 for a million records per run; a periodic full sync repairs even that.
"""
from __future__ import annotations

import hashlib
import heapq
import json
import re
import sys
import time
from array import array
from bisect import bisect_left
from typing import Any, Iterable, Iterator

from airflow_provider_oomnitza.storage import RunStorage, _safe

DELTA = "delta.json"  # the run's decision (run folder): enabled, full, why
STAGED = "delta_staged/chunk"
DROPPED = "delta_staged/dropped.bin"  # keys of records Oomnitza did not store, from the report  # the run's staged fingerprints (run folder), one sorted file per chunk
COMMITTED = "committed.json"  # per DAG: the file holding the fingerprints, when, the last full sync
_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False).encode
_PERIOD = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
PERIOD_EXPECTED = "expected a period such as 12h, 7d or 2w (s, m, h, d, w), or empty for never"


def period_seconds(value: str) -> float | None:
    """``7d`` -> 604800.0; empty -> None; raises ValueError for anything else."""
    if not str(value).strip():
        return None
    match = _PERIOD.match(str(value))
    if not match or float(match[1]) <= 0:
        raise ValueError(f"{PERIOD_EXPECTED}, got {value!r}")
    return float(match[1]) * _SECONDS[match[2]]


def _h64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")


def record_key(record: dict, sync_fields: list[str]) -> int:
    """The hash of a record's sync field values (as Oomnitza's run log names a record: ``{field: value}``)."""
    return _h64(_dumps({f: record.get(f) for f in sync_fields}))


def run_log_key(key: Any) -> int:
    """``record_key`` of a record as Oomnitza's run log names it."""
    return _h64(_dumps(key))


def record_hash(record: dict) -> int:
    return _h64(_dumps(record))


class Fingerprints:
    """Sorted keys and their hashes, looked up by bisection."""

    def __init__(self, keys: array | None = None, hashes: array | None = None):
        self.keys = keys if keys is not None else array("Q")
        self.hashes = hashes if hashes is not None else array("Q")

    def __len__(self) -> int:
        return len(self.keys)

    def get(self, key: int) -> int | None:
        i = bisect_left(self.keys, key)
        return self.hashes[i] if i < len(self.keys) and self.keys[i] == key else None

    def pairs(self) -> Iterator[tuple[int, int]]:
        return zip(self.keys, self.hashes)


def _write_pairs(path, pairs: Iterable[tuple[int, int]]) -> int:
    """Pairs as 16-byte big-endian records, 4,096 at a time; the count."""
    count = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        buffer = bytearray()
        for key, value in pairs:
            buffer += key.to_bytes(8, "big") + value.to_bytes(8, "big")
            count += 1
            if len(buffer) >= 65536:
                fh.write(bytes(buffer))
                buffer.clear()
        fh.write(bytes(buffer))
    return count


def _read_pairs(path) -> Iterator[tuple[int, int]]:
    with path.open("rb") as fh:
        while True:
            block = fh.read(65536)
            if not block:
                return
            for i in range(0, len(block) - 15, 16):
                yield int.from_bytes(block[i:i + 8], "big"), int.from_bytes(block[i + 8:i + 16], "big")


class DeltaState:
    """The fingerprints of one DAG's last successful run, and the staging of the current run's."""

    def __init__(self, storage: RunStorage):
        self.run = storage
        self.root = storage.dag_root.parent / "_delta" / storage.dag_root.name

    # -- the committed state ----------------------------------------------------------------------
    def info(self) -> dict[str, Any] | None:
        path = self.root / COMMITTED
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def load(self) -> Fingerprints:
        """The committed fingerprints (empty if none)."""
        info = self.info()
        if not info:
            return Fingerprints()
        whole = array("Q")
        whole.frombytes((self.root / info["file"]).read_bytes())
        if sys.byteorder == "little":  # the file is big-endian
            whole.byteswap()
        keys, hashes = whole[0::2], whole[1::2]
        return Fingerprints(keys, hashes)

    # -- the run's decision ----------------------------------------------------------------------
    def decide(self, *, enabled: bool, full_sync_param: bool, full_sync_every: float | None, partial: bool = False,
               now: float | None = None) -> dict[str, Any]:
        """Whether this run compares (``full`` False) or sends everything, and why; kept in the run folder.

        A ``partial`` run (some devices, a record_count, a source read since its last run) reads only part
        of the source: even when it sends everything it read, its fingerprints are merged into the old
        ones (``replace`` False) and it does not count as the last full sync."""
        now = time.time() if now is None else now
        info = self.info()
        if not enabled:
            decision = {"enabled": False, "full": True, "why": "delta_sync is off"}
        elif full_sync_param:
            decision = {"enabled": True, "full": True, "why": "the full_sync parameter"}
        elif not info:
            decision = {"enabled": True, "full": True, "why": "no earlier successful run"}
        elif full_sync_every is not None and now - float(info.get("full_at") or 0) >= full_sync_every:
            decision = {"enabled": True, "full": True, "why": "[oomnitza] full_sync_every is due"}
        else:
            decision = {"enabled": True, "full": False, "why": f"changes since run {info.get('run_id')}"}
        decision["replace"] = decision["full"] and not partial
        self.run.write_json(DELTA, decision)
        return decision

    def decision(self) -> dict[str, Any]:
        return self.run.read_json(DELTA) if self.run.exists(DELTA) else {"enabled": False, "full": True}

    # -- staging and commit ----------------------------------------------------------------------
    def stage(self, chunk: int, pairs: Iterable[tuple[int, int]]) -> int:
        """The fingerprints of a chunk's records now in Oomnitza (sorted here, so commit can merge)."""
        return _write_pairs(self.run.path(f"{STAGED}-{chunk:05d}.bin"), sorted(pairs))

    def stage_dropped(self, keys: Iterable[int]) -> int:
        """Keys (in order) of records Oomnitza did not store (failed, skipped): commit leaves them out."""
        return _write_pairs(self.run.path(DROPPED), ((key, 0) for key in keys))

    def commit(self, run_id: str, chunks: int, *, replace: bool) -> int:
        """Merge the run's staged fingerprints into the committed ones (a whole full run replaces them), without
        the keys ``stage_dropped`` named; all streamed. The number of fingerprints kept."""
        dropped = _Skipper(_read_pairs(self.run.path(DROPPED)) if self.run.exists(DROPPED) else iter(()))
        sources = [_read_pairs(self.run.path(f"{STAGED}-{i:05d}.bin")) for i in range(chunks)
                   if self.run.exists(f"{STAGED}-{i:05d}.bin")]
        info = self.info()
        if info and not replace:
            sources.insert(0, self.load().pairs())  # first: on the same key a staged pair comes later and wins
        name = f"fingerprints-{_safe(run_id)}.bin"

        def merged() -> Iterator[tuple[int, int]]:
            last_key, last_value = None, None
            for key, value in heapq.merge(*sources, key=lambda pair: pair[0]):
                if key != last_key and last_key is not None and not dropped.has(last_key):
                    yield last_key, last_value
                last_key, last_value = key, value
            if last_key is not None and not dropped.has(last_key):
                yield last_key, last_value

        count = _write_pairs(self.root / name, merged())
        now = time.time()
        new_info = {"run_id": run_id, "file": name, "records": count, "at": now,
                    "full_at": now if replace else (info or {}).get("full_at", 0)}
        (self.root / COMMITTED).write_text(json.dumps(new_info), encoding="utf-8")
        if info and info.get("file") != name and (self.root / info["file"]).exists():
            (self.root / info["file"]).unlink()
        return count



class _Skipper:
    """Membership in a sorted stream of keys, asked in ascending order (a merge join: flat memory)."""

    def __init__(self, pairs: Iterator[tuple[int, int]]):
        self._keys = (key for key, _ in pairs)
        self._next = next(self._keys, None)

    def has(self, key: int) -> bool:
        while self._next is not None and self._next < key:
            self._next = next(self._keys, None)
        return self._next == key


class ChunkDelta:
    """One push task's comparison: passes on the records that are new or changed (all of them in a
    full run), counts the unchanged ones skipped, and remembers every fingerprint for staging."""

    def __init__(self, previous: Fingerprints | None, sync_fields: list[str]):
        self.previous = previous
        self.sync_fields = list(sync_fields)
        self.skipped = 0
        self._passed: list[tuple[int, int]] = []
        self._unchanged: list[tuple[int, int]] = []

    def filter(self, records: Iterable[dict]) -> Iterator[dict]:
        for record in records:
            pair = (record_key(record, self.sync_fields), record_hash(record))
            if self.previous is not None and self.previous.get(pair[0]) == pair[1]:
                self.skipped += 1
                self._unchanged.append(pair)
                continue
            self._passed.append(pair)
            yield record

    def in_oomnitza(self, rejected: Iterable[dict]) -> list[tuple[int, int]]:
        """The fingerprints to stage: the records skipped as unchanged, and those sent but not refused."""
        refused = {record_key(r, self.sync_fields) for r in rejected}
        return self._unchanged + [pair for pair in self._passed if pair[0] not in refused]
