"""Source records a run cannot take are skipped one by one, with the reason, never the whole run."""
import json
import os
import stat

DAG_ID = "csv_assets_sync"


def test_a_record_over_max_record_bytes_is_skipped_with_the_reason_and_the_rest_arrive(sync_env):
    env = sync_env
    rows = [f"SN{i:03d},Laptop {i}" for i in range(10)]
    rows[4] = "SN004," + "x" * 3000  # one huge field
    path = env.write("assets.csv", "serial,name\n" + "\n".join(rows) + "\n")
    env.write_ini(f"[csv_assets]\nenable = true\nfilename = {path}\nsync_field = SERIAL\nuse_server_map = no\n"
                  'mapping.SERIAL = {"source": "serial"}\nmapping.NAME = {"source": "name"}\n',
                  oomnitza_extra="max_record_bytes = 2000\n")
    run = env.run(DAG_ID, save_data=True)
    assert run.state == "success"
    assert sorted(r["SERIAL"] for r in env.sandbox.state.records("assets")) == [
        f"SN{i:03d}" for i in range(10) if i != 4]
    report = env.report(DAG_ID, run)
    assert (report["extracted"], report["malformed"], report["pushed"]) == (9, 1, 9)
    folder = env.run_folder(DAG_ID, run)
    [problem] = [json.loads(line)["problem"] for line in (folder / "extract_problems.jsonl").read_text().splitlines()]
    assert problem.startswith("source record 5 is ") and "max_record_bytes = 2000: skipped" in problem
    # every file of the run (raw and mapped records kept by save_data) is the Airflow user's alone
    modes = {oct(stat.S_IMODE(os.stat(p).st_mode)) for p in folder.rglob("*") if p.is_file()}
    assert modes == {"0o600"}
    assert oct(stat.S_IMODE(os.stat(folder).st_mode)) == "0o700"
