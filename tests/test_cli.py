"""The oomnitza-airflow command: generate-ini, validate, show-mappings, preview."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_oomnitza.cli import main
from airflow_provider_oomnitza.config.loader import load_config
from airflow_provider_oomnitza.sources import GENERATED_TYPES

SPEC = Path(__file__).parent / "config" / "spec_example.ini"


def test_generate_ini_writes_every_section_valid_as_written_and_backs_up(tmp_path, capsys):
    path = tmp_path / "config.ini"
    path.write_text("old content")
    assert main(["generate-ini", "--ini", str(path)]) == 0
    assert (tmp_path / "config.ini.bak").read_text() == "old content"
    config = load_config(path)
    assert config.ok, [str(i) for i in config.all_issues() if i.severity == "error"]
    assert set(config.sections) == set(GENERATED_TYPES)
    assert main(["generate-ini", "--ini", str(path)]) == 0
    assert (tmp_path / "config.ini.bak").read_text() == "old content"  # never overwritten
    assert (tmp_path / "config.ini.bak.1").exists()


def test_a_generated_file_validates_with_no_warning_and_no_error(tmp_path, capsys):
    path = tmp_path / "config.ini"
    assert main(["generate-ini", "--ini", str(path)]) == 0
    assert [str(i) for i in load_config(path, environ={}).all_issues()] == []
    capsys.readouterr()
    assert main(["validate", "--ini", str(path)]) == 0
    out = capsys.readouterr().out
    assert "0 error(s), 0 warning(s)" in out and "warning:" not in out and "error:" not in out
    assert "note: no section is enabled" in out


def test_validate_reports_vault_keys_without_vault_as_an_error(tmp_path, capsys):
    path = tmp_path / "c.ini"
    path.write_text("[oomnitza]\nurl = https://o\napi_token = t\n\n[csv_assets]\nenable = yes\nfilename = a.csv\n"
                    'sync_field = SN\nmapping.SN = {"source": "serial"}\nvault_keys = password\n')
    assert main(["validate", "--ini", str(path)]) == 1
    out = capsys.readouterr().out
    assert "[csv_assets] INVALID (enabled)" in out
    assert "[csv_assets] vault_keys: vault_backend = keyring (the default) is not available in Airflow" in out


def test_validate_reports_each_section_and_fails_on_errors(capsys):
    assert main(["validate", "--ini", str(SPEC)]) == 1
    out = capsys.readouterr().out
    assert "[casper] ok (disabled)" in out
    assert "[csv_assets] INVALID (disabled)" in out
    assert "[bamboohr] default_position: missing required setting" in out


def test_validate_passes_a_good_file(tmp_path, capsys):
    path = tmp_path / "c.ini"
    path.write_text("[oomnitza]\nurl = https://o\napi_token = t\n\n[csv_assets]\nenable = yes\nfilename = a.csv\n"
                    "sync_field = SN\nmapping.SN = {\"source\": \"serial\"}\n")
    assert main(["validate", "--ini", str(path)]) == 0
    assert "[csv_assets] ok (enabled)" in capsys.readouterr().out


def test_validate_missing_file(tmp_path, capsys):
    assert main(["validate", "--ini", str(tmp_path / "none.ini")]) == 1
    assert "config file not found" in capsys.readouterr().err


def test_ini_comes_from_the_environment(tmp_path, monkeypatch, capsys):
    path = tmp_path / "env.ini"
    path.write_text("[oomnitza]\nurl = https://o\napi_token = t\n")
    monkeypatch.setenv("OOMNITZA_INI", str(path))
    assert main(["validate"]) == 0
    assert str(path) in capsys.readouterr().out


def test_show_mappings_offline(capsys):
    assert main(["show-mappings", "okta", "--ini", str(SPEC), "--offline"]) == 0
    out = capsys.readouterr().out
    assert "[okta] mappings (Okta, offline" in out
    mappings = json.loads(out[out.index("{"):out.rindex("}") + 1])
    assert mappings["USER"] == {"source": "profile.login", "required": True}
    assert mappings["PERMISSIONS_ID"] == {"setting": "default_role"}


def test_show_mappings_reads_a_bare_source_name(tmp_path, capsys):
    path = tmp_path / "c.ini"
    path.write_text("[oomnitza]\nurl = https://o\napi_token = t\n\n[csv_assets]\nenable = yes\nfilename = a.csv\n"
                    "sync_field = SN\nmapping.SN = serial\nmapping.NOTES = notes\n")
    assert main(["validate", "--ini", str(path)]) == 0
    assert main(["show-mappings", "csv_assets", "--ini", str(path), "--offline"]) == 0
    out = capsys.readouterr().out
    mappings = json.loads(out[out.index("{", out.index("mappings")):out.rindex("}") + 1])
    assert mappings == {"SN": {"source": "serial", "required": True}, "NOTES": {"source": "notes"}}


def test_show_mappings_of_an_invalid_or_unknown_section(capsys):
    assert main(["show-mappings", "csv_users", "--ini", str(SPEC), "--offline"]) == 1
    assert "mutually exclusive" in capsys.readouterr().err
    assert main(["show-mappings", "nope", "--ini", str(SPEC), "--offline"]) == 1
    assert "no section [nope]" in capsys.readouterr().err


def test_preview_maps_saved_records_offline(tmp_path, capsys):
    ini = tmp_path / "c.ini"
    ini.write_text("[oomnitza]\nurl = https://o\napi_token = t\n\n[csv_assets]\nenable = yes\nfilename = a.csv\n"
                   "sync_field = SN\nuse_server_map = no\nmapping.SN = serial\n"
                   "mapping.MODEL = {\"source\": \"model\", \"converter\": \"capitalize\"}\n")
    data = tmp_path / "raw.csv"
    data.write_text("\ufeffserial,model\nA1,MACBOOK pro\n,nothing\nB2,thinkpad\n")
    assert main(["preview", "csv_assets", "--ini", str(ini), "--input", str(data)]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert lines == [{"SN": "A1", "MODEL": "Macbook pro"}, {"SN": "B2", "MODEL": "Thinkpad"}]
    assert "skipped record #1: missing: missing required fields: SN" in captured.err
    assert "3 read, 2 mapped" in captured.err


def test_preview_reads_json_and_jsonl(tmp_path, capsys):
    ini = tmp_path / "c.ini"
    ini.write_text("[oomnitza]\nurl = https://o\napi_token = t\n\n[okta]\nenable = yes\napi_token = x\n"
                   "default_role = 3\ndefault_position = Staff\n")
    raw = [{"profile": {"login": "a@x", "email": "a@x", "firstName": "A"}}]
    (tmp_path / "r.json").write_text(json.dumps(raw))
    (tmp_path / "r.jsonl").write_text("\n".join(json.dumps(r) for r in raw) + "\n")
    (tmp_path / "bom.json").write_text("\ufeff" + json.dumps(raw), encoding="utf-8")  # as Windows tools write
    (tmp_path / "bom.jsonl").write_text("\ufeff" + json.dumps(raw[0]) + "\n", encoding="utf-8")
    for name in ("r.json", "r.jsonl", "bom.json", "bom.jsonl"):
        assert main(["preview", "okta", "--ini", str(ini), "--input", str(tmp_path / name), "--offline"]) == 0
        record = json.loads(capsys.readouterr().out)
        assert record["USER"] == "a@x" and record["PERMISSIONS_ID"] == 3 and record["POSITION"] == "Staff"


@pytest.mark.parametrize("command", ["generate-ini", "validate", "show-mappings", "preview"])
def test_every_command_has_help(command):
    result = subprocess.run([sys.executable, "-m", "airflow_provider_oomnitza.cli", command, "--help"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "--ini" in result.stdout


def test_show_mappings_merges_server_mappings_when_oomnitza_is_reachable(tmp_path, capsys, oomnitza_sandbox):
    oomnitza_sandbox.state.mappings["Okta"] = {"profile.nickName": "FIRST_NAME", "profile.title": ["POSITION"]}
    ini = tmp_path / "c.ini"
    ini.write_text(f"[oomnitza]\nurl = {oomnitza_sandbox.url}\napi_token = sandbox-token\n\n[okta]\nenable = yes\n"
                   "api_token = x\ndefault_role = 3\ndefault_position = Staff\n")
    assert main(["show-mappings", "okta", "--ini", str(ini)]) == 0
    out = capsys.readouterr().out
    assert "with Oomnitza's server-side mappings" in out
    mappings = json.loads(out[out.index("{"):out.rindex("}") + 1])
    assert mappings["FIRST_NAME"] == {"source": "profile.nickName"}
    assert mappings["POSITION"] == {"source": "profile.title"}


def test_show_mappings_falls_back_to_offline_when_oomnitza_is_unreachable(tmp_path, capsys):
    ini = tmp_path / "c.ini"
    ini.write_text("[oomnitza]\nurl = http://127.0.0.1:9\napi_token = t\n\n[okta]\nenable = yes\n"
                   "api_token = x\ndefault_role = 3\ndefault_position = Staff\n")
    assert main(["show-mappings", "okta", "--ini", str(ini)]) == 0
    captured = capsys.readouterr()
    assert "offline: without server-side mappings" in captured.out
    assert "note: Oomnitza not reachable" in captured.err


def test_ini_path_from_airflow_config(tmp_path, monkeypatch, capsys):
    path = tmp_path / "af.ini"
    path.write_text("[oomnitza]\nurl = https://o\napi_token = t\n")
    monkeypatch.setenv("AIRFLOW__OOMNITZA__INI_PATH", str(path))
    assert main(["validate"]) == 0
    assert str(path) in capsys.readouterr().out


PREVIEW_CSV = "\ufeffserial,maker,office\nA1,Apple,New York Office\nB2,Dell,Atlantis\n"
PREVIEW_SECTION = ("[csv_assets]\nenable = yes\nfilename = a.csv\nsync_field = SN\nmapping.SN = serial\n"
                   'mapping.LOCATION = {"source": "office", "converter": "location"}\n')


def test_preview_uses_the_runs_server_mappings_and_locations_when_oomnitza_is_reachable(
        tmp_path, capsys, oomnitza_sandbox):
    oomnitza_sandbox.state.mappings["CSV_assets"] = {"maker": "MANUFACTURER"}
    ini = tmp_path / "c.ini"
    ini.write_text(f"[oomnitza]\nurl = {oomnitza_sandbox.url}\napi_token = sandbox-token\n\n" + PREVIEW_SECTION)
    data = tmp_path / "raw.csv"
    data.write_text(PREVIEW_CSV)
    assert main(["preview", "csv_assets", "--ini", str(ini), "--input", str(data)]) == 0
    captured = capsys.readouterr()
    assert [json.loads(line) for line in captured.out.splitlines()] == [
        {"SN": "A1", "MANUFACTURER": "Apple", "LOCATION": "NYC-01"},
        {"SN": "B2", "MANUFACTURER": "Dell", "LOCATION": "Atlantis"},
    ]
    assert "server-side mappings for 'CSV_assets' and 4 Oomnitza locations" in captured.err
    assert "Could not lookup Location values for the following values: ['Atlantis']" in captured.err
    assert "left out" not in captured.err


@pytest.mark.parametrize("offline", [True, False], ids=["--offline", "unreachable"])
def test_preview_offline_says_exactly_what_it_left_out(tmp_path, capsys, offline):
    ini = tmp_path / "c.ini"
    ini.write_text("[oomnitza]\nurl = http://127.0.0.1:9\napi_token = t\n\n" + PREVIEW_SECTION)
    data = tmp_path / "raw.csv"
    data.write_text(PREVIEW_CSV)
    args = ["preview", "csv_assets", "--ini", str(ini), "--input", str(data)] + (["--offline"] if offline else [])
    assert main(args) == 0
    captured = capsys.readouterr()
    assert [json.loads(line) for line in captured.out.splitlines()] == [
        {"SN": "A1", "LOCATION": "New York Office"}, {"SN": "B2", "LOCATION": "Atlantis"},
    ]
    [note] = [line for line in captured.err.splitlines() if line.startswith("note: offline")]
    assert ("--offline" in note) is offline and ("Oomnitza not reachable" in note) is not offline
    assert "left out, unlike a run: Oomnitza's server-side mappings for 'CSV_assets'" in note
    assert "location lookups on LOCATION (values are shown unconverted)" in note
