"""End to end: a [jasper] section's DAG runs, from the Jasper SOAP simulator into the Oomnitza sandbox.

The first run reads every SIM; each later run only the SIMs changed since the last successful run
(kept in the run storage); a run whose push fails, and a test-mode run, leave that time where it was.
"""
import datetime as dt
import json
import time

import pytest

from airflow_provider_oomnitza.hooks.jasper import JasperHook
from tests.dags.test_resume import knobs
from tests.simulators import jasper as js
from tests.simulators.base import SimulatorThread

DAG_ID = "jasper_sync"
N = 120


@pytest.fixture
def jasper():
    # Every SIM last changed more than a day ago: a run's overlap re-reads none of them.
    state = js.JasperState(terminals=N, seed=5, now=time.time() - 86400)
    with SimulatorThread(js.build_app(state)) as sim:
        yield sim


def section(sim):
    return (f"[jasper]\nenable = true\nwsdl_path = {sim.url}/ws/schema/Terminal.wsdl\nusername = {js.DEFAULT_USER}\n"
            f"password = {js.DEFAULT_PASSWORD}\napi_token = {js.DEFAULT_LICENSE_KEY}\nstorage = storage.db\n"
            "sync_field = SERIAL_NUMBER\nuse_server_map = false\n"
            'mapping.SERIAL_NUMBER = {"source": "iccid"}\nmapping.STATUS = {"source": "status"}\n'
            'mapping.RATE_PLAN = {"source": "ratePlan"}\n'
            'mapping.LAST_MODIFIED = {"source": "dateModified", "converter": "date_format"}\n')


def stored(sandbox):
    return {r["SERIAL_NUMBER"]: r for r in sandbox.state.records("assets")}


def committed(env):
    path = env.tmp / "runs" / "_state" / "jasper.json"  # in the run storage (OOMNITZA_STORAGE), not a local file
    return json.loads(path.read_text()).get("value") if path.exists() else None


def test_first_run_reads_everything_later_runs_what_changed_and_failed_runs_do_not_move_on(sync_env, jasper,
                                                                                           monkeypatch):
    # No overlap, so that each run's count is exactly the SIMs changed since the last good run (with the
    # default five minutes, a run also reads again what changed just before the previous one).
    monkeypatch.setattr(JasperHook, "overlap", dt.timedelta(0))
    env, state = sync_env, jasper.state
    env.write_ini(section(jasper))

    first = env.run(DAG_ID)
    assert first.state == "success"
    assets = stored(env.sandbox)
    assert set(assets) == set(state.by_iccid) and len(env.sandbox.state.records("assets")) == N
    some = state.terminals[7]
    assert assets[some.iccid]["STATUS"] == some.status
    assert assets[some.iccid]["LAST_MODIFIED"] == some.modified_ms // 1000
    assert env.report(DAG_ID, first)["extracted"] == N
    after_first = committed(env)
    assert after_first is not None

    changed = [t.iccid for t in state.terminals[10:13]]
    state.touch(changed, status="RETIRED_NAME")
    second = env.run(DAG_ID)
    assert second.state == "success"
    assert env.report(DAG_ID, second)["extracted"] == 3
    assert {i: stored(env.sandbox)[i]["STATUS"] for i in changed} == dict.fromkeys(changed, "RETIRED_NAME")
    after_second = committed(env)
    assert after_second > after_first

    later = [t.iccid for t in state.terminals[40:42]]
    state.touch(later, status="DEACTIVATED_NAME")
    knobs(env, fail_next=1000, fail_status=503, fail_retry_after_s=0, fail_path="^/api/v3/bulk$")
    failed = env.run(DAG_ID)
    assert failed.state == "failed"
    assert env.report(DAG_ID, failed)["extracted"] == 2
    assert committed(env) == after_second  # the failed run's time was staged, never committed
    knobs(env, fail_next=0)

    trial = env.run(DAG_ID, testmode=True)  # sends nothing: reads the same changes, moves nothing on
    assert trial.state == "success" and env.report(DAG_ID, trial)["extracted"] == 2
    assert committed(env) == after_second

    fourth = env.run(DAG_ID)
    assert fourth.state == "success"
    assert env.report(DAG_ID, fourth)["extracted"] == 2  # what the failed run did not deliver
    assert {i: stored(env.sandbox)[i]["STATUS"] for i in later} == dict.fromkeys(later, "DEACTIVATED_NAME")
    assert committed(env) > after_second
    assert len(env.sandbox.state.records("assets")) == N


def test_refused_credentials_fail_the_extract_at_once_naming_the_ini_line(sync_env, jasper, capsys):
    env = sync_env
    env.write_ini(section(jasper).replace(js.DEFAULT_LICENSE_KEY, "not-our-license-key"))
    run = env.run(DAG_ID)
    assert run.state == "failed"
    out = capsys.readouterr().out
    line = env.ini.read_text().splitlines().index("api_token = not-our-license-key") + 1
    assert f"JasperConfigError: {env.ini}:{line}: [jasper] api_token: Control Center refused the API license key" in out
    assert "not-our-license-key" not in out
    assert jasper.state.stats.by_path[js.SERVICE_PATH] == 1  # neither the hook nor Airflow tried again
    assert committed(env) is None and env.sandbox.state.records("assets") == []
