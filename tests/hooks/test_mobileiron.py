"""MobileIronHook against the MobileIron simulator: Cloud v1 and Core v2, paging, partitions, check-in filter."""
import json

import pytest

from airflow_provider_oomnitza.hooks.http_client import HttpError
from airflow_provider_oomnitza.hooks.mobileiron import MobileIronHook, hardware_fields, select_partitions
from tests.simulators import mobileiron as mi
from tests.simulators.base import SimulatorThread

NOW = 1_790_000_000.0
HOURS_36 = 129600
DRIVERS, EXECUTIVES = 100002, 100003


@pytest.fixture(scope="module")
def sim():
    state = mi.MobileIronState(devices=1500, seed=11, now=NOW)
    with SimulatorThread(mi.build_app(state)) as s:
        yield s


@pytest.fixture(autouse=True)
def _fresh(sim, monkeypatch):
    sim.state.reset()
    monkeypatch.setattr(MobileIronHook, "clock", staticmethod(lambda: NOW))


def hook(sim, **settings):
    base = {"url": sim.url, "username": mi.DEFAULT_USER, "password": mi.DEFAULT_PASSWORD, "partitions": "All",
            "include_checkin_devices_only": False}
    return MobileIronHook(base | settings, section="mobileiron")


def requests_to(sim, path):
    return sim.state.stats.by_path.get(path, 0)


def recent(devices, seconds):
    return [d for d in devices if d["lastCheckin"] is not None and d["lastCheckin"] >= (NOW - seconds) * 1000]


# ---- Cloud v1 --------------------------------------------------------------------------------

def test_cloud_every_device_of_every_partition_once_as_the_api_gives_it(sim):
    records = list(hook(sim).records())
    assert len(records) == len({r["id"] for r in records}) == len(sim.state.cloud)
    assert sorted(records, key=lambda r: r["id"]) == sorted(sim.state.cloud, key=lambda r: r["id"])
    # 500 rows a page (the documented maximum): the default partition needs several pages.
    default = sum(1 for d in sim.state.cloud if d["dmPartitionId"] == 100001)
    assert default > 1000 and requests_to(sim, "/api/v1/device") == -(-default // 500) + 3


def test_the_checkin_filter_is_on_by_default_with_36_hours_and_stops_paging_early(sim):
    h = MobileIronHook({"url": sim.url, "username": mi.DEFAULT_USER, "password": mi.DEFAULT_PASSWORD,
                        "partitions": "All"}, section="mobileiron")
    records = list(h.records())
    expected = recent(sim.state.cloud, HOURS_36)
    assert 0 < len(expected) < len(sim.state.cloud)
    assert sorted(r["id"] for r in records) == sorted(d["id"] for d in expected)
    # Newest first: a partition stops at the first device older than the cut-off.
    pages = every_page = 0
    for pid, _ in mi.CLOUD_PARTITIONS:
        devices = [d for d in sim.state.cloud if d["dmPartitionId"] == pid]
        every_page += max(1, -(-len(devices) // 500))
        pages += min(len(recent(devices, HOURS_36)) // 500 + 1, max(1, -(-len(devices) // 500)))
    assert requests_to(sim, "/api/v1/device") == pages < every_page


@pytest.mark.parametrize("seconds", [3600, 7 * 86400])
def test_the_threshold_is_in_seconds(sim, seconds):
    records = list(hook(sim, include_checkin_devices_only=True, last_checkin_date_threshold=seconds).records())
    assert sorted(r["id"] for r in records) == sorted(d["id"] for d in recent(sim.state.cloud, seconds))
    assert all(r["lastCheckin"] is not None for r in records)


def test_filter_off_keeps_devices_that_never_checked_in(sim):
    records = list(hook(sim, include_checkin_devices_only=False).records())
    assert any(r["lastCheckin"] is None for r in records)


@pytest.mark.parametrize("partitions,match,expected", [
    (["Drivers"], "substring", {DRIVERS}),
    (["Drivers", "Executives"], "exact", {DRIVERS, EXECUTIVES}),
    # The original's rule: a partition whose name is part of the setting's text is taken.
    (["Drivers (EU)"], "substring", {DRIVERS}),
    (["Drivers (EU)"], "exact", set()),
    (["All"], "substring", set()),  # a list holding "All" names a partition; it is not the keyword
    ("All", "exact", {100001, DRIVERS, EXECUTIVES, 100004}),
])
def test_partitions_select_as_the_original(sim, partitions, match, expected):
    records = list(hook(sim, partitions=partitions, partition_match=match).records())
    assert {r["dmPartitionId"] for r in records} == expected
    assert len(records) == sum(1 for d in sim.state.cloud if d["dmPartitionId"] in expected)


def test_select_partitions_says_why_a_partition_was_taken():
    parts = [{"id": 1, "name": "Drivers"}, {"id": 2, "name": "Kiosks"}]
    chosen, notes = select_partitions(parts, ["Drivers (EU)", "Kiosks"])
    assert [p["id"] for p in chosen] == [1, 2]
    assert notes[0].startswith("partition 'Drivers' is selected because its name is part of 'Drivers (EU)'")
    assert notes[1] == "no partition is named 'Drivers (EU)'; the partitions are: Drivers, Kiosks"
    assert select_partitions(parts, ["Kiosks"], exact=True) == ([parts[1]], [])


def test_an_empty_partition_gives_nothing_and_the_others_still_load():
    state = mi.MobileIronState(devices=300, seed=2, now=NOW)
    state.cloud = [d for d in state.cloud if d["dmPartitionId"] != EXECUTIVES]
    with SimulatorThread(mi.build_app(state)) as s:
        assert list(hook(s, partitions=["Executives"]).records()) == []
        assert state.stats.by_path["/api/v1/device"] == 1
        records = list(hook(s, partitions=["Executives", "Drivers"]).records())
        assert records and {r["dmPartitionId"] for r in records} == {DRIVERS}


def test_pages_are_yielded_as_they_come(sim):
    records = hook(sim).records()
    first = next(records)
    assert first["dmPartitionId"] == 100001
    assert requests_to(sim, "/api/v1/device") == 1
    assert sum(1 for _ in records) == len(sim.state.cloud) - 1


@pytest.mark.parametrize("api_version,path", [(1, "/api/v1/device"), (2, "/api/v2/devices")])
def test_a_page_failing_once_with_5xx_is_retried(sim, api_version, path):
    sim.state.knobs.update({"fail_next": 1, "fail_status": 503, "fail_path": f"^{path}$", "fail_retry_after_s": 0})
    records = list(hook(sim, api_version=api_version).records())
    assert sim.state.stats.injected_failures == 1
    assert len(records) == len(sim.state.cloud)


@pytest.mark.parametrize("api_version", [1, 2])
def test_bad_credentials_fail_with_a_clear_message(sim, api_version):
    with pytest.raises(HttpError) as err:
        list(hook(sim, api_version=api_version, password="wrong").records())
    assert err.value.status == 401 and "refused the username or password" in str(err.value)
    with pytest.raises(HttpError) as err:
        hook(sim, api_version=api_version, username=mi.NO_ROLE_USER[0], password=mi.NO_ROLE_USER[1]).check()
    assert err.value.status == 403 and "may not use the API" in str(err.value)


def test_windows_hardware_inventory_when_asked(sim):
    records = list(hook(sim, partitions=["Drivers"], windows_hardware_inventory=True).records())
    windows = [r for r in records if r["windowsDeviceType"]]
    assert windows and len(windows) < len(records)
    calls = sum(n for p, n in sim.state.stats.by_path.items() if p.endswith("/hardwareinventory"))
    assert calls == len(windows)
    for record in records:
        inventory = sim.state.hardware_inventory(record["id"]) if record["windowsDeviceType"] else {}
        assert record["primaryProcessorName"] == (inventory.get("processor") or [{}])[0].get("name")
        assert record["primaryMemoryCapacity"] == (inventory.get("physicalMemory") or [{}])[0].get("capacity")
    full = [r for r in windows if r["primaryHDDSize"]]
    assert full and all(r["serialNumber"] == sim.state.cloud_by_id[r["id"]]["serialNumber"] for r in full)
    plain = list(hook(sim, partitions=["Drivers"]).records())
    assert "primaryHDDSize" not in plain[0]


def test_hardware_fields_keep_the_serial_when_the_inventory_has_none():
    empty = {"processor": [], "hardDrive": [], "physicalMemory": []}
    assert hardware_fields(empty) == dict.fromkeys(
        ("primaryProcessorName", "primaryProcessorCores", "primaryHDDSize", "primaryMemoryCapacity"))


# ---- Core v2 ---------------------------------------------------------------------------------

def test_core_every_device_once_with_every_criteria_field(sim):
    records = list(hook(sim, api_version=2).records())
    assert len(records) == len({r["common.id"] for r in records}) == len(sim.state.core)
    by_id = {r["common.id"]: r for r in sim.state.core}
    assert all(r == by_id[r["common.id"]] for r in records)  # the flat dotted objects, every field asked for
    assert requests_to(sim, "/api/v2/devices") == 3  # 1500 devices, 500 a page


def test_core_a_device_in_two_spaces_is_sent_once(sim):
    sim.state.users["twospaces"] = ("pw", True, [1, 2])
    try:
        records = list(hook(sim, api_version=2, username="twospaces", password="pw").records())
    finally:
        del sim.state.users["twospaces"]
    assert len(records) == len({r["common.id"] for r in records}) == len(sim.state.core)
    assert requests_to(sim, "/api/v2/device_spaces/criteria") == 2


def test_core_regional_admin_reads_its_space_only(sim):
    user, password = mi.REGIONAL_USER
    records = list(hook(sim, api_version=2, username=user, password=password).records())
    assert records and {r["common.device_space_name"] for r in records} == {"EMEA"}
    assert len(records) == len(sim.state.space_members[2])


def test_core_ignores_the_cloud_settings(sim):
    records = list(hook(sim, api_version=2, partitions=["Drivers"], include_checkin_devices_only=True,
                        last_checkin_date_threshold=60).records())
    assert len(records) == len(sim.state.core)


# ---- connection test -------------------------------------------------------------------------

def test_check_names_what_it_found(sim):
    assert hook(sim, partitions=["Drivers"]).check() == (
        f"Connected to MobileIron Cloud at {sim.url}: partitions Default Partition, Drivers, Executives, Kiosks; "
        "selected: Drivers")
    assert hook(sim, api_version=2).check() == f"Connected to MobileIron Core at {sim.url}: device spaces Global (1)"


def test_an_airflow_connection_provides_url_credentials_and_api_version(sim, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MI_CORE", json.dumps({
        "conn_type": "mobileiron", "host": sim.url, "login": mi.DEFAULT_USER, "password": mi.DEFAULT_PASSWORD,
        "extra": {"api_version": 2}}))
    ok, message = MobileIronHook(mobileiron_conn_id="mi_core").test_connection()  # as Airflow builds it for a test
    assert ok and message.startswith("Connected to MobileIron Core")
    h = MobileIronHook({"url": "http://unused.invalid", "username": "x", "password": "y", "conn_id": "mi_core"},
                       section="mobileiron")
    assert len(list(h.records())) == len(sim.state.core)


# ---- settings --------------------------------------------------------------------------------

def issues(tmp_path, body):
    from airflow_provider_oomnitza.config.loader import load_config

    path = tmp_path / "config.ini"
    path.write_text("[oomnitza]\nurl = https://example.oomnitza.com\napi_token = t\n\n[mobileiron]\nenable = true\n"
                    "username = u\npassword = p\nsync_field = SERIAL_NUMBER\n" + body)
    config = load_config(path)
    return [(i.severity, str(i).split("[mobileiron] ", 1)[1]) for i in config.all_issues()]


@pytest.mark.parametrize("body,expected", [
    ("partitions = All\n", []),
    ("", [("error", 'partitions: missing required setting (e.g. ["Drivers"]): a JSON list of partition names, '
                    "or All")]),
    ("api_version = 2\n", []),
    ("api_version = 3\npartitions = All\n",
     [("error", "api_version: expected 1 (MobileIron Cloud) or 2 (MobileIron Core), got 3")]),
    ("partitions = All\nlast_checkin_date_threshold = 0\n",
     [("error", "last_checkin_date_threshold: expected a whole number of seconds of at least 1, got 0")]),
    ("partitions = All\ninclude_checkin_devices_only = maybe\n",
     [("error", "include_checkin_devices_only: expected true/false, yes/no, on/off or 1/0 (any case), "
                "got 'maybe'")]),
    ("partitions = All\npartition_match = fuzzy\n", [("error", "partition_match: expected 'substring' or 'exact'")]),
    ('partitions = ["All"]\n', [("warning", 'partitions: ["All"] selects a partition named All, as in the original; '
                                            "for every partition write: partitions = All")]),
    ("api_version = 2\ninclude_checkin_devices_only = false\n",
     [("warning", "include_checkin_devices_only: applies to MobileIron Cloud (api_version = 1) only; ignored with "
                  "MobileIron Core")]),
])
def test_settings_are_checked_with_messages_naming_the_key(tmp_path, body, expected):
    assert issues(tmp_path, body) == expected


def test_a_url_that_is_not_the_api_fails_with_a_hint():
    """A login page answered with 200 (a wrong url) is not read as an empty fleet."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class LoginPage(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>Sign in</html>")

        def log_message(self, *args):
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), LoginPage) as server:
        Thread(target=server.serve_forever, daemon=True).start()
        h = MobileIronHook({"url": f"http://127.0.0.1:{server.server_port}", "username": "u", "password": "p",
                            "partitions": "All"}, section="mobileiron")
        with pytest.raises(HttpError, match="expected a JSON object, got 'text/html' .is url .* the MobileIron API"):
            list(h.records())
        server.shutdown()
