"""Secrets found at run time (tokens, resolved passwords) are masked in every task log."""
from __future__ import annotations


def mask(secret: str | None) -> None:
    """Register a secret with Airflow's log masker (no-op outside Airflow or for empty values)."""
    if not secret:
        return
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - Airflow is a dependency; kept for plain-script use
        return
    mask_secret(secret)
