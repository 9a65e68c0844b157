"""Push: one chunk of Oomnitza records to the bulk API (or, in test mode, to the log and run folder)."""
from __future__ import annotations

import json
from typing import Any

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_oomnitza.bulk import BulkTarget, OomnitzaError, batches
from airflow_provider_oomnitza.delta import ChunkDelta, DeltaState
from airflow_provider_oomnitza.operators.base import OomnitzaChunkOperator, fails_fast
from airflow_provider_oomnitza.operators.map import MAPPED
from airflow_provider_oomnitza.operators.runs import run_portion
from airflow_provider_oomnitza.storage import chunk_name

PAYLOADS = "payloads/chunk"
REJECTED = "rejected/chunk"
LOGGED_PAYLOADS = 3


class OomnitzaPushOperator(OomnitzaChunkOperator):
    """Sends ``mapped/chunk-i`` in batches of ``[oomnitza] batch_size`` with ``workers`` requests in
    flight, into the DAG run's portion. Records Oomnitza refuses go to ``rejected/chunk-i`` with
    the reason. In test mode nothing is sent: the request bodies go to ``payloads/chunk-i`` and
    the first few to the log."""

    @fails_fast
    def execute(self, context) -> dict[str, Any]:
        config, section = self.load(context)
        params = self.run_params(context)
        storage = self.storage(context)
        index = self.chunk["chunk"]
        plan = storage.read_json("mappings.json")
        oomnitza = config.oomnitza.settings  # type: ignore[union-attr]
        target = BulkTarget(
            connector_name=plan["mapping_name"],
            data_type=section.source.record_type,  # type: ignore[union-attr]
            sync_field=plan["sync_fields"],
            portion=run_portion(storage, context["dag"].dag_id, context["run_id"]),
            insert_only=section.settings.insert_only,  # type: ignore[union-attr]
            update_only=section.settings.update_only,  # type: ignore[union-attr]
        )
        records = storage.read_jsonl(chunk_name(MAPPED, index))
        state = DeltaState(storage)
        decision = state.decision()
        delta = ChunkDelta(None if decision["full"] else state.load(), plan["sync_fields"])
        if decision["enabled"]:
            records = delta.filter(records)
        if params["testmode"]:
            count = 0
            with storage.writer(chunk_name(PAYLOADS, index)) as payloads:
                for batch in batches(records, oomnitza.batch_size):
                    body = target.body(batch)
                    payloads.write(body)
                    if payloads.count <= LOGGED_PAYLOADS:
                        self.log.info("Test mode, would send:\n%s", json.dumps(body, indent=2, default=str))
                    count += len(batch)
            self.log.info("Test mode: %d records in %d requests written to %s; nothing sent",
                          count, payloads.count, storage.path(chunk_name(PAYLOADS, index)))
            return {**self.chunk, "pushed": 0, "would_push": count, "rejected": 0, "delta_skipped": delta.skipped}
        workers = params["workers"] or oomnitza.workers
        try:
            result = self.oomnitza_hook(config).push(records, target, batch_size=oomnitza.batch_size,
                                                     workers=workers)
        except OomnitzaError as exc:
            if exc.status == 409:  # the portion is closed: a later run of the section finalized it
                raise AirflowFailException(
                    f"Oomnitza portion {target.portion} of this run is closed ({exc}): a later run of the section "
                    "finalized it (and sent every record again), or it was canceled in Oomnitza. There is nothing "
                    "to resume here; trigger a new run if you need one.") from None
            raise
        storage.write_jsonl(chunk_name(REJECTED, index),
                            ({"record": r, "reason": reason} for r, reason in result.rejected))
        if decision["enabled"]:
            state.stage(index, delta.in_oomnitza(r for r, _ in result.rejected))
        self.log.info("Chunk %d: %d records sent in %d requests to portion %s; %d refused; %d unchanged skipped "
                      "(delta sync)", index, result.sent, result.batches, target.portion, len(result.rejected),
                      delta.skipped)
        return {**self.chunk, "pushed": result.sent, "would_push": 0, "rejected": len(result.rejected),
                "delta_skipped": delta.skipped}
