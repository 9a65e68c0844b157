from tests.servers.fixtures import sccm_database, slapd_server  # noqa: F401
