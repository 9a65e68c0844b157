"""Property-based fuzzing of the CSV and JSON source readers (hooks/files.py).

Any file content gives records (dicts) or per-row / per-file reports naming the file; no exception.
"""
import hypothesis.strategies as st
from hypothesis import given

from airflow_provider_oomnitza.hooks.files import CsvSourceHook, JsonSourceHook
from tests.fuzz.profile import FUZZ

csv_pieces = st.sampled_from([b",", b'"', b"\n", b"\r\n", b"\r", b"\xff", b"\xef\xbb\xbf", b"\x00", b"a", b"serial",
                              b'"a\nb"', b"x" * 5000, "\u2028".encode(), b'""', b"\xed\xa0\x80"])
json_docs = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"[" * 100_000 + b"]" * 100_000, b'{"a": ' * 50_000 + b"1" + b"}" * 50_000,
                     b'[{"serial": "\\ud800"}]', b"[1, null, \"x\", {}]", b"\xef\xbb\xbf[{}]", b"NaN",
                     b'{"a": 1e999}', b"[" + b"9" * 5000 + b"]", b'[{"a": 1}', b"\xff\xfe[]"]),
)


def read(hook):
    return list(hook.records()), hook.problems


@FUZZ
@given(st.lists(csv_pieces | st.binary(max_size=8), max_size=40).map(b"".join))
def test_any_csv_bytes_give_records_or_reports(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("csv") / "in.csv"
    path.write_bytes(data)
    records, problems = read(CsvSourceHook({"filename": str(path), "directory": ""}, section="csv_assets"))
    assert all(isinstance(r, dict) for r in records)
    assert all(str(path) in p and len(p) < 2000 for p in problems)


@FUZZ
@given(json_docs)
def test_any_json_bytes_give_records_or_reports(tmp_path_factory, data):
    directory = tmp_path_factory.mktemp("json")
    (directory / "in.json").write_bytes(data)
    records, problems = read(JsonSourceHook({"directory": str(directory)}, section="json_assets"))
    assert all(isinstance(r, dict) for r in records)
    assert all("in.json" in p and len(p) < 2000 for p in problems)
