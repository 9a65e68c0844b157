"""A run's own record in its folder (``run.json``) and what a new run does about the runs before it.

``run.json`` holds when the run started, its Oomnitza portion and whether that portion is
closed. The portion stays the same for task retries and cleared tasks of the run (so a failed
run can be resumed into it); a new run with the same run id gets a new one once the old one is
closed. When a section runs, it first finalizes the portions earlier runs left open (a run
killed before its report, or a failed run nobody resumed: the new run sends every record
again) and then removes run folders older than ``[oomnitza] keep_runs_days``, whether or not
Airflow still knows their runs.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from airflow_provider_oomnitza.bulk import OomnitzaError, new_portion, portion_for_run
from airflow_provider_oomnitza.storage import RUN_INFO, RunStorage

# Oomnitza's answers to a finalize that mean "nothing left to close": no such portion (nothing was
# ever sent to it), or already finalized / canceled.
CLOSED_STATUSES = frozenset({404, 409})


def start_run(storage: RunStorage, *, dag_id: str, run_id: str, testmode: bool) -> dict[str, Any]:
    """Write ``run.json`` for this run (extract), reusing the run's portion while it is open."""
    info = storage.read_json(RUN_INFO) if storage.exists(RUN_INFO) else {}
    if not info.get("portion") or info.get("portion_closed"):
        info = {"portion": new_portion()}
    info.update(dag_id=dag_id, run_id=run_id, started_at=time.time(), testmode=testmode, portion_closed=False)
    storage.write_json(RUN_INFO, info)
    return info


def run_portion(storage: RunStorage, dag_id: str, run_id: str) -> str:
    """The run's portion (runs from before ``run.json`` used a portion derived from their ids)."""
    if storage.exists(RUN_INFO):
        return storage.read_json(RUN_INFO)["portion"]
    return portion_for_run(dag_id, run_id)


def mark_closed(storage: RunStorage, **details: Any) -> None:
    info = storage.read_json(RUN_INFO) if storage.exists(RUN_INFO) else {}
    info.update(portion_closed=True, closed_at=time.time(), **details)
    storage.write_json(RUN_INFO, info)


def is_open(storage: RunStorage) -> bool:
    if not storage.exists(RUN_INFO):
        return False
    info = storage.read_json(RUN_INFO)
    return bool(info.get("portion")) and not info.get("portion_closed") and not info.get("testmode")


def close_earlier_portions(storage: RunStorage, oomnitza_hook: Callable[[], Any], log) -> list[str]:
    """Finalize the portions other runs of the DAG left open; the run ids whose portion was closed."""
    closed = []
    hook = None
    for other in storage.other_runs():
        if not is_open(other):
            continue
        info = other.read_json(RUN_INFO)
        hook = hook or oomnitza_hook()
        try:
            summary = hook.finalize(info["portion"])
        except OomnitzaError as exc:
            if exc.status not in CLOSED_STATUSES:
                log.warning("Run %s left Oomnitza portion %s open; finalizing it failed (%s); will try again "
                            "next run", info.get("run_id"), info["portion"], exc)
                continue
            log.warning("Run %s left Oomnitza portion %s open; Oomnitza has nothing to close (%s)",
                        info.get("run_id"), info["portion"], exc)
        else:
            counts = ", ".join(f"{k} {summary.get(k, 0)}" for k in ("received", "added", "updated", "unchanged",
                                                                    "skipped", "failed"))
            log.warning("Run %s did not finish (killed, or failed and not resumed) and left Oomnitza portion %s "
                        "open; finalized it now (%s). This run sends every record again; clearing tasks of "
                        "that run no longer works.", info.get("run_id"), info["portion"], counts)
        mark_closed(other, closed_by=str(storage.root.name))
        closed.append(info.get("run_id") or other.root.name)
    return closed


def remove_old_runs(storage: RunStorage, keep_days: int, log) -> list[str]:
    """Remove this DAG's run folders older than ``keep_days`` (0 keeps all); the folder names removed."""
    if keep_days <= 0:
        return []
    removed = []
    now = time.time()
    for other in storage.other_runs():
        age = other.age_days(now)
        if age is None or age <= keep_days:
            continue
        if is_open(other):
            log.warning("Run folder %s is %.0f days old but its Oomnitza portion is still open; kept until it "
                        "can be finalized", other, age)
            continue
        other.remove()
        removed.append(other.root.name)
    if removed:
        log.info("Removed %d run folder(s) older than keep_runs_days = %d: %s", len(removed), keep_days,
                 ", ".join(removed))
    return removed
