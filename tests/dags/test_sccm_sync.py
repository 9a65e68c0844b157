"""End to end: an [sccm] section's DAG run with dag.test(), from a ConfigMgr site database (PostgreSQL through
psqlODBC) into the Oomnitza sandbox."""
import calendar
import datetime as dt

import pytest

from tests.hooks.test_sccm import expected_hardware
from tests.servers.sccm_db import SccmDatabase

DAG_ID = "sccm_sync"
SECRET = "E2e-Sccm-Secret-31"
MAPPINGS = """mapping.SERIAL_NUMBER = {"source": "hardware.serial_number"}
mapping.DEVICE_NAME = {"source": "hardware.computer_name"}
mapping.MAC_ADDRESS = {"source": "hardware.mac_address"}
mapping.IP_ADDRESS = {"source": "hardware.ipv4_address"}
mapping.HDD_MB = {"source": "hardware.hdd_total_mb"}
mapping.ASSIGNED_TO = {"source": "hardware.primary_user"}
mapping.LAST_SEEN = {"source": "hardware.last_logon"}
"""


@pytest.fixture(scope="module")
def site():
    with SccmDatabase(machines=300, seed=5) as db:
        yield db


def section(db, extra="", username=None):
    return (f"[sccm]\nenable = true\nserver = {db.host}\ndatabase = {db.name}\nusername = {username or db.user}\n"
            f"password = {SECRET}\ndriver = {db.driver}\nsync_field = SERIAL_NUMBER\nuse_server_map = false\n"
            "max_rejected = 10%\n"  # machines without a BIOS serial number are skipped
            + extra)


def stored(sandbox):
    return {r["SERIAL_NUMBER"]: {k: v for k, v in r.items() if k != "uid"} for r in sandbox.state.records("assets")}


def epoch(iso):
    return calendar.timegm(dt.datetime.fromisoformat(iso).utctimetuple()) if iso else None


def test_machines_arrive_once_each_with_their_software(sync_env, site):
    env = sync_env
    env.write_ini(section(site, MAPPINGS))
    run = env.run(DAG_ID)
    assert run.state == "success"
    software = {m.resource_id: m.software for m in site.fleet.machines}
    machines = expected_hardware(site.fleet)
    with_serial = [h for h in machines.values() if h["serial_number"]]
    got = stored(env.sandbox)
    assert len(env.sandbox.state.records("assets")) == len(got) == len(with_serial)  # each machine once
    for h in with_serial:
        record = got[h["serial_number"]]
        apps = record.pop("APPLICATIONS")
        assert {(a["name"], a["version"], a["publisher"]) for a in apps} == software[h["resource_id"]]
        assert len(apps) == len(software[h["resource_id"]])
        assert record.pop("LAST_SEEN") == epoch(h["last_logon"])  # date_format, the source's default converter
        assert record == {"SERIAL_NUMBER": h["serial_number"], "DEVICE_NAME": h["computer_name"],
                          "MAC_ADDRESS": h["mac_address"], "IP_ADDRESS": h["ipv4_address"],
                          "HDD_MB": h["hdd_total_mb"], "ASSIGNED_TO": h["primary_user"]}
    # the data has what the checks need: machines without a serial, without a logon time, with several disks
    assert len(with_serial) < len(machines)
    assert any(h["last_logon"] is None for h in with_serial)
    disks = {m.resource_id: m.disks for m in site.fleet.machines}
    assert sum(disks[h["resource_id"]] > 1 for h in with_serial) > 20
    report = env.report(DAG_ID, run)
    assert (report["extracted"], report["pushed"], report["oomnitza_added"]) == (
        len(machines), len(with_serial), len(with_serial))


def test_a_refused_login_fails_the_extract_at_once_without_the_password(sync_env, site, capsys):
    env = sync_env
    env.write_ini(section(site, MAPPINGS, username="not_a_login"))
    run = env.run(DAG_ID)
    assert run.state == "failed"
    out = capsys.readouterr().out
    assert (f"SccmConfigError: [sccm] SCCM connect (127.0.0.1, database {site.name!r}, login 'not_a_login', "
            f"driver {site.driver!r}): refused: ") in out
    assert SECRET not in out
    assert {ti.task_id: ti.state for ti in run.get_task_instances()}["extract"] == "failed"
    assert env.sandbox.state.records("assets") == []
