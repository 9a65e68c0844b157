"""Tests for the BambooHR simulator, including PyBambooHR running unchanged against it."""
from __future__ import annotations

import collections
import csv
import datetime as dt
import io
import socket
import time
import xml.etree.ElementTree as ET

import pytest
import requests

from tests.simulators import bamboohr as bhr
from tests.simulators.bamboohr_data import (DIRECTORY_FULL, DIRECTORY_ORG_CHART, EMPTY_DATE, FIELDS,
                                            generate_employees)
from tests.simulators.base import SimulatorProcess, SimulatorThread
from tests.simulators.loopback_tls_proxy import LoopbackTlsProxy

NOW = 1_795_000_000.0  # fixed "now" (2026-11-18) so the company is the same on every run
N_EMPLOYEES = 400
GW = f"/api/gateway.php/{bhr.DEFAULT_COMPANY}/v1"


@pytest.fixture(scope="module")
def sim():
    state = bhr.BambooHRState(employees=N_EMPLOYEES, seed=5, now=NOW)
    with SimulatorThread(bhr.build_app(state)) as s:
        yield s


@pytest.fixture(autouse=True)
def _reset(request):
    if "sim" in request.fixturenames:
        requests.post(request.getfixturevalue("sim").url + "/_sim/reset").raise_for_status()


@pytest.fixture
def api():
    s = requests.Session()
    s.auth = (bhr.DEFAULT_API_KEY, "x")
    s.headers["Accept"] = "application/json"
    return s


def config(sim, **values):
    requests.post(sim.url + "/_sim/config", json=values).raise_for_status()


def knobs(sim, **values):
    requests.post(sim.url + "/_sim/knobs", json=values).raise_for_status()


def expected_directory(state, only_current=True):
    return [e for e in state.employees
            if e.status == "Active" and e.in_directory and (not only_current or e.hire_date <= state.today)]


# ---- authentication ------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["x", "", "anything at all"])
def test_api_key_is_the_user_name_and_the_password_is_ignored(sim, password):
    r = requests.get(sim.url + GW + "/employees/directory", auth=(bhr.DEFAULT_API_KEY, password),
                     headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.json()["employees"]


@pytest.mark.parametrize("case", ["none", "unknown_key", "key_as_password", "bearer", "garbage"])
def test_bad_credentials_are_401_with_the_error_header_and_no_body(sim, case):
    headers = {"Accept": "application/json"}
    auth = None
    if case == "unknown_key":
        auth = ("not-a-key", "x")
    elif case == "key_as_password":
        auth = ("x", bhr.DEFAULT_API_KEY)
    elif case == "bearer":
        headers["Authorization"] = f"Bearer {bhr.DEFAULT_API_KEY}"
    elif case == "garbage":
        headers["Authorization"] = "Basic !!!"
    r = requests.get(sim.url + GW + "/employees/directory", auth=auth, headers=headers)
    assert r.status_code == 401
    assert r.content == b"" and r.headers[bhr.ERROR_HEADER]


def test_disabled_users_key_is_403_and_unknown_company_404(sim, api):
    r = requests.get(sim.url + GW + "/employees/directory", auth=(bhr.DISABLED_API_KEY, "x"))
    assert r.status_code == 403 and r.content == b"" and "disabled" in r.headers[bhr.ERROR_HEADER]
    r = api.get(sim.url + "/api/gateway.php/someoneelse/v1/employees/directory")
    assert r.status_code == 404 and r.content == b""
    assert api.get(sim.url + GW + "/no/such/thing").status_code == 404
    assert api.delete(sim.url + GW + "/employees/directory").status_code == 404


# ---- directory -------------------------------------------------------------------------------

def test_directory_json_is_the_whole_published_directory_in_one_response(sim, api):
    state = sim.state
    r = api.get(sim.url + GW + "/employees/directory")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    assert "Link" not in r.headers  # no paging
    body = r.json()
    assert [f["id"] for f in body["fields"]] == DIRECTORY_FULL
    assert all(set(f) == {"id", "type", "name"} for f in body["fields"])
    ids = [e["id"] for e in body["employees"]]
    assert all(isinstance(i, str) for i in ids) and len(ids) == len(set(ids))
    assert ids == [str(e.id) for e in expected_directory(state)]
    assert all(set(e) == {"id", *DIRECTORY_FULL} for e in body["employees"])
    # Terminated / inactive people, unpublished people and future hires are not there.
    everyone = {str(e.id): e for e in state.employees}
    assert {everyone[i].status for i in ids} == {"Active"}
    assert any(e.status == "Inactive" for e in state.employees)
    # Types as BambooHR has them: strings or null, photoUploaded bool, canUploadPhoto 1/0.
    sample = body["employees"][1]
    assert isinstance(sample["photoUploaded"], bool) and sample["canUploadPhoto"] in (0, 1)
    assert any(e["workEmail"] is None for e in body["employees"])
    assert any(e["supervisor"] and ", " in e["supervisor"] for e in body["employees"])


def test_directory_only_current_false_adds_future_hires(sim, api):
    state = sim.state
    future = [e for e in state.employees if e.in_directory and e.hire_date > state.today]
    assert future
    body = api.get(sim.url + GW + "/employees/directory", params={"onlyCurrent": "false"}).json()
    assert [e["id"] for e in body["employees"]] == [str(e.id) for e in expected_directory(state, False)]
    assert {str(e.id) for e in future} <= {e["id"] for e in body["employees"]}


def test_directory_is_xml_unless_json_is_asked_for(sim, api):
    r = requests.get(sim.url + GW + "/employees/directory/", auth=(bhr.DEFAULT_API_KEY, "x"))
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(r.content)
    assert [f.get("id") for f in root.find("fieldset")] == DIRECTORY_FULL
    xml_emps = root.find("employees")
    as_json = api.get(sim.url + GW + "/employees/directory").json()["employees"]
    assert [e.get("id") for e in xml_emps] == [e["id"] for e in as_json]
    first = {f.get("id"): f.text for f in xml_emps[0]}
    assert first["displayName"] == as_json[0]["displayName"]
    # Unicode survives both encodings.
    names = {e["lastName"] for e in as_json}
    assert any(not n.isascii() for n in names)
    assert {(f.text or "") for emp in xml_emps for f in emp if f.get("id") == "lastName"} == names


def test_directory_sharing_settings(sim, api):
    config(sim, directory_sharing="org_chart")
    body = api.get(sim.url + GW + "/employees/directory").json()
    assert [f["id"] for f in body["fields"]] == DIRECTORY_ORG_CHART
    assert "workEmail" not in body["employees"][0] and "supervisor" not in body["employees"][0]
    assert len(body["employees"]) == len(expected_directory(sim.state))
    config(sim, directory_sharing="full", directory_hidden_fields=["mobilePhone", "supervisor"])
    body = api.get(sim.url + GW + "/employees/directory").json()
    assert {"mobilePhone", "supervisor"}.isdisjoint(f["id"] for f in body["fields"])
    assert "mobilePhone" not in body["employees"][0] and "workEmail" in body["employees"][0]
    config(sim, directory_sharing="off")
    r = api.get(sim.url + GW + "/employees/directory")
    assert r.status_code == 403 and r.content == b""
    assert r.headers[bhr.ERROR_HEADER] == "Directory disabled for this account"


def test_empty_directory_is_404():
    with SimulatorThread(bhr.build_app(bhr.BambooHRState(employees=0, now=NOW))) as empty:
        r = requests.get(empty.url + GW + "/employees/directory", auth=(bhr.DEFAULT_API_KEY, "x"),
                         headers={"Accept": "application/json"})
        assert r.status_code == 404
        # A key bound to no employee reads only {"id": "0"} for employee 0.
        r = requests.get(empty.url + GW + "/employees/0", params={"fields": "firstName"},
                         auth=(bhr.DEFAULT_API_KEY, "x"), headers={"Accept": "application/json"})
        assert r.json() == {"id": "0"}


# ---- one employee ----------------------------------------------------------------------------

def test_get_employee_returns_id_plus_the_requested_readable_fields(sim, api):
    state = sim.state
    gone = next(e for e in state.employees if e.employment_status == "Terminated" and e.work_email)
    r = api.get(sim.url + GW + f"/employees/{gone.id}",
                params={"fields": "firstName,lastName,workEmail,status,terminationDate,hireDate,noSuchField,"
                                  "photoUploaded,supervisorEId,mobilePhone,15"})
    assert r.status_code == 200
    rec = r.json()
    assert list(rec)[0] == "id" and rec["id"] == str(gone.id)
    assert "noSuchField" not in rec and "15" not in rec  # unknown dropped; numeric id 15 = workEmail
    assert rec["firstName"] == gone.first and rec["workEmail"] == gone.work_email
    assert rec["status"] == "Inactive" and rec["terminationDate"] == gone.termination_date
    assert rec["photoUploaded"] in ("true", "false")
    assert all(v is None or isinstance(v, str) for v in rec.values())
    active = next(e for e in state.employees if e.status == "Active" and e.mobile_phone is None)
    rec = api.get(sim.url + GW + f"/employees/{active.id}", params={"fields": "terminationDate,mobilePhone"}).json()
    assert rec == {"id": str(active.id), "terminationDate": EMPTY_DATE, "mobilePhone": None}
    # No fields: only the id.
    assert api.get(sim.url + GW + f"/employees/{active.id}").json() == {"id": str(active.id)}


def test_get_employee_zero_limits_404_and_xml(sim, api):
    owner = sim.state.keys[bhr.DEFAULT_API_KEY].owner
    assert api.get(sim.url + GW + "/employees/0", params={"fields": "firstName"}).json()["id"] == str(owner)
    r = api.get(sim.url + GW + "/employees/99999999")
    assert r.status_code == 404 and r.content == b""
    too_many = ",".join(["firstName"] * 401)
    r = api.get(sim.url + GW + f"/employees/{owner}", params={"fields": too_many})
    assert r.status_code == 400 and bhr.ERROR_HEADER in r.headers
    r = requests.get(sim.url + GW + f"/employees/{owner}", params={"fields": "firstName,lastName"},
                     auth=(bhr.DEFAULT_API_KEY, "x"))
    root = ET.fromstring(r.content)
    assert root.tag == "employee" and root.get("id") == str(owner)
    assert [f.get("id") for f in root] == ["firstName", "lastName"]


def test_limited_key_reads_only_its_own_record_without_sensitive_fields(sim):
    state = sim.state
    key = state.keys[bhr.LIMITED_API_KEY]
    limited = requests.Session()
    limited.auth, limited.headers["Accept"] = (bhr.LIMITED_API_KEY, ""), "application/json"
    rec = limited.get(sim.url + GW + "/employees/0", params={"fields": "firstName,ssn,payRate"}).json()
    assert rec == {"id": str(key.owner), "firstName": state.by_id[key.owner].first}
    other = next(e for e in state.employees if e.id != key.owner)
    r = limited.get(sim.url + GW + f"/employees/{other.id}", params={"fields": "firstName"})
    assert r.status_code == 403 and r.headers[bhr.ERROR_HEADER] == "Insufficient Permissions to view this employee"
    # The directory is shared with everybody; custom reports are not.
    assert limited.get(sim.url + GW + "/employees/directory").status_code == 200
    r = limited.post(sim.url + GW + "/reports/custom", params={"format": "JSON"}, json={"fields": ["firstName"]})
    assert r.status_code == 403


# ---- custom reports --------------------------------------------------------------------------

REPORT_FIELDS = ["firstName", "lastName", "workEmail", "mobilePhone", "jobTitle", "status",
                 "employmentHistoryStatus", "terminationDate", "lastChanged"]


def test_custom_report_has_every_employee_of_every_status_once(sim, api):
    state = sim.state
    r = api.post(sim.url + GW + "/reports/custom", params={"format": "JSON"},
                 json={"title": "Oomnitza", "fields": REPORT_FIELDS})
    assert r.status_code == 200
    body = r.json()
    assert body["title"] == "Oomnitza"
    assert [f["id"] for f in body["fields"]] == REPORT_FIELDS
    ids = [e["id"] for e in body["employees"]]
    assert collections.Counter(ids) == collections.Counter(str(e.id) for e in state.employees)
    statuses = collections.Counter(e["employmentHistoryStatus"] for e in body["employees"])
    assert statuses["Terminated"] > 0 and {e["status"] for e in body["employees"]} == {"Active", "Inactive"}
    terminated = [e for e in body["employees"] if e["employmentHistoryStatus"] == "Terminated"]
    assert all(e["terminationDate"] != EMPTY_DATE for e in terminated)
    # onlyCurrent=true drops future hires only.
    current = api.post(sim.url + GW + "/reports/custom/", params={"format": "json", "onlyCurrent": "true"},
                       json={"fields": ["firstName"]}).json()["employees"]
    assert len(current) == sum(e.hire_date <= state.today for e in state.employees) < len(ids)


def test_custom_report_last_changed_filter(sim, api):
    state = sim.state
    since = "2026-06-01T00:00:00Z"
    cut = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc).timestamp()

    def changed(e):
        return dt.datetime.fromisoformat(e.last_changed).timestamp() >= cut

    def run(include_null, value):
        filt = {"includeNull": include_null, **({"value": value} if value else {})}
        body = {"title": "t", "fields": ["lastChanged"], "filters": {"lastChanged": filt}}
        return {e["id"] for e in api.post(sim.url + GW + "/reports/custom", params={"format": "JSON"},
                                          json=body).json()["employees"]}

    legacy = {str(e.id) for e in state.employees if e.last_changed is None}
    assert legacy
    assert run("no", since) == {str(e.id) for e in state.employees if e.last_changed and changed(e)}
    assert run("yes", since) == run("no", since) | legacy
    assert run("no", None) == {str(e.id) for e in state.employees} - legacy
    assert 0 < len(run("no", since)) < len(state.employees)


def test_custom_report_xml_request_and_xml_csv_output(sim, api):
    xml_body = ('<report output="json"><title>X</title><filters><lastChanged includeNull="yes">'
                "2026-06-01T00:00:00Z</lastChanged></filters><fields><field id=\"firstName\" />"
                '<field id="lastName" /><field id="nope" /></fields></report>')
    r = api.post(sim.url + GW + "/reports/custom", params={"format": "xml"}, data=xml_body.encode())
    assert r.status_code == 200
    root = ET.fromstring(r.content)
    assert root.findtext("title") == "X"
    assert [f.get("id") for f in root.find("fields")] == ["firstName", "lastName"]
    assert len(root.find("employees")) > 0
    r = api.post(sim.url + GW + "/reports/custom", params={"format": "CSV"},
                 json={"fields": ["id", "firstName", "workEmail"]})
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["EEID", "First name", "Work Email"] and len(rows) == len(sim.state.employees) + 1


@pytest.mark.parametrize("params, body, status", [
    ({"format": "PDF"}, {"fields": ["firstName"]}, 400),
    ({}, {"fields": ["firstName"]}, 400),
    ({"format": "JSON"}, {"title": "no fields"}, 400),
    ({"format": "JSON"}, {"fields": []}, 400),
    ({"format": "JSON"}, {"fields": ["firstName"] * 401}, 400),
    ({"format": "JSON"}, {"fields": ["lastChanged"], "filters": {"lastChanged": {"value": "yesterday"}}}, 400),
])
def test_custom_report_bad_requests(sim, api, params, body, status):
    r = api.post(sim.url + GW + "/reports/custom", params=params, json=body)
    assert r.status_code == status and r.content == b"" and r.headers[bhr.ERROR_HEADER]


def test_malformed_report_body_is_400(sim, api):
    for raw in (b"{not json", b"<report><fields>"):
        r = api.post(sim.url + GW + "/reports/custom", params={"format": "JSON"}, data=raw)
        assert r.status_code == 400 and "Malformed" in r.headers[bhr.ERROR_HEADER]


# ---- meta ------------------------------------------------------------------------------------

def test_meta_users_and_fields(sim, api):
    state = sim.state
    users = api.get(sim.url + GW + "/meta/users").json()
    with_users = [e for e in state.employees if e.user_id]
    assert len(users) == len(with_users)
    u = users[str(with_users[0].user_id)]
    assert u["employeeId"] == with_users[0].id and u["status"] in ("enabled", "disabled")
    assert {v["status"] for v in users.values()} == {"enabled", "disabled"}
    fields = api.get(sim.url + GW + "/meta/fields/").json()
    assert {f["alias"] for f in fields} == set(FIELDS)
    assert len({f["id"] for f in fields}) == len(fields)  # numeric ids are unique


# ---- throttling and faults ---------------------------------------------------------------------

def test_throttling_is_429_with_retry_after_and_no_body(sim, api):
    knobs(sim, rate_limit=2, rate_window_s=30, retry_after_s=7)
    got = [api.get(sim.url + GW + "/employees/0") for _ in range(4)]
    assert [r.status_code for r in got] == [200, 200, 429, 429]
    assert got[2].headers["Retry-After"] == "7" and got[2].content == b""
    assert "Retry-After" not in got[0].headers  # BambooHR sends no budget headers on success
    config(sim, throttle_status=503)  # the signal BambooHR used before 2026-09-16
    r = api.get(sim.url + GW + "/employees/0")
    assert r.status_code == 503 and r.headers["Retry-After"] == "7"
    assert requests.get(sim.url + "/_sim/stats").json()["rate_limited"] == 3


def test_failed_auth_counts_toward_the_rate_limit(sim):
    knobs(sim, rate_limit=1, rate_window_s=30)
    assert requests.get(sim.url + GW + "/employees/0", auth=("bad", "x")).status_code == 401
    assert requests.get(sim.url + GW + "/employees/0", auth=(bhr.DEFAULT_API_KEY, "x")).status_code == 429


def test_injected_failures(sim, api):
    knobs(sim, fail_next=2, fail_status=503, fail_path="/reports/custom", fail_retry_after_s=3)
    assert api.get(sim.url + GW + "/employees/directory").status_code == 200  # path does not match
    for _ in range(2):
        r = api.post(sim.url + GW + "/reports/custom", params={"format": "JSON"}, json={"fields": ["firstName"]})
        assert r.status_code == 503 and r.headers["Retry-After"] == "3" and r.content == b""
    assert api.post(sim.url + GW + "/reports/custom", params={"format": "JSON"},
                    json={"fields": ["firstName"]}).status_code == 200
    knobs(sim, fail_next=1, fail_status=500, fail_path="", fail_retry_after_s=None)
    assert api.get(sim.url + GW + "/employees/directory").status_code == 500
    assert requests.get(sim.url + "/_sim/stats").json()["injected_failures"] == 3


def test_unknown_config_setting_rejected(sim):
    assert requests.post(sim.url + "/_sim/config", json={"nope": 1}).status_code == 400


# ---- data ------------------------------------------------------------------------------------

def test_data_variety(sim):
    emps = sim.state.employees
    assert len(emps) == N_EMPLOYEES and len({e.id for e in emps}) == N_EMPLOYEES
    assert [e.id for e in emps] == sorted(e.id for e in emps)
    assert any(b.id - a.id > 1 for a, b in zip(emps, emps[1:]))  # deleted records leave gaps
    assert any(not (e.first + e.last).isascii() for e in emps)
    assert any(not any(c.isascii() for c in e.last) for e in emps)  # non-Latin scripts
    assert any(e.preferred for e in emps) and any(e.middle for e in emps)
    for attr in ("work_email", "mobile_phone", "work_phone", "department", "location", "supervisor_id",
                 "last_changed", "linkedin", "pronouns"):
        assert any(getattr(e, attr) is None for e in emps), attr
        assert any(getattr(e, attr) is not None for e in emps), attr
    emails = [e.work_email.lower() for e in emps if e.work_email]
    assert len(emails) == len(set(emails))
    assert any(e.work_email and e.work_email != e.work_email.lower() for e in emps)
    kinds = collections.Counter((e.status, e.employment_status) for e in emps)
    assert kinds[("Inactive", "Terminated")] and kinds[("Active", "Contractor")] and kinds[("Active", "Part-Time")]
    assert any(e.status == "Inactive" and e.employment_status != "Terminated" for e in emps)
    assert all((e.termination_date is not None) == (e.employment_status == "Terminated") for e in emps)
    assert any(e.status == "Active" and not e.in_directory for e in emps)


def test_generation_is_deterministic():
    a = generate_employees(300, seed=3, now=NOW)
    assert a == generate_employees(300, seed=3, now=NOW)
    assert a != generate_employees(300, seed=4, now=NOW)


def test_large_company_in_one_directory_response():
    state = bhr.BambooHRState(employees=10000, seed=9, now=NOW)
    with SimulatorThread(bhr.build_app(state)) as big:
        r = requests.get(big.url + GW + "/employees/directory", auth=(bhr.DEFAULT_API_KEY, "x"),
                         headers={"Accept": "application/json"})
        assert len(r.json()["employees"]) == len(expected_directory(state)) > 8500


# ---- as a process ------------------------------------------------------------------------------

def test_runs_as_process_with_cli_settings():
    with SimulatorProcess("tests.simulators.bamboohr", "--employees", "60", "--seed", "4", "--company",
                          "acme", "--api-key", "k-123", "--throttle-status", "503", "--rate-limit", "3",
                          "--rate-window", "30") as proc:
        url = proc.url + "/api/gateway.php/acme/v1/employees/directory"
        r = requests.get(url, auth=("k-123", "x"), headers={"Accept": "application/json"})
        assert r.status_code == 200 and 40 < len(r.json()["employees"]) <= 60
        assert requests.get(url, auth=(bhr.DEFAULT_API_KEY, "x")).status_code == 401
        assert requests.get(proc.url + GW + "/employees/directory", auth=("k-123", "x")).status_code == 404
        r = requests.get(url, auth=("k-123", "x"))  # the fourth request in the window is throttled
        assert r.status_code == 503 and r.headers["Retry-After"]


# ---- PyBambooHR, unchanged, through a CONNECT proxy at api.bamboohr.com --------------------------

CLIENT_EMPLOYEES = 45


@pytest.fixture(scope="module")
def client_sim():
    state = bhr.BambooHRState(employees=CLIENT_EMPLOYEES, seed=8, now=NOW)
    with SimulatorThread(bhr.build_app(state)) as s, LoopbackTlsProxy({"api.bamboohr.com": s.url}) as proxy:
        yield s, proxy


@pytest.fixture
def bamboo(client_sim, monkeypatch):
    """PyBambooHR as a user creates it; only the standard proxy / CA environment points it here."""
    sim, proxy = client_sim
    requests.post(sim.url + "/_sim/reset").raise_for_status()
    for name in ("https_proxy", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", proxy.ca_bundle)
    from PyBambooHR.PyBambooHR import PyBambooHR

    return PyBambooHR(subdomain=bhr.DEFAULT_COMPANY, api_key=bhr.DEFAULT_API_KEY)


def waiting_out_throttle(call, waits: list[int]):
    """PyBambooHR has no retries: on a throttled answer wait ``Retry-After`` seconds and call again."""
    while True:
        try:
            return call()
        except requests.HTTPError as exc:
            resp = exc.response
            if resp is None or resp.status_code not in (429, 503) or "Retry-After" not in resp.headers:
                raise
            waits.append(int(resp.headers["Retry-After"]))
            time.sleep(waits[-1])


def test_pybamboohr_directory_waits_out_throttling(client_sim, bamboo):
    sim, proxy = client_sim
    state = sim.state
    knobs(sim, rate_limit=1, rate_window_s=1, retry_after_s=1)
    requests.get(sim.url + GW + "/employees/0", auth=(bhr.DEFAULT_API_KEY, "x"))  # uses up the window
    waits: list[int] = []
    employees = waiting_out_throttle(bamboo.get_employee_directory, waits)
    assert waits and set(waits) == {1}
    ids = [e["id"] for e in employees]
    assert collections.Counter(ids) == collections.Counter(str(e.id) for e in expected_directory(state))
    assert requests.get(sim.url + "/_sim/stats").json()["rate_limited"] == len(waits)
    assert proxy.tunnels > 0 and not proxy.refused


def test_pybamboohr_lists_everyone_once_through_a_429_mid_listing(client_sim, bamboo):
    sim, _ = client_sim
    state = sim.state
    enabled_users = {str(e.id) for e in state.employees if e.user_id and e.user_enabled}
    expected = enabled_users | {str(e.id) for e in expected_directory(state)}
    middle = sorted(expected, key=int)[len(expected) // 2]
    # The next request for that employee is throttled: the listing fails half-way through.
    knobs(sim, fail_next=1, fail_status=429, fail_retry_after_s=1, fail_path=f"/employees/{middle}$")
    waits: list[int] = []
    fields = ["firstName", "lastName", "workEmail", "mobilePhone", "jobTitle", "status"]
    # PyBambooHR keeps what it fetched before the error and would return that partial dict on the
    # next call, so the retry asks it to reload.
    result = waiting_out_throttle(lambda: bamboo.get_all_employees(field_list=fields, reloadEmployees=True),
                                  waits)
    assert waits == [1]
    assert set(result) == expected and len(result) == len(expected)
    for emp_id, rec in result.items():
        emp = state.by_id[int(emp_id)]
        assert rec["id"] == emp_id and rec["firstName"] == emp.first and rec["workEmail"] == emp.work_email
    by_path = requests.get(sim.url + "/_sim/stats").json()["by_path"]
    assert by_path[GW + f"/employees/{middle}"] == 2
    assert requests.get(sim.url + "/_sim/stats").json()["injected_failures"] == 1


def test_pybamboohr_custom_report_in_its_xml_request_format(client_sim, bamboo):
    sim, _ = client_sim
    state = sim.state
    report = bamboo.request_custom_report(REPORT_FIELDS, report_format="json", title="All people")
    assert report["title"] == "All people"
    ids = [e["id"] for e in report["employees"]]
    assert collections.Counter(ids) == collections.Counter(str(e.id) for e in state.employees)
    since = dt.datetime(2026, 6, 1)
    changed = bamboo.request_custom_report(["firstName"], report_format="json", last_changed=since)
    cut = since.replace(tzinfo=dt.timezone.utc).timestamp()
    assert {e["id"] for e in changed["employees"]} == {
        str(e.id) for e in state.employees
        if e.last_changed and dt.datetime.fromisoformat(e.last_changed).timestamp() >= cut}


def test_pybamboohr_wrong_key_and_tls_is_really_checked(client_sim, bamboo, monkeypatch):
    from PyBambooHR.PyBambooHR import PyBambooHR

    wrong = PyBambooHR(subdomain=bhr.DEFAULT_COMPANY, api_key="wrong")
    with pytest.raises(requests.HTTPError) as info:
        wrong.get_employee_directory()
    assert info.value.response.status_code == 401
    # Without the test CA the client refuses the simulator's certificate: TLS is verified.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    with pytest.raises(requests.exceptions.SSLError):
        bamboo.get_employee_directory()


def test_proxy_refuses_every_other_destination(client_sim):
    _, proxy = client_sim
    host, port = proxy.url.removeprefix("http://").split(":")

    def ask(request_line: bytes) -> bytes:
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(request_line + b"\r\n\r\n")
            return s.recv(200)

    before = list(proxy.refused)
    assert ask(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443").startswith(b"HTTP/1.1 403")
    assert ask(b"CONNECT api.bamboohr.com:80 HTTP/1.1").startswith(b"HTTP/1.1 403")
    assert ask(b"GET http://api.bamboohr.com/ HTTP/1.1").startswith(b"HTTP/1.1 405")
    assert proxy.refused[len(before):] == ["example.com:443", "api.bamboohr.com:80"]
    with pytest.raises(ValueError):
        LoopbackTlsProxy({"api.bamboohr.com": "http://10.1.2.3:80"})
    with pytest.raises(ValueError):
        LoopbackTlsProxy({"api.bamboohr.com": "https://127.0.0.1:443"})
