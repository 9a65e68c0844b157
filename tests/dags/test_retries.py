"""In real runs with Airflow task retries on: errors no retry fixes fail at once, 5xx are retried."""
import requests

from airflow_provider_oomnitza.dag_factory import dag_id_for

DAG_ID = dag_id_for("csv_assets")
RETRIES = "retries = 2\nretry_delay = 0\nchunk_size = 5\nworkers = 1\n"  # the later `retries` wins


def section(path):
    return (f"[csv_assets]\nenable = true\nfilename = {path}\nsync_field = SERIAL\nuse_server_map = no\n"
            'mapping.SERIAL = {"source": "serial"}\n')


def tries(run):
    return {(ti.task_id, ti.map_index): (ti.state, ti.try_number) for ti in run.get_task_instances()}


def ten(env):
    return env.write("ten.csv", "serial\n" + "".join(f"SN{i:03d}\n" for i in range(10)))


def test_a_missing_csv_file_is_not_retried(sync_env):
    env = sync_env
    env.write_ini(section(env.tmp / "missing.csv"), oomnitza_extra=RETRIES)
    run = env.run(DAG_ID)
    assert run.state == "failed"
    assert tries(run)[("extract", -1)] == ("failed", 1)


def test_credentials_refused_on_a_push_are_not_retried(sync_env):
    env = sync_env
    env.write_ini(section(ten(env)), oomnitza_extra=RETRIES)
    # One 403: a retry of the task would succeed, so only failing at once leaves the run failed.
    requests.post(f"{env.sandbox.url}/_sim/knobs",
                  json={"fail_next": 1, "fail_status": 403, "fail_path": "^/api/v3/bulk$"}).raise_for_status()
    run = env.run(DAG_ID)
    assert run.state == "failed"
    pushes = sorted(v for (task, _), v in tries(run).items() if task == "push")  # either chunk may go first
    assert pushes == [("failed", 1), ("success", 1)]
    assert len(env.sandbox.state.records("assets")) == 5


def test_5xx_outlasting_the_hook_retries_are_retried_by_airflow(sync_env):
    env = sync_env
    env.write_ini(section(ten(env)), oomnitza_extra=RETRIES)
    # Oomnitza answers 503 to all 8 attempts of the first push task's first request (either chunk's).
    requests.post(f"{env.sandbox.url}/_sim/knobs",
                  json={"fail_next": 8, "fail_status": 503, "fail_retry_after_s": 0,
                        "fail_path": "^/api/v3/bulk$"}).raise_for_status()
    run = env.run(DAG_ID)
    assert run.state == "success"
    pushes = sorted(v for (task, _), v in tries(run).items() if task == "push")  # either chunk may go first
    assert pushes == [("success", 1), ("success", 2)]
    assert env.sandbox.state.stats.injected_failures == 8
    assert len(env.sandbox.state.records("assets")) == 10
