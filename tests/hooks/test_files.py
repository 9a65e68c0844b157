"""CSV and JSON source hooks: encodings, directories, malformed rows reported with file and line."""
import json
import tracemalloc

import pytest

from airflow_provider_oomnitza.hooks.files import CsvSourceHook, JsonSourceHook


def csv_hook(**settings):
    return CsvSourceHook({"filename": "", "directory": ""} | settings, section="csv_assets")


def test_utf8_with_and_without_bom(tmp_path):
    for name, data in (("bom.csv", "\ufeffserial,name\nA1,Zoë\n"), ("plain.csv", "serial,name\nA1,Zoë\n")):
        path = tmp_path / name
        path.write_text(data, encoding="utf-8")
        assert list(csv_hook(filename=str(path)).records()) == [{"serial": "A1", "name": "Zoë"}]


def test_quoted_cells_with_commas_and_newlines_and_dotted_headers(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text('general.serial,notes\nA1,"line one\nline two, with comma"\nB2,x\n')
    hook = csv_hook(filename=str(path))
    assert list(hook.records()) == [
        {"general.serial": "A1", "notes": "line one\nline two, with comma"},
        {"general.serial": "B2", "notes": "x"},
    ]
    assert hook.problems == []


def test_directory_reads_every_csv_in_name_order(tmp_path):
    (tmp_path / "b.csv").write_text("s\n2\n")
    (tmp_path / "a.csv").write_text("s\n1\n")
    (tmp_path / "c.txt").write_text("s\n3\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d.csv").write_text("s\n4\n")
    assert [r["s"] for r in csv_hook(directory=str(tmp_path)).records()] == ["1", "2"]


def test_malformed_rows_are_reported_with_file_and_line_and_skipped(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"serial,model\nA1,Mac\nB2\nC3,Dell,extra\nD4,\xff\xfeBroken\n\nE5,HP\n")
    hook = csv_hook(filename=str(path))
    assert list(hook.records()) == [{"serial": "A1", "model": "Mac"}, {"serial": "E5", "model": "HP"}]
    assert hook.problems == [
        f"{path}:3: expected 2 cells as in the header, got 1; row skipped",
        f"{path}:4: expected 2 cells as in the header, got 3; row skipped",
        f"{path}:5: not valid UTF-8; row skipped",
    ]


def test_missing_file_or_directory_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"\[csv_assets\] filename: .*nope.csv is not a file"):
        list(csv_hook(filename=str(tmp_path / "nope.csv")).records())
    with pytest.raises(FileNotFoundError, match=r"\[csv_assets\] directory: .* is not a directory"):
        list(csv_hook(directory=str(tmp_path / "nodir")).records())


def test_empty_file_gives_no_records(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert list(csv_hook(filename=str(path)).records()) == []


def test_large_files_stream_in_little_memory(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w") as fh:
        fh.write("serial,model,owner,notes\n")
        for i in range(60_000):
            fh.write(f"SN{i:08d},Model {i % 50},user{i}@example.com,{'x' * 40}\n")
    assert path.stat().st_size > 4_500_000
    tracemalloc.start()
    count = sum(1 for _ in csv_hook(filename=str(path)).records())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 60_000
    assert peak < 1_500_000  # bytes: rows are streamed, not loaded (the file is 3x that)


def test_json_files_hold_a_list_or_one_object(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([{"id": 1}, {"id": 2}, "junk"]))
    (tmp_path / "b.json").write_text(json.dumps({"id": 3}))
    (tmp_path / "c.json").write_text("{not json")
    hook = JsonSourceHook({"directory": str(tmp_path)}, section="json_assets")
    assert [r["id"] for r in hook.records()] == [1, 2, 3]
    assert hook.problems[0] == f"{tmp_path / 'a.json'}: item #2 is not an object; skipped"
    assert hook.problems[1].startswith(f"{tmp_path / 'c.json'}: not a JSON file")


def test_settings_can_come_from_an_airflow_connection(tmp_path, monkeypatch):
    path = tmp_path / "from-conn.csv"
    path.write_text("s\n1\n")
    monkeypatch.setenv("AIRFLOW_CONN_CSV_FILES", json.dumps({"conn_type": "generic", "extra": {"filename": str(path)}}))

    class Hook(CsvSourceHook):
        extra_fields = ("filename",)

    hook = Hook({"filename": "/not/used.csv", "directory": "", "conn_id": "csv_files"}, section="csv_assets")
    assert [r["s"] for r in hook.records()] == ["1"]
    assert Hook(conn_id="csv_files").settings.filename == str(path)


def test_a_json_list_is_streamed_item_by_item(tmp_path, monkeypatch):
    import tracemalloc

    from airflow_provider_oomnitza.hooks import files

    path = tmp_path / "big.json"
    path.write_text(json.dumps([{"serial": f"SN{i:06d}", "model": "MacBook Pro", "n": i} for i in range(60_000)]))
    hook = JsonSourceHook({"directory": str(tmp_path)}, section="json_assets")
    tracemalloc.start()
    count = sum(1 for _ in hook.records())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 60_000 and not hook.problems
    assert peak < path.stat().st_size / 3  # items are decoded as the file is read, not all at once
    # items, numbers and strings cut by the block boundary, at every offset
    monkeypatch.setattr(files, "JSON_BLOCK", 5)
    items = [{"a": [1, {"b": "],"}]}, 12345678, -2.5e3, "x", None, True, {"big": "y" * 40}]
    path.write_text(json.dumps(items, indent=2))
    assert list(files.json_items(path)) == items
    path.write_text(json.dumps(items)[:-1])
    assert [r for r in hook.records()] == [items[0], items[-1]]
    assert hook.problems[-1].startswith(f"{path}: not a JSON file after item #6")
