"""Bad input costs only the section (or line) it is in, with file, line, section and key in the message.

Each of these once took every DAG down with a traceback (issue 16): deeply nested JSON in a
mapping, a deeply nested expression in a recordfilter, and one byte that is not UTF-8.
"""
from airflow_provider_oomnitza.config import ini as ini_module
from airflow_provider_oomnitza.config.loader import load_config

OOMNITZA = b"[oomnitza]\nurl = https://example.oomnitza.com\napi_token = t\n\n"
HEALTHY = (b"[csv_assets]\nenable = true\nfilename = /data/assets.csv\nsync_field = SERIAL\n"
           b'mapping.SERIAL = {"source": "serial"}\n\n')


def load(tmp_path, body: bytes):
    path = tmp_path / "config.ini"
    path.write_bytes(OOMNITZA + HEALTHY + body)
    return path, load_config(path)


def errors_of(config, section, path):
    return [str(i).replace(str(path), "FILE") for i in config.sections[section].errors]


def assert_healthy_kept(config):
    assert config.oomnitza.ok
    assert config.sections["csv_assets"].ok and config.sections["csv_assets"].enabled


def test_deeply_nested_json_in_a_mapping_is_that_keys_error(tmp_path):
    deep = b"[" * 100_000 + b"]" * 100_000
    path, config = load(tmp_path, b"[csv_assets.deep]\nenable = true\nfilename = /x.csv\nsync_field = S\n"
                                  b'mapping.S = {"source": "s", "hardcoded": ' + deep + b"}\n")
    assert_healthy_kept(config)
    [error] = errors_of(config, "csv_assets.deep", path)
    assert error.startswith("FILE:15: [csv_assets.deep] mapping.S: expected a JSON object")
    assert len(error) < 300


def test_deeply_nested_json_in_a_json_setting_is_that_keys_error(tmp_path):
    deep = b"[" * 100_000 + b"]" * 100_000
    path, config = load(tmp_path, b"[ldap.deep]\nenable = false\ngroups_dn = " + deep + b"\n")
    assert_healthy_kept(config)
    [error] = [e for e in errors_of(config, "ldap.deep", path) if "groups_dn" in e]
    assert error.startswith("FILE:13: [ldap.deep] groups_dn: expected a JSON list")
    assert len(error) < 300


def test_a_deeply_nested_recordfilter_is_a_python_error_of_that_key(tmp_path):
    for expression in (b"-" * 100_000 + b"1", b"1" + b"+1" * 100_000, b"not " * 50_000 + b"x"):
        path, config = load(tmp_path, b"[csv_assets.deep]\nenable = true\nfilename = /x.csv\nsync_field = S\n"
                                      b'mapping.S = {"source": "s"}\nrecordfilter = return ' + expression + b"\n")
        assert_healthy_kept(config)
        [error] = errors_of(config, "csv_assets.deep", path)
        assert error.startswith("FILE:16: [csv_assets.deep] recordfilter: Python code too deeply nested"), error


def test_a_deeply_nested_converter_is_an_error_of_that_converter_only(tmp_path):
    path, config = load(tmp_path, b"[converters]\nbad = return " + b"-" * 100_000 + b"1\nfine = return value\n")
    assert_healthy_kept(config)
    [error] = [str(i).replace(str(path), "FILE") for i in config.issues if i.severity == "error"]
    assert error.startswith("FILE:12: [converters] bad: Python code too deeply nested")
    assert set(config.converters) == {"fine"}


def test_a_byte_that_is_not_utf8_costs_only_its_section_with_file_line_and_section(tmp_path):
    path, config = load(tmp_path, b"[csv_assets.latin1]\nenable = true\nfilename = /data/caf\xe9.csv\n"
                                  b'sync_field = S\nmapping.S = {"source": "s"}\n')
    assert_healthy_kept(config)
    assert errors_of(config, "csv_assets.latin1", path) == [
        "FILE:13: [csv_assets.latin1]: this line is not UTF-8 text (byte 0xe9 at column 21); save the file as "
        "UTF-8"
    ]


def test_a_bad_byte_in_a_section_header_costs_that_section_only(tmp_path):
    path, config = load(tmp_path, b"[csv_\xffassets]\nenable = true\nfilename = /x.csv\nsync_field = S\n"
                                  b'mapping.S = {"source": "s"}\n')
    assert_healthy_kept(config)
    [name] = [n for n in config.sections if n != "csv_assets"]
    assert any("line is not UTF-8" in e and ":11:" in e for e in errors_of(config, name, path))


def test_a_bad_byte_in_a_comment_is_only_a_warning(tmp_path):
    path, config = load(tmp_path, b"[csv_assets.b]\n# caf\xe9\nenable = true\nfilename = /x.csv\nsync_field = S\n"
                                  b'mapping.S = {"source": "s"}\n')
    assert config.sections["csv_assets.b"].ok
    [warning] = [str(w).replace(str(path), "FILE") for w in config.sections["csv_assets.b"].warnings]
    assert warning.startswith("FILE:12: [csv_assets.b]: this comment line is not UTF-8 text")


def test_a_bad_byte_before_the_first_section_is_a_file_error_that_costs_no_section(tmp_path):
    path = tmp_path / "config.ini"
    path.write_bytes(b"# r\xe9sum\xe9\nx\xff = 1\n" + OOMNITZA + HEALTHY)
    config = load_config(path)
    assert_healthy_kept(config)
    assert [str(i).replace(str(path), "FILE") for i in config.issues] == [
        "FILE:2: this line is not UTF-8 text (byte 0xff at column 2); save the file as UTF-8",
        "FILE:1: this comment line is not UTF-8 text (byte 0xe9 at column 4); save the file as UTF-8",
    ]


def test_lines_are_numbered_as_editors_number_them(tmp_path):
    """Form feeds, vertical tabs and U+2028 are not line ends (str.splitlines thought so); CR, LF and CRLF are."""
    ini = ini_module.parse_ini_bytes(b"[s]\r\na = x\x0cy\x0bz\xe2\x80\xa8w\rb = 2\nc = 3\n", "config.ini")
    opts = ini.sections["s"].options
    assert opts["a"].value == "x\x0cy\x0bz\u2028w"
    assert (opts["b"].line, opts["c"].line) == (3, 4)


def test_a_long_line_without_a_separator_is_read_in_linear_time(tmp_path):
    """The option regex backtracked quadratically on a long line of spaces with no '=' or ':'."""
    ini = ini_module.parse_ini_bytes(b"[s]\na" + b" " * 200_000 + b"b\n", "config.ini")
    [(line, message)] = ini.sections["s"].problems
    assert line == 2 and message.startswith("cannot read this line (not 'key = value')")


def test_a_file_that_cannot_be_read_is_one_clear_error(tmp_path):
    import pytest

    (tmp_path / "config.ini").mkdir()
    with pytest.raises(ValueError, match=r"config.ini: cannot read the config file: Is a directory"):
        ini_module.read_ini(tmp_path / "config.ini")


def test_python_syntax_warnings_are_warnings_of_the_key_with_the_ini_line(tmp_path):
    path, config = load(tmp_path, b"[csv_assets.w]\nenable = true\nfilename = /x.csv\nsync_field = S\n"
                                  b'mapping.S = {"source": "s"}\nrecordfilter:\n    x = 1\n    return "a"("b")\n')
    assert config.sections["csv_assets.w"].ok
    assert [str(w).replace(str(path), "FILE") for w in config.sections["csv_assets.w"].warnings] == [
        "FILE:18: [csv_assets.w] recordfilter: Python SyntaxWarning: 'str' object is not callable; "
        "perhaps you missed a comma?"
    ]
