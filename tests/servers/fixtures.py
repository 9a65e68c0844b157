"""pytest fixtures for the real servers.

``tests/conftest.py`` imports them, so every test can ask for them, and each is built once a
session (importing them again into a test module or another conftest would make a second,
separate one: a second 3000-machine database).

Both are session-scoped and shared: tests must not change their data (start a private
``SlapdServer(...)`` or ``SccmDatabase(...)`` for that).
"""
from __future__ import annotations

import pytest

from tests.servers.sccm_db import SccmDatabase
from tests.servers.slapd import SlapdServer

LDAP_PEOPLE = 3000
LDAP_COMPUTERS = 300
SCCM_MACHINES = 3000


@pytest.fixture(scope="session")
def slapd_server():
    """A running slapd with 3000 AD-like people and 300 computers (size limit 1000)."""
    with SlapdServer(people=LDAP_PEOPLE, computers=LDAP_COMPUTERS) as server:
        yield server


@pytest.fixture(scope="session")
def sccm_database():
    """A ConfigMgr site database with 3000 machines on the local PostgreSQL, dropped at the end."""
    with SccmDatabase(machines=SCCM_MACHINES) as database:
        yield database
