"""Deterministic Okta user directories for the Okta simulator, small or very large.

``Directory(n, seed, now)`` holds ``n`` users. Only what listing needs is built up front (the
sorted user ids and each user's status: 50 000 users take a fraction of a second); the full
user object is rendered on demand, deterministically from ``(seed, index)``, and cached.

What makes the data realistic enough to catch hook bugs:

* every Okta status in realistic shares: mostly ACTIVE, some DEPROVISIONED (left out of the
  default listing), SUSPENDED, STAGED, PROVISIONED, PASSWORD_EXPIRED, LOCKED_OUT, RECOVERY;
  timestamps follow the lifecycle (a STAGED user was never activated and never logged in);
* non-ASCII names (``Zoë``, ``Łukasz``, ``Müller``, ``李雷``) while logins stay ASCII;
  some users have a login that is not their email, and some logins are not email-shaped;
* optional profile attributes missing: ``mobilePhone``/``secondEmail`` null, ``title``,
  ``department``, ``employeeNumber``... absent; a few users without ``lastName``;
* users mastered elsewhere (Active Directory, LDAP, federation): no password credential.
"""
from __future__ import annotations

import bisect
import datetime as _dt
import functools
import random
import time as _time

from .device_data import _CJK, _FIRST, _LAST, _ascii

_ascii_name = functools.lru_cache(maxsize=None)(_ascii)

STATUS_WEIGHTS = {
    "ACTIVE": 0.78, "DEPROVISIONED": 0.07, "SUSPENDED": 0.03, "PROVISIONED": 0.04,
    "STAGED": 0.03, "PASSWORD_EXPIRED": 0.02, "LOCKED_OUT": 0.015, "RECOVERY": 0.015,
}
_STATUSES = list(STATUS_WEIGHTS)
_WEIGHTS = list(STATUS_WEIGHTS.values())
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_DOMAINS = ["example.com"] * 7 + ["corp.example.com", "example.co.uk", "example.de"]
_DEPARTMENTS = ["Engineering", "Sales", "Marketing", "Finance", "HR", "IT", "Support", "R&D",
                "Legal", "Operations", "Recherche & Développement"]
_TITLES = ["Engineer", "Senior Engineer", "Account Executive", "Analyst", "Manager", "Director",
           "IT Specialist", "Support Agent", "Designer", "VP Sales", "Ingénieure logiciel"]
_CITIES = [("San Francisco", "CA", "US"), ("New York", "NY", "US"), ("London", None, "GB"),
           ("München", "BY", "DE"), ("Zürich", "ZH", "CH"), ("São Paulo", "SP", "BR"),
           ("Kraków", None, "PL"), ("東京", None, "JP"), ("Bengaluru", "KA", "IN")]
_PROVIDERS = [({"type": "OKTA", "name": "OKTA"}, 0.8),
              ({"type": "ACTIVE_DIRECTORY", "name": "corp.example.com"}, 0.12),
              ({"type": "LDAP", "name": "ldap.example.com"}, 0.03),
              ({"type": "FEDERATION", "name": "FEDERATION"}, 0.05)]
# The type every user without a custom user type has (one per org).
DEFAULT_TYPE_ID = "oty1sim0default0x7"


_EPOCH = _dt.datetime(1970, 1, 1)


def okta_time(ts: float) -> str:
    """Okta's timestamp format: UTC, milliseconds, ``Z`` (``2026-03-01T09:00:00.000Z``)."""
    return (_EPOCH + _dt.timedelta(seconds=ts)).isoformat(timespec="milliseconds") + "Z"


def parse_okta_time(text: str) -> float:
    return _dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


class Directory:
    """The users of one org: ``ids`` (sorted as Okta's cursor orders them) and ``statuses``."""

    def __init__(self, users: int = 300, seed: int = 1, now: float | None = None) -> None:
        self.seed = seed
        self.now = _time.time() if now is None else now
        rng = random.Random(seed)
        ids = set()
        while len(ids) < users:
            ids.add("00u" + "".join(rng.choices(_B62, k=17)))
        self.ids: list[str] = sorted(ids)
        self.statuses: list[str] = rng.choices(_STATUSES, _WEIGHTS, k=users)
        self._cache: dict[int, dict] = {}
        # A bijection over the indices spreads names (and their unique logins) over the ids.
        self._mult = next(m for m in range(7919, 10 ** 6) if _gcd(m, max(users, 1)) == 1)

    def __len__(self) -> int:
        return len(self.ids)

    def index_of(self, user_id: str) -> int | None:
        i = bisect.bisect_left(self.ids, user_id)
        return i if i < len(self.ids) and self.ids[i] == user_id else None

    def after(self, cursor: str) -> int:
        """Index of the first user whose id sorts after ``cursor`` (any string works)."""
        return bisect.bisect_right(self.ids, cursor)

    def user(self, index: int) -> dict:
        """The user object without ``_links`` (they depend on the org URL a client used)."""
        rec = self._cache.get(index)
        if rec is None:
            rec = self._cache[index] = self._render(index)
        return rec

    def _render(self, i: int) -> dict:
        rng = random.Random(self.seed * 1_000_003 + i)
        status = self.statuses[i]
        n = len(self.ids)
        p = (self._mult * i + self.seed) % n
        combos = len(_FIRST) * len(_LAST)
        if rng.random() < 0.02:
            first, last = rng.choice(_CJK)
            local = f"u{p:06d}"
        else:
            fi, li = divmod(p % combos, len(_LAST))
            first, last = _FIRST[fi], _LAST[li]
            suffix = p // combos
            local = f"{_ascii_name(first).lower()}.{_ascii_name(last).lower()}" + (str(suffix + 1) if suffix else "")
        domain = rng.choice(_DOMAINS)
        login = f"{local}@{domain}"
        r = rng.random()
        if r < 0.08:
            email = f"{local}@mail.example.net"           # login is not the email
        elif r < 0.10:
            login = local if len(local) >= 5 else local + "0000"  # short-name login (format rule removed)
            email = f"{local}@{domain}"
        else:
            email = login
        profile: dict = {
            "firstName": first,
            "lastName": last if rng.random() > 0.01 else None,
            "mobilePhone": f"+1 {rng.randint(201, 989)} 555 {rng.randint(0, 9999):04d}" if rng.random() < 0.6
            else None,
            "secondEmail": f"{local}.home@mail.example.org" if rng.random() < 0.15 else None,
            "login": login,
            "email": email,
        }
        if rng.random() < 0.85:
            profile["title"] = rng.choice(_TITLES)
        if rng.random() < 0.85:
            profile["department"] = rng.choice(_DEPARTMENTS)
        if rng.random() < 0.7:
            profile["employeeNumber"] = str(10000 + p)
        if rng.random() < 0.5:
            profile["displayName"] = f"{first} {last}" if len(first) > 1 else f"{last}{first}"
        if rng.random() < 0.6:
            city, state, country = rng.choice(_CITIES)
            profile["city"] = city
            if state:
                profile["state"] = state
            profile["countryCode"] = country
        if rng.random() < 0.4:
            profile["manager"] = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        if rng.random() < 0.3:
            profile["costCenter"] = f"CC-{rng.randint(100, 999)}"

        created = self.now - rng.uniform(30, 5 * 365) * 86400
        activated = status_changed = last_login = password_changed = None
        if status != "STAGED":
            activated = created + rng.uniform(60, 3 * 86400)
            status_changed = activated
            if status not in ("PROVISIONED",):
                password_changed = activated + rng.uniform(60, 3600)
                last_login = min(self.now - 60, activated + rng.uniform(0, self.now - activated))
                if rng.random() < 0.05:
                    last_login = None                      # activated, never signed in
            if status in ("DEPROVISIONED", "SUSPENDED", "LOCKED_OUT", "PASSWORD_EXPIRED", "RECOVERY"):
                status_changed = rng.uniform(activated, self.now - 60)
                if last_login is not None:
                    last_login = min(last_login, status_changed)
        changes = [t for t in (created, activated, status_changed, password_changed) if t is not None]
        last_updated = max(changes) + rng.uniform(0, 30 * 86400) * (rng.random() < 0.5)
        last_updated = min(last_updated, self.now - 1)

        provider = rng.choices([p for p, _ in _PROVIDERS], [w for _, w in _PROVIDERS])[0]
        credentials: dict = {"provider": dict(provider)}
        if provider["type"] == "OKTA" and status not in ("STAGED", "PROVISIONED"):
            credentials = {"password": {}, **credentials}
            if rng.random() < 0.3:
                credentials["recovery_question"] = {"question": "Who's a major player in the cowboy scene?"}

        return {
            "id": self.ids[i],
            "status": status,
            "created": okta_time(created),
            "activated": okta_time(activated) if activated is not None else None,
            "statusChanged": okta_time(status_changed) if status_changed is not None else None,
            "lastLogin": okta_time(last_login) if last_login is not None else None,
            "lastUpdated": okta_time(last_updated),
            "passwordChanged": okta_time(password_changed) if password_changed is not None else None,
            "type": {"id": DEFAULT_TYPE_ID},
            "profile": profile,
            "credentials": credentials,
        }


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a
