"""AirWatchHook against the AirWatch / Workspace ONE UEM simulator, and the airwatch settings."""
from __future__ import annotations

import json

import pytest
import requests
from aiohttp import web

from airflow_provider_oomnitza.config.loader import load_config
from airflow_provider_oomnitza.hooks.airwatch import SEARCH, AirWatchError, AirWatchHook
from airflow_provider_oomnitza.mapping.needs import needs_of
from tests.simulators import airwatch as aw
from tests.simulators.base import SimulatorThread, knobs, stats

NOW = 1_790_000_000.0
N_DEVICES = 600
SEARCH_PATH = "/" + SEARCH
NETWORK = {"WIFI_IP": {"source": "network.IPAddress.WifiIPAddress"}}
FAST = {"max_wait": 0.05}  # retry waits for tests (the client's own backoff, capped)


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(aw.build_app(aw.AirWatchState(devices=N_DEVICES, seed=5, now=NOW))) as s:
        yield s


@pytest.fixture(autouse=True)
def _reset(request):
    if "sim" in request.fixturenames:
        requests.post(request.getfixturevalue("sim").url + "/_sim/reset").raise_for_status()


def basic(sim, **extra):
    return {"url": sim.url, "username": aw.DEFAULT_USER, "password": aw.DEFAULT_PASSWORD,
            "api_token": aw.DEFAULT_TENANT_CODE, "page_size": 50, "workers": 4, **extra}


def oauth(sim, **extra):
    return {"url": sim.url, "client_id": aw.DEFAULT_CLIENT_ID, "client_secret": aw.DEFAULT_CLIENT_SECRET,
            "token_url": sim.url + "/connect/token", "page_size": 50, **extra}


def sim_config(sim, **values):
    requests.post(sim.url + "/_sim/config", json=values).raise_for_status()


def ids(records):
    return [r["Id"]["Value"] for r in records]


def all_ids(sim):
    return [r["Id"]["Value"] for r in sim.state.records]


def pages_for(count, size):
    return -(-count // size)


def small_sim(devices=40, **kw):
    return SimulatorThread(aw.build_app(aw.AirWatchState(devices=devices, seed=9, now=NOW, **kw)))


# ---- paging --------------------------------------------------------------------------------------

def test_every_device_once_in_order_with_pages_fetched_concurrently(sim):
    knobs(sim, latency_ms=15)
    records = list(AirWatchHook(basic(sim)).records())
    assert ids(records) == all_ids(sim)  # each once, in the API's order
    assert records[0] == sim.state.records[0]  # the device object as the API gives it, nothing added
    st = stats(sim)
    assert st["by_path"][SEARCH_PATH] == pages_for(len(sim.state.records), 50)  # none past the end
    assert 2 <= st["peak_in_flight"] <= 4  # concurrent, within the workers bound


def test_one_worker_is_sequential(sim):
    knobs(sim, latency_ms=5)
    assert ids(AirWatchHook(basic(sim, workers=1)).records()) == all_ids(sim)
    assert stats(sim)["peak_in_flight"] == 1


def test_the_server_clamping_pagesize_still_gives_every_device(sim):
    sim_config(sim, max_pagesize=40)
    assert ids(AirWatchHook(basic(sim, page_size=100)).records()) == all_ids(sim)
    assert stats(sim)["by_path"][SEARCH_PATH] == pages_for(len(sim.state.records), 40)


def _app_with(state, middleware):
    app = aw.build_app(state)
    app.middlewares.append(middleware)
    return app


def test_204_past_the_end_under_concurrency_when_the_inventory_shrinks():
    """Devices are removed right after page 0 is served: the pages computed from its Total now run
    past the end, the simulator answers 204 to those, and the devices still there arrive once."""
    state = aw.AirWatchState(devices=300, seed=3, now=NOW)
    keep = len(state.records) - 75
    statuses: dict[int, int] = {}

    @web.middleware
    async def shrink_after_page_0(request, handler):
        response = await handler(request)
        if request.path == SEARCH_PATH:
            statuses[int(request.query["page"])] = response.status
            if request.query["page"] == "0":
                del state.records[keep:]
        return response

    with SimulatorThread(_app_with(state, shrink_after_page_0)) as s:
        knobs(s, latency_ms=10)
        records = list(AirWatchHook(basic(s, page_size=20, workers=4)).records())
    assert ids(records) == [r["Id"]["Value"] for r in state.records]
    assert 204 in statuses.values()
    assert all(statuses[p] == 200 for p in range(pages_for(keep, 20)))


def test_devices_added_during_the_run_shift_pages_yet_each_device_comes_once():
    """New devices sorted first push the others one page on: page 1 then repeats the end of page 0,
    and the grown Total asks for one more page."""
    state = aw.AirWatchState(devices=100, seed=4, now=NOW)
    before = [r["Id"]["Value"] for r in state.records]
    added = [dict(r, Id={"Value": 900_000 + i}) for i, r in enumerate(state.records[:7])]

    @web.middleware
    async def grow_after_page_0(request, handler):
        response = await handler(request)
        if request.path == SEARCH_PATH and request.query["page"] == "0":
            state.records[:0] = added
        return response

    with SimulatorThread(_app_with(state, grow_after_page_0)) as s:
        got = ids(AirWatchHook(basic(s, page_size=20, workers=3)).records())
        searches = stats(s)["by_path"][SEARCH_PATH]
    assert sorted(got) == sorted(before)  # the 7 new ones landed on page 0, already read: next run
    assert searches == pages_for(len(before) + 7, 20)


def test_an_empty_devices_list_stops_the_run():
    state = aw.AirWatchState(devices=100, seed=3, now=NOW)

    @web.middleware
    async def empty_from_page_2(request, handler):
        if request.path == SEARCH_PATH and int(request.query["page"]) >= 2:
            return web.json_response({"Devices": [], "Page": 2, "PageSize": 20, "Total": len(state.records)})
        return await handler(request)

    with SimulatorThread(_app_with(state, empty_from_page_2)) as s:
        assert ids(AirWatchHook(basic(s, page_size=20)).records()) == [r["Id"]["Value"] for r in state.records[:40]]


def test_a_200_without_devices_is_an_error():
    state = aw.AirWatchState(devices=10, seed=3, now=NOW)

    @web.middleware
    async def no_devices(request, handler):
        if request.path == SEARCH_PATH:
            return web.json_response({"Message": "maintenance"})
        return await handler(request)

    with SimulatorThread(_app_with(state, no_devices)) as s:
        with pytest.raises(AirWatchError) as info:
            list(AirWatchHook(basic(s), section="airwatch").records())
    assert str(info.value) == (f"[airwatch] AirWatch device search page 0 at {s.url}: expected an object with a "
                               """Devices list, got '{"Message": "maintenance"}'""")


def test_empty_inventory():
    with small_sim(devices=0) as s:
        hook = AirWatchHook(basic(s))
        assert list(hook.records()) == []
        assert hook.check().endswith(": 0 devices")
        assert stats(s)["by_path"][SEARCH_PATH] == 2  # records() once, check() once: both a 204
    assert hook.problems == []


def test_record_count_can_stop_early(sim):
    import itertools

    assert len(list(itertools.islice(AirWatchHook(basic(sim)).records(), 75))) == 75


# ---- failures and retries ----------------------------------------------------------------------

@pytest.mark.parametrize("change", [{"password": "wrong"}, {"api_token": "not-the-tenant-code"},
                                    {"username": aw.DIRECTORY_USER[0], "password": aw.DIRECTORY_USER[1]}])
def test_refused_credentials_are_a_401_with_airwatch_error_code(sim, change):
    hook = AirWatchHook(basic(sim, **change), section="airwatch.prod")
    with pytest.raises(AirWatchError) as info:
        list(hook.records())
    message = str(info.value)
    assert info.value.status == 401
    assert message.startswith(f"[airwatch.prod] AirWatch device search page 0 at {sim.url}: 401 Unauthorized "
                              "(errorCode 1005): An error occurred while validating remote service client "
                              "credentials or user not found")
    assert "api_token" in message and "API role" in message
    assert aw.DEFAULT_PASSWORD not in message and aw.DEFAULT_TENANT_CODE not in message
    assert stats(sim)["requests"] == 1  # not retried
    ok, text = hook.test_connection()
    assert not ok and "401 Unauthorized (errorCode 1005)" in text


def test_an_admin_without_api_role_is_a_403(sim):
    user, password = aw.NO_ROLE_USER
    with pytest.raises(AirWatchError) as info:
        list(AirWatchHook(basic(sim, username=user, password=password)).records())
    assert info.value.status == 403
    assert f"403 Forbidden (errorCode 1001): User {user} does not have the required API role" in str(info.value)
    assert "no API role" in str(info.value)


def test_a_page_failing_once_with_5xx_is_retried(sim):
    knobs(sim, fail_next=1, fail_status=503, fail_path="search", latency_ms=5)
    assert ids(AirWatchHook(basic(sim), **FAST).records()) == all_ids(sim)
    st = stats(sim)
    assert st["injected_failures"] == 1
    assert st["by_path"][SEARCH_PATH] == pages_for(len(sim.state.records), 50) + 1


def test_5xx_that_persists_fails_the_run_with_the_status(sim):
    knobs(sim, fail_next=100, fail_status=500, fail_path="search")
    with pytest.raises(AirWatchError, match=r"gave up after 3 attempts: 500 Internal Server Error \(errorCode 500\): "
                                            "An unexpected error occurred"):
        list(AirWatchHook(basic(sim), max_attempts=3, **FAST).records())


def test_throttling_429_is_retried_honouring_retry_after(sim):
    # One request per 0.2 s: page 0 passes, pages 1 and 2 (asked for together right after) get 429.
    knobs(sim, rate_limit=1, rate_window_s=0.2, retry_after_s=0.2)
    assert ids(AirWatchHook(basic(sim, page_size=200), max_wait=0.5).records()) == all_ids(sim)
    assert stats(sim)["rate_limited"] >= 1


def test_an_exhausted_daily_quota_says_so(sim):
    sim_config(sim, quota_per_day=2)
    hook = AirWatchHook(basic(sim), max_attempts=2, **FAST)
    with pytest.raises(AirWatchError) as info:
        list(hook.records())
    assert info.value.status == 429
    assert "gave up after 2 attempts: 429 Too Many Requests (errorCode 429): The daily API quota" in str(info.value)


# ---- enrichment ----------------------------------------------------------------------------------

def test_dep_details_are_attached_by_serial_number(sim):
    state = sim.state
    records = list(AirWatchHook(basic(sim, dep_uuid=state.dep_uuid.upper())).records())
    rows = {row["deviceSerialNumber"]: row for row in state.dep_groups[state.dep_uuid]}
    with_dep = [r for r in records if "dep" in r]
    assert with_dep and len(with_dep) < len(records)
    for record in records:
        if record["SerialNumber"] in rows:
            assert record["dep"] == rows[record["SerialNumber"]]
        else:
            assert "dep" not in record
    assert stats(sim)["by_path"][f"/api/mdm/dep/groups/{state.dep_uuid.upper()}/devices"] == 1


def test_an_unknown_dep_group_fails_before_paging(sim):
    with pytest.raises(AirWatchError) as info:
        list(AirWatchHook(basic(sim, dep_uuid="00000000-0000-0000-0000-000000000000")).records())
    assert info.value.status == 404
    assert "DEP group 00000000-0000-0000-0000-000000000000" in str(info.value) and "dep_uuid" in str(info.value)
    assert SEARCH_PATH not in stats(sim)["by_path"]


def test_network_details_only_when_a_mapping_asks_for_them(sim):
    records = list(AirWatchHook(basic(sim), needs=needs_of({"SERIAL": {"source": "SerialNumber"}})).records())
    assert not any("network" in r for r in records)
    assert not any(path.endswith("/network") for path in stats(sim)["by_path"])

    with small_sim(devices=80) as s:
        knobs(s, latency_ms=10)
        hook = AirWatchHook(basic(s, page_size=30), needs=needs_of({"SERIAL": {"source": "SerialNumber"}, **NETWORK}))
        records = list(hook.records())
        st = stats(s)
    assert ids(records) == all_ids(s)
    for record in records:
        assert record["network"] == s.state.network(record["Id"]["Value"])
    assert sum(n for path, n in st["by_path"].items() if path.endswith("/network")) == len(records)
    assert 2 <= st["peak_in_flight"] <= 4
    assert hook.problems == []


def test_a_device_whose_network_call_fails_gets_empty_network_and_a_report():
    with small_sim(devices=30) as s:
        ghost = dict(s.state.records[3], Id={"Value": 1})  # a device the network endpoint does not know
        s.state.records[3] = ghost
        knobs(s, fail_next=100, fail_status=500, fail_path=f"/devices/{s.state.records[7]['Id']['Value']}/network$")
        hook = AirWatchHook(basic(s), needs=needs_of(NETWORK), max_attempts=2, **FAST)
        records = list(hook.records())
    assert len(records) == len(s.state.records)
    assert records[3]["network"] == {} and records[7]["network"] == {}
    assert all(r["network"] for i, r in enumerate(records) if i not in (3, 7))
    assert len(hook.problems) == 2
    assert any("network details of device 1" in p and "404" in p and "network = {}" in p for p in hook.problems)
    assert any("gave up after 2 attempts: 500" in p for p in hook.problems)


# ---- OAuth -------------------------------------------------------------------------------------

def test_oauth_client_credentials_one_token_for_all_threads_renewed_after_expiry(sim):
    knobs(sim, latency_ms=5)
    hook = AirWatchHook(oauth(sim, workers=4))
    assert ids(hook.records()) == all_ids(sim)
    assert stats(sim)["by_path"]["/connect/token"] == 1
    sim_config(sim, clock_offset_s=3601)  # the token has expired: a 401, one new token, the run goes on
    assert len(list(hook.records())) == len(sim.state.records)
    assert stats(sim)["by_path"]["/connect/token"] == 2
    assert hook.check().startswith(f"Connected to AirWatch at {sim.url} (OAuth): ")


def test_oauth_refused_client(sim):
    hook = AirWatchHook(oauth(sim, client_secret="wrong"), section="airwatch")
    with pytest.raises(AirWatchError) as info:
        list(hook.records())
    assert str(info.value) == (f"[airwatch] AirWatch OAuth token at {sim.url}/connect/token: 400 Bad Request: "
                               "invalid_client; check client_id, client_secret and token_url")
    assert "wrong" not in str(info.value)


# ---- single device, connection test -------------------------------------------------------------

def test_record_by_id_or_serial_is_shaped_as_in_records(sim):
    state = sim.state
    target = next(r for r in state.records if r.get("EnrolledViaDEP") and r["SerialNumber"]
                  and r["EnrollmentStatus"] == "Enrolled")
    hook = AirWatchHook(basic(sim, dep_uuid=state.dep_uuid), needs=needs_of(NETWORK))
    by_id = hook.record_by_id(str(target["Id"]["Value"]))
    assert by_id == {**target, "dep": by_id["dep"], "network": state.network(target["Id"]["Value"])}
    assert by_id["dep"]["deviceSerialNumber"] == target["SerialNumber"]
    assert hook.record_by_id(target["SerialNumber"])["Id"] == target["Id"]
    assert hook.record_by_id("1") is None and hook.record_by_id("NO-SUCH-SERIAL") is None
    digits = next(r for r in state.records if r["SerialNumber"].isdigit() and r["EnrollmentStatus"] == "Enrolled")
    assert hook.record_by_id(digits["SerialNumber"])["Id"] == digits["Id"]  # not a device id: then a serial
    assert stats(sim)["by_path"][f"/api/mdm/dep/groups/{state.dep_uuid}/devices"] == 1  # cached


def test_connection_test_through_an_airflow_connection(sim, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AW_TEST", json.dumps({
        "conn_type": "airwatch", "host": sim.url, "login": aw.DEFAULT_USER, "password": aw.DEFAULT_PASSWORD,
        "extra": {"api_token": aw.DEFAULT_TENANT_CODE}}))
    ok, message = AirWatchHook(airwatch_conn_id="aw_test").test_connection()
    assert ok, message
    assert message == f"Connected to AirWatch at {sim.url} (Basic): {len(sim.state.records)} devices"
    # INI settings are replaced by the connection's
    hook = AirWatchHook(basic(sim, password="stale", conn_id="aw_test", page_size=300))
    assert len(list(hook.records())) == len(sim.state.records)


# ---- settings ------------------------------------------------------------------------------------

def load(tmp_path, body):
    path = tmp_path / "config.ini"
    path.write_text("[oomnitza]\nurl = https://example.oomnitza.com\napi_token = t\n\n[airwatch]\nenable = yes\n"
                    "sync_field = SERIAL_NUMBER\n" + body)
    config = load_config(path)
    return config.sections["airwatch"], [str(i).replace(str(path), "FILE") for i in config.sections["airwatch"].issues]


def test_settings_need_basic_credentials_or_oauth_or_a_connection(tmp_path):
    section, issues = load(tmp_path, "username = u\npassword = p\n")
    assert issues == ["FILE:5: [airwatch] api_token: missing required setting (e.g. the REST API key); or use "
                      "OAuth (client_id, client_secret, token_url) or conn_id"]
    section, issues = load(tmp_path, "client_id = c\nclient_secret = s\n")
    assert issues == ["FILE:5: [airwatch] token_url: missing required setting with client_id (e.g. "
                      "https://na.uemauth.workspaceone.com/connect/token; your region's token URL)"]
    section, issues = load(tmp_path, "conn_id = airwatch_default\n")
    assert section.ok and issues == []
    section, issues = load(tmp_path, "username = u\npassword = p\napi_token = t\n")
    assert section.ok and section.source.hook.endswith("hooks.airwatch.AirWatchHook")


def test_settings_check_dep_uuid_workers_and_page_size(tmp_path):
    section, issues = load(tmp_path, "username = u\npassword = p\napi_token = t\ndep_uuid = not-a-uuid\n"
                                     "workers = 0\npage_size = 0\n")
    assert issues == [
        "FILE:13: [airwatch] page_size: expected a whole number of at least 1, got 0",
        "FILE:12: [airwatch] workers: expected a whole number from 1 to 16, got 0",
        "FILE:11: [airwatch] dep_uuid: expected the DEP group's uuid such as 1c9f3e2a-5b7d-4c8e-9f01-23456789abcd, "
        "got 'not-a-uuid'",
    ]


def test_default_mappings_and_their_converters(tmp_path):
    section, _ = load(tmp_path, "username = u\npassword = p\napi_token = t\nuse_server_map = no\n"
                                'mapping.MODEL = {"source": "ModelId.Name"}\n')
    mappings = section.effective_mappings().mappings
    assert {k: v["source"] for k, v in mappings.items()} == {
        "SERIAL_NUMBER": "SerialNumber", "DEVICE_NAME": "DeviceReportedName", "MODEL": "ModelId.Name",
        "OPERATING_SYSTEM": "Platform", "OS_VERSION": "OperatingSystem", "MAC_ADDRESS": "MacAddress",
        "IMEI__MEID": "Imei", "ASSIGNED_TO": "UserName", "LAST_SEEN": "LastSeen"}
    assert mappings["LAST_SEEN"]["converter"] == "date_format"
    assert mappings["SERIAL_NUMBER"]["required"] is True
    section, _ = load(tmp_path, "username = u\npassword = p\napi_token = t\nuse_server_map = no\n"
                                "use_default_mappings = no\n" + 'mapping.SERIAL_NUMBER = {"source": "SerialNumber"}\n')
    assert list(section.effective_mappings().mappings) == ["SERIAL_NUMBER"]
