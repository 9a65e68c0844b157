"""The Airflow Asset a sync updates: Oomnitza's assets or users of one tenant.

A report task that lists this asset in ``outlets`` records an asset event when it succeeds, so
a downstream DAG can run on "Oomnitza assets updated" with ``schedule=[oomnitza_asset(...)]``.
The URI names the tenant's host and the record type, ``oomnitza://<host>/<record_type>``; the
asset's name is the URI (Airflow's default), so ``Asset("oomnitza://acme.oomnitza.com/assets")``
written by hand is the same asset.
"""
from __future__ import annotations

from urllib.parse import urlsplit

RECORD_TYPES = ("assets", "users")


def oomnitza_asset_uri(record_type: str, tenant_url: str) -> str:
    if record_type not in RECORD_TYPES:
        raise ValueError(f"record_type {record_type!r}: expected one of {', '.join(RECORD_TYPES)}")
    parts = urlsplit(tenant_url if "://" in tenant_url else f"https://{tenant_url}")
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"tenant_url {tenant_url!r}: expected the Oomnitza URL, e.g. https://acme.oomnitza.com")
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"oomnitza://{host}/{record_type}"


def oomnitza_asset(record_type: str, tenant_url: str):
    """``Asset("oomnitza://<host>/<record_type>")`` for ``[oomnitza] url`` = ``tenant_url``."""
    from airflow.sdk import Asset

    return Asset(oomnitza_asset_uri(record_type, tenant_url))
