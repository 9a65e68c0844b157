"""Jamf Pro webhooks: an authenticated endpoint on the Airflow API server that turns device
events into coalesced sync runs of just those devices (see docs/webhooks.md).

``events`` reads Jamf's payloads, ``auth`` checks the caller, ``pending`` keeps accepted events
durably until a run has synced them, ``runs`` is the run side (which devices a run syncs),
``scheduling`` asks Airflow for a run, ``app`` is the FastAPI app the plugin mounts.
"""
