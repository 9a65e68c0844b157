"""The run side of webhooks: which devices a run syncs, and forgetting the events it synced.

* A run with ``devices`` in its conf (``airflow dags trigger <dag> --conf '{"devices": [...]}'``
  or the REST API with the same body) syncs those devices: Jamf Pro ids or serial numbers.
* An asset-triggered run (the webhook endpoint asked for it) syncs every device of the pending
  events present when its extract starts, each device once, and lists the event files it took
  in the run folder (``webhook_events.json``).
* Any other run (cron, manual without ``devices``) is the full sync, as before.

The report task calls :func:`clear_consumed` once everything succeeded; a failed run leaves the
files, so the next run (or a cleared and re-run one) syncs the devices again.
"""
from __future__ import annotations

import logging
from typing import Any, Iterator

from airflow_provider_oomnitza.webhooks.pending import PendingEvents

CONSUMED = "webhook_events.json"
WEBHOOK_SOURCES = frozenset({"casper"})  # sources whose hook reads single devices (records_by_keys)
ASSET_TRIGGERED = "asset_triggered"

log = logging.getLogger(__name__)


def supports_webhooks(section) -> bool:
    return section.type_name in WEBHOOK_SOURCES


def devices_param():
    from airflow.sdk import Param

    return Param([], type="array", items={"type": ["string", "integer"]}, title="Devices",
                 description="Sync only these devices: Jamf Pro ids or serial numbers. Empty = the whole source "
                             "(or, for a webhook run, the devices of the pending webhook events).")


def requested_devices(context) -> list[str]:
    devices = (context.get("params") or {}).get("devices") or []
    if isinstance(devices, (str, int)):
        devices = [devices]
    return [str(d).strip() for d in devices if str(d).strip()]


def is_webhook_run(context) -> bool:
    dag_run = context.get("dag_run")
    run_type = getattr(dag_run, "run_type", None)
    return getattr(run_type, "value", run_type) == ASSET_TRIGGERED


def device_records(hook, section: str, context, storage) -> Iterator[dict] | None:
    """The records this run syncs when it is a devices or webhook run; None for a full sync."""
    devices = requested_devices(context)
    if devices:
        storage.write_json(CONSUMED, {"files": [], "devices": devices, "from": "conf"})
        log.info("Syncing %d device(s) named in the run's conf: %s", len(devices), ", ".join(devices[:20]))
        return hook.records_by_keys(devices)
    if not is_webhook_run(context):
        return None
    pending = PendingEvents(section)
    files: list[str] = []
    keys: dict[str, None] = {}
    for name, event in pending.snapshot():
        files.append(name)
        key = str((event or {}).get("device_key") or "").strip()
        if key:
            keys[key] = None
        else:
            log.warning("Pending webhook event %s/%s is unreadable or names no device; it is dropped", pending, name)
    storage.write_json(CONSUMED, {"files": files, "devices": list(keys), "from": str(pending)})
    log.info("Webhook run: %d pending event(s) in %s name %d device(s)", len(files), pending, len(keys))
    return hook.records_by_keys(keys)


def clear_consumed(storage, section: str) -> dict[str, Any]:
    """Remove the pending event files this (successful) run synced; what was removed."""
    if not storage.exists(CONSUMED):
        return {"webhook_events_cleared": 0}
    taken = storage.read_json(CONSUMED)
    removed = PendingEvents(section).remove(taken.get("files") or [])
    log.info("Removed %d synced webhook event(s) of [%s]", removed, section)
    return {"webhook_events_cleared": removed}
