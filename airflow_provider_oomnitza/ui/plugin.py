"""The sync view as an Airflow 3.3 plugin, served by the API server.

- ``fastapi_apps``: the view's FastAPI app, mounted at ``<base URL>/oomnitza-sync``;
- ``external_views``: an entry "Oomnitza" (with its own icon) in the UI's left navigation
  bar that opens the view in Airflow's page frame (``/plugin/oomnitza-sync``), and "Oomnitza config"
  for the config page (``/plugin/oomnitza-config``).

Loaded through the provider's ``airflow.plugins`` entry point, or ``plugins/oomnitza_sync_view.py``.
"""
from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_oomnitza.ui.app import URL_PREFIX, create_app

PLUGIN_NAME = "oomnitza_sync_view"
URL_ROUTE = "oomnitza-sync"
CONFIG_URL_ROUTE = "oomnitza-config"


def _base_path() -> str:
    """The path of ``[api] base_url`` (empty when Airflow is served at the host's root)."""
    from urllib.parse import urlsplit

    from airflow.configuration import conf

    return urlsplit(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")


class OomnitzaSyncViewPlugin(AirflowPlugin):
    name = PLUGIN_NAME
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Oomnitza sync view"}]
    external_views = [{
        "name": "Oomnitza",
        "href": f"{_base_path()}{URL_PREFIX}/",
        "destination": "nav",  # no category: a top-level item of the navigation bar
        "nav_top_level": True,  # with more than one nav view, Airflow groups the others under "Plugins"
        "url_route": URL_ROUTE,
        "icon": f"{_base_path()}{URL_PREFIX}/icon.svg",
        "icon_dark_mode": f"{_base_path()}{URL_PREFIX}/icon.svg?dark=1",
    }, {
        "name": "Oomnitza config",
        "href": f"{_base_path()}{URL_PREFIX}/config/",
        "destination": "nav",
        "nav_top_level": True,
        "url_route": CONFIG_URL_ROUTE,
        "icon": f"{_base_path()}{URL_PREFIX}/icon.svg?config=1",
        "icon_dark_mode": f"{_base_path()}{URL_PREFIX}/icon.svg?config=1&dark=1",
    }]
