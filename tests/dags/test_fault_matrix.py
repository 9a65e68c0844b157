"""The fault matrix (docs/reliability.md): real sync DAG runs (``dag.test``) against the simulators with
one fault each. Every run ends with exactly the source's records in the sandbox, counted by sync field
(none lost, none twice), or fails loudly with every undelivered record in the dead-letter file, and a
run with ``retry_dead_letters`` then delivers exactly those. The killed worker is in
tests/integration/test_distributed.py (it needs the real scheduler and Celery workers)."""
import json

import pytest
import requests

from tests.leak_scan import assert_no_leaks
from tests.simulators import onelogin as ol
from tests.simulators.base import SimulatorThread, knobs, stats

DAG_ID = "csv_assets_sync"
N = 60
SERIALS = [f"SN{i:04d}" for i in range(N)]
# One chunk (dag.test spends seconds per task), bulk requests of 5 records one at a time: many requests.
ONE_BY_ONE = "chunk_size = 60\nbatch_size = 5\nworkers = 1\nretry_delay = 0\n"
BULK = "^/api/v3/bulk$"


def csv_section(env, extra=""):
    path = env.write("assets.csv", "serial,name\n" + "".join(f"{s},Laptop {s}\n" for s in SERIALS))
    return (f"[csv_assets]\nenable = true\nfilename = {path}\nsync_field = SERIAL\nuse_server_map = no\n"
            'mapping.SERIAL = {"source": "serial"}\nmapping.NAME = {"source": "name"}\n' + extra)


def serials_stored(sandbox, field="SERIAL", data_type="assets"):
    return sorted(r[field] for r in sandbox.state.records(data_type))


def dead_letters(env, run):
    path = env.run_folder(DAG_ID, run) / "dead_letter.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# fault -> (sandbox knobs, [oomnitza] settings, what shows it happened: a stats counter and its least value)
OOMNITZA_FAULTS = {
    "429 storm with Retry-After": (
        {"rate_limit": 2, "rate_window_s": 0.3, "retry_after_s": 0.3}, "", ("rate_limited", 3)),
    "429 storm without Retry-After": (
        {"rate_limit": 2, "rate_window_s": 0.3, "retry_after_s": None}, "", ("rate_limited", 3)),
    "5xx burst": (
        {"fail_next": 6, "fail_status": 503, "fail_retry_after_s": 0, "fail_path": BULK}, "",
        ("injected_failures", 6)),
    "connection resets": (
        {"fail_next": 4, "fail_action": "reset", "fail_path": BULK}, "", ("injected_failures", 4)),
    "read timeouts after the record was stored": (
        {"fail_next": 2, "fail_action": "hang", "hang_s": 2.5, "fail_after_handler": True, "fail_path": BULK},
        "timeout = 1\n", ("injected_failures", 2)),
    "answers lost after the record was stored": (
        {"fail_next": 4, "fail_status": 502, "fail_retry_after_s": 0, "fail_after_handler": True,
         "fail_path": BULK}, "", ("injected_failures", 4)),
    "truncated answer to a bulk upload": (
        {"fail_next": 3, "fail_action": "truncate", "fail_path": BULK}, "", ("injected_failures", 3)),
}


@pytest.mark.parametrize("fault", list(OOMNITZA_FAULTS))
def test_oomnitza_faults_end_with_exactly_the_source_records(sync_env, fault, capfd):
    env = sync_env
    sim_knobs, settings, (counter, least) = OOMNITZA_FAULTS[fault]
    env.write_ini(csv_section(env), oomnitza_extra=ONE_BY_ONE + settings)
    knobs(env.sandbox, **sim_knobs)
    run = env.run(DAG_ID)
    assert run.state == "success"
    assert stats(env.sandbox)[counter] >= least  # the fault happened
    assert serials_stored(env.sandbox) == SERIALS
    report = env.report(DAG_ID, run)
    assert (report["oomnitza_added"], report["dead_letter"], report["rejected_total"]) == (N, 0, 0)
    # the retries' log lines and the run folder hold no secret
    assert_no_leaks(["sandbox-token"], paths=[env.run_folder(DAG_ID, run)], texts={"log": capfd.readouterr().out})


def test_records_oomnitza_refuses_are_dead_letters_and_a_rerun_sends_only_them(sync_env):
    env = sync_env
    env.write_ini(csv_section(env), oomnitza_extra=ONE_BY_ONE)
    refused = SERIALS[5], SERIALS[33], SERIALS[59]
    for serial in refused:
        env.sandbox.state.reject("SERIAL", serial, f"Serial {serial} is on the blocked list")
    run = env.run(DAG_ID)
    assert run.state == "failed"  # max_rejected = 0
    dead = dead_letters(env, run)
    assert sorted(d["record"]["SERIAL"] for d in dead) == sorted(refused)
    assert all(d["stage"] == "oomnitza" and "blocked list" in d["reason"] for d in dead)
    assert serials_stored(env.sandbox) == sorted(set(SERIALS) - set(refused))

    requests.delete(f"{env.sandbox.url}/_sim/reject").raise_for_status()  # fixed in Oomnitza
    posted = stats(env.sandbox)["by_path"].get("/api/v3/bulk", 0)
    rerun = env.run(DAG_ID, retry_dead_letters=run.run_id)
    assert rerun.state == "success"
    assert serials_stored(env.sandbox) == SERIALS
    report = env.report(DAG_ID, rerun)
    assert (report["extracted"], report["pushed"], report["oomnitza_added"]) == (3, 3, 3)
    assert stats(env.sandbox)["by_path"]["/api/v3/bulk"] - posted == 1  # 3 records: one request


def test_oomnitza_down_past_the_retry_budget_fails_loudly_with_every_record_dead_lettered(sync_env, capfd):
    env = sync_env
    env.write_ini(csv_section(env), oomnitza_extra=ONE_BY_ONE + "retries = 1\nchunk_size = 30\n")  # 2 chunks
    knobs(env.sandbox, fail_next=10_000, fail_status=503, fail_retry_after_s=0, fail_path=BULK)
    run = env.run(DAG_ID)
    assert run.state == "failed"
    pushes = [ti for ti in run.get_task_instances() if ti.task_id == "push"]
    assert sorted((ti.state, ti.try_number) for ti in pushes) == [("failed", 2)] * 2  # Airflow retried each
    failures = stats(env.sandbox)["injected_failures"]  # each request 8 times (the hook's budget), in each try
    assert failures % 8 == 0 and failures >= 2 * 2 * 8
    dead = dead_letters(env, run)
    assert sorted(d["record"]["SERIAL"] for d in dead) == SERIALS
    assert {d["stage"] for d in dead} == {"push"}
    out = capfd.readouterr().out
    assert "2 of 2 chunk(s) failed" in out
    assert f"records that did not arrive: file://{env.run_folder(DAG_ID, run) / 'dead_letter.jsonl'}" in out
    assert f"retry_dead_letters = {run.run_id}" in out
    assert "gave up after 8 attempts: 503" in out  # the push task's own error

    requests.post(f"{env.sandbox.url}/_sim/knobs", json={"fail_next": 0}).raise_for_status()  # back up
    rerun = env.run(DAG_ID, retry_dead_letters=run.run_id)
    assert rerun.state == "success"
    assert serials_stored(env.sandbox) == SERIALS
    assert env.report(DAG_ID, rerun)["extracted"] == N


def test_retry_dead_letters_of_an_unknown_run_fails_at_once_with_the_path(sync_env, capfd):
    env = sync_env
    env.write_ini(csv_section(env), oomnitza_extra=ONE_BY_ONE + "retries = 2\n")
    run = env.run(DAG_ID, retry_dead_letters="manual__no-such-run")
    assert run.state == "failed"
    [extract] = [ti for ti in run.get_task_instances() if ti.task_id == "extract"]
    assert (extract.state, extract.try_number) == ("failed", 1)
    assert "retry_dead_letters = 'manual__no-such-run'" in capfd.readouterr().out
    assert serials_stored(env.sandbox) == []


# -- faults of the source --------------------------------------------------------------------------
N_USERS = 90


@pytest.fixture
def onelogin():
    with SimulatorThread(ol.build_app(ol.OneLoginState(users=N_USERS, seed=11))) as sim:
        yield sim


SOURCE_FAULTS = {
    "truncated page": ({"fail_next": 1, "fail_action": "truncate", "fail_path": "^/api/2/users$"}, {}),
    "duplicate records across pages": ({}, {"page_overlap": 4}),
    "token expiry in the middle of a run": ({}, {"expire_tokens_after_pages": 1}),
}


@pytest.mark.parametrize("fault", list(SOURCE_FAULTS))
def test_source_faults_end_with_exactly_the_source_records(sync_env, onelogin, fault, capfd):
    env = sync_env
    sim_knobs, sim_config = SOURCE_FAULTS[fault]
    env.write_ini(
        f"[onelogin]\nenable = true\nurl = {onelogin.url}\nclient_id = {ol.DEFAULT_CLIENT_ID}\n"
        f"client_secret = {ol.DEFAULT_CLIENT_SECRET}\ndefault_role = 25\ndefault_position = Employee\nuse_server_map = false\npage_size = 30\n"
        "max_rejected = 10%\n",  # the simulated directory holds users without a username: not sent
        oomnitza_extra=ONE_BY_ONE)
    if sim_knobs:
        knobs(onelogin, **sim_knobs)
    if sim_config:
        requests.post(f"{onelogin.url}/_sim/config", json=sim_config).raise_for_status()
    run = env.run("onelogin_sync")
    assert run.state == "success"
    named = sorted(u["username"] for u in onelogin.state.users if u["username"])
    assert serials_stored(env.sandbox, field="USER", data_type="users") == named
    if sim_knobs:
        assert stats(onelogin)["injected_failures"] == sim_knobs["fail_next"]
    if "page_overlap" in sim_config:
        report = env.report("onelogin_sync", run)
        assert onelogin.state.pages_served == 3  # 90 users in pages of 30; pages 2 and 3 repeat 4 users each
        assert report["extracted"] == N_USERS  # the hook yields a user seen twice once
    if "expire_tokens_after_pages" in sim_config:
        assert onelogin.state.tokens_issued == 2  # refused once, renewed once
    # neither the client secret nor the access tokens obtained at run time in the log or the run folder
    run_time_tokens = list(onelogin.state.tokens)
    assert run_time_tokens
    assert_no_leaks([ol.DEFAULT_CLIENT_SECRET, *run_time_tokens, "sandbox-token"],
                    paths=[env.run_folder("onelogin_sync", run)], texts={"log": capfd.readouterr().out})
