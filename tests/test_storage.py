"""The run folder's JSON Lines files carry any record a source gives, unchanged."""
from airflow_provider_oomnitza.storage import RunStorage


def test_records_with_lone_surrogates_and_unicode_round_trip(tmp_path):
    storage = RunStorage("dag", "run", base_url=f"file://{tmp_path}")
    records = [{"name": "Zoë 李雷"}, {"name": "bad \ud800 text"}, {"n": [1, None, {"x": "\udfff"}]}]
    assert storage.write_jsonl("raw/chunk-00000.jsonl", records) == 3
    assert list(storage.read_jsonl("raw/chunk-00000.jsonl")) == records
