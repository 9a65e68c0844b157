"""Provider metadata read by Airflow's ProvidersManager (entry point ``apache_airflow_provider``).

Each connection type declares its form: ``ui-field-behaviour`` relabels the standard fields and
``conn-fields`` adds typed fields (kept in the connection's extra under their own names, which
are the INI setting names); ``format: password`` marks a secret, masked by Airflow.
"""
from airflow_provider_oomnitza import __version__

OPTIONAL_TEXT = {"type": ["string", "null"]}
SECRET = {"type": ["string", "null"], "format": "password"}

# The TLS settings every connection type has (as every INI section), resolved by hooks/tls.py.
TLS_FIELDS = {
    "verify_ssl": {"label": "Verify TLS certificate",
                   "description": "Check the server's TLS certificate (turning this off logs a warning).",
                   "schema": {"type": ["boolean", "null"], "default": True}},
    "cacert_file": {"label": "CA bundle file",
                    "description": "PEM file of the CA(s) that signed the server's certificate, on every worker.",
                    "schema": OPTIONAL_TEXT},
    "ssl_protocol": {"label": "Minimum TLS version",
                     "description": "Empty: TLS 1.2 or later. tls1_3 raises the floor; tls, tls1, tls1_1 lower it "
                                    "(with a warning).",
                     "schema": {"type": ["string", "null"],
                                "enum": ["", "tls1_3", "tls1_2", "tls1_1", "tls1", "tls", "ssl", "sslv23", "ssl23",
                                         None]}},
}


def _connection(conn_type: str, hook: str, name: str, *, hidden: list[str], relabeling: dict, placeholders: dict,
                fields: dict | None = None) -> dict:
    """A connection type: the standard fields it uses (Extra hidden: every setting has its own field)."""
    return {
        "connection-type": conn_type,
        "hook-class-name": f"airflow_provider_oomnitza.hooks.{hook}",
        "hook-name": name,
        "ui-field-behaviour": {"hidden-fields": hidden, "relabeling": relabeling, "placeholders": placeholders},
        "conn-fields": {**(fields or {}), **TLS_FIELDS},
    }


CONNECTION_TYPES = [
    # Oomnitza keeps Extra: the http provider's own options (proxies, timeout) live there.
    _connection("oomnitza", "oomnitza.OomnitzaHook", "Oomnitza", hidden=["schema", "port"],
                relabeling={"host": "Oomnitza URL", "login": "Username (empty with an API token)",
                            "password": "API token, or the user's password"},
                placeholders={"host": "https://example.oomnitza.com", "extra": '{"proxies": {"https": "..."}}'}),
    _connection("jamf", "jamf.JamfHook", "Jamf Pro", hidden=["schema", "port", "extra"],
                relabeling={"host": "Jamf Pro URL", "login": "Username (empty with an API client)",
                            "password": "Password (empty with an API client)"},
                placeholders={"host": "https://example.jamfcloud.com"},
                fields={"client_id": {"label": "API client id",
                                      "description": "A Jamf Pro API client (instead of username and password).",
                                      "schema": OPTIONAL_TEXT},
                        "client_secret": {"label": "API client secret", "schema": SECRET}}),
    _connection("airwatch", "airwatch.AirWatchHook", "AirWatch / Workspace ONE UEM", hidden=["schema", "port", "extra"],
                relabeling={"host": "AirWatch API URL", "login": "Admin username (empty with OAuth)",
                            "password": "Password (empty with OAuth)"},
                placeholders={"host": "https://as123.awmdm.com"},
                fields={"api_token": {"label": "REST API key", "description": "Sent as aw-tenant-code.",
                                      "schema": SECRET},
                        "client_id": {"label": "OAuth client id", "description": "Instead of username and password.",
                                      "schema": OPTIONAL_TEXT},
                        "client_secret": {"label": "OAuth client secret", "schema": SECRET},
                        "token_url": {"label": "OAuth token URL",
                                      "description": "Your region's, e.g. https://na.uemauth.workspaceone.com/"
                                                     "connect/token.",
                                      "schema": OPTIONAL_TEXT}}),
    _connection("mobileiron", "mobileiron.MobileIronHook", "MobileIron", hidden=["schema", "extra"],
                relabeling={"host": "MobileIron URL", "login": "API user"},
                placeholders={"host": "https://na1.mobileiron.com"},
                fields={"api_version": {"label": "API version", "description": "1 = MobileIron Cloud, 2 = Core.",
                                        "schema": {"type": ["integer", "null"], "enum": [1, 2, None],
                                                   "default": 1}}}),
    _connection("appledep", "appledep.AppleDepHook", "Apple DEP", hidden=["schema", "port", "login", "extra"],
                relabeling={"host": "Apple DEP URL", "password": "Server token (JSON)"},
                placeholders={"host": "https://mdmenrollment.apple.com"}),
    # -- okta connection type --
    _connection("okta", "okta.OktaHook", "Okta", hidden=["schema", "port", "login", "extra"],
                relabeling={"host": "Okta org URL", "password": "API token"},
                placeholders={"host": "https://acme.okta.com"}),
    # -- end okta --
    # -- onelogin connection type --
    _connection("onelogin", "onelogin.OneLoginHook", "OneLogin", hidden=["schema", "port", "extra"],
                relabeling={"host": "OneLogin API host", "login": "Client ID (API credential)",
                            "password": "Client secret"},
                placeholders={"host": "https://example.onelogin.com"},
                fields={"api_token": {"label": "Deprecated API key",
                                      "description": "OneLogin's old API key (XML API), only without a client ID "
                                                     "and secret; prefer an API credential.",
                                      "schema": SECRET}}),
    # -- end onelogin --
    # -- zendesk connection type --
    _connection("zendesk", "zendesk.ZendeskHook", "Zendesk", hidden=["schema", "port", "extra"],
                relabeling={"host": "Zendesk URL or subdomain", "login": "Agent e-mail (empty with OAuth)",
                            "password": "API token (empty with OAuth)"},
                placeholders={"host": "https://acme.zendesk.com", "login": "admin@example.com"},
                fields={"oauth_token": {"label": "OAuth access token",
                                        "description": "Sent as Bearer, instead of e-mail and API token (Zendesk "
                                                       "retires API tokens on 30 April 2027).",
                                        "schema": SECRET}}),
    # -- end zendesk --
    # -- bamboohr connection type --
    _connection("bamboohr", "bamboohr.BambooHRHook", "BambooHR", hidden=["schema", "port", "extra"],
                relabeling={"host": "BambooHR API URL (empty: https://api.bamboohr.com)",
                            "login": "Company domain (the x of x.bamboohr.com)", "password": "API key"},
                placeholders={"host": "https://api.bamboohr.com", "login": "acme"}),
    # -- end bamboohr --
    # -- ldap connection type --
    _connection("ldap", "ldap.LdapHook", "LDAP / Active Directory", hidden=["schema", "extra"],
                relabeling={"host": "LDAP URL (ldap:// or ldaps://)", "login": "Bind DN (or anonymous)",
                            "password": "Bind password"},
                placeholders={"host": "ldaps://dc1.example.com:636",
                              "login": "CN=svc-oomnitza,OU=Service,DC=example,DC=com"},
                fields={"base_dn": {"label": "Base DN", "description": "Where the search starts.",
                                    "schema": OPTIONAL_TEXT},
                        "filter": {"label": "Search filter", "description": "Default (objectClass=*).",
                                   "schema": OPTIONAL_TEXT},
                        "protocol_version": {"label": "LDAP protocol version",
                                             "schema": {"type": ["integer", "null"], "enum": [2, 3, None],
                                                        "default": 3}},
                        "start_tls": {"label": "StartTLS", "description": "Upgrade an ldap:// connection to TLS.",
                                      "schema": {"type": ["boolean", "null"], "default": False}}}),
    # -- end ldap --
    # -- sccm connection type --
    # An OdbcHook's form: host/port, schema = database, login/password; Extra holds more ODBC keywords.
    _connection("sccm", "sccm.SccmHook", "Microsoft SCCM (ConfigMgr)", hidden=[],
                relabeling={"host": "SQL Server (host or host\\instance)", "schema": "Site database (CM_<site code>)",
                            "login": "SQL login (empty with Windows authentication)",
                            "password": "Password (empty with Windows authentication)"},
                placeholders={"host": "sccm-sql.example.com", "schema": "CM_ABC", "port": "1433",
                              "extra": '{"ApplicationIntent": "ReadOnly"}'},
                fields={"authentication": {"label": "Authentication",
                                           "description": "SQL Server (login and password) or Windows (the worker's "
                                                          "Kerberos ticket: Trusted_Connection=yes).",
                                           "schema": {"type": ["string", "null"],
                                                      "enum": ["SQL Server", "Windows", None],
                                                      "default": "SQL Server"}},
                        "driver": {"label": "ODBC driver",
                                   "description": "As unixODBC lists it (odbcinst -q -d); empty: the newest ODBC "
                                                  "Driver N for SQL Server, else FreeTDS.",
                                   "schema": OPTIONAL_TEXT}}),
    # -- end sccm --
    # -- jasper connection type --
    _connection("jasper", "jasper.JasperHook", "Jasper (Cisco Control Center)", hidden=["schema", "port", "extra"],
                relabeling={"host": "Terminal WSDL URL", "login": "API username", "password": "Password"},
                placeholders={"host": "https://api.jasperwireless.com/ws/schema/Terminal.wsdl"},
                fields={"api_token": {"label": "API license key", "description": "Sent as licenseKey in every call.",
                                      "schema": SECRET},
                        "service_url": {"label": "Service address",
                                        "description": "The Terminal service (https://<host>/ws/service/terminal); "
                                                       "empty: the address the WSDL names.",
                                        "schema": OPTIONAL_TEXT}}),
    # -- end jasper --
    # -- chef connection type --
    _connection("chef", "chef.ChefHook", "Chef Infra Server", hidden=["schema", "port", "extra"],
                relabeling={"host": "Chef server URL with organization", "login": "Client (or user) name",
                            "password": "Private key (PEM text; empty with a key file)"},
                placeholders={"host": "https://chef-server/organizations/ORG"},
                fields={"key_file": {"label": "Private key file",
                                     "description": "Path of the client's PEM key on every worker, instead of "
                                                    "the key in Password.",
                                     "schema": OPTIONAL_TEXT}}),
    # -- end chef --
]


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
                # -- okta hook --
                "airflow_provider_oomnitza.hooks.okta",
                # -- end okta --
                # -- onelogin hook --
                "airflow_provider_oomnitza.hooks.onelogin",
                # -- end onelogin --
                # -- zendesk hook --
                "airflow_provider_oomnitza.hooks.zendesk",
                # -- end zendesk --
                # -- bamboohr hook --
                "airflow_provider_oomnitza.hooks.bamboohr",
                # -- end bamboohr --
                # -- ldap hook --
                "airflow_provider_oomnitza.hooks.ldap",
                # -- end ldap --
                # -- sccm hook --
                "airflow_provider_oomnitza.hooks.sccm",
                # -- end sccm --
                # -- jasper hook --
                "airflow_provider_oomnitza.hooks.jasper",
                # -- end jasper --
                # -- chef hook --
                "airflow_provider_oomnitza.hooks.chef",
                # -- end chef --
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
        "connection-types": CONNECTION_TYPES,
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
