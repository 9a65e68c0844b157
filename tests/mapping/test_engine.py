"""Mapping records: precedence, converters, filters, custom code, and per-record failures."""
import logging

import pytest

from airflow_provider_oomnitza.config.ini import IniValue
from airflow_provider_oomnitza.config.loader import load_config
from airflow_provider_oomnitza.mapping.code import CONVERTER_ARGS, FILTER_ARGS, CodeError, compile_body
from airflow_provider_oomnitza.mapping.engine import RecordMapper, RecordSkipped
from airflow_provider_oomnitza.mapping.fields import get_field_value


def body(text, first_line=10):
    lines = text.split("\n")
    return IniValue(text, first_line, list(range(first_line, first_line + len(lines))))


def mapper(mappings, settings=None, **kw):
    return RecordMapper(mappings, settings or {}, **kw)


# -- get_field_value ---------------------------------------------------------------------------
@pytest.mark.parametrize("data,path,expected", [
    ({"a": {"b": 1}}, "a.b", 1),
    ({"a": [{"b": 1}, {"b": 2}]}, "a.1.b", 2),
    ({"cpu": {"0": {"model_name": "x"}}}, "cpu.0.model_name", "x"),
    ({"general.serial": "SN1"}, "general.serial", "SN1"),  # dotted key fallback (1.9.2)
    ({"a": [1]}, "a.5", None),  # index error -> None
    ({"a": "text"}, "a.b", None),
    ({}, "a", None),
    (None, "a.b", None),
    ({"a": None}, "a", None),
    ({"a": {"b": 0}}, "a.b", 0),
    ({"a": {"B": 1}}, "a.b", None),  # case-sensitive
])
def test_get_field_value(data, path, expected):
    assert get_field_value(data, path) == expected


def test_default_is_used_for_falsy_data_but_errors_give_none():
    assert get_field_value({}, "a", default="d") == "d"
    assert get_field_value({"a": [1]}, "a.9", default="d") is None


# -- precedence and field steps ------------------------------------------------------------------
def test_source_then_setting_then_hardcoded():
    m = mapper({
        "A": {"source": "a", "setting": "s", "hardcoded": "h"},
        "B": {"source": "", "setting": "s", "hardcoded": "h"},
        "C": {"source": "", "setting": "", "hardcoded": "h"},
        "D": {"hardcoded": []},
        "E": {"source": "missing"},
        "F": {"setting": "nope"},
    }, {"s": "from-setting"})
    assert m.map({"a": "from-source"}) == {
        "A": "from-source", "B": "from-setting", "C": "h", "D": [], "E": None, "F": None,
    }


def test_dotted_sources_and_type_conversion():
    m = mapper({"RAM": {"source": "hardware.total_ram_mb", "type": "int"},
                "ON": {"source": "flags.on", "type": "bool"}})
    assert m.map({"hardware": {"total_ram_mb": "16384"}, "flags": {"on": "yes"}}) == {"RAM": 16384, "ON": True}


def test_a_value_that_does_not_convert_to_its_type_skips_only_that_record():
    m = mapper({"RAM": {"source": "ram", "type": "int"}, "SN": {"source": "sn"}}, sync_fields=["SN"])
    results = [r for _, _, r in m.map_all([{"ram": "8", "sn": "A"}, {"ram": "lots", "sn": "B"}, {"ram": 1, "sn": "C"}])]
    assert results[0] == {"RAM": 8, "SN": "A"} and results[2] == {"RAM": 1, "SN": "C"}
    assert isinstance(results[1], RecordSkipped) and results[1].kind == "error"
    assert m.stats.errors == 1
    assert m.stats.problems == [("record #1 (sn='B')", "RAM: cannot convert 'lots' to int (invalid literal for int() "
                                           "with base 10: 'lots')")]


def test_required_fields_skip_records_with_falsy_values():
    m = mapper({"SN": {"source": "sn", "required": True}, "N": {"source": "n", "required": "true"}})
    assert m.map({"sn": "A", "n": 1}) == {"SN": "A", "N": 1}
    for record in ({"sn": "", "n": 1}, {"sn": "A", "n": 0}, {"n": 1}):
        with pytest.raises(RecordSkipped) as info:
            m.map(record)
        assert info.value.kind == "missing"
    assert m.stats.missing == 3 and m.stats.mapped == 1


def test_builtin_converter_gets_field_record_value_and_params():
    m = mapper({"FIRST": {"source": "name", "converter": "first_from_full"},
                "DOMAIN": {"source": "mail", "converter": "split:on=@|index=1"}})
    assert m.map({"name": "Jane Q Doe", "mail": "jane@example.com"}) == {"FIRST": "Jane", "DOMAIN": "example.com"}


def test_a_converter_that_raises_gives_none_and_is_counted():
    code = compile_body("boom", CONVERTER_ARGS, body("\n    return 1 / 0"), "f")
    m = mapper({"X": {"source": "x", "converter": "boom"}, "SN": {"source": "sn"}},
               custom_converters={"boom": code}, sync_fields=["SN"])
    assert m.map({"x": 1, "sn": "A1"}) == {"X": None, "SN": "A1"}
    assert m.stats.converter_errors == 1
    assert m.stats.problems == [("record (sn='A1')", "X: converter 'boom' raised ZeroDivisionError: division by zero")]


# -- custom converters and filters -------------------------------------------------------------
def test_custom_converter_sees_field_record_value_params_and_helpers():
    code = compile_body("my_conv", CONVERTER_ARGS, body(
        "\n    base = converter(record, 'split_email')"
        "\n    return [field, value, params, get_field_value(record, 'a.b'), cae(record, 'Dept', 'none')]"
    ), "f")
    m = mapper({"OUT": {"source": "mail", "converter": "My_Conv:k=v|flag"}}, custom_converters={"my_conv": code})
    record = {"mail": "jo@x.com", "a": {"b": 2}, "extension_attributes": [{"name": "Dept", "value": "ENG"}]}
    assert m.map(record) == {"OUT": ["mail", "jo@x.com", {"k": "v", "flag": True}, 2, "ENG"]}


def test_custom_converter_shadows_a_builtin_of_the_same_lower_case_name():
    code = compile_body("capitalize", CONVERTER_ARGS, body("\n    return 'custom'"), "f")
    m = mapper({"X": {"source": "x", "converter": "capitalize"}}, custom_converters={"capitalize": code})
    assert m.map({"x": "abc"}) == {"X": "custom"}


def test_converter_without_source_gets_the_field_name_and_none():
    code = compile_body("c", CONVERTER_ARGS, body("\n    return (field, value, record['n'])"), "f")
    m = mapper({"TOTAL": {"converter": "c"}}, custom_converters={"c": code})
    assert m.map({"n": 3}) == {"TOTAL": ("TOTAL", None, 3)}


def test_filter_keeps_truthy_skips_falsy_and_an_exception_only_skips_that_record():
    code = compile_body("the_filter", FILTER_ARGS, body("\n    return record['type'] == 'laptop'"), "f")
    m = mapper({"SN": {"source": "sn"}}, record_filter=code, sync_fields=["SN"])
    out = [r for _, _, r in m.map_all([{"type": "laptop", "sn": 1}, {"type": "phone", "sn": 2}, {"sn": 3},
                                       {"type": "laptop", "sn": 4}])]
    assert out[0] == {"SN": 1} and out[3] == {"SN": 4}
    assert out[1].kind == "filtered" and out[2].kind == "error"
    assert (m.stats.mapped, m.stats.filtered, m.stats.errors) == (2, 1, 1)
    assert m.stats.problems == [("record #2 (sn=3)", "recordfilter raised KeyError: 'type'")]


def test_one_line_filter_and_logger_in_scope(caplog):
    code = compile_body("the_filter", FILTER_ARGS, IniValue("LOG.info('seen'); return True", 4, [4]), "f")
    m = mapper({"A": {"source": "a"}}, record_filter=code, log=logging.getLogger("oomnitza.test"))
    with caplog.at_level(logging.INFO, logger="oomnitza.test"):
        assert m.map({"a": 1}) == {"A": 1}
    assert "seen" in caplog.text


def test_filter_without_return_skips():
    code = compile_body("the_filter", FILTER_ARGS, body("\n    x = 1"), "f")
    with pytest.raises(RecordSkipped):
        mapper({"A": {"source": "a"}}, record_filter=code).map({"a": 1})


def test_each_mapper_gets_its_own_helpers_from_one_compilation():
    code = compile_body("the_filter", FILTER_ARGS, body("\n    LOG.info('x'); return True"), "f")
    m1 = mapper({}, record_filter=code, log=logging.getLogger("a"))
    m2 = mapper({}, record_filter=code, log=logging.getLogger("b"))
    assert m1._filter.__globals__["LOG"].name == "a" and m2._filter.__globals__["LOG"].name == "b"


@pytest.mark.parametrize("text,line,message", [
    ("\n    return (", 11, "Python SyntaxError at line 11: '(' was never closed"),
    ("\n  x = 1\n    return x", 12, "Python IndentationError at line 12: unexpected indent"),
    ("", 10, "the body is empty"),
])
def test_compile_errors_name_the_ini_line(text, line, message):
    with pytest.raises(CodeError) as info:
        compile_body("f", FILTER_ARGS, body(text), "f")
    assert info.value.line == line
    assert message in str(info.value)


def test_non_identifier_converter_name_is_rejected():
    with pytest.raises(CodeError, match="'my-conv' is not a valid Python function name"):
        compile_body("my-conv", CONVERTER_ARGS, body("\n    return 1"), "f")


def test_non_dict_record_is_an_error_for_that_record_only():
    m = mapper({"A": {"source": "a"}})
    with pytest.raises(RecordSkipped, match="expected a record object, got list"):
        m.map([1, 2])
    assert m.map({"a": 1}) == {"A": 1}


# -- end to end from an INI -------------------------------------------------------------------
def test_ini_section_maps_records_like_the_original(tmp_path):
    path = tmp_path / "config.ini"
    path.write_text(
        "[oomnitza]\nurl = https://o.example\napi_token = t\n\n"
        "[zendesk]\nenable = false\nsystem_name = acme\napi_token = t\nusername = a@b.c\n"
        "default_role = 25\ndefault_position = Employee\n"
        'mapping.EMAIL = {"source": "email", "converter": "lower_email"}\n'
        "recordfilter:\n    return not record.get('suspended')\n\n"
        "[converters]\nlower_email:\n    return (value or '').lower()\n"
    )
    config = load_config(path)
    section = config.sections["zendesk"]
    assert section.ok, section.errors
    effective = section.effective_mappings({})
    m = RecordMapper(effective.mappings, section.settings.values(reveal=True), sync_fields=effective.sync_fields,
                     record_filter=section.record_filter, custom_converters=config.converters)
    assert m.map({"name": "Ada Lovelace", "email": "Ada@Example.com", "phone": "555"}) == {
        "USER": "Ada@Example.com", "FIRST_NAME": "Ada", "LAST_NAME": "Lovelace", "EMAIL": "ada@example.com",
        "PHONE": "555", "PERMISSIONS_ID": 25, "POSITION": "Employee",
    }
    with pytest.raises(RecordSkipped) as info:
        m.map({"name": "Bob", "email": "bob@x.com", "suspended": True})
    assert info.value.kind == "filtered"
    with pytest.raises(RecordSkipped) as info:
        m.map({"name": "No Mail"})
    assert info.value.message == "missing required fields: USER"  # EMAIL is not required (connector 2.x)


def test_a_setting_mapping_sends_the_setting_as_written(tmp_path):
    # The original sends the INI text: "SERIAL_NUMBER", not ["SERIAL_NUMBER"]; lists and booleans are the
    # settings whose typed value differs from the text. Numbers stay numbers (default_role 25, documented).
    path = tmp_path / "config.ini"
    path.write_text(
        "[oomnitza]\nurl = https://o.example\napi_token = t\n\n"
        "[csv_assets]\nenable = true\nfilename = a.csv\nsync_field = SERIAL_NUMBER\nverify_ssl = yes\n"
        "vault_keys = \nmapping.SERIAL_NUMBER = serial\n"
        'mapping.SF = {"setting": "sync_field"}\nmapping.TLS = {"setting": "verify_ssl"}\n'
        'mapping.VK = {"setting": "vault_keys"}\nmapping.INS = {"setting": "insert_only"}\n\n'
        "[csv_assets.two]\nenable = true\nfilename = a.csv\nsync_field = SERIAL_NUMBER,BARCODE\n"
        "mapping.SERIAL_NUMBER = serial\nmapping.BARCODE = tag\n"
        'mapping.SF = {"setting": "sync_field", "converter": "split:on=,|index=1"}\n\n'
        "[ldap]\nenable = false\nurl = ldap://x\nusername = anonymous\nbase_dn = dc=x\ndefault_role = 25\n"
        'default_position = E\ngroups_dn = ["cn=a,dc=x", "cn=b,dc=x"]\n'
        'mapping.GROUPS = {"setting": "groups_dn"}\nmapping.ROLE = {"setting": "default_role"}\n'
    )
    config = load_config(path)

    def mapped(name, record):
        section = config.sections[name]
        effective = section.effective_mappings({})
        mapper = RecordMapper(effective.mappings, section.mapping_settings(section.settings.values(reveal=True)),
                              sync_fields=effective.sync_fields)
        return mapper.map(record)

    one = mapped("csv_assets", {"serial": "S1"})
    assert (one["SF"], one["TLS"], one["VK"], one["INS"]) == ("SERIAL_NUMBER", "yes", "", False)
    assert mapped("csv_assets.two", {"serial": "S1", "tag": "T"})["SF"] == "BARCODE"
    ldap = mapped("ldap", {"uid": "ada", "mail": "a@x"})
    assert ldap["GROUPS"] == '["cn=a,dc=x", "cn=b,dc=x"]' and ldap["ROLE"] == 25
