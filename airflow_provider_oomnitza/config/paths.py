"""Where the INI file is: ``OOMNITZA_INI``, else Airflow's ``[oomnitza] ini_path``, else
``$AIRFLOW_HOME/oomnitza/config.ini``."""
from __future__ import annotations

import os
from pathlib import Path


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow")


def default_ini_path(use_airflow_config: bool = True) -> Path:
    env = os.environ.get("OOMNITZA_INI")
    if env:
        return Path(env)
    if use_airflow_config:
        configured = _airflow_ini_option()
        if configured:
            return Path(configured)
    return airflow_home() / "oomnitza" / "config.ini"


def _airflow_ini_option() -> str | None:
    env = os.environ.get("AIRFLOW__OOMNITZA__INI_PATH")
    if env:
        return env
    try:
        from airflow.sdk import conf
    except ImportError:  # the CLI without Airflow
        return None
    return conf.get("oomnitza", "ini_path", fallback=None) or None
