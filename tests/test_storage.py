"""The run folder's JSON Lines files carry any record a source gives, unchanged."""
from airflow_provider_oomnitza.storage import RunStorage


def test_records_with_lone_surrogates_and_unicode_round_trip(tmp_path):
    storage = RunStorage("dag", "run", base_url=f"file://{tmp_path}")
    records = [{"name": "Zoë 李雷"}, {"name": "bad \ud800 text"}, {"n": [1, None, {"x": "\udfff"}]}]
    assert storage.write_jsonl("raw/chunk-00000.jsonl", records) == 3
    assert list(storage.read_jsonl("raw/chunk-00000.jsonl")) == records


def test_run_files_are_readable_by_the_airflow_user_only(tmp_path):
    import os
    import stat

    storage = RunStorage("dag", "manual__2026-01-01T00:00:00+00:00", base_url=f"file://{tmp_path / 'runs'}")
    storage.write_chunks("raw/chunk", ({"serial": i} for i in range(5)), 2)
    storage.write_jsonl("dead_letter.jsonl", [{"record": {"EMAIL": "ann@example.com"}}])
    storage.write_jsonl("skipped/chunk-00000.jsonl", [])  # an empty file too
    storage.write_json("report.json", {"extracted": 5})
    files = [p for p in (tmp_path / "runs").rglob("*") if p.is_file()]
    folders = [p for p in (tmp_path / "runs").rglob("*") if p.is_dir()]
    assert len(files) == 6 and len(folders) == 4  # dag/, the run, raw/, skipped/
    assert {oct(stat.S_IMODE(os.stat(p).st_mode)) for p in files} == {"0o600"}
    assert {oct(stat.S_IMODE(os.stat(p).st_mode)) for p in folders} == {"0o700"}


def test_a_record_larger_than_the_limit_is_left_out_and_reported(tmp_path):
    storage = RunStorage("dag", "run", base_url=f"file://{tmp_path}")
    records = [{"n": 1}, {"n": 2, "notes": "x" * 5000}, {"n": 3}]
    too_big = []
    counts = storage.write_chunks("raw/chunk", records, 10, max_record_bytes=1000,
                                  oversize=lambda number, size: too_big.append((number, size)))
    assert counts == [2]
    assert list(storage.read_jsonl("raw/chunk-00000.jsonl")) == [{"n": 1}, {"n": 3}]
    assert too_big == [(2, len('{"n": 2, "notes": ""}') + 5000)]
