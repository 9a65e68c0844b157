"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``)."""
from airflow_provider_oomnitza import __version__


def get_provider_info() -> dict:
    return {
        "package-name": "airflow-provider-oomnitza",
        "name": "Oomnitza",
        "description": "Sync devices and people into Oomnitza from Jamf, LDAP, Okta, CSV and more, "
        "driven by the Oomnitza Connector's config.ini.",
        "versions": [__version__],
        "integrations": [
            {"integration-name": "Oomnitza", "external-doc-url": "https://www.oomnitza.com/", "tags": ["service"]},
        ],
        "hooks": [
            {"integration-name": "Oomnitza", "python-modules": ["airflow_provider_oomnitza.hooks.oomnitza"]},
            {"integration-name": "Oomnitza sources", "python-modules": [
                "airflow_provider_oomnitza.hooks.base",
                "airflow_provider_oomnitza.hooks.files",
            ]},
        ],
        "operators": [
            {"integration-name": "Oomnitza", "python-modules": [
                "airflow_provider_oomnitza.operators.extract",
                "airflow_provider_oomnitza.operators.map",
                "airflow_provider_oomnitza.operators.push",
                "airflow_provider_oomnitza.operators.report",
            ]},
        ],
        "connection-types": [
            {
                "connection-type": "oomnitza",
                "hook-class-name": "airflow_provider_oomnitza.hooks.oomnitza.OomnitzaHook",
                "hook-name": "Oomnitza",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"host": "Oomnitza URL", "login": "Username (empty with an API token)",
                                   "password": "API token, or the user's password"},
                    "placeholders": {"host": "https://example.oomnitza.com", "extra": '{"verify": true}'},
                },
            },
        ],
        "config": {
            "oomnitza": {
                "description": "Oomnitza provider settings.",
                "options": {
                    "ini_path": {
                        "description": "Path of config.ini (the OOMNITZA_INI environment variable wins). "
                        "Default: $AIRFLOW_HOME/oomnitza/config.ini.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/opt/airflow/dags/oomnitza/config.ini",
                        "default": "",
                    },
                    "storage_url": {
                        "description": "Where sync runs hand records between tasks (OOMNITZA_STORAGE wins): any "
                        "ObjectStoragePath URL, e.g. s3://aws_default@bucket/oomnitza. Every worker must reach it. "
                        "Default: file://$AIRFLOW_HOME/oomnitza/runs.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "s3://aws_default@my-bucket/oomnitza",
                        "default": "",
                    },
                },
            },
        },
    }
