"""The bulk-upload vocabulary shared by the hook and the operators (no heavy imports)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from airflow_provider_oomnitza import __version__
from airflow_provider_oomnitza.hooks.errors import HttpError

# A portion's records go to Oomnitza in one connector run; one id per DAG run keeps task retries
# and mapped push tasks in the same portion.
PORTION_NAMESPACE = uuid.UUID("6c1f0b7e-5d0e-4f53-9a55-4f2f1c7e2a10")


class OomnitzaError(HttpError):
    """An Oomnitza API call failed for good (after retries, or with a non-retryable status)."""


@dataclass(frozen=True)
class BulkTarget:
    """Where and how records are upserted: the fixed part of every ``/api/v3/bulk`` body."""

    connector_name: str
    data_type: str  # "assets" or "users"
    sync_field: list[str]
    portion: str
    insert_only: bool = False
    update_only: bool = False

    def body(self, records: list[dict]) -> dict[str, Any]:
        return {
            "connector_name": self.connector_name,
            "connector_version": __version__,
            "sync_field": list(self.sync_field),
            "records": records,
            "portion": self.portion,
            "data_type": self.data_type,
            "insert_only": self.insert_only,
            "update_only": self.update_only,
        }


@dataclass
class PushResult:
    sent: int = 0
    batches: int = 0
    # (record, reason) for records Oomnitza refused outright (HTTP 4xx on a one-record batch).
    rejected: list[tuple[dict, str]] = field(default_factory=list)


def portion_for_run(dag_id: str, run_id: str) -> str:
    """The portion id of a DAG run from before run folders recorded theirs (see ``new_portion``)."""
    return str(uuid.uuid5(PORTION_NAMESPACE, f"{dag_id}/{run_id}"))


def new_portion() -> str:
    """A fresh portion id. The extract task records it in the run folder's ``run.json``, so task
    retries and cleared tasks of the run reuse it, while a new run that happens to get the same
    run id (its predecessor deleted, e.g. by a re-run with the same logical date) gets its own."""
    return str(uuid.uuid4())


def batches(records: Iterable[dict], size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
