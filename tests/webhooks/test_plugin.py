"""The plugin: what Airflow mounts, and the plugins-folder file that avoids a duplicate registration."""
import importlib.util
from importlib.metadata import EntryPoint
from unittest import mock

from tests.conftest import REPO


def load_plugins_folder_file():
    spec = importlib.util.spec_from_file_location("oomnitza_webhook_folder", REPO / "plugins" / "oomnitza_webhook.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_plugin_mounts_the_webhook_app_under_oomnitza_webhook():
    from airflow.plugins_manager import AirflowPlugin

    from airflow_provider_oomnitza.plugins.webhook import OomnitzaWebhookPlugin

    assert issubclass(OomnitzaWebhookPlugin, AirflowPlugin) and OomnitzaWebhookPlugin.name == "oomnitza_webhook"
    [app] = OomnitzaWebhookPlugin.fastapi_apps
    assert app["url_prefix"] == "/oomnitza/webhook"
    assert [r.path for r in app["app"].routes if getattr(r, "methods", None)] == ["/{path:path}"]


def test_the_plugins_folder_file_defines_the_plugin_only_without_the_entry_point():
    with mock.patch("importlib.metadata.entry_points", return_value=[]):  # a plugins-folder-only deployment
        assert hasattr(load_plugins_folder_file(), "OomnitzaWebhookPlugin")
    installed = [EntryPoint("oomnitza_webhook", "airflow_provider_oomnitza.plugins.webhook:OomnitzaWebhookPlugin",
                            "airflow.plugins")]
    with mock.patch("importlib.metadata.entry_points", return_value=installed):
        assert not hasattr(load_plugins_folder_file(), "OomnitzaWebhookPlugin")
