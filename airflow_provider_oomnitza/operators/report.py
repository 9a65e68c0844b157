"""Report: close the run's portion, collect what Oomnitza refused, and count everything."""
from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowException
from tabulate import tabulate

from airflow_provider_oomnitza.bulk import portion_for_run
from airflow_provider_oomnitza.operators.base import OomnitzaSectionOperator
from airflow_provider_oomnitza.operators.extract import RAW
from airflow_provider_oomnitza.operators.map import MAPPED
from airflow_provider_oomnitza.operators.push import REJECTED
from airflow_provider_oomnitza.storage import chunk_name
from airflow_provider_oomnitza.webhooks.runs import clear_consumed

DEAD_LETTER = "dead_letter.jsonl"
CHUNK_COUNTS = ("mapped", "filtered", "missing", "errors", "converter_errors", "pushed", "would_push", "rejected")
OOMNITZA_COUNTS = ("added", "updated", "unchanged", "skipped", "failed")


class OomnitzaReportOperator(OomnitzaSectionOperator):
    """Runs after every chunk (trigger rule ``all_done``). Finalizes the portion, writes
    ``dead_letter.jsonl`` (records refused on upload and records Oomnitza marked failed, each
    with the reason), logs a table of counts and returns them. Raw and mapped files are removed
    unless the run's ``save_data`` param is set. Fails if any chunk failed."""

    def __init__(self, *, push_task_id: str = "push", **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.push_task_id = push_task_id

    def execute(self, context) -> dict[str, Any]:
        config, section = self.load()
        params = self.run_params(context)
        storage = self.storage(context)
        if not storage.exists("extract.json"):
            raise AirflowException("the extract task did not finish; nothing to report (see its log)")
        summary = storage.read_json("extract.json")
        chunks = summary["chunks"]
        results = context["ti"].xcom_pull(task_ids=self.push_task_id, map_indexes=list(range(chunks))) if chunks else []
        done = [r for r in results or [] if r]
        counts: dict[str, Any] = {"extracted": summary["extracted"], "malformed": summary["malformed"]}
        counts.update({k: sum(r.get(k, 0) for r in done) for k in CHUNK_COUNTS})
        counts["failed_chunks"] = chunks - len(done)

        dead = storage.writer(DEAD_LETTER)
        with dead:
            for index in range(chunks):
                if storage.exists(chunk_name(REJECTED, index)):
                    for item in storage.read_jsonl(chunk_name(REJECTED, index)):
                        dead.write({"stage": "upload", **item})
            if counts["pushed"]:
                self._collect_oomnitza_outcomes(config, context, counts, dead)
        counts["dead_letter"] = dead.count
        counts["testmode"] = params["testmode"]
        storage.write_json("report.json", counts)
        self.log.info("Sync of [%s] (%s):\n%s\nRun folder: %s", section.name, section.mapping_name,
                      tabulate([(k, v) for k, v in counts.items()], headers=["", "records"]), storage)
        if not params["save_data"]:
            for prefix in (RAW, MAPPED):
                storage.remove_tree(prefix.split("/")[0])
        if counts["failed_chunks"]:
            raise AirflowException(f"{counts['failed_chunks']} of {chunks} chunk(s) failed; see the map and "
                                   "push task logs. The counts above cover the chunks that finished.")
        counts.update(clear_consumed(storage, section.name))  # webhook events this run synced
        return counts

    def _collect_oomnitza_outcomes(self, config, context, counts: dict, dead) -> None:
        hook = self.oomnitza_hook(config)
        portion = portion_for_run(context["dag"].dag_id, context["run_id"])
        hook.finalize(portion)
        log = hook.run_log(portion)
        for key in OOMNITZA_COUNTS:
            counts[f"oomnitza_{key}"] = log.get(key, 0)
        for row in log.get("records", []):
            if row.get("outcome") == "failed":
                dead.write({"stage": "oomnitza", "record": row.get("key"), "reason": row.get("message")})
