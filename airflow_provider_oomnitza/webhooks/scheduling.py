"""How an accepted event becomes a run: an Asset event on the section's webhook asset.

A Jamf section's DAG is scheduled on ``Asset("oomnitza://webhook/<section>")`` (together with
its cron schedule, if any, through ``AssetOrTimeSchedule``). The endpoint records an asset event
after storing the event file. The scheduler does the coalescing: while the DAG has a run
queued or running (``max_active_runs=1``), further events only keep one queue entry, and the
next run takes every pending file at once. An event whose section already has a queue entry
adds no asset event at all (the queued run has not started, so it will see the new file).

The asset event is written with Airflow's ``AssetManager`` from the API-server process (as the
REST endpoint ``POST /api/v2/assets/events`` does); it is internal API, kept to this module.
"""
from __future__ import annotations

from typing import Any

SCHEME = "oomnitza"


def asset_uri(section: str) -> str:
    return f"{SCHEME}://webhook/{section}"


def webhook_asset(section: str):
    from airflow.sdk import Asset

    return Asset(name=f"oomnitza_webhook_{section}", uri=asset_uri(section), group="oomnitza-webhooks")


def schedule_with_webhooks(section: str, schedule: str | None):
    """The DAG ``schedule`` for a section that takes webhooks: its asset, or its asset or its cron."""
    from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable

    asset = webhook_asset(section)
    if not schedule:
        return [asset]
    if schedule in ("@once", "@continuous"):
        from airflow.sdk.definitions.timetables.simple import ContinuousTimetable, OnceTimetable

        timetable = OnceTimetable() if schedule == "@once" else ContinuousTimetable()
    else:
        timetable = CronTriggerTimetable(schedule, timezone="UTC")
    return AssetOrTimeSchedule(timetable=timetable, assets=[asset])


def request_run(section: str, extra: dict[str, Any]) -> str:
    """Ask the scheduler for a run of the section's DAG; what happened, in a few words.

    Blocking (database); call it from a worker thread. Raises on database errors.
    """
    from sqlalchemy import select

    from airflow.assets.manager import asset_manager
    from airflow.models.asset import AssetDagRunQueue, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        asset = session.scalar(select(AssetModel).where(AssetModel.uri == asset_uri(section)).limit(1))
        if asset is None or asset.active is None:
            return "no DAG listens yet (is the DAG parsed and unpaused?); the event waits for the next run"
        queued = session.scalar(
            select(AssetDagRunQueue.target_dag_id).where(AssetDagRunQueue.asset_id == asset.id).limit(1))
        if queued:
            return f"a run of {queued} is already queued and will include this event"
        asset_manager.register_asset_change(asset=asset, extra=extra, source_is_api=True, session=session)
        return "run requested"
