"""The SCCM database fixture, reached as the hook will: pyodbc + unixODBC + psqlODBC."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyodbc
import pytest
import sqlglot

from tests.servers import sccm_data
from tests.servers.sccm_db import SccmDatabase

REPO = Path(__file__).resolve().parents[2]

# The original connector's 1.81 hardware query, written as T-SQL: one row per disk x adapter.
ORIGINAL_JOIN = """
SELECT cs.ResourceID AS resource_id, cs.Name0 AS computer_name, p.Name0 AS cpu, d.Size0 AS hdd_total_mb,
       n.IPAddress0 AS ipv4_address, n.MACAddress0 AS mac_address, m.TotalPhysicalMemory0 AS memory_total_kb,
       se.SerialNumber0 AS serial_number, os.Caption0 AS os_version
FROM dbo.v_GS_COMPUTER_SYSTEM cs
LEFT JOIN dbo.v_GS_PROCESSOR p ON p.ResourceID = cs.ResourceID AND p.GroupID = 1
LEFT JOIN dbo.v_GS_DISK d ON d.ResourceID = cs.ResourceID
LEFT JOIN dbo.v_GS_NETWORK_ADAPTER_CONFIGURATION n
       ON n.ResourceID = cs.ResourceID AND n.MACAddress0 IS NOT NULL AND n.IPAddress0 IS NOT NULL
LEFT JOIN dbo.v_GS_X86_PC_MEMORY m ON m.ResourceID = cs.ResourceID
LEFT JOIN dbo.v_GS_SYSTEM_ENCLOSURE se ON se.ResourceID = cs.ResourceID
LEFT JOIN dbo.v_GS_OPERATING_SYSTEM os ON os.ResourceID = cs.ResourceID
"""

# One row per machine: multi-row classes aggregated or ranked before the join.
ONE_ROW_PER_MACHINE = """
SELECT cs.ResourceID AS resource_id, cs.Name0 AS computer_name, bios.SerialNumber0 AS serial_number,
       disk.hdd_total_mb, nic.ipv4_address, nic.mac_address, sys.Last_Logon_Timestamp0 AS last_logon
FROM dbo.v_GS_COMPUTER_SYSTEM cs
JOIN dbo.v_R_System sys ON sys.ResourceID = cs.ResourceID
LEFT JOIN dbo.v_GS_PC_BIOS bios ON bios.ResourceID = cs.ResourceID
LEFT JOIN (SELECT ResourceID, SUM(Size0) AS hdd_total_mb FROM dbo.v_GS_DISK GROUP BY ResourceID) disk
       ON disk.ResourceID = cs.ResourceID
LEFT JOIN (SELECT ResourceID, IPAddress0 AS ipv4_address, MACAddress0 AS mac_address,
                  ROW_NUMBER() OVER (PARTITION BY ResourceID ORDER BY Index0) AS rn
           FROM dbo.v_GS_NETWORK_ADAPTER_CONFIGURATION
           WHERE MACAddress0 IS NOT NULL AND IPAddress0 IS NOT NULL) nic
       ON nic.ResourceID = cs.ResourceID AND nic.rn = 1
"""

SOFTWARE = """
SELECT DisplayName0 AS name, Version0 AS version, Publisher0 AS publisher
FROM dbo.v_GS_ADD_REMOVE_PROGRAMS WHERE ResourceID = ?
UNION
SELECT DisplayName0 AS name, Version0 AS version, Publisher0 AS publisher
FROM dbo.v_GS_ADD_REMOVE_PROGRAMS_64 WHERE ResourceID = ?
"""


@pytest.fixture
def conn(sccm_database):
    connection = sccm_database.connect()
    yield connection
    connection.close()


def test_pyodbc_connects_through_the_postgresql_odbc_driver_and_counts_machines(sccm_database, conn):
    assert sccm_database.connection_string().startswith("Driver={PostgreSQL Unicode};")
    assert conn.getinfo(pyodbc.SQL_DRIVER_NAME).startswith("psqlodbc")
    assert conn.execute("SELECT COUNT(*) FROM v_R_System").fetchval() == sccm_database.machines
    assert conn.execute("SELECT COUNT(*) FROM v_GS_COMPUTER_SYSTEM").fetchval() == len(sccm_database.fleet.inventoried)


def test_every_configmgr_view_exists_in_dbo_and_resolves_without_it(conn):
    views = {row[0] for row in conn.execute(
        "SELECT table_name FROM information_schema.views WHERE table_schema = 'dbo'").fetchall()}
    assert views == {name.lower() for name in sccm_data.VIEWS}
    for name in sccm_data.VIEWS:
        assert conn.execute(f"SELECT COUNT(*) FROM dbo.{name}").fetchval() == \
            conn.execute(f"SELECT COUNT(*) FROM {name}").fetchval()


def test_unquoted_mixed_case_names_work_and_come_back_lower_case(sccm_database, conn):
    machine = sccm_database.fleet.inventoried[0]
    cur = conn.execute("SELECT sys.ResourceID, sys.Name0, sys.Name0 AS computer_name "
                       "FROM dbo.v_R_System sys WHERE sys.ResourceID = ?", machine.resource_id)
    assert tuple(cur.fetchone()) == (machine.resource_id, machine.name, machine.name)
    assert [d[0] for d in cur.description] == ["resourceid", "name0", "computer_name"]


@pytest.mark.parametrize("quoted", ['"ResourceID"', "[ResourceID]"])
def test_quoted_identifiers_do_not_resolve(conn, quoted):
    with pytest.raises(pyodbc.ProgrammingError, match="42703|42601"):
        conn.execute(f"SELECT {quoted} FROM v_R_System")


def test_the_originals_join_duplicates_machines_with_several_disks_or_adapters(sccm_database, conn):
    rows = conn.execute(ORIGINAL_JOIN).fetchall()
    machines = sccm_database.fleet.inventoried
    assert len(rows) == sum(max(1, m.disks) * max(1, m.usable_adapters) for m in machines)
    assert len({r.resource_id for r in rows}) == len(machines) < len(rows)


def test_one_row_per_machine_query_is_valid_tsql_and_runs_here(sccm_database, conn):
    sqlglot.parse_one(ONE_ROW_PER_MACHINE, read="tsql")  # raises on T-SQL syntax errors
    rows = conn.execute(ONE_ROW_PER_MACHINE).fetchall()
    assert len(rows) == len({r.resource_id for r in rows}) == len(sccm_database.fleet.inventoried)
    by_id = {r.resource_id: r for r in rows}
    for machine in sccm_database.fleet.inventoried[:200]:
        row = by_id[machine.resource_id]
        assert (row.hdd_total_mb is None) == (machine.disks == 0)
        assert (row.mac_address is None) == (machine.usable_adapters == 0)
    assert any(r.serial_number is None for r in rows) and any(r.last_logon is None for r in rows)


def test_software_union_with_bound_parameters_drops_the_copies(sccm_database, conn):
    rows = sccm_database.fleet.rows
    in_32 = {(r["ResourceID"], r["DisplayName0"]) for r in rows["v_GS_ADD_REMOVE_PROGRAMS"]}
    overlapping = next(m for m in sccm_database.fleet.inventoried
                       if any((m.resource_id, name) in in_32 for name, _, _ in m.software)
                       and any(r["ResourceID"] == m.resource_id and not r["DisplayName0"]
                               for r in rows["v_GS_ADD_REMOVE_PROGRAMS"]))
    sqlglot.parse_one(SOFTWARE, read="tsql")
    found = conn.execute(SOFTWARE, overlapping.resource_id, overlapping.resource_id).fetchall()
    named = {tuple(r) for r in found if r.name}
    assert named == overlapping.software
    assert len(found) == len(named) + 1  # the nameless row is the hook's to drop


def test_unicode_backslashes_and_nulls_round_trip(sccm_database, conn):
    generated = {r["ResourceID"]: r["UserName0"] for r in sccm_database.fleet.rows["v_GS_COMPUTER_SYSTEM"]}
    stored = dict(conn.execute("SELECT ResourceID, UserName0 FROM v_GS_COMPUTER_SYSTEM").fetchall())
    assert stored == generated
    assert any(v and "\\" in v and not v.isascii() for v in stored.values())
    assert None in stored.values()
    titles = {r[0] for r in conn.execute("SELECT DISTINCT DisplayName0 FROM v_GS_ADD_REMOVE_PROGRAMS").fetchall()}
    assert "Программа учёта 1С" in titles


def test_stop_drops_the_database():
    database = SccmDatabase(machines=20).start()
    assert database.exists()
    with database.connect() as connection:
        assert connection.execute("SELECT COUNT(*) FROM v_R_System").fetchval() == 20
    database.stop()
    assert not database.exists()


def test_runs_as_a_process_and_drops_the_database_on_exit():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.servers.sccm_db", "--machines", "20"],
                            stdout=subprocess.PIPE, text=True, cwd=REPO, env=env)
    try:
        connection_string = proc.stdout.readline().strip()
        assert connection_string.startswith("Driver={"), connection_string
        with pyodbc.connect(connection_string) as connection:
            assert connection.execute("SELECT COUNT(*) FROM dbo.v_R_System").fetchval() == 20
    finally:
        proc.terminate()
        proc.wait(30)
    assert proc.returncode == 0
    name = connection_string.split("Database=")[1].split(";")[0]
    probe = SccmDatabase()
    probe.driver, probe.name = connection_string.split("{")[1].split("}")[0], name
    assert not probe.exists()
