"""End to end: the Apple DEP DAG from config.ini, run with dag.test(), from the DEP simulator into the sandbox."""
import calendar
import json
import time

import pytest

from airflow_provider_oomnitza.hooks.appledep import AppleDepHook
from tests.simulators import appledep as dep
from tests.simulators.base import SimulatorThread

DAG_ID = "appledep_sync"


def epoch(iso: str) -> int:
    return calendar.timegm(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ"))


@pytest.fixture
def dep_sim():
    state = dep.AppleDEPState(devices=130, seed=23, now=1_790_000_000.0)
    state.config.update({"detail_failed_ratio": 0.05})
    with SimulatorThread(dep.build_app(state)) as sim:
        yield sim


def section(sim, extra: str = "") -> str:
    return (f"[appledep]\nenable = true\nurl = {sim.url}\napi_token = {json.dumps(sim.state.server_token)}\n"
            "sync_field = SERIAL_NUMBER\nuse_server_map = false\n" + extra)


def test_devices_arrive_field_by_field(sync_env, dep_sim, monkeypatch):
    monkeypatch.setattr(AppleDepHook, "page_limit", 40)  # several pages, details in threads
    env = sync_env
    env.write_ini(section(dep_sim, 'mapping.PROFILE_PUSHED = {"source": "profile_push_time"}\n'
                                   'mapping.COLOR = {"source": "color", "converter": "capitalize"}\n'))
    run = env.run(DAG_ID)
    assert run.state == "success"
    sim = dep_sim.state
    failed = [s for s in sim.devices if sim.detail_status(s) == "FAILED"]
    expected = {s: d for s, d in sim.devices.items() if s not in failed}
    assert failed and len(expected) > 100
    stored = {r["SERIAL_NUMBER"]: r for r in env.sandbox.state.records("assets")}
    assert set(stored) == set(expected)
    for serial, device in expected.items():
        want = {
            "SERIAL_NUMBER": serial,
            "DEVICE_NAME": device["description"],
            "MODEL": device["model"],
            "MANUFACTURER": "Apple",
            "OPERATING_SYSTEM": device["os"],
            "BARCODE": device["asset_tag"],
            "PURCHASE_DATE": epoch(device["device_assigned_date"]),
            "COLOR": device["color"].capitalize(),
            # A field the device lacks is sent empty, as the original did.
            "PROFILE_PUSHED": epoch(device["profile_push_time"]) if "profile_push_time" in device else None,
        }
        got = {k: v for k, v in stored[serial].items() if k != "uid"}
        assert got == want, serial
    report = env.report(DAG_ID, run)
    assert {k: report[k] for k in ("extracted", "malformed", "mapped", "pushed", "oomnitza_added", "dead_letter")} == {
        "extracted": len(expected), "malformed": len(failed), "mapped": len(expected), "pushed": len(expected),
        "oomnitza_added": len(expected), "dead_letter": 0,
    }
    problems = (env.run_folder(DAG_ID, run) / "extract_problems.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["problem"] for line in problems) == sorted(
        f"Apple DEP device {s}: details answered FAILED; skipped" for s in failed)
    assert sim.stats.by_path["/session"] == 1
    assert sim.stats.by_path["/server/devices"] == sim.stats.by_path["/devices"] == -(-len(sim.devices) // 40)


def test_terms_not_signed_fails_the_run_at_once_with_what_to_do(sync_env, dep_sim, capsys):
    env = sync_env
    dep_sim.state.config.terms_not_signed = True
    env.write_ini(section(dep_sim))
    run = env.run(DAG_ID)
    assert run.state == "failed"
    extract = next(ti for ti in run.get_task_instances() if ti.task_id == "extract")
    assert extract.state == "failed"
    out = capsys.readouterr().out  # the task's log
    assert "AppleDepAuthError: [appledep] Apple DEP refused the server token (403 T_C_NOT_SIGNED)" in out
    assert "accept them" in out
    assert dep_sim.state.stats.by_path == {"/session": 1}
    assert env.sandbox.state.records("assets") == []


def test_an_empty_inventory_is_a_successful_run_with_nothing_sent(sync_env):
    state = dep.AppleDEPState(devices=0, seed=5)
    with SimulatorThread(dep.build_app(state)) as sim:
        env = sync_env
        env.write_ini(section(sim))
        run = env.run(DAG_ID)
    assert run.state == "success"
    report = env.report(DAG_ID, run)
    assert (report["extracted"], report["malformed"], report["pushed"], report["failed_chunks"]) == (0, 0, 0, 0)
    assert env.sandbox.state.records("assets") == []
    assert env.sandbox.state.stats.by_path.get("/api/v3/bulk", 0) == 0
    assert state.stats.by_path == {"/session": 1, "/server/devices": 1}
