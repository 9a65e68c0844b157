"""Jamf Pro webhooks for deployments that load plugins from the plugins folder.

When the provider is installed as a package its ``airflow.plugins`` entry point already loads
the plugin; it is then not defined here again (Airflow would report a duplicate).
"""
from importlib.metadata import entry_points

if not any(ep.name == "oomnitza_webhook" for ep in entry_points(group="airflow.plugins")):
    from airflow_provider_oomnitza.plugins.webhook import OomnitzaWebhookPlugin  # noqa: F401
