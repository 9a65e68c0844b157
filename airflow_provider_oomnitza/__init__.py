"""Apache Airflow provider that keeps Oomnitza in sync with device and people sources.

It reads the Oomnitza Connector's ``config.ini`` unchanged and turns each section into a DAG.
"""
__version__ = "0.1.0"
