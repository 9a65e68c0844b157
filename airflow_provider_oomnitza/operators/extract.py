"""Extract: read the section's source and write its raw records, in chunks, to the run folder."""
from __future__ import annotations

import itertools
from typing import Any

from airflow.sdk.module_loading import import_string

from airflow_provider_oomnitza.bulk import OomnitzaError
from airflow_provider_oomnitza.delta import DeltaState, period_seconds
from airflow_provider_oomnitza.mapping.needs import needs_of
from airflow_provider_oomnitza.operators.base import OomnitzaSectionOperator, SectionConfigError, fails_fast
from airflow_provider_oomnitza.operators.dead_letters import replay_records, requested_run
from airflow_provider_oomnitza.operators.runs import close_earlier_portions, remove_old_runs, start_run
from airflow_provider_oomnitza.state import SourceState
from airflow_provider_oomnitza.webhooks.runs import device_records

RAW = "raw/chunk"


def max_chunks() -> int:
    """Chunks one run may have: the map and push tasks are expanded over them (``[core] max_map_length``)."""
    from airflow.sdk import conf

    return conf.getint("core", "max_map_length", fallback=1024)


class OomnitzaExtractOperator(OomnitzaSectionOperator):
    """Streams the source's records into ``raw/chunk-NNNNN.jsonl`` files of ``chunk_size`` records.

    Also fetches Oomnitza's server-side mappings once for the run and stores the effective
    mappings as ``mappings.json`` for the map tasks. Returns one small dict per chunk
    (``{"chunk": i, "extracted": n}``), which the map task is expanded over.

    First it records the run in ``run.json`` and tidies up after earlier runs (see ``runs``).
    """

    @fails_fast
    def execute(self, context) -> list[dict[str, Any]]:
        config, section = self.load(context)
        for issue in config.warnings_for(section):  # where users look: the top of the first task's log
            self.log.warning("config.ini: %s", issue)
        params = self.run_params(context)
        storage = self.storage(context)
        self._tidy_up(config, storage, context, params["testmode"])
        server = self._server_mappings(config, section, params["testmode"])
        effective = section.effective_mappings(server)
        if effective.errors:
            raise SectionConfigError("mapping errors:\n" + "\n".join(
                f"  {config.path}: [{section.name}] {e}" for e in effective.errors))
        replay = requested_run(context)  # a rerun of an earlier run's dead letters, or ""
        storage.write_json("mappings.json", {
            "mapping_name": section.mapping_name,
            "mappings": effective.mappings,
            "sync_fields": effective.sync_fields,
            "replay": replay,
        })
        problems: list[str] = []
        state = since = None
        if replay:
            self.log.info("Sending again only the dead letters of run %s (retry_dead_letters); the source is not read",
                          replay)
            records = replay_records(context["dag"].dag_id, replay, context["run_id"])
        else:
            needs = needs_of(effective.mappings, custom_converters=config.converters,
                             has_record_filter=section.record_filter is not None)
            hook = import_string(section.source.hook)(  # type: ignore[union-attr]
                self.source_settings(section), section=section.name, needs=needs
            )
            problems = hook.problems
            records = device_records(hook, section.name, context, storage)  # webhook or devices run
            state = SourceState() if records is None and hook.incremental else None
            since = state.read(section.name) if state else None
        self._decide_delta(config, section, storage, params,
                           partial=bool(replay) or records is not None or since is not None
                           or bool(params["record_count"]))
        if records is None:
            records = hook.records(since=since) if state else hook.records()
        if params["record_count"]:
            records = itertools.islice(records, params["record_count"])
        chunk_size = config.oomnitza.settings.chunk_size  # type: ignore[union-attr]
        limit = config.oomnitza.settings.max_record_bytes  # type: ignore[union-attr]
        counts = storage.write_chunks(RAW, _capped(records, chunk_size), chunk_size, max_record_bytes=limit,
                                      oversize=lambda n, size: problems.append(_oversize(n, size, limit)))
        storage.write_jsonl("extract_problems.jsonl", ({"problem": p} for p in problems))
        summary = {"extracted": sum(counts), "chunks": len(counts), "malformed": len(problems),
                   "chunk_size": chunk_size}
        if state is not None:
            summary.update(self._stage(state, section.name, context["run_id"], since, hook.watermark, params))
        storage.write_json("extract.json", summary)
        self.log.info("Extracted %d records from [%s] into %d chunk(s) under %s; %d problem(s) skipped",
                      summary["extracted"], section.name, len(counts), storage, len(problems))
        return [{"chunk": i, "extracted": n} for i, n in enumerate(counts)]

    def _decide_delta(self, config, section, storage, params, partial: bool) -> None:
        """Whether this run's push tasks compare with the last successful run's fingerprints (delta.py)."""
        delta = DeltaState(storage).decide(
            enabled=section.settings.delta_sync, full_sync_param=params["full_sync"], partial=partial,
            full_sync_every=period_seconds(config.oomnitza.settings.full_sync_every))
        if delta["enabled"]:
            self.log.info("Delta sync: %s (%s)", "sending every record" if delta["full"] else "sending only new or "
                          "changed records", delta["why"])

    def _stage(self, state: SourceState, section: str, run_id: str, since, watermark, params) -> dict[str, Any]:
        """Stage the next run's ``since`` (the report task commits it if this run succeeds): not for test
        runs and runs cut short by record_count, which send not everything that changed."""
        staged = watermark is not None and watermark != since and not params["testmode"] and not params["record_count"]
        if staged:
            state.stage(section, run_id, watermark)
        self.log.info("Read what changed since %s; %s", since or "ever (first run)",
                      f"the next run reads what changes after {watermark} once this one succeeds" if staged
                      else "the next run reads from the same time again")
        return {"since": since, "next_since": watermark if staged else None}

    def _tidy_up(self, config, storage, context, testmode: bool) -> None:
        start_run(storage, dag_id=context["dag"].dag_id, run_id=context["run_id"], testmode=testmode)
        if not testmode:
            close_earlier_portions(storage, lambda: self.oomnitza_hook(config), self.log)
        remove_old_runs(storage, config.oomnitza.settings.keep_runs_days, self.log)  # type: ignore[union-attr]

    def _server_mappings(self, config, section, testmode: bool) -> dict | None:
        if not section.settings.use_server_map:
            return {}
        try:
            mappings = self.oomnitza_hook(config).get_mappings(section.mapping_name)
        except OomnitzaError as exc:
            if not testmode:
                raise
            self.log.warning("Test mode: Oomnitza's server-side mappings could not be read (%s); "
                             "using the INI and default mappings only", exc)
            return {}
        self.log.info("Server-side mappings for %s: %s", section.mapping_name, mappings)
        return mappings


def _capped(records, chunk_size: int):
    most = max_chunks()
    limit = chunk_size * most
    for count, record in enumerate(records, start=1):
        if count > limit:
            raise SectionConfigError(
                f"more than {limit} records: raise [oomnitza] chunk_size (now {chunk_size}) so that at most "
                f"{most} chunks are needed (Airflow's [core] max_map_length)"
            )
        yield record


def _oversize(number: int, size: int, limit: int) -> str:
    return (f"source record {number} is {size} bytes as JSON, more than [oomnitza] max_record_bytes = {limit}: "
            "skipped")
