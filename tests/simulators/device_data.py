"""Deterministic, realistic device fleets shared by the MDM simulators.

``generate_fleet(n, seed, now)`` returns ``n`` vendor-neutral :class:`Device` objects; each
simulator renders them in its own vendor's field names and formats.  The same ``seed`` and
``now`` always give the same fleet, and 10 000 devices take well under a second.

What makes the data realistic enough to catch hook bugs:

* a platform mix (iPhone, iPad, Mac, Apple TV, Android phones/tablets, Windows, ChromeOS) with
  vendor-typical serial formats, Luhn-valid IMEIs (phones and some tablets only), unique MACs;
* fields that are empty for some devices: no serial (some BYOD Android), no MAC, no user
  (staging/kiosk), no phone number, never checked in (``last_seen_at is None``);
* check-in ages spread from minutes to a year, so a "seen within N hours" cut-off matters;
* non-ASCII names (``José Núñez``, ``Zoë``, ``李雷``) in users and device names.
"""
from __future__ import annotations

import datetime as _dt
import random
import time as _time
import unicodedata
import uuid
from dataclasses import dataclass, field

APPLE_FAMILIES = ("iPhone", "iPad", "Mac", "AppleTV")
ALL_FAMILIES = APPLE_FAMILIES + ("AndroidPhone", "AndroidTablet", "Windows", "ChromeOS")

_FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
          "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
          "Sarah", "Priya", "Wei", "Aisha", "Mateo", "Sofia", "Liam", "Olivia", "Noah", "Emma",
          "José", "Zoë", "Björn", "Chloé", "François", "Søren", "Łukasz", "Ngozi", "Hiroshi",
          "Yuki", "Fatima", "Omar", "Ana", "Dmitri", "Ingrid", "Rahul", "Mei", "Kwame"]
_LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
         "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson",
         "Lee", "Patel", "Nguyen", "Kim", "Chen", "Müller", "Núñez", "O'Brien", "Ødegaard",
         "Kowalski", "Tanaka", "Okafor", "Haddad", "Ivanova", "Dubois", "Rossi", "Andersson",
         "Singh", "van der Berg", "MacLeod", "Schmidt", "García-López", "Yamamoto"]
_CJK = [("雷", "李"), ("芳", "王"), ("伟", "张")]
_DOMAINS = ["example.com"] * 8 + ["corp.example.com", "example.co.uk"]
_REGIONS = ["Corp", "Sales", "Field Ops", "EMEA", "Kiosks"]
_CARRIERS = ["AT&T", "Verizon", "T-Mobile", "Vodafone", "EE", "Telekom", "Orange", ""]

# (family, manufacturer, model, hardware id, os name, [(version, build)], colors, storages, weight)
_CATALOG = [
    ("iPhone", "Apple", "iPhone 15 Pro", "iPhone16,1", "iOS",
     [("17.4", "21E219"), ("17.5.1", "21F90"), ("18.1", "22B83")],
     ["Natural Titanium", "Black Titanium", "Blue Titanium"], [128, 256, 512], 10),
    ("iPhone", "Apple", "iPhone 14", "iPhone14,7", "iOS",
     [("16.7.8", "20H343"), ("17.4", "21E219"), ("17.5.1", "21F90")],
     ["Midnight", "Starlight", "Blue", "Purple"], [128, 256], 9),
    ("iPhone", "Apple", "iPhone SE (3rd generation)", "iPhone14,6", "iOS",
     [("16.7.8", "20H343"), ("17.4", "21E219")], ["Midnight", "Starlight", "(PRODUCT)RED"], [64, 128], 6),
    ("iPad", "Apple", "iPad Air (5th generation)", "iPad13,17", "iPadOS",
     [("17.4", "21E219"), ("17.5.1", "21F90")], ["Space Gray", "Blue", "Pink"], [64, 256], 5),
    ("iPad", "Apple", "iPad (9th generation)", "iPad12,1", "iPadOS",
     [("16.7.8", "20H343"), ("17.4", "21E219")], ["Space Gray", "Silver"], [64, 256], 5),
    ("Mac", "Apple", "MacBook Pro (14-inch, 2023)", "Mac14,9", "macOS",
     [("14.4.1", "23E224"), ("14.5", "23F79"), ("15.1", "24B83")], ["Space Black", "Silver"], [512, 1024], 7),
    ("Mac", "Apple", "MacBook Air (M2, 2022)", "Mac14,2", "macOS",
     [("13.6.6", "22G630"), ("14.4.1", "23E224")], ["Midnight", "Starlight", "Space Gray"], [256, 512], 7),
    ("Mac", "Apple", "Mac mini (2023)", "Mac14,3", "macOS", [("14.4.1", "23E224")], ["Silver"], [512], 2),
    ("AppleTV", "Apple", "Apple TV 4K (3rd generation)", "AppleTV14,1", "tvOS",
     [("17.4", "21L227")], ["Black"], [64, 128], 1),
    ("AndroidPhone", "samsung", "Galaxy S23", "SM-S911U", "Android",
     [("13", "TP1A.220624.014"), ("14", "UP1A.231005.007")], ["Phantom Black", "Cream", "Green"], [128, 256], 8),
    ("AndroidPhone", "samsung", "Galaxy A54 5G", "SM-A546E", "Android",
     [("13", "TP1A.220624.014"), ("14", "UP1A.231005.007")], ["Awesome Graphite", "Awesome Violet"], [128], 5),
    ("AndroidPhone", "Google", "Pixel 8", "shiba", "Android",
     [("14", "AP1A.240405.002"), ("15", "AP3A.241005.015")], ["Obsidian", "Hazel", "Rose"], [128, 256], 5),
    ("AndroidPhone", "Zebra Technologies", "TC52", "TC52", "Android",
     [("11", "11-49-09.00-RN-U00-STD"), ("13", "13-18-19.00-TG-U00-STD")], ["Black"], [32], 3),
    ("AndroidTablet", "samsung", "Galaxy Tab S9", "SM-X710", "Android",
     [("14", "UP1A.231005.007")], ["Graphite", "Beige"], [128, 256], 3),
    ("Windows", "Dell Inc.", "Latitude 7440", "Latitude 7440", "Windows",
     [("10.0.19045", "19045.4291"), ("10.0.22631", "22631.3447")], ["Black"], [256, 512], 9),
    ("Windows", "LENOVO", "ThinkPad T14 Gen 4", "21HD0053US", "Windows",
     [("10.0.22621", "22621.3447"), ("10.0.22631", "22631.3447")], ["Black"], [256, 512], 7),
    ("Windows", "HP", "EliteBook 840 G10", "EliteBook 840 G10", "Windows",
     [("10.0.22631", "22631.3447")], ["Silver"], [512], 4),
    ("Windows", "Microsoft Corporation", "Surface Pro 9", "Surface Pro 9", "Windows",
     [("10.0.22631", "22631.3447")], ["Platinum", "Graphite"], [256], 3),
    ("ChromeOS", "Google", "Chromebook Plus", "brya", "ChromeOS", [("124.0.6367.111", "15823.51.0")],
     ["Grey"], [128], 2),
]

_CPUS = {
    "Dell Inc.": ("13th Gen Intel(R) Core(TM) i7-1365U", 10),
    "LENOVO": ("AMD Ryzen 7 PRO 7840U w/ Radeon 780M Graphics", 8),
    "HP": ("13th Gen Intel(R) Core(TM) i5-1345U", 10),
    "Microsoft Corporation": ("12th Gen Intel(R) Core(TM) i5-1235U", 10),
}
_OUI = {"Apple": ["F0D1A9", "A4C361", "3C22FB", "BC9FEF"], "samsung": ["5C3C27", "8C7712", "A0CBFD"],
        "Google": ["3C286D", "F4F5E8"], "Zebra Technologies": ["00A0F8", "8C7BF0"],
        "Dell Inc.": ["D4AE52", "F8BC12"], "LENOVO": ["C85B76", "54E1AD"], "HP": ["9C7BEF", "3024A9"],
        "Microsoft Corporation": ["C49DED", "7C1E52"]}
_SERIAL_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass
class Person:
    user_id: int
    username: str
    first: str
    last: str
    email: str
    phone: str

    @property
    def display(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class Device:
    index: int
    family: str
    manufacturer: str
    model: str
    model_id: str
    os_name: str
    os_version: str
    os_build: str
    color: str
    storage_gb: int
    serial: str              # "" when the MDM does not know it
    imei: str                # "" for devices without a cellular modem
    wifi_mac: str            # 12 upper-case hex digits, "" when unknown
    ethernet_mac: str
    udid: str
    guid: str
    user: Person | None      # None for staging / kiosk / unassigned devices
    phone_number: str
    carrier: str
    ownership: str           # C (corporate), E (employee-owned), S (shared)
    region: str
    enrollment_status: str   # Enrolled / Unenrolled / EnrollmentInProgress / Registered
    enrolled_at: float | None
    last_seen_at: float | None  # None = never checked in
    compliant: bool | None
    compromised: bool
    supervised: bool
    encrypted: bool
    dep: bool                # assigned through Apple's Automated Device Enrollment
    device_name: str
    asset_tag: str
    ip_address: str
    ram_gb: int
    cpu: str
    cpu_cores: int
    extra: dict = field(default_factory=dict)

    @property
    def is_apple(self) -> bool:
        return self.family in APPLE_FAMILIES

    @property
    def is_computer(self) -> bool:
        return self.family in ("Mac", "Windows", "ChromeOS")


def _luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_ok(number: str) -> bool:
    return number.isdigit() and _luhn_digit(number[:-1]) == number[-1]


def _ascii(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text)
    return "".join(c for c in norm if c.isascii() and (c.isalnum()))


def _people(rng: random.Random, count: int) -> list[Person]:
    people, seen, counters = [], set(), {}
    for i in range(count):
        if rng.random() < 0.02:
            first, last = rng.choice(_CJK)
            base = f"user{i + 1000}"
        else:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            base = (_ascii(first)[:1] + _ascii(last)).lower() or f"user{i}"
        name, n = base, counters.get(base, 1)
        while name in seen:
            n += 1
            name = f"{base}{n}"
        counters[base] = n
        seen.add(name)
        phone = f"+1{rng.randint(201, 989)}555{rng.randint(0, 9999):04d}" if rng.random() < 0.8 else ""
        people.append(Person(3000 + i, name, first, last, f"{name}@{rng.choice(_DOMAINS)}", phone))
    return people


def _age_seconds(rng: random.Random) -> float | None:
    """Check-in ages spread so that any cut-off from 1 hour to 90 days splits the fleet."""
    r = rng.random()
    if r < 0.01:
        return None
    if r < 0.25:
        return rng.uniform(60, 2 * 3600)
    if r < 0.50:
        return rng.uniform(2 * 3600, 24 * 3600)
    if r < 0.70:
        return rng.uniform(24 * 3600, 3 * 86400)
    if r < 0.86:
        return rng.uniform(3 * 86400, 30 * 86400)
    return rng.uniform(30 * 86400, 365 * 86400)


def _serial(rng: random.Random, manufacturer: str) -> str:
    pick = rng.choices
    if manufacturer == "Apple":
        return "".join(pick(_SERIAL_CHARS, k=10 if rng.random() < 0.5 else 12))
    if manufacturer == "samsung":
        return "R5C" + "".join(pick(_ALNUM, k=8))
    if manufacturer == "Google":
        return str(rng.randint(10, 99)) + "".join(pick(_ALNUM, k=10))
    if manufacturer == "Zebra Technologies":
        return f"{rng.randint(20000, 23999)}{rng.randrange(10 ** 9):09d}"
    if manufacturer == "Dell Inc.":
        return "".join(pick(_ALNUM, k=7))
    if manufacturer == "LENOVO":
        return "PF" + "".join(pick(_ALNUM, k=6))
    if manufacturer == "HP":
        return "5CG" + "".join(pick(_ALNUM, k=7))
    return f"{rng.randrange(10 ** 12):012d}"


def generate_fleet(n: int, seed: int = 1, now: float | None = None,
                   families: tuple[str, ...] = ALL_FAMILIES) -> list[Device]:
    """``n`` devices, deterministic for a given ``seed`` and ``now`` (epoch seconds)."""
    import time

    now = time.time() if now is None else now
    rng = random.Random(seed)
    catalog = [c for c in _CATALOG if c[0] in families]
    weights = [c[8] for c in catalog]
    people = _people(rng, max(20, n * 2 // 3))
    serials: set[str] = set()
    macs: set[str] = set()
    devices = []
    for i in range(n):
        fam, manu, model, model_id, os_name, versions, colors, storages, _ = rng.choices(catalog, weights)[0]
        version, build = rng.choice(versions)
        phone = fam in ("iPhone", "AndroidPhone")
        cellular = phone or (fam in ("iPad", "AndroidTablet") and rng.random() < 0.3)
        ownership = "C" if fam in ("Mac", "Windows", "ChromeOS", "AppleTV") else rng.choices(
            "CES", [70, 20, 10])[0]
        serial = ""
        if not (ownership == "E" and fam.startswith("Android") and rng.random() < 0.5) and rng.random() > 0.003:
            serial = _serial(rng, manu)
            while serial in serials:
                serial = _serial(rng, manu)
            serials.add(serial)
        imei = ""
        if cellular:
            body = f"35{rng.randint(0, 999999):06d}{rng.randint(0, 999999):06d}"
            imei = body + _luhn_digit(body)
        wifi_mac = ""
        if rng.random() > 0.03:
            wifi_mac = rng.choice(_OUI.get(manu, ["02AB00"])) + f"{rng.getrandbits(24):06X}"
            while wifi_mac in macs:
                wifi_mac = rng.choice(_OUI.get(manu, ["02AB00"])) + f"{rng.getrandbits(24):06X}"
            macs.add(wifi_mac)
        ethernet_mac = ""
        if fam in ("Windows", "Mac") and rng.random() < 0.4:
            ethernet_mac = rng.choice(_OUI.get(manu, ["02AB00"])) + f"{rng.getrandbits(24):06X}"
        guid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if fam in ("iPhone", "iPad", "AppleTV"):
            udid = (f"{rng.getrandbits(32):08X}-{rng.getrandbits(64):016X}" if rng.random() < 0.8
                    else f"{rng.getrandbits(160):040x}")
        elif fam == "Mac":
            udid = str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper()
        else:
            udid = f"{rng.getrandbits(128):032X}"
        user = None if (ownership == "S" or fam == "AppleTV" or rng.random() < 0.04) else rng.choice(people)
        age = _age_seconds(rng)
        r = rng.random()
        if age is None:
            status = "Registered" if r < 0.6 else "EnrollmentInProgress"
            enrolled_at = None
        else:
            status = "Unenrolled" if (r < 0.04 or (age > 120 * 86400 and r < 0.5)) else "Enrolled"
            enrolled_at = now - age - rng.uniform(86400, 3 * 365 * 86400)
        last_seen = None if age is None else now - age
        first = user.first if user else ""
        if fam == "AppleTV":
            device_name = rng.choice(["Conference Room ", "Lobby ", "Board Room "]) + str(rng.randint(1, 40))
        elif user is None:
            device_name = f"{model_id}-{rng.randint(1000, 9999)}" if rng.random() < 0.5 else ""
        elif fam in ("Windows", "ChromeOS"):
            device_name = f"{'LT' if fam == 'Windows' else 'CB'}-{_ascii(user.username).upper()[:8]}-{rng.randint(10, 99)}"
        else:
            kind = {"iPhone": "iPhone", "iPad": "iPad", "Mac": "MacBook"}.get(fam, model)
            device_name = f"{first}’s {kind}" if rng.random() < 0.7 else f"{first} {kind}"
        apple = manu == "Apple"
        devices.append(Device(
            index=i, family=fam, manufacturer=manu, model=model, model_id=model_id, os_name=os_name,
            os_version=version, os_build=build, color=rng.choice(colors), storage_gb=rng.choice(storages),
            serial=serial, imei=imei, wifi_mac=wifi_mac, ethernet_mac=ethernet_mac, udid=udid, guid=guid,
            user=user, phone_number=(user.phone if (user and phone and rng.random() < 0.85) else ""),
            carrier=rng.choice(_CARRIERS) if cellular else "", ownership=ownership,
            region=rng.choices(_REGIONS, [40, 25, 15, 15, 5])[0] if ownership != "S" else "Kiosks",
            enrollment_status=status, enrolled_at=enrolled_at, last_seen_at=last_seen,
            compliant=None if status != "Enrolled" else rng.random() < 0.88,
            compromised=rng.random() < 0.01, supervised=apple and ownership != "E" and rng.random() < 0.9,
            encrypted=rng.random() < 0.93, dep=apple and ownership == "C" and rng.random() < 0.85,
            device_name=device_name,
            asset_tag=(f"AT-{rng.randint(100000, 999999)}" if ownership == "C" and rng.random() < 0.35 else ""),
            ip_address=f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(2, 254)}",
            ram_gb=rng.choice([8, 16, 16, 32]) if fam in ("Windows", "Mac") else rng.choice([4, 6, 8]),
            cpu=_CPUS.get(manu, ("Apple M2", 8))[0], cpu_cores=_CPUS.get(manu, ("Apple M2", 8))[1],
        ))
    return devices


# ---- timestamp formats -------------------------------------------------------------------

def iso_z(ts: float, millis: bool = False) -> str:
    """``2026-04-01T03:01:26Z`` (Apple) or ``2026-04-01T03:01:26.853Z`` with ``millis``."""
    d = _dt.datetime.fromtimestamp(ts, _dt.timezone.utc)
    if millis:
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def dotnet_naive(ts: float) -> str:
    """A SQL-Server ``datetime`` rendered by Json.NET: UTC, no zone, trailing zeros trimmed.

    SQL ``datetime`` keeps 1/300 s, so milliseconds end in 0, 3 or 7 and come out as
    ``03:01:26.853``, ``03:01:26.86``, ``03:01:26.9`` or ``03:01:26`` — hooks must parse all of them.
    """
    whole = int(ts // 1)
    ticks = round((ts - whole) * 300)
    if ticks == 300:
        whole, ticks = whole + 1, 0
    ms = round(ticks * 10 / 3)
    base = _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(whole))
    frac = f"{ms:03d}".rstrip("0")
    return f"{base}.{frac}" if frac else base


def parse_dotnet_naive(text: str) -> float:
    """Inverse of :func:`dotnet_naive` (UTC assumed), for tests."""
    return _dt.datetime.fromisoformat(text).replace(tzinfo=_dt.timezone.utc).timestamp()
