"""Oomnitza sync DAGs: one per enabled section of config.ini (see the provider's README).

The INI path comes from OOMNITZA_INI, Airflow's [oomnitza] ini_path, or
$AIRFLOW_HOME/oomnitza/config.ini.
"""
from airflow_provider_oomnitza.dag_factory import create_dags

globals().update(create_dags())
