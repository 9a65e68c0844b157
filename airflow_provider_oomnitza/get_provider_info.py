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
                "airflow_provider_oomnitza.hooks.http_client",
                "airflow_provider_oomnitza.hooks.files",
                "airflow_provider_oomnitza.hooks.jamf",
                "airflow_provider_oomnitza.hooks.airwatch",
                "airflow_provider_oomnitza.hooks.mobileiron",
                "airflow_provider_oomnitza.hooks.appledep",
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
            {
                "connection-type": "jamf",
                "hook-class-name": "airflow_provider_oomnitza.hooks.jamf.JamfHook",
                "hook-name": "Jamf Pro",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"host": "Jamf Pro URL", "login": "Username (empty with an API client)",
                                   "password": "Password"},
                    "placeholders": {"host": "https://example.jamfcloud.com",
                                     "extra": '{"client_id": "...", "client_secret": "..."}'},
                },
            },
            {
                "connection-type": "airwatch",
                "hook-class-name": "airflow_provider_oomnitza.hooks.airwatch.AirWatchHook",
                "hook-name": "AirWatch / Workspace ONE UEM",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"host": "AirWatch API URL", "login": "Admin username (empty with OAuth)",
                                   "password": "Password (empty with OAuth)"},
                    "placeholders": {"host": "https://as123.awmdm.com",
                                     "extra": '{"api_token": "REST API key"} or {"client_id": "...", '
                                              '"client_secret": "...", "token_url": "https://na.uemauth.'
                                              'workspaceone.com/connect/token"}'},
                },
            },
            {
                "connection-type": "mobileiron",
                "hook-class-name": "airflow_provider_oomnitza.hooks.mobileiron.MobileIronHook",
                "hook-name": "MobileIron",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema"],
                    "relabeling": {"host": "MobileIron URL", "login": "API user"},
                    "placeholders": {"host": "https://na1.mobileiron.com", "extra": '{"api_version": 1}'},
                },
            },
            {
                "connection-type": "appledep",
                "hook-class-name": "airflow_provider_oomnitza.hooks.appledep.AppleDepHook",
                "hook-name": "Apple DEP",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login"],
                    "relabeling": {"host": "Apple DEP URL", "password": "Server token (JSON)"},
                    "placeholders": {"host": "https://mdmenrollment.apple.com", "extra": '{"verify_ssl": true}'},
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
