"""The Jamf Pro webhook endpoint as an Airflow plugin: a FastAPI app served by the API server.

URL: ``<Airflow base URL>/oomnitza/webhook/<section>`` (see docs/webhooks.md). Airflow does not
authenticate plugin apps; the app checks Jamf's Basic or header credentials itself.
"""
from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from airflow_provider_oomnitza.webhooks.app import URL_PREFIX, create_app


class OomnitzaWebhookPlugin(AirflowPlugin):
    name = "oomnitza_webhook"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "Oomnitza Jamf Pro webhooks"}]
