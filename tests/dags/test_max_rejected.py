"""A run whose records Oomnitza refuses, or that skips records for errors, fails beyond max_rejected."""
import json

import pytest

from airflow_provider_oomnitza.config.settings import max_rejected_allows, max_rejected_problem
from airflow_provider_oomnitza.dag_factory import dag_id_for

DAG_ID = dag_id_for("csv_assets")


def assets(env, rows=260, no_serial=0, storage=0, section_extra="", oomnitza_extra=""):
    """``rows`` assets; the first ``no_serial`` have no serial (skipped: missing required field), the
    next ``storage`` are in storage (left out by the recordfilter)."""
    lines = []
    for i in range(rows):
        serial = "" if i < no_serial else f"SN{i:04d}"
        location = "Storage" if no_serial <= i < no_serial + storage else "HQ"
        lines.append(f"{serial},Model {i % 5},{location}\n")
    path = env.write("assets.csv", "serial,model,location\n" + "".join(lines))
    env.write_ini(
        f"[csv_assets]\nenable = true\nfilename = {path}\nsync_field = SERIAL\nuse_server_map = no\n{section_extra}"
        'mapping.SERIAL = {"source": "serial"}\nmapping.MODEL = {"source": "model"}\n'
        'mapping.SOURCE = {"hardcoded": "csv"}\n'
        'recordfilter:\n    return record["location"] != "Storage"\n',
        oomnitza_extra=oomnitza_extra,
    )


def states(run):
    return {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}


def test_a_run_whose_records_oomnitza_all_refused_fails_with_counts_and_paths(sync_env, capfd):
    env = sync_env
    assets(env)
    env.sandbox.state.reject("SOURCE", "csv", "Source 'csv' is not in the dropdown list")
    run = env.run(DAG_ID)
    assert run.state == "failed"
    assert states(run)[("push", 0)] == "success" and states(run)[("report", -1)] == "failed"
    report = env.report(DAG_ID, run)  # written before the run failed
    assert (report["pushed"], report["oomnitza_failed"], report["rejected_total"], report["rejected_allowed"]) == (
        260, 260, 260, 0)
    folder = env.run_folder(DAG_ID, run)
    dead = (folder / "dead_letter.jsonl").read_text().splitlines()
    assert len(dead) == 260 and "dropdown" in json.loads(dead[0])["reason"]
    out = capfd.readouterr().out
    assert "[csv_assets] 260 of 260 records were rejected, more than max_rejected = 0 allows (0;" in out
    assert "refused by Oomnitza 260 (0 on upload, 260 in its run log)" in out
    assert f"refused records: file://{folder / 'dead_letter.jsonl'}" in out


def test_a_percentage_within_the_limit_succeeds(sync_env):
    env = sync_env
    assets(env, oomnitza_extra="max_rejected = 5%\n")
    for i in range(13):  # 5% of 260
        env.sandbox.state.reject("SERIAL", f"SN{i:04d}", "Model not in the dropdown list")
    run = env.run(DAG_ID)
    assert run.state == "success"
    report = env.report(DAG_ID, run)
    assert (report["oomnitza_failed"], report["rejected_allowed"], report["oomnitza_added"]) == (13, 13, 247)


def test_a_section_limit_overrides_oomnitza_and_skipped_records_count_but_filtered_ones_do_not(sync_env, capfd):
    env = sync_env
    assets(env, no_serial=10, storage=20, section_extra="max_rejected = 5%\n",
           oomnitza_extra="max_rejected = 100\n")
    for i in range(30, 34):
        env.sandbox.state.reject("SERIAL", f"SN{i:04d}", "Model not in the dropdown list")
    run = env.run(DAG_ID)
    assert run.state == "failed"  # 10 skipped + 4 refused = 14 > 13 (5% of 260); the 20 filtered do not count
    report = env.report(DAG_ID, run)
    assert (report["missing"], report["filtered"], report["oomnitza_failed"]) == (10, 20, 4)
    assert (report["rejected_total"], report["rejected_allowed"]) == (14, 13)
    out = capfd.readouterr().out
    assert "14 of 260 records were rejected, more than max_rejected = 5% allows (13;" in out
    assert "[csv_assets] max_rejected)" in out and "skipped records: file://" in out


@pytest.mark.parametrize("value,records,allowed", [
    ("0", 260, 0), ("12", 260, 12), ("5%", 260, 13), ("5%", 259, 12), ("0.5%", 2000, 10), ("100%", 7, 7),
    (" 3 ", 1, 3),
])
def test_max_rejected_counts_and_percentages(value, records, allowed):
    assert max_rejected_allows(value, records) == allowed


@pytest.mark.parametrize("value", ["-1", "five", "5 %%", "101%", "%", "1.5"])
def test_max_rejected_rejects_other_values(value):
    assert max_rejected_problem(value).startswith("expected a whole number of records (0 or more) or a percentage")


def test_validate_names_a_bad_max_rejected_with_its_line(tmp_path):
    from airflow_provider_oomnitza.config.loader import load_config

    ini = tmp_path / "config.ini"
    ini.write_text("[oomnitza]\nurl = https://x\napi_token = t\nmax_rejected = lots\nkeep_runs_days = -1\n\n"
                   "[csv_assets]\nenable = true\nfilename = a.csv\nsync_field = SERIAL\nmax_rejected = 5 percent\n"
                   'mapping.SERIAL = {"source": "serial"}\n')
    config = load_config(ini)
    found = {(i.section, i.key, i.line) for i in config.all_issues() if i.severity == "error"}
    assert found == {("oomnitza", "max_rejected", 4), ("oomnitza", "keep_runs_days", 5),
                     ("csv_assets", "max_rejected", 11)}
