"""Editing one section as text (ui/config_file.py, ui/config_app._apply): the rest of the file byte for
byte, secrets kept in place and never taken from the form, Python bodies kept as typed, allow_python
respected, the atomic save and its backup."""
import os

import pytest

from airflow_provider_oomnitza.ui import config_file as cf
from airflow_provider_oomnitza.ui.config_app import _apply

FILE = """# Acme's connector
[oomnitza]
url = https://acme.oomnitza.com
api_token = tok-secret-1
; comment inside [oomnitza]

# the Jamf servers
[casper]
enable = true
url = https://jss.example.com
username = reader
password = jamf-secret-2
sync_field = SERIAL_NUMBER
recordfilter:
    # indented comment: part of the body
    return record.get("x") != 1

; converters follow
[converters]
upper:
    return value.upper()
"""


def test_a_block_ends_before_the_comments_of_the_next_section():
    lines = cf.split_lines(FILE)
    start, end = cf.block_range(lines, "oomnitza")
    assert lines[start] == "[oomnitza]\n" and lines[end - 1] == "; comment inside [oomnitza]\n"
    assert lines[end:end + 2] == ["\n", "# the Jamf servers\n"]
    assert cf.section_text(FILE, "converters") == "[converters]\nupper:\n    return value.upper()\n"
    assert cf.section_text(FILE, "nope") is None


def test_secrets_show_as_a_placeholder_and_go_back_in_place():
    block = cf.section_text(FILE, "casper")
    shown, held = cf.without_secrets(block, {"password"})
    assert held == ["password"] and "jamf-secret-2" not in shown and "password = ********\n" in shown
    edited = shown.replace("username = reader", "username = auditor")
    new = cf.with_secrets(edited, block, "casper", {"password"})
    assert new == block.replace("username = reader", "username = auditor")
    with pytest.raises(cf.EditError, match="secrets are not typed here"):
        cf.with_secrets(shown.replace("password = ********", "password = typed"), block, "casper", {"password"})
    # removing the placeholder line removes the setting
    assert "password" not in cf.with_secrets(shown.replace("password = ********\n", ""), block, "casper", {"password"})


def test_only_the_named_section_may_be_edited():
    with pytest.raises(cf.EditError, match="must start with the section header"):
        cf.with_secrets("enable = true\n", None, "casper", set())
    with pytest.raises(cf.EditError, match="expected only \\[casper\\]"):
        cf.with_secrets("[casper]\nenable = true\n[oomnitza]\nurl = x\n", None, "casper", set())


def test_replacing_a_block_keeps_every_other_byte():
    block = cf.section_text(FILE, "casper").replace("username = reader", "username = auditor")
    assert cf.replace_block(FILE, "casper", block) == FILE.replace("username = reader", "username = auditor")
    added = cf.replace_block(FILE, "csv_assets", "[csv_assets]\nenable = false\n")
    assert added == FILE + "\n[csv_assets]\nenable = false\n"


def test_an_edit_is_validated_with_the_whole_file(tmp_path):
    path = tmp_path / "config.ini"
    shown, _ = cf.without_secrets(cf.section_text(FILE, "casper"), {"password"})
    outcome, text = _apply(path, FILE, "casper", shown.replace("sync_field = SERIAL_NUMBER\n", ""), "save")
    assert not outcome.ok and any(i.key == "sync_field" for i in outcome.issues)
    outcome, text = _apply(path, FILE, "casper", shown.replace("    return record", "    retur record"), "save")
    assert not outcome.ok and any(i.key == "recordfilter" and i.severity == "error" for i in outcome.issues)
    body = "recordfilter:\n    # indented comment: part of the body\n    return record.get(\"x\") != 2\n"
    outcome, text = _apply(path, FILE, "casper", shown.replace('!= 1', '!= 2'), "save")
    assert outcome.ok, outcome.issues
    assert body in text and "jamf-secret-2" in text  # the body as typed, the secret from the file
    assert "jamf-secret-2" not in "".join(t for _, t in outcome.lines)  # the listing masks it


def test_python_needs_allow_python(tmp_path):
    strict = FILE.replace("[oomnitza]\n", "[oomnitza]\nallow_python = false\n").replace(
        cf.section_text(FILE, "converters"), "").replace(
        "recordfilter:\n    # indented comment: part of the body\n    return record.get(\"x\") != 1\n", "")
    shown, _ = cf.without_secrets(cf.section_text(strict, "casper"), {"password"})
    outcome, _ = _apply(tmp_path / "config.ini", strict, "casper", shown + "recordfilter:\n    return True\n", "save")
    assert not outcome.ok and any("allow_python" in i.message for i in outcome.issues)
    outcome, _ = _apply(tmp_path / "config.ini", strict, "casper", shown, "save")
    assert outcome.ok, outcome.issues


def test_a_save_is_atomic_and_keeps_a_backup(tmp_path):
    path = tmp_path / "config.ini"
    path.write_text(FILE)
    path.chmod(0o640)
    backup = cf.save_atomically(path, FILE.replace("reader", "auditor"))
    assert backup.read_text() == FILE and "auditor" in path.read_text()
    assert oct(path.stat().st_mode & 0o777) == "0o640"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.ini", "config.ini.bak"]  # no temporary file left
    assert cf.writable(path).ok
    path.chmod(0o444)
    assert not cf.writable(path).ok and "read-only" in cf.writable(path).reason
    path.chmod(0o640)


def test_a_file_in_a_dag_bundle_checkout_is_not_saved_in_place(tmp_path, monkeypatch):
    checkout = tmp_path / "bundles" / "git_dags"
    checkout.mkdir(parents=True)
    (checkout / "config.ini").write_text(FILE)
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH", str(tmp_path / "bundles"))
    found = cf.writable(checkout / "config.ini")
    assert not found.ok and "DAG bundle" in found.reason
    assert os.access(checkout / "config.ini", os.W_OK)  # it is the bundle, not the mode


def test_sections_without_blank_lines_between_them_stay_so():
    text = "[csv_assets]\nenable = false\n# next\n[csv_users]\nenable = false\n"
    block = cf.section_text(text, "csv_assets")
    assert block == "[csv_assets]\nenable = false\n"
    assert cf.replace_block(text, "csv_assets", block) == text


def test_an_error_elsewhere_in_the_file_blocks_a_save(tmp_path):
    broken = FILE.replace("[converters]\nupper:\n    return value.upper()\n",
                          "[csv_users]\nenable = true\nfilename = /tmp/u.csv\nmapping.USER = {\n")
    shown, _ = cf.without_secrets(cf.section_text(broken, "casper"), {"password"})
    outcome, _ = _apply(tmp_path / "config.ini", broken, "casper", shown, "save")
    assert not outcome.ok and any(i.section == "csv_users" for i in outcome.issues)
