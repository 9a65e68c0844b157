"""Report: close the run's portion, collect what Oomnitza refused, count everything, judge the run."""
from __future__ import annotations

import json
from typing import Any, Iterable, Iterator

from airflow.sdk.exceptions import AirflowFailException
from tabulate import tabulate

from airflow_provider_oomnitza.bulk import OomnitzaError
from airflow_provider_oomnitza.config.settings import max_rejected_allows
from airflow_provider_oomnitza.delta import DeltaState, run_log_key
from airflow_provider_oomnitza.operators.base import OomnitzaSectionOperator, fails_fast
from airflow_provider_oomnitza.operators.dead_letters import DEAD_LETTER, PARAM, key_text, sync_key
from airflow_provider_oomnitza.operators.extract import RAW
from airflow_provider_oomnitza.operators.map import MAPPED, SKIPPED
from airflow_provider_oomnitza.operators.push import REJECTED
from airflow_provider_oomnitza.operators.runs import mark_closed, run_portion
from airflow_provider_oomnitza.state import SourceState
from airflow_provider_oomnitza.storage import chunk_name
from airflow_provider_oomnitza.webhooks.runs import clear_consumed

REPORT = "report.json"
MAP_COUNTS = ("mapped", "filtered", "missing", "errors", "converter_errors")
PUSH_COUNTS = ("pushed", "would_push", "rejected", "delta_skipped")
OOMNITZA_COUNTS = ("added", "updated", "unchanged", "skipped", "failed")
# Records that did not arrive because of an error, which [oomnitza] max_rejected limits. Not counted:
# records a recordfilter left out, records Oomnitza skipped for insert_only/update_only, and the
# problems a source reported while reading ("malformed": an unreadable CSV row, but also a device
# whose extra details could not be read and that was still extracted).
REJECTED_COUNTS = ("missing", "errors", "converter_errors", "rejected", "oomnitza_failed")
# Oomnitza answers meaning "no such portion" (nothing was stored in it) and "already finalized".
NO_PORTION, CLOSED = 404, 409
# Oomnitza's outcomes that leave a record as it was there: delta sync sends those records again.
NOT_STORED = ("failed", "skipped")


class OomnitzaReportOperator(OomnitzaSectionOperator):
    """Runs after every chunk (trigger rule ``all_done``).

    Counts what each task did (the map counts of a chunk whose push failed included), per
    record for Oomnitza's outcomes, and writes ``report.json`` and ``dead_letter.jsonl``
    (records refused on upload and records Oomnitza marked failed, each with the reason).
    When every chunk was pushed it finalizes the portion and, unless the run's ``save_data``
    param is set, removes ``raw/`` and ``mapped/``. When a chunk failed, the portion stays
    open and the files stay, so clearing the failed tasks resumes the run. Fails the run if a
    chunk failed or more records were rejected than ``max_rejected`` allows.
    """

    def __init__(self, *, map_task_id: str = "map", push_task_id: str = "push", **kwargs: Any) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.map_task_id = map_task_id
        self.push_task_id = push_task_id

    @fails_fast
    def execute(self, context) -> dict[str, Any]:
        config, section = self.load(context)
        params = self.run_params(context)
        storage = self.storage(context)
        if not storage.exists("extract.json"):
            raise AirflowFailException("the extract task did not finish; nothing to report (see its log)")
        summary = storage.read_json("extract.json")
        chunks = summary["chunks"]
        maps = self._results(context, self.map_task_id, chunks)
        pushes = self._results(context, self.push_task_id, chunks)
        counts: dict[str, Any] = {"extracted": summary["extracted"], "malformed": summary["malformed"]}
        counts.update({k: sum(r.get(k, 0) for r in maps) for k in MAP_COUNTS})
        counts.update({k: sum(r.get(k, 0) for r in pushes) for k in PUSH_COUNTS})
        counts["failed_chunks"] = chunks - len(pushes)
        complete = not counts["failed_chunks"]

        with storage.writer(DEAD_LETTER) as dead:
            for index in range(chunks):
                if storage.exists(chunk_name(REJECTED, index)):
                    for item in storage.read_jsonl(chunk_name(REJECTED, index)):
                        dead.write({"stage": "upload", **item})
            if params["testmode"]:
                mark_closed(storage)
            else:
                counts["undelivered"] = self._undelivered(storage, chunks, maps, pushes, dead)
                self._oomnitza_outcomes(config, storage, context, counts, dead, complete)
        counts["dead_letter"] = dead.count
        counts["testmode"] = params["testmode"]
        max_rejected, where = self._max_rejected(config, section)
        counts["rejected_total"] = sum(counts.get(k, 0) for k in REJECTED_COUNTS)
        counts["rejected_allowed"] = max_rejected_allows(max_rejected, counts["extracted"])
        storage.write_json(REPORT, counts)
        self.log.info("Sync of [%s] (%s):\n%s\nRun folder: %s", section.name, section.mapping_name,
                      tabulate([(k, v) for k, v in counts.items()], headers=["", "records"]), storage)

        problems = []
        if counts["failed_chunks"]:
            problems.append(f"{counts['failed_chunks']} of {chunks} chunk(s) failed (see the map and push task logs; "
                            "clearing the failed tasks resumes this run, its files and Oomnitza portion are kept)")
        if counts["rejected_total"] > counts["rejected_allowed"]:
            problems.append(self._rejected_problem(counts, max_rejected, where))
        if problems:
            raise AirflowFailException(f"[{section.name}] " + "; ".join(problems) + ". "
                                       + self._files(storage, counts, chunks, context["run_id"]))
        if summary.get("next_since") is not None and SourceState().commit(section.name, context["run_id"]):
            self.log.info("[%s] the next run reads what changed after %s", section.name, summary["next_since"])
        self._commit_delta(storage, context, chunks, params["testmode"])
        if not params["save_data"]:
            for prefix in (RAW, MAPPED):
                storage.remove_tree(prefix.split("/")[0])
        counts.update(clear_consumed(storage, section.name))  # webhook events this run synced
        return counts

    @staticmethod
    def _results(context, task_id: str, chunks: int) -> list[dict]:
        """The XCom results of the chunks whose task succeeded (a failed task leaves none)."""
        if not chunks:
            return []
        results = context["ti"].xcom_pull(task_ids=task_id, map_indexes=list(range(chunks)))
        return [r for r in results or [] if r]

    def _oomnitza_outcomes(self, config, storage, context, counts: dict, dead, complete: bool) -> None:
        """Finalize the portion once every chunk is in; count Oomnitza's outcomes per record."""
        for key in OOMNITZA_COUNTS:
            counts[f"oomnitza_{key}"] = 0
        if complete and not counts["pushed"]:
            mark_closed(storage)  # nothing was sent: no portion to close
            return
        hook = self.oomnitza_hook(config)
        portion = run_portion(storage, context["dag"].dag_id, context["run_id"])
        if complete:
            try:
                hook.finalize(portion)
            except OomnitzaError as exc:
                if exc.status not in (NO_PORTION, CLOSED):
                    raise
            mark_closed(storage)
        with OutcomeTally() as tally:
            try:
                tally.add_all(hook.iter_run_log(portion))
            except OomnitzaError as exc:
                if exc.status != NO_PORTION:
                    raise
            for outcome, number in tally.counts().items():
                counts[f"oomnitza_{outcome}"] = counts.get(f"oomnitza_{outcome}", 0) + number
            failed = list(tally.failed())  # only the refused ones are held, with the record as sent
            sent = self._records_sent(storage, context, {key_text(key) for key, _ in failed}) if failed else {}
            for key, message in failed:
                entry = {"stage": "oomnitza", "record": key, "reason": message}
                if key_text(key) in sent:
                    entry["mapped"] = sent[key_text(key)]
                dead.write(entry)
            if DeltaState(storage).decision()["enabled"]:  # failed or skipped there: not fingerprinted, sent again
                DeltaState(storage).stage_dropped(tally.keys_with(NOT_STORED))

    @staticmethod
    def _records_sent(storage, context, keys: set[str]) -> dict[str, dict]:
        """The records as sent whose sync-field key is in ``keys``, from the mapped chunks."""
        plan = storage.read_json("mappings.json")
        found: dict[str, dict] = {}
        chunks = storage.read_json("extract.json")["chunks"]
        for index in range(chunks):
            if not storage.exists(chunk_name(MAPPED, index)):
                continue
            for record in storage.read_jsonl(chunk_name(MAPPED, index)):
                key = sync_key(record, plan["sync_fields"])
                if key in keys:
                    found[key] = record
        return found

    @staticmethod
    def _undelivered(storage, chunks: int, maps: list[dict], pushes: list[dict], dead) -> int:
        """Dead letters for every record of a chunk whose push (or map) task failed; how many."""
        mapped_ok = {r.get("chunk") for r in maps}
        pushed_ok = {r.get("chunk") for r in pushes}
        before = dead.count
        for index in range(chunks):
            if index in pushed_ok:
                continue
            if index in mapped_ok and storage.exists(chunk_name(MAPPED, index)):
                reason = (f"chunk {index} was not pushed: its push task failed (see its log), so Oomnitza did not "
                          "confirm this record")
                for record in storage.read_jsonl(chunk_name(MAPPED, index)):
                    dead.write({"stage": "push", "record": record, "reason": reason})
            elif storage.exists(chunk_name(RAW, index)):
                reason = f"chunk {index} was not mapped: its map task failed (see its log)"
                for raw in storage.read_jsonl(chunk_name(RAW, index)):
                    dead.write({"stage": "map", "raw": raw, "reason": reason})
        return dead.count - before

    def _commit_delta(self, storage, context, chunks: int, testmode: bool) -> None:
        """The run succeeded: its fingerprints become the ones the next run compares with."""
        state = DeltaState(storage)
        decision = state.decision()
        if not decision["enabled"] or testmode:
            return
        kept = state.commit(context["run_id"], chunks, replace=decision.get("replace", decision["full"]))
        self.log.info("Delta sync: %d record fingerprints kept for the next run (%s run)", kept,
                      "a full" if decision["full"] else "a delta")

    def _max_rejected(self, config, section) -> tuple[str, str]:
        """The limit that applies and where it is set."""
        own = getattr(section.settings, "max_rejected", "")
        if own:
            return own, self._where(section.name, ["max_rejected"])
        where = self._where("oomnitza", ["max_rejected"])
        if not where.endswith(" max_rejected"):
            where = "[oomnitza] max_rejected default"
        return config.oomnitza.settings.max_rejected, where

    @staticmethod
    def _rejected_problem(counts: dict, max_rejected: str, where: str) -> str:
        refused = counts["rejected"] + counts["oomnitza_failed"]
        skipped = counts["missing"] + counts["errors"] + counts["converter_errors"]
        return (f"{counts['rejected_total']} of {counts['extracted']} records were rejected, "
                f"more than max_rejected = {max_rejected} allows ({counts['rejected_allowed']}; {where}): "
                f"refused by Oomnitza {refused} ({counts['rejected']} on upload, {counts['oomnitza_failed']} in its "
                f"run log), skipped for errors {skipped} (missing required fields {counts['missing']}, mapping "
                f"errors {counts['errors']}, converter errors {counts['converter_errors']})")

    @staticmethod
    def _files(storage, counts: dict, chunks: int, run_id: str) -> str:
        files = [f"counts: {storage.path(REPORT)}"]
        if counts["dead_letter"]:
            what = "refused records" if not counts.get("undelivered") else "records that did not arrive"
            files.append(f"{what}: {storage.path(DEAD_LETTER)} (send only these again: trigger the DAG with "
                         f"{PARAM} = {run_id})")
        skipped = [str(storage.path(chunk_name(SKIPPED, i))) for i in range(chunks)
                   if storage.exists(chunk_name(SKIPPED, i)) and storage.path(chunk_name(SKIPPED, i)).stat().st_size]
        if skipped:
            files.append("skipped records: " + (", ".join(skipped) if len(skipped) <= 3
                                                else f"{storage.path(SKIPPED.split('/')[0])}/ ({len(skipped)} files)"))
        if counts["malformed"]:
            files.append(f"problems reading the source: {storage.path('extract_problems.jsonl')}")
        return "Files: " + "; ".join(files)


SIGNED = 1 << 63  # SQLite integers are signed: 64-bit hashes are stored shifted, so their order holds


class OutcomeTally:
    """Oomnitza's run-log rows, one per record: its last outcome, kept in a temporary SQLite file so
    the report's memory stays flat however many records the run had.

    A record stored twice (a request whose answer was lost and was sent again, a retried or resumed
    push) comes back as ``added`` or ``updated`` and then ``unchanged``; the repeat changed nothing,
    so it keeps the first."""

    PAGE = 1000

    def __init__(self) -> None:
        import sqlite3
        import tempfile

        self._dir = tempfile.TemporaryDirectory(prefix="oomnitza-report-")
        self._db = sqlite3.connect(f"{self._dir.name}/outcomes.db")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE o (key TEXT PRIMARY KEY, outcome TEXT, message TEXT, seq INTEGER, h INTEGER)")
        self._seq = 0

    def add_all(self, rows: Iterable[dict]) -> None:
        page: list[tuple] = []
        for row in rows:
            self._seq += 1
            page.append((json.dumps(row.get("key"), sort_keys=True, default=str), row.get("outcome"),
                         row.get("message"), self._seq, run_log_key(row.get("key")) - SIGNED))
            if len(page) >= self.PAGE:
                self._upsert(page)
                page = []
        self._upsert(page)

    def _upsert(self, page: list[tuple]) -> None:
        if page:
            self._db.executemany(
                "INSERT INTO o VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET outcome = excluded.outcome, "
                "message = excluded.message WHERE NOT (excluded.outcome = 'unchanged' "
                "AND o.outcome IN ('added', 'updated'))", page)

    def counts(self) -> dict[str, int]:
        return dict(self._db.execute("SELECT outcome, COUNT(*) FROM o GROUP BY outcome"))

    def failed(self) -> Iterator[tuple[Any, str | None]]:
        """(key, message) of the records whose outcome is ``failed``, in the order Oomnitza logged them."""
        for key, message in self._db.execute("SELECT key, message FROM o WHERE outcome = 'failed' ORDER BY seq"):
            yield json.loads(key), message

    def keys_with(self, outcomes: Iterable[str]) -> Iterator[int]:
        """``delta.record_key`` of the records whose last outcome is one of ``outcomes``, in key order."""
        wanted = list(outcomes)
        sql = f"SELECT h FROM o WHERE outcome IN ({', '.join('?' * len(wanted))}) ORDER BY h"
        for (h,) in self._db.execute(sql, wanted):
            yield h + SIGNED

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def __enter__(self) -> "OutcomeTally":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

