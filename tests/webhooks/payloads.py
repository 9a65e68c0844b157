"""Jamf webhook bodies for tests: jamf-pro-sdk's generator (unchanged) and hand-written ones."""
from __future__ import annotations

import json

# jamf-pro-sdk models per event; MobileDeviceCommandCompleted has none there (hand-written below).
SDK_MODELS = {
    "ComputerAdded": "ComputerAdded",
    "ComputerCheckIn": "ComputerCheckIn",
    "ComputerInventoryCompleted": "ComputerInventoryCompleted",
    "ComputerPolicyFinished": "ComputerPolicyFinished",
    "ComputerPushCapabilityChanged": "ComputerPushCapabilityChanged",
    "MobileDeviceCheckIn": "MobileDeviceCheckIn",
    "MobileDeviceEnrolled": "MobileDeviceEnrolled",
    "MobileDevicePushSent": "MobileDevicePushSent",
    "MobileDeviceUnEnrolled": "MobileDeviceUnEnrolled",
}
UNSUPPORTED_SDK_MODELS = ("JssStartup", "PushSent", "RestApiOperation", "SmartGroupComputerMembershipChange",
                          "DeviceAddedToDep")


def sdk_payload(model_name: str) -> dict:
    """A body built by jamf-pro-sdk's webhook generator for one of its models."""
    from jamf_pro_sdk.clients.webhooks import get_webhook_generator
    from jamf_pro_sdk.models.webhooks import webhooks

    return json.loads(get_webhook_generator(getattr(webhooks, model_name)).build().model_dump_json())


def sdk_device(payload: dict) -> dict:
    event = payload["event"]
    return event.get("computer", event)


def mobile_command_completed(jss_id: int = 31, serial: str = "DMPXK2ABCD12", timestamp: int = 1775038272000) -> dict:
    """Jamf's documented MobileDeviceCommandCompleted shape (the flat mobile-device event)."""
    return {"webhook": {"id": 12, "name": "Oomnitza command completed", "webhookEvent": "MobileDeviceCommandCompleted",
                        "eventTimestamp": timestamp},
            "event": {"bluetoothMacAddress": "70:A2:B3:00:00:31", "deviceName": "iPad-031", "icciID": "",
                      "imei": "35 000000 000031 0", "ipAddress": "10.0.0.31", "jssID": jss_id, "model": "iPad Air",
                      "modelDisplay": "iPad Air", "osBuild": "21E236", "osVersion": "17.4", "product": None,
                      "room": "", "serialNumber": serial, "udid": "0000-31", "userDirectoryID": "-1",
                      "username": "jdoe", "version": "17.4", "wifiMacAddress": "70:A2:B3:00:01:31",
                      "managementId": "a1b2c3"}}


def computer_check_in(jss_id=42, serial="C02XK1ABJGH5", timestamp=1775038272000, nested=True) -> dict:
    """Jamf Pro 10+ ComputerCheckIn (device under event.computer); ``nested=False``: the pre-10 flat form."""
    device = {"jssID": jss_id, "serialNumber": serial, "udid": "5A1B-E9", "deviceName": "MBP-0042",
              "model": "MacBook Pro (14-inch, 2023)", "osVersion": "14.4", "osBuild": "23E214",
              "macAddress": "F0:18:98:00:00:42", "username": "jdoe", "emailAddress": "jdoe@example.com"}
    event = {"trigger": "CLIENT_CHECKIN", "username": "jdoe", "computer": device} if nested else device
    return {"webhook": {"id": 7, "name": "oomnitza-checkin", "webhookEvent": "ComputerCheckIn",
                        "eventTimestamp": timestamp}, "event": event}
