"""Deterministic, realistic OneLogin user directories for the OneLogin simulator.

``UserDirectory(n, seed, now)`` behaves like a read-only list of ``n`` users in the shape of the
v2 API (``GET /api/2/users``).  User ``i`` is built from ``(seed, i)`` alone, on first access, so
a 50,000-user directory costs nothing until it is paged through, and the same seed and ``now``
always give the same users.  :func:`as_v1` and :func:`xml_fields` render a user for the v1 JSON
API and for the retired XML API.

What makes the data realistic enough to catch hook bugs:

* every ``status`` OneLogin has (0 unactivated, 1 active, 2 suspended, 3 locked, 4 password
  expired, 5 awaiting password reset, 7 password pending, 8 security questions required) and
  every ``state`` (0 unapproved, 1 approved, 2 rejected, 3 unlicensed); locked users carry
  ``locked_until`` and failed logins, unactivated ones have no ``activated_at``/``last_login``;
* non-ASCII names (``Zoë Müller``, ``Łukasz Dvořák``, ``Αλέξανδρος``, ``李雷``) and names with
  apostrophes, hyphens and spaces; usernames and emails are ASCII as OneLogin admins make them;
* missing values as OneLogin sends them, i.e. the key present with ``null``: no username
  (email-only accounts), no email, no phone, no last name, no title/department/company;
* directory-synced users (``directory_id``, ``samaccountname``, ``member_of``,
  ``distinguished_name``, ``manager_ad_id``) next to OneLogin-native ones (all of those null);
* ``manager_user_id`` sometimes an integer and sometimes a string, as the real API returns it
  (the official SDK converts integers to strings for that reason);
* ``custom_attributes`` with string or null values.
"""
from __future__ import annotations

import datetime as _dt
import itertools
import random
from typing import Iterator

from .device_data import _CJK, _FIRST, _LAST, _ascii

# More scripts than the device fleets need: Greek, Cyrillic, Vietnamese, combining marks.
FIRST_NAMES = _FIRST + ["Αλέξανδρος", "Ольга", "Nguyễn Văn", "Renée", "Åsa", "Jürgen", "Siobhán",
                        "Anne-Marie"]
LAST_NAMES = _LAST + ["Dvořák", "Παπαδόπουλος", "Смирнова", "Trần", "Þórsson", "D'Angelo",
                      "de la Cruz", "Sánchez"]
DOMAINS = ["example.com"] * 9 + ["corp.example.co.uk"]
TITLES = ["Software Engineer", "Account Executive", "Product Manager", "IT Administrator",
          "Recruiter", "Data Analyst", "Support Specialist", "Directeur Financier", "Ingeniera de Datos"]
DEPARTMENTS = ["Engineering", "Sales", "Product", "IT", "People", "Finance", "Support", "R&D"]
COMPANIES = ["Example Inc", "Example GmbH", "Example KK"]
LOCATIONS = ["San Francisco", "Zürich", "São Paulo", "München", "東京", "London", "Kraków"]
LOCALES = ["en", "en", "en", "de", "fr", "ja", "es", None]
AD_DIRECTORY_ID = 48213
LDAP_DIRECTORY_ID = 48377

# status code -> weight (OneLogin has no status 6)
STATUS_WEIGHTS = {1: 80, 0: 5, 2: 6, 3: 3, 4: 2, 5: 2, 7: 1, 8: 1}
STATE_WEIGHTS = {1: 93, 0: 3, 2: 1, 3: 3}
STATUS_NAMES = {0: "unactivated", 1: "active", 2: "suspended", 3: "locked", 4: "password expired",
                5: "awaiting password reset", 7: "password pending", 8: "security questions required"}

_COMBOS = len(FIRST_NAMES) * len(LAST_NAMES)
_STRIDE = 7919  # prime, so i -> (i * _STRIDE) % _COMBOS is a bijection on each block of _COMBOS
_BASE_ID = 31_000_000


def user_id(seed: int, i: int) -> int:
    """Id of user ``i``: strictly increasing with gaps, like an account where users were deleted."""
    return _BASE_ID + i * 7 + (i * 2654435761 + seed * 40503) % 6


class UserDirectory:
    """``n`` users in the v2 shape, built lazily and cached; indexable and iterable in id order."""

    def __init__(self, n: int, seed: int = 1, now: float = 1_790_000_000.0) -> None:
        self.n, self.seed, self.now = n, seed, now
        self._cache: list[dict | None] = [None] * n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        if not 0 <= i < self.n:
            raise IndexError(i)
        user = self._cache[i]
        if user is None:
            user = self._cache[i] = make_user(self.seed, i, self.now)
        return user

    def __iter__(self) -> Iterator[dict]:
        return (self[i] for i in range(self.n))

    def slice(self, start: int, stop: int) -> list[dict]:
        return [self[i] for i in range(max(0, start), min(stop, self.n))]

    def index_of_id(self, uid: int) -> int | None:
        """Position of the user with id ``uid`` (ids are increasing, so a bisection)."""
        lo, hi = 0, self.n
        while lo < hi:
            mid = (lo + hi) // 2
            if user_id(self.seed, mid) < uid:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < self.n and user_id(self.seed, lo) == uid else None


_STATUS_CODES, _STATUS_CUM = list(STATUS_WEIGHTS), list(itertools.accumulate(STATUS_WEIGHTS.values()))
_STATE_CODES, _STATE_CUM = list(STATE_WEIGHTS), list(itertools.accumulate(STATE_WEIGHTS.values()))
# How admins spell the names in (ASCII) usernames; scripts without Latin letters are transliterated.
_TRANSLIT = {"Αλέξανδρος": "alexandros", "Ольга": "olga", "Παπαδόπουλος": "papadopoulos",
             "Смирнова": "smirnova", "Þórsson": "thorsson"}
_ASCII = {name: _TRANSLIT.get(name) or _ascii(name).lower() for name in FIRST_NAMES + LAST_NAMES}
# Distinct ASCII spellings per list keep the generated usernames unique.
assert all(_ASCII.values()) and all(len({_ASCII[n] for n in names}) == len(names)
                                    for names in (FIRST_NAMES, LAST_NAMES))
_EPOCH = _dt.datetime(1970, 1, 1)


def iso_millis(ts: float) -> str:
    """``2026-04-01T03:01:26.853Z``, OneLogin's timestamp format."""
    return (_EPOCH + _dt.timedelta(seconds=ts)).isoformat(timespec="milliseconds") + "Z"


def _ts(now: float, age_s: float) -> str:
    return iso_millis(now - age_s)


def make_user(seed: int, i: int, now: float) -> dict:
    rng = random.Random(seed * 1_000_003 + i)
    uid = user_id(seed, i)
    k = (i * _STRIDE) % _COMBOS
    first, last = FIRST_NAMES[k % len(FIRST_NAMES)], LAST_NAMES[k // len(FIRST_NAMES)]
    dup = i // _COMBOS
    if rng.random() < 0.02:
        last, first = rng.choice(_CJK)
        username = f"user{uid}"
    else:
        username = f"{_ASCII[first]}.{_ASCII[last]}" + (str(dup + 1) if dup else "")
    email = f"{username}@{rng.choice(DOMAINS)}"
    status = rng.choices(_STATUS_CODES, cum_weights=_STATUS_CUM)[0]
    state = rng.choices(_STATE_CODES, cum_weights=_STATE_CUM)[0]
    created_age = rng.uniform(2 * 86400, 6 * 365 * 86400)
    updated_age = rng.uniform(0, created_age)
    activated = status != 0
    directory = rng.random() < 0.4
    r = rng.random()
    manager = None if r < 0.3 else (user_id(seed, rng.randrange(max(1, i))) if i else None)
    if manager is not None and rng.random() < 0.5:
        manager = str(manager)  # the API returns it as either type
    phone = None
    if rng.random() < 0.65:
        phone = (f"+1{rng.randint(201, 989)}555{rng.randint(0, 9999):04d}" if rng.random() < 0.9
                 else f"+1 ({rng.randint(201, 989)}) 555-{rng.randint(0, 9999):04d}")
    last_login = None
    if activated and rng.random() < 0.95:
        last_login = _ts(now, rng.choice([rng.uniform(60, 86400), rng.uniform(86400, 90 * 86400),
                                          rng.uniform(90 * 86400, min(created_age, 800 * 86400) + 1)]))
    user = {
        "id": uid,
        "username": None if rng.random() < 0.03 else username,
        "email": None if rng.random() < 0.01 else email,
        "firstname": "" if rng.random() < 0.01 else first,
        "lastname": None if rng.random() < 0.02 else last,
        "title": rng.choice(TITLES) if rng.random() < 0.85 else None,
        "department": rng.choice(DEPARTMENTS) if rng.random() < 0.85 else None,
        "company": rng.choice(COMPANIES) if rng.random() < 0.8 else None,
        "comment": "Contractor until Q4" if rng.random() < 0.03 else None,
        "group_id": rng.choice([None, 601_224, 601_225, 601_226]),
        "role_ids": sorted(rng.sample([155_001, 155_002, 155_007, 155_010, 155_013], rng.randint(0, 3))),
        "phone": phone,
        "state": state,
        "status": status,
        "directory_id": (AD_DIRECTORY_ID if rng.random() < 0.8 else LDAP_DIRECTORY_ID) if directory else None,
        "trusted_idp_id": 9_021 if rng.random() < 0.02 else None,
        "manager_ad_id": str(rng.randint(10_000, 99_999)) if directory and rng.random() < 0.7 else None,
        "manager_user_id": manager,
        "samaccountname": (username or f"u{uid}")[:20] if directory else None,
        "member_of": f"CN={rng.choice(DEPARTMENTS)},OU=Groups,DC=corp,DC=example,DC=com" if directory else None,
        "userprincipalname": f"{username or uid}@corp.example.com" if directory else None,
        "distinguished_name": f"CN={first} {last},OU=Staff,DC=corp,DC=example,DC=com" if directory else None,
        "external_id": str(rng.randint(1000, 99_999)) if directory or rng.random() < 0.1 else None,
        "activated_at": _ts(now, created_age - rng.uniform(0, 3 * 86400)) if activated else None,
        "last_login": last_login,
        "invitation_sent_at": _ts(now, created_age - 60) if status == 0 or rng.random() < 0.2 else None,
        "updated_at": _ts(now, updated_age),
        "preferred_locale_code": rng.choice(LOCALES),
        "created_at": _ts(now, created_age),
        "invalid_login_attempts": rng.randint(3, 10) if status == 3 else (rng.choice([0, 0, 0, 1, 2])),
        "locked_until": iso_millis(now + rng.uniform(600, 86400)) if status == 3 else None,
        "password_changed_at": _ts(now, rng.uniform(0, created_age)) if activated else None,
        "custom_attributes": {
            "employee_id": f"E{uid % 1_000_000:06d}" if rng.random() < 0.9 else None,
            "cost_center": f"CC-{rng.randint(100, 999)}" if rng.random() < 0.7 else None,
            "location": rng.choice(LOCATIONS) if rng.random() < 0.8 else None,
        },
    }
    return user


def as_v1(user: dict) -> dict:
    """The v1 API's rendering: ``role_id`` instead of ``role_ids``, plus ``openid_name`` and
    ``locale_code``."""
    out = {k: v for k, v in user.items() if k != "role_ids"}
    out["role_id"] = list(user["role_ids"])
    out["openid_name"] = user["username"]
    out["locale_code"] = user["preferred_locale_code"]
    return out


# Field names of the retired XML API (hyphenated; the original connector's standard list).
XML_FIELDS = ["activated-at", "created-at", "directory-id", "distinguished-name", "email", "external-id",
              "firstname", "group-id", "id", "invalid-login-attempts", "invitation-sent-at", "last-login",
              "lastname", "locale-code", "locked-until", "member-of", "openid-name", "password-changed-at",
              "phone", "status", "updated-at", "username"]
_XML_INTEGER = {"directory-id", "group-id", "id", "invalid-login-attempts", "status"}
_XML_DATETIME = {"activated-at", "created-at", "invitation-sent-at", "last-login", "locked-until",
                 "password-changed-at", "updated-at"}


def xml_fields(user: dict) -> list[tuple[str, object, str | None]]:
    """``(tag, value, type)`` triples for the XML API: the standard fields, then
    ``custom_attribute_<name>`` per custom attribute."""
    v1 = as_v1(user)
    out: list[tuple[str, object, str | None]] = []
    for tag in XML_FIELDS:
        kind = "integer" if tag in _XML_INTEGER else "datetime" if tag in _XML_DATETIME else None
        out.append((tag, v1.get(tag.replace("-", "_")), kind))
    for name, value in user["custom_attributes"].items():
        out.append((f"custom_attribute_{name}", value, None))
    return out
