"""The dead-letter file of a run, and the run that sends only those records again.

``dead_letter.jsonl`` (written by the report task) holds every record of the run that did
not arrive in Oomnitza, one JSON object per line with the ``stage`` where it was lost and
the ``reason``:

* ``upload``: Oomnitza refused the record on upload (``record``: the record as sent);
* ``oomnitza``: Oomnitza took the record but marked it failed in its run log (``record``: its
  sync-field key, ``mapped``: the record as sent);
* ``push``: the chunk's push task failed (Oomnitza down past the retries, a killed worker):
  ``record`` as it would have been sent. Some of these may have arrived before the failure;
  sending them again is harmless, as Oomnitza matches records by their sync fields;
* ``map``: the chunk's map task failed: ``raw``, the source record, mapped again on a rerun.

A run triggered with the ``retry_dead_letters`` Param (a run id of the same DAG) reads no
source: its records are that run's dead letters, mapped records sent as they are.
"""
from __future__ import annotations

import json
from typing import Any, Iterator

from airflow_provider_oomnitza.operators.base import SectionConfigError
from airflow_provider_oomnitza.storage import RunStorage

DEAD_LETTER = "dead_letter.jsonl"
PARAM = "retry_dead_letters"


def retry_param():
    from airflow.sdk import Param

    return Param("", type="string", title="Retry dead letters",
                 description="A run id of this DAG: send only that run's dead-lettered records (from its "
                             "dead_letter.jsonl) instead of reading the source. Empty = a normal sync.")


def requested_run(context) -> str:
    """The run id named by the ``retry_dead_letters`` Param, or ``""``."""
    value = (context.get("params") or {}).get(PARAM) or ""
    return str(value).strip()


def replay_records(dag_id: str, run_id: str, this_run: str) -> Iterator[dict]:
    """The dead letters of run ``run_id`` of DAG ``dag_id``."""
    if run_id == this_run:
        raise SectionConfigError(f"{PARAM} = {run_id!r} is this run itself; name an earlier run of the DAG")
    source = RunStorage(dag_id, run_id)
    if not source.exists(DEAD_LETTER):
        raise SectionConfigError(
            f"{PARAM} = {run_id!r}: {source.path(DEAD_LETTER)} does not exist: no such run of this DAG, a run that "
            f"lost no records, or a folder removed after [oomnitza] keep_runs_days")
    for entry in source.read_jsonl(DEAD_LETTER):
        if isinstance(entry, dict):
            yield entry


def sendable(entry: dict) -> dict | None:
    """The record to send again as it is, or None when the entry holds a source record (``raw``) to map."""
    if isinstance(entry.get("mapped"), dict):
        return entry["mapped"]
    if entry.get("stage") in ("upload", "push") and isinstance(entry.get("record"), dict):
        return entry["record"]
    return None


def sync_key(record: dict, sync_fields: list[str]) -> str:
    """A record's sync-field values as Oomnitza's run log names it (``{field: value}``), comparable."""
    return json.dumps({f: record.get(f) for f in sync_fields}, sort_keys=True, default=str)


def key_text(key: Any) -> str:
    return json.dumps(key, sort_keys=True, default=str)
