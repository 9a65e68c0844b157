"""[oomnitza] allow_python = false: a file without code; any recordfilter or [converters] body is an error."""
import pytest

from airflow_provider_oomnitza.config.loader import load_config

CODE = ("[converters]\nshout = return value.upper()\n\n"
        "[csv_assets]\nenable = true\nfilename = /x.csv\nsync_field = S\n"
        'mapping.S = {"source": "s", "converter": "shout"}\nrecordfilter:\n    return True\n\n'
        "[csv_assets.plain]\nenable = true\nfilename = /y.csv\nsync_field = S\nmapping.S = {\"source\": \"s\"}\n")


def load(tmp_path, allow):
    path = tmp_path / "config.ini"
    path.write_text(f"[oomnitza]\nurl = https://x.oomnitza.com\napi_token = t\n{allow}\n" + CODE)
    return path, load_config(path)


def errors(config, path):
    return [str(i).replace(str(path), "FILE") for i in config.all_issues() if i.severity == "error"]


@pytest.mark.parametrize("allow", ["", "allow_python = true", "allow_python = yes"])
def test_python_is_allowed_by_default(tmp_path, allow):
    path, config = load(tmp_path, allow)
    assert errors(config, path) == []
    assert config.sections["csv_assets"].record_filter is not None and "shout" in config.converters


def test_allow_python_false_makes_every_body_an_error_naming_file_line_section_and_key(tmp_path):
    path, config = load(tmp_path, "allow_python = false")
    not_allowed = "Python code is not allowed in this file ([oomnitza] allow_python = false)"
    assert [e.split(";")[0] for e in errors(config, path)] == [
        f"FILE:6: [converters] shout: {not_allowed}",
        f"FILE:13: [csv_assets] recordfilter: {not_allowed}",
        "FILE:12: [csv_assets] mapping.S: converter 'shout' in [converters] does not compile (see its error)",
    ]
    assert config.converters == {} and config.sections["csv_assets"].record_filter is None
    assert config.sections["csv_assets.plain"].ok  # a section without code keeps running


def test_an_unreadable_allow_python_is_an_error_and_code_is_refused(tmp_path):
    path, config = load(tmp_path, "allow_python = maybe")
    found = errors(config, path)
    assert "FILE:4: [oomnitza] allow_python: expected true/false, yes/no, on/off or 1/0 (any case), got 'maybe'" in found
    assert any("recordfilter: Python code is not allowed" in e for e in found)
