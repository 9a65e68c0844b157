"""Reading Jamf webhook payloads: every event shape, every place the device id sits, timestamps."""
import json

import pytest

from airflow_provider_oomnitza.webhooks.events import EVENT_KINDS, PayloadError, parse_event
from tests.webhooks.payloads import (SDK_MODELS, UNSUPPORTED_SDK_MODELS, computer_check_in, mobile_command_completed,
                                     sdk_device, sdk_payload)


def parse(payload) -> object:
    return parse_event(json.dumps(payload).encode())


def test_the_ten_events_of_the_spec():
    assert sorted(EVENT_KINDS) == sorted([
        "ComputerAdded", "ComputerCheckIn", "ComputerInventoryCompleted", "ComputerPolicyFinished",
        "ComputerPushCapabilityChanged", "MobileDeviceCheckIn", "MobileDeviceCommandCompleted",
        "MobileDeviceEnrolled", "MobileDevicePushSent", "MobileDeviceUnEnrolled"])


@pytest.mark.parametrize("name", sorted(SDK_MODELS))
def test_every_sdk_generated_event_yields_its_device(name):
    payload = sdk_payload(SDK_MODELS[name])
    event = parse(payload)
    device = sdk_device(payload)
    assert event.name == name and event.supported
    assert event.kind == ("computers" if name.startswith("Computer") else "mobiledevices")
    assert event.device_id == str(device["jssID"]) and event.serial_number == device["serialNumber"]
    assert event.device_key == str(device["jssID"])
    assert event.webhook_id == payload["webhook"]["id"]


def test_check_ins_and_policy_runs_nest_the_computer_which_the_original_missed():
    for name in ("ComputerCheckIn", "ComputerPolicyFinished"):
        payload = sdk_payload(name)
        assert "jssID" not in payload["event"] and "jssID" in payload["event"]["computer"]
        assert parse(payload).device_id == str(payload["event"]["computer"]["jssID"])
    assert parse(computer_check_in(nested=False)).device_id == "42"  # the pre-10 flat form


def test_mobile_device_command_completed_is_flat():
    event = parse(mobile_command_completed(jss_id=31))
    assert (event.name, event.kind, event.device_id, event.serial_number) == (
        "MobileDeviceCommandCompleted", "mobiledevices", "31", "DMPXK2ABCD12")


def test_timestamps_in_milliseconds_or_seconds_mean_the_same_instant():
    ms = parse(computer_check_in(timestamp=1775038272000)).event_time
    s = parse(computer_check_in(timestamp=1775038272)).event_time
    assert ms == s == "2026-04-01T10:11:12+00:00"
    assert parse(sdk_payload("ComputerAdded")).event_time.startswith("20")  # the SDK sends seconds
    payload = computer_check_in()
    del payload["webhook"]["eventTimestamp"]  # before Jamf Pro 10.12
    assert parse(payload).event_time is None


def test_a_string_id_and_a_serial_only_event():
    payload = computer_check_in(jss_id="0042")
    assert parse(payload).device_id == "42"
    payload = computer_check_in(jss_id=None)
    event = parse(payload)
    assert event.device_id is None and event.device_key == "C02XK1ABJGH5"


@pytest.mark.parametrize("name", UNSUPPORTED_SDK_MODELS)
def test_other_jamf_events_are_read_but_not_supported(name):
    event = parse(sdk_payload(name))
    assert not event.supported and event.kind is None and event.name


@pytest.mark.parametrize("body, message", [
    (b"", "not JSON"),
    (b"<JSSEvent></JSSEvent>", "not JSON"),
    (b"\xff\xfe", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"event": {}}', "'webhook'"),
    (b'{"webhook": {"id": 1}, "event": {}}', "webhookEvent"),
    (b'{"webhook": {"webhookEvent": 5}, "event": {}}', "webhookEvent"),
    (b'{"webhook": {"webhookEvent": "ComputerAdded"}, "event": []}', "'event'"),
    (b'{"webhook": {"webhookEvent": "ComputerAdded"}, "event": {"deviceName": "x"}}', "no device"),
    (b'{"webhook": {"webhookEvent": "ComputerCheckIn"}, "event": {"computer": {"jssID": "abc"}}}',
     "event.computer.jssID"),
    (b'{"webhook": {"webhookEvent": "ComputerAdded"}, "event": {"jssID": true}}', "event.jssID"),
    (b'{"webhook": {"webhookEvent": "ComputerAdded"}, "event": {"jssID": 1.5}}', "event.jssID"),
    (b'{"webhook": {"webhookEvent": "ComputerAdded", "eventTimestamp": "soon"}, "event": {"jssID": 1}}',
     "eventTimestamp"),
    (b'{"webhook": {"webhookEvent": "ComputerAdded", "eventTimestamp": -5}, "event": {"jssID": 1}}',
     "eventTimestamp"),
    (b'{"webhook": {"webhookEvent": "ComputerAdded", "eventTimestamp": 1e300}, "event": {"jssID": 1}}',
     "eventTimestamp"),
])
def test_malformed_bodies_are_explained(body, message):
    with pytest.raises(PayloadError, match=message):
        parse_event(body)
