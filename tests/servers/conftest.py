from tests.servers.fixtures import slapd_server  # noqa: F401
