"""End to end: real DAGs from config.ini, run with dag.test(), from CSV files into the Oomnitza sandbox."""
import json

import requests

ASSETS_CSV = (
    "\ufeffserial,model,owner,purchased,ram_mb\n"
    "C02AAA,MacBook Pro 14,ada@example.com,2024-01-15T09:30:00Z,16384\n"
    "C02BBB,ThinkPad X1,grace@example.com,2023-06-01 12:00:00,32768\n"
    ",No serial,nobody@example.com,,8\n"
    "C02CCC,Dell XPS,\"Linus, T\",2022-03-03,8192\n"
)


def assets_section(env, extra="", max_rejected="1"):
    """The section for ASSETS_CSV, whose row without a serial is skipped (a missing required field):
    ``max_rejected = 1`` accepts that one."""
    csv_path = env.write("assets.csv", ASSETS_CSV)
    return (
        f"[csv_assets]\nenable = true\nfilename = {csv_path}\nsync_field = SERIAL\nuse_server_map = false\n"
        f"max_rejected = {max_rejected}\n"
        'mapping.SERIAL = {"source": "serial"}\n'
        'mapping.MODEL = {"source": "model", "converter": "split:index=0"}\n'
        "mapping.ASSIGNED_TO = owner\n"  # a bare source name, as the original accepted
        'mapping.PURCHASED = {"source": "purchased", "converter": "date_format"}\n'
        'mapping.RAM = {"source": "ram_mb", "type": "int"}\n'
        'mapping.SOURCE = {"hardcoded": "csv"}\n' + extra
    )


def by_serial(sandbox):
    return {r["SERIAL"]: r for r in sandbox.state.records("assets")}


def test_csv_assets_arrive_field_by_field(sync_env):
    env = sync_env
    env.write_ini(assets_section(env, 'mapping.SYNCED_BY = {"setting": "sync_field"}\n'))
    run = env.run("csv_assets_sync")
    assert run.state == "success"
    stored = by_serial(env.sandbox)
    assert set(stored) == {"C02AAA", "C02BBB", "C02CCC"}
    assert {k: v for k, v in stored["C02AAA"].items() if k != "uid"} == {
        "SERIAL": "C02AAA", "MODEL": "MacBook", "ASSIGNED_TO": "ada@example.com",
        "PURCHASED": 1705311000, "RAM": 16384, "SOURCE": "csv", "SYNCED_BY": "SERIAL",  # as written, not a list
    }
    assert stored["C02BBB"]["PURCHASED"] == 1685620800
    assert stored["C02CCC"]["PURCHASED"] == 1646265600 and stored["C02CCC"]["ASSIGNED_TO"] == "Linus, T"
    report = env.report("csv_assets_sync", run)
    assert {k: report[k] for k in ("extracted", "mapped", "missing", "pushed", "oomnitza_added", "dead_letter")} == {
        "extracted": 4, "mapped": 3, "missing": 1, "pushed": 3, "oomnitza_added": 3, "dead_letter": 0,
    }
    folder = env.run_folder("csv_assets_sync", run)
    skipped = [json.loads(line) for line in (folder / "skipped" / "chunk-00000.jsonl").read_text().splitlines()]
    assert skipped[0]["reason"] == "missing required fields: SERIAL" and skipped[0]["record"] == "record #2"
    assert not (folder / "raw").exists()  # save_data off: raw and mapped records are removed


def test_users_and_a_second_run_updates(sync_env):
    env = sync_env
    users = env.write("users.csv", "login,first,last,mail\njdoe,Jane,Doe,jdoe@example.com\n")
    env.write_ini(
        f"[csv_users.staff]\nenable = yes\nfilename = {users}\ndefault_role = 25\ndefault_position = Employee\n"
        'mapping.USER = {"source": "login"}\nmapping.EMAIL = {"source": "mail"}\n'
        'mapping.FIRST_NAME = {"source": "first"}\nmapping.LAST_NAME = {"source": "last"}\n'
    )
    assert env.run("csv_users_staff_sync").state == "success"
    [user] = env.sandbox.state.records("users")
    assert {k: v for k, v in user.items() if k != "uid"} == {
        "USER": "jdoe", "EMAIL": "jdoe@example.com", "FIRST_NAME": "Jane", "LAST_NAME": "Doe",
        "POSITION": "Employee", "PERMISSIONS_ID": 25,
    }
    users.write_text("login,first,last,mail\njdoe,Janet,Doe,jdoe@example.com\n")
    run = env.run("csv_users_staff_sync")
    assert env.sandbox.state.records("users")[0]["FIRST_NAME"] == "Janet"
    assert env.report("csv_users_staff_sync", run)["oomnitza_updated"] == 1


def test_testmode_sends_nothing_and_shows_the_payloads(sync_env):
    env = sync_env
    env.write_ini(assets_section(env))
    run = env.run("csv_assets_sync", testmode=True, save_data=True)
    assert run.state == "success"
    assert env.sandbox.state.records("assets") == []
    assert env.sandbox.state.stats.by_path.get("/api/v3/bulk", 0) == 0
    folder = env.run_folder("csv_assets_sync", run)
    [payload] = [json.loads(line) for line in (folder / "payloads" / "chunk-00000.jsonl").read_text().splitlines()]
    assert payload["connector_name"] == "CSV_assets" and payload["data_type"] == "assets"
    assert payload["sync_field"] == ["SERIAL"] and [r["SERIAL"] for r in payload["records"]] == ["C02AAA", "C02BBB", "C02CCC"]
    assert (folder / "raw" / "chunk-00000.jsonl").exists()  # save_data keeps the raw records
    report = env.report("csv_assets_sync", run)
    assert (report["pushed"], report["would_push"], report["testmode"]) == (0, 3, True)


def test_record_count_limits_the_records_read(sync_env):
    env = sync_env
    env.write_ini(assets_section(env))
    run = env.run("csv_assets_sync", record_count=2)
    assert set(by_serial(env.sandbox)) == {"C02AAA", "C02BBB"}
    assert env.report("csv_assets_sync", run)["extracted"] == 2


def test_a_record_oomnitza_rejects_lands_in_the_dead_letter_file(sync_env):
    env = sync_env
    env.sandbox.state.reject("SERIAL", "C02BBB", "Model 'ThinkPad' is not in the dropdown list")
    env.write_ini(assets_section(env, max_rejected="2"))  # one skipped, one refused: within the limit
    run = env.run("csv_assets_sync")
    assert run.state == "success"
    assert set(by_serial(env.sandbox)) == {"C02AAA", "C02CCC"}
    folder = env.run_folder("csv_assets_sync", run)
    [dead] = [json.loads(line) for line in (folder / "dead_letter.jsonl").read_text().splitlines()]
    assert dead["stage"] == "oomnitza" and dead["record"] == {"SERIAL": "C02BBB"}
    assert "dropdown" in dead["reason"]
    assert env.report("csv_assets_sync", run)["oomnitza_failed"] == 1


def test_429_and_5xx_are_retried_to_success(sync_env):
    env = sync_env
    env.write_ini(assets_section(env), oomnitza_extra="batch_size = 1\nworkers = 1\n")
    knobs = f"{env.sandbox.url}/_sim/knobs"
    # One request per 0.4 s window: back-to-back posts get 429 with Retry-After 0.4 s.
    requests.post(knobs, json={"rate_limit": 1, "rate_window_s": 0.4, "retry_after_s": 0.4}).raise_for_status()
    assert env.run("csv_assets_sync").state == "success"
    assert env.sandbox.state.stats.rate_limited >= 1
    requests.post(knobs, json={"rate_limit": 0, "fail_next": 3, "fail_status": 503,
                               "fail_path": "^/api/v3/bulk$"}).raise_for_status()
    env.write("assets.csv", ASSETS_CSV.replace("MacBook Pro 14", "MacBook Air 13"))
    run = env.run("csv_assets_sync")
    assert run.state == "success"
    assert env.sandbox.state.stats.injected_failures == 3
    assert by_serial(env.sandbox)["C02AAA"]["MODEL"] == "MacBook"
    assert set(by_serial(env.sandbox)) == {"C02AAA", "C02BBB", "C02CCC"}
    assert env.report("csv_assets_sync", run)["oomnitza_unchanged"] == 3


def test_many_chunks_spread_over_mapped_tasks(sync_env):
    env = sync_env
    rows = "".join(f"SN{i:05d},Model {i % 7}\n" for i in range(250))
    path = env.write("many.csv", "serial,model\n" + rows)
    env.write_ini(
        f"[csv_assets]\nenable = true\nfilename = {path}\nsync_field = SERIAL\nuse_server_map = false\n"
        'mapping.SERIAL = {"source": "serial"}\nmapping.MODEL = {"source": "model"}\n',
        oomnitza_extra="chunk_size = 60\nbatch_size = 25\nworkers = 3\n",
    )
    run = env.run("csv_assets_sync")
    assert run.state == "success"
    assert len(env.sandbox.state.records("assets")) == 250
    report = env.report("csv_assets_sync", run)
    assert (report["extracted"], report["pushed"], report["failed_chunks"]) == (250, 250, 0)
    tis = [ti for ti in run.get_task_instances() if ti.task_id == "push"]
    assert sorted(ti.map_index for ti in tis) == [0, 1, 2, 3, 4]


def test_server_side_mappings_are_merged_at_run_time(sync_env):
    env = sync_env
    env.sandbox.state.mappings["CSV_assets"] = {"model": "MODEL", "owner": ["ASSIGNED_TO"]}
    path = env.write("a.csv", "serial,model,owner\nX1,Mac,ada\n")
    env.write_ini(f"[csv_assets]\nenable = true\nfilename = {path}\nsync_field = SERIAL\n"
                  'mapping.SERIAL = {"source": "serial"}\n')
    assert env.run("csv_assets_sync").state == "success"
    [record] = env.sandbox.state.records("assets")
    assert (record["MODEL"], record["ASSIGNED_TO"]) == ("Mac", "ada")


def test_malformed_rows_are_reported_and_the_rest_synced(sync_env):
    env = sync_env
    path = env.write("bad.csv", "serial,model\nA1,Mac\nB2,PC,extra\nC3,Dell\n")
    env.write_ini(f"[csv_assets]\nenable = true\nfilename = {path}\nsync_field = SERIAL\nuse_server_map = no\n"
                  'mapping.SERIAL = {"source": "serial"}\nmapping.MODEL = {"source": "model"}\n')
    run = env.run("csv_assets_sync")
    assert run.state == "success"  # an unreadable row is reported, not counted against max_rejected
    assert set(by_serial(env.sandbox)) == {"A1", "C3"}
    folder = env.run_folder("csv_assets_sync", run)
    problems = [json.loads(line)["problem"] for line in (folder / "extract_problems.jsonl").read_text().splitlines()]
    assert problems == [f"{path}:3: expected 2 cells as in the header, got 3; row skipped"]
    assert env.report("csv_assets_sync", run)["malformed"] == 1


def test_secrets_stay_out_of_xcom_and_rendered_fields(sync_env):
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    env = sync_env
    env.write_ini(assets_section(env))
    run = env.run("csv_assets_sync")
    assert run.state == "success"
    with create_session() as session:
        xcoms = session.query(XComModel).filter(XComModel.run_id == run.run_id).all()
        rendered = session.query(RenderedTaskInstanceFields).filter(
            RenderedTaskInstanceFields.run_id == run.run_id).all()
        stored = json.dumps([x.value for x in xcoms], default=str) + json.dumps(
            [r.rendered_fields for r in rendered], default=str)
    assert len(xcoms) >= 4 and '"extracted": 4' in stored.replace('\\"', '"')
    assert "sandbox-token" not in stored
    folder = env.run_folder("csv_assets_sync", run)
    for path in folder.rglob("*"):
        if path.is_file():
            assert "sandbox-token" not in path.read_text()


def test_the_run_folder_can_be_any_fsspec_url(sync_env, monkeypatch):
    """fsspec's in-memory filesystem, registered with Airflow as providers register s3://, stands in for
    object storage (dag.test runs every task in this process, so they all see it)."""
    import fsspec
    from airflow.sdk.io import attach

    attach("memory", fs=fsspec.filesystem("memory"))
    env = sync_env
    monkeypatch.setenv("OOMNITZA_STORAGE", "memory://oomnitza-test")
    env.write_ini(assets_section(env))
    run = env.run("csv_assets_sync", save_data=True)
    assert run.state == "success"
    assert len(env.sandbox.state.records("assets")) == 3
    fs = fsspec.filesystem("memory")
    from airflow_provider_oomnitza.storage import _safe

    folder = f"/oomnitza-test/csv_assets_sync/{_safe(run.run_id)}"
    report = json.loads(fs.cat(f"{folder}/report.json"))
    assert report["pushed"] == 3
    assert fs.exists(f"{folder}/raw/chunk-00000.jsonl")
    assert not (env.tmp / "runs").exists()


def test_a_failed_push_chunk_fails_the_run_after_the_report_counts_the_rest(sync_env):
    env = sync_env
    rows = "".join(f"SN{i:03d},M\n" for i in range(10))
    path = env.write("ten.csv", "serial,model\n" + rows)
    env.write_ini(f"[csv_assets]\nenable = true\nfilename = {path}\nsync_field = SERIAL\nuse_server_map = no\n"
                  'mapping.SERIAL = {"source": "serial"}\n', oomnitza_extra="chunk_size = 5\nworkers = 1\n")
    # The first bulk post is refused with 403 (not retryable, not a record problem): chunk 0's push fails.
    requests.post(f"{env.sandbox.url}/_sim/knobs",
                  json={"fail_next": 1, "fail_status": 403, "fail_path": "^/api/v3/bulk$"}).raise_for_status()
    run = env.run("csv_assets_sync")
    assert run.state == "failed"
    states = {(ti.task_id, ti.map_index): ti.state for ti in run.get_task_instances()}
    assert sorted(states[("push", i)] for i in (0, 1)) == ["failed", "success"]
    assert states[("report", -1)] == "failed"
    report = env.report("csv_assets_sync", run)
    assert (report["extracted"], report["pushed"], report["failed_chunks"]) == (10, 5, 1)
    assert report["mapped"] == 10  # what the map tasks did counts, although a later task failed
    assert len(env.sandbox.state.records("assets")) == 5
