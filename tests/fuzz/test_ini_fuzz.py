"""Property-based fuzzing of the INI reader and loader: mutations of a valid config.ini.

A mutated file gives clear errors (file, line, section, key), never a traceback from our
code, and never costs a section whose own text is intact its DAG (see ini_fuzz.py).
"""
import hypothesis.strategies as st
from hypothesis import given

from airflow_provider_oomnitza.config.ini import parse_ini_bytes, parse_ini_text
from airflow_provider_oomnitza.config.loader import load_config
from tests.fuzz.ini_fuzz import BASE_INI, JUNK, apply, check
from tests.fuzz.profile import FUZZ

positions = st.integers(0, 1 << 16)
junk = st.one_of(st.sampled_from(JUNK), st.binary(min_size=1, max_size=16),
                 st.text(max_size=16).map(lambda t: t.encode("utf-8", "surrogatepass")))
mutation = st.one_of(
    st.tuples(st.just("flip"), positions, st.integers(0, 255)),
    st.tuples(st.just("insert"), positions, junk),
    st.tuples(st.just("delete"), positions, st.integers(1, 40)),
    st.tuples(st.just("truncate"), positions),
    st.tuples(st.just("duplicate_line"), positions, positions),
    st.tuples(st.just("swap_lines"), positions, positions),
)


@FUZZ
@given(st.lists(mutation, min_size=1, max_size=5))
def test_a_mutated_ini_gives_clear_errors_and_healthy_sections_keep_their_dags(tmp_path_factory, mutations):
    data = BASE_INI
    for m in mutations:
        data = apply(data, m)
    outcome = check(data, tmp_path_factory.mktemp("ini") / "config.ini")
    assert outcome.traceback is None, outcome.traceback
    assert outcome.contained == [], outcome.contained
    assert outcome.unclear == [], outcome.unclear
    assert outcome.healthy_lost == [], outcome.healthy_lost


def test_the_unmutated_file_is_valid_and_every_healthy_section_gets_its_dag(tmp_path):
    path = tmp_path / "config.ini"
    path.write_bytes(BASE_INI)
    assert [str(i) for i in load_config(path, environ={}).all_issues()] == []
    assert check(BASE_INI, path).ok


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes_parse_without_raising_and_problems_point_at_real_lines(data):
    ini = parse_ini_bytes(data, "config.ini")
    lines = data.count(b"\n") + data.count(b"\r") + 1
    for section in [*ini.sections.values(), *([ini.defaults] if ini.defaults else [])]:
        assert all(1 <= line <= lines for line, _ in section.problems + section.notes)
        assert all(1 <= v.line <= lines for v in section.options.values())
    assert all(1 <= line <= lines for line, _ in ini.problems + ini.notes)


@FUZZ
@given(st.text(max_size=2000))
def test_any_text_parses_and_utf8_text_reads_the_same_as_bytes(text):
    from_text = parse_ini_text(text, "config.ini")
    encoded = text.encode("utf-8", "surrogatepass")
    from_bytes = parse_ini_bytes(encoded, "config.ini")
    if not text.startswith("\ufeff") and not any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        assert {n: {k: v.value for k, v in s.options.items()} for n, s in from_text.sections.items()} == \
               {n: {k: v.value for k, v in s.options.items()} for n, s in from_bytes.sections.items()}


@FUZZ
@given(st.text(max_size=300), st.sampled_from(["recordfilter", "mapping.SERIAL", "sync_field", "schedule",
                                                 "enable", "filename", "retries", "groups_dn"]))
def test_any_value_of_any_key_is_at_worst_that_sections_error(tmp_path_factory, value, key):
    value = value.replace("\r", " ").replace("\n", "\n ")  # one value (continuation lines indented)
    section = "[ldap.x]" if key == "groups_dn" else "[csv_assets.x]"
    data = BASE_INI + f"\n{section}\nenable = true\nfilename = /x.csv\nsync_field = S\n" \
                      f'mapping.S = {{"source": "s"}}\n{key} = {value}\n'.encode("utf-8", "surrogatepass")
    outcome = check(data, tmp_path_factory.mktemp("ini") / "config.ini")
    assert outcome.ok, outcome
