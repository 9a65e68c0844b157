"""Deterministic, realistic Zendesk Support users and organizations for the simulator.

``UserDirectory(n, seed, now)`` decides up front only what filters and counts need (id, role,
deleted/suspended flags, organization) in compact arrays, and renders a full user record on
demand from a per-user random stream: 50 000 users are set up in well under a second, and the
same ``(n, seed, now)`` always gives the same directory.

What makes the data realistic enough to catch hook bugs (shapes follow real API answers):

* roles as Zendesk has them: mostly ``end-user``, some ``agent`` (``role_type`` null, 0 custom
  role with ``custom_role_id``, 1 light agent) and ``admin`` (``role_type`` 4);
* ``suspended: true`` users (still listed), and soft-deleted users (``active: false``) that
  the list endpoints leave out but ``/users/{id}.json`` still shows;
* missing values: end-users without e-mail (phone / social channel), ``phone`` mostly null,
  ``organization_id`` null, ``external_id`` null, ``last_login_at`` null for never-logged-in;
* names that break naive splitting: single-word names, middle names, ``van der Berg``,
  CJK names without a space, names with commas, non-ASCII (``José Núñez``, ``Zoë``);
* ids: large, increasing with creation, with gaps (as after deletions).
"""
from __future__ import annotations

import random
import unicodedata
from array import array

from .device_data import iso_z

ROLES = ("end-user", "agent", "admin")
_DELETED, _SUSPENDED = 1, 2
ID_BASE = 360_012_000_000
ID_STEP = 1_048_583  # ids are ID_BASE + i * ID_STEP + jitter (jitter < ID_STEP): increasing, with gaps
ORG_ID_BASE = 360_900_000_000

_FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
          "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
          "Sarah", "Priya", "Wei", "Aisha", "Mateo", "Sofia", "Liam", "Olivia", "Noah", "Emma",
          "José", "Zoë", "Björn", "Chloé", "François", "Søren", "Łukasz", "Ngozi", "Hiroshi",
          "Yuki", "Fatima", "Omar", "Ana", "Dmitri", "Ingrid", "Rahul", "Mei", "Kwame", "Ólafur",
          "Siobhán", "Renée", "Jürgen", "Ayşe"]
_MIDDLE = ["Anne", "Marie", "J.", "Lee", "Carlos", "María", "K."]
_LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
         "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor", "Moore", "Jackson",
         "Lee", "Patel", "Nguyen", "Kim", "Chen", "Müller", "Núñez", "O'Brien", "Ødegaard",
         "Kowalski", "Tanaka", "Okafor", "Haddad", "Ivanova", "Dubois", "Rossi", "Andersson",
         "Singh", "van der Berg", "MacLeod", "Schmidt", "García-López", "Yamamoto", "Þórsson"]
_CJK = ["李雷", "王芳", "张伟", "田中太郎", "김민준"]
_DOMAINS = ["example.com"] * 6 + ["corp.example.com", "example.co.uk", "mail.example.org"]
_ZONES = [("Pacific Time (US & Canada)", "America/Los_Angeles"), ("Eastern Time (US & Canada)",
          "America/New_York"), ("London", "Europe/London"), ("Berlin", "Europe/Berlin"),
          ("Tokyo", "Asia/Tokyo"), ("Sydney", "Australia/Sydney"), ("UTC", "Etc/UTC")]
_LOCALES = [("en-US", 1), ("en-US", 1), ("en-US", 1), ("de", 8), ("fr", 16), ("ja", 67), ("es", 2)]
_ORG_NAMES = ["Acme Corp", "Globex", "Initech", "Umbrella", "Stark Industries", "Wayne Enterprises",
              "Tyrell", "Soylent", "Müller & Söhne GmbH", "Société Générale d'Exemple", "株式会社サンプル",
              "Hooli", "Vandelay Industries", "Cyberdyne", "Aperture Science"]
_TAGS = ["vip", "beta", "emea", "apac", "churn_risk", "enterprise", "partner"]


def _ascii(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text)
    return "".join(c for c in norm if c.isascii() and c.isalnum())


class UserDirectory:
    """The account's users (index ``0..n-1`` in creation order) and organizations."""

    def __init__(self, n: int, seed: int = 1, now: float = 1_790_000_000.0, organizations: int = 12,
                 deleted_ratio: float = 0.03, suspended_ratio: float = 0.04) -> None:
        self.n, self.seed, self.now = n, seed, float(now)
        rng = random.Random(seed)
        self.ids = array("q")
        self.roles = bytearray(n)
        self.flags = bytearray(n)
        self.org = array("q")
        self.org_ids = [ORG_ID_BASE + k * 7919 + rng.randrange(7000) for k in range(organizations)]
        self._org_created = [self.now - rng.uniform(400, 2000) * 86400 for _ in range(organizations)]
        for i in range(n):
            self.ids.append(ID_BASE + i * ID_STEP + rng.randrange(ID_STEP))
            r = rng.random()
            self.roles[i] = 2 if r < 0.03 else 1 if r < 0.15 else 0
            f = rng.random()
            self.flags[i] = _DELETED if f < deleted_ratio else _SUSPENDED if f < deleted_ratio + suspended_ratio else 0
            self.org.append(self.org_ids[rng.randrange(organizations)] if organizations and rng.random() < 0.7 else 0)
        # Creation times spread over ~5 years, increasing with the index (as ids do).
        self._t0 = self.now - 5 * 365 * 86400
        self._dt = (self.now - 3600 - self._t0) / max(n, 1)

    # ---- lookups -------------------------------------------------------------------------
    def index_of(self, user_id: int) -> int | None:
        i = (user_id - ID_BASE) // ID_STEP
        if 0 <= i < self.n and self.ids[i] == user_id:
            return i
        return None

    def first_index_after(self, user_id: int) -> int:
        """Index of the first user whose id is greater than ``user_id``."""
        i = max(0, min(self.n, (user_id - ID_BASE) // ID_STEP))
        while i < self.n and self.ids[i] <= user_id:
            i += 1
        return i

    def last_index_before(self, user_id: int) -> int:
        """Index of the last user whose id is smaller than ``user_id`` (-1 if none)."""
        i = max(-1, min(self.n - 1, (user_id - ID_BASE) // ID_STEP))
        while i >= 0 and self.ids[i] >= user_id:
            i -= 1
        return i

    def is_deleted(self, i: int) -> bool:
        return bool(self.flags[i] & _DELETED)

    def role(self, i: int) -> str:
        return ROLES[self.roles[i]]

    def listed(self) -> list[int]:
        """Indexes the list endpoints show (not deleted), in id order."""
        return [i for i in range(self.n) if not self.flags[i] & _DELETED]

    # ---- rendering -----------------------------------------------------------------------
    def user(self, i: int, base_url: str) -> dict:
        """The full user record as ``GET /api/v2/users/{id}.json`` shows it."""
        rng = random.Random(self.seed * 1_000_003 + i)
        uid, role = self.ids[i], self.role(i)
        deleted, suspended = self.is_deleted(i), bool(self.flags[i] & _SUSPENDED)
        name, local = self._name(rng, i)
        domain = rng.choice(_DOMAINS)
        email: str | None = f"{local}@{domain}"
        if role == "end-user" and rng.random() < 0.08:
            email = None  # reached through phone or a social channel only
        phone = None
        if rng.random() < (0.5 if role != "end-user" else 0.15):
            phone = f"+1{rng.randint(201, 989)}555{rng.randint(0, 9999):04d}" if rng.random() < 0.8 else \
                f"+44 20 7946 {rng.randint(0, 9999):04d}"
        if email is None and phone is None:
            phone = f"+1{rng.randint(201, 989)}555{rng.randint(0, 9999):04d}"
        created = self._t0 + i * self._dt + rng.uniform(0, self._dt * 0.9)
        updated = min(self.now - 60, created + rng.uniform(0, self.now - created))
        if rng.random() < (0.95 if role != "end-user" else 0.4):
            last_login = iso_z(rng.uniform(updated - (updated - created) * 0.5, self.now - 30))
        else:
            last_login = None
        zone, iana = rng.choice(_ZONES)
        locale, locale_id = rng.choice(_LOCALES)
        role_type = custom_role_id = None
        if role == "admin":
            role_type = 4
        elif role == "agent":
            role_type = rng.choice([None, None, 0, 1])
            custom_role_id = 360_000_111_000 + rng.randrange(6) if role_type in (0, 1) else None
        org_id = self.org[i] or None
        if deleted:
            email = None if rng.random() < 0.5 else email
            name = name if rng.random() < 0.5 else "Permanently deleted user"
        photo = None
        if rng.random() < 0.1:
            pid = 360_500_000_000 + i
            photo = {"url": f"{base_url}/api/v2/attachments/{pid}.json", "id": pid,
                     "file_name": f"profile_image_{uid}.png",
                     "content_url": f"{base_url}/system/photos/{pid}/profile_image_{uid}.png",
                     "mapped_content_url": f"{base_url}/system/photos/{pid}/profile_image_{uid}.png",
                     "content_type": "image/png", "size": rng.randint(2000, 40000), "width": 80,
                     "height": 80, "inline": False, "deleted": False, "thumbnails": []}
        employee_id = str(1000 + i) if role != "end-user" or rng.random() < 0.3 else None
        return {
            "id": uid,
            "url": f"{base_url}/api/v2/users/{uid}.json",
            "name": name,
            "email": email,
            "created_at": iso_z(created),
            "updated_at": iso_z(updated),
            "time_zone": zone,
            "iana_time_zone": iana,
            "phone": phone,
            "shared_phone_number": (False if phone else None),
            "photo": photo,
            "locale_id": locale_id,
            "locale": locale,
            "organization_id": org_id,
            "role": role,
            "verified": email is not None and rng.random() < 0.85,
            "external_id": employee_id,
            "tags": sorted(rng.sample(_TAGS, rng.choice([0, 0, 0, 1, 2]))),
            "alias": (rng.choice(["", "Support", name.split(" ")[0]]) if role != "end-user" else None),
            "active": not deleted,
            "shared": False,
            "shared_agent": False,
            "last_login_at": last_login,
            "two_factor_auth_enabled": (rng.random() < 0.6) if role != "end-user" else None,
            "signature": (f"Best,\n{name}" if role != "end-user" and rng.random() < 0.3 else None),
            "details": None if rng.random() < 0.9 else "Imported from legacy help desk",
            "notes": None,
            "role_type": role_type,
            "custom_role_id": custom_role_id,
            "moderator": role != "end-user" and rng.random() < 0.2,
            "ticket_restriction": "requested" if role == "end-user" else (
                "assigned" if role_type == 1 else None),
            "only_private_comments": role_type == 1,
            "restricted_agent": role != "admin" and (role == "end-user" or role_type == 1),
            "suspended": suspended,
            "default_group_id": (360_000_222_000 + rng.randrange(4)) if role != "end-user" else None,
            "report_csv": role == "admin",
            "user_fields": {"employee_id": employee_id,
                            "department": rng.choice([None, "Sales", "Engineering", "Support", "Finance"])},
        }

    def _name(self, rng: random.Random, i: int) -> tuple[str, str]:
        """``(display name, e-mail local part)``; the local part is unique per index."""
        r = rng.random()
        if r < 0.03:
            name = rng.choice(_CJK)
            return name, f"user{i}"
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        local = f"{_ascii(first).lower()}.{_ascii(last).lower()}.{i}"
        if r < 0.06:
            return first, local                      # a single word: no last name to take
        if r < 0.12:
            return f"{first} {rng.choice(_MIDDLE)} {last}", local
        if r < 0.14:
            return f"{last}, {first}", local         # "Last, First" typed by an agent
        if r < 0.16:
            return f"  {first}  {last} ", local      # stray whitespace, as typed in a form
        return f"{first} {last}", local

    def organization(self, k: int, base_url: str) -> dict:
        oid = self.org_ids[k]
        rng = random.Random(self.seed * 7_000_001 + k)
        name = _ORG_NAMES[k % len(_ORG_NAMES)] + ("" if k < len(_ORG_NAMES) else f" {k}")
        created = self._org_created[k]
        slug = _ascii(name).lower() or f"org{k}"
        return {
            "url": f"{base_url}/api/v2/organizations/{oid}.json",
            "id": oid,
            "name": name,
            "shared_tickets": rng.random() < 0.3,
            "shared_comments": rng.random() < 0.2,
            "external_id": (f"ORG-{k:04d}" if rng.random() < 0.6 else None),
            "created_at": iso_z(created),
            "updated_at": iso_z(created + rng.uniform(0, self.now - created)),
            "domain_names": [f"{slug}.example.com"] if rng.random() < 0.7 else [],
            "details": "",
            "notes": "",
            "group_id": None,
            "tags": sorted(rng.sample(_TAGS, rng.choice([0, 1]))),
            "organization_fields": {},
        }
