"""The INI reader follows the original connector's parsing rules and keeps line numbers."""
from airflow_provider_oomnitza.config.ini import parse_ini_text


def parse(text):
    return parse_ini_text(text, "config.ini")


def test_section_names_keep_case_and_option_names_are_lower_cased():
    ini = parse("[ldap.Contractors]\nVerify_SSL = false\nmapping.USER = {}\n")
    section = ini.sections["ldap.Contractors"]
    assert list(section.options) == ["verify_ssl", "mapping.user"]
    assert section.options["verify_ssl"].value == "false"
    assert section.options["verify_ssl"].line == 2


def test_colon_and_equals_separators_and_the_first_one_ends_the_name():
    ini = parse("[s]\na: 1\nb = x=y\nc = http://h:80\n")
    opts = ini.sections["s"].options
    assert (opts["a"].value, opts["b"].value, opts["c"].value) == ("1", "x=y", "http://h:80")


def test_no_interpolation_percent_is_kept():
    assert parse("[s]\npassword = 100%sure%(x)s\n").sections["s"].options["password"].value == "100%sure%(x)s"


def test_semicolon_comment_only_after_whitespace_and_only_the_first():
    opts = parse("[s]\na = value ; comment\nb = pa;ss ; not cut\nc = x #not a comment\n").sections["s"].options
    assert opts["a"].value == "value"
    assert opts["b"].value == "pa;ss ; not cut"
    assert opts["c"].value == "x #not a comment"


def test_two_double_quotes_mean_empty():
    assert parse('[s]\na = ""\n').sections["s"].options["a"].value == ""


def test_full_line_comments_and_rem_lines_are_ignored():
    ini = parse("# top\n; also\n[s]\nrem this is ignored\nREM too\nremark = kept\n")
    assert list(ini.sections["s"].options) == ["remark"]


def test_continuation_lines_keep_indentation_and_blank_lines_are_dropped():
    text = "[s]\nrecordfilter:\n    if record:\n\n        return True\n    return False\nnext = 1\n"
    opt = parse(text).sections["s"].options["recordfilter"]
    assert opt.value == "\n    if record:\n        return True\n    return False"
    assert opt.lines == [2, 3, 5, 6]
    assert parse(text).sections["s"].options["next"].value == "1"


def test_repeated_sections_merge_and_the_last_option_wins_with_a_note():
    ini = parse("[s]\na = 1\n[t]\nx = 0\n[s]\na = 2\nb = 3\n")
    section = ini.sections["s"]
    assert {k: v.value for k, v in section.options.items()} == {"a": "2", "b": "3"}
    assert section.notes == [(6, "'a' is set again (first at line 2); the last one wins")]


def test_default_section_is_kept_apart():
    ini = parse("[DEFAULT]\nverify_ssl = false\n[s]\na = 1\n")
    assert ini.defaults.options["verify_ssl"].value == "false"
    assert "DEFAULT" not in ini.sections


def test_bad_lines_are_reported_in_their_own_section_only():
    ini = parse("orphan = 1\n[good]\na = 1\n[bad]\nthis line has no separator\nb = 2\n")
    assert ini.problems == [(1, "a setting appears before the first [section] header")]
    assert ini.sections["good"].problems == []
    assert ini.sections["bad"].problems == [
        (5, "cannot read this line (not 'key = value'): 'this line has no separator'")
    ]
    assert ini.sections["bad"].options["b"].value == "2"


def test_text_after_the_closing_bracket_is_ignored():
    assert "casper" in parse("[casper] trailing words\nenable = true\n").sections
