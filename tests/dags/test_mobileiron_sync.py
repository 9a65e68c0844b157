"""End to end: MobileIron sections of config.ini run as real DAGs, from the MobileIron simulator into the sandbox."""
from datetime import datetime

import pytest

from airflow_provider_oomnitza.hooks.mobileiron import MobileIronHook
from tests.simulators import mobileiron as mi
from tests.simulators.base import SimulatorThread

NOW = 1_790_000_000.0
CUTOFF_MS = (NOW - 129600) * 1000  # the default check-in filter: 36 hours


@pytest.fixture(scope="module")
def mobileiron():
    with SimulatorThread(mi.build_app(mi.MobileIronState(devices=400, seed=9, now=NOW))) as sim:
        yield sim


@pytest.fixture(autouse=True)
def _fixed_clock(mobileiron, monkeypatch):
    mobileiron.state.reset()
    monkeypatch.setattr(MobileIronHook, "clock", staticmethod(lambda: NOW))


def section(sim, name="mobileiron", password=mi.DEFAULT_PASSWORD, extra=""):
    return (f"[{name}]\nenable = true\nurl = {sim.url}\nusername = {mi.DEFAULT_USER}\npassword = {password}\n"
            f"sync_field = SERIAL_NUMBER\nuse_server_map = false\n"
            "max_rejected = 5%\n"  # the simulated data holds devices without a serial (skipped)
            f"{extra}")


def stored(sandbox, key="SERIAL_NUMBER"):
    return {r[key]: {k: v for k, v in r.items() if k != "uid"} for r in sandbox.state.records("assets")}


def test_cloud_default_mappings_and_the_checkin_filter_field_by_field(sync_env, mobileiron):
    env = sync_env
    env.write_ini(section(mobileiron, extra='partitions = ["Drivers", "Kiosks"]\n'))
    run = env.run("mobileiron_sync")
    assert run.state == "success"
    chosen = [d for d in mobileiron.state.cloud if d["dmPartitionId"] in (100002, 100004)]
    recent = [d for d in chosen if d["lastCheckin"] is not None and d["lastCheckin"] >= CUTOFF_MS]
    with_serial = [d for d in recent if d["serialNumber"]]
    assert 0 < len(with_serial) < len(recent) < len(chosen)
    assert stored(env.sandbox) == {d["serialNumber"]: {
        "SERIAL_NUMBER": d["serialNumber"], "DEVICE_NAME": d["displayName"], "MODEL": d["deviceModel"],
        "MANUFACTURER": d["manufacturer"], "OPERATING_SYSTEM": d["platformType"], "OS_VERSION": d["osVersion"],
        "MAC_ADDRESS": d["wifiMacAddress"], "IMEI__MEID": d["imei"], "ASSIGNED_TO": d["uid"],
        "LAST_SEEN": d["lastCheckin"] // 1000,
    } for d in with_serial}
    report = env.report("mobileiron_sync", run)
    assert {k: report[k] for k in ("extracted", "mapped", "missing", "pushed", "oomnitza_added")} == {
        "extracted": len(recent), "mapped": len(with_serial), "missing": len(recent) - len(with_serial),
        "pushed": len(with_serial), "oomnitza_added": len(with_serial),
    }


def test_core_dotted_fields_map_unchanged(sync_env, mobileiron):
    env = sync_env
    env.write_ini(section(mobileiron, name="mobileiron.core", extra=(
        "api_version = 2\n"  # Core's own default mappings, plus one of a dotted key with a space
        'mapping.UDID = {"source": "ios.iPhone UDID"}\n')))
    run = env.run("mobileiron_core_sync")
    assert run.state == "success"

    def epoch(text):
        return int(datetime.fromisoformat(text).timestamp()) if text else None

    devices = [d for d in mobileiron.state.core if d.get("common.Serialnumber")]
    assert any("ios.iPhone UDID" in d for d in devices) and any("ios.iPhone UDID" not in d for d in devices)
    assert stored(env.sandbox) == {d["common.Serialnumber"]: {
        "SERIAL_NUMBER": d["common.Serialnumber"], "MODEL": d.get("common.model_name"),
        "MANUFACTURER": d.get("common.manufacturer"), "OPERATING_SYSTEM": d.get("common.platform"),
        "OS_VERSION": d.get("common.os_version"), "MAC_ADDRESS": d.get("common.wifi_mac_address"),
        "IP_ADDRESS": d.get("common.ip_address"), "IMEI__MEID": d.get("common.imei"),
        "ASSIGNED_TO": d.get("user.email_address"), "LAST_SEEN": epoch(d.get("common.last_connected_at")),
        "UDID": d.get("ios.iPhone UDID"),
    } for d in devices}
    assert env.report("mobileiron_core_sync", run)["extracted"] == len(mobileiron.state.core)


def test_bad_credentials_fail_the_run_and_send_nothing(sync_env, mobileiron, capsys):
    env = sync_env
    env.write_ini(section(mobileiron, password="wrong", extra="partitions = All\n"))
    run = env.run("mobileiron_sync")
    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["extract"] == "failed"
    assert "401 Unauthorized: Authentication failed: bad credentials. MobileIron refused the username or password" \
        in capsys.readouterr().out
    assert mobileiron.state.stats.by_path == {"/api/v1/tenant/partition/device": 1}  # a 401 is not retried
    assert env.sandbox.state.records("assets") == []
    assert env.sandbox.state.stats.by_path.get("/api/v3/bulk", 0) == 0


@pytest.mark.parametrize("api_version", [1, 2])
def test_an_empty_inventory_is_a_successful_run_with_nothing_to_send(sync_env, api_version):
    env = sync_env
    with SimulatorThread(mi.build_app(mi.MobileIronState(devices=0, now=NOW))) as empty:
        env.write_ini(section(empty, extra=f"api_version = {api_version}\npartitions = All\n"))
        run = env.run("mobileiron_sync")
    assert run.state == "success"
    report = env.report("mobileiron_sync", run)
    assert (report["extracted"], report["pushed"], report["failed_chunks"]) == (0, 0, 0)
    assert env.sandbox.state.records("assets") == []
