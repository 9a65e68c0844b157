"""End to end: a [bamboohr] section's DAG run with dag.test(), from the BambooHR simulator into the sandbox."""
import pytest
import requests

from tests.simulators import bamboohr as bhr
from tests.simulators.base import SimulatorThread, knobs

NOW = 1_790_000_000.0
DAG_ID = "bamboohr_sync"
DIRECTORY = f"/api/gateway.php/{bhr.DEFAULT_COMPANY}/v1/employees/directory"
REPORT = f"/api/gateway.php/{bhr.DEFAULT_COMPANY}/v1/reports/custom"


@pytest.fixture(scope="module")
def bamboohr():
    with SimulatorThread(bhr.build_app(bhr.BambooHRState(employees=150, seed=11, now=NOW))) as sim:
        yield sim


@pytest.fixture(autouse=True)
def _reset(bamboohr):
    bamboohr.state.reset()


def section(sim, key=bhr.DEFAULT_API_KEY, extra=""):
    return (f"[bamboohr]\nenable = true\nurl = {sim.url}\nsystem_name = {bhr.DEFAULT_COMPANY}\napi_token = {key}\n"
            "default_role = 25\ndefault_position = Employee\nuse_server_map = false\n"
            "max_rejected = 20%\n"  # people without a work e-mail have no USER: skipped, as in the original
            + extra)


def stored(sandbox):
    return {r["USER"]: {k: v for k, v in r.items() if k != "uid"} for r in sandbox.state.records("users")}


def expected_users(state):
    members = [e for e in state.employees if e.in_directory and state.is_current(e)]
    return members, {e.work_email: {
        "USER": e.work_email, "EMAIL": e.work_email, "FIRST_NAME": e.first, "LAST_NAME": e.last,
        "PHONE": e.mobile_phone, "POSITION": e.job_title, "PERMISSIONS_ID": 25,
    } for e in members if e.work_email}


def test_directory_employees_arrive_with_the_default_mappings(sync_env, bamboohr):
    env, state = sync_env, bamboohr.state
    env.write_ini(section(bamboohr))
    run = env.run(DAG_ID)
    assert run.state == "success"
    members, expected = expected_users(state)
    assert stored(env.sandbox) == expected
    # The data has what the check needs to mean something: unicode names, people without phone or e-mail.
    assert any(not v["FIRST_NAME"].isascii() for v in expected.values())
    assert any(v["PHONE"] is None for v in expected.values()) and len(expected) < len(members)
    report = env.report(DAG_ID, run)
    assert {k: report[k] for k in ("extracted", "mapped", "missing", "pushed", "oomnitza_added")} == {
        "extracted": len(members), "mapped": len(expected), "missing": len(members) - len(expected),
        "pushed": len(expected), "oomnitza_added": len(expected)}
    assert state.stats.by_path == {DIRECTORY: 1}


def test_an_org_chart_directory_throttled_mid_run_still_delivers_every_user(sync_env, bamboohr):
    """The company shares only its org chart: work e-mail and mobile phone come from a custom report,
    which is throttled (429, Retry-After: 1) right after the directory call; the run waits and goes on."""
    env, state = sync_env, bamboohr.state
    requests.post(bamboohr.url + "/_sim/config", json={"directory_sharing": "org_chart"}).raise_for_status()
    knobs(bamboohr, rate_limit=1, rate_window_s=1, retry_after_s=1)
    env.write_ini(section(bamboohr))
    run = env.run(DAG_ID)
    assert run.state == "success"
    assert stored(env.sandbox) == expected_users(state)[1]
    assert state.stats.rate_limited >= 1
    assert state.stats.by_path[DIRECTORY] == 1 and state.stats.by_path[REPORT] >= 2


def test_a_refused_key_fails_the_extract_at_once_and_sends_nothing(sync_env, bamboohr, capsys):
    env = sync_env
    env.write_ini(section(bamboohr, key="not-a-valid-key"))
    run = env.run(DAG_ID)
    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["extract"] == "failed"
    out = capsys.readouterr().out
    assert "the source refused the credentials (401)" in out
    assert f"[bamboohr] BambooHR GET employees/directory at {bamboohr.url}/api/gateway.php/simco/v1: 401 " \
           "Unauthorized: Invalid API key; check api_token" in out
    assert "not-a-valid-key" not in out
    assert bamboohr.state.stats.by_path == {DIRECTORY: 1}  # a 401 is not retried
    assert env.sandbox.state.records("users") == []


def test_an_empty_directory_is_a_successful_run_of_nothing(sync_env):
    env = sync_env
    with SimulatorThread(bhr.build_app(bhr.BambooHRState(employees=0, seed=1, now=NOW))) as empty:
        env.write_ini(section(empty))
        run = env.run(DAG_ID)
    assert run.state == "success"
    report = env.report(DAG_ID, run)
    assert (report["extracted"], report["pushed"], report["failed_chunks"]) == (0, 0, 0)
    assert env.sandbox.state.records("users") == []
