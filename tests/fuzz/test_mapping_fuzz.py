"""Property-based fuzzing of mappings, converters, record filters and the mapping engine.

Whatever the INI spec text, it is a mapping or a MappingError; whatever a filter body, it
compiles or is a CodeError naming its line; whatever a source record holds (lists where
strings were, nulls, huge strings, lone surrogates, bytes, deep nesting, inf/nan), each
record is mapped or skipped with a reason, and nothing escapes the engine.
"""
import json
import logging

import hypothesis.strategies as st
from pydantic import ValidationError
from hypothesis import given

from airflow_provider_oomnitza.config.ini import IniValue
from airflow_provider_oomnitza.config.settings import CommonSettings
from airflow_provider_oomnitza.mapping.build import build_mappings
from airflow_provider_oomnitza.mapping.code import FILTER_ARGS, CodeError, compile_body
from airflow_provider_oomnitza.mapping.converters import BUILTIN_CONVERTERS, ConverterContext
from airflow_provider_oomnitza.mapping.engine import RecordMapper, RecordSkipped
from airflow_provider_oomnitza.mapping.spec import SPEC_KEYS, TYPES, MappingError, parse_spec
from airflow_provider_oomnitza.sources import SOURCE_TYPES
from tests.fuzz.profile import FUZZ

MAX_MESSAGE = 1000
LOG = logging.getLogger("fuzz")
LOG.disabled = True

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30), st.binary(max_size=10),
    st.sampled_from(["", " ", "a b", "x@y", "2016-01-01", "2016-01-01T10:00:00Z", "2016-01-01 10:00:00",
                     "1e999", "-1", "9" * 5000, "\ud800", "\udfff x", "true", "NaN", "x" * 100_000,
                     "130000000000000000", "0x1f"]),
)
json_like = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                          st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                         max_leaves=12)
KEYS = ["serial", "name", "general", "list", "0", "a.b", "extension_attributes", "sAMAccountName", "email"]
records = st.one_of(
    st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), json_like, max_size=8),
    json_like,  # not even a dict
    st.just({"general": {"serial_number": ["not", "a", "string"]}, "extension_attributes": "oops"}),
    st.just({"serial": _deep} if (_deep := []) is None else {"serial": [[[[[[[[[[[]]]]]]]]]]]}),
)


def _deeply_nested(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


converter_texts = st.builds(
    lambda name, params: name + (":" + "|".join(params) if params else ""),
    st.sampled_from(sorted(BUILTIN_CONVERTERS)),
    st.lists(st.sampled_from(["on=,", "index=1", "index=-99", "index=x", "index=" + "9" * 5000, "unit=ms",
                              "unit=h", "attr=a", "default=d", "values='a',serial", "fields=name,serial",
                              "field=location_id", "label=name", "a=b", "flag", ""]), max_size=3),
)
specs = st.fixed_dictionaries({}, optional={
    "source": st.sampled_from(KEYS + ["general.serial_number", "list.0", "a.b.c.d.0.x", ""]),
    "converter": converter_texts,
    "type": st.sampled_from(TYPES),
    "required": st.booleans(),
    "hardcoded": json_like,
})


def context():
    def no_network(url, params):
        raise ConnectionError("no network in fuzz tests")

    return ConverterContext(log=LOG, http_get=no_network, locations=lambda: [{"name": "HQ", "location_id": 1}])


def assert_all_mapped_or_skipped(mapper, batch):
    results = list(mapper.map_all(batch))
    assert len(results) == len(batch)
    for _, _, result in results:
        if isinstance(result, RecordSkipped):
            assert result.kind in ("filtered", "missing", "error") and result.message
            assert len(result.message) < MAX_MESSAGE
        else:
            assert isinstance(result, dict)
            json.dumps(result, default=str)  # what the map task writes
    stats = mapper.stats
    assert stats.mapped + stats.filtered + stats.missing + stats.errors == len(batch)
    assert all(len(message) < MAX_MESSAGE for _, message in stats.problems)


@FUZZ
@given(st.text(max_size=400) | st.sampled_from(['{"hardcoded": ' + "[" * 5000 + "]" * 5000 + "}",
                                                "{'hardcoded': {1, 2}}", "{'source': b'x'}", "({},)", "NaN",
                                                '{"hardcoded": 1e999}', "{1: 2}", "[" * 300]))
def test_any_spec_text_is_a_mapping_or_a_mapping_error(text):
    try:
        spec = parse_spec(text, [])
    except MappingError as exc:
        assert len(str(exc)) < MAX_MESSAGE
        return
    assert set(spec) <= set(SPEC_KEYS)
    json.dumps(spec.get("hardcoded"), allow_nan=False)  # sent as JSON as it is


@FUZZ
@given(st.dictionaries(st.sampled_from(["source", "setting", "hardcoded", "converter", "required", "type", "x"]),
                       json_like, max_size=6))
def test_any_spec_object_is_a_mapping_or_a_mapping_error(obj):
    try:
        parse_spec(json.dumps(obj, default=repr), [])
    except MappingError:
        pass


@FUZZ
@given(st.dictionaries(st.sampled_from(["SERIAL", "MODEL", "USER", "EMAIL", "X"]), specs, max_size=5),
       st.sampled_from(sorted(SOURCE_TYPES)))
def test_any_mappings_build_for_any_source_type(ini_mappings, type_name):
    source = SOURCE_TYPES[type_name]
    examples = {k: (f.json_schema_extra or {}).get("example", "x")
                for k, f in source.settings.model_fields.items() if f.is_required()}
    values = examples | {"sync_field": "SERIAL"}
    for _ in range(5):
        try:
            settings = source.settings.model_validate(values)
            break
        except ValidationError as exc:
            values |= {str(e["loc"][0]): "x" for e in exc.errors() if e["type"] == "missing"}
    assert isinstance(settings, CommonSettings)
    build_mappings(source, settings, ini_mappings, None)
    build_mappings(source, settings, ini_mappings, {"serial": ["SERIAL", 3, None], "x": "MODEL", "y": {}})


@FUZZ
@given(st.dictionaries(st.sampled_from(["SERIAL", "MODEL", "USER", "EMAIL", "X"]), specs, min_size=1, max_size=5),
       st.lists(records, min_size=1, max_size=6))
def test_any_record_through_any_mapping_is_mapped_or_skipped_with_a_reason(mappings, batch):
    mapper = RecordMapper(mappings, {"default_role": 25}, sync_fields=["SERIAL"], context=context(), log=LOG)
    assert_all_mapped_or_skipped(mapper, batch)


@FUZZ
@given(st.sampled_from(sorted(BUILTIN_CONVERTERS)), json_like, records,
       st.dictionaries(st.sampled_from(["on", "index", "unit", "attr", "default", "values", "fields", "field",
                                        "label", "x"]), st.text(max_size=8) | st.just(True), max_size=3))
def test_any_converter_on_any_value_either_converts_or_leaves_the_field_empty(name, value, record, params):
    fn = BUILTIN_CONVERTERS[name]
    try:
        fn("field", record, value, params, context())
    except Exception:
        pass  # allowed: the engine sets the field to None and reports it (next test)
    mapper = RecordMapper({"F": {"source": "serial", "converter": name}}, {}, context=context(), log=LOG)
    assert_all_mapped_or_skipped(mapper, [{"serial": value}, record])


filter_atoms = st.sampled_from([
    "record", "record.get('serial')", "record['serial']", "record.asset_type", "1", "0", "None", "'x'", "[]",
    "1/0", "int('x')", "len(record)", "record.get('list', [])[5]", "float('inf')", "2**64", "{}",
    "converter(record, 'split', on=',')", "cae(record, 'x')", "get_field_value(record, 'general.serial')",
    "LOG.info('x')", "[record] * 3", "'\\ud800'", "b'x'", "object()",
])
expressions = st.recursive(
    filter_atoms,
    lambda inner: st.one_of(
        st.builds(lambda a, op, b: f"({a} {op} {b})", inner, st.sampled_from(["and", "or", "==", "+", "in", "<"]),
                  inner),
        st.builds(lambda a: f"not {a}", inner),
        st.builds(lambda a, b, c: f"({a} if {b} else {c})", inner, inner, inner),
    ),
    max_leaves=8,
)
bodies = st.one_of(
    expressions.map(lambda e: f"return {e}"),
    expressions.map(lambda e: f"\n    x = {e}\n    if x:\n        return x\n    return not x"),
    st.text(max_size=200),
    st.sampled_from(["return " + "-" * 50_000 + "1", "return " + "(" * 300 + ")" * 300, "return \x00",
                     "\n  return 1\n    return 2", "raise DynamicException('no')", "return record.get(" * 500,
                     "\n    import sys\n    return sys.getrecursionlimit() > 0"]),
)


@FUZZ
@given(bodies, st.lists(records, min_size=1, max_size=4))
def test_any_filter_compiles_or_is_a_code_error_and_runs_per_record(body, batch):
    value = IniValue(body, 20, list(range(20, 20 + body.count("\n") + 1)))
    try:
        code = compile_body("the_filter", FILTER_ARGS, value, "config.ini[s].recordfilter")
    except CodeError as exc:
        assert exc.line is not None and 20 <= exc.line <= 20 + body.count("\n")
        assert len(str(exc)) < MAX_MESSAGE
        return
    mapper = RecordMapper({"SERIAL": {"source": "serial"}}, {}, sync_fields=["SERIAL"], record_filter=code,
                          context=context(), log=LOG)
    assert_all_mapped_or_skipped(mapper, batch)


def test_records_with_deep_nesting_huge_strings_and_surrogates_are_mapped_or_skipped():
    deep = _deeply_nested(50_000)
    batch = [{"serial": deep}, {"serial": "x" * 10_000_000}, {"serial": "\ud800"}, {"serial": b"\xff"},
             {"serial": float("inf")}, {"serial": ["a", "b"]}, None, "text", [1], {"serial": None}]
    mapper = RecordMapper({"SERIAL": {"source": "serial", "type": "int", "required": True},
                           "NAME": {"source": "serial", "type": "str", "converter": "capitalize"}},
                          {}, sync_fields=["SERIAL"], context=context(), log=LOG)
    assert_all_mapped_or_skipped(mapper, batch)
    assert mapper.stats.mapped == 0
