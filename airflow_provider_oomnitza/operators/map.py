"""Map: one chunk of raw records through the section's filter and mappings."""
from __future__ import annotations

from typing import Any

from airflow_provider_oomnitza.mapping.converters import ConverterContext
from airflow_provider_oomnitza.mapping.engine import RecordMapper, RecordSkipped
from airflow_provider_oomnitza.operators.base import OomnitzaChunkOperator, fails_fast
from airflow_provider_oomnitza.operators.dead_letters import sendable
from airflow_provider_oomnitza.operators.extract import RAW
from airflow_provider_oomnitza.storage import chunk_name

MAPPED = "mapped/chunk"
SKIPPED = "skipped/chunk"


class OomnitzaMapOperator(OomnitzaChunkOperator):
    """Reads ``raw/chunk-i``, writes Oomnitza records to ``mapped/chunk-i`` and the records it
    did not map (missing required fields, errors) with the reason to ``skipped/chunk-i``."""

    @fails_fast
    def execute(self, context) -> dict[str, Any]:
        config, section = self.load(context)
        storage = self.storage(context)
        index = self.chunk["chunk"]
        plan = storage.read_json("mappings.json")
        converter_context = ConverterContext(log=self.log, locations=lambda: self.oomnitza_hook(config).get_locations())
        mapper = RecordMapper(
            plan["mappings"],
            section.mapping_settings(self.settings_of(section)),  # {"setting": ...} as written
            sync_fields=plan["sync_fields"],
            record_filter=section.record_filter,
            custom_converters=config.converters,
            context=converter_context,
            log=self.log,
        )
        raws = storage.read_jsonl(chunk_name(RAW, index))
        resent = 0
        with storage.writer(chunk_name(MAPPED, index)) as mapped, storage.writer(chunk_name(SKIPPED, index)) as skipped:
            if plan.get("replay"):  # dead letters: records already mapped go as they are, source records are mapped
                raws, ready, unusable = _split_dead_letters(raws)
                if unusable:
                    self.log.warning("Chunk %d: %d dead letter(s) hold neither the record as sent nor the source "
                                     "record, so they cannot be sent again (written by an older version)",
                                     index, unusable)
                for record in ready:
                    mapped.write(record)
                resent = mapped.count
            for position, raw, result in mapper.map_all(raws):
                if not isinstance(result, RecordSkipped):
                    mapped.write(result)
                elif result.kind != "filtered":
                    skipped.write({"record": mapper.identity(raw, position), "kind": result.kind,
                                   "reason": result.message, "raw": raw})
        for line in converter_context.cleanup_report():
            self.log.warning("%s", line)
        stats = mapper.stats
        for identity, message in stats.problems[:20]:
            self.log.warning("chunk %d, %s: %s", index, identity, message)
        self.log.info("Chunk %d: %d mapped, %d filtered out, %d missing required fields, %d errors, "
                      "%d converter errors", index, stats.mapped, stats.filtered, stats.missing, stats.errors,
                      stats.converter_errors)
        return {**self.chunk, "mapped": stats.mapped + resent, "filtered": stats.filtered, "missing": stats.missing,
                "errors": stats.errors, "converter_errors": stats.converter_errors}


def _split_dead_letters(entries):
    """(source records to map, records to send as they are, entries with neither) of a chunk of dead letters."""
    raws, ready, unusable = [], [], 0
    for entry in entries:
        record = sendable(entry)
        if record is not None:
            ready.append(record)
        elif isinstance(entry.get("raw"), dict):
            raws.append(entry["raw"])
        else:
            unusable += 1
    return raws, ready, unusable
