"""Packaging for airflow-provider-oomnitza (setuptools; see README for the one-line installs)."""
import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "airflow_provider_oomnitza/__init__.py").read_text())[1]

setup(
    name="airflow-provider-oomnitza",
    version=VERSION,
    description="Apache Airflow provider that syncs devices and people into Oomnitza from your existing config.ini",
    long_description=(HERE / "README.md").read_text() if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    keywords=["airflow-provider", "oomnitza", "airflow"],
    classifiers=["Framework :: Apache Airflow", "Framework :: Apache Airflow :: Provider",
                 "Programming Language :: Python :: 3.11"],
    python_requires=">=3.11",
    packages=find_packages(include=["airflow_provider_oomnitza", "airflow_provider_oomnitza.*"]),
    include_package_data=True,
    package_data={"airflow_provider_oomnitza": ["example/*"]},
    # Every package the provider imports, and nothing else: providers come with the features that use them.
    install_requires=[
        "apache-airflow>=3.3",  # later minor releases too; CI runs on the version installed
        "apache-airflow-providers-http>=6.3",  # OomnitzaHook is an HttpHook
        "apache-airflow-providers-hashicorp>=4.3",  # VaultHook for vault_keys, and Airflow's Vault secrets backend
        "requests>=2.32",
        "certifi",  # the default CA bundle of hooks/tls.py (requests' own)
        "tenacity>=9",
        "pendulum>=3",
        "pydantic>=2.10",
        "pydantic-core",  # imported for its error type; versioned by pydantic
        "croniter>=2",  # schedule checks in config/settings.py
        "tabulate>=0.9",  # the report task's table
        "requests-oauthlib>=2",  # Apple DEP's OAuth1-signed session call
        "cryptography>=42",  # Chef request signing (RSA, hooks/chef.py); Airflow brings it too
    ],
    extras_require={
        "ldap": ["ldap3>=2.9"],
        "jasper": ["zeep>=4.3"],
        "sccm": ["apache-airflow-providers-odbc>=4.10"],  # SCCM reads its SQL views through OdbcHook
        # celery 5.7 removed what the celery provider 3.26 imports (celery.backends.database.retry)
        "celery": ["apache-airflow-providers-celery>=3.26", "celery<5.7"],
        "postgres": ["psycopg2-binary>=2.9", "asyncpg>=0.30"],  # Airflow's metadata DB on PostgreSQL
        "test": [
            "pytest>=8", "pytest-timeout>=2.3", "aiohttp>=3.10", "ldap3>=2.9", "zeep>=4.3",
            "trustme>=1.1",  # certificates for the HTTPS simulators
            # vendor clients run unchanged against the simulators
            "jamf-pro-sdk[webhooks]>=0.9a1", "okta>=2.9", "onelogin>=3", "zenpy>=2.0", "PyBambooHR>=0.8",
            "hvac>=2",  # the Vault simulator is checked with the real client
            "pyodbc>=5", "sqlglot>=25",  # SCCM's SQL through a real ODBC driver, and checked as T-SQL
            "apache-airflow-providers-odbc>=4.10",  # SccmHook is an OdbcHook
            "hypothesis>=6.100",  # property-based fuzzing of config, mappings and readers
            # the distributed integration test: CeleryExecutor on PostgreSQL and Redis, driven by the REST client
            "apache-airflow-providers-celery>=3.26", "celery<5.7", "psycopg2-binary>=2.9", "asyncpg>=0.30",
            "apache-airflow-client>=3.3",
            "websockets>=12",  # the DevTools client of the browser tests
        ],
    },
    entry_points={
        "apache_airflow_provider": ["provider_info=airflow_provider_oomnitza.get_provider_info:get_provider_info"],
        "console_scripts": ["oomnitza-airflow=airflow_provider_oomnitza.cli:main"],
        "airflow.plugins": [
            "oomnitza_sync_view=airflow_provider_oomnitza.ui.plugin:OomnitzaSyncViewPlugin",
            "oomnitza_webhook=airflow_provider_oomnitza.plugins.webhook:OomnitzaWebhookPlugin",
        ],
    },
)
