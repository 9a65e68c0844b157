"""Loading config.ini: per-section results, exact errors, warnings, and nothing all-or-nothing."""
from pathlib import Path

import pytest

from airflow_provider_oomnitza.config.loader import FROM_SECRET_STORE, load_config
from airflow_provider_oomnitza.credentials import KEYRING_GONE
from airflow_provider_oomnitza.sources import SOURCE_TYPES

HERE = Path(__file__).parent
BROKEN = sorted((HERE / "broken").glob("*.ini"))
OOMNITZA = "[oomnitza]\nurl = https://example.oomnitza.com\napi_token = t\n\n"


def write(tmp_path, text, name="config.ini"):
    path = tmp_path / name
    path.write_text(OOMNITZA + text)
    return path


def errors(config, path):
    return [str(i).replace(str(path), "FILE") for i in config.all_issues() if i.severity == "error"]


def warnings(config, path):
    return [str(i).replace(str(path), "FILE") for i in config.all_issues() if i.severity == "warning"]


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_ini_gets_exactly_its_errors_and_healthy_sections_still_load(path):
    expected = [line.removeprefix("; expect: ").rstrip("\n")
                for line in path.read_text().splitlines() if line.startswith("; expect: ")]
    config = load_config(path)
    assert errors(config, path) == expected
    healthy = config.sections.get("csv_assets.healthy")
    if healthy is not None:
        assert healthy.ok and healthy.enabled and healthy.settings.sync_field == ["SERIAL"]


def test_the_corpus_is_not_empty():
    assert len(BROKEN) >= 25


def test_spec_example_config_gives_the_errors_its_values_deserve():
    path = HERE / "spec_example.ini"
    config = load_config(path)
    assert errors(config, path) == [
        "FILE:19: [appledep] api_token: expected the DEP server token as JSON with consumer_key, "
        "consumer_secret, access_token, access_secret",
        "FILE:22: [bamboohr] default_position: missing required setting (e.g. Employee)",
        "FILE:113: [csv_assets] directory: filename and directory are mutually exclusive; set only one",
        "FILE:119: [csv_users] directory: filename and directory are mutually exclusive; set only one",
    ]
    ok = {name for name, s in config.sections.items() if s.ok}
    assert ok == {"airwatch", "casper", "chef", "jasper", "ldap", "mobileiron", "okta", "onelogin", "sccm", "zendesk"}
    assert not any(s.enabled for s in config.sections.values())
    assert config.oomnitza.ok and config.oomnitza.settings.username == "oomnitza-sa"
    casper = config.sections["casper"].settings
    assert (casper.sync_type, casper.update_only, casper.group_name) == ("computers", False, "")
    assert config.sections["mobileiron"].settings.partitions == ["Drivers"]
    assert config.sections["okta"].settings.deprovisioned is False
    assert config.sections["ldap"].settings.protocol_version == 3


@pytest.mark.parametrize("word,expected", [
    ("TRUE", True), ("True", True), ("yes", True), ("On", True), ("1", True),
    ("FALSE", False), ("no", False), ("OFF", False), ("0", False),
])
def test_booleans_accept_the_usual_words_in_any_case(tmp_path, word, expected):
    # The original read TRUE as false, which silently disabled TLS checks.
    path = write(tmp_path, f"[csv_users]\nenable = {word}\nfilename = u.csv\ndefault_role = 1\n"
                           f"default_position = E\nverify_ssl = {word}\n")
    section = load_config(path).sections["csv_users"]
    assert section.ok
    assert section.enabled is expected
    assert section.settings.verify_ssl is expected


def test_unknown_keys_warn_with_a_suggestion_and_are_ignored(tmp_path):
    path = write(tmp_path, "[okta]\nenable = no\napi_token = t\ndefault_role = 1\ndefault_position = E\n"
                           "verify_sll = false\n")
    config = load_config(path)
    assert config.sections["okta"].ok
    assert warnings(config, path) == [
        "FILE:10: [okta] verify_sll: unknown setting for okta, ignored; did you mean 'verify_ssl'?"
    ]
    assert config.sections["okta"].settings.verify_ssl is True


def test_empty_values_take_defaults_and_empty_enable_is_off(tmp_path):
    path = write(tmp_path, "[casper]\nenable =\nurl =\nusername = u\npassword = p\nsync_field = S\n"
                           "mapping.S = {\"source\": \"general.serial_number\"}\n")
    config = load_config(path)
    section = config.sections["casper"]
    assert section.ok and not section.enabled
    assert section.settings.url == "https://jss.jamfcloud.com/example"
    assert "FILE:6: [casper] enable: is empty; the section is off" in warnings(config, path)


def test_default_section_applies_to_every_section(tmp_path):
    path = tmp_path / "c.ini"
    path.write_text("[DEFAULT]\nverify_ssl = no\n\n" + OOMNITZA +
                    "[okta]\nenable = 1\napi_token = t\ndefault_role = 1\ndefault_position = E\n")
    config = load_config(path)
    assert config.sections["okta"].settings.verify_ssl is False
    assert config.oomnitza.settings.verify_ssl is False


def test_vault_keys_with_vault_stand_in_for_required_secrets_until_run_time(tmp_path):
    path = write(tmp_path, "[okta]\nenable = 0\ndefault_role = 1\ndefault_position = E\nvault_keys = api_token\n"
                           "vault_backend = vault\n")
    config = load_config(path)
    section = config.sections["okta"]
    assert errors(config, path) == []  # no "missing api_token": Vault gives it when a task runs
    assert section.settings.api_token.get_secret_value() == FROM_SECRET_STORE


def test_vault_keys_from_the_keyring_are_an_error_naming_the_airflow_replacement(tmp_path):
    path = tmp_path / "c.ini"
    path.write_text("[oomnitza]\nurl = https://o\nvault_keys = api_token\n")
    assert errors(load_config(path), path) == [
        "FILE:3: [oomnitza] vault_keys: " + KEYRING_GONE.format(conn_id="oomnitza_oomnitza",
                                                               vault_conn_id="vault_default")
    ]
    path.write_text("[oomnitza]\nurl = https://o\nvault_keys = api_token\nvault_backend = keyring\n")
    [error] = errors(load_config(path), path)
    assert error.startswith("FILE:4: [oomnitza] vault_backend: vault_backend = keyring (the default) is not available")


def test_env_password_missing_here_is_a_warning_not_an_error(tmp_path):
    path = write(tmp_path, "[casper]\nenable = 1\nusername = u\nenv_password = JAMF_PW\nsync_field = S\n"
                           "mapping.S = {\"source\": \"general.serial_number\"}\n")
    config = load_config(path, environ={})
    assert config.sections["casper"].ok
    assert ("FILE:8: [casper] env_password: environment variable JAMF_PW is not set here; runs fail unless "
            "it is set where tasks run") in warnings(config, path)
    assert not warnings(load_config(path, environ={"JAMF_PW": "x"}), path)


def test_a_hardcoded_value_shadowed_by_a_default_source_warns(tmp_path):
    # The original's merge keeps the default source, which outranks hardcoded.
    path = write(tmp_path, "[sccm]\nenable = 1\nserver = s\nusername = u\npassword = p\nsync_field = S\n"
                           "mapping.S = {\"source\": \"hardware.serial_number\"}\n"
                           "mapping.APPLICATIONS = {\"hardcoded\": []}\n")
    config = load_config(path)
    assert ("FILE:12: [sccm] mapping.APPLICATIONS: 'hardcoded' is ignored: the default mapping's source/setting "
            "takes precedence; blank it, e.g. {\"source\": \"\", \"hardcoded\": ...}") in warnings(config, path)


def test_record_attribute_access_in_a_filter_warns(tmp_path):
    path = write(tmp_path, "[csv_assets]\nenable = 1\nfilename = a.csv\nsync_field = S\n"
                           "mapping.S = {\"source\": \"s\"}\nrecordfilter:\n    return record.asset_type == 'pc'\n")
    config = load_config(path)
    assert config.sections["csv_assets"].ok
    assert ("FILE:11: [csv_assets] recordfilter: record is a dict: record.asset_type fails; "
            "use record.get('asset_type')") in warnings(config, path)


def test_single_quoted_and_trailing_comma_mappings_from_the_spec_are_read(tmp_path):
    path = write(tmp_path, "[okta]\nenable = 0\napi_token = t\ndefault_role = 1\ndefault_position = E\n"
                           "mapping.PHONE =                {'source': \"profile.mobilePhone\"},\n")
    section = load_config(path).sections["okta"]
    assert section.ok
    assert section.ini_mappings["PHONE"] == {"source": "profile.mobilePhone"}


def test_sections_keep_their_suffix_and_share_the_type(tmp_path):
    body = "enable = 1\nurl = ldap://x\nusername = anonymous\nbase_dn = dc=x\ndefault_role = 1\ndefault_position = E\n"
    path = write(tmp_path, f"[ldap]\n{body}\n[ldap.Contractors]\n{body}base_dn = ou=c,dc=x\n")
    config = load_config(path)
    assert [s.name for s in config.enabled_sections()] == ["ldap", "ldap.Contractors"]
    assert config.sections["ldap.Contractors"].type_name == "ldap"
    assert config.sections["ldap.Contractors"].settings.base_dn == "ou=c,dc=x"
    assert config.sections["ldap"].mapping_name == "LDAP"


def test_secrets_are_masked_in_values_unless_revealed(tmp_path):
    path = write(tmp_path, "[okta]\nenable = 1\napi_token = s3cr3t-token\ndefault_role = 1\ndefault_position = E\n")
    settings = load_config(path).sections["okta"].settings
    assert settings.values()["api_token"] == "***"
    assert settings.values(reveal=True)["api_token"] == "s3cr3t-token"
    assert "s3cr3t" not in repr(settings)


def test_missing_file_raises_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="config file not found"):
        load_config(tmp_path / "nope.ini")


ASSET_TYPES = sorted(n for n, s in SOURCE_TYPES.items() if s.record_type == "assets")
USER_TYPES = sorted(n for n, s in SOURCE_TYPES.items() if s.record_type == "users")


def test_every_source_type_is_an_asset_or_a_user_type():
    assert set(ASSET_TYPES) | set(USER_TYPES) == set(SOURCE_TYPES)
    assert {"csv_assets", "json_assets", "ldap_assets", "casper"} <= set(ASSET_TYPES)


@pytest.mark.parametrize("empty", ["", "sync_field =\n", "sync_field = ,\n"], ids=["absent", "empty", "comma"])
def test_every_asset_section_without_sync_field_is_refused_at_load(tmp_path, empty):
    # The original refuses it ("Missing setting value for sync_field"); without it every record is refused by
    # Oomnitza. Must hold whatever the settings model's base classes are (CsvSource before AssetSettings...).
    path = write(tmp_path, "".join(f"[{name}]\nenable = true\n{empty}\n" for name in SOURCE_TYPES))
    config = load_config(path)
    refused = sorted(
        name for name, section in config.sections.items()
        if any(i.key == "sync_field" and i.message.startswith("missing required setting") for i in section.errors)
    )
    assert refused == ASSET_TYPES


def test_user_sections_need_no_sync_field(tmp_path):
    path = write(tmp_path, "[csv_users]\nenable = true\nfilename = u.csv\ndefault_role = 1\ndefault_position = E\n"
                           'mapping.USER = {"source": "login"}\n')
    section = load_config(path).sections["csv_users"]
    assert section.ok, section.errors
    assert section.effective_mappings({}).sync_fields == ["USER"]


def test_a_bare_source_name_is_a_source_mapping_as_in_the_original(tmp_path):
    path = write(tmp_path, "[csv_assets]\nenable = 1\nfilename = a.csv\nsync_field = SERIAL\nmapping.SERIAL = serial\n"
                           "mapping.NOTES = notes\nmapping.OWNER = general.owner name\n")
    config = load_config(path)
    section = config.sections["csv_assets"]
    assert section.ok and not warnings(config, path)
    assert section.ini_mappings == {"SERIAL": {"source": "serial"}, "NOTES": {"source": "notes"},
                                    "OWNER": {"source": "general.owner name"}}


def test_unknown_spec_keys_and_unknown_settings_warn_with_file_line_section_and_key(tmp_path):
    # The original ignored both; a file that ran there keeps running here.
    path = write(tmp_path, "[okta]\nenable = 0\napi_token = t\ndefault_role = 25\ndefault_position = E\n"
                           'mapping.PHONE = {"source": "profile.mobilePhone", "convertor": "split"}\n'
                           'mapping.PERMISSIONS_ID = {"setting": "default_rol"}\n'
                           'mapping.TITLE = {"setting": "nope"}\n')
    config = load_config(path)
    section = config.sections["okta"]
    assert section.ok
    assert warnings(config, path) == [
        "FILE:10: [okta] mapping.PHONE: unknown key 'convertor' is ignored, as the original did; did you mean "
        "'converter'? (expected some of source, setting, hardcoded, converter, required, type)",
        "FILE:11: [okta] mapping.PERMISSIONS_ID: 'default_rol' is not a setting of okta, so the field is sent "
        "empty, as the original did; did you mean 'default_role'?",
        "FILE:12: [okta] mapping.TITLE: 'nope' is not a setting of okta, so the field is sent empty, as the "
        "original did",
    ]
    assert section.ini_mappings["PHONE"] == {"source": "profile.mobilePhone"}


@pytest.mark.parametrize("value,message", [
    ("", "expected a JSON object"),
    ('"mail"', "expected a JSON object"),
    ("42", "expected a JSON object"),
    ('{"source": "x", "type": "callable"}', "'type' must be one of"),
    ('{"source": "x"', "expected a JSON object"),
])
def test_mapping_values_the_original_failed_on_stay_errors(tmp_path, value, message):
    path = write(tmp_path, f"[csv_assets]\nenable = 1\nfilename = a.csv\nsync_field = S\nmapping.S = s\n"
                           f"mapping.X = {value}\n")
    [error] = load_config(path).sections["csv_assets"].errors
    assert (error.key, error.line) == ("mapping.X", 10) and message in error.message
