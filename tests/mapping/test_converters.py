"""Tests for the built-in converters (semantics of the original connector 1.81, see the facts file, section 3)."""

from __future__ import annotations

import inspect
import logging
from datetime import date, datetime, timedelta, timezone

import pytest

from airflow_provider_oomnitza.mapping import converters as conv
from airflow_provider_oomnitza.mapping.converters import BUILTIN_CONVERTERS, ConverterContext

LOGGER_NAME = "tests.mapping.converters"


@pytest.fixture
def ctx():
    return ConverterContext(log=logging.getLogger(LOGGER_NAME))


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    return caplog


def run(name, value, ctx, record=None, params=None, field="src"):
    return BUILTIN_CONVERTERS[name](field, {} if record is None else record, value, params or {}, ctx)


def records_at(caplog, level):
    return [r.getMessage() for r in caplog.records if r.name == LOGGER_NAME and r.levelno == level]


# ---------------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------------

def test_registry_has_exactly_the_original_names():
    assert set(BUILTIN_CONVERTERS) == {
        "capitalize", "casper_extension_attribute", "concat", "date_format", "first_field",
        "first_from_full", "last_from_full", "ldap_timestamp", "ldap_user_field", "location",
        "mac_model_from_sn", "memberOf", "split", "split_email", "timestamp",
    }
    assert "memberof" not in BUILTIN_CONVERTERS  # names are case-sensitive


@pytest.mark.parametrize("name", sorted(BUILTIN_CONVERTERS))
def test_every_converter_takes_the_five_arguments(name):
    params = list(inspect.signature(BUILTIN_CONVERTERS[name]).parameters)
    assert params == ["field", "record", "value", "params", "ctx"]


def test_context_defaults():
    ctx = ConverterContext(log=logging.getLogger(LOGGER_NAME))
    assert ctx.locations is None
    assert ctx.mac_model_url == "https://nam.oomnitza.com/"
    assert ctx.http_get is conv._default_http_get
    assert ctx.cleanup_report() == []


# ---------------------------------------------------------------------------------------------
# capitalize
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("mcDonald", "Mcdonald"),
    ("ANN", "Ann"),
    ("ann lee", "Ann lee"),
    ("1abc", "1abc"),
])
def test_capitalize(ctx, value, expected):
    assert run("capitalize", value, ctx) == expected


@pytest.mark.parametrize("value", ["", None, 0, [], {}])
def test_capitalize_falsy_passes_through(ctx, value):
    assert run("capitalize", value, ctx) is value


@pytest.mark.parametrize("value", [5, ["abc"], 1.5])
def test_capitalize_error_returns_value_unchanged(ctx, logs, value):
    assert run("capitalize", value, ctx) is value
    assert len(records_at(logs, logging.DEBUG)) == 1


# ---------------------------------------------------------------------------------------------
# casper_extension_attribute
# ---------------------------------------------------------------------------------------------

CASPER_RECORD = {
    "general": {"name": "mac1"},
    "extension_attributes": [
        {"id": 1, "name": "Owner", "type": "String", "value": "alice"},
        {"id": 2, "name": "Owner", "type": "String", "value": "bob"},
        {"id": 3, "name": "Empty", "type": "String", "value": ""},
        {"id": 4, "name": "owner lower", "type": "String", "value": "carol"},
    ],
}


def test_cae_returns_first_match_and_ignores_value(ctx):
    assert run("casper_extension_attribute", "ignored", ctx, CASPER_RECORD, {"attr": "Owner"}) == "alice"
    assert run("casper_extension_attribute", None, ctx, CASPER_RECORD, {"attr": "Owner"}) == "alice"


def test_cae_match_is_exact_and_case_sensitive(ctx):
    assert run("casper_extension_attribute", "v", ctx, CASPER_RECORD, {"attr": "owner"}) is None
    assert run("casper_extension_attribute", "v", ctx, CASPER_RECORD, {"attr": "Owne"}) is None


def test_cae_empty_value_of_a_match_is_returned_not_default(ctx):
    assert run("casper_extension_attribute", "v", ctx, CASPER_RECORD, {"attr": "Empty", "default": "d"}) == ""


def test_cae_default_string_and_flag(ctx):
    assert run("casper_extension_attribute", "v", ctx, CASPER_RECORD, {"attr": "Nope", "default": "n/a"}) == "n/a"
    assert run("casper_extension_attribute", "v", ctx, CASPER_RECORD, {"attr": "Nope", "default": True}) is True


def test_cae_missing_extension_attributes_gives_default(ctx):
    assert run("casper_extension_attribute", "v", ctx, {"general": {}}, {"attr": "Owner", "default": "x"}) == "x"
    assert run("casper_extension_attribute", "v", ctx, {}, {"attr": "Owner"}) is None


def test_cae_missing_or_flag_attr_gives_default(ctx):
    assert run("casper_extension_attribute", "v", ctx, CASPER_RECORD, {"default": "d"}) == "d"
    assert run("casper_extension_attribute", "v", ctx, CASPER_RECORD, {"attr": True, "default": "d"}) == "d"


def test_cae_does_not_look_at_nested_paths(ctx):
    record = {"computer": {"extension_attributes": [{"name": "Owner", "value": "alice"}]}}
    assert run("casper_extension_attribute", "v", ctx, record, {"attr": "Owner"}) is None


# ---------------------------------------------------------------------------------------------
# concat
# ---------------------------------------------------------------------------------------------

PERSON = {"first": " Ann ", "last": "Lee\n", "num": 5, "none": None, "general": {"name": "nested"}}


@pytest.mark.parametrize("values, expected", [
    ("first,' ',last", "Ann Lee"),
    ('first,"-",last', "Ann-Lee"),
    ("last,first", "LeeAnn"),
    ("'x'", "x"),
    ("''", ""),
    ("'", ""),  # a lone quote starts and ends with the same quote
    ("first,missing,last", "AnnLee"),
    ("first, last", "Ann"),  # pieces are not trimmed: ' last' is not a key
    ("'a\"", ""),  # mismatched quotes: not a literal but a (missing) record key
])
def test_concat(ctx, values, expected):
    assert run("concat", "ignored", ctx, PERSON, {"values": values}) == expected


def test_concat_ignores_incoming_value(ctx):
    assert run("concat", None, ctx, PERSON, {"values": "first"}) == "Ann"
    assert run("concat", "", ctx, PERSON, {"values": "first"}) == "Ann"


def test_concat_uses_top_level_keys_only(ctx):
    assert run("concat", "v", ctx, PERSON, {"values": "general.name"}) == ""
    assert run("concat", "v", ctx, {"general.name": " dotted "}, {"values": "general.name"}) == "dotted"


@pytest.mark.parametrize("params", [
    {},
    {"values": ""},
    {"values": True},  # bare flag
    {"values": "first,"},  # trailing comma: empty piece
    {"values": ",first"},
    {"values": "first,none"},  # None record value
    {"values": "first,num"},  # non-string record value
])
def test_concat_returns_none(ctx, logs, params):
    assert run("concat", "v", ctx, PERSON, params) is None


def test_concat_error_is_logged_at_debug(ctx, logs):
    run("concat", "v", ctx, PERSON, {"values": "first,"})
    assert len(records_at(logs, logging.DEBUG)) == 1


# ---------------------------------------------------------------------------------------------
# date_format
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("2014-10-24T10:26:55.000-0400", 1414160815),  # Jamf style, offset without colon, fraction
    ("2014-10-24T14:26:55.123+0000", 1414160815),
    ("2014-10-24T14:26:55Z", 1414160815),
    ("2014-10-24T16:26:55+02:00", 1414160815),
    ("2014-10-24T14:26:55", 1414160815),  # naive means UTC
    ("2014-10-24T14:26", 1414160760),
    ("1969-12-31T23:59:59.5Z", -1),  # fractions are floored like arrow's timestamp
    ("2014-10-24 14:26:55", 1414160815),  # space: YYYY-MM-DD HH:mm:ss in UTC
    ("2016-01-01 10:00:00.123", 1451642400),  # arrow 0.8 searched the format in the string
    ("on 2016-01-01 10:00:00 (utc)", 1451642400),
    ("2016-01-01", 1451606400),  # [2.1.0] date-only -> midnight UTC
    ("20160101", 1451606400),
    ("1970-01-01", 0),
])
def test_date_format_strings(ctx, value, expected):
    result = run("date_format", value, ctx)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", [
    "garbage",
    "Tuesday",  # contains a T: ISO parse fails
    "2014-10-24T25:00:00",
    "not a date",  # space: format does not match
    "2016-13-01 00:00:00",  # space format matches, invalid month
    "2016-01-01 1:00:00",
    "2016-01-01T10:00:00 +0400",  # T wins over space, not valid ISO
    "at 2016-01-01 10:00:00 UTC",  # contains a T ('UTC'), so ISO is tried and fails
    "2016-13-01",
    "now",  # pendulum.parse would accept this; ISO does not
    "P1D",  # a duration
    "10:00:00",  # a time of day
    "1451606400",  # not an ISO date
    "",
])
def test_date_format_unparseable_strings_unchanged(ctx, value):
    assert run("date_format", value, ctx) == value


@pytest.mark.parametrize("value", [None, 0, 1414160815, 1.5, [], ["2016-01-01"], date(2016, 1, 1), b"2016-01-01"])
def test_date_format_non_strings_unchanged(ctx, value):
    assert run("date_format", value, ctx) is value


def test_date_format_datetimes(ctx):
    assert run("date_format", datetime(2014, 10, 24, 14, 26, 55), ctx) == 1414160815
    assert run("date_format", datetime(2014, 10, 24, 14, 26, 55, 999999), ctx) == 1414160815
    aware = datetime(2014, 10, 24, 10, 26, 55, tzinfo=timezone(timedelta(hours=-4)))
    assert run("date_format", aware, ctx) == 1414160815
    assert type(run("date_format", aware, ctx)) is int


# ---------------------------------------------------------------------------------------------
# first_field
# ---------------------------------------------------------------------------------------------

FF_RECORD = {"a": "", "b": "   ", "c": " third ", "d": "fourth", "n": 5, "nested": {"x": "y"}}


def test_first_field_truthy_value_wins(ctx):
    assert run("first_field", "mine", ctx, FF_RECORD, {"fields": "c"}) == "mine"
    assert run("first_field", 7, ctx, FF_RECORD, {}) == 7


@pytest.mark.parametrize("value", [None, "", 0])
def test_first_field_first_non_empty_stripped(ctx, value):
    assert run("first_field", value, ctx, FF_RECORD, {"fields": "missing,a,b,c,d"}) == "third"


def test_first_field_none_found(ctx):
    assert run("first_field", "", ctx, FF_RECORD, {"fields": "missing,a,b"}) is None
    assert run("first_field", "", ctx, FF_RECORD, {"fields": "nested.x"}) is None  # top-level keys only
    assert run("first_field", "", ctx, FF_RECORD, {"fields": "a,,d"}) == "fourth"  # empty piece is just a missing key


@pytest.mark.parametrize("params", [{}, {"fields": ""}, {"fields": True}])
def test_first_field_missing_fields_param(ctx, params):
    assert run("first_field", None, ctx, FF_RECORD, params) is None


def test_first_field_error_returns_none(ctx, logs):
    # the non-string 'n' aborts the scan, even though 'd' would have matched
    assert run("first_field", None, ctx, FF_RECORD, {"fields": "a,n,d"}) is None
    assert len(records_at(logs, logging.DEBUG)) == 1


# ---------------------------------------------------------------------------------------------
# first_from_full / last_from_full / split_email
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, first, last", [
    ("Ann Lee", "Ann", "Lee"),
    ("Ann Marie Lee", "Ann", "Lee"),
    (" Ann", "", "Ann"),
    ("Ann ", "Ann", ""),
    ("Ann  Lee", "Ann", "Lee"),
    ("Ann\tLee", "Ann\tLee", "Ann\tLee"),  # single spaces only
    ("Madonna", "Madonna", "Madonna"),
])
def test_first_and_last_from_full(ctx, value, first, last):
    assert run("first_from_full", value, ctx) == first
    assert run("last_from_full", value, ctx) == last


@pytest.mark.parametrize("name", ["first_from_full", "last_from_full", "split_email"])
@pytest.mark.parametrize("value", [None, "", 0, []])
def test_simple_splitters_pass_falsy_through(ctx, name, value):
    assert run(name, value, ctx) is value


@pytest.mark.parametrize("name", ["first_from_full", "last_from_full", "split_email"])
def test_simple_splitters_raise_on_non_strings(ctx, name):
    with pytest.raises(AttributeError):
        run(name, 42, ctx)


@pytest.mark.parametrize("value, expected", [
    ("ann.lee@example.com", "ann.lee"),
    ("a@b@c", "a"),
    ("nobody", "nobody"),
    ("@example.com", ""),
])
def test_split_email(ctx, value, expected):
    assert run("split_email", value, ctx) == expected


# ---------------------------------------------------------------------------------------------
# ldap_timestamp
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("0", -11644473600),
    (0, -11644473600),
    ("131000000000000000", 1455526400),
    (131000000000000000, 1455526400),
    ("116444736000000000", 0),  # the Unix epoch in FILETIME
    ("116444736009999999", 0),  # integer division: sub-second ticks are dropped
    ("9999999", -11644473600),
    ("-1", -11644473601),  # floor division
    ("9223372036854775807", 253402300799),  # AD "never" overflows
    (str((253402300798 + 11644473600) * 10**7), 253402300798),
    (str((253402300799 + 11644473600 + 1) * 10**7), 253402300799),  # first overflowing second
    ("-9223372036854775808", 253402300799),  # underflow is an OverflowError too
    (10**30, 253402300799),
    (True, -11644473600),  # int(True) == 1 tick
])
def test_ldap_timestamp(ctx, value, expected):
    result = run("ldap_timestamp", value, ctx)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("value", [None, "", "abc", "1.5e17", [], float("inf"), "12 34"])
def test_ldap_timestamp_int_failure_returns_value(ctx, value):
    assert run("ldap_timestamp", value, ctx) is value


def test_ldap_timestamp_reads_the_ldap_hooks_iso_text(ctx):
    # the LDAP hook turns FILETIMEs into ISO text; configs written for the original still get epoch seconds
    assert run("ldap_timestamp", "2016-02-15T08:53:20Z", ctx) == 1455526400  # FILETIME 131000000000000000
    assert run("ldap_timestamp", "2016-02-15 09:33:20", ctx) == "2016-02-15 09:33:20"


def test_ldap_timestamp_max_constant():
    assert conv.LDAP_TIMESTAMP_MAX == 253402300799
    assert datetime.fromtimestamp(253402300799, timezone.utc) == datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)


# ---------------------------------------------------------------------------------------------
# ldap_user_field
# ---------------------------------------------------------------------------------------------

def test_ldap_user_field(ctx):
    record = {"uid": "", "sAMAccountName": "alee"}
    assert run("ldap_user_field", "ann", ctx, record) == "ann"
    assert run("ldap_user_field", "", ctx, record) == "alee"
    assert run("ldap_user_field", None, ctx, record) == "alee"
    assert run("ldap_user_field", None, ctx, {"uid": None}) is None
    assert run("ldap_user_field", [], ctx, {"sAMAccountName": ""}) == ""


# ---------------------------------------------------------------------------------------------
# location
# ---------------------------------------------------------------------------------------------

LOCATIONS = [
    {"name": "HQ", "location_id": "hq-01", "id": 11, "label": "Head office"},
    {"name": "Remote", "location_id": "remote", "id": 12, "label": "Home"},
    {"name": "", "location_id": "blank-name", "id": 13},
    {"name": "No id", "location_id": None, "id": 14},
    {"name": "Missing id", "id": 15},
    {"name": "Lab", "location_id": "LAB-7", "id": 16},
]


class FakeLocations:
    def __init__(self, result=LOCATIONS, exc=None):
        self.calls = 0
        self.result = result
        self.exc = exc

    def __call__(self):
        self.calls += 1
        if self.exc:
            raise self.exc
        return self.result


@pytest.fixture
def loc_ctx():
    fetch = FakeLocations()
    return ConverterContext(log=logging.getLogger(LOGGER_NAME), locations=fetch), fetch


def test_location_exact_label_match(loc_ctx):
    ctx, fetch = loc_ctx
    assert run("location", "HQ", ctx) == "hq-01"
    assert run("location", "Remote", ctx) == "remote"
    assert fetch.calls == 1  # the map is built once per context
    assert ctx.location_map == {"HQ": "hq-01", "Remote": "remote", "Lab": "LAB-7"}  # empty label or id skipped
    assert ctx.cleanup_report() == []


def test_location_case_insensitive_value_match(loc_ctx):
    ctx, _ = loc_ctx
    assert run("location", "HQ-01", ctx) == "hq-01"
    assert run("location", "REMOTE", ctx) == "remote"
    assert run("location", "remote", ctx) == "remote"
    assert ctx.cleanup_report() == []


def test_location_value_match_compares_the_lowered_value_with_ids_as_stored(loc_ctx):
    ctx, _ = loc_ctx
    assert run("location", "Lab", ctx) == "LAB-7"
    # 'LAB-7'.lower() == 'lab-7' is not an id as stored ('LAB-7'), so the lookup fails
    assert run("location", "LAB-7", ctx) == "LAB-7"
    assert run("location", "lab-7", ctx) == "lab-7"
    assert ctx.location_failures == {"LAB-7": 1, "lab-7": 1}


def test_location_label_match_is_case_sensitive(loc_ctx):
    ctx, _ = loc_ctx
    assert run("location", "hq", ctx) == "hq"  # not a label, and 'hq' is not an id: failed, unchanged
    assert ctx.location_failures == {"hq": 1}


@pytest.mark.parametrize("value", [None, "", 0, []])
def test_location_falsy_gives_none_but_builds_map(loc_ctx, value):
    ctx, fetch = loc_ctx
    assert run("location", value, ctx) is None
    assert fetch.calls == 1
    assert ctx.cleanup_report() == []


def test_location_failed_lookups_report(loc_ctx):
    ctx, _ = loc_ctx
    assert run("location", "Paris", ctx) == "Paris"
    assert run("location", "Berlin", ctx) == "Berlin"
    assert run("location", "Paris", ctx) == "Paris"
    assert run("location", "HQ", ctx) == "hq-01"
    assert ctx.cleanup_report() == [
        "Could not lookup Location values for the following values: ['Paris', 'Berlin']",
        "3 Location lookups failed for 2 distinct values (value: count): 'Paris': 2, 'Berlin': 1",
    ]


def test_location_log_cleanup_report_levels(loc_ctx, logs):
    ctx, _ = loc_ctx
    run("location", "Paris", ctx)
    lines = ctx.log_cleanup_report()
    assert records_at(logs, logging.ERROR) == [lines[0]]
    assert records_at(logs, logging.WARNING) == [lines[1]]
    assert lines[0].startswith("Could not lookup Location values for the following values: ")


def test_location_different_field_raises(loc_ctx):
    ctx, fetch = loc_ctx
    assert run("location", "HQ", ctx, params={"field": "location_id"}) == "hq-01"
    assert run("location", "HQ", ctx) == "hq-01"  # the default is the same field
    with pytest.raises(ValueError):
        run("location", "HQ", ctx, params={"field": "id"})
    with pytest.raises(ValueError):
        run("location", None, ctx, params={"field": "id"})
    assert fetch.calls == 1


def test_location_custom_field_and_label(ctx):
    ctx.locations = FakeLocations()
    assert run("location", "Head office", ctx, params={"field": "id", "label": "label"}) == 11
    assert run("location", "Home", ctx, params={"field": "id", "label": "label"}) == 12
    assert ctx.location_map == {"Head office": 11, "Home": 12}
    assert ctx.location_field == "id"
    with pytest.raises(ValueError):
        run("location", "HQ", ctx)  # default field location_id differs


def test_location_logs_each_mapping_at_info(loc_ctx, logs):
    ctx, _ = loc_ctx
    run("location", "HQ", ctx)
    info = records_at(logs, logging.INFO)
    assert len(info) == 3
    assert "'HQ'" in info[0] and "'hq-01'" in info[0]
    assert records_at(logs, logging.WARNING) == []


def test_location_unavailable_gives_empty_map_with_warning(ctx, logs):
    assert run("location", "HQ", ctx) == "HQ"
    assert ctx.location_map == {}
    assert len(records_at(logs, logging.WARNING)) == 2  # unavailable + empty map
    assert ctx.location_failures == {"HQ": 1}


def test_location_fetch_error_gives_empty_map_with_warning(ctx, logs):
    fetch = FakeLocations(exc=RuntimeError("boom"))
    ctx.locations = fetch
    assert run("location", "HQ", ctx) == "HQ"
    assert run("location", "Remote", ctx) == "Remote"
    assert fetch.calls == 1  # not retried
    assert ctx.location_map == {}
    assert len(records_at(logs, logging.WARNING)) == 2
    assert ctx.cleanup_report()[0] == "Could not lookup Location values for the following values: ['HQ', 'Remote']"


@pytest.mark.parametrize("result", [[], None])
def test_location_empty_list_warns(ctx, logs, result):
    ctx.locations = FakeLocations(result=result)
    assert run("location", "HQ", ctx) == "HQ"
    assert ctx.location_map == {}
    assert len(records_at(logs, logging.WARNING)) == 1


def test_location_non_string_value_raises(loc_ctx):
    ctx, _ = loc_ctx
    with pytest.raises(AttributeError):
        run("location", 5, ctx)


# ---------------------------------------------------------------------------------------------
# mac_model_from_sn
# ---------------------------------------------------------------------------------------------

class FakeResponse:
    def __init__(self, text):
        self.text = text


class FakeHttp:
    def __init__(self, replies):
        self.replies = dict(replies)
        self.calls = []

    def __call__(self, url, params):
        self.calls.append((url, dict(params)))
        reply = self.replies[params["sn"]]
        if isinstance(reply, Exception):
            raise reply
        return FakeResponse(reply)


def mac_record(sn):
    return {"general": {"serial_number": sn}, "hardware": {"model": "Mac"}}


@pytest.fixture
def http():
    return FakeHttp({
        "C02ABC": "MacBook Pro (Retina, 15-inch, Mid 2015)",
        "BADSN": "Error: serial number not found",
        "DOWN": ConnectionError("unreachable"),
    })


@pytest.fixture
def mac_ctx(http):
    return ConverterContext(log=logging.getLogger(LOGGER_NAME), http_get=http, mac_model_url="https://mac.example/")


def test_mac_model_lookup_and_cache(mac_ctx, http):
    assert run("mac_model_from_sn", "Mac", mac_ctx, mac_record(" C02ABC ")) == "MacBook Pro (Retina, 15-inch, Mid 2015)"
    assert run("mac_model_from_sn", "Other", mac_ctx, mac_record("C02ABC")) == "MacBook Pro (Retina, 15-inch, Mid 2015)"
    assert http.calls == [("https://mac.example/", {"sn": "C02ABC"})]


def test_mac_model_error_body_returns_value_and_is_cached(mac_ctx, http):
    assert run("mac_model_from_sn", "Mac", mac_ctx, mac_record("BADSN")) == "Mac"
    assert run("mac_model_from_sn", None, mac_ctx, mac_record("BADSN")) is None
    assert len(http.calls) == 1


def test_mac_model_request_exception_returns_value_not_cached(mac_ctx, http, logs):
    assert run("mac_model_from_sn", "Mac", mac_ctx, mac_record("DOWN")) == "Mac"
    assert run("mac_model_from_sn", "Mac2", mac_ctx, mac_record("DOWN")) == "Mac2"
    assert len(http.calls) == 2
    assert len(records_at(logs, logging.WARNING)) == 2


@pytest.mark.parametrize("sn", ["", "   "])
def test_mac_model_empty_serial_returns_value(mac_ctx, http, sn):
    assert run("mac_model_from_sn", "Mac", mac_ctx, mac_record(sn)) == "Mac"
    assert http.calls == []


def test_mac_model_non_string_serial_is_stringified(mac_ctx, http):
    http.replies["12345"] = "iMac"
    http.replies["None"] = "Error"
    assert run("mac_model_from_sn", "Mac", mac_ctx, mac_record(12345)) == "iMac"
    assert run("mac_model_from_sn", "Mac", mac_ctx, mac_record(None)) == "Mac"  # str(None) == 'None' is looked up
    assert [c[1]["sn"] for c in http.calls] == ["12345", "None"]


@pytest.mark.parametrize("record", [{}, {"general": {}}, {"serial_number": "C02ABC"}])
def test_mac_model_missing_key_raises(mac_ctx, http, record):
    with pytest.raises(KeyError):
        run("mac_model_from_sn", "Mac", mac_ctx, record)
    assert http.calls == []


def test_mac_model_default_http_get_uses_requests_with_timeout(monkeypatch):
    import requests

    seen = {}

    def fake_get(url, params=None, timeout=None, **kwargs):
        seen.update(url=url, params=params, timeout=timeout, kwargs=kwargs)
        return FakeResponse("Mac mini")

    monkeypatch.setattr(requests, "get", fake_get)
    ctx = ConverterContext(log=logging.getLogger(LOGGER_NAME))
    assert run("mac_model_from_sn", "Mac", ctx, mac_record("XYZ")) == "Mac mini"
    assert seen == {"url": "https://nam.oomnitza.com/", "params": {"sn": "XYZ"}, "timeout": 10, "kwargs": {}}


# ---------------------------------------------------------------------------------------------
# memberOf
# ---------------------------------------------------------------------------------------------

def test_memberof_string_substring(ctx):
    params = {"Admins": "admin", "Users": "user", "default": "none"}
    assert run("memberOf", "CN=Admins,OU=Groups,DC=x", ctx, params=params) == "admin"
    assert run("memberOf", "CN=Users,OU=Groups", ctx, params=params) == "user"
    assert run("memberOf", "CN=Guests", ctx, params=params) == "none"
    assert run("memberOf", "", ctx, params=params) == "none"


def test_memberof_insertion_order(ctx):
    value = "CN=Admins,CN=Users"
    assert run("memberOf", value, ctx, params={"Admins": "admin", "Users": "user"}) == "admin"
    assert run("memberOf", value, ctx, params={"Users": "user", "Admins": "admin"}) == "user"
    assert run("memberOf", value, ctx, params={"default": "d", "Users": "user", "Admins": "admin"}) == "user"


def test_memberof_list_is_exact_element_match(ctx):
    groups = ["CN=Admins,OU=Groups,DC=x", "Staff"]
    assert run("memberOf", groups, ctx, params={"Admins": "admin", "default": "none"}) == "none"
    assert run("memberOf", groups, ctx, params={"Admins": "admin", "Staff": "staff"}) == "staff"
    # a DN cannot be a key (keys cannot contain '='), so a real DN list entry never matches
    assert run("memberOf", groups, ctx, params={"CN": "x"}) is None


def test_memberof_bytes_list_from_ldap(ctx):
    assert run("memberOf", [b"Staff", b"Other"], ctx, params={"Staff": "staff"}) == "staff"
    assert run("memberOf", b"CN=Staff,DC=x", ctx, params={"Staff": "staff"}) == "staff"


def test_memberof_flags_and_missing_default(ctx):
    assert run("memberOf", "CN=Staff", ctx, params={"Staff": True}) is True
    assert run("memberOf", "CN=Guests", ctx, params={"Staff": "s", "default": True}) is True
    assert run("memberOf", "CN=Guests", ctx, params={"Staff": "s"}) is None
    assert run("memberOf", "CN=Guests", ctx, params={}) is None


def test_memberof_none_raises_so_field_becomes_none_not_default(ctx):
    with pytest.raises(TypeError):
        run("memberOf", None, ctx, params={"Staff": "s", "default": "d"})
    # with no search pairs there is nothing to test, so the default comes back
    assert run("memberOf", None, ctx, params={"default": "d"}) == "d"


def test_memberof_does_not_mutate_params(ctx):
    params = {"Staff": "s", "default": "d"}
    run("memberOf", "x", ctx, params=params)
    assert params == {"Staff": "s", "default": "d"}


# ---------------------------------------------------------------------------------------------
# split
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, params, expected", [
    ("a b  c", {}, "a"),  # whitespace, index 0
    ("  a b", {}, "a"),
    ("a b  c", {"index": "2"}, "c"),
    ("a,b,c", {"on": ",", "index": "1"}, "b"),
    ("a,b,c", {"on": ",", "index": "-1"}, "c"),
    ("a, b", {"on": ","}, "a"),
    ("a, b", {"on": ",", "index": "1"}, " b"),
    ("a::b::c", {"on": "::", "index": "1"}, "b"),
    ("a b", {"index": True}, "b"),  # int(True) == 1
])
def test_split(ctx, value, params, expected):
    assert run("split", value, ctx, params=params) == expected


@pytest.mark.parametrize("value, params", [
    ("a b", {"index": "5"}),  # out of range
    ("a b", {"index": "one"}),
    ("a b", {"on": True}),  # bare flag
    ("a b", {"on": ""}),  # empty separator
    (42, {}),  # non-string
])
def test_split_error_returns_value_unchanged(ctx, logs, value, params):
    assert run("split", value, ctx, params=params) is value
    assert len(records_at(logs, logging.DEBUG)) == 1


@pytest.mark.parametrize("value", [None, "", 0, []])
def test_split_falsy_passes_through(ctx, value):
    assert run("split", value, ctx, params={"on": ","}) is value


# ---------------------------------------------------------------------------------------------
# timestamp
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    (1451606400, 1451606400),
    (0, 0),
    ("1451606400", 1451606400),
    (" 1451606400 ", 1451606400),
    ("1451606400.9", 1451606400),
    (1451606400.9, 1451606400),
    (-1.5, -2),  # floored like arrow's timestamp
    ("-86400", -86400),
    ("1e9", 1000000000),
    ("20160101", 20160101),  # numeric strings are epoch seconds, not basic ISO dates
    ("2016-01-01", 1451606400),
    ("2016-01-01T10:00:00", 1451642400),
    ("2016-01-01 10:00:00", 1451642400),
    ("2014-10-24T10:26:55.000-0400", 1414160815),
    ("2014-10-24T14:26:55Z", 1414160815),
    (datetime(2016, 1, 1, 10), 1451642400),
    (datetime(2016, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))), 1451642400),
    (date(2016, 1, 1), 1451606400),
])
def test_timestamp(ctx, logs, value, expected):
    result = run("timestamp", value, ctx)
    assert result == expected
    assert type(result) is int
    assert records_at(logs, logging.ERROR) == []


@pytest.mark.parametrize("value", [
    1451606400000,  # milliseconds: outside the datetime range
    "1451606400000",
    "garbage",
    "",
    "nan",
    "1_000",
    "10:00:00",
    "P1D",
    True,
    ["2016-01-01"],
    {"a": 1},
])
def test_timestamp_failure_logs_error_and_returns_value(ctx, logs, value):
    assert run("timestamp", value, ctx) is value
    errors = records_at(logs, logging.ERROR)
    assert len(errors) == 1
    assert "String conversion to UNIX timestamp failed" in errors[0]


def test_timestamp_none_is_none_without_log(ctx, logs):
    assert run("timestamp", None, ctx) is None
    assert logs.records == []


# -- timestamp:unit=ms (an addition of this provider) ------------------------------------------

def test_timestamp_unit_ms_reads_epoch_milliseconds():
    ctx = ConverterContext(log=logging.getLogger("t"))
    conv = BUILTIN_CONVERTERS["timestamp"]
    assert conv("f", {}, 1775038272123, {"unit": "ms"}, ctx) == 1775038272
    assert conv("f", {}, "1775038272000", {"unit": "ms"}, ctx) == 1775038272
    assert conv("f", {}, 1775038272.9, {"unit": "s"}, ctx) == 1775038272
    assert conv("f", {}, "2026-04-01T10:11:12Z", {"unit": "ms"}, ctx) == 1775038272
    assert conv("f", {}, 1775038272000, {"unit": "days"}, ctx) == 1775038272000  # bad unit: unchanged, logged
