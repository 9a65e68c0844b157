"""BambooHRHook against the BambooHR simulator, its settings, TLS, and its connection type in Airflow."""
from __future__ import annotations

import base64
import json
import time

import pytest
import requests
from aiohttp import web

from airflow_provider_oomnitza.config.loader import load_config
from airflow_provider_oomnitza.hooks.bamboohr import (
    BambooHRError, BambooHRHook, company_domain, gateway_url, report_value,
)
from airflow_provider_oomnitza.mapping.needs import needs_of
from airflow_provider_oomnitza.sources.bamboohr import SOURCE
from tests.simulators import bamboohr as bhr
from tests.simulators.base import SimulatorThread, knobs, stats, tls_certificates

NOW = 1_790_000_000.0
PREFIX = f"/api/gateway.php/{bhr.DEFAULT_COMPANY}/v1/"
DIRECTORY = PREFIX + "employees/directory"
REPORT = PREFIX + "reports/custom"
OWNER = PREFIX + "employees/0"
DEFAULT_NEEDS = needs_of(SOURCE.default_mappings)  # workEmail, firstName, lastName, mobilePhone, jobTitle
FAST = {"max_wait": 0.05}


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(bhr.build_app(bhr.BambooHRState(employees=400, seed=7, now=NOW))) as s:
        yield s


@pytest.fixture(autouse=True)
def _reset(request):
    if "sim" in request.fixturenames:
        requests.post(request.getfixturevalue("sim").url + "/_sim/reset").raise_for_status()


def settings(sim, **extra):
    return {"url": sim.url, "system_name": bhr.DEFAULT_COMPANY, "api_token": bhr.DEFAULT_API_KEY, **extra}


def sim_config(sim, **values):
    requests.post(sim.url + "/_sim/config", json=values).raise_for_status()


def the_directory(sim):
    """The directory as BambooHR gives it (read directly, as the original connector did)."""
    response = requests.get(sim.url + DIRECTORY, auth=(bhr.DEFAULT_API_KEY, "x"),
                            headers={"Accept": "application/json"})
    response.raise_for_status()
    return response.json()["employees"]


def ids(records):
    return [r["id"] for r in records]


def state_of(sim):
    return sim.state


def active_current(state):
    return [e for e in state.employees if e.status == "Active" and state.is_current(e)]


# ---- the directory ------------------------------------------------------------------------------

def test_every_directory_employee_once_exactly_as_the_api_gives_them(sim):
    records = list(BambooHRHook(settings(sim), section="bamboohr").records())
    expected = the_directory(sim)
    assert records == expected  # the directory's dicts, in its order, nothing added
    assert len(set(ids(records))) == len(records)
    state = state_of(sim)
    members = [str(e.id) for e in state.employees if e.in_directory and state.is_current(e)]
    assert ids(records) == members
    # The data has what makes this mean something: people the directory leaves out, people without e-mail.
    assert len(members) < len(state.employees)
    assert any(r["workEmail"] is None for r in records)
    by_path = stats(sim)["by_path"]
    assert by_path == {DIRECTORY: 2}  # ours and the_directory's: one call each, no report


def test_basic_auth_with_the_key_as_user_and_json_accepted():
    seen = []

    @web.middleware
    async def record_headers(request, handler):
        seen.append((request.headers.get("Authorization"), request.headers.get("Accept")))
        return await handler(request)

    app = bhr.build_app(bhr.BambooHRState(employees=20, seed=1, now=NOW))
    app.middlewares.insert(0, record_headers)
    with SimulatorThread(app) as s:
        assert len(list(BambooHRHook(settings(s)).records())) > 0
    expected = "Basic " + base64.b64encode(f"{bhr.DEFAULT_API_KEY}:x".encode()).decode()
    assert seen == [(expected, "application/json")]


@pytest.mark.parametrize("key,status,detail,hint", [
    ("not-a-key", 401, "Invalid API key", "check api_token"),
    (bhr.DISABLED_API_KEY, 403, "The API key belongs to a disabled user", "the API key's user is disabled"),
])
def test_a_refused_key_fails_at_once_with_bamboohrs_reason(sim, key, status, detail, hint):
    hook = BambooHRHook(settings(sim, api_token=key), section="bamboohr.hr")
    with pytest.raises(BambooHRError) as info:
        list(hook.records())
    assert info.value.status == status
    reason = {401: "Unauthorized", 403: "Forbidden"}[status]
    assert str(info.value).startswith(f"[bamboohr.hr] BambooHR GET employees/directory at {sim.url}/api/gateway.php/"
                                      f"{bhr.DEFAULT_COMPANY}/v1: {status} {reason}: {detail}; {hint}")
    assert key not in str(info.value)
    assert stats(sim)["requests"] == 1  # not retried
    ok, message = hook.test_connection()
    assert not ok and f"{status} {reason}: {detail}" in message


def test_an_unknown_company_is_a_404_naming_system_name(sim):
    with pytest.raises(BambooHRError) as info:
        list(BambooHRHook(settings(sim, system_name="nosuchco"), section="bamboohr").records())
    assert info.value.status == 404
    assert "GET employees/directory (404), then GET employees/0" in str(info.value)
    assert "check system_name (the x of x.bamboohr.com)" in str(info.value)


def test_an_empty_directory_404_is_zero_records():
    with SimulatorThread(bhr.build_app(bhr.BambooHRState(employees=0, seed=1, now=NOW))) as s:
        hook = BambooHRHook(settings(s), section="bamboohr", needs=DEFAULT_NEEDS)
        assert list(hook.records()) == []
        by_path = stats(s)["by_path"]
    assert by_path == {DIRECTORY: 1, OWNER: 1}  # the owner's record says the company exists
    assert hook.problems == []


# ---- fields the directory does not share --------------------------------------------------------

def test_an_org_chart_directory_gets_the_mapped_fields_from_one_custom_report(sim):
    sim_config(sim, directory_sharing="org_chart")
    hook = BambooHRHook(settings(sim), section="bamboohr", needs=DEFAULT_NEEDS)
    records = list(hook.records())
    state = state_of(sim)
    by_id = state.by_id
    members = [e for e in state.employees if e.in_directory and state.is_current(e)]
    assert ids(records) == [str(e.id) for e in members]  # the directory's people, no one else
    for record in records:
        employee = by_id[int(record["id"])]
        assert (record["workEmail"], record["mobilePhone"]) == (employee.work_email, employee.mobile_phone)
        assert (record["firstName"], record["jobTitle"]) == (employee.first, employee.job_title)
        assert "department" not in record  # not mapped, not shared: not asked for
    assert any(r["workEmail"] for r in records) and any(r["workEmail"] is None for r in records)
    assert stats(sim)["by_path"] == {DIRECTORY: 1, REPORT: 1}


def test_whole_records_fill_every_directory_field_the_company_hides(sim):
    sim_config(sim, directory_hidden_fields=["linkedIn", "supervisor"])
    records = list(BambooHRHook(settings(sim)).records())  # no needs: anything may be read
    by_id = state_of(sim).by_id
    with_linkedin = [r for r in records if r["linkedIn"]]
    assert with_linkedin and all(r["linkedIn"] == by_id[int(r["id"])].linkedin for r in records)
    assert any(r["supervisor"] for r in records)
    assert stats(sim)["by_path"][REPORT] == 1


def test_a_key_that_may_not_run_reports_fails_when_mapped_fields_are_missing(sim):
    sim_config(sim, directory_sharing="org_chart")
    hook = BambooHRHook(settings(sim, api_token=bhr.LIMITED_API_KEY), section="bamboohr", needs=DEFAULT_NEEDS)
    with pytest.raises(BambooHRError) as info:
        list(hook.records())
    assert info.value.status == 403
    assert ("POST reports/custom" in str(info.value)
            and "403 Forbidden: You do not have access to run custom reports" in str(info.value))
    assert "the directory does not share mobilePhone, workEmail" in str(info.value)


def test_a_key_that_may_not_run_reports_keeps_the_directory_when_only_whole_records_wanted_more(sim, capfd):
    sim_config(sim, directory_hidden_fields=["linkedIn"])
    records = list(BambooHRHook(settings(sim, api_token=bhr.LIMITED_API_KEY)).records())
    assert len(records) == len(the_directory(sim)) and not any("linkedIn" in r for r in records)
    assert ("403 Forbidden: You do not have access to run custom reports; the directory does not share linkedIn"
            in capfd.readouterr().out)


def test_a_disabled_directory_reads_active_current_employees_from_a_report(sim):
    sim_config(sim, directory_sharing="off")
    hook = BambooHRHook(settings(sim), section="bamboohr", needs=DEFAULT_NEEDS)
    records = list(hook.records())
    state = state_of(sim)
    assert ids(records) == [str(e.id) for e in active_current(state)]
    assert {r["status"] for r in records} == {"Active"}
    record = records[1]
    employee = state.by_id[int(record["id"])]
    assert record == {"id": str(employee.id), "firstName": employee.first, "lastName": employee.last,
                      "jobTitle": employee.job_title, "mobilePhone": employee.mobile_phone,
                      "workEmail": employee.work_email, "status": "Active"}
    assert stats(sim)["by_path"] == {DIRECTORY: 1, REPORT: 1}


def test_include_inactive_reads_every_current_employee_with_its_status(sim):
    hook = BambooHRHook(settings(sim, include_inactive=True), needs=DEFAULT_NEEDS)
    records = list(hook.records())
    state = state_of(sim)
    assert ids(records) == [str(e.id) for e in state.employees if state.is_current(e)]
    assert {r["status"] for r in records} == {"Active", "Inactive"}
    assert DIRECTORY not in stats(sim)["by_path"]


def test_report_values_as_the_directory_would_give_them(sim):
    hook = BambooHRHook(settings(sim, include_inactive=True),
                        needs=needs_of({"A": {"source": "terminationDate"}, "B": {"source": "photoUploaded"}}))
    records = list(hook.records())
    assert {type(r["photoUploaded"]) for r in records} == {bool}
    assert any(r["terminationDate"] for r in records) and any(r["terminationDate"] is None for r in records)
    assert "0000-00-00" not in {r["terminationDate"] for r in records}
    assert report_value("0000-00-00", "date") is None and report_value("", "text") is None
    assert report_value("false", "bool") is False and report_value("true", "bool") is True
    assert report_value("true", "text") == "true"


# ---- throttling and failures --------------------------------------------------------------------

def directory_members(state):
    return [str(e.id) for e in state.employees if e.in_directory and state.is_current(e)]


def test_throttling_mid_run_is_waited_out_as_retry_after_says(sim):
    """One request per 2 s: the directory passes, the custom report right after it gets 429 with
    Retry-After: 2; the hook waits that long (really: the simulator's window is real time) and goes on."""
    sim_config(sim, directory_sharing="org_chart")
    knobs(sim, rate_limit=1, rate_window_s=2, retry_after_s=2)
    waits: list[float] = []

    def sleep(seconds):
        waits.append(seconds)
        time.sleep(seconds)

    records = list(BambooHRHook(settings(sim), needs=DEFAULT_NEEDS, sleep=sleep).records())
    state = state_of(sim)
    assert ids(records) == directory_members(state)
    assert [r["workEmail"] for r in records] == [state.by_id[int(r["id"])].work_email for r in records]
    assert waits == [2.0]  # exactly what Retry-After said, not the client's own backoff
    st = stats(sim)
    assert st["rate_limited"] == 1 and st["by_path"][REPORT] == 2


@pytest.mark.parametrize("status", [429, 503])
def test_both_throttle_statuses_are_waited_out(sim, status):
    """BambooHR answered 503 before 2026-09-16 and 429 since, each with Retry-After (whole seconds)."""
    sim_config(sim, directory_sharing="org_chart")
    knobs(sim, fail_next=2, fail_status=status, fail_path="reports/custom$", fail_retry_after_s=3)
    waits: list[float] = []
    records = list(BambooHRHook(settings(sim), needs=DEFAULT_NEEDS, sleep=waits.append).records())
    assert ids(records) == directory_members(state_of(sim))
    assert waits == [3.0, 3.0]
    assert stats(sim)["by_path"][REPORT] == 3


def test_a_directory_call_failing_once_is_retried(sim):
    knobs(sim, fail_next=1, fail_status=500, fail_path="directory")
    waits: list[float] = []
    records = list(BambooHRHook(settings(sim), sleep=waits.append).records())
    assert records == the_directory(sim)
    assert len(waits) == 1 and stats(sim)["injected_failures"] == 1


def test_throttling_that_persists_fails_with_the_status(sim):
    knobs(sim, fail_next=100, fail_status=503, fail_path="directory", fail_retry_after_s=2)
    waits: list[float] = []
    hook = BambooHRHook(settings(sim), section="bamboohr", max_attempts=3, sleep=waits.append)
    with pytest.raises(BambooHRError, match=r"^\[bamboohr\] BambooHR GET employees/directory at .*: gave up after 3 "
                                            r"attempts: 503 Service Unavailable"):
        list(hook.records())
    assert waits == [2.0, 2.0]


def test_an_answer_that_is_not_json_says_so():
    async def html(request):
        return web.Response(text="<html>login</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/api/gateway.php/{company}/v1/employees/directory", html)
    with SimulatorThread(app) as s:
        with pytest.raises(BambooHRError, match="expected a JSON object, got 'text/html; charset=utf-8'"):
            list(BambooHRHook(settings(s), section="bamboohr").records())


# ---- one employee, the connection test, where settings come from --------------------------------

def test_record_by_id_any_status(sim):
    state = state_of(sim)
    gone = next(e for e in state.employees if e.status == "Inactive" and e.work_email)
    hook = BambooHRHook(settings(sim), needs=DEFAULT_NEEDS)
    assert hook.record_by_id(str(gone.id)) == {
        "id": str(gone.id), "firstName": gone.first, "lastName": gone.last, "jobTitle": gone.job_title,
        "mobilePhone": gone.mobile_phone, "workEmail": gone.work_email}
    assert hook.record_by_id("99999999") is None and hook.record_by_id("jdoe") is None


def test_check_names_the_company_and_the_keys_owner(sim):
    state = state_of(sim)
    owner = state.by_id[state.keys[bhr.DEFAULT_API_KEY].owner]
    ok, message = BambooHRHook(settings(sim)).test_connection()
    assert ok, message
    assert message == (f"Connected to BambooHR company 'simco' at {sim.url}/api/gateway.php with the API key of "
                       f"{owner.first} {owner.last}")
    assert stats(sim)["by_path"] == {OWNER: 1}


def test_through_an_airflow_connection(sim, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_BHR_TEST", json.dumps({
        "conn_type": "bamboohr", "host": sim.url, "login": "SimCo.bamboohr.com", "password": bhr.DEFAULT_API_KEY}))
    hook = BambooHRHook(bamboohr_conn_id="bhr_test")
    ok, message = hook.test_connection()
    assert ok and "company 'SimCo'" in message, message
    # an INI section with conn_id: the connection's values replace the INI's
    hook = BambooHRHook(settings(sim, api_token="stale", conn_id="bhr_test"))
    assert len(list(hook.records())) == len(the_directory(sim))


def test_a_connection_without_company_or_key_says_which(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_BHR_EMPTY", json.dumps({"conn_type": "bamboohr", "password": "k"}))
    ok, message = BambooHRHook(bamboohr_conn_id="bhr_empty").test_connection()
    assert not ok and message.startswith("connection 'bhr_empty' system_name: missing: the company domain")
    monkeypatch.setenv("AIRFLOW_CONN_BHR_EMPTY", json.dumps({"conn_type": "bamboohr", "login": "acme"}))
    ok, message = BambooHRHook(bamboohr_conn_id="bhr_empty").test_connection()
    assert not ok and message.startswith("connection 'bhr_empty' api_token: missing: the BambooHR API key")


@pytest.mark.parametrize("url,expected", [
    ("https://api.bamboohr.com", "https://api.bamboohr.com/api/gateway.php"),
    ("https://api.bamboohr.com/", "https://api.bamboohr.com/api/gateway.php"),
    ("https://api.bamboohr.com/api/gateway.php", "https://api.bamboohr.com/api/gateway.php"),
    ("https://api.bamboohr.com/api/gateway.php/", "https://api.bamboohr.com/api/gateway.php"),
    ("api.bamboohr.com", "https://api.bamboohr.com/api/gateway.php"),
])
def test_the_gateway_url_from_the_host_or_the_originals_url(url, expected):
    assert gateway_url(url) == expected


@pytest.mark.parametrize("name", ["acme", "acme.bamboohr.com", "https://acme.bamboohr.com/", " ACME.BambooHR.com "])
def test_the_company_domain_from_a_name_or_its_url(name):
    assert company_domain(name).lower() == "acme"


# ---- settings ------------------------------------------------------------------------------------

def load(tmp_path, body):
    path = tmp_path / "config.ini"
    path.write_text("[oomnitza]\nurl = https://example.oomnitza.com\napi_token = t\n\n[bamboohr]\nenable = yes\n"
                    "default_role = 25\ndefault_position = Employee\n" + body)
    config = load_config(path)
    return config.sections["bamboohr"], [str(i).replace(str(path), "FILE") for i in config.sections["bamboohr"].issues]


def test_settings_need_company_and_key_unless_a_connection_has_them(tmp_path):
    section, issues = load(tmp_path, "")
    assert issues == ["FILE:5: [bamboohr] system_name: missing required setting (e.g. YOUR BambooHR SYSTEM NAME)",
                      "FILE:5: [bamboohr] api_token: missing required setting (e.g. YOUR BambooHR API TOKEN)"]
    section, issues = load(tmp_path, "conn_id = bamboohr_default\n")
    assert section.ok and issues == []
    section, issues = load(tmp_path, "system_name = acme\napi_token = k\nurl = api.bamboohr.com\n")
    assert issues == ["FILE:11: [bamboohr] url: expected the BambooHR API URL starting with https://, got "
                      "'api.bamboohr.com'"]
    section, issues = load(tmp_path, "system_name = acme\napi_token = k\ninclude_inactive = yes\n")
    assert section.ok and section.settings.include_inactive is True
    assert section.source.hook == "airflow_provider_oomnitza.hooks.bamboohr.BambooHRHook"
    mappings = section.effective_mappings({}).mappings
    assert {k: v.get("source") or v.get("setting") for k, v in mappings.items()} == {
        "USER": "workEmail", "FIRST_NAME": "firstName", "LAST_NAME": "lastName", "EMAIL": "workEmail",
        "PHONE": "mobilePhone", "POSITION": "jobTitle", "PERMISSIONS_ID": "default_role"}


# ---- TLS (the three cases every hook has) ---------------------------------------------------------

@pytest.fixture(scope="module")
def https_sim(tmp_path_factory):
    certs = tls_certificates(tmp_path_factory.mktemp("tls"))
    app = bhr.build_app(bhr.BambooHRState(employees=10, seed=1, now=NOW))
    with SimulatorThread(app, ssl_context=certs.server_context()) as s:
        assert s.url.startswith("https://")
        yield s, certs


def test_tls_an_unknown_ca_is_refused_with_a_clear_message_and_no_retries(https_sim):
    s, _ = https_sim
    s.state.reset()
    waits: list[float] = []
    ok, message = BambooHRHook(settings(s), section="bamboohr", sleep=waits.append).test_connection()
    assert not ok
    assert "TLS certificate is not trusted" in message and "set cacert_file" in message, message
    assert waits == [] and s.state.stats.requests == 0


def test_tls_cacert_file_trusts_the_servers_ca(https_sim):
    s, certs = https_sim
    hook = BambooHRHook(settings(s, cacert_file=certs.ca_file))
    ok, message = hook.test_connection()
    assert ok, message
    assert len(list(hook.records())) > 0


def test_tls_verify_ssl_false_works_with_a_warning(https_sim, capfd):
    s, _ = https_sim
    ok, message = BambooHRHook(settings(s, verify_ssl=False)).test_connection()
    assert ok, message
    assert "verify_ssl = false: the server's TLS certificate is not checked" in capfd.readouterr().out


# ---- the connection type in Airflow ----------------------------------------------------------------

def test_the_connection_form_through_providers_manager():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    hook = manager.hooks["bamboohr"]
    assert hook.hook_class_name == "airflow_provider_oomnitza.hooks.bamboohr.BambooHRHook"
    assert hook.connection_id_attribute_name == "bamboohr_conn_id"
    widgets = {n.split("__")[2]: w for n, w in manager.connection_form_widgets.items()
               if n.startswith("extra__bamboohr__")}
    assert set(widgets) == {"verify_ssl", "cacert_file", "ssl_protocol"}  # the rest are standard fields
    behaviour = manager.field_behaviours["bamboohr"]
    assert behaviour["hidden_fields"] == ["schema", "port", "extra"]
    assert behaviour["relabeling"] == {"host": "BambooHR API URL (empty: https://api.bamboohr.com)",
                                       "login": "Company domain (the x of x.bamboohr.com)", "password": "API key"}


def test_airflow_connections_test_against_the_simulator_over_https(tmp_path):
    from tests.test_provider_info import airflow

    certs = tls_certificates(tmp_path)
    with SimulatorThread(bhr.build_app(bhr.BambooHRState(employees=10, seed=1, now=NOW)),
                         ssl_context=certs.server_context()) as s:
        conn = {"conn_type": "bamboohr", "host": s.url, "login": bhr.DEFAULT_COMPANY,
                "password": bhr.DEFAULT_API_KEY, "extra": {"cacert_file": certs.ca_file}}
        env = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled", "AIRFLOW_CONN_UNDER_TEST": json.dumps(conn)}
        out = airflow("connections", "test", "under_test", home=tmp_path, env=env)
        assert "Connection success!" in out
        assert bhr.DEFAULT_API_KEY not in out
        env["AIRFLOW_CONN_UNDER_TEST"] = json.dumps({**conn, "password": "wrong-key"})
        out = airflow("connections", "test", "under_test", home=tmp_path, env=env, check=False)
        assert "Connection failed!" in out and "401 Unauthorized: Invalid API key; check api_token" in out
        assert s.state.stats.by_path == {OWNER: 2}
