"""The webhook endpoint with FastAPI's TestClient: sections, auth, event shapes and every answer."""
import base64
import json
import random

import pytest
from fastapi.testclient import TestClient

from airflow_provider_oomnitza.webhooks.app import IniSections, create_app
from airflow_provider_oomnitza.webhooks.auth import conn_id_for
from airflow_provider_oomnitza.webhooks.events import EVENT_KINDS
from airflow_provider_oomnitza.webhooks.pending import PendingEvents
from tests.webhooks.payloads import (SDK_MODELS, UNSUPPORTED_SDK_MODELS, computer_check_in, mobile_command_completed,
                                     sdk_payload)

JAMF = "url = https://jamf.example.com\nusername = auditor\npassword = pw\nsync_field = SERIAL_NUMBER\n"
INI = f"""[oomnitza]
url = https://example.oomnitza.com
api_token = t0ken

[casper]
enable = true
{JAMF}
[casper.MDM]
enable = true
sync_type = mobiledevices
{JAMF}
[casper.1]
enable = false
{JAMF}
[csv_assets]
enable = true
filename = /tmp/assets.csv
sync_field = SERIAL_NUMBER
mapping.SERIAL_NUMBER = {{"source": "serial"}}
"""
BASIC = ("jamf-webhooks", "correct horse battery")


def connection(login="", password="", headers=None) -> str:
    conn = {"conn_type": "http", "login": login, "password": password}
    if headers is not None:
        conn["extra"] = {"headers": headers}
    return json.dumps(conn)


class Harness:
    def __init__(self, tmp_path, monkeypatch):
        self.ini = tmp_path / "config.ini"
        self.ini.write_text(INI)
        self.storage = f"file://{tmp_path / 'runs'}"
        monkeypatch.setenv("OOMNITZA_STORAGE", self.storage)
        self.monkeypatch = monkeypatch
        self.runs: list[tuple[str, dict]] = []
        self.fail_run = False
        self.fail_store = False
        self.client = TestClient(create_app(sections=IniSections(self.ini), pending=self._pending,
                                            request_run=self._request_run))

    def _pending(self, section):
        if self.fail_store:
            raise OSError("bucket unreachable")
        return PendingEvents(section)

    def _request_run(self, section, extra):
        if self.fail_run:
            raise RuntimeError("database is locked")
        self.runs.append((section, extra))
        return "run requested"

    def connect(self, conn_id="oomnitza_webhook", **kwargs):
        self.monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection(**kwargs))

    def post(self, section="casper", payload=None, body=None, auth=BASIC, headers=None, path="/hooks/jamf/"):
        content = body if body is not None else json.dumps(payload or computer_check_in()).encode()
        return self.client.post(path + section, content=content, auth=auth,
                                headers={"Content-Type": "application/json", **(headers or {})})

    def pending(self, section="casper") -> list[dict]:
        return [event for _, event in PendingEvents(section).snapshot()]


@pytest.fixture
def hook(tmp_path, monkeypatch):
    for name in ("OOMNITZA_WEBHOOK", "OOMNITZA_WEBHOOK_CASPER", "OOMNITZA_WEBHOOK_CASPER_MDM"):
        monkeypatch.delenv(f"AIRFLOW_CONN_{name}", raising=False)
    return Harness(tmp_path, monkeypatch)


@pytest.fixture
def basic(hook):
    hook.connect(login=BASIC[0], password=BASIC[1])
    return hook


# -- authentication -----------------------------------------------------------------------------

def test_right_basic_credentials_store_the_event_and_request_a_run(basic):
    response = basic.post(payload=computer_check_in(jss_id=42))
    assert response.status_code == 202
    assert response.json() == {"status": "accepted", "section": "casper", "event": "ComputerCheckIn",
                               "device": "42", "run": "run requested"}
    [event] = basic.pending()
    assert (event["section"], event["name"], event["device_id"], event["device_key"]) == (
        "casper", "ComputerCheckIn", "42", "42")
    assert event["serial_number"] == "C02XK1ABJGH5" and event["event_time"] == "2026-04-01T10:11:12+00:00"
    assert basic.runs == [("casper", {"event": "ComputerCheckIn", "device": "42", "file": basic.runs[0][1]["file"]})]
    assert PendingEvents("casper").names() == [basic.runs[0][1]["file"]]


@pytest.mark.parametrize("auth", [None, ("jamf-webhooks", "wrong"), ("someone", BASIC[1]), ("", ""),
                                  ("jamf-webhooks", BASIC[1] + "x")])
def test_missing_or_wrong_basic_credentials_get_401_and_trigger_nothing(basic, auth):
    response = basic.post(auth=auth)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert basic.pending() == [] and basic.runs == []


@pytest.mark.parametrize("authorization", ["Basic !!!notbase64", "Basic " + base64.b64encode(b"no-colon").decode(),
                                           "Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "Bearer abc", "Basic"])
def test_malformed_authorization_headers_get_401(basic, authorization):
    response = basic.post(auth=None, headers={"Authorization": authorization})
    assert response.status_code == 401 and basic.runs == []


def test_header_authentication_as_pasted_into_jamf(hook):
    hook.connect(headers={"X-Oomnitza-Token": "0123456789abcdef", "X-Tenant": "acme"})
    good = {"X-Oomnitza-Token": "0123456789abcdef", "X-Tenant": "acme"}
    assert hook.post(auth=None, headers=good).status_code == 202
    assert hook.post(auth=None, headers={"x-oomnitza-token": "0123456789abcdef", "x-tenant": "acme"}).status_code == 202
    assert hook.post(auth=None, headers={**good, "X-Tenant": "other"}).status_code == 401
    assert hook.post(auth=None, headers={"X-Oomnitza-Token": "0123456789abcdef"}).status_code == 401
    assert hook.post(auth=None).status_code == 401
    assert hook.post(auth=BASIC).status_code == 401  # Basic is not configured on this connection
    assert len(hook.runs) == 2


def test_a_connection_may_offer_basic_and_header_authentication(hook):
    hook.connect(login=BASIC[0], password=BASIC[1], headers={"Authorization": "Bearer s3cr3t-t0ken"})
    assert hook.post(auth=BASIC).status_code == 202
    assert hook.post(auth=None, headers={"Authorization": "Bearer s3cr3t-t0ken"}).status_code == 202
    assert hook.post(auth=None, headers={"Authorization": "Bearer nope"}).status_code == 401


def test_a_section_connection_replaces_the_shared_one(hook):
    hook.connect(login=BASIC[0], password=BASIC[1])
    hook.connect(conn_id_for("casper.MDM"), login="mdm", password="mdm-secret-pw")
    assert conn_id_for("casper.MDM") == "oomnitza_webhook_casper_mdm"
    mobile = sdk_payload("MobileDeviceCheckIn")
    assert hook.post("casper.MDM", mobile, auth=BASIC).status_code == 401
    assert hook.post("casper.MDM", mobile, auth=("mdm", "mdm-secret-pw")).status_code == 202
    assert hook.post("casper", auth=BASIC).status_code == 202  # casper still uses the shared connection


@pytest.mark.parametrize("conn", [None, {}, {"headers": {}}, {"headers": ["X-Token"]}, {"headers": {"X-T": 5}}])
def test_without_usable_credentials_everything_is_refused(hook, conn):
    if conn is not None:
        hook.connect(**conn)
    assert hook.post(auth=None).status_code == 401
    assert hook.post(auth=("", "")).status_code == 401
    assert hook.runs == [] and hook.pending() == []


# -- sections -----------------------------------------------------------------------------------

@pytest.mark.parametrize("path, section", [("/", "casper"), ("/it/does/not/matter/", "casper"),
                                           ("/a/", "casper.MDM")])
def test_the_last_path_segment_names_the_section(basic, path, section):
    payload = sdk_payload("MobileDeviceEnrolled") if section == "casper.MDM" else computer_check_in()
    response = basic.post(section, payload, path=path)
    assert response.status_code == 202 and response.json()["section"] == section


@pytest.mark.parametrize("section", ["nope", "casper.1", "csv_assets", "CASPER", ""])
def test_unknown_disabled_or_non_jamf_sections_get_404(basic, section):
    response = basic.post(section)
    assert response.status_code == 404 and section in response.json()["detail"]
    assert basic.runs == []


def test_a_changed_ini_is_read_again(basic):
    assert basic.post("casper.1").status_code == 404
    basic.ini.write_text(basic.ini.read_text().replace("enable = false", "enable = true") + "\n")
    assert basic.post("casper.1").status_code == 202


# -- events -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SDK_MODELS))
def test_every_sdk_generated_event_reaches_the_section_that_syncs_its_kind(basic, name):
    payload = sdk_payload(SDK_MODELS[name])
    right, wrong = ("casper", "casper.MDM") if name.startswith("Computer") else ("casper.MDM", "casper")
    response = basic.post(right, payload)
    assert response.status_code == 202 and response.json()["status"] == "accepted"
    device = payload["event"].get("computer", payload["event"])
    assert [e["device_id"] for e in basic.pending(right)] == [str(device["jssID"])]
    ignored = basic.post(wrong, payload)
    assert ignored.status_code == 202 and ignored.json()["status"] == "ignored"
    assert "sync_type" in ignored.json()["note"] and basic.pending(wrong) == []
    assert len(basic.runs) == 1


def test_mobile_device_command_completed(basic):
    response = basic.post("casper.MDM", mobile_command_completed(jss_id=77))
    assert response.status_code == 202 and response.json()["device"] == "77"


def test_all_ten_events_are_accepted(basic):
    for name in EVENT_KINDS:
        if name == "MobileDeviceCommandCompleted":
            payload = mobile_command_completed()
        else:
            payload = sdk_payload(SDK_MODELS[name])
        section = "casper" if name.startswith("Computer") else "casper.MDM"
        assert basic.post(section, payload).json()["status"] == "accepted", name
    assert len(basic.pending("casper")) == 5 and len(basic.pending("casper.MDM")) == 5


@pytest.mark.parametrize("model", UNSUPPORTED_SDK_MODELS)
def test_unsupported_events_get_202_with_a_note_and_trigger_nothing(basic, model):
    response = basic.post(payload=sdk_payload(model))
    assert response.status_code == 202
    assert response.json()["status"] == "ignored" and "not synced" in response.json()["note"]
    assert basic.pending() == [] and basic.runs == []


# -- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'{"webhook": {}}', b"\x00\xff",
                                  b'{"webhook": {"webhookEvent": "ComputerAdded"}, "event": {"jssID": "x1"}}'])
def test_malformed_or_wrong_shaped_bodies_get_400(basic, body):
    response = basic.post(body=body)
    assert response.status_code == 400 and response.json()["detail"]
    assert basic.pending() == [] and basic.runs == []


def test_xml_bodies_get_415(basic):
    response = basic.post(body=b"<JSSEvent/>", headers={"Content-Type": "application/xml; charset=UTF-8"})
    assert response.status_code == 415 and "JSON" in response.json()["detail"]


def test_oversized_bodies_get_413_whether_declared_or_streamed(basic, monkeypatch):
    monkeypatch.setenv("AIRFLOW__OOMNITZA__WEBHOOK_MAX_BODY", "2048")
    payload = computer_check_in()
    payload["event"]["padding"] = "x" * 4000
    assert basic.post(payload=payload).status_code == 413

    def chunks():  # no Content-Length: the limit applies while reading
        body = json.dumps(payload).encode()
        for i in range(0, len(body), 512):
            yield body[i:i + 512]
    response = basic.client.post("/x/casper", content=chunks(), auth=BASIC)
    assert response.status_code == 413
    assert basic.post(payload=computer_check_in()).status_code == 202  # a normal body still fits
    assert len(basic.runs) == 1


def test_unauthenticated_oversized_bodies_are_refused_before_reading(basic):
    response = basic.post(body=b"x" * 200_000, auth=None)
    assert response.status_code == 401


def test_random_garbage_never_causes_a_server_error(basic):
    rng = random.Random(7)
    base = json.dumps(computer_check_in()).encode()
    for _ in range(150):
        body = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            body[rng.randrange(len(body))] = rng.randrange(256)
        status = basic.post(body=bytes(body)).status_code
        assert status in (202, 400), status


def test_get_is_not_allowed(basic):
    assert basic.client.get("/x/casper", auth=BASIC).status_code == 405


# -- storage and scheduler trouble -------------------------------------------------------------

def test_unwritable_storage_is_503_and_requests_no_run(basic):
    basic.fail_store = True
    response = basic.post()
    assert response.status_code == 503 and basic.runs == []


def test_a_failed_run_request_keeps_the_event_for_the_next_run(basic):
    basic.fail_run = True
    response = basic.post(payload=computer_check_in(jss_id=9))
    assert response.status_code == 202 and "waits for the next run" in response.json()["run"]
    assert [e["device_id"] for e in basic.pending()] == ["9"]


def test_the_run_request_is_tried_again_when_the_database_hiccups(monkeypatch):
    from airflow_provider_oomnitza.webhooks import app as app_module
    from airflow_provider_oomnitza.webhooks import scheduling

    calls = []

    def flaky(section, extra):
        calls.append(section)
        if len(calls) < 3:
            raise RuntimeError("could not serialize access")
        return "run requested"

    monkeypatch.setattr(scheduling, "request_run", flaky)
    assert app_module._default_request_run("casper", {}) == "run requested" and len(calls) == 3
    calls.clear()
    monkeypatch.setattr(app_module, "RUN_REQUEST_ATTEMPTS", 2)
    with pytest.raises(RuntimeError):
        app_module._default_request_run("casper", {})
    assert len(calls) == 2
