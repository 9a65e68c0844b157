"""Failed runs can be resumed, killed runs are tidied up, and Oomnitza's outcomes are counted per record."""
import json
import time
from collections import Counter

import requests

from airflow_provider_oomnitza.dag_factory import dag_id_for
from tests.dags.resume import clear_failed_tasks_and_resume

DAG_ID = dag_id_for("csv_assets")


def ten_assets(env, **oomnitza):
    path = env.write("ten.csv", "serial,model\n" + "".join(f"SN{i:03d},M{i}\n" for i in range(10)))
    extra = "".join(f"{k} = {v}\n" for k, v in {"chunk_size": 5, "workers": 1, **oomnitza}.items())
    env.write_ini(f"[csv_assets]\nenable = true\nfilename = {path}\nsync_field = SERIAL\nuse_server_map = no\n"
                  'mapping.SERIAL = {"source": "serial"}\nmapping.MODEL = {"source": "model"}\n',
                  oomnitza_extra=extra)


def knobs(env, **values):
    requests.post(f"{env.sandbox.url}/_sim/knobs", json=values).raise_for_status()


def run_info(folder):
    return json.loads((folder / "run.json").read_text())


def test_clearing_the_failed_push_resumes_the_run_and_sends_every_record_once(sync_env):
    env = sync_env
    ten_assets(env)
    # Oomnitza down for the first push task: its 8 attempts get 503 and the task fails (retries = 0).
    knobs(env, fail_next=8, fail_status=503, fail_retry_after_s=0, fail_path="^/api/v3/bulk$")
    run = env.run(DAG_ID)
    assert run.state == "failed"
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert sorted([states[("push", 0)], states[("push", 1)]]) == ["failed", "success"]  # either may go first
    assert states[("report", -1)] == "failed"
    folder = env.run_folder(DAG_ID, run)
    assert (folder / "raw" / "chunk-00000.jsonl").exists() and (folder / "mapped" / "chunk-00000.jsonl").exists()
    portion = run_info(folder)["portion"]
    assert env.sandbox.state.portion(portion)["finalized"] is False  # still open for the resumed pushes
    report = env.report(DAG_ID, run)
    assert (report["mapped"], report["pushed"], report["failed_chunks"]) == (10, 5, 1)

    resumed = clear_failed_tasks_and_resume(DAG_ID, run.run_id)
    assert resumed.state == "success"
    sent = Counter(row["key"]["SERIAL"] for row in env.sandbox.state.run_log(portion))
    assert sent == {f"SN{i:03d}": 1 for i in range(10)}  # every record, each once, into the run's portion
    assert len(env.sandbox.state.records("assets")) == 10
    assert env.sandbox.state.portion(portion)["finalized"] is True
    report = env.report(DAG_ID, resumed)
    assert (report["pushed"], report["oomnitza_added"], report["failed_chunks"]) == (10, 10, 0)
    assert not (folder / "raw").exists() and not (folder / "mapped").exists()  # the run succeeded
    assert run_info(folder)["portion_closed"] is True


def test_the_next_run_closes_portions_killed_runs_left_open_and_removes_old_run_folders(sync_env):
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    from airflow_provider_oomnitza.hooks.oomnitza import OomnitzaHook

    env = sync_env
    ten_assets(env, keep_runs_days=7)
    # A run killed before its report: everything pushed, the portion never finalized, files left behind.
    killed = env.dagbag().dags[DAG_ID].test(mark_success_pattern="report")
    old = env.run_folder(DAG_ID, killed)
    old_portion = run_info(old)["portion"]
    assert (old / "raw").exists() and not env.sandbox.state.portion(old_portion)["finalized"]
    info = run_info(old)
    (old / "run.json").write_text(json.dumps({**info, "started_at": time.time() - 8 * 86400}))
    with create_session() as session:  # and Airflow forgot it (a re-run with the same logical date deletes it)
        session.query(DagRun).filter(DagRun.run_id == killed.run_id).delete()
    # A younger killed run, with one record in its open portion.
    young = old.parent / "manual__young"
    young_portion = "0f4b1c1e-2d3e-4f50-8a6b-7c8d9e0f1a2b"
    (young / "raw").mkdir(parents=True)
    (young / "raw" / "chunk-00000.jsonl").write_text('{"serial": "SN000"}\n')
    (young / "run.json").write_text(json.dumps({**info, "run_id": "manual__young", "portion": young_portion,
                                                "started_at": time.time() - 86400}))
    hook = OomnitzaHook.from_settings({"url": env.sandbox.url, "api_token": "sandbox-token"})
    from airflow_provider_oomnitza.bulk import BulkTarget

    hook.push([{"SERIAL": "SN000"}], BulkTarget("CSV_assets", "assets", ["SERIAL"], young_portion))

    run = env.run(DAG_ID)
    assert run.state == "success"
    assert env.sandbox.state.portion(old_portion)["finalized"] is True
    assert env.sandbox.state.portion(young_portion)["finalized"] is True
    assert not old.exists()  # 8 days old: removed, although Airflow no longer knows its run
    assert young.exists() and run_info(young)["portion_closed"] is True  # 1 day old: kept, portion closed
    assert run_info(young)["closed_by"] == env.run_folder(DAG_ID, run).name


def test_oomnitza_outcomes_are_counted_per_record_when_an_answer_was_lost(sync_env):
    env = sync_env
    ten_assets(env, chunk_size=10, batch_size=10)
    # The bulk post is stored, but its answer is lost: the hook sends it again.
    knobs(env, fail_next=1, fail_status=503, fail_after_handler=True, fail_retry_after_s=0,
          fail_path="^/api/v3/bulk$")
    run = env.run(DAG_ID)
    assert run.state == "success"
    portion = run_info(env.run_folder(DAG_ID, run))["portion"]
    assert len(env.sandbox.state.run_log(portion)) == 20  # each record reached Oomnitza twice
    report = env.report(DAG_ID, run)
    outcomes = {k: report[f"oomnitza_{k}"] for k in ("added", "updated", "unchanged", "skipped", "failed")}
    assert outcomes == {"added": 10, "updated": 0, "unchanged": 0, "skipped": 0, "failed": 0}
    assert sum(outcomes.values()) == report["pushed"] == 10
