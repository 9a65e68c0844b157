"""End to end: [casper] and [casper.MDM] DAGs run with dag.test(), from the Jamf simulator into the Oomnitza sandbox."""
import pytest

from tests.simulators.base import SimulatorThread
from tests.simulators.jamf import DEFAULT_ACCOUNTS, DEFAULT_API_CLIENTS, JamfState, build_app

USER, PASSWORD = next(iter(DEFAULT_ACCOUNTS.items()))
CLIENT_ID, CLIENT_SECRET = next(iter(DEFAULT_API_CLIENTS.items()))


@pytest.fixture
def jamf():
    with SimulatorThread(build_app(JamfState(70, 40, seed=13))) as sim:
        yield sim


def section(sim, name="casper", extra="", credentials=None):
    credentials = credentials or f"username = {USER}\npassword = {PASSWORD}\n"
    return (f"[{name}]\nenable = true\nurl = {sim.url}/\n{credentials}sync_field = SERIAL_NUMBER\n"
            "use_server_map = false\npage_size = 20\n"
            "max_rejected = 5%\n"  # the simulated data holds a device without a serial (skipped)
            + extra)


def seconds(ms):
    return ms // 1000 if ms else ""


def stored(sandbox):
    return {r["SERIAL_NUMBER"]: {k: v for k, v in r.items() if k != "uid"} for r in sandbox.state.records("assets")}


def test_computers_arrive_field_by_field(sync_env, jamf):
    env, inv = sync_env, jamf.state.inventory
    env.write_ini(section(jamf, extra=(
        'mapping.RAM_MB = {"source": "hardware.total_ram_mb"}\n'
        'mapping.DEPARTMENT = {"source": "location.department"}\n'
        'mapping.DEPT_CODE = {"converter": "casper_extension_attribute:attr=Department Code"}\n'
        'mapping.OS_VERSION = {"source": "hardware.os_build"}\n')))
    run = env.run("casper_sync")
    assert run.state == "success"
    classic = [inv.classic_computer(c) for c in inv.computers.values()]
    with_serial = [c for c in classic if c["general"]["serial_number"]]
    ea = {c["general"]["id"]: {e["name"]: e["value"] for e in c["extension_attributes"]} for c in classic}
    expected = {
        c["general"]["serial_number"]: {
            "SERIAL_NUMBER": c["general"]["serial_number"], "DEVICE_NAME": c["general"]["name"],
            "MODEL": c["hardware"]["model"], "MANUFACTURER": "Apple", "OPERATING_SYSTEM": "macOS",
            "OS_VERSION": c["hardware"]["os_build"],  # the INI mapping replaces the default
            "MAC_ADDRESS": c["general"]["mac_address"], "IP_ADDRESS": c["general"]["ip_address"],
            "ASSIGNED_TO": c["location"]["username"], "BARCODE": c["general"]["asset_tag"],
            "PURCHASE_DATE": seconds(c["purchasing"]["po_date_epoch"]), "PO_NUMBER": c["purchasing"]["po_number"],
            "PURCHASE_PRICE": c["purchasing"]["purchase_price"], "VENDOR": c["purchasing"]["vendor"],
            "WARRANTY_END_DATE": seconds(c["purchasing"]["warranty_expires_epoch"]),
            "LAST_SEEN": seconds(c["general"]["last_contact_time_epoch"]),
            "APPLICATIONS": c["software"]["applications"],
            "RAM_MB": c["hardware"]["total_ram_mb"], "DEPARTMENT": c["location"]["department"],
            "DEPT_CODE": ea[c["general"]["id"]].get("Department Code"),
        }
        for c in with_serial
    }
    assert stored(env.sandbox) == expected
    # the data has what the comparison needs to mean something
    values = list(expected.values())
    assert any(v["PURCHASE_DATE"] == "" for v in values) and any(isinstance(v["PURCHASE_DATE"], int) for v in values)
    assert any(v["DEPT_CODE"] is None for v in values) and any(v["DEPT_CODE"] for v in values)
    assert any(v["DEPARTMENT"] for v in values) and any(v["ASSIGNED_TO"] == "" for v in values)
    report = env.report("casper_sync", run)
    assert {k: report[k] for k in ("extracted", "mapped", "missing", "pushed", "oomnitza_added")} == {
        "extracted": len(classic), "mapped": len(with_serial), "missing": len(classic) - len(with_serial),
        "pushed": len(with_serial), "oomnitza_added": len(with_serial)}
    by_path = jamf.state.stats.by_path
    assert by_path["/api/v4/computers-inventory"] == 4 and by_path["/api/v1/auth/token"] == 1
    assert "/JSSResource/computers" not in by_path


def test_mobile_devices_from_a_casper_mdm_section_with_an_api_client(sync_env, jamf):
    env, inv = sync_env, jamf.state.inventory
    client = f"client_id = {CLIENT_ID}\nclient_secret = {CLIENT_SECRET}\n"
    env.write_ini(section(jamf, "casper.MDM", "sync_type = mobiledevices\ngroup_name = Field iPads\n"
                                              'mapping.CARRIER = {"source": "network.home_carrier_network"}\n',
                          credentials=client))
    run = env.run("casper_MDM_sync")
    assert run.state == "success"
    members = inv.mobile_device_groups["Field iPads"].members
    classic = [inv.classic_mobile(inv.mobile_devices[i]) for i in members]
    expected = {
        m["general"]["serial_number"]: {
            "SERIAL_NUMBER": m["general"]["serial_number"], "DEVICE_NAME": m["general"]["name"],
            "MODEL": m["general"]["model"], "OPERATING_SYSTEM": "iPadOS", "OS_VERSION": m["general"]["os_version"],
            "MAC_ADDRESS": m["general"]["wifi_mac_address"], "IP_ADDRESS": m["general"]["ip_address"],
            "IMEI__MEID": m["network"]["imei"], "ASSIGNED_TO": m["location"]["username"],
            "BARCODE": m["general"]["asset_tag"], "PURCHASE_DATE": seconds(m["purchasing"]["po_date_epoch"]),
            "PO_NUMBER": m["purchasing"]["po_number"], "PURCHASE_PRICE": m["purchasing"]["purchase_price"],
            "VENDOR": m["purchasing"]["vendor"],
            "WARRANTY_END_DATE": seconds(m["purchasing"]["warranty_expires_epoch"]),
            "LAST_SEEN": m["general"]["last_inventory_update_epoch"] // 1000,
            "CARRIER": m["network"]["home_carrier_network"],
        }
        for m in classic if m["general"]["serial_number"]
    }
    assert len(expected) >= 5 and stored(env.sandbox) == expected
    assert any(v["IMEI__MEID"] for v in expected.values()) and any(v["CARRIER"] == "" for v in expected.values())
    report = env.report("casper_MDM_sync", run)
    assert report["extracted"] == len(members) and report["pushed"] == len(expected)
    by_path = jamf.state.stats.by_path
    assert by_path["/api/v1/oauth/token"] == 1 and by_path["/JSSResource/mobiledevicegroups/name/Field iPads"] == 1
    assert by_path["/api/v2/mobile-devices/detail"] == 1


def test_refused_credentials_fail_the_extract_with_a_clear_message(sync_env, jamf, capsys):
    env = sync_env
    env.write_ini(section(jamf, credentials=f"username = {USER}\npassword = wrong\n"))
    run = env.run("casper_sync")
    assert run.state == "failed"
    assert (f"JamfAuthError: [casper] Jamf Pro at {jamf.url} refused the account 'admin' (POST /api/v1/auth/token: "
            "401 Unauthorized") in capsys.readouterr().out
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["extract"] == "failed"
    assert env.sandbox.state.records("assets") == []
    assert "/api/v4/computers-inventory" not in jamf.state.stats.by_path


def test_an_empty_inventory_is_a_successful_run_of_nothing(sync_env):
    env = sync_env
    with SimulatorThread(build_app(JamfState(0, 0))) as empty:
        env.write_ini(section(empty))
        run = env.run("casper_sync")
    assert run.state == "success"
    report = env.report("casper_sync", run)
    assert (report["extracted"], report["pushed"], report["failed_chunks"]) == (0, 0, 0)
    assert env.sandbox.state.records("assets") == []


def test_update_only_changes_known_assets_and_creates_none(sync_env, jamf):
    env, inv = sync_env, jamf.state.inventory
    known = next(c for c in inv.computers.values() if c["serial"])
    env.write_ini(section(jamf, extra="update_only = true\n"))
    run = env.run("casper_sync")
    assert run.state == "success" and env.sandbox.state.records("assets") == []
    report = env.report("casper_sync", run)
    assert report["oomnitza_added"] == 0 and report["oomnitza_skipped"] == report["pushed"] > 0
    env.write_ini(section(jamf, extra='mapping.MODEL = {"source": "general.udid"}\n'))
    assert env.run("casper_sync").state == "success"  # creates them, with MODEL = the udid
    env.write_ini(section(jamf, extra="update_only = true\n"))
    run = env.run("casper_sync")
    assert stored(env.sandbox)[known["serial"]]["MODEL"] == inv.classic_computer(known)["hardware"]["model"]
    assert env.report("casper_sync", run)["oomnitza_updated"] == report["pushed"]
