"""Mapping specs and the merge order: defaults, then server-side mappings, then the INI."""
import pytest

from airflow_provider_oomnitza.config.loader import load_config
from airflow_provider_oomnitza.mapping.build import build_mappings
from airflow_provider_oomnitza.mapping.spec import MappingError, parse_converter, parse_spec
from airflow_provider_oomnitza.sources import SOURCE_TYPES

OOMNITZA = "[oomnitza]\nurl = https://o.example\napi_token = t\n\n"


def section(tmp_path, text, name):
    path = tmp_path / "config.ini"
    path.write_text(OOMNITZA + text)
    sec = load_config(path).sections[name]
    assert sec.settings is not None, sec.errors
    return sec


@pytest.mark.parametrize("raw,expected", [
    ('{"source": "mail"}', {"source": "mail"}),
    ("{'source': \"profile.login\"}", {"source": "profile.login"}),
    ("{'source': 'x'},", {"source": "x"}),
    ('{"hardcoded": [], "required": "yes"}', {"hardcoded": [], "required": True}),
    ('{"source": "a", "type": "int"}', {"source": "a", "type": "int"}),
])
def test_parse_spec_accepts_json_and_python_literals(raw, expected):
    assert parse_spec(raw) == expected


@pytest.mark.parametrize("raw,message", [
    ('"mail"', "expected a JSON object"),
    ("42", "expected a JSON object"),
    ('{"source": 1}', "'source' must be a string"),
    ('{"required": "perhaps"}', "'required': expected true/false"),
    ('{"source": "a", "type": "callable"}', "'type' must be one of str, int, float, bool"),
])
def test_parse_spec_rejects_what_cannot_work(raw, message):
    with pytest.raises(MappingError, match=message):
        parse_spec(raw)


@pytest.mark.parametrize("text,expected", [
    ("split", ("split", {})),
    ("split:on=,|index=1", ("split", {"on": ",", "index": "1"})),
    ("memberOf:Admins=admin|default=user", ("memberOf", {"Admins": "admin", "default": "user"})),
    ("location:field=location_id|label", ("location", {"field": "location_id", "label": True})),
    ("name:", ("name", {"": True})),
    ("x:a=b=c", ("x", {"a": "b=c"})),
])
def test_converter_strings_split_like_the_original(text, expected):
    assert parse_converter(text) == expected


def test_merge_order_defaults_then_server_then_ini_key_by_key(tmp_path):
    sec = section(tmp_path, "[okta]\nenable = 1\napi_token = t\ndefault_role = 7\ndefault_position = E\n"
                  'mapping.FIRST_NAME = {"converter": "capitalize"}\n'
                  'mapping.EMAIL = {"source": "profile.secondEmail"}\n', "okta")
    server = {"profile.nickName": "FIRST_NAME", "profile.email": ["EMAIL", "ALT_EMAIL"]}
    result = build_mappings(SOURCE_TYPES["okta"], sec.settings, sec.ini_mappings, server)
    m = result.mappings
    # server replaced the default source; the INI added a converter and kept the server's source
    assert m["FIRST_NAME"] == {"source": "profile.nickName", "converter": "capitalize"}
    # the INI source wins over the server's
    assert m["EMAIL"] == {"source": "profile.secondEmail"}  # not required: connector 2.x
    assert m["ALT_EMAIL"] == {"source": "profile.email"}
    assert m["USER"] == {"source": "profile.login", "required": True}
    assert m["PERMISSIONS_ID"] == {"setting": "default_role"}
    assert m["POSITION"] == {"setting": "default_position"}
    assert result.sync_fields == ["USER"] and not result.errors


def test_use_server_map_off_ignores_server_mappings(tmp_path):
    sec = section(tmp_path, "[okta]\nenable = 1\napi_token = t\ndefault_role = 7\ndefault_position = E\n"
                  "use_server_map = false\n", "okta")
    result = build_mappings(SOURCE_TYPES["okta"], sec.settings, {}, {"profile.nickName": "FIRST_NAME"})
    assert result.mappings["FIRST_NAME"] == {"source": "profile.firstName"}


def test_position_unused_adds_no_position(tmp_path):
    sec = section(tmp_path, "[okta]\nenable = 1\napi_token = t\ndefault_role = 7\ndefault_position = Unused\n",
                  "okta")
    assert "POSITION" not in sec.effective_mappings({}).mappings


def test_default_converters_attach_only_where_no_converter_is_given(tmp_path):
    sec = section(tmp_path, "[casper]\nenable = 1\nusername = u\npassword = p\nsync_field = SERIAL\n"
                  'mapping.SERIAL = {"source": "general.serial_number"}\n'
                  'mapping.REPORTED = {"source": "general.report_date"}\n'
                  'mapping.CONTACT = {"source": "general.last_contact_time", "converter": "timestamp"}\n', "casper")
    m = sec.effective_mappings({}).mappings
    assert m["REPORTED"] == {"source": "general.report_date", "converter": "date_format"}
    assert m["CONTACT"]["converter"] == "timestamp"
    assert m["SERIAL"] == {"source": "general.serial_number", "required": True}
    assert m["APPLICATIONS"] == {"source": "software.applications"}


def test_casper_mobile_devices_use_their_own_mapping_name_and_no_applications(tmp_path):
    sec = section(tmp_path, "[casper.MDM]\nenable = 1\nusername = u\npassword = p\nsync_field = S\n"
                  "sync_type = mobiledevices\n" 'mapping.S = {"source": "general.serial_number"}\n', "casper.MDM")
    assert sec.mapping_name == "Casper.MDM"
    assert "APPLICATIONS" not in sec.effective_mappings({}).mappings


def test_missing_identifying_field_is_an_error_once_server_mappings_are_known(tmp_path):
    sec = section(tmp_path, "[csv_assets]\nenable = 1\nfilename = a.csv\nsync_field = SERIAL, BARCODE\n"
                  'mapping.SERIAL = {"source": "sn"}\n', "csv_assets")
    offline = sec.effective_mappings(None)
    assert offline.errors == [] and len(offline.warnings) == 1
    online = sec.effective_mappings({"barcode": "BARCODE"})
    assert online.errors == [] and online.mappings["BARCODE"] == {"source": "barcode", "required": True}
    assert sec.effective_mappings({}).errors == [
        'the identifying field BARCODE has no mapping; add mapping.BARCODE = {"source": "..."}'
    ]


def test_default_mappings_can_be_switched_off(tmp_path):
    sec = section(tmp_path, "[okta]\nenable = 1\napi_token = t\ndefault_role = 7\ndefault_position = E\n"
                  "use_default_mappings = no\n" 'mapping.USER = {"source": "id"}\nmapping.EMAIL = {"source": "e"}\n',
                  "okta")
    m = sec.effective_mappings({}).mappings
    assert set(m) == {"USER", "EMAIL", "POSITION", "PERMISSIONS_ID"}
    assert m["USER"] == {"source": "id", "required": True}


def test_users_need_only_their_sync_field_as_in_connector_2x(tmp_path):
    # 1.x forced USER and EMAIL on every user source; 2.x (what most users run) dropped that: a CSV user with an
    # empty EMAIL is sent. Only the sync field (USER by default) is required, plus what a mapping marks required.
    from airflow_provider_oomnitza.mapping.engine import RecordMapper, RecordSkipped

    sec = section(tmp_path, "[csv_users]\nenable = 1\nfilename = u.csv\ndefault_role = 7\ndefault_position = E\n"
                  'mapping.USER = {"source": "login"}\nmapping.EMAIL = {"source": "mail"}\n', "csv_users")
    result = sec.effective_mappings({})
    assert result.errors == [] and result.sync_fields == ["USER"]
    assert result.mappings["USER"]["required"] is True and "required" not in result.mappings["EMAIL"]
    mapper = RecordMapper(result.mappings, sec.settings.values(reveal=True), sync_fields=result.sync_fields)
    assert mapper.map({"login": "ada", "mail": ""})["USER"] == "ada"
    with pytest.raises(RecordSkipped, match="missing required fields: USER"):
        mapper.map({"login": "", "mail": "x@y"})


def test_a_user_section_without_email_mapping_is_fine_and_sync_field_replaces_user(tmp_path):
    sec = section(tmp_path, "[csv_users]\nenable = 1\nfilename = u.csv\ndefault_role = 7\ndefault_position = E\n"
                  'sync_field = EMAIL\nmapping.EMAIL = {"source": "mail"}\n', "csv_users")
    result = sec.effective_mappings({})
    assert result.errors == [] and result.sync_fields == ["EMAIL"]
    assert result.mappings["EMAIL"] == {"source": "mail", "required": True}


def test_ldap_default_mappings_still_require_email(tmp_path):
    sec = section(tmp_path, "[ldap]\nenable = 0\nurl = ldap://x\nusername = anonymous\nbase_dn = dc=x\n"
                  "default_role = 1\ndefault_position = E\n", "ldap")
    m = sec.effective_mappings({}).mappings
    assert m["EMAIL"]["required"] is True and m["USER"]["required"] is True
