"""Airflow discovers the provider, its hook and its connection type."""
import os
import subprocess
import sys
from pathlib import Path

from airflow_provider_oomnitza.get_provider_info import get_provider_info


def airflow(*args, home: Path) -> str:
    env = dict(os.environ, AIRFLOW_HOME=str(home))
    result = subprocess.run([sys.executable, "-m", "airflow", *args], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_provider_info_names_real_modules():
    import importlib

    info = get_provider_info()
    assert info["package-name"] == "airflow-provider-oomnitza"
    for group in ("hooks", "operators"):
        for entry in info[group]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
    types = {conn["connection-type"] for conn in info["connection-types"]}
    assert types == {"oomnitza", "jamf", "airwatch", "mobileiron", "appledep"}
    for conn in info["connection-types"]:
        module, _, cls = conn["hook-class-name"].rpartition(".")
        hook = getattr(importlib.import_module(module), cls)
        assert hook.conn_type == conn["connection-type"]
        assert set(conn["ui-field-behaviour"]["hidden-fields"]) <= {"schema", "port", "login", "extra"}


def test_airflow_lists_the_provider_and_its_hook(tmp_path):
    assert "airflow-provider-oomnitza" in airflow("providers", "list", home=tmp_path)
    hooks = airflow("providers", "hooks", home=tmp_path)
    assert "airflow_provider_oomnitza.hooks.oomnitza.OomnitzaHook" in hooks and "oomnitza_conn_id" in hooks
    for cls in ("jamf.JamfHook", "airwatch.AirWatchHook", "mobileiron.MobileIronHook", "appledep.AppleDepHook"):
        assert f"airflow_provider_oomnitza.hooks.{cls}" in hooks
    full = airflow("providers", "get", "airflow-provider-oomnitza", "--full", "--output", "json", home=tmp_path)
    assert "airflow_provider_oomnitza.operators.push" in full and '"connection-type": "oomnitza"' in full
