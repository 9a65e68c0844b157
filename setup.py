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
    install_requires=[
        "apache-airflow>=3.3,<3.4",
        "apache-airflow-providers-http>=6.3",
        "apache-airflow-providers-common-io>=1.11",
        "apache-airflow-providers-hashicorp>=4.8",
        "apache-airflow-providers-standard>=1.21",
        "requests>=2.32",
        "tenacity>=9",
        "pendulum>=3",
        "pydantic>=2.10",
        "requests-oauthlib>=2",  # Apple DEP's OAuth1-signed session call
    ],
    extras_require={
        "ldap": ["ldap3>=2.9"],
        "jasper": ["zeep>=4.3"],
        "sccm": ["pyodbc>=5"],
        "celery": ["apache-airflow-providers-celery>=3.26"],
        "test": ["pytest>=8", "pytest-timeout>=2.3", "aiohttp>=3.10", "ldap3>=2.9", "zeep>=4.3", "hvac>=2"],
    },
    entry_points={
        "apache_airflow_provider": ["provider_info=airflow_provider_oomnitza.get_provider_info:get_provider_info"],
        "console_scripts": ["oomnitza-airflow=airflow_provider_oomnitza.cli:main"],
    },
)
