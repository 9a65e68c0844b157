"""Jamf webhooks through real Airflow processes (api-server, scheduler, dag-processor; LocalExecutor on
PostgreSQL): the Jamf simulator POSTs webhooks to the plugin as Jamf Pro does, the devices must arrive
in the Oomnitza sandbox; a burst of 500 events for 50 devices is coalesced into few runs and loses
nothing; ``devices`` runs from the CLI and the REST API; the POST-to-sandbox latency is measured."""
import json
import random
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from airflow_provider_oomnitza.dag_factory import dag_id_for
from airflow_provider_oomnitza.operators.runs import run_portion
from airflow_provider_oomnitza.storage import RunStorage
from airflow_provider_oomnitza.webhooks.events import COMPUTER_EVENTS
from airflow_provider_oomnitza.webhooks.pending import PendingEvents
from tests.simulators.jamf import JamfState
from tests.webhooks.live import WEBHOOK_PASSWORD, WEBHOOK_USER, LiveAirflow

COMPUTERS = 120
DAG_ID = dag_id_for("casper")
pytestmark = pytest.mark.timeout(3600)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    airflow = LiveAirflow(tmp_path_factory.mktemp("live-webhooks"), COMPUTERS).start()
    try:
        airflow.wait(lambda: any(a["uri"] == "oomnitza://webhook/casper"
                                 for a in airflow.api("GET", "assets", params={"limit": 100})["assets"]),
                     300, "the casper DAG and its webhook asset", interval=2)
        yield airflow
    finally:
        airflow.close()


@pytest.fixture(scope="module")
def devices():
    """The simulator's computers that have a serial number (same seed, same inventory): ``[(id, serial)]``."""
    inventory = JamfState(COMPUTERS, 5).inventory
    return [(c["id"], c["serial"]) for c in sorted(inventory.computers.values(), key=lambda c: c["id"]) if c["serial"]]


def pending_files(live) -> list[str]:
    return PendingEvents("casper", live.env["OOMNITZA_STORAGE"]).names()


def settled(live) -> bool:
    """No run queued or running and no event pending."""
    active = [r for r in live.runs(DAG_ID) if r["state"] in ("queued", "running")]
    return not active and not pending_files(live)


def serials_pushed(live, run) -> list[str]:
    """The serial numbers a run pushed, one entry per record, from the sandbox's run log of its portion."""
    storage = RunStorage(DAG_ID, run["dag_run_id"], base_url=f"file://{live.tmp / 'runs'}")
    rows = live.run_log(run_portion(storage, DAG_ID, run["dag_run_id"]))  # the portion the run recorded
    return [row["key"]["SERIAL_NUMBER"] if isinstance(row["key"], dict) else row["key"] for row in rows]


def test_the_plugin_is_served_by_the_api_server_and_authenticates(live):
    body = json.dumps({"webhook": {"webhookEvent": "ComputerAdded"}, "event": {"jssID": 1}})
    assert requests.post(live.webhook_url(), data=body, timeout=10).status_code == 401
    assert requests.post(live.webhook_url(), data=body, auth=(WEBHOOK_USER, "wrong"), timeout=10).status_code == 401
    assert requests.post(live.webhook_url("nope"), data=body, timeout=10).status_code == 404
    assert requests.post(live.webhook_url(), data="{", auth=(WEBHOOK_USER, WEBHOOK_PASSWORD),
                         timeout=10).status_code == 400
    assert live.runs(DAG_ID) == [] and pending_files(live) == []


def test_each_event_syncs_its_device_and_the_latency_is_measured(live, devices, capsys):
    latencies = []
    for n, (device_id, serial) in enumerate(devices[:20]):
        event = COMPUTER_EVENTS[n % len(COMPUTER_EVENTS)]
        started = time.monotonic()
        answer = live.jamf_sends(event, device_id)
        assert answer["status"] == 202, answer
        live.wait(lambda: serial in live.synced_serials(), 600, f"{serial} in the sandbox", interval=0.2)
        latencies.append(time.monotonic() - started)
        live.wait(lambda: settled(live), 300, "the run to finish", interval=1)
    assert {s for _, s in devices[:20]} <= live.synced_serials()
    runs = live.runs(DAG_ID)
    assert len(runs) == 20 and all(r["run_type"] == "asset_triggered" and r["state"] == "success" for r in runs)
    with capsys.disabled():
        print(f"\nPOST -> device in the sandbox, 20 events one at a time: median {statistics.median(latencies):.1f} s, "
              f"min {min(latencies):.1f} s, max {max(latencies):.1f} s; all: "
              + ", ".join(f"{x:.1f}" for x in latencies))


def test_a_burst_of_500_events_for_50_devices_is_coalesced_and_loses_nothing(live, devices, capsys):
    burst_devices = devices[20:70]
    assert len(burst_devices) == 50
    runs_before = {r["dag_run_id"] for r in live.runs(DAG_ID)}
    already = live.synced_serials()
    assert not {s for _, s in burst_devices} & already
    events = [(COMPUTER_EVENTS[i % len(COMPUTER_EVENTS)], device_id)
              for i in range(10) for device_id, _ in burst_devices]
    random.Random(3).shuffle(events)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda e: live.jamf_sends(*e), events))
    sent_in = time.monotonic() - started
    assert len(answers) == 500 and all(a["status"] == 202 for a in answers)
    live.wait(lambda: {s for _, s in burst_devices} <= live.synced_serials(), 900, "the 50 devices", interval=1)
    live.wait(lambda: settled(live), 600, "the runs to finish and the events to be cleared", interval=1)
    new_runs = [r for r in live.runs(DAG_ID) if r["dag_run_id"] not in runs_before]
    assert all(r["state"] == "success" and r["run_type"] == "asset_triggered" for r in new_runs)
    assert 1 <= len(new_runs) <= 10, f"{len(new_runs)} runs for 500 events"
    pushed: dict[str, int] = {}
    for run in new_runs:
        keys = serials_pushed(live, run)
        assert len(keys) == len(set(keys)), "a run synced a device twice"
        for key in keys:
            pushed[str(key)] = pushed.get(str(key), 0) + 1
    burst_serials = {s for _, s in burst_devices}
    assert burst_serials <= set(pushed)
    assert sum(pushed[s] for s in burst_serials) <= 50 * len(new_runs)
    assert pending_files(live) == []
    with capsys.disabled():
        print(f"\n500 events for 50 devices sent in {sent_in:.1f} s -> {len(new_runs)} run(s); device syncs: "
              f"{sum(pushed[s] for s in burst_serials)} (each device at least once)")


def test_devices_runs_from_the_cli_and_the_rest_api(live, devices):
    (cli_id, cli_id_serial), (_, cli_serial), (_, rest_serial) = devices[70:73]
    live.airflow("dags", "trigger", DAG_ID, "--conf", json.dumps({"devices": [str(cli_id), cli_serial]}))
    run = live.api("POST", f"dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": {"devices": [rest_serial]}})
    assert run["conf"] == {"devices": [rest_serial]}
    wanted = {cli_id_serial, cli_serial, rest_serial}
    live.wait(lambda: wanted <= live.synced_serials(), 600, "the devices of the manual runs", interval=1)
    live.wait(lambda: settled(live), 300, "the manual runs to finish", interval=1)
    manual = [r for r in live.runs(DAG_ID) if r["run_type"] == "manual"]
    assert len(manual) == 2 and all(r["state"] == "success" for r in manual)
    for run in manual:
        keys = set(serials_pushed(live, run))
        assert keys in ({cli_id_serial, cli_serial}, {rest_serial})


def test_a_failed_run_keeps_its_events_for_the_next_run(live, devices):
    from tests.simulators.base import knobs

    first, later = devices[75:78], devices[78]
    before = {r["dag_run_id"] for r in live.runs(DAG_ID)}
    knobs(live.oomnitza, fail_next=100000, fail_status=403, fail_path="^/api/v3/bulk$")  # Oomnitza refuses uploads
    try:
        for n, (device_id, _) in enumerate(first):
            assert live.jamf_sends(COMPUTER_EVENTS[n], device_id)["status"] == 202
        live.wait(lambda: any(r["state"] == "failed" for r in live.runs(DAG_ID) if r["dag_run_id"] not in before)
                  and not [r for r in live.runs(DAG_ID) if r["state"] in ("queued", "running")],
                  600, "the failing run", interval=1)
    finally:
        knobs(live.oomnitza, fail_next=0)
    assert len(pending_files(live)) == 3  # nothing consumed by the failed run(s)
    assert not {s for _, s in first} & live.synced_serials()
    assert live.jamf_sends("ComputerCheckIn", later[0])["status"] == 202
    wanted = {s for _, s in first} | {later[1]}
    live.wait(lambda: wanted <= live.synced_serials(), 600, "all four devices", interval=1)
    live.wait(lambda: settled(live), 300, "the next run to finish", interval=1)
    assert pending_files(live) == []
