"""Tests for the Jamf Pro simulator (tests/simulators/jamf.py)."""
from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
import requests
from aiohttp import web

from tests.simulators.base import SimulatorProcess, SimulatorThread
from tests.simulators.jamf import (COMPUTER_SUBSETS, NESTED_COMPUTER_EVENTS, PRIV_COMPUTERS, WEBHOOK_EVENTS,
                                   JamfState, build_app)
from tests.simulators.jamf_data import Inventory

USER, PASSWORD = "admin", "jamf1234"
CLIENT_ID, CLIENT_SECRET = "oomnitza-client", "oomnitza-secret"
JSON = {"Accept": "application/json"}
N_COMPUTERS, N_MOBILES = 120, 60

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
CLASSIC_DT = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
CLASSIC_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")


# ------------------------------------------------------------------------------------------
# fixtures and helpers
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shared():
    """One simulator for the read-only tests; knobs and faults are reset before each test."""
    state = JamfState(N_COMPUTERS, N_MOBILES, seed=11)
    with SimulatorThread(build_app(state)) as sim:
        yield sim


@pytest.fixture
def sim(shared):
    requests.post(shared.url + "/_sim/reset").raise_for_status()
    return shared


def start(**kwargs) -> SimulatorThread:
    """A fresh, small simulator with custom settings; use as ``with start(...) as sim``."""
    kwargs.setdefault("computers", 30)
    kwargs.setdefault("mobile_devices", 10)
    return SimulatorThread(build_app(JamfState(**kwargs)))


def get_token(url: str, user: str = USER, password: str = PASSWORD) -> str:
    r = requests.post(f"{url}/api/v1/auth/token", auth=(user, password))
    assert r.status_code == 200, r.text
    return r.json()["token"]


def bearer(token: str, **extra) -> dict:
    return {"Authorization": f"Bearer {token}", **extra}


def set_jamf(url: str, **values) -> dict:
    r = requests.post(f"{url}/_sim/jamf", json=values)
    assert r.status_code == 200, r.text
    return r.json()


def all_pages(url: str, headers: dict, path: str, page_size: int, **params) -> tuple[list[dict], list[int]]:
    results, totals, page = [], [], 0
    while True:
        r = requests.get(f"{url}{path}", headers=headers, params={"page": page, "page-size": page_size, **params})
        assert r.status_code == 200, r.text
        body = r.json()
        totals.append(body["totalCount"])
        results.extend(body["results"])
        if not body["results"] or (page + 1) * page_size >= body["totalCount"]:
            return results, totals
        page += 1


def assert_classic_html(r: requests.Response, status: int) -> None:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<html>" in r.text


def assert_api_error(r: requests.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["httpStatus"] == status and isinstance(body["errors"], list)
    return body


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00").replace("+0000", "+00:00")).timestamp() * 1000)


# ------------------------------------------------------------------------------------------
# authentication
# ------------------------------------------------------------------------------------------

def test_user_token_works_on_both_apis(sim):
    r = requests.post(f"{sim.url}/api/v1/auth/token", auth=(USER, PASSWORD))
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"token", "expires"}
    assert ISO_Z.match(body["expires"])
    lifetime = ms(body["expires"]) / 1000 - time.time()
    assert 1700 < lifetime <= 1800
    h = bearer(body["token"])
    assert requests.get(f"{sim.url}/api/v1/computers-inventory", headers=h).status_code == 200
    assert requests.get(f"{sim.url}/JSSResource/computers", headers=h).status_code == 200
    assert requests.get(f"{sim.url}/api/v1/jamf-pro-version", headers=h).json()["version"].startswith("11.")


def test_token_refused_for_bad_credentials_and_missing_auth(sim):
    assert requests.post(f"{sim.url}/api/v1/auth/token", auth=(USER, "wrong")).status_code == 401
    assert requests.post(f"{sim.url}/api/v1/auth/token", auth=("nobody", PASSWORD)).status_code == 401
    assert requests.post(f"{sim.url}/api/v1/auth/token").status_code == 401
    assert_api_error(requests.get(f"{sim.url}/api/v1/computers-inventory"), 401)
    assert_classic_html(requests.get(f"{sim.url}/JSSResource/computers"), 401)
    assert_api_error(requests.get(f"{sim.url}/api/v1/computers-inventory", headers=bearer("not-a-token")), 401)


def test_keep_alive_rotates_and_invalidates_the_old_token(sim):
    old = get_token(sim.url)
    r = requests.post(f"{sim.url}/api/v1/auth/keep-alive", headers=bearer(old))
    assert r.status_code == 200
    new = r.json()["token"]
    assert new != old and ISO_Z.match(r.json()["expires"])
    assert_api_error(requests.get(f"{sim.url}/api/v1/computers-inventory", headers=bearer(old)), 401)
    assert_classic_html(requests.get(f"{sim.url}/JSSResource/computers", headers=bearer(old)), 401)
    assert requests.get(f"{sim.url}/api/v1/computers-inventory", headers=bearer(new)).status_code == 200
    # the old token cannot be kept alive a second time
    assert requests.post(f"{sim.url}/api/v1/auth/keep-alive", headers=bearer(old)).status_code == 401


def test_invalidate_token(sim):
    token = get_token(sim.url)
    r = requests.post(f"{sim.url}/api/v1/auth/invalidate-token", headers=bearer(token))
    assert r.status_code == 204 and r.content == b""
    assert_api_error(requests.get(f"{sim.url}/api/v2/mobile-devices", headers=bearer(token)), 401)
    assert requests.post(f"{sim.url}/api/v1/auth/invalidate-token", headers=bearer(token)).status_code == 401


def test_oauth_client_credentials(sim):
    r = requests.post(f"{sim.url}/api/oauth/token", data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "scope", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and isinstance(body["expires_in"], int)
    assert 1790 <= body["expires_in"] <= 1800
    h = bearer(body["access_token"])
    assert requests.get(f"{sim.url}/api/v1/computers-inventory", headers=h).status_code == 200
    assert requests.get(f"{sim.url}/JSSResource/mobiledevices", headers=h).status_code == 200

    bad = requests.post(f"{sim.url}/api/oauth/token", data={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "nope"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    grant = requests.post(f"{sim.url}/api/oauth/token", data={
        "grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    as_json = requests.post(f"{sim.url}/api/oauth/token", json={
        "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert as_json.status_code == 400


def test_token_expiry_with_short_lifetime():
    with start(token_lifetime=1) as sim:
        token = get_token(sim.url)
        oauth = requests.post(f"{sim.url}/api/oauth/token", data={
            "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}).json()
        assert oauth["expires_in"] == 1
        assert requests.get(f"{sim.url}/api/v1/computers-inventory", headers=bearer(token)).status_code == 200
        time.sleep(1.3)
        assert_api_error(requests.get(f"{sim.url}/api/v1/computers-inventory", headers=bearer(token)), 401)
        assert_classic_html(requests.get(f"{sim.url}/JSSResource/computers",
                                         headers=bearer(oauth["access_token"])), 401)
        assert requests.post(f"{sim.url}/api/v1/auth/keep-alive", headers=bearer(token)).status_code == 401
        # a fresh token works again
        assert requests.get(f"{sim.url}/JSSResource/computers", headers=bearer(get_token(sim.url))).status_code == 200


def test_basic_refused_on_data_calls_by_default(sim):
    auth = (USER, PASSWORD)
    assert_classic_html(requests.get(f"{sim.url}/JSSResource/computers", auth=auth), 401)
    assert_classic_html(requests.get(f"{sim.url}/JSSResource/computers/id/1", auth=auth), 401)
    assert_api_error(requests.get(f"{sim.url}/api/v1/computers-inventory", auth=auth), 401)


def test_basic_accepted_on_classic_with_flag():
    with start(basic_allowed_on_data=True) as sim:
        auth = (USER, PASSWORD)
        r = requests.get(f"{sim.url}/JSSResource/computers", auth=auth, headers=JSON)
        assert r.status_code == 200 and len(r.json()["computers"]) == 30
        assert requests.get(f"{sim.url}/JSSResource/computers", auth=(USER, "bad")).status_code == 401
        # the Jamf Pro API never accepted Basic for data
        assert_api_error(requests.get(f"{sim.url}/api/v1/computers-inventory", auth=auth), 401)
    with start() as sim:  # the knob can also be flipped at run time
        assert requests.get(f"{sim.url}/JSSResource/computers", auth=(USER, PASSWORD)).status_code == 401
        set_jamf(sim.url, basic_allowed_on_data=True)
        assert requests.get(f"{sim.url}/JSSResource/computers", auth=(USER, PASSWORD)).status_code == 200


def test_missing_privilege_is_403():
    accounts = {"reader": {"password": "pw", "privileges": []},
                "macs-only": {"password": "pw", "privileges": [PRIV_COMPUTERS]}}
    clients = {"weak-client": {"secret": "s", "privileged": False}}
    with start(accounts=accounts, api_clients=clients) as sim:
        token = get_token(sim.url, "reader", "pw")  # authentication itself succeeds
        h = bearer(token)
        body = assert_api_error(requests.get(f"{sim.url}/api/v1/computers-inventory", headers=h), 403)
        assert body["errors"][0]["code"] == "INVALID_PRIVILEGE"
        assert_classic_html(requests.get(f"{sim.url}/JSSResource/computers", headers=h), 403)
        assert_classic_html(requests.get(f"{sim.url}/JSSResource/computergroups/name/Loaner%20Pool", headers=h), 403)

        h = bearer(get_token(sim.url, "macs-only", "pw"))
        assert requests.get(f"{sim.url}/JSSResource/computers", headers=h).status_code == 200
        assert_classic_html(requests.get(f"{sim.url}/JSSResource/mobiledevices", headers=h), 403)
        assert_api_error(requests.get(f"{sim.url}/api/v2/mobile-devices", headers=h), 403)

        oauth = requests.post(f"{sim.url}/api/oauth/token", data={
            "grant_type": "client_credentials", "client_id": "weak-client", "client_secret": "s"}).json()
        assert_api_error(requests.get(f"{sim.url}/api/v1/computers-inventory",
                                      headers=bearer(oauth["access_token"])), 403)


# ------------------------------------------------------------------------------------------
# Classic API
# ------------------------------------------------------------------------------------------

def test_classic_list_xml_default_and_json_on_request(sim):
    h = bearer(get_token(sim.url))
    state: JamfState = sim.state
    r = requests.get(f"{sim.url}/JSSResource/computers", headers=h)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(r.content)
    assert root.tag == "computers" and root.findtext("size") == str(N_COMPUTERS)
    xml_ids = [int(c.findtext("id")) for c in root.findall("computer")]
    assert xml_ids == state.visible_ids("computers")

    r = requests.get(f"{sim.url}/JSSResource/computers", headers={**h, **JSON})
    assert r.headers["Content-Type"].startswith("application/json")
    items = r.json()["computers"]
    assert [c["id"] for c in items] == xml_ids
    assert all(set(c) == {"id", "name"} and isinstance(c["id"], int) for c in items)
    # ids have gaps, like a real server where records were deleted
    assert xml_ids[-1] > len(xml_ids)

    for accept, is_json in (("application/xml", False), ("*/*", False), ("text/xml", False),
                            ("application/json;q=0.5, application/xml", False),
                            ("application/xml;q=0.2, application/json", True)):
        r = requests.get(f"{sim.url}/JSSResource/mobiledevices", headers={**h, "Accept": accept})
        assert r.headers["Content-Type"].startswith("application/json" if is_json else "text/xml"), accept

    r = requests.get(f"{sim.url}/JSSResource/mobiledevices", headers={**h, **JSON})
    first = r.json()["mobile_devices"][0]
    assert {"id", "name", "device_name", "udid", "serial_number", "phone_number", "wifi_mac_address", "managed",
            "supervised", "model", "model_identifier", "model_display", "username"} <= set(first)
    basic = requests.get(f"{sim.url}/JSSResource/computers/subset/basic", headers={**h, **JSON}).json()
    assert {"serial_number", "udid", "report_date_utc", "username"} <= set(basic["computers"][0])


def test_classic_computer_detail_and_subsets(sim):
    h = bearer(get_token(sim.url), **JSON)
    cid = sim.state.visible_ids("computers")[4]
    full = requests.get(f"{sim.url}/JSSResource/computers/id/{cid}", headers=h).json()["computer"]
    assert list(full) == list(COMPUTER_SUBSETS.values())
    g = full["general"]
    assert g["id"] == cid and isinstance(g["report_date_epoch"], int)
    assert CLASSIC_DT.match(g["report_date"]) and CLASSIC_UTC.match(g["report_date_utc"])
    assert CLASSIC_DT.match(g["last_contact_time"]) and DATE.match(g["initial_entry_date"])
    assert g["report_date_epoch"] == ms(g["report_date_utc"])
    assert isinstance(full["software"]["applications"], list)
    assert {"make", "model", "model_identifier", "os_version", "os_build", "total_ram_mb"} <= set(full["hardware"])

    r = requests.get(f"{sim.url}/JSSResource/computers/id/{cid}/subset/General&Hardware&ExtensionAttributes",
                     headers=h)
    assert list(r.json()["computer"]) == ["general", "hardware", "extension_attributes"]
    assert r.json()["computer"]["general"] == g
    # URL-encoded '&' works as well, and names match case-insensitively
    r = requests.get(f"{sim.url}/JSSResource/computers/id/{cid}/subset/general%26location", headers=h)
    assert list(r.json()["computer"]) == ["general", "location"]
    # The original connector's capitalize() spelling is not a Jamf subset: silently dropped.
    r = requests.get(f"{sim.url}/JSSResource/computers/id/{cid}/subset/General&Extension_attributes", headers=h)
    assert r.status_code == 200 and list(r.json()["computer"]) == ["general"]
    set_jamf(sim.url, unknown_subset="error")
    assert_classic_html(requests.get(f"{sim.url}/JSSResource/computers/id/{cid}/subset/Extension_attributes",
                                     headers=h), 400)
    set_jamf(sim.url, unknown_subset="ignore", subset_case_sensitive=True)
    r = requests.get(f"{sim.url}/JSSResource/computers/id/{cid}/subset/general&Location", headers=h)
    assert list(r.json()["computer"]) == ["location"]

    # XML detail
    r = requests.get(f"{sim.url}/JSSResource/computers/id/{cid}/subset/General&Software",
                     headers=bearer(get_token(sim.url)))
    root = ET.fromstring(r.content)
    assert root.tag == "computer" and root.findtext("general/id") == str(cid)
    apps = root.find("software/applications")
    assert int(apps.findtext("size")) == len(apps.findall("application")) > 0


def test_classic_lookups_mobile_detail_and_404(sim):
    h = bearer(get_token(sim.url), **JSON)
    state: JamfState = sim.state
    rec = next(c for c in state.inventory.computers.values() if c["serial"])
    for key, value in (("serialnumber", rec["serial"]), ("udid", rec["udid"]), ("name", rec["name"]),
                       ("macaddress", rec["mac"])):
        r = requests.get(f"{sim.url}/JSSResource/computers/{key}/{requests.utils.quote(value)}", headers=h)
        assert r.status_code == 200 and r.json()["computer"]["general"]["id"] == rec["id"], key

    mid = state.visible_ids("mobile_devices")[3]
    m = requests.get(f"{sim.url}/JSSResource/mobiledevices/id/{mid}", headers=h).json()["mobile_device"]
    assert m["general"]["id"] == mid and "network" in m and "security" in m
    assert isinstance(m["general"]["last_inventory_update_epoch"], int)
    r = requests.get(f"{sim.url}/JSSResource/mobiledevices/id/{mid}/subset/General&Network", headers=h)
    assert list(r.json()["mobile_device"]) == ["general", "network"]

    assert_classic_html(requests.get(f"{sim.url}/JSSResource/computers/id/999999", headers=h), 404)
    assert_classic_html(requests.get(f"{sim.url}/JSSResource/computers/id/abc", headers=h), 404)
    assert_classic_html(requests.get(f"{sim.url}/JSSResource/mobiledevices/id/999999", headers=h), 404)
    assert_classic_html(requests.get(f"{sim.url}/JSSResource/nosuchthing", headers=h), 404)
    assert "The server has not found anything matching the request URI" in \
        requests.get(f"{sim.url}/JSSResource/computers/id/999999", headers=h).text


def test_classic_groups_by_name(sim):
    token = get_token(sim.url)
    state: JamfState = sim.state
    group = state.inventory.computer_groups["Sales & Marketing"]
    assert group.members, "default group should have members"
    r = requests.get(f"{sim.url}/JSSResource/computergroups/name/{requests.utils.quote('Sales & Marketing')}",
                     headers=bearer(token, **JSON))
    assert r.status_code == 200
    body = r.json()["computer_group"]
    assert body["name"] == "Sales & Marketing" and body["is_smart"] is False
    assert [c["id"] for c in body["computers"]] == group.members
    assert set(body["computers"][0]) == {"id", "name", "mac_address", "alt_mac_address", "serial_number"}

    r = requests.get(f"{sim.url}/JSSResource/computergroups/name/Loaner%20Pool", headers=bearer(token))
    root = ET.fromstring(r.content)
    assert root.tag == "computer_group"
    assert int(root.findtext("computers/size")) == len(root.findall("computers/computer")) > 0

    r = requests.get(f"{sim.url}/JSSResource/mobiledevicegroups/name/Field%20iPads", headers=bearer(token, **JSON))
    members = r.json()["mobile_device_group"]["mobile_devices"]
    assert members and [m["id"] for m in members] == state.inventory.mobile_device_groups["Field iPads"].members
    empty = requests.get(f"{sim.url}/JSSResource/computergroups/name/Empty%20Group", headers=bearer(token, **JSON))
    assert empty.json()["computer_group"]["computers"] == []
    assert_classic_html(requests.get(f"{sim.url}/JSSResource/computergroups/name/No%20Such%20Group",
                                     headers=bearer(token)), 404)
    assert_classic_html(requests.get(f"{sim.url}/JSSResource/mobiledevicegroups/name/nope",
                                     headers=bearer(token)), 404)
    names = [g["name"] for g in requests.get(f"{sim.url}/JSSResource/computergroups",
                                             headers=bearer(token, **JSON)).json()["computer_groups"]]
    assert "Sales & Marketing" in names


def test_custom_static_groups():
    members = sorted(JamfState(30, 10).inventory.computers)[-3:]
    with start(computer_groups={"Design Team": members}, mobile_device_groups={}) as sim:
        h = bearer(get_token(sim.url), **JSON)
        r = requests.get(f"{sim.url}/JSSResource/computergroups/name/Design%20Team", headers=h)
        assert [c["id"] for c in r.json()["computer_group"]["computers"]] == members
        groups = requests.get(f"{sim.url}/api/v1/computers-inventory-detail/{members[0]}", headers=h).json()
        assert "Design Team" in [g["groupName"] for g in groups["groupMemberships"]]
        assert requests.get(f"{sim.url}/JSSResource/computergroups/name/Loaner%20Pool", headers=h).status_code == 404


# ------------------------------------------------------------------------------------------
# Jamf Pro API
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["v1", "v2"])
def test_pro_paging_covers_every_computer_once(sim, version):
    h = bearer(get_token(sim.url))
    results, totals = all_pages(sim.url, h, f"/api/{version}/computers-inventory", 7)
    ids = [r["id"] for r in results]
    assert set(totals) == {N_COMPUTERS}
    assert len(ids) == len(set(ids)) == N_COMPUTERS
    assert all(isinstance(i, str) for i in ids)
    assert sorted(map(int, ids)) == sim.state.visible_ids("computers")
    # default sort general.name:asc (ties by id)
    names = [r["general"]["name"].lower() for r in results]
    assert names == sorted(names)
    beyond = requests.get(f"{sim.url}/api/{version}/computers-inventory", headers=h,
                          params={"page": 1000, "page-size": 50}).json()
    assert beyond == {"totalCount": N_COMPUTERS, "results": []}


def test_pro_sort_and_bad_parameters(sim):
    h = bearer(get_token(sim.url))
    url = f"{sim.url}/api/v1/computers-inventory"
    desc = requests.get(url, headers=h, params={"sort": "id:desc", "page-size": 200}).json()["results"]
    assert [int(r["id"]) for r in desc] == sorted(sim.state.visible_ids("computers"), reverse=True)
    multi = requests.get(url, headers=h, params={"sort": "operatingSystem.version:desc,id:asc", "page-size": 200,
                                                 "section": "OPERATING_SYSTEM"}).json()["results"]
    keys = [(r["operatingSystem"]["version"], -int(r["id"])) for r in multi]
    assert keys == sorted(keys, reverse=True)

    assert_api_error(requests.get(url, headers=h, params={"sort": "general.color:asc"}), 400)
    assert_api_error(requests.get(url, headers=h, params={"section": "NOT_A_SECTION"}), 400)
    assert_api_error(requests.get(url, headers=h, params={"page-size": 0}), 400)
    assert_api_error(requests.get(url, headers=h, params={"page": -1}), 400)
    assert_api_error(requests.get(url, headers=h, params={"page-size": "many"}), 400)


def test_pro_filter(sim):
    h = bearer(get_token(sim.url))
    url = f"{sim.url}/api/v1/computers-inventory"
    inv: Inventory = sim.state.inventory
    rec = next(c for c in inv.computers.values() if c["serial"] and "'" in c["name"])

    def ids(filter_text: str, **extra) -> list[str]:
        r = requests.get(url, headers=h, params={"filter": filter_text, "page-size": 500, **extra})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["totalCount"] == len(body["results"])
        return [x["id"] for x in body["results"]]

    assert ids(f'general.name=="{rec["name"]}"') == [str(c["id"]) for c in inv.computers.values()
                                                       if c["name"] == rec["name"]]
    assert ids(f"hardware.serialNumber=={rec['serial']}") == [str(rec["id"])]
    assert ids(f"hardware.serialNumber=={rec['serial'].lower()}") == [str(rec["id"])]  # case-insensitive
    assert ids(f"id=={rec['id']}") == [str(rec["id"])]
    assert sorted(ids("id=in=(1,2,3)"), key=int) == [str(i) for i in (1, 2, 3) if i in inv.computers]

    cutoff = "2026-03-20T00:00:00Z"
    expected = {str(c["id"]) for c in inv.computers.values() if c["contact"] >= ms(cutoff)}
    assert 0 < len(expected) < N_COMPUTERS
    assert set(ids(f"general.lastContactTime=ge={cutoff}")) == expected
    assert set(ids(f"general.lastContactTime>={cutoff}")) == expected
    assert set(ids(f"general.lastContactTime=lt={cutoff}")) == {str(i) for i in inv.computers} - expected

    mbp = ids('general.name=="MBP-*"')
    assert mbp and all(inv.computers[int(i)]["name"].startswith("MBP-") for i in mbp)
    both = set(ids(f'general.name=="MBP-*";general.lastContactTime=ge={cutoff}'))
    assert both == set(mbp) & expected
    either = set(ids(f'(general.name=="MBP-*",general.lastContactTime=ge={cutoff})'))
    assert either == set(mbp) | expected
    managed = ids("general.remoteManagement.managed==false")
    assert managed and all(not inv.computers[int(i)]["managed"] for i in managed)

    for bad in ("general.color==red", "general.name=~x", "id==", "general.name==x;", "id==abc",
                "general.lastContactTime=ge=yesterday"):
        assert_api_error(requests.get(url, headers=h, params={"filter": bad}), 400)


def test_pro_sections(sim):
    h = bearer(get_token(sim.url))
    url = f"{sim.url}/api/v1/computers-inventory"
    default = requests.get(url, headers=h, params={"page-size": 3}).json()["results"][0]
    assert isinstance(default["general"], dict) and default["hardware"] is None and default["applications"] is None
    both = requests.get(url, headers=h, params={"page-size": 3, "section": ["HARDWARE", "OPERATING_SYSTEM"]})
    rec = both.json()["results"][0]
    assert rec["general"] is None and rec["hardware"]["make"] == "Apple" and rec["operatingSystem"]["name"] == "macOS"
    assert set(rec) >= {"id", "udid", "general", "hardware", "userAndLocation", "purchasing", "applications",
                        "operatingSystem", "extensionAttributes", "storage", "security", "diskEncryption"}

    cid = sim.state.visible_ids("computers")[0]
    for version in ("v1", "v2"):
        detail = requests.get(f"{sim.url}/api/{version}/computers-inventory-detail/{cid}", headers=h).json()
        assert detail["id"] == str(cid)
        for key in ("general", "hardware", "userAndLocation", "purchasing", "applications", "operatingSystem",
                    "extensionAttributes", "storage", "security", "diskEncryption", "groupMemberships"):
            assert detail[key] is not None, key
    one = requests.get(f"{sim.url}/api/v1/computers-inventory/{cid}", headers=h,
                       params={"section": "PURCHASING"}).json()
    assert one["purchasing"] is not None and one["general"] is None
    assert_api_error(requests.get(f"{sim.url}/api/v1/computers-inventory-detail/999999", headers=h), 404)
    assert_api_error(requests.get(f"{sim.url}/api/v1/nothing-here", headers=h), 404)


def test_page_size_is_clamped_with_10000_computers():
    state = JamfState(10_000, 0, seed=5)
    assert len(state.inventory.computers) == 10_000
    with SimulatorThread(build_app(state)) as sim:
        h = bearer(get_token(sim.url))
        r = requests.get(f"{sim.url}/api/v1/computers-inventory", headers=h, params={"page-size": 5000})
        body = r.json()
        assert body["totalCount"] == 10_000 and len(body["results"]) == 2000  # silently clamped
        listed = requests.get(f"{sim.url}/JSSResource/computers", headers=bearer(get_token(sim.url), **JSON))
        assert len(listed.json()["computers"]) == 10_000
    with start(max_page_size=10) as sim:
        r = requests.get(f"{sim.url}/api/v1/computers-inventory", headers=bearer(get_token(sim.url)),
                         params={"page-size": 25})
        assert len(r.json()["results"]) == 10 and r.json()["totalCount"] == 30


def test_pro_mobile_devices(sim):
    h = bearer(get_token(sim.url))
    results, totals = all_pages(sim.url, h, "/api/v2/mobile-devices", 9)
    ids = [r["id"] for r in results]
    assert set(totals) == {N_MOBILES} and len(set(ids)) == N_MOBILES
    assert [int(i) for i in ids] == sim.state.visible_ids("mobile_devices")  # default sort id:asc
    assert {"id", "name", "serialNumber", "udid", "wifiMacAddress", "model", "modelIdentifier", "username",
            "type", "managementId"} <= set(results[0])
    assert {r["type"] for r in results} <= {"ios", "tvos"}

    detailed, totals = all_pages(sim.url, h, "/api/v2/mobile-devices/detail", 11,
                                 section=["GENERAL", "HARDWARE", "USER_AND_LOCATION"])
    assert set(totals) == {N_MOBILES} and len({d["mobileDeviceId"] for d in detailed}) == N_MOBILES
    first = detailed[0]
    assert first["general"]["displayName"] and first["hardware"]["model"] and first["security"] is None
    names = [d["general"]["displayName"].lower() for d in detailed]
    assert names == sorted(names)  # default sort displayName:asc
    ipads = requests.get(f"{sim.url}/api/v2/mobile-devices/detail", headers=h,
                         params={"filter": 'model=="iPad*"', "section": "HARDWARE", "page-size": 100}).json()
    assert ipads["totalCount"] > 0 and all(d["hardware"]["model"].startswith("iPad") for d in ipads["results"])

    mid = ids[0]
    detail = requests.get(f"{sim.url}/api/v2/mobile-devices/{mid}/detail", headers=h).json()
    assert detail["id"] == mid and detail["type"] in ("ios", "tvos")
    assert (detail["ios"] or detail["tvos"])["model"]
    assert ISO_Z.match(detail["lastInventoryUpdateTimestamp"])
    assert requests.get(f"{sim.url}/api/v2/mobile-devices/{mid}", headers=h).json()["id"] == mid
    assert_api_error(requests.get(f"{sim.url}/api/v2/mobile-devices/999999/detail", headers=h), 404)


def test_same_computer_is_consistent_across_apis(sim):
    h = bearer(get_token(sim.url))
    inv: Inventory = sim.state.inventory
    rec = next(c for c in inv.computers.values()
               if c["serial"] and c["user"] is not None and c["purch"] and c["eas"] and inv.users[c["user"]]["email"])
    cid = rec["id"]
    classic = requests.get(f"{sim.url}/JSSResource/computers/id/{cid}", headers={**h, **JSON}).json()["computer"]
    pro = requests.get(f"{sim.url}/api/v1/computers-inventory-detail/{cid}", headers=h).json()
    listed = requests.get(f"{sim.url}/api/v1/computers-inventory", headers=h,
                          params={"filter": f"id=={cid}", "section": ["GENERAL", "HARDWARE"]}).json()["results"][0]
    departments = {d["id"]: d["name"] for d in
                   requests.get(f"{sim.url}/api/v1/departments", headers=h).json()["results"]}
    buildings = {b["id"]: b["name"] for b in requests.get(f"{sim.url}/api/v1/buildings", headers=h).json()["results"]}

    g, hw, loc, pur = classic["general"], classic["hardware"], classic["location"], classic["purchasing"]
    assert g["id"] == cid and pro["id"] == str(cid) == listed["id"]
    assert g["name"] == pro["general"]["name"] == listed["general"]["name"]
    assert g["udid"] == pro["udid"]
    assert g["serial_number"] == pro["hardware"]["serialNumber"] == listed["hardware"]["serialNumber"]
    assert g["mac_address"] == pro["hardware"]["macAddress"]
    assert g["ip_address"] == pro["general"]["lastIpAddress"] and g["last_reported_ip"] == pro["general"]["lastReportedIp"]
    assert g["asset_tag"] == (pro["general"]["assetTag"] or "")
    assert g["remote_management"]["managed"] == pro["general"]["remoteManagement"]["managed"]
    assert g["report_date_epoch"] == ms(pro["general"]["reportDate"]) == ms(g["report_date_utc"])
    assert g["last_contact_time_epoch"] == ms(pro["general"]["lastContactTime"])
    assert g["initial_entry_date"] == pro["general"]["initialEntryDate"]
    assert hw["model"] == pro["hardware"]["model"] and hw["model_identifier"] == pro["hardware"]["modelIdentifier"]
    assert hw["os_version"] == pro["operatingSystem"]["version"] and hw["os_build"] == pro["operatingSystem"]["build"]
    assert hw["total_ram_mb"] == pro["hardware"]["totalRamMegabytes"]
    assert loc["username"] == pro["userAndLocation"]["username"]
    assert loc["email_address"] == pro["userAndLocation"]["email"]
    assert loc["realname"] == pro["userAndLocation"]["realname"]
    assert loc["department"] == departments[pro["userAndLocation"]["departmentId"]]
    assert loc["building"] == buildings[pro["userAndLocation"]["buildingId"]]
    assert pur["po_number"] == pro["purchasing"]["poNumber"] and pur["vendor"] == pro["purchasing"]["vendor"]
    assert pur["warranty_expires"] == pro["purchasing"]["warrantyDate"] and pur["po_date"] == pro["purchasing"]["poDate"]
    assert [(a["name"], a["version"]) for a in classic["software"]["applications"]] == \
        [(a["name"], a["version"]) for a in pro["applications"]]
    assert [e["value"] for e in classic["extension_attributes"]] == \
        [(e["values"] or [""])[0] for e in pro["extensionAttributes"]]
    # the webhook describes the same machine
    event = json.loads(sim.state.webhook_payload("ComputerAdded", cid)[0])["event"]
    assert (event["serialNumber"], event["udid"], event["deviceName"], event["macAddress"]) == \
        (g["serial_number"], g["udid"], g["name"], g["mac_address"])


def test_same_mobile_device_is_consistent_across_apis(sim):
    h = bearer(get_token(sim.url))
    mid = next(m["id"] for m in sim.state.inventory.mobile_devices.values() if m["user"] is not None and m["serial"])
    classic = requests.get(f"{sim.url}/JSSResource/mobiledevices/id/{mid}", headers={**h, **JSON}).json()["mobile_device"]
    pro = requests.get(f"{sim.url}/api/v2/mobile-devices/{mid}/detail", headers=h).json()
    g = classic["general"]
    assert pro["id"] == str(mid) and g["id"] == mid
    assert g["serial_number"] == pro["serialNumber"] and g["udid"] == pro["udid"]
    assert g["wifi_mac_address"] == pro["wifiMacAddress"] and g["os_version"] == pro["osVersion"]
    assert g["model"] == (pro["ios"] or pro["tvos"])["model"]
    assert g["last_inventory_update_epoch"] == ms(pro["lastInventoryUpdateTimestamp"])
    assert classic["location"]["username"] == pro["location"]["username"]
    assert re.match(r"^\w+, \w+ \d\d \d{4} at \d\d:\d\d [AP]M$", g["last_inventory_update"])


def test_data_variety():
    state = JamfState(2000, 600, seed=3)
    inv = state.inventory
    classic = [inv.classic_computer(c) for c in inv.computers.values()]
    n = len(classic)

    def count(pred) -> int:
        return sum(1 for c in classic if pred(c))

    assert 0 < count(lambda c: c["general"]["serial_number"] == "") < n * 0.1
    assert 0 < count(lambda c: c["location"]["username"] == "") < n * 0.2
    assert 0 < count(lambda c: c["purchasing"]["po_number"] == "") < n * 0.4
    assert 0 < count(lambda c: c["extension_attributes"] == []) < n * 0.1
    assert count(lambda c: any(e["value"] == "" for e in c["extension_attributes"])) > 0
    assert count(lambda c: not c["general"]["remote_management"]["managed"]) > 0
    assert count(lambda c: c["purchasing"]["is_leased"]) > 0
    assert count(lambda c: c["purchasing"]["po_date_epoch"] == 0 and c["purchasing"]["po_date"] == "") > 0
    assert len({c["hardware"]["model"] for c in classic}) >= 10
    assert len({c["hardware"]["os_version"] for c in classic}) >= 6
    assert {c["hardware"]["processor_architecture"] for c in classic} == {"arm64", "x86_64"}
    assert any(not c["general"]["name"].isascii() for c in classic)
    app_counts = [len(c["software"]["applications"]) for c in classic]
    assert min(app_counts) >= 2 and max(app_counts) >= 15
    for c in classic[:200]:
        for app in c["software"]["applications"]:
            assert app["name"].endswith(".app") and app["path"].endswith("/" + app["name"]) and app["version"]
        assert CLASSIC_DT.match(c["general"]["report_date"]) and CLASSIC_UTC.match(c["general"]["last_contact_time_utc"])
        assert len(str(c["general"]["report_date_epoch"])) == 13
    # serial numbers are unique where present; ids strictly increase
    serials = [c["general"]["serial_number"] for c in classic if c["general"]["serial_number"]]
    assert len(serials) == len(set(serials))
    # Pro API nulls where Classic has ''
    empty = next(c for c in inv.computers.values() if not c["serial"])
    assert inv.pro_computer(empty, ["HARDWARE"])["hardware"]["serialNumber"] is None
    no_user = next(c for c in inv.computers.values() if c["user"] is None)
    assert inv.pro_computer(no_user, ["USER_AND_LOCATION"])["userAndLocation"]["username"] is None
    mobiles = [inv.classic_mobile(m) for m in inv.mobile_devices.values()]
    assert {m["general"]["os_type"] for m in mobiles} == {"iOS", "iPadOS", "tvOS"}
    assert any(m["network"]["imei"] for m in mobiles) and any(not m["network"]["imei"] for m in mobiles)
    assert any(m["general"]["serial_number"] == "" for m in mobiles)


def test_inventory_is_deterministic():
    a, b, c = Inventory(300, 50, seed=9), Inventory(300, 50, seed=9), Inventory(300, 50, seed=10)
    assert a.computers == b.computers and a.mobile_devices == b.mobile_devices
    assert a.classic_computer(a.computers[7]) == b.classic_computer(b.computers[7])
    assert a.computers != c.computers


# ------------------------------------------------------------------------------------------
# load behaviour and fault injection
# ------------------------------------------------------------------------------------------

def test_concurrency_peak_and_no_rate_limit(sim):
    h = bearer(get_token(sim.url))
    requests.post(f"{sim.url}/_sim/knobs", json={"latency_ms": 300}).raise_for_status()

    def call(_):
        return requests.get(f"{sim.url}/api/v1/computers-inventory", headers=h, params={"page-size": 1}).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(call, range(12)))
    assert statuses == [200] * 12  # Jamf has no limiter: never 429
    stats = requests.get(f"{sim.url}/_sim/stats").json()
    assert stats["peak_in_flight"] >= 10 and stats["rate_limited"] == 0


def test_slow_when_more_than_five_concurrent(sim):
    """Requests beyond the fifth in flight are slowed; at or under the limit none is (counted)."""
    h = bearer(get_token(sim.url))
    requests.post(f"{sim.url}/_sim/knobs", json={"latency_ms": 200}).raise_for_status()
    set_jamf(sim.url, slow_above_concurrency=5, slow_extra_ms=150)

    def burst(n: int) -> None:
        with ThreadPoolExecutor(n) as pool:
            assert all(s == 200 for s in pool.map(
                lambda _: requests.get(f"{sim.url}/JSSResource/computers/id/1", headers=h).status_code, range(n)))

    burst(4)
    assert sim.state.slowed_requests == 0  # at or under the limit: no extra delay
    burst(10)
    assert sim.state.slowed_requests > 0
    assert requests.get(f"{sim.url}/_sim/stats").json()["peak_in_flight"] > 5


def test_detail_fails_once_then_works(sim):
    h = bearer(get_token(sim.url))
    cid = sim.state.visible_ids("computers")[2]
    mid = sim.state.visible_ids("mobile_devices")[2]
    view = set_jamf(sim.url, fail_detail_once={"computers": [cid], "mobile_devices": [mid]})
    assert view["fail_detail_once"] == {"computers": [cid], "mobile_devices": [mid]}
    assert_classic_html(requests.get(f"{sim.url}/JSSResource/computers/id/{cid}", headers=h), 500)
    assert requests.get(f"{sim.url}/JSSResource/computers/id/{cid}", headers=h).status_code == 200
    assert_api_error(requests.get(f"{sim.url}/api/v2/mobile-devices/{mid}/detail", headers=h), 500)
    assert requests.get(f"{sim.url}/api/v2/mobile-devices/{mid}/detail", headers=h).status_code == 200
    # the same switch hits whichever API asks first
    sim.state.fail_detail_once("computers", cid)
    assert_api_error(requests.get(f"{sim.url}/api/v1/computers-inventory-detail/{cid}", headers=h), 500)
    assert requests.get(f"{sim.url}/JSSResource/computers/id/{cid}", headers=h).status_code == 200


def test_base_failure_knob_uses_jamf_error_bodies(sim):
    h = bearer(get_token(sim.url))
    requests.post(f"{sim.url}/_sim/knobs",
                  json={"fail_next": 1, "fail_status": 503, "fail_path": "^/api/"}).raise_for_status()
    assert requests.get(f"{sim.url}/JSSResource/computers", headers=h).status_code == 200  # path does not match
    body = assert_api_error(requests.get(f"{sim.url}/api/v1/computers-inventory", headers=h), 503)
    assert body["errors"][0]["code"] == "SERVICE_UNAVAILABLE"
    assert requests.get(f"{sim.url}/api/v1/computers-inventory", headers=h).status_code == 200
    requests.post(f"{sim.url}/_sim/knobs",
                  json={"fail_next": 1, "fail_status": 502, "fail_path": "^/JSSResource/"}).raise_for_status()
    assert_classic_html(requests.get(f"{sim.url}/JSSResource/computers", headers=h), 502)
    assert requests.get(f"{sim.url}/_sim/stats").json()["injected_failures"] == 2


def test_malformed_json_on_chosen_path(sim):
    h = bearer(get_token(sim.url))
    set_jamf(sim.url, malformed_json_path=r"^/api/v1/computers-inventory$", malformed_json_next=1)
    assert requests.get(f"{sim.url}/api/v2/mobile-devices", headers=h).json()["totalCount"] == N_MOBILES
    r = requests.get(f"{sim.url}/api/v1/computers-inventory", headers=h)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        json.loads(r.text)
    assert requests.get(f"{sim.url}/api/v1/computers-inventory", headers=h).json()["totalCount"] == N_COMPUTERS
    # Classic JSON too
    set_jamf(sim.url, malformed_json_path="^/JSSResource/computers/id/", malformed_json_next=1)
    r = requests.get(f"{sim.url}/JSSResource/computers/id/1", headers={**h, **JSON})
    with pytest.raises(ValueError):
        r.json()


def test_device_deleted_between_list_and_detail(sim):
    h = bearer(get_token(sim.url))
    victim = sim.state.visible_ids("computers")[10]
    mobile_victim = sim.state.visible_ids("mobile_devices")[5]
    set_jamf(sim.url, delete_after_list={"computers": [victim], "mobile_devices": [mobile_victim]})
    listed = [c["id"] for c in requests.get(f"{sim.url}/JSSResource/computers", headers={**h, **JSON}).json()["computers"]]
    assert victim in listed
    assert_classic_html(requests.get(f"{sim.url}/JSSResource/computers/id/{victim}", headers=h), 404)
    assert_api_error(requests.get(f"{sim.url}/api/v1/computers-inventory-detail/{victim}", headers=h), 404)
    after = requests.get(f"{sim.url}/api/v1/computers-inventory", headers=h, params={"page-size": 500}).json()
    assert after["totalCount"] == N_COMPUTERS - 1 and str(victim) not in {r["id"] for r in after["results"]}

    page = requests.get(f"{sim.url}/api/v2/mobile-devices", headers=h, params={"page-size": 500}).json()
    assert str(mobile_victim) in {r["id"] for r in page["results"]}
    assert_api_error(requests.get(f"{sim.url}/api/v2/mobile-devices/{mobile_victim}/detail", headers=h), 404)
    # /_sim/reset brings deleted devices back
    requests.post(f"{sim.url}/_sim/reset").raise_for_status()
    assert requests.get(f"{sim.url}/JSSResource/computers/id/{victim}", headers=h).status_code == 200


def test_unknown_control_knob_is_rejected(sim):
    assert requests.post(f"{sim.url}/_sim/jamf", json={"no_such_knob": 1}).status_code == 400
    assert requests.post(f"{sim.url}/_sim/jamf", json={"unknown_subset": "explode"}).status_code == 400
    view = requests.get(f"{sim.url}/_sim/jamf").json()
    assert view["knobs"]["max_page_size"] == 2000 and view["knobs"]["basic_allowed_on_data"] is False


# ------------------------------------------------------------------------------------------
# webhooks
# ------------------------------------------------------------------------------------------

def test_webhook_payload_shapes(shared):
    state: JamfState = shared.state
    cid = next(c["id"] for c in state.inventory.computers.values() if c["user"] is not None)
    mid = next(m["id"] for m in state.inventory.mobile_devices.values() if m["imei"])
    computer_fields = {"jssID", "udid", "serialNumber", "deviceName", "model", "osVersion", "osBuild",
                       "macAddress", "alternateMacAddress", "ipAddress", "reportedIpAddress", "username",
                       "realName", "emailAddress", "phone", "position", "department", "building", "room",
                       "userDirectoryID", "managementId"}
    mobile_fields = {"jssID", "udid", "serialNumber", "deviceName", "model", "modelDisplay", "product", "version",
                     "osVersion", "osBuild", "wifiMacAddress", "bluetoothMacAddress", "imei", "icciID",
                     "ipAddress", "username", "room", "userDirectoryID", "managementId"}
    assert len(WEBHOOK_EVENTS) == 10
    for event_name in WEBHOOK_EVENTS:
        device_id = cid if event_name.startswith("Computer") else mid
        body, content_type = state.webhook_payload(event_name, device_id, "json")
        assert content_type.startswith("application/json")
        payload = json.loads(body)
        hook, event = payload["webhook"], payload["event"]
        assert hook["webhookEvent"] == event_name and isinstance(hook["id"], int) and hook["name"]
        assert isinstance(hook["eventTimestamp"], int) and len(str(hook["eventTimestamp"])) == 13
        if event_name in NESTED_COMPUTER_EVENTS:
            assert "jssID" not in event  # what the original handler read, and so missed
            assert set(event["computer"]) == computer_fields and event["computer"]["jssID"] == cid
            if event_name == "ComputerCheckIn":
                assert event["trigger"] == "CLIENT_CHECKIN" and event["username"] == event["computer"]["username"]
            else:
                assert isinstance(event["policyId"], int) and isinstance(event["successful"], bool)
        elif event_name.startswith("Computer"):
            assert set(event) == computer_fields and event["jssID"] == cid
        else:
            assert set(event) == mobile_fields and event["jssID"] == mid and event["imei"]

        xml_body, xml_type = state.webhook_payload(event_name, device_id, "xml")
        assert xml_type.startswith("application/xml")
        root = ET.fromstring(xml_body)
        assert root.tag == "JSSEvent" and root.findtext("webhook/webhookEvent") == event_name
        id_path = "event/computer/jssID" if event_name in NESTED_COMPUTER_EVENTS else "event/jssID"
        assert root.findtext(id_path) == str(device_id)

    with pytest.raises(ValueError):
        state.webhook_payload("ComputerExploded", cid)
    with pytest.raises(KeyError):
        state.webhook_payload("MobileDeviceCheckIn", 999_999)


@pytest.fixture
def receiver():
    """A small webhook receiver: records every POST, answers 204 (like the original server)."""
    received: list[dict] = []

    async def hook(request: web.Request) -> web.Response:
        if request.match_info["name"] == "slow":
            await asyncio_sleep(2)
        received.append({"path": request.path, "body": await request.read(), "headers": dict(request.headers)})
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks/{name}", hook)
    with SimulatorThread(app) as srv:
        srv.received = received
        yield srv


async def asyncio_sleep(seconds: float) -> None:
    import asyncio
    await asyncio.sleep(seconds)


def test_sim_webhook_route_posts_to_receiver(sim, receiver):
    cid = sim.state.visible_ids("computers")[0]
    mid = sim.state.visible_ids("mobile_devices")[0]
    r = requests.post(f"{sim.url}/_sim/webhook", json={
        "url": f"{receiver.url}/hooks/casper", "event": "ComputerCheckIn", "device_id": cid, "format": "json",
        "auth": ["hookuser", "hookpass"], "headers": {"X-Webhook-Secret": "s3cret"}})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == 204
    got = receiver.received[-1]
    assert got["path"] == "/hooks/casper"
    assert got["headers"]["Content-Type"].startswith("application/json")
    assert got["headers"]["Authorization"].startswith("Basic ")
    assert got["headers"]["X-Webhook-Secret"] == "s3cret"
    payload = json.loads(got["body"])
    assert payload["webhook"]["webhookEvent"] == "ComputerCheckIn" and payload["event"]["computer"]["jssID"] == cid

    r = requests.post(f"{sim.url}/_sim/webhook", json={
        "url": f"{receiver.url}/hooks/casper.MDM", "event": "MobileDeviceUnEnrolled", "device_id": mid,
        "format": "xml"})
    assert r.status_code == 200 and r.json()["status"] == 204
    got = receiver.received[-1]
    assert got["headers"]["Content-Type"].startswith("application/xml") and "Authorization" not in got["headers"]
    assert ET.fromstring(got["body"]).findtext("event/jssID") == str(mid)

    # bad requests, unreachable and slow receivers
    assert requests.post(f"{sim.url}/_sim/webhook", json={"url": receiver.url, "event": "Nope",
                                                          "device_id": cid}).status_code == 400
    assert requests.post(f"{sim.url}/_sim/webhook", json={"url": receiver.url, "event": "ComputerAdded",
                                                          "device_id": 999_999}).status_code == 400
    dead = requests.post(f"{sim.url}/_sim/webhook", json={"url": "http://127.0.0.1:9/hooks/x",
                                                          "event": "ComputerAdded", "device_id": cid})
    assert dead.status_code == 502 and "error" in dead.json()
    slow = requests.post(f"{sim.url}/_sim/webhook", json={"url": f"{receiver.url}/hooks/slow", "event": "ComputerAdded",
                                                          "device_id": cid, "timeout": 0.5})
    assert slow.status_code == 502
    sent = requests.get(f"{sim.url}/_sim/jamf").json()["webhooks_sent"]
    assert [s.get("status") for s in sent[-4:]] == [204, 204, None, None]


def test_send_webhook_helper(shared, receiver):
    state: JamfState = shared.state
    mid = state.visible_ids("mobile_devices")[1]
    response = state.send_webhook(f"{receiver.url}/hooks/casper", "MobileDeviceEnrolled", mid, "json",
                                  auth=("u", "p"), headers={"X-Extra": "1"}, timeout=5)
    assert response.status_code == 204
    got = receiver.received[-1]
    assert json.loads(got["body"])["event"]["jssID"] == mid
    assert got["headers"]["X-Extra"] == "1" and got["headers"]["Authorization"].startswith("Basic ")
    with pytest.raises(requests.exceptions.Timeout):
        state.send_webhook(f"{receiver.url}/hooks/slow", "ComputerAdded", state.visible_ids("computers")[0],
                           timeout=0.5)


# ------------------------------------------------------------------------------------------
# as a process
# ------------------------------------------------------------------------------------------

def test_runs_as_a_process():
    with SimulatorProcess("tests.simulators.jamf", "--computers", "25", "--mobile-devices", "7", "--seed", "4",
                          "--user", "ops:pa:ss", "--client", "cid:csecret", "--token-lifetime", "60",
                          "--allow-basic", "--anchor", "now") as proc:
        url = proc.url
        r = requests.post(f"{url}/api/v1/auth/token", auth=("ops", "pa:ss"))
        assert r.status_code == 200
        lifetime = ms(r.json()["expires"]) / 1000 - time.time()
        assert 50 < lifetime <= 60
        assert requests.post(f"{url}/api/v1/auth/token", auth=(USER, PASSWORD)).status_code == 401  # defaults replaced
        listed = requests.get(f"{url}/JSSResource/computers", auth=("ops", "pa:ss"), headers=JSON)  # --allow-basic
        assert listed.status_code == 200 and len(listed.json()["computers"]) == 25
        oauth = requests.post(f"{url}/api/oauth/token", data={"grant_type": "client_credentials",
                                                              "client_id": "cid", "client_secret": "csecret"})
        h = bearer(oauth.json()["access_token"])
        assert requests.get(f"{url}/api/v2/mobile-devices", headers=h).json()["totalCount"] == 7
        # --anchor now: recent check-ins are recent relative to the real clock
        recent = requests.get(f"{url}/api/v1/computers-inventory", headers=h, params={
            "filter": f"general.lastContactTime=ge={datetime.fromtimestamp(time.time() - 31 * 86400, timezone.utc):%Y-%m-%dT%H:%M:%SZ}"})
        assert recent.json()["totalCount"] > 0
        assert requests.get(f"{url}/_sim/stats").json()["requests"] >= 4


# ------------------------------------------------------------------------------------------
# fixes: the two APIs must describe a device the same way (what a Classic-shaped hook relies on)
# ------------------------------------------------------------------------------------------

DAY = 86_400_000


def test_date_only_fields_are_midnights_in_both_apis():
    """Jamf keeps initial-entry and purchasing dates as dates: the Classic epoch is a midnight and the
    Jamf Pro API's date says the same day (the simulator used to put a time of day in the epoch)."""
    inv = JamfState(300, 100, seed=4).inventory
    for c in inv.computers.values():
        classic, pro = inv.classic_computer(c), inv.pro_computer(c, ["GENERAL", "PURCHASING"])
        g, p = classic["general"], classic["purchasing"]
        assert g["initial_entry_date_epoch"] % DAY == 0
        assert g["initial_entry_date"] == pro["general"]["initialEntryDate"]
        for key, pro_key in (("po_date", "poDate"), ("warranty_expires", "warrantyDate"),
                             ("lease_expires", "leaseDate")):
            assert p[f"{key}_epoch"] % DAY == 0
            assert p[key] == (pro["purchasing"][pro_key] or "")
    for m in inv.mobile_devices.values():
        classic = inv.classic_mobile(m)
        pro = inv.pro_mobile_inventory(m, ["GENERAL", "PURCHASING"])
        assert classic["general"]["initial_entry_date_epoch"] % DAY == 0
        assert classic["general"]["initial_entry_date_utc"][:10] == pro["general"]["initialEntryDate"]
        for key, pro_key in (("po_date", "poDate"), ("warranty_expires", "warrantyExpiresDate")):
            assert classic["purchasing"][f"{key}_epoch"] % DAY == 0
            assert classic["purchasing"][f"{key}_epoch"] == (ms(pro["purchasing"][pro_key])
                                                            if pro["purchasing"][pro_key] else 0)


def test_boot_rom_is_the_same_in_both_apis():
    inv = JamfState(200, 0, seed=4).inventory
    roms = {(inv.classic_computer(c)["hardware"]["boot_rom"], inv.pro_computer(c, ["HARDWARE"])["hardware"]["bootRom"])
            for c in inv.computers.values()}
    assert len(roms) == 2 and all(classic == pro for classic, pro in roms)


def test_mobile_general_section_has_the_device_flags_and_network_matches_classic():
    """Jamf Pro 11's GENERAL section of /api/v2/mobile-devices/detail carries the flags the Classic
    general subset has (cloud backup, Find My, iTunes...); voice roaming is null without a carrier,
    as Classic's '' says."""
    inv = JamfState(0, 200, seed=4).inventory
    pairs = {"cloudBackupEnabled": "cloud_backup_enabled", "doNotDisturbEnabled": "do_not_disturb_enabled",
             "deviceLocatorServiceEnabled": "device_locator_service_enabled",
             "itunesStoreAccountActive": "itunes_store_account_is_active"}
    voice = set()
    for m in inv.mobile_devices.values():
        classic = inv.classic_mobile(m)
        pro = inv.pro_mobile_inventory(m, ["GENERAL", "NETWORK"])
        for pro_key, classic_key in pairs.items():
            assert pro["general"][pro_key] == classic["general"][classic_key], pro_key
        assert pro["general"]["lastCloudBackupDate"] is None and classic["general"]["last_cloud_backup_date_epoch"] == 0
        assert pro["general"]["lastBackupDate"] is None and classic["general"]["last_backup_time_epoch"] == 0
        assert {"tethered", "exchangeDeviceId", "airPlayPassword", "locales"} <= set(pro["general"])
        roaming = (pro["network"] or {}).get("voiceRoamingEnabled")
        voice.add((roaming, classic["network"]["voice_roaming_enabled"]))
    assert voice == {(False, "Disabled"), (None, "")}


def test_mobile_extension_attributes_have_the_same_shape_paged_and_single():
    """``/api/v2/mobile-devices/detail`` and ``/api/v2/mobile-devices/{id}/detail`` give each EA as
    ``{id, name, type, value: [...], extensionAttributeCollectionAllowed, inventoryDisplay}``: the
    mobile shape, which jamf-pro-sdk's MobileDeviceExtensionAttribute models."""
    from jamf_pro_sdk.models.pro.mobile_devices import MobileDevice, MobileDeviceExtensionAttribute

    with SimulatorThread(build_app(JamfState(0, 12, seed=3))) as sim:
        h = bearer(get_token(sim.url))
        paged = requests.get(f"{sim.url}/api/v2/mobile-devices/detail", headers=h,
                             params={"section": ["EXTENSION_ATTRIBUTES", "SECURITY"], "page-size": 100}).json()
        assert paged["totalCount"] == 12
        for result in paged["results"]:
            single = requests.get(f"{sim.url}/api/v2/mobile-devices/{result['mobileDeviceId']}/detail",
                                  headers=h).json()
            assert result["extensionAttributes"] == single["extensionAttributes"]
            for ea in result["extensionAttributes"]:
                assert set(ea) == {"id", "name", "type", "value", "extensionAttributeCollectionAllowed",
                                   "inventoryDisplay"} and isinstance(ea["value"], list)
                MobileDeviceExtensionAttribute.model_validate(ea)
            model = MobileDevice.model_validate(result)
            if single["ios"]:
                assert result["security"] == single["ios"]["security"]
                assert model.security.passcodeCompliant is not None and model.security.lostModePersistent is not None
