"""The run side: single devices from Jamf (ids or serials), webhook runs taking the pending events,
``devices`` runs through the DAG, and the DAG's schedule (asset or cron)."""
from types import SimpleNamespace

import pytest

from airflow_provider_oomnitza.dag_factory import dag_id_for
from airflow_provider_oomnitza.hooks.jamf import JamfHook
from airflow_provider_oomnitza.mapping.needs import needs_of
from airflow_provider_oomnitza.storage import RunStorage
from airflow_provider_oomnitza.webhooks.pending import PendingEvents
from airflow_provider_oomnitza.webhooks.runs import CONSUMED, clear_consumed, device_records
from airflow_provider_oomnitza.webhooks.scheduling import asset_uri
from tests.simulators.base import SimulatorThread
from tests.simulators.jamf import DEFAULT_ACCOUNTS, JamfState, build_app

USER, PASSWORD = next(iter(DEFAULT_ACCOUNTS.items()))
MAPPINGS = {"SERIAL_NUMBER": {"source": "general.serial_number"}, "DEVICE_NAME": {"source": "general.name"}}


@pytest.fixture(scope="module")
def jamf():
    with SimulatorThread(build_app(JamfState(60, 30, seed=5))) as sim:
        yield sim


def hook(jamf, sync_type="computers") -> JamfHook:
    settings = {"url": jamf.url, "username": USER, "password": PASSWORD, "sync_type": sync_type}
    return JamfHook(settings, section="casper", needs=needs_of(MAPPINGS))


def serials(inventory_devices, count, offset=0):
    return [d for d in inventory_devices.values() if d["serial"]][offset:offset + count]


def test_computers_by_id_and_by_serial_each_once(jamf):
    inv = jamf.state.inventory
    a, b, c = serials(inv.computers, 3)
    h = hook(jamf)
    inventory = lambda: sum(n for path, n in jamf.state.stats.by_path.items() if "computers-inventory" in path)  # noqa: E731
    before = inventory()
    records = list(h.records_by_keys([str(a["id"]), b["serial"], b["serial"].lower(), str(b["id"]), str(c["id"]),
                                      str(a["id"])]))
    assert sorted(r["general"]["serial_number"] for r in records) == sorted([a["serial"], b["serial"], c["serial"]])
    assert h.problems == []
    listed = inventory() - before
    assert listed == 2  # one request resolves the serials, one reads the devices


def test_mobile_devices_by_id_and_serial(jamf):
    inv = jamf.state.inventory
    a, b = serials(inv.mobile_devices, 2)
    records = list(hook(jamf, "mobiledevices").records_by_keys([str(a["id"]), b["serial"]]))
    assert sorted(r["general"]["serial_number"] for r in records) == sorted([a["serial"], b["serial"]])


def test_unknown_devices_are_reported_not_raised(jamf):
    h = hook(jamf)
    known = serials(jamf.state.inventory.computers, 1)[0]
    records = list(h.records_by_keys(["999999", "NOSUCHSERIAL1", "bad serial;drop", str(known["id"])]))
    assert [r["general"]["serial_number"] for r in records] == [known["serial"]]
    assert len(h.problems) == 3
    assert any("id 999999" in p for p in h.problems) and any("NOSUCHSERIAL1" in p for p in h.problems)
    assert any("neither a Jamf Pro id nor a serial" in p for p in h.problems)


def test_many_ids_are_read_in_chunks(jamf):
    ids = [str(i) for i in sorted(jamf.state.inventory.computers)]
    records = list(hook(jamf).records_by_keys(ids))
    assert len(records) == len(ids) == 60


# -- which devices a run syncs ------------------------------------------------------------------

class FakeHook:
    def __init__(self):
        self.asked = None

    def records_by_keys(self, keys):
        self.asked = list(keys)
        return iter([{"id": k} for k in self.asked])


def context(run_type="manual", **params):
    return {"dag_run": SimpleNamespace(run_type=run_type), "params": params}


@pytest.fixture
def storage(tmp_path, monkeypatch):
    monkeypatch.setenv("OOMNITZA_STORAGE", f"file://{tmp_path}")
    return RunStorage("oomnitza_casper", "asset_triggered__1")


def test_a_manual_run_without_devices_is_the_full_sync(storage):
    PendingEvents("casper").add({"device_key": "1"})
    assert device_records(FakeHook(), "casper", context(), storage) is None
    assert device_records(FakeHook(), "casper", context("scheduled"), storage) is None
    assert not storage.exists(CONSUMED)


def test_a_devices_run_syncs_the_named_devices_and_consumes_no_events(storage):
    PendingEvents("casper").add({"device_key": "1"})
    h = FakeHook()
    assert list(device_records(h, "casper", context(devices=["12", 13, "C02X"]), storage)) and h.asked == [
        "12", "13", "C02X"]
    clear_consumed(storage, "casper")
    assert len(PendingEvents("casper").names()) == 1


def test_a_webhook_run_takes_every_pending_event_once_per_device_and_clears_only_those(storage):
    pending = PendingEvents("casper")
    for key in ("5", "7", "5", "C02XK1ABJGH5", "7"):
        pending.add({"device_key": key})
    broken = pending.root / "0000000000000-broken.json"
    broken.write_text("{not json")
    h = FakeHook()
    list(device_records(h, "casper", context("asset_triggered"), storage))
    assert sorted(h.asked) == ["5", "7", "C02XK1ABJGH5"]  # each device once (events of one millisecond: any order)
    taken = storage.read_json(CONSUMED)["files"]
    assert len(taken) == 6 and broken.name in taken
    late = pending.add({"device_key": "8"})  # arrives while the run works
    assert clear_consumed(storage, "casper") == {"webhook_events_cleared": 6}
    assert pending.names() == [late]
    assert PendingEvents("casper.MDM").names() == []


# -- the DAG ------------------------------------------------------------------------------------

def section(sim, name="casper", extra=""):
    return (f"[{name}]\nenable = true\nurl = {sim.url}\nusername = {USER}\npassword = {PASSWORD}\n"
            "sync_field = SERIAL_NUMBER\nuse_server_map = false\n" + extra)


def test_jamf_dags_run_on_their_webhook_asset_or_their_cron(sync_env, jamf):
    from airflow.sdk import AssetOrTimeSchedule

    env = sync_env
    csv = env.write("a.csv", "serial\nX1\n")
    env.write_ini(section(jamf) + section(jamf, "casper.MDM", "sync_type = mobiledevices\nschedule = 0 6 * * *\n")
                  + f'[csv_assets]\nenable = true\nfilename = {csv}\nsync_field = SERIAL_NUMBER\n'
                    'mapping.SERIAL_NUMBER = {"source": "serial"}\n')
    dags = env.dagbag().dags
    casper, mdm, csv_dag = dags[dag_id_for("casper")], dags[dag_id_for("casper.MDM")], dags[dag_id_for("csv_assets")]
    assert [a.uri for a in casper.timetable.asset_condition.objects] == [asset_uri("casper")]
    assert isinstance(mdm.timetable, AssetOrTimeSchedule)
    assert mdm.timetable.timetable.expression == "0 6 * * *"
    assert [a.uri for a in mdm.timetable.asset_condition.objects] == [asset_uri("casper.MDM")]
    assert "devices" in casper.params and "devices" not in csv_dag.params
    assert type(csv_dag.timetable).__name__ == "NullTimetable"  # unchanged: no schedule, no asset


def test_a_devices_run_syncs_just_those_devices_through_the_dag(sync_env, jamf):
    env, inv = sync_env, jamf.state.inventory
    a, b = serials(inv.computers, 2, offset=4)
    env.write_ini(section(jamf))
    PendingEvents("casper").add({"device_key": "1"})  # a devices run leaves pending events alone
    run = env.run(dag_id_for("casper"), devices=[str(a["id"]), b["serial"]])
    assert run.state == "success"
    assert sorted(r["SERIAL_NUMBER"] for r in env.sandbox.state.records("assets")) == sorted([a["serial"], b["serial"]])
    report = env.report(dag_id_for("casper"), run)
    assert report["extracted"] == 2 and report["pushed"] == 2
    assert len(PendingEvents("casper").names()) == 1
