"""Tests for the MobileIron Core v2 / Cloud v1 simulator."""
from __future__ import annotations

import collections
import time
from xml.etree import ElementTree as ET

import pytest
import requests

from tests.simulators import mobileiron as mi
from tests.simulators.base import SimulatorProcess, SimulatorThread

NOW = 1_790_000_000.0
N_DEVICES = 900


@pytest.fixture(scope="module")
def sim():
    state = mi.MobileIronState(devices=N_DEVICES, seed=21, now=NOW)
    with SimulatorThread(mi.build_app(state)) as s:
        yield s


@pytest.fixture(autouse=True)
def _reset(sim):
    requests.post(sim.url + "/_sim/reset").raise_for_status()


@pytest.fixture
def api(sim):
    s = requests.Session()
    s.auth = (mi.DEFAULT_USER, mi.DEFAULT_PASSWORD)
    s.headers["Accept"] = "application/json"
    return s


def criteria_fields(sim, api, space=1):
    r = api.get(sim.url + "/api/v2/device_spaces/criteria", params={"adminDeviceSpaceId": space})
    assert r.status_code == 200
    return [f["name"] for f in r.json()["results"]]


# ---- authentication ------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v2/device_spaces/mine", "/api/v1/tenant/partition/device"])
def test_auth_success(sim, api, path):
    assert api.get(sim.url + path).status_code == 200


@pytest.mark.parametrize("auth", [None, (mi.DEFAULT_USER, "wrong"), ("nobody", "x")])
def test_bad_credentials_are_401_in_each_products_shape(sim, auth):
    r = requests.get(sim.url + "/api/v2/device_spaces/mine", auth=auth)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    assert r.json()["messages"][0]["type"] == "Error"
    assert r.json()["messages"][0]["messageKey"].endswith("401")
    r = requests.get(sim.url + "/api/v1/device", params={"dmPartitionId": 100001}, auth=auth)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
    assert r.json()["errors"][0]["type"] == "UNAUTHORIZED"


def test_account_without_api_role_is_403(sim):
    r = requests.get(sim.url + "/api/v2/devices", auth=mi.NO_ROLE_USER)
    assert r.status_code == 403 and r.json()["messages"][0]["messageKey"].endswith("403")
    r = requests.get(sim.url + "/api/v1/tenant/partition/device", auth=mi.NO_ROLE_USER)
    assert r.status_code == 403 and r.json()["errors"][0]["type"] == "FORBIDDEN"


# ---- Core v2 ---------------------------------------------------------------------------------

def test_core_ping_spaces_and_criteria(sim, api):
    assert api.get(sim.url + "/api/v2/ping").json()["results"]["apiVersion"] == 2
    mine = api.get(sim.url + "/api/v2/device_spaces/mine").json()
    assert [s["id"] for s in mine["results"]] == [1] and mine["results"][0]["name"] == "Global"
    regional = requests.get(sim.url + "/api/v2/device_spaces/mine", auth=mi.REGIONAL_USER).json()
    assert [s["id"] for s in regional["results"]] == [2]
    names = criteria_fields(sim, api)
    assert {"common.uuid", "common.imei", "common.Serialnumber", "common.last_connected_at",
            "user.email_address", "ios.iPhone UDID", "android.brand"} <= set(names)
    assert api.get(sim.url + "/api/v2/device_spaces/criteria").status_code == 400
    r = requests.get(sim.url + "/api/v2/device_spaces/criteria", params={"adminDeviceSpaceId": 1},
                     auth=mi.REGIONAL_USER)
    assert r.status_code == 403


def test_core_paging_like_the_original_yields_every_device_once(sim, api):
    """2.1.0: spaces/mine → criteria → devices?labelId=-1&limit=50&offset=n while hasMore."""
    uuids = []
    for space in api.get(sim.url + "/api/v2/device_spaces/mine").json()["results"]:
        fields = criteria_fields(sim, api, space["id"])
        offset, has_more = 0, True
        while has_more:
            r = api.get(sim.url + "/api/v2/devices", params={
                "adminDeviceSpaceId": space["id"], "fields": ",".join(fields), "labelId": -1,
                "limit": 50, "offset": offset})
            assert r.status_code == 200
            body = r.json()
            assert body["resultCount"] == len(body["results"]) <= 50
            assert body["totalCount"] == N_DEVICES
            uuids += [d["common.uuid"] for d in body["results"]]
            offset += 50
            has_more = body["hasMore"]
    assert len(uuids) == len(set(uuids)) == N_DEVICES


def test_core_required_parameters(sim, api):
    base = {"adminDeviceSpaceId": 1, "fields": "common.uuid"}
    r = api.get(sim.url + "/api/v2/devices", params=base)  # neither query nor labelId
    assert r.status_code == 400 and "labelId" in r.json()["messages"][0]["localizedMessage"]
    assert api.get(sim.url + "/api/v2/devices", params={**base, "query": ""}).json()["totalCount"] == N_DEVICES
    assert api.get(sim.url + "/api/v2/devices", params={"fields": "common.uuid", "labelId": -1}).status_code == 400
    assert api.get(sim.url + "/api/v2/devices", params={"adminDeviceSpaceId": 1, "labelId": -1}).status_code == 400
    assert api.get(sim.url + "/api/v2/devices", params={**base, "labelId": -1, "limit": 10001}).status_code == 400
    assert api.get(sim.url + "/api/v2/devices", params={**base, "query": '"common.nope" = "x"'}).status_code == 400
    assert api.get(sim.url + "/api/v2/devices", params={**base, "query": "platform is ios"}).status_code == 400


def test_core_projection_query_labels_and_spaces(sim, api):
    r = api.get(sim.url + "/api/v2/devices", params={
        "adminDeviceSpaceId": 1, "fields": "common.uuid,common.platform,not.a.field", "labelId": -1, "limit": 20})
    for row in r.json()["results"]:
        assert set(row) == {"common.uuid", "common.platform"}
    core = sim.state.core
    q = '"common.platform" = "iOS" AND "common.owner" != "EMPLOYEE" OR "common.platform" = "macOS"'
    body = api.get(sim.url + "/api/v2/devices", params={
        "adminDeviceSpaceId": 1, "fields": "common.platform,common.owner", "query": q, "limit": 10000}).json()
    expected = [c for c in core if (c["common.platform"] == "iOS" and c["common.owner"] != "EMPLOYEE")
                or c["common.platform"] == "macOS"]
    assert body["totalCount"] == len(expected) > 0 and body["hasMore"] is False
    labels = api.get(sim.url + "/api/v2/labels/label_summary", params={"adminDeviceSpaceId": 1}).json()["results"]
    android = next(lab for lab in labels if lab["name"] == "Android")
    body = api.get(sim.url + "/api/v2/devices", params={
        "adminDeviceSpaceId": 1, "fields": "common.platform", "labelId": android["id"], "limit": 10000}).json()
    assert body["totalCount"] == android["deviceCount"] > 0
    assert {d["common.platform"] for d in body["results"]} == {"Android"}
    # The EMEA admin only sees the EMEA device space.
    body = requests.get(sim.url + "/api/v2/devices", auth=mi.REGIONAL_USER, params={
        "adminDeviceSpaceId": 2, "fields": "common.device_space_name", "labelId": -1, "limit": 10000}).json()
    assert 0 < body["totalCount"] < N_DEVICES
    assert {d["common.device_space_name"] for d in body["results"]} == {"EMEA"}
    sorted_body = api.get(sim.url + "/api/v2/devices", params={
        "adminDeviceSpaceId": 1, "fields": "common.last_connected_at", "labelId": -1, "limit": 100,
        "sortField": "common.last_connected_at", "sortOrder": "DESC"}).json()
    stamps = [d["common.last_connected_at"] for d in sorted_body["results"]]
    assert stamps == sorted(stamps, reverse=True)


def test_core_legacy_v1_xml_default_and_json(sim, api):
    r = requests.get(sim.url + "/api/v1/dm/devices", auth=(mi.DEFAULT_USER, mi.DEFAULT_PASSWORD))
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(r.content)
    assert root.tag == "devices" and len(root.findall("device")) == N_DEVICES
    assert root.find("device/uuid").text
    body = api.get(sim.url + "/api/v1/dm/devices", params={"status": "ACTIVE"}).json()
    devices = body["devices"]["device"]
    assert devices and {d["status"] for d in devices} == {"ACTIVE"}
    ios = next(d for d in devices if d["platform"].startswith("iOS"))
    assert any(e["key"] == "iPhone UDID" for e in ios["details"][0]["entry"])


# ---- Cloud v1 --------------------------------------------------------------------------------

def cloud_page(sim, api, partition, start, rows=500, **extra):
    r = api.get(sim.url + "/api/v1/device", params={
        "dmPartitionId": partition, "rows": rows, "start": start,
        "sortFields[0].name": "lastCheckin", "sortFields[0].order": "DESC", **extra})
    assert r.status_code == 200, r.text
    return r.json()["result"]


def test_cloud_partitions_and_paging_yield_every_device_once(sim, api):
    parts = api.get(sim.url + "/api/v1/tenant/partition/device").json()["result"]["searchResults"]
    assert {"id", "name"} <= set(parts[0]) and "Drivers" in {p["name"] for p in parts}
    ids = []
    for part in parts:
        start, total = 0, None
        while True:
            res = cloud_page(sim, api, part["id"], start, rows=100)
            total = res["totalCount"] if total is None else total
            assert res["totalCount"] == total
            batch = res["searchResults"]
            if not batch:
                break
            assert all(d["dmPartitionId"] == part["id"] for d in batch)
            ids += [d["id"] for d in batch]
            start += len(batch)
        assert start == total
    assert len(ids) == len(set(ids)) == N_DEVICES


def test_cloud_sorted_by_lastcheckin_desc_with_never_seen_last(sim, api):
    first = cloud_page(sim, api, 100001, 0)
    rest = cloud_page(sim, api, 100001, 500)
    assert len(first["searchResults"]) == 500 and rest["searchResults"]
    stamps = [d["lastCheckin"] for d in first["searchResults"] + rest["searchResults"]]
    assert len(stamps) == first["totalCount"]
    known = [s for s in stamps if s is not None]
    assert known == sorted(known, reverse=True)
    assert stamps[:len(known)] == known  # None (never checked in) comes after all others
    assert all(s > 10 ** 12 for s in known)  # epoch milliseconds


def test_cloud_checkin_cutoff_matters(sim, api):
    """The original keeps devices seen in the last 1.5 days and stops at the first page without any."""
    cutoff_ms = (NOW - 1.5 * 86400) * 1000
    kept, start = [], 0
    while True:
        batch = cloud_page(sim, api, 100001, start, rows=50)["searchResults"]
        recent = [d for d in batch if d["lastCheckin"] is not None and d["lastCheckin"] >= cutoff_ms]
        if not recent:
            break
        kept += recent
        start += len(batch)
    every = [d for d in sim.state.cloud if d["dmPartitionId"] == 100001]
    expected = [d for d in every if d["lastCheckin"] is not None and d["lastCheckin"] >= cutoff_ms]
    assert len(kept) == len(expected)
    assert 0.2 < len(expected) / len(every) < 0.85  # the cut-off really removes devices
    assert start < len(every)  # and paging stopped early


@pytest.mark.parametrize("rows", [501, 1000, 0])
def test_cloud_rows_outside_1_to_500_is_a_400_as_documented(sim, api, rows):
    """Ivanti: "Do not send a value greater than 500 for the rows parameter" (400 since release 75)."""
    r = api.get(sim.url + "/api/v1/device", params={"dmPartitionId": 100001, "rows": rows, "start": 0})
    assert r.status_code == 400
    assert r.json() == {"errors": {"globalErrors": None, "fieldErrors": [
        {"code": "Range", "message": "must be between 1 and 500", "field": "rows"}]}, "result": None}
    assert len(cloud_page(sim, api, 100001, 0, rows=500)["searchResults"]) == 500


def test_cloud_rows_limit_offset_ignored_and_bad_params(sim, api):
    requests.post(sim.url + "/_sim/config", json={"cloud_max_rows": 40}).raise_for_status()
    assert api.get(sim.url + "/api/v1/device", params={"dmPartitionId": 100001, "rows": 41}).status_code == 400
    res = cloud_page(sim, api, 100001, 0, rows=40)
    assert len(res["searchResults"]) == 40
    first = [d["id"] for d in res["searchResults"]]
    again = cloud_page(sim, api, 100001, 0, rows=40, offset=40)["searchResults"]
    assert [d["id"] for d in again] == first  # offset does not page; start does
    assert api.get(sim.url + "/api/v1/device").status_code == 400
    r = api.get(sim.url + "/api/v1/device", params={"dmPartitionId": 1})
    assert r.status_code == 400 and r.json()["errors"][0]["type"] == "BAD_REQUEST"
    assert api.get(sim.url + "/api/v1/device", params={
        "dmPartitionId": 100001, "sortFields[0].name": "nope"}).status_code == 400
    res = cloud_page(sim, api, 100001, 10 ** 6, rows=40)
    assert res["searchResults"] == [] and res["totalCount"] > 0


def test_cloud_windows_hardware_inventory(sim, api):
    windows = [d for d in sim.state.cloud if d["windowsDeviceType"]]
    others = [d for d in sim.state.cloud if not d["windowsDeviceType"]]
    assert windows and others and {d["platformType"] for d in windows} == {"WINDOWS"}
    full = 0
    for dev in windows[:40]:
        inv = api.get(sim.url + f"/api/v1/device/{dev['id']}/hardwareinventory").json()["result"]
        assert {"processor", "hardDrive", "physicalMemory"} <= set(inv)
        if inv["processor"]:
            full += 1
            assert inv["processor"][0]["name"] and inv["processor"][0]["cores"] > 0
            assert inv["hardDrive"][0]["size"] > 0 and inv["physicalMemory"][0]["capacity"] > 0
            assert inv["computerSystemProduct"]["identifyingNumber"] == dev["serialNumber"]
    assert full > 0
    r = api.get(sim.url + f"/api/v1/device/{others[0]['id']}/hardwareinventory")
    assert r.status_code == 404 and r.json()["errors"]
    assert api.get(sim.url + "/api/v1/device/1/hardwareinventory").status_code == 404


def test_data_variety(sim):
    cloud, core = sim.state.cloud, sim.state.core
    assert {"IOS", "ANDROID", "WINDOWS", "MACOS"} == {d["platformType"] for d in cloud}
    assert any(d["serialNumber"] is None for d in cloud) and any(d["imei"] is None for d in cloud)
    assert any(d["uid"] is None for d in cloud)
    assert any(d["lastCheckin"] is None for d in cloud)
    ages_h = [(NOW * 1000 - d["lastCheckin"]) / 3_600_000 for d in cloud if d["lastCheckin"]]
    assert min(ages_h) < 2 and max(ages_h) > 24 * 90
    buckets = collections.Counter(int(a > 24) + int(a > 72) for a in ages_h)
    assert all(buckets[b] > len(ages_h) * 0.1 for b in (0, 1, 2))
    assert collections.Counter(d["registrationState"] for d in cloud).keys() >= {"ACTIVE", "RETIRED"}
    assert any(not (d["firstName"] or "").isascii() for d in cloud)
    # Core omits fields without a value.
    assert any("common.imei" not in c for c in core) and any("common.imei" in c for c in core)
    assert all(c["common.last_connected_at"].endswith("Z") for c in core if "common.last_connected_at" in c)


def test_generation_is_deterministic():
    a = mi.MobileIronState(devices=150, seed=5, now=NOW)
    b = mi.MobileIronState(devices=150, seed=5, now=NOW)
    assert a.cloud == b.cloud and a.core == b.core
    assert a.cloud != mi.MobileIronState(devices=150, seed=6, now=NOW).cloud


# ---- faults ----------------------------------------------------------------------------------

def test_fault_injection_uses_each_products_error_shape(sim, api):
    requests.post(sim.url + "/_sim/knobs", json={"fail_next": 1, "fail_status": 503,
                                                 "fail_path": "^/api/v2/"}).raise_for_status()
    r = api.get(sim.url + "/api/v2/ping")
    assert r.status_code == 503 and r.json()["messages"][0]["messageKey"].endswith("503")
    assert api.get(sim.url + "/api/v2/ping").status_code == 200
    requests.post(sim.url + "/_sim/knobs", json={"fail_next": 1, "fail_status": 500,
                                                 "fail_path": "^/api/v1/device"}).raise_for_status()
    r = api.get(sim.url + "/api/v1/device", params={"dmPartitionId": 100001})
    assert r.status_code == 500 and r.json()["errors"][0]["type"] == "SERVER_ERROR"
    requests.post(sim.url + "/_sim/knobs", json={"rate_limit": 1, "rate_window_s": 30,
                                                 "retry_after_s": 2}).raise_for_status()
    assert api.get(sim.url + "/api/v1/tenant/partition/device").status_code == 200
    r = api.get(sim.url + "/api/v1/tenant/partition/device")
    assert r.status_code == 429 and r.headers["Retry-After"] == "2" and r.json()["errors"]
    stats = requests.get(sim.url + "/_sim/stats").json()
    assert stats["injected_failures"] == 2 and stats["rate_limited"] == 1


def test_latency_knob(sim, api):
    requests.post(sim.url + "/_sim/knobs", json={"latency_ms": 150}).raise_for_status()
    start = time.perf_counter()
    api.get(sim.url + "/api/v2/ping")
    assert time.perf_counter() - start >= 0.14


def test_runs_as_process():
    with SimulatorProcess("tests.simulators.mobileiron", "--devices", "120", "--seed", "3",
                          "--user", "api@tenant.example.com", "--password", "pw") as proc:
        auth = ("api@tenant.example.com", "pw")
        parts = requests.get(proc.url + "/api/v1/tenant/partition/device", auth=auth).json()
        assert sum(p["deviceCount"] for p in parts["result"]["searchResults"]) == 120
        body = requests.get(proc.url + "/api/v2/devices", auth=auth, params={
            "adminDeviceSpaceId": 1, "fields": "common.uuid", "labelId": -1, "limit": 200}).json()
        assert body["totalCount"] == 120 and body["hasMore"] is False
        assert requests.get(proc.url + "/api/v2/ping", auth=(mi.DEFAULT_USER, mi.DEFAULT_PASSWORD)).status_code == 401
