"""Tests for the AirWatch / Workspace ONE UEM simulator."""
from __future__ import annotations

import collections
import random
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.simulators import airwatch as aw
from tests.simulators.base import SimulatorProcess, SimulatorThread
from tests.simulators.device_data import parse_dotnet_naive

NOW = 1_790_000_000.0  # fixed "now" so the fleet is the same on every run
N_DEVICES = 1200


@pytest.fixture(scope="module")
def sim():
    state = aw.AirWatchState(devices=N_DEVICES, seed=11, now=NOW)
    with SimulatorThread(aw.build_app(state)) as s:
        yield s


@pytest.fixture(autouse=True)
def _reset(sim):
    requests.post(sim.url + "/_sim/reset").raise_for_status()


@pytest.fixture
def api(sim):
    s = requests.Session()
    s.auth = (aw.DEFAULT_USER, aw.DEFAULT_PASSWORD)
    s.headers.update({"aw-tenant-code": aw.DEFAULT_TENANT_CODE, "Accept": "application/json"})
    return s


SEARCH = "/api/mdm/devices/search"


# ---- authentication ------------------------------------------------------------------------

def test_basic_auth_with_tenant_code(sim, api):
    r = api.get(sim.url + SEARCH, params={"pagesize": 10})
    assert r.status_code == 200
    body = r.json()
    assert body["Total"] == len(sim.state.records)
    assert len(body["Devices"]) == 10 and body["Page"] == 0 and body["PageSize"] == 10


@pytest.mark.parametrize("case", ["no_tenant", "wrong_tenant", "wrong_password", "no_auth",
                                  "directory_account", "garbage_basic"])
def test_auth_failures_are_401_errorcode_1005(sim, case):
    headers = {"Accept": "application/json", "aw-tenant-code": aw.DEFAULT_TENANT_CODE}
    auth = (aw.DEFAULT_USER, aw.DEFAULT_PASSWORD)
    if case == "no_tenant":
        headers.pop("aw-tenant-code")
    elif case == "wrong_tenant":
        headers["aw-tenant-code"] = "nope"
    elif case == "wrong_password":
        auth = (aw.DEFAULT_USER, "wrong")
    elif case == "no_auth":
        auth = None
    elif case == "directory_account":
        auth = aw.DIRECTORY_USER
    elif case == "garbage_basic":
        auth = None
        headers["Authorization"] = "Basic !!!not-base64"
    r = requests.get(sim.url + SEARCH, headers=headers, auth=auth)
    assert r.status_code == 401
    body = r.json()
    assert body["errorCode"] == 1005
    assert "validating remote service client credentials" in body["message"]
    assert "activityId" in body


def test_admin_without_api_role_is_403(sim):
    r = requests.get(sim.url + SEARCH, auth=aw.NO_ROLE_USER,
                     headers={"aw-tenant-code": aw.DEFAULT_TENANT_CODE, "Accept": "application/json"})
    assert r.status_code == 403
    assert isinstance(r.json()["errorCode"], int) and r.json()["message"]


def test_oauth_client_credentials_bearer(sim):
    r = requests.post(sim.url + "/connect/token", data={
        "grant_type": "client_credentials", "client_id": aw.DEFAULT_CLIENT_ID,
        "client_secret": aw.DEFAULT_CLIENT_SECRET})
    assert r.status_code == 200
    tok = r.json()
    assert tok["token_type"] == "Bearer" and tok["expires_in"] == 3600 and tok["access_token"]
    # Bearer works without aw-tenant-code.
    r = requests.get(sim.url + SEARCH, params={"pagesize": 5},
                     headers={"Authorization": f"Bearer {tok['access_token']}", "Accept": "application/json"})
    assert r.status_code == 200 and len(r.json()["Devices"]) == 5
    # Client authentication with HTTP Basic is accepted as well.
    r = requests.post(sim.url + "/connect/token", data={"grant_type": "client_credentials"},
                      auth=(aw.DEFAULT_CLIENT_ID, aw.DEFAULT_CLIENT_SECRET))
    assert r.status_code == 200


def test_token_endpoint_and_bearer_failures(sim):
    r = requests.post(sim.url + "/connect/token", data={
        "grant_type": "client_credentials", "client_id": aw.DEFAULT_CLIENT_ID, "client_secret": "bad"})
    assert r.status_code == 400 and r.json() == {"error": "invalid_client"}
    r = requests.post(sim.url + "/connect/token", data={
        "grant_type": "password", "client_id": aw.DEFAULT_CLIENT_ID, "client_secret": aw.DEFAULT_CLIENT_SECRET})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = requests.get(sim.url + SEARCH, headers={"Authorization": "Bearer made-up"})
    assert r.status_code == 401 and r.json()["errorCode"] == 1005
    assert "invalid_token" in r.headers["WWW-Authenticate"]
    # An expired token is refused: move the simulator's clock past the token lifetime.
    token = requests.post(sim.url + "/connect/token", data={
        "grant_type": "client_credentials", "client_id": aw.DEFAULT_CLIENT_ID,
        "client_secret": aw.DEFAULT_CLIENT_SECRET}).json()["access_token"]
    requests.post(sim.url + "/_sim/config", json={"clock_offset_s": 3601}).raise_for_status()
    r = requests.get(sim.url + SEARCH, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


@pytest.mark.parametrize("accept,status", [
    ("application/json", 200), ("application/json;version=1", 200), ("application/json; version=2", 200),
    ("application/json;version=3", 200), ("application/json;version=4", 200), ("*/*", 200), (None, 200),
    ("application/json;version=9", 406), ("application/xml", 406)])
def test_accept_version_negotiation(sim, accept, status):
    headers = {"aw-tenant-code": aw.DEFAULT_TENANT_CODE}
    if accept is not None:
        headers["Accept"] = accept
    r = requests.get(sim.url + "/api/system/info", headers=headers, auth=(aw.DEFAULT_USER, aw.DEFAULT_PASSWORD))
    assert r.status_code == status
    if status == 200:
        m = re.search(r"version=(\d)", accept or "")
        assert r.json()["ApiVersion"] == (int(m.group(1)) if m else 1)
    else:
        assert r.json()["errorCode"] == 406


# ---- paging ----------------------------------------------------------------------------------

def test_concurrent_out_of_order_pages_yield_every_device_once(sim, api):
    pagesize = 97
    total = len(sim.state.records)
    last_page = (total - 1) // pagesize
    pages = list(range(last_page + 8))  # deliberately past the end, as the original connector did
    random.Random(5).shuffle(pages)
    requests.post(sim.url + "/_sim/knobs", json={"latency_ms": 40}).raise_for_status()

    def fetch(page):
        r = api.get(sim.url + SEARCH, params={"pagesize": pagesize, "page": page})
        return page, r.status_code, r.content

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(fetch, pages))
    ids = []
    for page, status, content in results:
        if page <= last_page:
            assert status == 200
            body = requests.models.complexjson.loads(content)
            assert body["Page"] == page and body["Total"] == total
            ids += [d["Id"]["Value"] for d in body["Devices"]]
        else:
            assert status == 204 and content == b""
    assert len(ids) == total and set(ids) == {r["Id"]["Value"] for r in sim.state.records}
    stats = requests.get(sim.url + "/_sim/stats").json()
    assert stats["peak_in_flight"] >= 8  # the requests really overlapped
    assert stats["by_path"][SEARCH] == len(pages)


def test_original_181_loop_until_204(sim, api):
    """The 1.81 connector: /api/v1/..., pagesize=250, page 0,1,2... until 204 or empty Devices."""
    seen, page = [], 0
    while True:
        r = api.get(sim.url + "/api/v1/mdm/devices/search", params={"pagesize": 250, "page": page})
        if r.status_code == 204 or not r.json()["Devices"]:
            break
        seen += [d["Id"]["Value"] for d in r.json()["Devices"]]
        page += 1
    assert len(seen) == len(set(seen)) == len(sim.state.records)
    assert page == -(-len(sim.state.records) // 250)


def test_default_pagesize_and_empty_result_is_204(sim, api):
    body = api.get(sim.url + SEARCH).json()
    assert body["PageSize"] == 500 and len(body["Devices"]) == 500
    r = api.get(sim.url + SEARCH, params={"user": "nobody-at-all"})
    assert r.status_code == 204 and r.content == b""
    r = api.get(sim.url + SEARCH, params={"page": -1})
    assert r.status_code == 400 and r.json()["errorCode"] == 400


def test_query_parameter_names_are_case_insensitive(sim, api):
    body = api.get(sim.url + SEARCH, params={"PageSize": 7, "Page": 1}).json()
    assert body["PageSize"] == 7 and body["Page"] == 1 and len(body["Devices"]) == 7


def test_filters_and_ordering(sim, api):
    recs = sim.state.records
    body = api.get(sim.url + SEARCH, params={"platform": "Android", "pagesize": 5000}).json()
    assert body["Total"] == sum(r["Platform"] == "Android" for r in recs) > 0
    assert {d["Platform"] for d in body["Devices"]} == {"Android"}
    body = api.get(sim.url + SEARCH, params={"lgid": 571, "pagesize": 5000}).json()
    assert {d["LocationGroupName"] for d in body["Devices"]} == {"Sales"}
    since = NOW - 86400
    body = api.get(sim.url + SEARCH, params={
        "seensince": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(since)), "pagesize": 5000}).json()
    expected = [r for r in recs if r["LastSeen"] and parse_dotnet_naive(r["LastSeen"]) >= since]
    assert body["Total"] == len(expected) and 0 < len(expected) < len(recs)
    body = api.get(sim.url + SEARCH, params={"orderby": "LastSeen", "sortorder": "DESC", "pagesize": 300}).json()
    seen = [parse_dotnet_naive(d["LastSeen"]) for d in body["Devices"]]
    assert seen == sorted(seen, reverse=True)
    assert api.get(sim.url + SEARCH, params={"orderby": "NoSuchField"}).status_code == 400


# ---- side endpoints ------------------------------------------------------------------------

def test_network_by_id_and_by_mac(sim, api):
    rec = next(r for r in sim.state.records if r["MacAddress"] and r["Imei"])
    dev_id = rec["Id"]["Value"]
    net = api.get(sim.url + f"/api/mdm/devices/{dev_id}/network").json()
    assert net["DeviceId"] == dev_id
    assert net["WifiInfo"]["WifiMacAddress"].replace(":", "") == rec["MacAddress"]
    assert net["CellularNetworkInfo"]["CarrierName"] is not None
    assert set(net["IPAddress"]) == {"WifiIPAddress", "CellularIPAddress", "EthernetIPAddress"}
    # 1.81 path keyed by MAC (stripped, as the original sends it; colons also accepted).
    mac = rec["MacAddress"]
    assert api.get(sim.url + f"/api/v1/mdm/devices/macaddress/{mac}/network").json() == net
    colons = ":".join(mac[i:i + 2] for i in range(0, 12, 2)).lower()
    assert api.get(sim.url + f"/api/v1/mdm/devices/macaddress/{colons}/network").json() == net
    r = api.get(sim.url + "/api/mdm/devices/1/network")
    assert r.status_code == 404 and r.json()["errorCode"] == 404
    assert api.get(sim.url + "/api/v1/mdm/devices/macaddress/000000000000/network").status_code == 404


def test_single_device_lookups(sim, api):
    rec = next(r for r in sim.state.records if r["SerialNumber"] and r["EnrollmentStatus"] == "Enrolled")
    assert api.get(sim.url + f"/api/mdm/devices/{rec['Id']['Value']}").json() == rec
    got = api.get(sim.url + "/api/mdm/devices", params={"searchby": "Serialnumber", "id": rec["SerialNumber"]})
    assert got.json()["Id"] == rec["Id"]
    assert api.get(sim.url + "/api/mdm/devices", params={"searchby": "Serialnumber", "id": "X"}).status_code == 404


def test_dep_group_devices(sim, api):
    state = sim.state
    r = api.get(sim.url + f"/api/mdm/dep/groups/{state.dep_uuid}/devices")
    assert r.status_code == 200
    rows = r.json()
    assert isinstance(rows, list) and rows
    by_serial = {row["deviceSerialNumber"]: row for row in rows}
    assert len(by_serial) == len(rows)
    dep_enrolled = {rec["SerialNumber"] for rec in state.records if rec.get("EnrolledViaDEP") and rec["SerialNumber"]}
    assert dep_enrolled <= set(by_serial)
    # Some assigned-but-never-enrolled serials that the device search does not know.
    assert set(by_serial) - {rec["SerialNumber"] for rec in state.records}
    assert {row["profileStatus"] for row in rows} >= {"PUSHED", "ASSIGNED"}
    r = api.get(sim.url + "/api/mdm/dep/groups/00000000-0000-0000-0000-000000000000/devices")
    assert r.status_code == 404 and "errorCode" in r.json()


# ---- data ------------------------------------------------------------------------------------

def test_data_variety_and_formats(sim):
    recs = sim.state.records
    assert len({r["Id"]["Value"] for r in recs}) == len(recs)
    assert {"Apple", "Android", "WinRT", "AppleOsX"} <= {r["Platform"] for r in recs}
    assert set(r["Ownership"] for r in recs) == {"C", "E", "S"}
    # LastSeen: no zone, variable fraction (SQL datetime through Json.NET), some never seen.
    seen = [r["LastSeen"] for r in recs if r["LastSeen"]]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?", s) for s in seen)
    assert len({len(s) for s in seen}) >= 3
    assert any(r["LastSeen"] is None for r in recs)
    ages = [NOW - parse_dotnet_naive(s) for s in seen]
    assert min(ages) < 3600 and max(ages) > 90 * 86400
    assert 0.2 < sum(a < 86400 for a in ages) / len(ages) < 0.8
    # Partly missing values.
    assert any(r["SerialNumber"] == "" for r in recs)
    assert any(r["Imei"] == "" for r in recs) and any(r["Imei"] for r in recs)
    assert any(r["MacAddress"] == "" for r in recs)
    assert any(r["UserEmailAddress"] == "" for r in recs)
    assert any(not r["UserName"].isascii() or not r["DisplayName"].isascii() for r in recs)
    # Re-enrolled devices: an old Unenrolled record shares the serial with a newer one.
    counts = collections.Counter(r["SerialNumber"] for r in recs if r["SerialNumber"])
    dups = [s for s, n in counts.items() if n > 1]
    assert dups
    pair = sorted((r for r in recs if r["SerialNumber"] == dups[0]), key=lambda r: r["Id"]["Value"])
    assert pair[0]["EnrollmentStatus"] == "Unenrolled"


def test_generation_is_deterministic():
    a = aw.AirWatchState(devices=200, seed=3, now=NOW)
    b = aw.AirWatchState(devices=200, seed=3, now=NOW)
    c = aw.AirWatchState(devices=200, seed=4, now=NOW)
    assert a.records == b.records and a.dep_uuid == b.dep_uuid
    assert a.records != c.records


def test_generation_of_5000_devices():
    state = aw.AirWatchState(devices=5000, seed=1)
    assert len(state.records) >= 5000


# ---- quota and fault injection --------------------------------------------------------------

def test_daily_quota_mode(sim, api):
    requests.post(sim.url + "/_sim/config", json={"quota_per_day": 3}).raise_for_status()
    for remaining in (2, 1, 0):
        r = api.get(sim.url + "/api/system/info")
        assert r.status_code == 200
        assert r.headers["X-RateLimit-Limit"] == "3" and r.headers["X-RateLimit-Remaining"] == str(remaining)
    r = api.get(sim.url + SEARCH)
    assert r.status_code == 429
    assert r.json()["errorCode"] == 429 and "quota" in r.json()["message"]
    assert int(r.headers["Retry-After"]) > 0 and int(r.headers["X-RateLimit-Reset"]) > time.time()
    # A new (simulated) day resets the quota.
    requests.post(sim.url + "/_sim/config", json={"clock_offset_s": 86400}).raise_for_status()
    assert api.get(sim.url + SEARCH).status_code == 200


def test_injected_failures_and_rate_limit(sim, api):
    requests.post(sim.url + "/_sim/knobs", json={"fail_next": 2, "fail_status": 503,
                                                 "fail_path": "search"}).raise_for_status()
    assert api.get(sim.url + "/api/system/info").status_code == 200  # path does not match
    for _ in range(2):
        r = api.get(sim.url + SEARCH)
        assert r.status_code == 503 and r.json()["errorCode"] == 503 and r.json()["message"]
    assert api.get(sim.url + SEARCH).status_code == 200
    requests.post(sim.url + "/_sim/knobs", json={"fail_next": 0, "rate_limit": 2, "rate_window_s": 30,
                                                 "retry_after_s": 7}).raise_for_status()
    statuses = [api.get(sim.url + "/api/system/info") for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 429, 429]
    assert statuses[2].headers["Retry-After"] == "7" and "errorCode" in statuses[2].json()
    stats = requests.get(sim.url + "/_sim/stats").json()
    assert stats["injected_failures"] == 2 and stats["rate_limited"] == 2


def test_unknown_config_setting_rejected(sim):
    assert requests.post(sim.url + "/_sim/config", json={"nope": 1}).status_code == 400


# ---- as a process ------------------------------------------------------------------------------

def test_runs_as_process_with_cli_credentials():
    with SimulatorProcess("tests.simulators.airwatch", "--devices", "150", "--seed", "4",
                          "--user", "u1", "--password", "p1", "--tenant-code", "TC-1",
                          "--quota-per-day", "1000") as proc:
        headers = {"aw-tenant-code": "TC-1", "Accept": "application/json;version=2"}
        r = requests.get(proc.url + SEARCH, auth=("u1", "p1"), headers=headers, params={"pagesize": 1000})
        assert r.status_code == 200
        assert 150 <= r.json()["Total"] <= 160 and r.headers["X-RateLimit-Limit"] == "1000"
        assert requests.get(proc.url + SEARCH, auth=(aw.DEFAULT_USER, aw.DEFAULT_PASSWORD),
                            headers=headers).status_code == 401
