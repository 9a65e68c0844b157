"""Extract: read the section's source and write its raw records, in chunks, to the run folder."""
from __future__ import annotations

import itertools
from typing import Any

from airflow.sdk.module_loading import import_string

from airflow_provider_oomnitza.bulk import OomnitzaError
from airflow_provider_oomnitza.operators.base import OomnitzaSectionOperator, SectionConfigError
from airflow_provider_oomnitza.webhooks.runs import device_records

RAW = "raw/chunk"
MAX_CHUNKS = 1000  # below Airflow's [core] max_map_length (1024)


class OomnitzaExtractOperator(OomnitzaSectionOperator):
    """Streams the source's records into ``raw/chunk-NNNNN.jsonl`` files of ``chunk_size`` records.

    Also fetches Oomnitza's server-side mappings once for the run and stores the effective
    mappings as ``mappings.json`` for the map tasks. Returns one small dict per chunk
    (``{"chunk": i, "extracted": n}``), which the map task is expanded over.
    """

    def execute(self, context) -> list[dict[str, Any]]:
        config, section = self.load()
        params = self.run_params(context)
        storage = self.storage(context)
        settings = self.settings_of(section)
        server = self._server_mappings(config, section, params["testmode"])
        effective = section.effective_mappings(server)
        if effective.errors:
            raise SectionConfigError("mapping errors:\n" + "\n".join(
                f"  {config.path}: [{section.name}] {e}" for e in effective.errors))
        storage.write_json("mappings.json", {
            "mapping_name": section.mapping_name,
            "mappings": effective.mappings,
            "sync_fields": effective.sync_fields,
            "server_mappings_used": server is not None,
        })
        if section.source.hook is None:  # type: ignore[union-attr]
            raise SectionConfigError(f"[{section.name}]: the {section.type_name} source has no hook yet")
        hook = import_string(section.source.hook)(  # type: ignore[union-attr]
            settings, section=section.name, mappings=effective.mappings
        )
        records = device_records(hook, section.name, context, storage)  # webhook or devices run
        if records is None:
            records = hook.records()
        if params["record_count"]:
            records = itertools.islice(records, params["record_count"])
        chunk_size = config.oomnitza.settings.chunk_size  # type: ignore[union-attr]
        counts = storage.write_chunks(RAW, _capped(records, chunk_size), chunk_size)
        storage.write_jsonl("extract_problems.jsonl", ({"problem": p} for p in hook.problems))
        summary = {"extracted": sum(counts), "chunks": len(counts), "malformed": len(hook.problems),
                   "chunk_size": chunk_size}
        storage.write_json("extract.json", summary)
        self.log.info("Extracted %d records from [%s] into %d chunk(s) under %s; %d problem(s) skipped",
                      summary["extracted"], section.name, len(counts), storage, len(hook.problems))
        return [{"chunk": i, "extracted": n} for i, n in enumerate(counts)]

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
    limit = chunk_size * MAX_CHUNKS
    for count, record in enumerate(records, start=1):
        if count > limit:
            raise SectionConfigError(
                f"more than {limit} records: raise [oomnitza] chunk_size (now {chunk_size}) so that at most "
                f"{MAX_CHUNKS} chunks are needed"
            )
        yield record
