"""The Oomnitza sync view in Airflow's UI (a plugin; see docs/ui.md) and the Asset a sync updates."""
from airflow_provider_oomnitza.ui.assets import oomnitza_asset, oomnitza_asset_uri

__all__ = ["oomnitza_asset", "oomnitza_asset_uri"]
