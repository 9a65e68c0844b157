"""SccmHook on a ConfigMgr site database (PostgreSQL through pyodbc, unixODBC and psqlODBC); its T-SQL; errors."""
from __future__ import annotations

import json
import math
from collections import defaultdict

import pytest
import sqlglot
from airflow.providers.common.sql.hooks.sql import DbApiHook
from airflow.providers.odbc.hooks.odbc import OdbcHook

from airflow_provider_oomnitza.hooks.errors import SourceConfigError
from airflow_provider_oomnitza.hooks.sccm import SccmConfigError, SccmError, SccmHook, odbc_value, pick_driver
from airflow_provider_oomnitza.hooks.sccm_queries import HARDWARE, QUERIES, SOFTWARE
from airflow_provider_oomnitza.sources.base import SourceNeeds
from tests.servers.sccm_db import odbc_driver
from tests.servers.silent import SilentServer

SECRET = "Sccm-Secret-42;x}"


def settings(db, **extra):
    return {"server": db.host, "database": db.name, "username": db.user, "password": SECRET, "driver": db.driver,
            "sync_field": "SERIAL_NUMBER", **extra}


def hook(db, needs=None, **extra):
    return SccmHook(settings(db, **extra), section="sccm", needs=needs)


# ---- what the views hold, worked out from the generated rows (independently of the hook's SQL) --------------

def first(rows, key="GroupID"):
    return min(rows, key=lambda r: r[key]) if rows else {}


def expected_hardware(fleet) -> dict[int, dict]:
    by = {view: defaultdict(list) for view in fleet.rows}
    for view, rows in fleet.rows.items():
        for row in rows:
            by[view][row.get("ResourceID", row.get("MachineResourceID"))].append(row)
    out = {}
    for cs in fleet.rows["v_GS_COMPUTER_SYSTEM"]:
        rid = cs["ResourceID"]
        rs = by["v_R_System"][rid][0]
        if rs["Obsolete0"]:
            continue
        disks = [d["Size0"] for d in by["v_GS_DISK"][rid]]
        nics = [n for n in by["v_GS_NETWORK_ADAPTER_CONFIGURATION"][rid] if n["MACAddress0"] and n["IPAddress0"]]
        nic = first(nics, "Index0")
        users = [u for u in by["v_UserMachineRelationship"][rid] if u["Types"] == 1 and u["RelationActive"] == 1]
        user = max(users, key=lambda u: u["CreationTime"]) if users else {}
        c_drive = [v for v in by["v_GS_ENCRYPTABLE_VOLUME"][rid] if v["DriveLetter0"] == "C:"]
        out[rid] = {
            "resource_id": rid, "computer_name": cs["Name0"], "domain_name": cs["Domain0"],
            "make": cs["Manufacturer0"], "model": cs["Model0"], "platform": cs["SystemType0"],
            "user_name": cs["UserName0"], "cpu": first(by["v_GS_PROCESSOR"][rid]).get("Name0"),
            "hdd_total_mb": sum(disks) if disks else None,
            "ipv4_address": nic["IPAddress0"].split(",")[0] if nic else None, "mac_address": nic.get("MACAddress0"),
            "memory_total_kb": first(by["v_GS_X86_PC_MEMORY"][rid]).get("TotalPhysicalMemory0"),
            "serial_number": first(by["v_GS_PC_BIOS"][rid]).get("SerialNumber0"),
            "os_version": first(by["v_GS_OPERATING_SYSTEM"][rid]).get("Caption0"),
            "last_logon": rs["Last_Logon_Timestamp0"] and rs["Last_Logon_Timestamp0"].isoformat(),
            "c_drive_encrypted": first(c_drive).get("ProtectionStatus0"),
            "antivirus_enabled": first(by["v_GS_AntimalwareHealthStatus"][rid]).get("AntivirusEnabled"),
            "primary_user": user.get("UniqueUserName"),
        }
    return out


@pytest.fixture(scope="module")
def records(sccm_database):
    h = hook(sccm_database)
    return h, list(h.records())


def test_one_record_per_machine_with_the_originals_fields_and_aggregated_values(sccm_database, records):
    fleet = sccm_database.fleet
    h, got = records
    expected = expected_hardware(fleet)
    assert len(got) == len(expected) == len({r["hardware"]["resource_id"] for r in got})
    assert {r["hardware"]["resource_id"]: r["hardware"] for r in got} == expected
    json.dumps(got)  # the records are plain JSON values
    # the data has what this needs to mean something: machines the original's joins pushed several times...
    machines = {m.resource_id: m for m in fleet.inventoried}
    assert sum(1 for rid in expected if machines[rid].disks > 1 and machines[rid].usable_adapters > 1) > 50
    # ...obsolete records left out, and NULL-heavy machines
    assert len(expected) < len(fleet.inventoried)
    values = list(expected.values())
    for field in ("serial_number", "hdd_total_mb", "mac_address", "cpu", "primary_user", "last_logon"):
        assert any(v[field] is None for v in values) and any(v[field] is not None for v in values), field
    assert any(v["hdd_total_mb"] > 2_000_000 for v in values)  # several disks summed


def test_software_is_each_machines_own_list_without_copies_or_nameless_entries(sccm_database, records):
    machines = {m.resource_id: m for m in sccm_database.fleet.inventoried}
    _, got = records
    for record in got:
        software = record["software"]
        listed = [(s["name"], s["version"], s["publisher"]) for s in software]
        assert len(listed) == len(set(listed))
        assert set(listed) == machines[record["hardware"]["resource_id"]].software
        assert all(s["path"] is None for s in software)
    rows = sccm_database.fleet.rows
    both = {r["ResourceID"] for r in rows["v_GS_ADD_REMOVE_PROGRAMS"]} & {
        r["ResourceID"] for r in rows["v_GS_ADD_REMOVE_PROGRAMS_64"]}
    assert len(both) > 100  # programs in both uninstall keys: the UNION had copies to remove


def test_records_stream_in_batches_and_software_is_read_per_batch(sccm_database):
    h = hook(sccm_database)
    h.batch_size = 250
    stream = h.records()
    first_record = next(stream)
    assert first_record["software"] and h.queries == 2  # hardware, then the first batch's software
    rest = list(stream)
    total = len(rest) + 1
    assert h.queries == 1 + math.ceil(total / 250)


def test_software_is_not_read_when_no_mapping_uses_it(sccm_database):
    h = hook(sccm_database, needs=SourceNeeds(paths=frozenset({"hardware.serial_number"}), whole_records=False))
    got = list(h.records())
    assert h.queries == 1 and got and all(r["software"] == [] for r in got)


# ---- the SQL ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(QUERIES))
def test_queries_are_tsql(name):
    tree = sqlglot.parse_one(QUERIES[name], read="tsql")
    assert tree.find(sqlglot.exp.Select) is not None
    text = QUERIES[name].upper()
    for word in ("TOP ", "ISNULL", "[", '"', " LIMIT "):  # T-SQL only, PostgreSQL only, or quoted names
        assert word not in text


def test_the_tsql_check_catches_broken_sql():
    with pytest.raises(sqlglot.errors.ParseError):
        sqlglot.parse_one(HARDWARE.replace("LEFT JOIN (SELECT", "LEFT JOIN (SELEC", 1), read="tsql")


def test_queries_run_as_written_with_lower_case_column_names(sccm_database):
    with sccm_database.connect() as conn:
        cursor = conn.execute(SOFTWARE, 0, 2**31 - 1, 0, 2**31 - 1)
        assert [d[0] for d in cursor.description] == ["resource_id", "name", "version", "publisher"]


# ---- as an OdbcHook -------------------------------------------------------------------------------------

def test_an_odbc_hook_for_users_of_the_sql_provider(sccm_database):
    h = hook(sccm_database)
    assert isinstance(h, OdbcHook) and isinstance(h, DbApiHook)
    assert h.get_records("SELECT COUNT(*) FROM v_R_System") == [(sccm_database.machines,)]
    assert h.get_first("SELECT Name0 FROM dbo.v_R_System WHERE ResourceID = ?",
                       parameters=(sccm_database.fleet.machines[0].resource_id,)) == (
        sccm_database.fleet.machines[0].name,)


def test_an_airflow_connection_with_odbc_keywords_in_extra(sccm_database, monkeypatch):
    db = sccm_database
    monkeypatch.setenv("AIRFLOW_CONN_SCCM_TEST", json.dumps({
        "conn_type": "sccm", "host": db.host, "schema": db.name, "login": db.user, "password": SECRET,
        "extra": {"driver": db.driver, "pqopt": "application_name=oomnitza_sccm"}}))
    h = SccmHook("sccm_test")
    ok, message = h.test_connection()
    assert ok, message
    assert message == (f"Connected to SCCM database {db.name!r} on {db.host} with {db.driver!r}: "
                       f"{len(expected_hardware(db.fleet))} machines with a hardware inventory")
    assert h.get_first("SELECT current_setting('application_name')") == ("oomnitza_sccm",)
    assert "pqopt={application_name=oomnitza_sccm};" in h.odbc_connection_string
    assert "driver=" not in h.odbc_connection_string.lower().replace("driver={", "")
    # as Airflow builds it for a connection test, from the keyword argument
    assert SccmHook(sccm_conn_id="sccm_test").test_connection()[0]


def test_connection_strings_quote_values_and_windows_authentication_sends_no_login(sccm_database):
    assert odbc_value("plain") == "plain"
    assert odbc_value("a;b}c") == "{a;b}}c}" and odbc_value(" x") == "{ x}" and odbc_value("k=v") == "{k=v}"
    h = hook(sccm_database)
    assert f"UID=postgres;PWD={{{SECRET.replace('}', '}}')}}};" in h.odbc_connection_string
    # TLS checked by default: nothing weakens ODBC Driver 18's Encrypt=yes with certificate checks
    assert "TrustServerCertificate" not in h.odbc_connection_string and "Encrypt" not in h.odbc_connection_string
    windows = hook(sccm_database, authentication="Windows", username="", password="", verify_ssl=False)
    text = windows.odbc_connection_string
    assert "Trusted_Connection=yes;" in text and "TrustServerCertificate=yes;" in text
    assert "UID=" not in text and "PWD=" not in text


def test_driver_choice():
    installed = ["PostgreSQL Unicode", "FreeTDS", "ODBC Driver 17 for SQL Server", "ODBC Driver 18 for SQL Server"]
    assert pick_driver("", installed) == "ODBC Driver 18 for SQL Server"
    assert pick_driver("", ["FreeTDS"]) == "FreeTDS"
    assert pick_driver("{FreeTDS}", installed) == "FreeTDS"
    with pytest.raises(SccmConfigError, match=r"'ODBC Driver 19 for SQL Server' is not installed \(installed: "
                                              r"PostgreSQL Unicode, FreeTDS"):
        pick_driver("ODBC Driver 19 for SQL Server", installed)
    with pytest.raises(SccmConfigError, match="install Microsoft's ODBC Driver 18 for SQL Server or FreeTDS"):
        pick_driver("", ["PostgreSQL Unicode"])


# ---- errors ---------------------------------------------------------------------------------------------

def test_a_refused_login_fails_clearly_without_the_password(sccm_database, caplog):
    h = hook(sccm_database, username="no_such_login")
    with pytest.raises(SccmConfigError) as info:
        list(h.records())
    message = str(info.value)
    assert isinstance(info.value, SourceConfigError)  # Airflow does not retry it
    assert message.startswith(f"[sccm] SCCM connect (127.0.0.1, database {sccm_database.name!r}, login "
                              f"'no_such_login', driver {sccm_database.driver!r}): refused: ")
    assert 'role "no_such_login" does not exist' in message and "check username and password" in message
    ok, tested = h.test_connection()
    assert not ok and tested == message
    for text in (message, caplog.text, repr(info.value)):
        assert SECRET not in text and "Secret-42" not in text


def test_a_server_that_never_answers_the_login_times_out_and_may_be_retried(monkeypatch):
    with SilentServer() as silent:
        monkeypatch.setenv("AIRFLOW_CONN_SCCM_SILENT", json.dumps({
            "conn_type": "sccm", "host": "127.0.0.1", "schema": "CM_ABC", "login": "svc", "password": SECRET,
            "extra": {"driver": odbc_driver(), "Port": str(silent.port)}}))
        h = SccmHook(sccm_conn_id="sccm_silent", timeout=1)
        assert h.connect_kwargs == {"timeout": 1}
        with pytest.raises(SccmError, match=r"^connection 'sccm_silent' SCCM connect .*timeout expired") as info:
            h.check()
    assert not isinstance(info.value, SourceConfigError)  # Airflow's retries may help
    assert silent.accepted == 1 and SECRET not in str(info.value)
    monkeypatch.setenv("AIRFLOW_CONN_SCCM_OWN", json.dumps({"conn_type": "sccm", "host": "h", "login": "svc",
                                                            "password": "x", "extra": {"connect_kwargs": {"timeout": 7}}}))
    assert SccmHook(sccm_conn_id="sccm_own").connect_kwargs == {"timeout": 7}


def test_queries_get_a_timeout_where_the_driver_has_one(sccm_database, monkeypatch):
    """pyodbc's Connection.timeout (SQL_ATTR_QUERY_TIMEOUT): Microsoft's driver has it, psqlODBC refuses it."""
    import types

    h = hook(sccm_database)
    conn = h.connect()  # psqlODBC: refused, and the connection is used without one
    assert conn.timeout == 0
    conn.close()
    monkeypatch.setattr(OdbcHook, "get_conn", lambda self: types.SimpleNamespace(timeout=0))
    assert h.connect().timeout == h.query_timeout == 1800


def test_a_database_without_the_configmgr_views_says_what_to_check(sccm_database):
    h = hook(sccm_database, database="postgres")
    with pytest.raises(SccmConfigError, match=r"SCCM hardware query .*v_gs_computer_system.* does not exist.*"
                                              r"is database the ConfigMgr site database"):
        list(h.records())


def test_an_unknown_driver_names_the_installed_ones(sccm_database):
    with pytest.raises(SccmConfigError, match=r"\[sccm\] driver: ODBC driver 'ODBC Driver 18 for SQL Server' is "
                                              r"not installed \(installed: .*PostgreSQL Unicode"):
        list(hook(sccm_database, driver="ODBC Driver 18 for SQL Server").records())


def test_sql_server_authentication_needs_a_login_and_windows_does_not(sccm_database):
    with pytest.raises(SourceConfigError, match=r"\[sccm\] .*password: missing required setting"):
        hook(sccm_database, password="").settings
    assert hook(sccm_database, authentication="Windows", username="", password="").settings.username == ""


@pytest.mark.parametrize("state, text, kind, says", [
    ("28000", "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Login failed for user 'svc'. (18456)",
     SccmConfigError, "refused: [28000] [Microsoft][ODBC Driver 18 for SQL Server][SQL Server]Login failed"),
    ("42000", "[SQL Server]Cannot open database \"CM_XYZ\" requested by the login. The login failed. (4060)",
     SccmConfigError, "refused: "),
    ("IM002", "[unixODBC][Driver Manager]Data source name not found and no default driver specified",
     SccmConfigError, "the ODBC driver cannot be loaded"),
    ("08001", "[Microsoft][ODBC Driver 18 for SQL Server]TCP Provider: Error code 0x2749 (10057)",
     SccmError, "[08001] [Microsoft]"),
    ("HYT00", "[Microsoft][ODBC Driver 18 for SQL Server]Query timeout expired (0)", SccmError, "[HYT00]"),
])
def test_sql_server_errors_are_told_apart_by_what_a_retry_can_do(sccm_database, state, text, kind, says):
    """SQL Server's SQLSTATEs and wording, which PostgreSQL cannot produce: a refusal fails at once
    (SourceConfigError), an unreachable server or a timeout may be retried by Airflow."""
    import pyodbc

    h = hook(sccm_database)
    error = h._error(pyodbc.Error(state, f"[{state}] {text} with {SECRET} repeated"), "connect")
    assert type(error) is kind and says in str(error)
    assert isinstance(error, SourceConfigError) == (kind is SccmConfigError)
    assert SECRET not in str(error) and "with *** repeated" in str(error)


def test_a_query_error_on_sql_server_names_the_site_database(sccm_database):
    import pyodbc

    error = hook(sccm_database)._error(
        pyodbc.ProgrammingError("42S02", "[42S02] [SQL Server]Invalid object name 'dbo.v_GS_COMPUTER_SYSTEM'. (208)"),
        "hardware query")
    assert isinstance(error, SccmConfigError) and "is database the ConfigMgr site database" in str(error)
