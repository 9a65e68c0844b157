"""Shows config.ini errors as an import error in the Airflow UI (airflow dags list-import-errors).

The healthy sections keep their DAGs: they come from oomnitza.py in this folder.
"""
from airflow_provider_oomnitza.dag_factory import raise_config_errors

raise_config_errors()
