"""End to end: an [airwatch] section's DAG run with dag.test(), from the AirWatch simulator into the sandbox."""
from datetime import datetime, timezone

import pytest

from tests.simulators import airwatch as aw
from tests.simulators.base import SimulatorThread

NOW = 1_790_000_000.0
DAG_ID = "airwatch_sync"


@pytest.fixture
def airwatch():
    state = aw.AirWatchState(devices=60, seed=21, now=NOW, reenrolled_ratio=0)
    with SimulatorThread(aw.build_app(state)) as sim:
        yield sim


def section(sim, extra="", password=aw.DEFAULT_PASSWORD):
    return (
        f"[airwatch]\nenable = true\nurl = {sim.url}\nusername = {aw.DEFAULT_USER}\npassword = {password}\n"
        f"api_token = {aw.DEFAULT_TENANT_CODE}\nsync_field = SERIAL_NUMBER\nuse_server_map = false\n"
        "page_size = 25\nmax_rejected = 5%\n"  # the simulated data holds devices without a serial (skipped)
        + extra
    )


def utc_epoch(naive: str | None):
    """LastSeen has no zone: read as UTC, whole seconds."""
    if not naive:
        return naive
    return int(datetime.fromisoformat(naive).replace(tzinfo=timezone.utc).timestamp())


def stored(sandbox):
    return {r["SERIAL_NUMBER"]: {k: v for k, v in r.items() if k != "uid"} for r in sandbox.state.records("assets")}


def test_devices_arrive_field_by_field_with_dep_and_network(sync_env, airwatch):
    env, state = sync_env, airwatch.state
    env.write_ini(section(airwatch, f"dep_uuid = {state.dep_uuid}\n"
                                    'mapping.DEP_PROFILE = {"source": "dep.profileStatus"}\n'
                                    'mapping.WIFI_IP = {"source": "network.IPAddress.WifiIPAddress"}\n'))
    run = env.run(DAG_ID)
    assert run.state == "success"
    dep = {row["deviceSerialNumber"]: row for row in state.dep_groups[state.dep_uuid]}
    devices = [d for d in state.records if d["SerialNumber"]]
    expected = {
        d["SerialNumber"]: {
            "SERIAL_NUMBER": d["SerialNumber"],
            "DEVICE_NAME": d["DeviceReportedName"] or d["DeviceFriendlyName"],
            "MODEL": d["Model"],
            "OPERATING_SYSTEM": d["Platform"],
            "OS_VERSION": d["OperatingSystem"],
            "MAC_ADDRESS": d["MacAddress"],
            "IMEI__MEID": d["Imei"],
            "ASSIGNED_TO": d["UserName"],
            "LAST_SEEN": utc_epoch(d["LastSeen"]),
            "DEP_PROFILE": dep[d["SerialNumber"]]["profileStatus"] if d["SerialNumber"] in dep else None,
            "WIFI_IP": state.network(d["Id"]["Value"])["IPAddress"]["WifiIPAddress"],
        }
        for d in devices
    }
    assert stored(env.sandbox) == expected
    # The data has what the check needs to mean something.
    assert any(v["DEP_PROFILE"] for v in expected.values()) and any(v["DEP_PROFILE"] is None for v in expected.values())
    assert any(v["IMEI__MEID"] for v in expected.values()) and any(isinstance(v["LAST_SEEN"], int)
                                                                   for v in expected.values())
    report = env.report(DAG_ID, run)
    without_serial = len(state.records) - len(devices)
    assert {k: report[k] for k in ("extracted", "mapped", "missing", "pushed", "oomnitza_added", "malformed")} == {
        "extracted": len(state.records), "mapped": len(devices), "missing": without_serial,
        "pushed": len(devices), "oomnitza_added": len(devices), "malformed": 0,
    }
    by_path = airwatch.state.stats.by_path
    assert sum(n for p, n in by_path.items() if p.endswith("/network")) == len(state.records)
    assert by_path[f"/api/mdm/dep/groups/{state.dep_uuid}/devices"] == 1


def test_without_network_mappings_no_network_calls_and_ini_overrides_defaults(sync_env, airwatch):
    env = sync_env
    env.write_ini(section(airwatch, 'mapping.MODEL = {"source": "ModelId.Name"}\n'
                                    'mapping.ENROLLED = {"source": "LastEnrolledOn", "converter": "date_format"}\n'))
    assert env.run(DAG_ID).state == "success"
    device = next(d for d in airwatch.state.records if d["SerialNumber"] and d["LastEnrolledOn"])
    record = stored(env.sandbox)[device["SerialNumber"]]
    assert record["MODEL"] == device["ModelId"]["Name"]
    assert record["ENROLLED"] == utc_epoch(device["LastEnrolledOn"])
    assert not any(p.endswith("/network") for p in airwatch.state.stats.by_path)


def test_refused_credentials_fail_the_extract_and_send_nothing(sync_env, airwatch, capsys):
    env = sync_env
    env.write_ini(section(airwatch, password="wrong-password"))
    run = env.run(DAG_ID)
    assert run.state == "failed"
    expected = (f"AirWatchError: [airwatch] AirWatch device search page 0 at {airwatch.url}: 401 Unauthorized "
                "(errorCode 1005): An error occurred while validating remote service client credentials")
    assert expected in capsys.readouterr().out
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["extract"] == "failed"
    assert env.sandbox.state.records("assets") == []
    assert airwatch.state.stats.by_path["/api/mdm/devices/search"] == 1  # a 401 is not retried


def test_an_empty_inventory_is_a_successful_run_of_nothing(sync_env):
    env = sync_env
    with SimulatorThread(aw.build_app(aw.AirWatchState(devices=0, seed=1, now=NOW))) as empty:
        env.write_ini(section(empty))
        run = env.run(DAG_ID)
    assert run.state == "success"
    assert env.sandbox.state.records("assets") == []
    report = env.report(DAG_ID, run)
    assert (report["extracted"], report["pushed"], report["failed_chunks"]) == (0, 0, 0)
