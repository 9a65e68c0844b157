"""End to end: the DAG processor read one config.ini, a worker has another copy -> the run fails at extract.

``dag.test()`` plays both parts: it parses the dags folder again and stores that DAG (tags and all) in the
metadata database, as the DAG processor does, and runs the tasks of the DAG object it is called on, as a
worker runs its own parse. So the worker's DAG is parsed from ``worker.ini`` and then ``OOMNITZA_INI`` is
pointed at the DAG processor's copy, which maps one field differently.
"""
from airflow_provider_oomnitza.config.fingerprint import fingerprint_of_tags
from tests.dags.test_csv_sync import assets_section


def test_a_worker_with_another_config_ini_fails_the_run_at_extract(sync_env, monkeypatch, capsys):
    env = sync_env
    worker_ini = env.write_ini(assets_section(env)).rename(env.tmp / "worker.ini")
    monkeypatch.setenv("OOMNITZA_INI", str(worker_ini))
    worker_dag = env.dagbag().dags["csv_assets_sync"]  # its operators read worker.ini
    env.write_ini(assets_section(env).replace('{"hardcoded": "csv"}', '{"hardcoded": "processor"}'))
    monkeypatch.setenv("OOMNITZA_INI", str(env.ini))
    processor_fp = fingerprint_of_tags(env.dagbag().dags["csv_assets_sync"].tags)
    worker_fp = fingerprint_of_tags(worker_dag.tags)
    assert processor_fp and worker_fp and processor_fp != worker_fp

    run = worker_dag.test()

    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["extract"] == "failed" and states["map"] == "upstream_failed"
    assert env.sandbox.state.records("assets") == []
    task_log = capsys.readouterr().out  # dag.test() writes the tasks' logs there
    message = next(line for line in task_log.splitlines() if "SectionConfigError" in line and "differs" in line)
    assert f"{worker_ini} on " in message and "section [csv_assets]" in message
    assert f"fingerprint here {worker_fp}, in the DAG {processor_fp}" in message
    assert "docs/deployment.md" in message and "wait for the DAG processor to re-parse, then start a new run" in message
