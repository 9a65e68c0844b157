"""What the sync view shows, read from where it already is: Airflow's database for the sections
(DAGs tagged ``oomnitza``) and their runs, the run storage for each run's ``report.json``,
``dead_letter.jsonl`` and skipped records. Nothing is stored of its own.

``report.json`` grows keys over time; everything here reads it defensively and shows what is
present (a count that cannot be worked out is ``None``, shown as a dash).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, Iterable, Iterator

from airflow_provider_oomnitza.storage import RunStorage, storage_base_url

log = logging.getLogger(__name__)

SYNC_TAG = "oomnitza"
REPORT = "report.json"
DEAD_LETTER = "dead_letter.jsonl"
SKIPPED_DIR = "skipped"
EXTRACT_PROBLEMS = "extract_problems.jsonl"

# The five numbers of the overview, in the order shown.
HEADLINE = ("extracted", "sent", "unchanged", "refused", "skipped")
HEADLINE_HELP = {
    "extracted": "records read from the source",
    "sent": "records sent to Oomnitza",
    "unchanged": "records Oomnitza already had as sent",
    "refused": "records Oomnitza refused (on upload or in its run log)",
    "skipped": "records not sent: missing required fields, mapping or converter errors, unreadable",
}
# report.json keys whose sum makes a headline number when the report has no key of that name.
_SUMS = {
    "extracted": ("extracted",),
    "sent": ("pushed",),
    "unchanged": ("oomnitza_unchanged", "delta_skipped"),  # unchanged in Oomnitza, or not sent (delta sync)
    "refused": ("rejected", "oomnitza_failed"),
    "skipped": ("missing", "errors", "converter_errors", "malformed"),
}
# Friendly names of the report keys known today; others are shown under their own name.
REPORT_LABELS = {
    "extracted": "Extracted from the source",
    "malformed": "Unreadable source records",
    "mapped": "Mapped",
    "filtered": "Left out by the record filter",
    "missing": "Missing required fields",
    "errors": "Mapping errors",
    "converter_errors": "Converter errors",
    "pushed": "Sent to Oomnitza",
    "would_push": "Would be sent (test mode)",
    "rejected": "Refused on upload",
    "delta_skipped": "Not sent: unchanged since the last successful run (delta sync)",
    "oomnitza_added": "Added by Oomnitza",
    "oomnitza_updated": "Updated by Oomnitza",
    "oomnitza_unchanged": "Unchanged in Oomnitza",
    "oomnitza_skipped": "Skipped by Oomnitza (insert/update only)",
    "oomnitza_failed": "Failed in Oomnitza's run log",
    "failed_chunks": "Chunks that failed",
    "dead_letter": "Records in the dead-letter file",
    "rejected_total": "Rejected in all (counted against max_rejected)",
    "rejected_allowed": "Rejections max_rejected allows",
    "testmode": "Test mode",
}


def _number(value: Any) -> int | float | None:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def headline(report: dict[str, Any] | None) -> dict[str, int | float | None]:
    """The overview's five numbers from a report; ``None`` where the report has nothing to tell."""
    out: dict[str, int | float | None] = dict.fromkeys(HEADLINE)
    if not isinstance(report, dict):
        return out
    for name in HEADLINE:
        own = _number(report.get(name))
        if own is not None:
            out[name] = own
            continue
        parts = [_number(report.get(key)) for key in _SUMS[name]]
        present = [p for p in parts if p is not None]
        out[name] = sum(present) if present else None
    return out


# -- run storage -----------------------------------------------------------------------------------
class RunFiles:
    """The files of one run in the run storage (local, S3, ... through ObjectStoragePath)."""

    def __init__(self, dag_id: str, run_id: str, base_url: str | None = None):
        self.storage = RunStorage(dag_id, run_id, base_url or storage_base_url())

    def report(self) -> dict[str, Any] | None:
        """``report.json``, ``None`` when the run wrote none; ``{"_error": ...}`` when it cannot be read."""
        try:
            if not self.storage.exists(REPORT):
                return None
            value = json.loads(self.storage.path(REPORT).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("Cannot read %s: %s", self.storage.path(REPORT), exc)
            return {"_error": f"{type(exc).__name__}: {exc}"}
        return value if isinstance(value, dict) else {"_error": "report.json is not a JSON object"}

    def refused(self) -> Iterator[dict[str, Any]]:
        """Records Oomnitza refused or that were not delivered, from ``dead_letter.jsonl``: stage, record, reason."""
        yield from self._jsonl(DEAD_LETTER)

    def skipped(self) -> Iterator[dict[str, Any]]:
        """Records not sent: the map task's ``skipped/chunk-*.jsonl``, then unreadable source records."""
        folder = self.storage.path(SKIPPED_DIR)
        try:
            files = sorted((p for p in folder.iterdir() if p.name.endswith(".jsonl")), key=lambda p: p.name) \
                if folder.exists() else []
        except OSError as exc:
            log.warning("Cannot list %s: %s", folder, exc)
            files = []
        for path in files:
            yield from self._jsonl(f"{SKIPPED_DIR}/{path.name}")
        for item in self._jsonl(EXTRACT_PROBLEMS):
            yield {"kind": "unreadable", "record": None, "reason": item.get("problem", item)}

    def _jsonl(self, name: str) -> Iterator[dict[str, Any]]:
        path = self.storage.path(name)
        try:
            if not path.exists():
                return
            with path.open("r", encoding="utf-8") as fh:
                for line in fh:
                    if not line.strip():
                        continue
                    try:
                        item = json.loads(line)
                    except ValueError:
                        item = {"reason": "(a line of this file is not JSON)", "record": line.strip()[:200]}
                    yield item if isinstance(item, dict) else {"record": item}
        except OSError as exc:
            log.warning("Cannot read %s: %s", path, exc)
            yield {"reason": f"cannot read {name}: {exc}"}


@dataclass
class Page:
    items: list[dict[str, Any]]
    offset: int
    limit: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total


def page_of(items: Iterable[dict[str, Any]], offset: int, limit: int) -> Page:
    """One page of a stream of records, and how many there are (the stream is read to its end)."""
    it = iter(items)
    skipped = sum(1 for _ in islice(it, offset))
    chunk = list(islice(it, limit))
    rest = sum(1 for _ in it)
    return Page(items=chunk, offset=offset, limit=limit, total=skipped + len(chunk) + rest)


# -- Airflow's database --------------------------------------------------------------------------------
@dataclass
class RunInfo:
    dag_id: str
    run_id: str
    state: str | None
    run_type: str | None
    run_after: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    report: dict[str, Any] | None = None

    @property
    def counts(self) -> dict[str, int | float | None]:
        return headline(self.report)

    @property
    def when(self) -> datetime | None:
        return self.start_date or self.run_after

    def as_json(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id, "run_id": self.run_id, "state": self.state, "run_type": self.run_type,
            "run_after": _iso(self.run_after), "start_date": _iso(self.start_date), "end_date": _iso(self.end_date),
            "counts": self.counts, "report": self.report,
        }


@dataclass
class SectionInfo:
    dag_id: str
    title: str
    description: str | None
    is_paused: bool | None
    tags: list[str] = field(default_factory=list)
    runs: list[RunInfo] = field(default_factory=list)  # newest first

    @property
    def last(self) -> RunInfo | None:
        return self.runs[0] if self.runs else None

    @property
    def last_report(self) -> RunInfo | None:
        return next((r for r in self.runs if r.report and "_error" not in r.report), None)

    def as_json(self) -> dict[str, Any]:
        return {"dag_id": self.dag_id, "title": self.title, "description": self.description,
                "is_paused": self.is_paused, "tags": self.tags, "runs": [r.as_json() for r in self.runs]}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def sync_dags(session) -> list[SectionInfo]:
    """Every Oomnitza sync DAG Airflow knows (tagged ``oomnitza``, not stale), by id."""
    from sqlalchemy import select

    from airflow.models.dag import DagModel, DagTag

    tagged = select(DagTag.dag_id).where(DagTag.name == SYNC_TAG)
    dags = session.scalars(
        select(DagModel).where(DagModel.dag_id.in_(tagged), DagModel.is_stale.is_(False)).order_by(DagModel.dag_id)
    ).all()
    return [
        SectionInfo(dag_id=d.dag_id, title=(d.dag_display_name or d.dag_id).removeprefix("Oomnitza: "), description=d.description,
                    is_paused=d.is_paused, tags=sorted(t.name for t in d.tags))
        for d in dags
    ]


def sync_dag(session, dag_id: str) -> SectionInfo | None:
    return next((s for s in sync_dags(session) if s.dag_id == dag_id), None)


def _run_info(run) -> RunInfo:
    state = run.state.value if hasattr(run.state, "value") else run.state
    run_type = run.run_type.value if hasattr(run.run_type, "value") else run.run_type
    return RunInfo(dag_id=run.dag_id, run_id=run.run_id, state=state, run_type=run_type,
                   run_after=run.run_after, start_date=run.start_date, end_date=run.end_date)


def recent_runs(session, dag_id: str, limit: int, base_url: str | None = None, reports: bool = True) -> list[RunInfo]:
    """The DAG's last ``limit`` runs, newest first, each with its report (if its folder has one)."""
    from sqlalchemy import select

    from airflow.models.dagrun import DagRun

    rows = session.scalars(
        select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.run_after.desc(), DagRun.id.desc()).limit(limit)
    ).all()
    runs = [_run_info(r) for r in rows]
    if reports:
        for run in runs:
            run.report = RunFiles(dag_id, run.run_id, base_url).report()
    return runs


def find_run(session, dag_id: str, run_id: str) -> RunInfo | None:
    from sqlalchemy import select

    from airflow.models.dagrun import DagRun

    row = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    return _run_info(row) if row else None
