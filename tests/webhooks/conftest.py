"""Webhook tests reuse the DAG tests' end-to-end helpers."""
from tests.dags.conftest import sync_env  # noqa: F401  (fixture)
