"""Delta sync end to end: real DAG runs from a CSV into the Oomnitza sandbox, run after run."""
import json

import pytest

from airflow_provider_oomnitza.config.loader import load_config
from airflow_provider_oomnitza.delta import period_seconds

DAG = "csv_assets_sync"
ROWS = {"A1": "MacBook", "B2": "ThinkPad", "C3": "XPS"}


def write_csv(env, rows: dict, broken: bool = False):
    text = "serial,model\n" + "".join(f"{serial},{model}\n" for serial, model in rows.items())
    env.write("assets.csv", text + (",no serial\n" if broken else ""))


def section(env, extra="delta_sync = true\n"):
    return (f"[csv_assets]\nenable = true\nfilename = {env.tmp / 'assets.csv'}\nsync_field = SERIAL\n"
            "use_server_map = false\n"
            'mapping.SERIAL = {"source": "serial"}\nmapping.MODEL = {"source": "model"}\n' + extra)


def run(env, **conf) -> dict:
    dag_run = env.run(DAG, **conf)
    assert dag_run.state == "success"
    return env.report(DAG, dag_run)


def counts(report: dict) -> tuple[int, int]:
    return report["pushed"], report["delta_skipped"]


def test_only_new_and_changed_records_are_sent_and_full_sync_sends_all(sync_env):
    env = sync_env
    write_csv(env, ROWS)
    env.write_ini(section(env))
    assert counts(run(env)) == (3, 0)  # no fingerprints yet: everything
    assert counts(run(env)) == (0, 3)  # nothing changed: nothing sent
    write_csv(env, {**ROWS, "B2": "ThinkPad X1", "D4": "Surface"})  # a changed field, a new record
    report = run(env)
    assert counts(report) == (2, 2)
    stored = {r["SERIAL"]: r["MODEL"] for r in env.sandbox.state.records("assets")}
    assert stored == {"A1": "MacBook", "B2": "ThinkPad X1", "C3": "XPS", "D4": "Surface"}
    assert counts(run(env)) == (0, 4)
    assert counts(run(env, full_sync=True)) == (4, 0)  # the Param
    assert counts(run(env)) == (0, 4)


def test_a_failed_run_never_hides_a_change(sync_env):
    env = sync_env
    write_csv(env, ROWS)
    env.write_ini(section(env))
    assert counts(run(env)) == (3, 0)
    # B2 changes, but the run fails (a row without a serial; max_rejected = 0) after B2 was sent
    write_csv(env, {**ROWS, "B2": "ThinkPad X1"}, broken=True)
    failed = env.run(DAG)
    assert failed.state == "failed"
    assert env.report(DAG, failed)["pushed"] == 1
    # B2 goes again: the failed run's fingerprints were not committed
    write_csv(env, {**ROWS, "B2": "ThinkPad X1"})
    assert counts(run(env)) == (1, 2)
    assert counts(run(env)) == (0, 3)


def test_a_record_oomnitza_failed_is_sent_again(sync_env):
    env = sync_env
    env.sandbox.state.reject("SERIAL", "B2", "Model is not in the dropdown list")
    write_csv(env, ROWS)
    env.write_ini(section(env, "delta_sync = true\nmax_rejected = 1\n"))
    assert counts(run(env)) == (3, 0)
    assert counts(run(env)) == (1, 2)  # B2 was refused in Oomnitza's run log: not fingerprinted


def test_records_oomnitza_skipped_are_sent_again(sync_env):
    env = sync_env
    write_csv(env, ROWS)
    env.write_ini(section(env, "delta_sync = true\nupdate_only = true\n"))
    report = run(env)
    assert counts(report) == (3, 0) and report["oomnitza_skipped"] == 3  # update_only: none exists yet
    assert counts(run(env)) == (3, 0)  # so none is fingerprinted


def test_a_partial_run_keeps_the_other_fingerprints(sync_env):
    env = sync_env
    write_csv(env, ROWS)
    env.write_ini(section(env))
    assert counts(run(env)) == (3, 0)
    assert counts(run(env, full_sync=True, record_count=1)) == (1, 0)  # one record read: the others stay known
    assert counts(run(env)) == (0, 3)


def test_off_by_default_and_full_sync_every_is_due(sync_env):
    env = sync_env
    write_csv(env, ROWS)
    env.write_ini(section(env, ""))
    assert counts(run(env)) == (3, 0)
    assert counts(run(env)) == (3, 0)  # delta_sync off: every record, every run
    env.write_ini(section(env), oomnitza_extra="full_sync_every = 1h\n")
    assert counts(run(env)) == (3, 0)
    assert counts(run(env)) == (0, 3)
    folder = env.tmp / "runs" / "_delta" / DAG
    info = json.loads((folder / "committed.json").read_text())
    (folder / "committed.json").write_text(json.dumps({**info, "full_at": info["full_at"] - 3600}))
    assert counts(run(env)) == (3, 0)  # the last full sync is an hour old: everything again
    assert counts(run(env)) == (0, 3)


@pytest.mark.parametrize("value", ["7", "d", "-1d", "0h", "1 week"])
def test_full_sync_every_rejects_other_values(tmp_path, value):
    ini = tmp_path / "config.ini"
    ini.write_text(f"[oomnitza]\nurl = https://x.example.com\napi_token = t\nfull_sync_every = {value}\n")
    [error] = [str(e) for e in load_config(ini).oomnitza.errors]
    assert "full_sync_every" in error and "7d" in error and value in error


def test_full_sync_every_periods():
    assert (period_seconds(""), period_seconds("12h"), period_seconds("7d"), period_seconds("2w")) == (
        None, 43200, 604800, 1209600)
