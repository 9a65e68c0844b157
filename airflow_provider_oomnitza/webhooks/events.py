"""Jamf Pro webhook payloads: which events we sync and where each puts the device.

Jamf POSTs ``{"webhook": {"id", "name", "webhookEvent", "eventTimestamp"}, "event": {...}}``.
Inventory, push-capability and every mobile-device event carry the device directly in
``event`` (``event.jssID``); Jamf Pro 10+ nests it for check-ins and policy runs
(``event.computer.jssID``), which the original connector missed. ``eventTimestamp`` is epoch
milliseconds in Jamf's docs (absent before Jamf Pro 10.12); some generators send seconds.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from typing import Any

COMPUTER_EVENTS = ("ComputerAdded", "ComputerCheckIn", "ComputerInventoryCompleted", "ComputerPolicyFinished",
                   "ComputerPushCapabilityChanged")
MOBILE_EVENTS = ("MobileDeviceCheckIn", "MobileDeviceCommandCompleted", "MobileDeviceEnrolled",
                 "MobileDevicePushSent", "MobileDeviceUnEnrolled")
# event name -> the sync_type of the sections that sync its device
EVENT_KINDS = {**dict.fromkeys(COMPUTER_EVENTS, "computers"), **dict.fromkeys(MOBILE_EVENTS, "mobiledevices")}
# where the device may sit inside "event", in the order they are tried
DEVICE_PLACES = ((), ("computer",), ("mobileDevice",), ("device",))
_MS_THRESHOLD = 10 ** 11  # larger epoch values are milliseconds (10**11 s is the year 5138)


class PayloadError(ValueError):
    """The body is not a Jamf webhook we can read; the message says what was expected."""


@dataclass(frozen=True)
class JamfEvent:
    name: str
    kind: str | None  # "computers" / "mobiledevices", None for events we do not sync
    device_id: str | None = None
    serial_number: str | None = None
    webhook_id: int | None = None
    webhook_name: str | None = None
    event_time: str | None = None  # ISO 8601 UTC

    @property
    def supported(self) -> bool:
        return self.kind is not None

    @property
    def device_key(self) -> str:
        """What a run looks the device up by: the Jamf Pro id, else the serial number."""
        return self.device_id or self.serial_number or ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_event(body: bytes) -> JamfEvent:
    """The event in a webhook body; raises PayloadError naming what is wrong."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"the body is not JSON ({exc}); set the webhook's content type to JSON in Jamf Pro") \
            from None
    if not isinstance(payload, dict):
        raise PayloadError(f"expected a JSON object with 'webhook' and 'event', got {type(payload).__name__}")
    webhook = payload.get("webhook")
    if not isinstance(webhook, dict):
        raise PayloadError("expected 'webhook' to be an object with webhookEvent, id, name and eventTimestamp")
    name = webhook.get("webhookEvent")
    if not isinstance(name, str) or not name.strip():
        raise PayloadError("expected 'webhook.webhookEvent' to be the event name, e.g. \"ComputerCheckIn\"")
    event = payload.get("event")
    if not isinstance(event, dict):
        raise PayloadError(f"expected 'event' to be an object (webhookEvent {name})")
    common = {"name": name, "webhook_id": _optional_int(webhook, "id"),
              "webhook_name": webhook.get("name") if isinstance(webhook.get("name"), str) else None,
              "event_time": _event_time(webhook.get("eventTimestamp"))}
    kind = EVENT_KINDS.get(name)
    if kind is None:
        return JamfEvent(kind=None, **common)
    device_id, serial = _device(event, name)
    return JamfEvent(kind=kind, device_id=device_id, serial_number=serial, **common)


def _device(event: dict, name: str) -> tuple[str | None, str | None]:
    """``(jssID, serialNumber)`` from the first place in ``event`` that holds a device."""
    for place in DEVICE_PLACES:
        holder: Any = event
        for key in place:
            holder = holder.get(key) if isinstance(holder, dict) else None
        if not isinstance(holder, dict):
            continue
        where = ".".join(("event", *place))
        device_id = _device_id(holder.get("jssID"), f"{where}.jssID")
        serial = holder.get("serialNumber")
        serial = serial.strip() if isinstance(serial, str) and serial.strip() else None
        if device_id or serial:
            return device_id, serial
    raise PayloadError(f"{name}: no device in the event: expected event.jssID or event.computer.jssID "
                       "(or a serialNumber next to it)")


def _device_id(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise PayloadError(f"expected {where} to be the Jamf Pro id (a whole number), got {value!r}")
    text = str(value).strip()
    if not text.isdigit():
        raise PayloadError(f"expected {where} to be the Jamf Pro id (a whole number), got {value!r}")
    return str(int(text))


def _optional_int(holder: dict, key: str) -> int | None:
    value = holder.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _event_time(value: Any) -> str | None:
    """Epoch milliseconds (Jamf) or seconds (some generators) as ISO 8601 UTC; None if absent."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise PayloadError(f"expected webhook.eventTimestamp to be epoch milliseconds, got {value!r}")
    seconds = value / 1000 if value >= _MS_THRESHOLD else value
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        raise PayloadError(f"webhook.eventTimestamp {value!r} is not a date") from None
