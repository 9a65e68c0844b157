"""Deterministic Jamf Pro inventory and its renderings for the Jamf simulator.

One :class:`Inventory` holds a compact *core* record per computer and mobile device; every
wire shape is rendered from that core on demand, so the Classic API (snake_case, nested,
integer ids, ``""`` for unset values) and the Jamf Pro API (camelCase, string ids, ``null``
for unset values) always describe the same device the same way.  Generating 10 000 computers
takes a fraction of a second because nothing is rendered up front.

Dates, all derived from integer epoch milliseconds in the core record:

* Classic ``report_date`` / ``last_contact_time``: ``"YYYY-MM-DD HH:MM:SS"`` (server time = UTC
  here); ``*_epoch``: milliseconds; ``*_utc``: ``"YYYY-MM-DDTHH:MM:SS.mmm+0000"``;
  date-only fields (``initial_entry_date``, ``po_date``, ``warranty_expires``...) ``"YYYY-MM-DD"``;
  unset dates are ``""`` with epoch ``0``.
* Classic mobile ``last_inventory_update``: ``"Tuesday, April 01 2026 at 10:11 AM"``.
* Jamf Pro API timestamps ``"YYYY-MM-DDTHH:MM:SS.mmmZ"``; date-only fields ``"YYYY-MM-DD"``;
  unset values ``null``.

Variety (fractions approximate, deterministic per seed): ~3 % empty serial numbers, ~10 %
without an assigned user (empty location), ~25 % without purchasing data, ~5 % without any
extension attribute and ~15 % with some empty extension-attribute values, ~6 % unmanaged,
ids with gaps (deleted records), non-ASCII and apostrophe names.
"""
from __future__ import annotations

import random
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

DAY_MS = 86_400_000
DEFAULT_ANCHOR_MS = int(datetime(2026, 4, 1, tzinfo=timezone.utc).timestamp() * 1000)

# ---------------------------------------------------------------------------------------------
# Catalogues
# ---------------------------------------------------------------------------------------------

_FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
          "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
          "Sarah", "Priya", "Wei", "Aisha", "Mateo", "Sofia", "Liam", "Olivia", "Noah", "Emma",
          "José", "Zoë", "Björn", "Chloé", "Søren", "Ngozi", "Hiroshi", "Fatima", "Omar", "Ana",
          "Rahul", "Mei", "Kwame"]
_LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Martinez",
         "Wilson", "Anderson", "Taylor", "Moore", "Jackson", "Lee", "Patel", "Nguyen", "Kim", "Chen",
         "Müller", "Núñez", "O'Brien", "Kowalski", "Tanaka", "Okafor", "Haddad", "Dubois", "Rossi",
         "Singh", "MacLeod", "Schmidt", "Yamamoto"]
_ASCII = str.maketrans("éëöøüúñçłÉØÜ", "eeoouuncleOU")

DEPARTMENTS = ["Engineering", "Sales", "Marketing", "Finance", "Human Resources", "IT", "Legal",
               "Operations", "Customer Success", "Design"]
BUILDINGS = ["HQ - Building A", "HQ - Building B", "London Office", "Austin Office", "Remote"]
POSITIONS = ["Software Engineer", "Account Executive", "Product Manager", "Designer",
             "Financial Analyst", "IT Specialist", "Recruiter", "Counsel", "Support Engineer",
             "Director", "Marketing Manager", "Data Scientist"]
SITES = [(-1, "None"), (1, "Headquarters"), (2, "EMEA")]
VENDORS = ["Apple", "CDW", "Insight", "SHI International", "Apple Store for Business"]
JAMF_VERSIONS = ["11.12.1-t1729610839", "11.13.0-t1731512110", "11.14.1-t1738338460"]

# name, identifier, processor, arch, cores, MHz, apple silicon, RAM GB options, disk GB options, weight
MAC_MODELS = [
    ("MacBook Pro (14-inch, 2023)", "Mac14,9", "Apple M2 Pro", "arm64", 10, 3480, True, (16, 32), (512, 1000), 12),
    ("MacBook Pro (14-inch, M3, Nov 2023)", "Mac15,3", "Apple M3", "arm64", 8, 4050, True, (8, 16, 24), (512, 1000), 10),
    ("MacBook Pro (16-inch, 2021)", "MacBookPro18,1", "Apple M1 Pro", "arm64", 10, 3220, True, (16, 32), (512, 1000), 8),
    ("MacBook Pro (16-inch, Nov 2024)", "Mac16,7", "Apple M4 Pro", "arm64", 14, 4510, True, (24, 48), (512, 1000), 4),
    ("MacBook Air (M1, 2020)", "MacBookAir10,1", "Apple M1", "arm64", 8, 3200, True, (8, 16), (256, 512), 12),
    ("MacBook Air (M2, 2022)", "Mac14,2", "Apple M2", "arm64", 8, 3490, True, (8, 16, 24), (256, 512), 12),
    ("MacBook Air (15-inch, M3, 2024)", "Mac15,13", "Apple M3", "arm64", 8, 4050, True, (8, 16), (256, 512), 8),
    ("MacBook Pro (16-inch, 2019)", "MacBookPro16,1", "8-Core Intel Core i9", "x86_64", 8, 2300, False, (16, 32), (512, 1000), 5),
    ("MacBook Pro (13-inch, 2020, Four Thunderbolt 3 ports)", "MacBookPro16,2", "Quad-Core Intel Core i5", "x86_64", 4, 2000, False, (16,), (512,), 4),
    ("iMac (24-inch, M1, 2021)", "iMac21,1", "Apple M1", "arm64", 8, 3200, True, (8, 16), (256, 512), 4),
    ("iMac (Retina 5K, 27-inch, 2020)", "iMac20,1", "6-Core Intel Core i5", "x86_64", 6, 3100, False, (8, 32), (256, 512), 2),
    ("Mac mini (M2, 2023)", "Mac14,3", "Apple M2", "arm64", 8, 3490, True, (8, 16), (256, 512), 3),
    ("Mac mini (2018)", "Macmini8,1", "6-Core Intel Core i7", "x86_64", 6, 3200, False, (16, 32), (256, 512), 2),
    ("Mac Studio (2022)", "Mac13,1", "Apple M1 Max", "arm64", 10, 3220, True, (32, 64), (512, 1000), 2),
]
MACOS = [("12.7.6", "21H1320"), ("13.6.9", "22G830"), ("13.7.1", "22H221"), ("14.6.1", "23G93"),
         ("14.7.1", "23H222"), ("15.1", "24B83"), ("15.2", "24C101"), ("15.3.2", "24D81"),
         ("15.4", "24E248")]
_MACOS_WEIGHTS = [2, 3, 4, 8, 10, 10, 12, 15, 12]

# (file name, folder, bundle id, versions)
MAC_APPS = [
    ("Safari.app", "/Applications", "com.apple.Safari", ("17.6", "18.1.1", "18.3.1")),
    ("App Store.app", "/System/Applications", "com.apple.AppStore", ("3.0",)),
    ("Self Service.app", "/Applications", "com.jamfsoftware.selfservice.mac", ("11.12.1", "11.13.0")),
    ("Google Chrome.app", "/Applications", "com.google.Chrome", ("131.0.6778.86", "133.0.6943.127", "134.0.6998.89")),
    ("Firefox.app", "/Applications", "org.mozilla.firefox", ("133.0", "135.0.1", "136.0")),
    ("Slack.app", "/Applications", "com.tinyspeck.slackmacgap", ("4.41.105", "4.42.117")),
    ("zoom.us.app", "/Applications", "us.zoom.xos", ("6.2.11 (43613)", "6.3.11 (50104)")),
    ("Microsoft Word.app", "/Applications", "com.microsoft.Word", ("16.92", "16.94", "16.95")),
    ("Microsoft Excel.app", "/Applications", "com.microsoft.Excel", ("16.92", "16.94", "16.95")),
    ("Microsoft PowerPoint.app", "/Applications", "com.microsoft.Powerpoint", ("16.92", "16.95")),
    ("Microsoft Outlook.app", "/Applications", "com.microsoft.Outlook", ("16.92", "16.95")),
    ("Microsoft Teams.app", "/Applications", "com.microsoft.teams2", ("24335.206.3315.3300", "25031.805.3440.5290")),
    ("1Password.app", "/Applications", "com.1password.1password", ("8.10.56", "8.10.60")),
    ("Visual Studio Code.app", "/Applications", "com.microsoft.VSCode", ("1.96.4", "1.98.2")),
    ("Docker.app", "/Applications", "com.docker.docker", ("4.37.1", "4.39.0")),
    ("iTerm.app", "/Applications", "com.googlecode.iterm2", ("3.5.10", "3.5.11")),
    ("Xcode.app", "/Applications", "com.apple.dt.Xcode", ("16.1", "16.2")),
    ("Keynote.app", "/Applications", "com.apple.iWork.Keynote", ("14.2", "14.3")),
    ("Numbers.app", "/Applications", "com.apple.iWork.Numbers", ("14.2", "14.3")),
    ("Pages.app", "/Applications", "com.apple.iWork.Pages", ("14.2", "14.3")),
    ("Jamf Connect.app", "/Applications", "com.jamf.connect", ("2.42.0", "2.44.0")),
    ("Falcon.app", "/Applications", "com.crowdstrike.falcon.App", ("7.20.19003", "7.21.19105")),
    ("Adobe Acrobat Reader.app", "/Applications", "com.adobe.Reader", ("24.005.20320", "25.001.20432")),
    ("Figma.app", "/Applications", "com.figma.Desktop", ("124.7.4", "125.1.5")),
    ("Notion.app", "/Applications", "notion.id", ("4.3.0", "4.6.2")),
    ("Postman.app", "/Applications", "com.postmanlabs.mac", ("11.27.3", "11.36.1")),
    ("Spotify.app", "/Applications", "com.spotify.client", ("1.2.53.440", "1.2.59.514")),
    ("Box.app", "/Applications", "com.box.desktop", ("2.42.212", "2.44.209")),
    ("GlobalProtect.app", "/Applications", "com.paloaltonetworks.GlobalProtect", ("6.2.4", "6.3.2")),
    ("Microsoft Defender.app", "/Applications", "com.microsoft.wdav", ("101.24102.0006", "101.25012.0002")),
    ("Tableau Desktop 2024.2.app", "/Applications", "com.tableausoftware.tableaudesktop", ("2024.2.4",)),
]
_MAC_BASE_APPS = (0, 1)  # every Mac has Safari and the App Store; managed Macs also Self Service (2)

# name, identifier, model number, os type, Jamf Pro API type, chance of cellular, capacity GB, weight
MOBILE_MODELS = [
    ("iPhone 15", "iPhone15,4", "MTLW3LL/A", "iOS", "ios", 1.0, (128, 256), 10),
    ("iPhone 15 Pro", "iPhone16,1", "MTQL3LL/A", "iOS", "ios", 1.0, (128, 256, 512), 8),
    ("iPhone 14", "iPhone14,7", "MPUF3LL/A", "iOS", "ios", 1.0, (128, 256), 8),
    ("iPhone 13", "iPhone14,5", "MLMG3LL/A", "iOS", "ios", 1.0, (128,), 6),
    ("iPhone SE (3rd generation)", "iPhone14,6", "MMXH3LL/A", "iOS", "ios", 1.0, (64, 128), 5),
    ("iPad (10th generation)", "iPad13,18", "MPQ03LL/A", "iPadOS", "ios", 0.2, (64, 256), 8),
    ("iPad Air (5th generation)", "iPad13,16", "MM9C3LL/A", "iPadOS", "ios", 0.3, (64, 256), 5),
    ("iPad Pro (11-inch) (4th generation)", "iPad14,3", "MNXD3LL/A", "iPadOS", "ios", 0.4, (128, 256, 512), 4),
    ("iPad mini (6th generation)", "iPad14,1", "MK7M3LL/A", "iPadOS", "ios", 0.3, (64, 256), 3),
    ("Apple TV 4K (3rd generation)", "AppleTV14,1", "MN873LL/A", "tvOS", "tvos", 0.0, (64, 128), 2),
]
IOS = [("17.5.1", "21F90"), ("17.6.1", "21G93"), ("17.7.2", "21H221"), ("18.1.1", "22B91"),
       ("18.2", "22C152"), ("18.3.2", "22D82"), ("18.4", "22E240")]
TVOS = [("17.6", "21M71"), ("18.2", "22K155"), ("18.4", "22L255")]
CARRIERS = [("AT&T", "310", "410"), ("Verizon", "311", "480"), ("T-Mobile", "310", "260"),
            ("Vodafone UK", "234", "15"), ("EE", "234", "30")]
# (name, bundle id, versions)
MOBILE_APPS = [
    ("Self Service", "com.jamfsoftware.selfservice", ("11.12.1", "11.13.0")),
    ("Slack", "com.tinyspeck.chatlyio", ("24.12.10", "25.03.20")),
    ("Microsoft Outlook", "com.microsoft.Office.Outlook", ("4.2450.0", "4.2509.0")),
    ("Microsoft Teams", "com.microsoft.skype.teams", ("7.1.0", "7.4.1")),
    ("Microsoft Authenticator", "com.microsoft.azureauthenticator", ("6.8.19", "6.8.22")),
    ("Zoom", "us.zoom.videomeetings", ("6.3.6", "6.4.0")),
    ("Okta Verify", "com.okta.mobile", ("9.33.0", "9.36.1")),
    ("Google Chrome", "com.google.chrome.ios", ("131.0.6778.73", "134.0.6998.99")),
    ("Box", "net.box.BoxNet", ("5.46.1", "5.48.0")),
    ("Workday", "com.workday.workdayapp", ("2024.49.0", "2025.10.1")),
    ("SAP Concur", "com.concur.breeze", ("9.150.0", "9.158.0")),
    ("Jamf Trust", "com.jamf.trust", ("4.9.0", "5.1.0")),
    ("Salesforce", "com.salesforce.chatter", ("254.010", "256.020")),
    ("Keynote", "com.apple.Keynote", ("14.2", "14.3")),
]

# id, name, Classic type, Pro dataType, Pro inputType, popup options
COMPUTER_EAS = [
    (1, "Department Code", "String", "STRING", "POPUP", ["ENG", "SLS", "MKT", "FIN", "HR", "IT", "LGL", "OPS", "CS", "DSN"]),
    (2, "Last Logged In User", "String", "STRING", "SCRIPT", None),
    (3, "Battery Cycle Count", "Integer", "INTEGER", "SCRIPT", None),
    (4, "Warranty End Date", "Date", "DATE_TIME", "TEXT", None),
    (5, "Encryption Compliant", "String", "STRING", "SCRIPT", None),
]
MOBILE_EAS = [
    (1, "Asset Owner", "String", "STRING", "TEXT", None),
    (2, "Carrier Plan", "String", "STRING", "POPUP", ["Corporate Unlimited", "Corporate 10GB", "BYOD Stipend", "None"]),
]
_DEPT_CODES = COMPUTER_EAS[0][5]
_APPLE_OUIS = ["F0:18:98", "3C:22:FB", "A4:83:E7", "88:66:5A", "14:7D:DA", "AC:DE:48", "BC:D0:74", "60:3E:5F"]
_SERIAL_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"

# ---------------------------------------------------------------------------------------------
# Date formatting
# ---------------------------------------------------------------------------------------------


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def classic_datetime(ms: int | None) -> str:
    return _dt(ms).strftime("%Y-%m-%d %H:%M:%S") if ms else ""


def classic_utc(ms: int | None) -> str:
    if not ms:
        return ""
    return _dt(ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}+0000"


def classic_date(ms: int | None) -> str:
    return _dt(ms).strftime("%Y-%m-%d") if ms else ""


def classic_long(ms: int | None) -> str:
    return _dt(ms).strftime("%A, %B %d %Y at %I:%M %p") if ms else ""


def iso_z(ms: int | None) -> str | None:
    if not ms:
        return None
    return _dt(ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def iso_date(ms: int | None) -> str | None:
    return _dt(ms).strftime("%Y-%m-%d") if ms else None


def _day(ms: int) -> int:
    """Midnight UTC of the day ``ms`` falls in: Jamf keeps initial-entry and purchasing dates as
    dates, so their Classic ``*_epoch`` is a midnight (and the Jamf Pro API gives only the date)."""
    return ms - ms % DAY_MS


def _epoch(ms: int | None) -> int:
    return ms or 0


def _nz(value: Any) -> Any:
    """Classic '' -> Jamf Pro API null."""
    return None if value == "" else value


# ---------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------


class Group:
    __slots__ = ("id", "name", "members", "is_smart")

    def __init__(self, gid: int, name: str, members: Iterable[int], is_smart: bool = False):
        self.id, self.name, self.members, self.is_smart = gid, name, list(members), is_smart


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032X}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89AB'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _mac(rng: random.Random) -> str:
    low = rng.getrandbits(27)
    return f"{_APPLE_OUIS[low >> 24]}:{(low >> 16) & 255:02X}:{(low >> 8) & 255:02X}:{low & 255:02X}"


def _serial(rng: random.Random, length: int, prefix: str = "") -> str:
    return prefix + "".join(rng.choices(_SERIAL_CHARS, k=length - len(prefix)))


def _cum(weights: list[int]) -> list[int]:
    out, total = [], 0
    for w in weights:
        total += w
        out.append(total)
    return out


def _pick(rng: random.Random, cum: list[int]) -> int:
    x = rng.random() * cum[-1]
    for i, c in enumerate(cum):
        if x < c:
            return i
    return len(cum) - 1


class Inventory:
    """Generated devices plus everything the renderers need (users, groups, catalogues)."""

    def __init__(self, computers: int = 100, mobile_devices: int = 50, seed: int = 1,
                 anchor_ms: int = DEFAULT_ANCHOR_MS,
                 computer_groups: dict[str, Iterable[int]] | None = None,
                 mobile_device_groups: dict[str, Iterable[int]] | None = None):
        self.seed, self.anchor_ms = seed, anchor_ms
        self.departments = {str(i + 1): name for i, name in enumerate(DEPARTMENTS)}
        self.buildings = {str(i + 1): name for i, name in enumerate(BUILDINGS)}
        self.users = self._make_users(random.Random(f"jamf-users-{seed}"))
        self.computers: dict[int, dict] = {}
        self.mobile_devices: dict[int, dict] = {}
        self._gen_computers(random.Random(f"jamf-computers-{seed}"), computers)
        self._gen_mobiles(random.Random(f"jamf-mobiles-{seed}"), mobile_devices)
        self.computer_groups = self._make_groups(computer_groups, self._default_computer_groups())
        self.mobile_device_groups = self._make_groups(mobile_device_groups, self._default_mobile_groups())
        self._computer_memberships = self._memberships(self.computer_groups)
        self._mobile_memberships = self._memberships(self.mobile_device_groups)

    # -- users and groups -----------------------------------------------------------------

    @staticmethod
    def _make_users(rng: random.Random) -> list[dict]:
        users, seen = [], set()
        for i in range(600):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            base = (first[0] + last).lower().translate(_ASCII).replace("'", "").replace(" ", "")
            username = base if base not in seen else f"{base}{i}"
            seen.add(username)
            dot = f"{first}.{last}".lower().translate(_ASCII).replace("'", "").replace(" ", "")
            users.append({
                "username": username,
                "realname": f"{first} {last}",
                "email": "" if rng.random() < 0.05 else f"{dot}@example.com",
                "position": rng.choice(POSITIONS),
                "phone": "" if rng.random() < 0.3 else f"+1 555-01{rng.randrange(100):02d}",
                "department": str(rng.randrange(len(DEPARTMENTS)) + 1),
                "building": str(rng.randrange(len(BUILDINGS)) + 1),
                "room": "" if rng.random() < 0.4 else str(rng.randrange(100, 500)),
            })
        return users

    def _default_computer_groups(self) -> dict[str, list[int]]:
        eng = [c["id"] for c in self.computers.values()
               if c["user"] is not None and self.users[c["user"]]["department"] == "1"]
        sales_mkt = [c["id"] for c in self.computers.values()
                     if c["user"] is not None and self.users[c["user"]]["department"] in ("2", "3")]
        ids = sorted(self.computers)
        return {"Engineering Macs": eng, "Sales & Marketing": sales_mkt,
                "Loaner Pool": ids[::25], "Empty Group": []}

    def _default_mobile_groups(self) -> dict[str, list[int]]:
        ipads = [m["id"] for m in self.mobile_devices.values() if MOBILE_MODELS[m["model"]][3] == "iPadOS"]
        tvs = [m["id"] for m in self.mobile_devices.values() if MOBILE_MODELS[m["model"]][4] == "tvos"]
        phones = [m["id"] for m in self.mobile_devices.values() if MOBILE_MODELS[m["model"]][3] == "iOS"]
        return {"Field iPads": ipads, "Conference Room TVs": tvs, "Exec iPhones": phones[::10],
                "Empty Group": []}

    @staticmethod
    def _make_groups(custom: dict[str, Iterable[int]] | None, default: dict[str, list[int]]) -> dict[str, Group]:
        source = default if custom is None else custom
        return {name: Group(i + 1, name, sorted(set(members))) for i, (name, members) in enumerate(source.items())}

    @staticmethod
    def _memberships(groups: dict[str, Group]) -> dict[int, list[Group]]:
        out: dict[int, list[Group]] = {}
        for g in groups.values():
            for member in g.members:
                out.setdefault(member, []).append(g)
        return out

    # -- computers ------------------------------------------------------------------------

    def _gen_computers(self, rng: random.Random, count: int) -> None:
        r = rng.random
        bits = rng.getrandbits
        model_cum = _cum([m[9] for m in MAC_MODELS])
        os_cum = _cum(_MACOS_WEIGHTS)
        anchor, users = self.anchor_ms, self.users
        n_users, n_extra = len(users), len(MAC_APPS) - 3
        next_id = 1
        for n in range(count):
            cid = next_id
            next_id += 1 + (1 + int(r() * 5) if r() < 0.03 else 0)
            mi = _pick(rng, model_cum)
            model = MAC_MODELS[mi]
            osi = _pick(rng, os_cum)
            if not model[6] and osi >= 7:  # older Intel Macs stay on older releases
                osi -= 3
            x = r()
            if x < 0.03:
                serial = ""
            elif model[6]:
                serial = _serial(rng, 10)
            else:
                serial = _serial(rng, 12, ("C02", "C07", "FVF")[int(r() * 3)])
            managed = r() >= 0.06
            stale = r() < 0.05 or not managed
            contact = anchor - int(r() * DAY_MS * (400 if stale else 30))
            report = contact - int(r() * DAY_MS * 7)
            initial = _day(report - DAY_MS * 30 - int(r() * DAY_MS * 1470))
            enrolled = initial + int(r() * (report - initial))
            user = None if r() < 0.10 else int(r() * n_users)
            u = users[user] if user is not None else None
            first = u["realname"].split(" ")[0] if u else ""
            style = r()
            short = model[0].split(" (")[0]
            if u and style < 0.5:
                name = f"{first}'s {short}"
            elif style < 0.85:
                name = f"{'MBP' if 'MacBook' in short else 'MAC'}-{serial[-6:] if serial else f'{cid:06d}'}"
            else:
                name = f"{first or 'Shared'}-{short.replace(' ', '')}-{n % 1000:03d}"
            purch = None
            if r() >= 0.25:
                po_date = _day(initial - int(r() * DAY_MS * 30))
                leased = r() < 0.1
                purch = {
                    "po_number": f"PO-{10000 + int(r() * 90000)}",
                    "vendor": VENDORS[int(r() * len(VENDORS))],
                    "po_date": po_date,
                    "warranty": po_date + DAY_MS * (365 if r() < 0.5 else 1095),
                    "lease": po_date + DAY_MS * 1095 if leased else 0,
                    "leased": leased,
                    "price": ("1299.00", "1599.00", "1999.00", "2499.00", "3499.00")[int(r() * 5)],
                    "life": 3 if r() < 0.5 else 4,
                    "applecare": "" if r() < 0.6 else _serial(rng, 10),
                    "account": ("", "IT Capital", "Engineering OpEx")[int(r() * 3)],
                    "contact": "" if r() < 0.5 else "procurement@example.com",
                }
            # Installed apps: a bit mask over MAC_APPS (Safari and App Store always, Self Service
            # when managed) plus two version-choice bits per app.
            extra = bits(n_extra) & bits(n_extra) if r() < 0.5 else bits(n_extra)
            apps_mask = 0b011 | (0b100 if managed else 0) | (extra << 3)
            er = r()
            if er < 0.05:
                eas = None
            else:
                eas = [
                    _DEPT_CODES[int(u["department"]) - 1] if u else "",
                    u["username"] if u else "",
                    str(5 + int(r() * 900)) if "Book" in model[0] else "",
                    purch["warranty"] if purch else "",
                    ("Yes", "Yes", "Yes", "No")[int(r() * 4)],
                ]
                if er < 0.20:
                    eas[int(r() * 5)] = ""
                    eas[int(r() * 5)] = ""
                eas = tuple(eas)
            disk_gb = model[8][int(r() * len(model[8]))]
            free_mb = int(disk_gb * 1000 * (0.05 + r() * 0.65))
            self.computers[cid] = {
                "id": cid, "name": name, "serial": serial, "udid": _uuid(rng),
                "mac": _mac(rng), "alt_mac": _mac(rng) if r() < 0.3 else "",
                "ip": f"203.0.113.{1 + int(r() * 254)}",
                "rip": f"10.{int(r() * 40)}.{int(r() * 256)}.{1 + int(r() * 254)}",
                "model": mi, "os": osi,
                "report": report, "contact": contact, "initial": initial, "enrolled": enrolled,
                "asset_tag": "" if r() < 0.2 else f"AT-{100000 + int(r() * 900000)}",
                "barcode": "" if r() < 0.7 else str(10**11 + int(r() * 9 * 10**11)),
                "managed": managed, "supervised": managed and r() < 0.4,
                "dep": managed and r() < 0.7,
                "site": 0 if r() < 0.8 else 1 + int(r() * (len(SITES) - 1)),
                "user": user, "room": u["room"] if u else "",
                "purch": purch, "apps": apps_mask, "apps_ver": bits(2 * len(MAC_APPS)), "eas": eas,
                "ram_mb": model[7][int(r() * len(model[7]))] * 1024, "disk_mb": disk_gb * 1000,
                "free_mb": free_mb, "battery": 60 + int(r() * 41) if "Book" in model[0] else 0,
                "mgmt_id": _uuid(rng), "jamf_version": JAMF_VERSIONS[int(r() * len(JAMF_VERSIONS))],
                "filevault": r() < 0.9, "firewall": r() < 0.7, "sip": r() < 0.98, "gatekeeper": r() < 0.97,
                "activation_lock": r() < 0.1,
            }

    # -- mobile devices -------------------------------------------------------------------

    def _gen_mobiles(self, rng: random.Random, count: int) -> None:
        r = rng.random
        bits = rng.getrandbits
        model_cum = _cum([m[7] for m in MOBILE_MODELS])
        anchor, users = self.anchor_ms, self.users
        n_users, n_apps = len(users), len(MOBILE_APPS)
        next_id = 1
        for n in range(count):
            mid = next_id
            next_id += 1 + (1 + int(r() * 3) if r() < 0.03 else 0)
            mi = _pick(rng, model_cum)
            model = MOBILE_MODELS[mi]
            tv = model[4] == "tvos"
            osi = int(r() * (len(TVOS) if tv else len(IOS)))
            user = None if (tv or r() < 0.10) else int(r() * n_users)
            u = users[user] if user is not None else None
            first = u["realname"].split(" ")[0] if u else ""
            short = model[0].split(" (")[0]
            if tv:
                name = f"Conference Room {1 + int(r() * 60)} TV"
            elif u and r() < 0.6:
                name = f"{first}'s {short}"
            else:
                name = f"{short.replace(' ', '')}-{mid:05d}"
            managed = r() >= 0.04
            last_inv = anchor - int(r() * DAY_MS * (300 if not managed or r() < 0.05 else 14))
            initial = _day(last_inv - DAY_MS * 20 - int(r() * DAY_MS * 1180))
            enrolled = initial + int(r() * (last_inv - initial))
            cellular = r() < model[5]
            carrier = CARRIERS[int(r() * len(CARRIERS))] if cellular else None
            capacity_mb = model[6][int(r() * len(model[6]))] * 1000
            purch = None
            if r() >= 0.25:
                po_date = _day(initial - int(r() * DAY_MS * 20))
                purch = {
                    "po_number": f"PO-{10000 + int(r() * 90000)}", "vendor": VENDORS[int(r() * len(VENDORS))],
                    "po_date": po_date, "warranty": po_date + DAY_MS * 365, "lease": 0, "leased": False,
                    "price": ("329.00", "599.00", "799.00", "999.00", "1199.00")[int(r() * 5)], "life": 3,
                    "applecare": "" if r() < 0.7 else _serial(rng, 10), "account": "", "contact": "",
                }
            apps_mask = 0 if tv else (1 | (bits(n_apps - 1) & bits(n_apps - 1)) << 1)
            er = r()
            eas = None if er < 0.05 else (
                u["realname"] if u else "",
                MOBILE_EAS[1][5][int(r() * 4)] if cellular else "",
            )
            if r() < 0.5:
                udid = f"{bits(160):040x}"
            else:
                udid = f"{bits(32):08X}-{bits(64):016X}"
            self.mobile_devices[mid] = {
                "id": mid, "name": name,
                "serial": "" if r() < 0.02 else _serial(rng, 10 if r() < 0.5 else 12),
                "udid": udid, "wifi": _mac(rng), "bt": _mac(rng), "model": mi, "os": osi,
                "capacity_mb": capacity_mb, "available_mb": int(capacity_mb * (0.1 + r() * 0.7)),
                "battery": 0 if tv else 5 + int(r() * 96),
                "ip": f"10.{40 + int(r() * 40)}.{int(r() * 256)}.{1 + int(r() * 254)}",
                "phone": (f"+1 555-02{int(r() * 100):02d}" if cellular and model[3] == "iOS" and r() < 0.8 else ""),
                "imei": _imei(rng) if cellular else "", "iccid": _iccid(rng) if cellular else "",
                "carrier": carrier, "managed": managed, "supervised": managed and r() < 0.8,
                "last_inv": last_inv, "initial": initial, "enrolled": enrolled,
                "user": user, "site": 0 if r() < 0.8 else 1 + int(r() * (len(SITES) - 1)),
                "purch": purch, "apps": apps_mask, "apps_ver": bits(2 * n_apps), "eas": eas,
                "mgmt_id": _uuid(rng), "asset_tag": "" if r() < 0.3 else f"MD-{10000 + int(r() * 90000)}",
                "passcode": not tv and r() < 0.95, "dep": r() < 0.75,
                "activation_lock": not tv and r() < 0.3, "lost_mode": r() < 0.01,
                "time_zone": ("America/New_York", "America/Los_Angeles", "America/Chicago", "Europe/London")[int(r() * 4)],
            }

    # -- lookups --------------------------------------------------------------------------

    def user(self, rec: dict) -> dict | None:
        return self.users[rec["user"]] if rec["user"] is not None else None

    def computer_groups_of(self, cid: int) -> list[Group]:
        return self._computer_memberships.get(cid, [])

    def mobile_groups_of(self, mid: int) -> list[Group]:
        return self._mobile_memberships.get(mid, [])

    # =====================================================================================
    # Classic API renderings (snake_case, int ids, '' for unset)
    # =====================================================================================

    def classic_computer_list_item(self, c: dict) -> dict:
        return {"id": c["id"], "name": c["name"]}

    def classic_computer_basic(self, c: dict) -> dict:
        u = self.user(c) or {}
        return {
            "id": c["id"], "name": c["name"], "managed": c["managed"], "username": u.get("username", ""),
            "model": MAC_MODELS[c["model"]][0], "department": self.departments.get(u.get("department"), ""),
            "building": self.buildings.get(u.get("building"), ""), "mac_address": c["mac"],
            "udid": c["udid"], "serial_number": c["serial"], "report_date_utc": classic_utc(c["report"]),
            "report_date_epoch": c["report"],
        }

    def classic_computer(self, c: dict) -> dict:
        """The full Classic ``computer`` object; subsets pick keys out of it."""
        model = MAC_MODELS[c["model"]]
        os_version, os_build = MACOS[c["os"]]
        u = self.user(c) or {}
        site_id, site_name = SITES[c["site"]]
        p = c["purch"] or {}
        apps = self.computer_apps(c)
        eas = []
        if c["eas"] is not None:
            eas = [{"id": d[0], "name": d[1], "type": d[2], "multi_value": False, "value": v}
                   for d, v in zip(COMPUTER_EAS, _ea_values(c["eas"]))]
        groups = [g.name for g in self.computer_groups_of(c["id"])]
        if c["managed"]:
            groups.insert(0, "All Managed Clients")
        username = u.get("username", "")
        return {
            "general": {
                "id": c["id"], "name": c["name"], "network_adapter_type": "IEEE80211",
                "mac_address": c["mac"], "alt_network_adapter_type": "Ethernet" if c["alt_mac"] else "",
                "alt_mac_address": c["alt_mac"], "ip_address": c["ip"], "last_reported_ip": c["rip"],
                "serial_number": c["serial"], "udid": c["udid"], "jamf_version": c["jamf_version"],
                "platform": "Mac", "barcode_1": c["barcode"], "barcode_2": "", "asset_tag": c["asset_tag"],
                "remote_management": {"managed": c["managed"],
                                      "management_username": "jamfadmin" if c["managed"] else ""},
                "supervised": c["supervised"], "mdm_capable": c["managed"],
                "mdm_capable_users": {"mdm_capable_user": username} if c["managed"] and username else {},
                "management_status": {"enrolled_via_dep": c["dep"], "user_approved_enrollment": c["managed"],
                                      "user_approved_mdm": c["managed"]},
                "report_date": classic_datetime(c["report"]), "report_date_epoch": c["report"],
                "report_date_utc": classic_utc(c["report"]),
                "last_contact_time": classic_datetime(c["contact"]), "last_contact_time_epoch": c["contact"],
                "last_contact_time_utc": classic_utc(c["contact"]),
                "initial_entry_date": classic_date(c["initial"]), "initial_entry_date_epoch": c["initial"],
                "initial_entry_date_utc": classic_utc(c["initial"]),
                "last_cloud_backup_date_epoch": 0, "last_cloud_backup_date_utc": "",
                "last_enrolled_date_epoch": c["enrolled"], "last_enrolled_date_utc": classic_utc(c["enrolled"]),
                "mdm_profile_expiration_epoch": c["enrolled"] + 2 * 365 * DAY_MS if c["managed"] else 0,
                "mdm_profile_expiration_utc": classic_utc(c["enrolled"] + 2 * 365 * DAY_MS) if c["managed"] else "",
                "distribution_point": "", "sus": "", "site": {"id": site_id, "name": site_name},
                "itunes_store_account_is_active": False,
            },
            "location": {
                "username": username, "realname": u.get("realname", ""), "real_name": u.get("realname", ""),
                "email_address": u.get("email", ""), "position": u.get("position", ""),
                "phone": u.get("phone", ""), "phone_number": u.get("phone", ""),
                "department": self.departments.get(u.get("department"), ""),
                "building": self.buildings.get(u.get("building"), ""), "room": c["room"],
            },
            "purchasing": {
                "is_purchased": not p.get("leased", False), "is_leased": p.get("leased", False),
                "po_number": p.get("po_number", ""), "vendor": p.get("vendor", ""),
                "applecare_id": p.get("applecare", ""), "purchase_price": p.get("price", ""),
                "purchasing_account": p.get("account", ""),
                "po_date": classic_date(p.get("po_date")), "po_date_epoch": _epoch(p.get("po_date")),
                "po_date_utc": classic_utc(p.get("po_date")),
                "warranty_expires": classic_date(p.get("warranty")),
                "warranty_expires_epoch": _epoch(p.get("warranty")),
                "warranty_expires_utc": classic_utc(p.get("warranty")),
                "lease_expires": classic_date(p.get("lease")), "lease_expires_epoch": _epoch(p.get("lease")),
                "lease_expires_utc": classic_utc(p.get("lease")),
                "life_expectancy": p.get("life", 0), "purchasing_contact": p.get("contact", ""),
                "os_applecare_id": "", "os_maintenance_expires": "", "attachments": [],
            },
            "peripherals": [],
            "hardware": {
                "make": "Apple", "model": model[0], "model_identifier": model[1], "os_name": "macOS",
                "os_version": os_version, "os_build": os_build, "software_update_device_id": "",
                "active_directory_status": "Not Bound", "service_pack": "", "processor_type": model[2],
                "is_apple_silicon": model[6], "processor_architecture": model[3],
                "processor_speed": model[5], "processor_speed_mhz": model[5], "number_processors": 1,
                "number_cores": model[4], "total_ram": c["ram_mb"], "total_ram_mb": c["ram_mb"],
                "boot_rom": _boot_rom(model),
                "bus_speed": 0, "bus_speed_mhz": 0, "battery_capacity": c["battery"],
                "cache_size": 0 if model[6] else 12288, "cache_size_kb": 0 if model[6] else 12288,
                "available_ram_slots": 0, "optical_drive": "", "nic_speed": "n/a", "smc_version": "",
                "ble_capable": True, "supports_ios_app_installs": model[6],
                "sip_status": "Enabled" if c["sip"] else "Disabled",
                "gatekeeper_status": "App Store and identified developers" if c["gatekeeper"] else "Disabled",
                "xprotect_version": "5290", "institutional_recovery_key": "Not Present",
                "disk_encryption_configuration": "FileVault" if c["filevault"] else "",
                "filevault2_users": [username] if c["filevault"] and username else [],
                "storage": [{
                    "disk": "disk0", "model": "APPLE SSD AP0512Z" if model[6] else "APPLE SSD SM0512L",
                    "revision": "1922.81.1", "serial_number": "", "size": c["disk_mb"],
                    "drive_capacity_mb": c["disk_mb"], "connection_type": "NO", "smart_status": "Verified",
                    "partitions": [{
                        "name": "Macintosh HD (Boot Partition)", "size": c["disk_mb"], "type": "boot",
                        "partition_capacity_mb": c["disk_mb"],
                        "percentage_full": 100 - c["free_mb"] * 100 // max(1, c["disk_mb"]),
                        "available_mb": c["free_mb"],
                        "filevault_status": "Encrypted" if c["filevault"] else "Not Encrypted",
                        "filevault_percent": 100 if c["filevault"] else 0,
                        "filevault2_status": "Encrypted" if c["filevault"] else "Not Encrypted",
                        "filevault2_percent": 100 if c["filevault"] else 0,
                        "boot_drive_available_mb": c["free_mb"],
                    }],
                }],
                "mapped_printers": [],
            },
            "certificates": [],
            "security": {"activation_lock": c["activation_lock"], "recovery_lock_enabled": False,
                         "secure_boot_level": "full security" if model[6] else "not supported",
                         "external_boot_level": "not supported" if model[6] else "allow booting from external media",
                         "firewall_enabled": c["firewall"]},
            "software": {
                "unix_executables": [], "licensed_software": [], "installed_by_casper": [],
                "installed_by_installer_swu": [], "cached_by_casper": [], "available_software_updates": [],
                "available_updates": [], "running_services": [], "applications": apps, "fonts": [],
                "plugins": [],
            },
            "extension_attributes": eas,
            "groups_accounts": {
                "computer_group_memberships": groups,
                "local_accounts": ([{"name": username, "realname": u.get("realname", ""), "uid": "501",
                                     "home": f"/Users/{username}", "home_size": "-1MB", "home_size_mb": -1,
                                     "administrator": False, "filevault_enabled": c["filevault"]}]
                                   if username else []),
            },
            "iphones": [],
            "configuration_profiles": ([{"id": 1, "name": "Wi-Fi - Corporate", "uuid": "", "is_removable": False},
                                        {"id": 2, "name": "Security Baseline", "uuid": "", "is_removable": False}]
                                       if c["managed"] else []),
        }

    def classic_group(self, group: Group, mobile: bool) -> dict:
        if mobile:
            members = []
            for mid in group.members:
                m = self.mobile_devices.get(mid)
                if m is not None:
                    members.append({"id": mid, "name": m["name"], "mac_address": m["wifi"], "udid": m["udid"],
                                    "wifi_mac_address": m["wifi"], "serial_number": m["serial"]})
            key = "mobile_devices"
        else:
            members = []
            for cid in group.members:
                c = self.computers.get(cid)
                if c is not None:
                    members.append({"id": cid, "name": c["name"], "mac_address": c["mac"],
                                    "alt_mac_address": c["alt_mac"], "serial_number": c["serial"]})
            key = "computers"
        return {"id": group.id, "name": group.name, "is_smart": group.is_smart,
                "site": {"id": -1, "name": "None"}, "criteria": [], key: members}

    def classic_mobile_list_item(self, m: dict) -> dict:
        model = MOBILE_MODELS[m["model"]]
        u = self.user(m) or {}
        return {"id": m["id"], "name": m["name"], "device_name": m["name"], "udid": m["udid"],
                "serial_number": m["serial"], "phone_number": m["phone"], "wifi_mac_address": m["wifi"],
                "managed": m["managed"], "supervised": m["supervised"], "model": model[0],
                "model_identifier": model[1], "model_display": model[0], "username": u.get("username", "")}

    def classic_mobile(self, m: dict) -> dict:
        model = MOBILE_MODELS[m["model"]]
        tv = model[4] == "tvos"
        os_version, os_build = (TVOS if tv else IOS)[m["os"]]
        u = self.user(m) or {}
        site_id, site_name = SITES[m["site"]]
        p = m["purch"] or {}
        carrier = m["carrier"]
        used_pct = 100 - m["available_mb"] * 100 // max(1, m["capacity_mb"])
        eas = []
        if m["eas"] is not None:
            eas = [{"id": d[0], "name": d[1], "type": d[2], "multi_value": False, "value": v}
                   for d, v in zip(MOBILE_EAS, m["eas"])]
        return {
            "general": {
                "id": m["id"], "display_name": m["name"], "device_name": m["name"], "name": m["name"],
                "asset_tag": m["asset_tag"], "last_inventory_update": classic_long(m["last_inv"]),
                "last_inventory_update_epoch": m["last_inv"], "last_inventory_update_utc": classic_utc(m["last_inv"]),
                "capacity": m["capacity_mb"], "capacity_mb": m["capacity_mb"], "available": m["available_mb"],
                "available_mb": m["available_mb"], "percentage_used": used_pct, "os_type": model[3],
                "os_version": os_version, "os_build": os_build, "software_update_device_id": "",
                "serial_number": m["serial"], "udid": m["udid"],
                "initial_entry_date_epoch": m["initial"], "initial_entry_date_utc": classic_utc(m["initial"]),
                "phone_number": m["phone"], "ip_address": m["ip"], "wifi_mac_address": m["wifi"],
                "bluetooth_mac_address": m["bt"], "modem_firmware": "2.10.04" if m["imei"] else "",
                "model": model[0], "model_identifier": model[1], "model_number": model[2],
                "modelDisplay": model[0], "model_display": model[0],
                "device_ownership_level": "Institutional",
                "enrollment_method": "Prestage enrollment: Corporate ADE" if m["dep"] else "User-initiated - no invitation",
                "last_enrollment_epoch": m["enrolled"], "last_enrollment_utc": classic_utc(m["enrolled"]),
                "managed": m["managed"], "supervised": m["supervised"],
                "exchange_activesync_device_identifier": "", "shared": "No", "diagnostic_submission": "false",
                "app_analytics": "false", "tethered": "", "battery_level": m["battery"], "ble_capable": not tv,
                "device_locator_service_enabled": not tv, "do_not_disturb_enabled": False,
                "cloud_backup_enabled": False, "last_cloud_backup_date_epoch": 0, "last_cloud_backup_date_utc": "",
                "location_services_enabled": False, "itunes_store_account_is_active": False,
                "last_backup_time_epoch": 0, "last_backup_time_utc": "",
                "site": {"id": site_id, "name": site_name},
            },
            "location": {
                "username": u.get("username", ""), "realname": u.get("realname", ""),
                "real_name": u.get("realname", ""), "email_address": u.get("email", ""),
                "position": u.get("position", ""), "phone": u.get("phone", ""),
                "phone_number": u.get("phone", ""),
                "department": self.departments.get(u.get("department"), ""),
                "building": self.buildings.get(u.get("building"), ""), "room": u.get("room", ""),
            },
            "purchasing": {
                "is_purchased": True, "is_leased": False, "po_number": p.get("po_number", ""),
                "vendor": p.get("vendor", ""), "applecare_id": p.get("applecare", ""),
                "purchase_price": p.get("price", ""), "purchasing_account": p.get("account", ""),
                "po_date": classic_date(p.get("po_date")), "po_date_epoch": _epoch(p.get("po_date")),
                "po_date_utc": classic_utc(p.get("po_date")),
                "warranty_expires": classic_date(p.get("warranty")),
                "warranty_expires_epoch": _epoch(p.get("warranty")),
                "warranty_expires_utc": classic_utc(p.get("warranty")),
                "lease_expires": "", "lease_expires_epoch": 0, "lease_expires_utc": "",
                "life_expectancy": p.get("life", 0), "purchasing_contact": p.get("contact", ""),
                "attachments": [],
            },
            "applications": [{"application_name": name, "application_version": version,
                              "application_short_version": version, "identifier": bundle}
                             for name, bundle, version in self.mobile_apps(m)],
            "security": {
                # Apple TVs report no security section (iOS only): empty values.
                "data_protection": m["passcode"], "block_level_encryption_capable": not tv,
                "file_level_encryption_capable": not tv, "passcode_present": m["passcode"],
                "passcode_compliant": m["passcode"], "passcode_compliant_with_profile": m["passcode"],
                "passcode_lock_grace_period_enforced": "Immediate" if m["passcode"] else "",
                "hardware_encryption": 0 if tv else 3,
                "activation_lock_enabled": m["activation_lock"], "jailbreak_detected": "" if tv else "Normal",
                "lost_mode_enabled": m["lost_mode"], "lost_mode_enforced": False,
                "lost_mode_enable_issued_epoch": 0, "lost_mode_enable_issued_utc": "", "lost_mode_message": "",
                "lost_mode_phone": "", "lost_mode_footnote": "", "lost_location_epoch": 0, "lost_location_utc": "",
                "lost_location_latitude": 0, "lost_location_longitude": 0, "lost_location_altitude": 0,
                "lost_location_speed": 0, "lost_location_course": 0, "lost_location_horizontal_accuracy": 0,
                "lost_location_vertical_accuracy": 0,
            },
            "network": {
                "home_carrier_network": carrier[0] if carrier else "",
                "cellular_technology": ("GSM" if carrier else "Unknown") if not tv else "Unknown",
                "voice_roaming_enabled": "Disabled" if carrier else "",
                "imei": m["imei"], "iccid": m["iccid"], "meid": "",
                "current_carrier_network": carrier[0] if carrier else "",
                "carrier_settings_version": "60.0" if carrier else "",
                "current_mobile_country_code": carrier[1] if carrier else "",
                "current_mobile_network_code": carrier[2] if carrier else "",
                "home_mobile_country_code": carrier[1] if carrier else "",
                "home_mobile_network_code": carrier[2] if carrier else "",
                "data_roaming_enabled": False, "roaming": False, "phone_number": m["phone"],
            },
            "certificates": [],
            "configuration_profiles": ([{"display_name": "Wi-Fi - Corporate", "version": "1",
                                         "identifier": "com.example.wifi", "uuid": ""}] if m["managed"] else []),
            "provisioning_profiles": [],
            "mobile_device_groups": [{"id": g.id, "name": g.name} for g in self.mobile_groups_of(m["id"])],
            "extension_attributes": eas,
        }

    # =====================================================================================
    # Jamf Pro API renderings (camelCase, string ids, null for unset)
    # =====================================================================================

    COMPUTER_SECTIONS = ("GENERAL", "DISK_ENCRYPTION", "PURCHASING", "APPLICATIONS", "STORAGE",
                         "USER_AND_LOCATION", "CONFIGURATION_PROFILES", "PRINTERS", "SERVICES", "HARDWARE",
                         "LOCAL_USER_ACCOUNTS", "CERTIFICATES", "ATTACHMENTS", "PLUGINS", "PACKAGE_RECEIPTS",
                         "FONTS", "SECURITY", "OPERATING_SYSTEM", "LICENSED_SOFTWARE", "IBEACONS",
                         "SOFTWARE_UPDATES", "EXTENSION_ATTRIBUTES", "CONTENT_CACHING", "GROUP_MEMBERSHIPS")
    _SECTION_KEYS = {"GENERAL": "general", "DISK_ENCRYPTION": "diskEncryption", "PURCHASING": "purchasing",
                     "APPLICATIONS": "applications", "STORAGE": "storage", "USER_AND_LOCATION": "userAndLocation",
                     "CONFIGURATION_PROFILES": "configurationProfiles", "PRINTERS": "printers",
                     "SERVICES": "services", "HARDWARE": "hardware", "LOCAL_USER_ACCOUNTS": "localUserAccounts",
                     "CERTIFICATES": "certificates", "ATTACHMENTS": "attachments", "PLUGINS": "plugins",
                     "PACKAGE_RECEIPTS": "packageReceipts", "FONTS": "fonts", "SECURITY": "security",
                     "OPERATING_SYSTEM": "operatingSystem", "LICENSED_SOFTWARE": "licensedSoftware",
                     "IBEACONS": "ibeacons", "SOFTWARE_UPDATES": "softwareUpdates",
                     "EXTENSION_ATTRIBUTES": "extensionAttributes", "CONTENT_CACHING": "contentCaching",
                     "GROUP_MEMBERSHIPS": "groupMemberships"}

    def pro_computer(self, c: dict, sections: Iterable[str]) -> dict:
        """A ``computers-inventory`` result; sections not asked for are ``null``."""
        wanted = set(sections)
        out: dict[str, Any] = {"id": str(c["id"]), "udid": c["udid"]}
        for section in self.COMPUTER_SECTIONS:
            key = self._SECTION_KEYS[section]
            out[key] = self._pro_computer_section(c, section) if section in wanted else None
        return out

    def _pro_computer_section(self, c: dict, section: str) -> Any:
        model = MAC_MODELS[c["model"]]
        u = self.user(c)
        if section == "GENERAL":
            site_id, site_name = SITES[c["site"]]
            username = u["username"] if u else ""
            return {
                "name": c["name"], "lastIpAddress": c["ip"], "lastReportedIp": c["rip"],
                "jamfBinaryVersion": c["jamf_version"], "platform": "Mac", "barcode1": _nz(c["barcode"]),
                "barcode2": None, "assetTag": _nz(c["asset_tag"]),
                "remoteManagement": {"managed": c["managed"],
                                     "managementUsername": "jamfadmin" if c["managed"] else None},
                "supervised": c["supervised"],
                "mdmCapable": {"capable": c["managed"], "capableUsers": [username] if c["managed"] and username else []},
                "reportDate": iso_z(c["report"]), "lastContactTime": iso_z(c["contact"]),
                "lastCloudBackupDate": None, "lastEnrolledDate": iso_z(c["enrolled"]),
                "mdmProfileExpiration": iso_z(c["enrolled"] + 2 * 365 * DAY_MS) if c["managed"] else None,
                "initialEntryDate": iso_date(c["initial"]), "distributionPoint": None,
                "enrollmentMethod": ({"id": "1", "objectName": "Corporate ADE", "objectType": "Automated Device Enrollment"}
                                     if c["dep"] else None),
                "site": {"id": str(site_id), "name": site_name}, "itunesStoreAccountActive": False,
                "enrolledViaAutomatedDeviceEnrollment": c["dep"], "userApprovedMdm": c["managed"],
                "declarativeDeviceManagementEnabled": c["managed"] and model[6],
                "extensionAttributes": [], "managementId": c["mgmt_id"],
            }
        if section == "HARDWARE":
            return {
                "make": "Apple", "model": model[0], "modelIdentifier": model[1], "serialNumber": _nz(c["serial"]),
                "processorSpeedMhz": model[5], "processorCount": 1, "coreCount": model[4],
                "processorType": model[2], "processorArchitecture": model[3], "busSpeedMhz": 0,
                "cacheSizeKilobytes": 0 if model[6] else 12288, "networkAdapterType": "IEEE80211",
                "macAddress": c["mac"], "altNetworkAdapterType": "Ethernet" if c["alt_mac"] else None,
                "altMacAddress": _nz(c["alt_mac"]), "totalRamMegabytes": c["ram_mb"], "openRamSlots": 0,
                "batteryCapacityPercent": c["battery"] or None, "smcVersion": None, "nicSpeed": "n/a",
                "opticalDrive": None, "bootRom": _boot_rom(model),
                "bleCapable": True, "supportsIosAppInstalls": model[6], "appleSilicon": model[6],
                "extensionAttributes": [],
            }
        if section == "OPERATING_SYSTEM":
            version, build = MACOS[c["os"]]
            return {"name": "macOS", "version": version, "build": build, "supplementalBuildVersion": None,
                    "rapidSecurityResponse": None, "activeDirectoryStatus": "Not Bound",
                    "fileVault2Status": "ALL_ENCRYPTED" if c["filevault"] else "NOT_ENCRYPTED",
                    "softwareUpdateDeviceId": None, "extensionAttributes": []}
        if section == "USER_AND_LOCATION":
            if u is None:
                return {"username": None, "realname": None, "email": None, "position": None, "phone": None,
                        "departmentId": None, "buildingId": None, "room": None, "extensionAttributes": []}
            return {"username": u["username"], "realname": u["realname"], "email": _nz(u["email"]),
                    "position": u["position"], "phone": _nz(u["phone"]), "departmentId": u["department"],
                    "buildingId": u["building"], "room": _nz(c["room"]), "extensionAttributes": []}
        if section == "PURCHASING":
            p = c["purch"] or {}
            return {"leased": p.get("leased", False), "purchased": not p.get("leased", False),
                    "poNumber": p.get("po_number"), "poDate": iso_date(p.get("po_date")),
                    "vendor": p.get("vendor"), "warrantyDate": iso_date(p.get("warranty")),
                    "appleCareId": _nz(p.get("applecare")), "leaseDate": iso_date(p.get("lease")),
                    "purchasePrice": p.get("price"), "lifeExpectancy": p.get("life", 0),
                    "purchasingAccount": _nz(p.get("account")), "purchasingContact": _nz(p.get("contact")),
                    "extensionAttributes": []}
        if section == "APPLICATIONS":
            return [{"name": app["name"], "path": app["path"], "version": app["version"], "macAppStore": False,
                     "sizeMegabytes": 100 + (len(app["name"]) * 37) % 900, "bundleId": app["bundle_id"],
                     "updateAvailable": False, "externalVersionId": "0"}
                    for app in self.computer_apps(c)]
        if section == "EXTENSION_ATTRIBUTES":
            if c["eas"] is None:
                return []
            return [{"definitionId": str(d[0]), "name": d[1], "description": "", "enabled": True,
                     "multiValue": False, "values": [v] if v else [], "dataType": d[3],
                     "options": d[5] or [], "inputType": d[4]} for d, v in zip(COMPUTER_EAS, _ea_values(c["eas"]))]
        if section == "STORAGE":
            return {"bootDriveAvailableSpaceMegabytes": c["free_mb"], "disks": [{
                "id": "1", "device": "disk0", "model": "APPLE SSD", "revision": "1922.81.1", "serialNumber": None,
                "sizeMegabytes": c["disk_mb"], "smartStatus": "Verified", "type": "NVMe",
                "partitions": [{"name": "Macintosh HD (Boot Partition)", "sizeMegabytes": c["disk_mb"],
                                "availableMegabytes": c["free_mb"], "partitionType": "BOOT",
                                "percentUsed": 100 - c["free_mb"] * 100 // max(1, c["disk_mb"]),
                                "fileVault2State": "ENCRYPTED" if c["filevault"] else "UNENCRYPTED",
                                "fileVault2ProgressPercent": 100 if c["filevault"] else 0, "lvmManaged": False}]}]}
        if section == "SECURITY":
            return {"sipStatus": "ENABLED" if c["sip"] else "DISABLED",
                    "gatekeeperStatus": "APP_STORE_AND_IDENTIFIED_DEVELOPERS" if c["gatekeeper"] else "DISABLED",
                    "xprotectVersion": "5290", "autoLoginDisabled": True, "remoteDesktopEnabled": False,
                    "activationLockEnabled": c["activation_lock"], "recoveryLockEnabled": False,
                    "firewallEnabled": c["firewall"],
                    "secureBootLevel": "FULL_SECURITY" if model[6] else "NOT_SUPPORTED",
                    "externalBootLevel": "NOT_SUPPORTED" if model[6] else "ALLOW_BOOTING_FROM_EXTERNAL_MEDIA",
                    "bootstrapTokenAllowed": model[6]}
        if section == "DISK_ENCRYPTION":
            username = u["username"] if u else None
            return {"bootPartitionEncryptionDetails": {
                        "partitionName": "Macintosh HD (Boot Partition)",
                        "partitionFileVault2State": "ENCRYPTED" if c["filevault"] else "UNENCRYPTED",
                        "partitionFileVault2Percent": 100 if c["filevault"] else 0},
                    "individualRecoveryKeyValidityStatus": "VALID" if c["filevault"] else "UNKNOWN",
                    "institutionalRecoveryKeyPresent": False,
                    "diskEncryptionConfigurationName": "FileVault" if c["filevault"] else None,
                    "fileVault2EnabledUserNames": [username] if c["filevault"] and username else [],
                    "fileVault2EligibilityMessage": "Eligible"}
        if section == "GROUP_MEMBERSHIPS":
            groups = [{"groupId": str(g.id), "groupName": g.name, "smartGroup": g.is_smart}
                      for g in self.computer_groups_of(c["id"])]
            if c["managed"]:
                groups.insert(0, {"groupId": "1000", "groupName": "All Managed Clients", "smartGroup": True})
            return groups
        if section == "LOCAL_USER_ACCOUNTS":
            if u is None:
                return []
            return [{"uid": "501", "userGuid": None, "username": u["username"], "fullName": u["realname"],
                     "admin": False, "homeDirectory": f"/Users/{u['username']}", "homeDirectorySizeMb": None,
                     "fileVault2Enabled": c["filevault"], "userAccountType": "LOCAL",
                     "passwordMinLength": 8, "passwordMaxAge": None, "passwordMinComplexCharacters": 0,
                     "passwordHistoryDepth": 0, "passwordRequireAlphanumeric": False,
                     "computerAzureActiveDirectoryId": None, "userAzureActiveDirectoryId": None,
                     "azureActiveDirectoryId": "UNRESPONSIVE"}]
        if section == "CONFIGURATION_PROFILES":
            if not c["managed"]:
                return []
            return [{"id": "1", "username": None, "lastInstalled": iso_z(c["enrolled"]), "removable": False,
                     "displayName": "Wi-Fi - Corporate", "profileIdentifier": "com.example.wifi"},
                    {"id": "2", "username": None, "lastInstalled": iso_z(c["enrolled"]), "removable": False,
                     "displayName": "Security Baseline", "profileIdentifier": "com.example.baseline"}]
        if section == "PACKAGE_RECEIPTS":
            return {"installedByJamfPro": [], "installedByInstallerSwu": [], "cached": []}
        if section == "CONTENT_CACHING":
            return None
        return []  # list-shaped sections this simulator leaves empty

    @staticmethod
    def computer_apps(c: dict) -> list[dict]:
        """Classic ``software.applications`` entries (``name``, ``path``, ``version``, ``bundle_id``)."""
        mask, ver = c["apps"], c["apps_ver"]
        out = []
        for i in _MAC_APP_ORDER:
            if mask >> i & 1:
                name, folder, bundle, versions = MAC_APPS[i]
                out.append({"name": name, "path": f"{folder}/{name}",
                            "version": versions[(ver >> (2 * i) & 3) % len(versions)], "bundle_id": bundle})
        return out

    @staticmethod
    def mobile_apps(m: dict) -> list[tuple[str, str, str]]:
        """(name, bundle id, version) of the apps on a mobile device, by name."""
        mask, ver = m["apps"], m["apps_ver"]
        out = []
        for i in _MOBILE_APP_ORDER:
            if mask >> i & 1:
                name, bundle, versions = MOBILE_APPS[i]
                out.append((name, bundle, versions[(ver >> (2 * i) & 3) % len(versions)]))
        return out

    # -- mobile ---------------------------------------------------------------------------

    def pro_mobile_list_item(self, m: dict) -> dict:
        model = MOBILE_MODELS[m["model"]]
        u = self.user(m)
        return {"id": str(m["id"]), "name": m["name"], "serialNumber": _nz(m["serial"]),
                "wifiMacAddress": m["wifi"], "udid": m["udid"], "phoneNumber": _nz(m["phone"]),
                "model": model[0], "modelIdentifier": model[1], "username": u["username"] if u else None,
                "type": model[4], "managementId": m["mgmt_id"], "softwareUpdateDeviceId": model[1]}

    def _pro_mobile_purchasing(self, m: dict) -> dict:
        p = m["purch"] or {}
        return {"purchased": True, "leased": False, "poNumber": p.get("po_number"), "vendor": p.get("vendor"),
                "appleCareId": _nz(p.get("applecare")), "purchasePrice": p.get("price"),
                "purchasingAccount": _nz(p.get("account")), "poDate": iso_z(p.get("po_date")),
                "warrantyExpiresDate": iso_z(p.get("warranty")), "leaseExpiresDate": None,
                "lifeExpectancy": p.get("life", 0), "purchasingContact": _nz(p.get("contact"))}

    def _pro_mobile_eas(self, m: dict) -> list[dict]:
        if m["eas"] is None:
            return []
        return [{"id": str(d[0]), "name": d[1], "type": d[3], "value": [v] if v else [],
                 "extensionAttributeCollectionAllowed": False, "inventoryDisplay": "General"}
                for d, v in zip(MOBILE_EAS, m["eas"])]

    def _pro_mobile_location(self, m: dict) -> dict:
        u = self.user(m)
        if u is None:
            return {"username": None, "realName": None, "emailAddress": None, "position": None,
                    "phoneNumber": None, "departmentId": None, "buildingId": None, "room": None}
        return {"username": u["username"], "realName": u["realname"], "emailAddress": _nz(u["email"]),
                "position": u["position"], "phoneNumber": _nz(u["phone"]), "departmentId": u["department"],
                "buildingId": u["building"], "room": _nz(u["room"])}

    @staticmethod
    def _pro_mobile_security(m: dict) -> dict:
        """The iOS ``security`` object (MobileDeviceSecurity), as in both the paged and the single-device
        answers: passcode compliance, encryption, jailbreak and lost-mode fields."""
        return {"dataProtected": m["passcode"], "blockLevelEncryptionCapable": True,
                "fileLevelEncryptionCapable": True, "passcodePresent": m["passcode"],
                "passcodeCompliant": m["passcode"], "passcodeCompliantWithProfile": m["passcode"],
                "passcodeLockGracePeriodEnforcedSeconds": 0 if m["passcode"] else None,
                "hardwareEncryption": 3, "activationLockEnabled": m["activation_lock"],
                "jailBreakDetected": False, "personalDeviceProfileCurrent": False,
                "lostModeEnabled": m["lost_mode"], "lostModePersistent": False, "lostModeMessage": None,
                "lostModePhoneNumber": None, "lostModeFootnote": None, "lostModeLocation": None}

    def pro_mobile_detail_v2(self, m: dict) -> dict:
        """``GET /api/v2/mobile-devices/{id}/detail`` (MobileDeviceDetailsV2)."""
        model = MOBILE_MODELS[m["model"]]
        tv = model[4] == "tvos"
        version, build = (TVOS if tv else IOS)[m["os"]]
        site_id, site_name = SITES[m["site"]]
        carrier = m["carrier"]
        common_hw = {"model": model[0], "modelIdentifier": model[1], "modelNumber": model[2],
                     "supervised": m["supervised"], "purchasing": self._pro_mobile_purchasing(m)}
        ios = None
        tvos = None
        if tv:
            tvos = {**common_hw, "airplayPassword": None, "deviceId": None, "locales": "en_US",
                    "configurationProfiles": []}
        else:
            ios = {**common_hw, "batteryLevel": m["battery"], "lastBackupTimestamp": None,
                   "capacityMb": m["capacity_mb"], "availableMb": m["available_mb"],
                   "percentageUsed": 100 - m["available_mb"] * 100 // max(1, m["capacity_mb"]),
                   "shared": False, "deviceLocatorServiceEnabled": True, "doNotDisturbEnabled": False,
                   "cloudBackupEnabled": False, "lastCloudBackupTimestamp": None,
                   "locationServicesEnabled": False, "iTunesStoreAccountActive": False, "bleCapable": True,
                   "computer": None,
                   "security": self._pro_mobile_security(m),
                   "network": {"cellularTechnology": "GSM" if carrier else "Unknown",
                               "voiceRoamingEnabled": False if carrier else None, "imei": _nz(m["imei"]), "iccid": _nz(m["iccid"]),
                               "meid": None, "carrierSettingsVersion": "60.0" if carrier else None,
                               "currentCarrierNetwork": carrier[0] if carrier else None,
                               "currentMobileCountryCode": carrier[1] if carrier else None,
                               "currentMobileNetworkCode": carrier[2] if carrier else None,
                               "homeCarrierNetwork": carrier[0] if carrier else None,
                               "homeMobileCountryCode": carrier[1] if carrier else None,
                               "homeMobileNetworkCode": carrier[2] if carrier else None,
                               "dataRoamingEnabled": False, "roaming": False, "personalHotspotEnabled": False,
                               "phoneNumber": _nz(m["phone"])},
                   "applications": [{"identifier": bundle, "name": name, "version": version,
                                     "shortVersion": version, "managementStatus": "Managed",
                                     "validationStatus": True, "bundleSize": "0", "dynamicSize": "0"}
                                    for name, bundle, version in self.mobile_apps(m)],
                   "certificates": [], "ebooks": [], "configurationProfiles": [], "provisioningProfiles": [],
                   "attachments": []}
        return {
            "id": str(m["id"]), "name": m["name"], "enforceName": False, "assetTag": _nz(m["asset_tag"]),
            "lastInventoryUpdateTimestamp": iso_z(m["last_inv"]), "osVersion": version, "osBuild": build,
            "osSupplementalBuildVersion": None, "osRapidSecurityResponse": None,
            "softwareUpdateDeviceId": model[1], "serialNumber": _nz(m["serial"]), "udid": m["udid"],
            "ipAddress": m["ip"], "wifiMacAddress": m["wifi"], "bluetoothMacAddress": m["bt"],
            "managed": m["managed"], "timeZone": m["time_zone"], "initialEntryTimestamp": iso_z(m["initial"]),
            "lastEnrollmentTimestamp": iso_z(m["enrolled"]),
            "mdmProfileExpirationTimestamp": iso_z(m["enrolled"] + 2 * 365 * DAY_MS) if m["managed"] else None,
            "deviceOwnershipLevel": "Institutional",
            "enrollmentMethod": "Prestage enrollment: Corporate ADE" if m["dep"] else "User-initiated - no invitation",
            "enrollmentSessionTokenValid": False, "declarativeDeviceManagementEnabled": m["managed"],
            "site": {"id": str(site_id), "name": site_name}, "extensionAttributes": self._pro_mobile_eas(m),
            "location": self._pro_mobile_location(m), "type": model[4], "ios": ios, "tvos": tvos,
            "watchos": None, "visionos": None,
        }

    MOBILE_SECTIONS = ("GENERAL", "HARDWARE", "USER_AND_LOCATION", "PURCHASING", "SECURITY", "APPLICATIONS",
                       "EBOOKS", "NETWORK", "SERVICE_SUBSCRIPTIONS", "CERTIFICATES", "PROFILES", "USER_PROFILES",
                       "PROVISIONING_PROFILES", "SHARED_USERS", "EXTENSION_ATTRIBUTES")
    _MOBILE_SECTION_KEYS = {"GENERAL": "general", "HARDWARE": "hardware", "USER_AND_LOCATION": "userAndLocation",
                            "PURCHASING": "purchasing", "SECURITY": "security", "APPLICATIONS": "applications",
                            "EBOOKS": "ebooks", "NETWORK": "network", "SERVICE_SUBSCRIPTIONS": "serviceSubscriptions",
                            "CERTIFICATES": "certificates", "PROFILES": "profiles", "USER_PROFILES": "userProfiles",
                            "PROVISIONING_PROFILES": "provisioningProfiles", "SHARED_USERS": "sharedUsers",
                            "EXTENSION_ATTRIBUTES": "extensionAttributes"}

    def pro_mobile_inventory(self, m: dict, sections: Iterable[str]) -> dict:
        """One ``GET /api/v2/mobile-devices/detail`` result; sections not asked for are ``null``."""
        wanted = set(sections)
        model = MOBILE_MODELS[m["model"]]
        detail = self.pro_mobile_detail_v2(m)
        sub = detail["ios"] or detail["tvos"]
        out: dict[str, Any] = {"mobileDeviceId": str(m["id"]), "deviceType": model[4]}
        for section in self.MOBILE_SECTIONS:
            key = self._MOBILE_SECTION_KEYS[section]
            if section not in wanted:
                out[key] = None
                continue
            if section == "GENERAL":
                out[key] = {"udid": m["udid"], "displayName": m["name"], "assetTag": detail["assetTag"],
                            "siteId": detail["site"]["id"], "lastInventoryUpdateDate": detail["lastInventoryUpdateTimestamp"],
                            "osVersion": detail["osVersion"], "osRapidSecurityResponse": None,
                            "osBuild": detail["osBuild"], "osSupplementalBuildVersion": None,
                            "softwareUpdateDeviceId": model[1], "ipAddress": m["ip"], "managed": m["managed"],
                            "supervised": m["supervised"], "deviceOwnershipType": "Institutional",
                            "enrollmentMethodPrestage": ({"mobileDevicePrestageId": "1", "profileName": "Corporate ADE"}
                                                         if m["dep"] else None),
                            "enrollmentSessionTokenValid": False, "lastEnrolledDate": detail["lastEnrollmentTimestamp"],
                            "mdmProfileExpirationDate": detail["mdmProfileExpirationTimestamp"],
                            "timeZone": m["time_zone"], "declarativeDeviceManagementEnabled": m["managed"],
                            "managementId": m["mgmt_id"], "initialEntryDate": iso_date(m["initial"]),
                            "extensionAttributes": [], "lastLoggedInUsernameSelfService": None,
                            "lastLoggedInUsernameSelfServiceTimestamp": None,
                            # Jamf Pro 11 adds the device's own settings to this section (the
                            # Classic general subset's cloud backup, Find My, iTunes... flags).
                            "sharedIpad": False, "diagnosticAndUsageReportingEnabled": False,
                            "appAnalyticsEnabled": False, "lastBackupDate": None,
                            "deviceLocatorServiceEnabled": model[4] != "tvos", "doNotDisturbEnabled": False,
                            "cloudBackupEnabled": False, "lastCloudBackupDate": None,
                            "locationServicesForSelfServiceMobileEnabled": False,
                            "itunesStoreAccountActive": False, "exchangeDeviceId": None, "tethered": None,
                            "airPlayPassword": None, "locales": None, "languages": None}
            elif section == "HARDWARE":
                out[key] = {"capacityMb": m["capacity_mb"], "availableSpaceMb": m["available_mb"],
                            "usedSpacePercentage": 100 - m["available_mb"] * 100 // max(1, m["capacity_mb"]),
                            "batteryLevel": m["battery"] or None, "serialNumber": _nz(m["serial"]),
                            "wifiMacAddress": m["wifi"], "bluetoothMacAddress": m["bt"],
                            "modemFirmwareVersion": "2.10.04" if m["imei"] else None, "model": model[0],
                            "modelIdentifier": model[1], "modelNumber": model[2],
                            "bluetoothLowEnergyCapable": model[4] != "tvos", "deviceId": None,
                            "extensionAttributes": []}
            elif section == "USER_AND_LOCATION":
                loc = dict(self._pro_mobile_location(m))
                u = self.user(m)
                loc["building"] = self.buildings.get(u["building"]) if u else None
                loc["department"] = self.departments.get(u["department"]) if u else None
                loc["extensionAttributes"] = []
                out[key] = loc
            elif section == "PURCHASING":
                out[key] = {**self._pro_mobile_purchasing(m), "extensionAttributes": []}
            elif section == "SECURITY":
                out[key] = (dict(sub["security"]) if "security" in sub else  # tvOS: an iOS-only section
                            dict.fromkeys(self._pro_mobile_security(m)))
            elif section == "NETWORK":
                out[key] = dict(sub["network"]) if "network" in sub else None
            elif section == "APPLICATIONS":
                out[key] = list(sub.get("applications", []))
            elif section == "EXTENSION_ATTRIBUTES":
                # The mobile shape, as on the single-device route (not the computers' definitionId/values).
                out[key] = [dict(e) for e in detail["extensionAttributes"]]
            else:
                out[key] = []
        return out

    # =====================================================================================
    # Webhook event objects
    # =====================================================================================

    def webhook_computer(self, c: dict) -> dict:
        model = MAC_MODELS[c["model"]]
        u = self.user(c) or {}
        version, build = MACOS[c["os"]]
        return {"alternateMacAddress": c["alt_mac"], "building": self.buildings.get(u.get("building"), ""),
                "department": self.departments.get(u.get("department"), ""), "deviceName": c["name"],
                "emailAddress": u.get("email", ""), "ipAddress": c["ip"], "jssID": c["id"],
                "macAddress": c["mac"], "model": model[0], "osBuild": build, "osVersion": version,
                "phone": u.get("phone", ""), "position": u.get("position", ""), "realName": u.get("realname", ""),
                "reportedIpAddress": c["rip"], "room": c["room"], "serialNumber": c["serial"], "udid": c["udid"],
                "userDirectoryID": "-1", "username": u.get("username", ""), "managementId": c["mgmt_id"]}

    def webhook_mobile(self, m: dict) -> dict:
        model = MOBILE_MODELS[m["model"]]
        u = self.user(m) or {}
        version, build = (TVOS if model[4] == "tvos" else IOS)[m["os"]]
        return {"bluetoothMacAddress": m["bt"], "deviceName": m["name"], "icciID": m["iccid"],
                "imei": m["imei"], "ipAddress": m["ip"], "jssID": m["id"], "model": model[0],
                "modelDisplay": model[0], "osBuild": build, "osVersion": version, "product": None,
                "room": u.get("room", ""), "serialNumber": m["serial"], "udid": m["udid"],
                "userDirectoryID": "-1", "username": u.get("username", ""), "version": version,
                "wifiMacAddress": m["wifi"], "managementId": m["mgmt_id"]}


_MAC_APP_ORDER = sorted(range(len(MAC_APPS)), key=lambda i: MAC_APPS[i][0].lower())
_MOBILE_APP_ORDER = sorted(range(len(MOBILE_APPS)), key=lambda i: MOBILE_APPS[i][0].lower())


def _ea_values(values: tuple) -> list[str]:
    """Stored EA values, with the warranty-date EA (epoch ms) formatted the Classic way."""
    return [classic_datetime(v) if isinstance(v, int) else v for v in values]


def _boot_rom(model: tuple) -> str:
    """One boot ROM string per model, the same in both APIs (they read the same inventory column)."""
    return "11881.81.4" if model[6] else "2020.41.1.0.0 (iBridge: 22.16.10353.0.0,0)"


def _imei(rng: random.Random) -> str:
    digits = [3, 5] + [int(d) for d in f"{rng.getrandbits(40) % 10**12:012d}"]
    total = 0
    for i, d in enumerate(digits):
        if i % 2 == 1:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    return f"{s[:2]} {s[2:8]} {s[8:14]} {s[14]}"


def _iccid(rng: random.Random) -> str:
    s = f"8901{rng.getrandbits(54) % 10**16:016d}"
    return " ".join(s[i:i + 4] for i in range(0, 20, 4))


# ---------------------------------------------------------------------------------------------
# Jamf Pro API filter / sort fields: name -> (type, accessor(inventory, record))
# ---------------------------------------------------------------------------------------------

def _u(field: str) -> Callable[[Inventory, dict], Any]:
    def get(inv: Inventory, rec: dict) -> Any:
        u = inv.user(rec)
        return _nz(u[field]) if u else None
    return get


def _p(field: str) -> Callable[[Inventory, dict], Any]:
    def get(inv: Inventory, rec: dict) -> Any:
        return (rec["purch"] or {}).get(field) or None
    return get


COMPUTER_FIELDS: dict[str, tuple[str, Callable[[Inventory, dict], Any]]] = {
    "id": ("int", lambda inv, c: c["id"]),
    "udid": ("str", lambda inv, c: c["udid"]),
    "general.name": ("str", lambda inv, c: c["name"]),
    "general.platform": ("str", lambda inv, c: "Mac"),
    "general.assetTag": ("str", lambda inv, c: _nz(c["asset_tag"])),
    "general.barcode1": ("str", lambda inv, c: _nz(c["barcode"])),
    "general.lastIpAddress": ("str", lambda inv, c: c["ip"]),
    "general.lastReportedIp": ("str", lambda inv, c: c["rip"]),
    "general.jamfBinaryVersion": ("str", lambda inv, c: c["jamf_version"]),
    "general.managementId": ("str", lambda inv, c: c["mgmt_id"]),
    "general.reportDate": ("datetime", lambda inv, c: c["report"]),
    "general.lastContactTime": ("datetime", lambda inv, c: c["contact"]),
    "general.lastEnrolledDate": ("datetime", lambda inv, c: c["enrolled"]),
    "general.initialEntryDate": ("date", lambda inv, c: c["initial"]),
    "general.remoteManagement.managed": ("bool", lambda inv, c: c["managed"]),
    "general.supervised": ("bool", lambda inv, c: c["supervised"]),
    "general.enrolledViaAutomatedDeviceEnrollment": ("bool", lambda inv, c: c["dep"]),
    "general.site.id": ("str", lambda inv, c: str(SITES[c["site"]][0])),
    "hardware.serialNumber": ("str", lambda inv, c: _nz(c["serial"])),
    "hardware.make": ("str", lambda inv, c: "Apple"),
    "hardware.model": ("str", lambda inv, c: MAC_MODELS[c["model"]][0]),
    "hardware.modelIdentifier": ("str", lambda inv, c: MAC_MODELS[c["model"]][1]),
    "hardware.macAddress": ("str", lambda inv, c: c["mac"]),
    "hardware.altMacAddress": ("str", lambda inv, c: _nz(c["alt_mac"])),
    "hardware.appleSilicon": ("bool", lambda inv, c: MAC_MODELS[c["model"]][6]),
    "hardware.totalRamMegabytes": ("int", lambda inv, c: c["ram_mb"]),
    "operatingSystem.name": ("str", lambda inv, c: "macOS"),
    "operatingSystem.version": ("str", lambda inv, c: MACOS[c["os"]][0]),
    "operatingSystem.build": ("str", lambda inv, c: MACOS[c["os"]][1]),
    "userAndLocation.username": ("str", _u("username")),
    "userAndLocation.realname": ("str", _u("realname")),
    "userAndLocation.email": ("str", _u("email")),
    "userAndLocation.position": ("str", _u("position")),
    "userAndLocation.phone": ("str", _u("phone")),
    "userAndLocation.departmentId": ("str", _u("department")),
    "userAndLocation.buildingId": ("str", _u("building")),
    "userAndLocation.room": ("str", lambda inv, c: _nz(c["room"])),
    "purchasing.poNumber": ("str", _p("po_number")),
    "purchasing.vendor": ("str", _p("vendor")),
    "purchasing.poDate": ("date", _p("po_date")),
    "purchasing.warrantyDate": ("date", _p("warranty")),
    "purchasing.leased": ("bool", lambda inv, c: bool((c["purch"] or {}).get("leased"))),
}

MOBILE_FIELDS: dict[str, tuple[str, Callable[[Inventory, dict], Any]]] = {
    "mobileDeviceId": ("int", lambda inv, m: m["id"]),
    "id": ("int", lambda inv, m: m["id"]),
    "displayName": ("str", lambda inv, m: m["name"]),
    "name": ("str", lambda inv, m: m["name"]),
    "udid": ("str", lambda inv, m: m["udid"]),
    "serialNumber": ("str", lambda inv, m: _nz(m["serial"])),
    "wifiMacAddress": ("str", lambda inv, m: m["wifi"]),
    "bluetoothMacAddress": ("str", lambda inv, m: m["bt"]),
    "assetTag": ("str", lambda inv, m: _nz(m["asset_tag"])),
    "model": ("str", lambda inv, m: MOBILE_MODELS[m["model"]][0]),
    "modelIdentifier": ("str", lambda inv, m: MOBILE_MODELS[m["model"]][1]),
    "modelNumber": ("str", lambda inv, m: MOBILE_MODELS[m["model"]][2]),
    "osVersion": ("str", lambda inv, m: (TVOS if MOBILE_MODELS[m["model"]][4] == "tvos" else IOS)[m["os"]][0]),
    "ipAddress": ("str", lambda inv, m: m["ip"]),
    "managed": ("bool", lambda inv, m: m["managed"]),
    "supervised": ("bool", lambda inv, m: m["supervised"]),
    "lastInventoryUpdateDate": ("datetime", lambda inv, m: m["last_inv"]),
    "lastEnrolledDate": ("datetime", lambda inv, m: m["enrolled"]),
    "username": ("str", _u("username")),
    "fullName": ("str", _u("realname")),
    "emailAddress": ("str", _u("email")),
    "position": ("str", _u("position")),
    "room": ("str", _u("room")),
    "imei": ("str", lambda inv, m: _nz(m["imei"])),
    "iccid": ("str", lambda inv, m: _nz(m["iccid"])),
    "devicePhoneNumber": ("str", lambda inv, m: _nz(m["phone"])),
    "poNumber": ("str", _p("po_number")),
    "vendor": ("str", _p("vendor")),
}
# ``GET /api/v2/mobile-devices`` sorts only on the list item's own keys.
MOBILE_LIST_SORT_FIELDS = {k: MOBILE_FIELDS[k] for k in
                           ("id", "name", "serialNumber", "udid", "wifiMacAddress", "model", "modelIdentifier",
                            "username")}
