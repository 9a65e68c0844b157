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
                },
            },
        },
    }
