"""Deterministic SIM inventories ("terminals") for the Jasper / Control Center simulator.

``generate_terminals(n, seed, now)`` returns ``n`` light :class:`Terminal` index entries (ICCID,
account, status, last change); :meth:`Terminal.details` renders the full record of the SOAP
``TerminalType`` on demand from a per-terminal seed, so 50 000 SIMs are cheap to hold and only the
ones asked for are rendered.  The same ``seed`` and ``now`` always give the same inventory.

What makes the data realistic enough to catch hook bugs:

* Luhn-valid 20-digit ICCIDs (``89`` + ``01`` + issuer ...), 15-digit IMSIs, Luhn-valid IMEIs,
  MSISDNs; every ICCID unique;
* the SIM lifecycle states of Control Center (``ACTIVATED_NAME``, ``ACTIVATION_READY_NAME``,
  ``DEACTIVATED_NAME``, ``INVENTORY_NAME``, ``TEST_READY_NAME``, ``RETIRED_NAME``,
  ``PURGED_NAME``), with what each implies: inventory SIMs were never activated (no
  ``dateActivated``, no IMEI, no MSISDN), purged SIMs lost their MSISDN;
* optional fields missing for some SIMs (terminalId, modemId, customer, endConsumerId,
  dateShipped, imei, msisdn, primaryICCID, globalSimType, simNotes), nil ``fixedIpAddress`` and
  ``ctdSessionCount``, empty custom fields;
* bulk changes: groups of SIMs sharing the exact same ``dateModified`` (a rate-plan change applied
  to many SIMs at once), so a watermark that falls on such a timestamp matters;
* non-ASCII customer names and notes with XML-special characters.
"""
from __future__ import annotations

import bisect
import datetime as _dt
import itertools
import random
from dataclasses import dataclass, field
from decimal import Decimal

# SIM states (``status``) and the ``simState`` filter value of GetModifiedTerminals they match.
STATUSES = {
    "ACTIVATED_NAME": "ACTIVATED",
    "ACTIVATION_READY_NAME": "ACTIVATIONREADY",
    "DEACTIVATED_NAME": "DEACTIVATED",
    "PURGED_NAME": "PURGED",
    "INVENTORY_NAME": "UNKNOWN",
    "TEST_READY_NAME": "UNKNOWN",
    "RETIRED_NAME": "UNKNOWN",
}
_STATUS_WEIGHTS = [("ACTIVATED_NAME", 70), ("ACTIVATION_READY_NAME", 7), ("DEACTIVATED_NAME", 10),
                   ("INVENTORY_NAME", 6), ("TEST_READY_NAME", 3), ("RETIRED_NAME", 3), ("PURGED_NAME", 1)]
NEVER_ACTIVATED = ("ACTIVATION_READY_NAME", "INVENTORY_NAME", "TEST_READY_NAME")

# Enterprise accounts one API user can see: accountId -> share of SIMs.
ACCOUNTS = {100200: 0.8, 100201: 0.2}
_CUSTOMERS = ["Acme Fleet Services", "Müller Logistik GmbH", "Société Générale de Transport",
              "Øresund Ferries A/S", "東京配送株式会社", "São Paulo Medições Ltda", "Smith & Sons Vending",
              "Kraków Smart Meters", "Nordic Cold Chain AB", "O'Reilly Elevators"]
_RATE_PLANS = ["IoT 1MB Pool", "IoT 5MB Pool", "M2M 100MB Shared", "Fleet 1GB Monthly", "Test Ready Plan",
               "Global Roaming 10MB"]
_TACS = ["35693803", "35328910", "86420103", "35209911", "01326300", "35161508"]
_NOTES = ["Installed in truck #{n}", "Swap pending <RMA> & replacement", "Kiosk {n} – lobby",
          "Meter at site {n}; access via gate \"B\"", "Zählerschrank {n}"]
MS = 1000


_DOUBLED = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]  # Luhn: 2*d with its digits summed


def luhn_digit(digits: str) -> str:
    """The Luhn check digit that completes ``digits``."""
    rev = digits[::-1]
    total = sum(_DOUBLED[int(c)] for c in rev[0::2]) + sum(int(c) for c in rev[1::2])
    return str((10 - total % 10) % 10)


def iso_ms(epoch_ms: int) -> str:
    """``2026-03-31T23:59:01.123Z``: the dateTime form Control Center answers with."""
    d = _dt.datetime.fromtimestamp(epoch_ms / MS, _dt.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % MS:03d}Z"


@dataclass
class Terminal:
    """What the simulator indexes about one SIM; the rest comes from :meth:`details`."""

    index: int
    iccid: str
    account_id: int
    status: str
    added_ms: int
    activated_ms: int | None
    modified_ms: int
    version: int = 1
    # Values set by ``touch`` (a change made in Control Center); they win over generated ones.
    overrides: dict = field(default_factory=dict)

    def details(self, seed: int) -> dict:
        """The full ``TerminalType`` record, in schema order.

        Values: ``None`` = element left out, :data:`NIL` = ``xsi:nil``, ``""`` = empty element;
        dicts are nested elements; the ``msisdn`` key is the XML attribute.
        """
        rng = random.Random(seed * 1_000_003 + self.index)
        status = self.overrides.get("status", self.status)
        never = status in NEVER_ACTIVATED
        shipped = self.added_ms + rng.randint(1, 20) * 86_400 * MS if rng.random() < 0.85 else None
        serial = self.iccid[7:19]
        imsi = "310170" + serial[-9:]
        imei = None if never or rng.random() < 0.12 else (
            (lambda body: body + luhn_digit(body))(rng.choice(_TACS) + f"{rng.randrange(10**6):06d}"))
        msisdn = None if never or status == "PURGED_NAME" or rng.random() < 0.03 else (
            f"1{rng.choice(['415', '650', '312', '646', '737'])}{rng.randrange(10**7):07d}")
        data_mb = Decimal(0) if never else Decimal(rng.randrange(0, 5_000_000)) / Decimal(1000)
        plan = rng.choice(_RATE_PLANS)
        term_start = self.activated_ms or self.added_ms
        rec = {
            "iccid": self.iccid,
            "terminalId": f"TRK-{rng.randrange(10**5):05d}" if rng.random() < 0.7 else None,
            "modemId": f"MDM{rng.randrange(16**8):08X}" if rng.random() < 0.5 else None,
            "customer": rng.choice(_CUSTOMERS) if rng.random() < 0.8 else None,
            "endConsumerId": str(rng.randrange(10**6, 10**7)) if rng.random() < 0.2 else None,
            "suspended": "N" if status != "DEACTIVATED_NAME" or rng.random() < 0.5 else "Y",
            "ratePlan": plan,
            "status": status,
            "monthToDateUsage": data_mb,
            "overageLimitReached": (not never) and rng.random() < 0.02,
            "overageLimitOverride": "DEFAULT",
            "dateActivated": iso_ms(self.activated_ms) if self.activated_ms else None,
            "dateAdded": iso_ms(self.added_ms),
            "dateModified": iso_ms(self.modified_ms),
            "dateShipped": iso_ms(shipped) if shipped else None,
            "monthToDateDataUsage": data_mb,
            "monthToDateSMSUsage": Decimal(0 if never else rng.randrange(0, 300)),
            "monthToDateVoiceUsage": Decimal(0 if never or rng.random() < 0.8 else rng.randrange(0, 90)),
            "secureSimId": "",
            "custom1": f"AT-{self.index:06d}" if rng.random() < 0.4 else "",
            "custom2": rng.choice(["", "", "North", "South", "Depot 7"]),
            "custom3": "",
            "rating": {
                "termStartDate": iso_ms(term_start),
                "termEndDate": iso_ms(term_start + 365 * 86_400 * MS),
                "renewalPolicy": "Auto-renew",
                "renewalRatePlan": plan,
                "totalPrimaryIncludedData": Decimal(rng.choice([1, 5, 100, 1024])),
                "primaryDataRemaining": Decimal(rng.randrange(0, 1024)),
                "totalPrimaryIncludedSMS": Decimal(rng.choice([0, 50, 500])),
                "primarySMSRemaining": Decimal(rng.randrange(0, 50)),
            },
            "secureSimUsernameCopyRule": "",
            "secureSimPasswordCopyRule": "",
            "accountId": self.account_id,
            "fixedIpAddress": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            if rng.random() < 0.15 else NIL,
            "ctdSessionCount": NIL if never or rng.random() < 0.1 else rng.randrange(0, 2000),
            **{f"customerCustom{i}": "" for i in range(1, 6)},
            "operatorCustom1": f"OP-{rng.randrange(10**6):06d}" if rng.random() < 0.3 else "",
            **{f"operatorCustom{i}": "" for i in range(2, 6)},
            "imsi": imsi,
            "primaryICCID": self.iccid if rng.random() < 0.05 else None,
            "imei": imei,
            "globalSimType": rng.choice(["", "PRIMARY", "SECONDARY"]) if rng.random() < 0.1 else None,
            "simNotes": rng.choice(_NOTES).format(n=rng.randrange(1, 999)) if rng.random() < 0.15 else None,
            "version": self.version,
            **{f"custom{i}": "" for i in range(4, 11)},
            "msisdn": msisdn,
        }
        rec.update({k: v for k, v in self.overrides.items() if k in rec})
        return rec


class _Nil:
    """Marker for an ``xsi:nil="true"`` element."""

    def __repr__(self) -> str:
        return "NIL"


NIL = _Nil()


def make_iccid(rng: random.Random, used: set[str]) -> str:
    """A unique Luhn-valid 20-digit ICCID with a US (``8901``) carrier prefix."""
    while True:
        body = "8901170" + f"{int(rng.random() * 10**12):012d}"
        iccid = body + luhn_digit(body)
        if iccid not in used:
            used.add(iccid)
            return iccid


def generate_terminals(n: int, seed: int, now: float) -> list[Terminal]:
    """``n`` SIMs added over the four years before ``now``, last changed at or before ``now``.

    Only the indexed fields are drawn here (50 000 SIMs in a few seconds); the rest of each record
    comes from :meth:`Terminal.details` when asked for.
    """
    rng = random.Random(seed)
    rand = rng.random
    now_ms = int(now * MS)
    day = 86_400 * MS
    used: set[str] = set()
    statuses = [s for s, _ in _STATUS_WEIGHTS]
    status_cum = list(itertools.accumulate(w for _, w in _STATUS_WEIGHTS))
    accounts = list(ACCOUNTS)
    account_cum = list(itertools.accumulate(ACCOUNTS.values()))
    out: list[Terminal] = []
    bulk_ms = 0
    bulk_left = 0
    for i in range(n):
        status = statuses[bisect.bisect(status_cum, rand() * status_cum[-1])]
        added = now_ms - int((61 + rand() * (4 * 365 - 61)) * day)
        activated = None
        if status not in NEVER_ACTIVATED:
            activated = min(added + int((2 + rand() * 58) * day), now_ms)
        earliest = activated or added
        if bulk_left == 0 and rand() < 0.01:
            bulk_left = 5 + int(rand() * 55)  # a bulk change: these SIMs share one dateModified
            bulk_ms = now_ms - int((1 + rand() * 199) * day)
        if bulk_left and bulk_ms >= earliest:
            modified = bulk_ms
            bulk_left -= 1
        else:
            modified = earliest + int(rand() * (now_ms - earliest))
        account = accounts[min(bisect.bisect(account_cum, rand() * account_cum[-1]), len(accounts) - 1)]
        out.append(Terminal(i, make_iccid(rng, used), account, status, added, activated, modified,
                            1 + int(rand() * 40)))
    return out
