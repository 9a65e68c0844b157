"""A deterministic Active-Directory-like directory: people, computers, groups, as LDIF.

``generate_directory(people, computers, seed)`` returns a :class:`Directory` whose entries
look like what an AD domain controller returns (AD attribute names and value formats),
so the LDAP hooks meet AD's quirks against a real OpenLDAP server:

* ``objectGUID`` (16 raw bytes) and ``objectSid`` (binary SID of the domain plus a RID);
* ``userAccountControl`` combinations (512 enabled, 514 disabled, 66048 no-expiry, 66050,
  544, 4096 workstation, 4098 disabled workstation);
* FILETIME integers (``pwdLastSet``, ``lastLogonTimestamp``, ``accountExpires`` with its
  0 / 9223372036854775807 "never" values) and GeneralizedTime ``whenCreated``/``whenChanged``;
* multi-valued ``memberOf`` kept consistent with the groups' ``member`` lists (one group
  lists a member DN that does not exist, one group has no members);
* unicode names (Latin with accents, Cyrillic, CJK), names whose RDN needs escaping
  (``CN=Doe\\, Jane``, ``CN=\\#1 Fan``), and attributes missing from some entries
  (mail, givenName, uid, telephoneNumber, lastLogonTimestamp, dNSHostName, ...);
* nested OUs: ``OU=People``, ``OU=Contractors,OU=People``, ``OU=Interns,OU=Contractors,OU=People``,
  ``OU=Workstations,OU=Computers`` and ``OU=Servers,OU=Computers``.

OpenLDAP's ``person`` class requires ``sn`` (AD's does not), so computers carry ``sn`` equal
to their ``cn``. Entry DNs use AD's upper-case attribute types (``CN=...,OU=...,DC=...``).
3000 people and 300 computers take well under a second to generate.
"""
from __future__ import annotations

import base64
import datetime as _dt
import random
import struct
import unicodedata
from dataclasses import dataclass, field

BASE_DN = "DC=example,DC=com"
DOMAIN = "example.com"
PEOPLE_OU = f"OU=People,{BASE_DN}"
CONTRACTORS_OU = f"OU=Contractors,{PEOPLE_OU}"
INTERNS_OU = f"OU=Interns,{CONTRACTORS_OU}"
COMPUTERS_OU = f"OU=Computers,{BASE_DN}"
WORKSTATIONS_OU = f"OU=Workstations,{COMPUTERS_OU}"
SERVERS_OU = f"OU=Servers,{COMPUTERS_OU}"
GROUPS_OU = f"OU=Groups,{BASE_DN}"
SERVICE_OU = f"OU=Service,{BASE_DN}"
SERVICE_DN = f"CN=svc-oomnitza,{SERVICE_OU}"
DANGLING_MEMBER_DN = f"CN=Departed Person,{PEOPLE_OU}"
PERSON_CATEGORY = f"CN=Person,CN=Schema,CN=Configuration,{BASE_DN}"
COMPUTER_CATEGORY = f"CN=Computer,CN=Schema,CN=Configuration,{BASE_DN}"
GROUP_CATEGORY = f"CN=Group,CN=Schema,CN=Configuration,{BASE_DN}"

NEVER_EXPIRES = 9223372036854775807
UAC_DISABLED = 0x2
NOW = _dt.datetime(2026, 4, 1, 10, 11, 12, tzinfo=_dt.timezone.utc)
_FILETIME_EPOCH = _dt.datetime(1601, 1, 1, tzinfo=_dt.timezone.utc)

_GIVEN = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
          "Sarah", "Priya", "Wei", "Aisha", "Mateo", "Sofia", "Liam", "Olivia", "Noah", "Emma",
          "José", "Zoë", "Björn", "Chloé", "François", "Søren", "Łukasz", "Ngozi", "Hiroshi",
          "Renée", "Fatima", "Omar", "Ana", "Dmitri", "Ingrid", "Rahul", "Kwame", "Siobhán",
          "Юлия", "Алексей", "Ngọc", "Ólafur", "Çağla"]
_SURNAMES = ["Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Martinez",
             "Lopez", "Wilson", "Anderson", "Taylor", "Lee", "Patel", "Nguyen", "Kim", "Chen",
             "Müller", "Núñez", "O'Brien", "Ødegaard", "Kowalski", "Tanaka", "Okafor",
             "Haddad", "Ivanova", "Dubois", "Rossi", "Andersson", "Singh", "van der Berg",
             "García-López", "Иванов", "Smirnova", "Þórsdóttir", "Łęcki"]
_CJK = [("雷", "李"), ("芳", "王"), ("伟", "张"), ("結衣", "新垣")]
_DEPARTMENTS = ["R&D", "Sales", "Marketing", "Finance", "IT", "HR", "Legal", "Support",
                "Operations", "Facilities"]
_TITLES = ["Engineer", "Senior Engineer", "Manager", "Director", "Analyst", "Designer",
           "Account Executive", "Technician", "Consultant", "Intern"]
_CITIES = [("Berlin", "Germany"), ("London", "United Kingdom"), ("San Francisco", "United States"),
           ("Tokyo", "Japan"), ("São Paulo", "Brazil"), ("Kraków", "Poland"), ("Lagos", "Nigeria")]
_GROUPS = ["Engineering", "Sales Team", "VPN Users", "Domain Admins", "Finance", "All Staff",
           "Contractors", "Helpdesk", "Wi-Fi Corp", "Mac Users", "Remote Workers",
           "Managers, EMEA", "Build Agents", "Empty Group"]
_WORKSTATION_OS = [("Windows 11 Enterprise", "10.0 (22631)"), ("Windows 11 Pro", "10.0 (22621)"),
                   ("Windows 10 Enterprise", "10.0 (19045)"), ("Windows 10 Pro", "10.0 (19044)"),
                   ("Mac OS X", "14.4")]
_SERVER_OS = [("Windows Server 2022 Standard", "10.0 (20348)"),
              ("Windows Server 2019 Datacenter", "10.0 (17763)"),
              ("Windows Server 2016 Standard", "10.0 (14393)")]


@dataclass
class Entry:
    """One directory entry: its DN and attributes (values are lists of str, int or bytes)."""

    dn: str
    attributes: dict[str, list]
    kind: str = ""  # "person", "computer", "group", "ou", "service", "domain"

    def first(self, name: str, default=None):
        values = self.attributes.get(name)
        return values[0] if values else default

    @property
    def disabled(self) -> bool:
        return bool(int(self.first("userAccountControl", 0)) & UAC_DISABLED)


@dataclass
class Directory:
    """The generated directory; ``entries`` are in parent-before-child (LDIF) order."""

    entries: list[Entry] = field(default_factory=list)
    service_password: str = ""
    domain_sid: str = ""

    def of_kind(self, kind: str) -> list[Entry]:
        return [e for e in self.entries if e.kind == kind]

    @property
    def people(self) -> list[Entry]:
        return self.of_kind("person")

    @property
    def computers(self) -> list[Entry]:
        return self.of_kind("computer")

    @property
    def groups(self) -> list[Entry]:
        return self.of_kind("group")

    def under(self, base_dn: str, kind: str | None = None) -> list[Entry]:
        """Entries in the subtree of ``base_dn`` (compared case-insensitively)."""
        suffix = "," + base_dn.lower()
        return [e for e in self.entries
                if (e.dn.lower() == base_dn.lower() or e.dn.lower().endswith(suffix))
                and (kind is None or e.kind == kind)]

    def to_ldif(self) -> str:
        return "\n".join(ldif_entry(e.dn, e.attributes) for e in self.entries)


# --- AD value formats ---------------------------------------------------------------------

def filetime(moment: _dt.datetime) -> int:
    """AD FILETIME: 100-ns ticks since 1601-01-01 UTC."""
    delta = moment - _FILETIME_EPOCH
    return (delta.days * 86400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def generalized_time(moment: _dt.datetime) -> str:
    """AD's GeneralizedTime form, e.g. ``20260401101112.0Z``."""
    return moment.strftime("%Y%m%d%H%M%S") + ".0Z"


def sid_bytes(sid: str) -> bytes:
    """Binary form of ``S-1-5-21-a-b-c-RID``: revision, count, 48-bit BE authority, LE sub-auths."""
    parts = sid.split("-")
    revision, authority, subs = int(parts[1]), int(parts[2]), [int(p) for p in parts[3:]]
    return (bytes([revision, len(subs)]) + authority.to_bytes(6, "big")
            + b"".join(struct.pack("<I", s) for s in subs))


def guid_string(raw: bytes) -> str:
    """The textual GUID AD tools show for 16 ``objectGUID`` bytes (first 3 groups little-endian)."""
    a, b, c = struct.unpack("<IHH", raw[:8])
    tail = raw[8:].hex()
    return f"{a:08x}-{b:04x}-{c:04x}-{tail[:4]}-{tail[4:]}"


# --- LDIF ------------------------------------------------------------------------------

def escape_rdn_value(value: str) -> str:
    """RFC 4514 escaping of an attribute value inside a DN."""
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;=' or (ch == "#" and i == 0) or (ch == " " and i in (0, len(value) - 1)):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _safe_ldif_string(value: str) -> bool:
    return (value.isascii() and not value.startswith((" ", ":", "<")) and not value.endswith(" ")
            and not any(c in value for c in "\0\r\n"))


def ldif_line(name: str, value) -> str:
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str) and _safe_ldif_string(value):
        return f"{name}: {value}"
    raw = value if isinstance(value, bytes) else value.encode("utf-8")
    return f"{name}:: {base64.b64encode(raw).decode('ascii')}"


def ldif_entry(dn: str, attributes: dict[str, list]) -> str:
    lines = [ldif_line("dn", dn)]
    for name, values in attributes.items():
        lines.extend(ldif_line(name, v) for v in values)
    return "\n".join(lines) + "\n"


# --- generation ----------------------------------------------------------------------------

def _ascii_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.replace("ø", "o").replace("Ø", "O")
                                       .replace("ł", "l").replace("Ł", "L").replace("Þ", "Th"))
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


class _Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        r = self.rng
        self.domain_sid = f"S-1-5-21-{r.randrange(10**9, 4 * 10**9)}-{r.randrange(10**9, 4 * 10**9)}-{r.randrange(10**9, 4 * 10**9)}"
        self.next_rid = 1100
        self.taken_names: set[str] = set()
        self.taken_sams: set[str] = set()

    def guid(self) -> bytes:
        return self.rng.randbytes(16)

    def sid(self) -> bytes:
        self.next_rid += 1
        return sid_bytes(f"{self.domain_sid}-{self.next_rid}")

    def moment(self, min_days: float, max_days: float) -> _dt.datetime:
        return NOW - _dt.timedelta(seconds=int(self.rng.uniform(min_days, max_days) * 86400))

    def unique(self, taken: set[str], base: str, limit: int = 64) -> str:
        candidate, n = base[:limit], 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{base[:limit - len(str(n))]}{n}"
        taken.add(candidate.lower())
        return candidate

    def common(self, category: str, created: _dt.datetime) -> dict[str, list]:
        return {
            "objectGUID": [self.guid()],
            "objectSid": [self.sid()],
            "objectCategory": [category],
            "whenCreated": [generalized_time(created)],
            "whenChanged": [generalized_time(self.moment(0, (NOW - created).days or 1))],
        }


def _ou(dn: str, name: str) -> Entry:
    return Entry(dn, {"objectClass": ["top", "organizationalUnit"], "ou": [name]}, "ou")


def _person(g: _Generator, index: int, ou: str) -> Entry:
    r = g.rng
    if r.random() < 0.04:
        given, sn = r.choice(_CJK)
    else:
        given, sn = r.choice(_GIVEN), r.choice(_SURNAMES)
    style = r.random()
    if style < 0.01:
        cn_base = f"{sn}, {given}"            # needs \, in the DN
    elif style < 0.012:
        cn_base = f"#{index} {given}"          # needs \# in the DN
    else:
        cn_base = f"{given} {sn}"
    cn = g.unique(g.taken_names, cn_base)
    sam = g.unique(g.taken_sams, (_ascii_fold(given)[:1] + _ascii_fold(sn))[:16] or f"user{index}", 20)
    created = g.moment(30, 3000)
    dept = r.choice(_DEPARTMENTS)
    city, country = r.choice(_CITIES)
    uac = r.choices([512, 514, 66048, 66050, 544], weights=[66, 8, 20, 2, 4])[0]
    attrs: dict[str, list] = {
        "objectClass": ["top", "person", "organizationalPerson", "user"],
        "cn": [cn],
        "sn": [sn],
        "givenName": [given],
        "displayName": [f"{given} {sn}"],
        "sAMAccountName": [sam],
        "userPrincipalName": [f"{sam}@{DOMAIN}"],
        "mail": [f"{sam}@{DOMAIN}"],
        "uid": [sam],
        "title": [r.choice(_TITLES)],
        "department": [dept],
        "company": ["Example Corp"],
        "l": [city],
        "co": [country],
        "telephoneNumber": [f"+1 555 {r.randrange(1000, 9999)}"],
        "mobile": [f"+44 7700 {r.randrange(100000, 999999)}"],
        "employeeID": [f"E{index:06d}"],
        "userAccountControl": [uac],
        "pwdLastSet": [filetime(g.moment(0, 400))],
        "lastLogonTimestamp": [filetime(g.moment(0, 90))],
        "accountExpires": [NEVER_EXPIRES],
        **g.common(PERSON_CATEGORY, created),
    }
    # attributes missing from some entries, as in real directories
    for name, share in (("mail", 0.07), ("givenName", 0.03), ("uid", 0.75), ("telephoneNumber", 0.3),
                        ("mobile", 0.6), ("employeeID", 0.15), ("title", 0.1), ("lastLogonTimestamp", 0.1),
                        ("department", 0.05)):
        if r.random() < share:
            del attrs[name]
    if r.random() < 0.05:
        attrs["pwdLastSet"] = [0]                        # must change password at next logon
    if ou != PEOPLE_OU:
        attrs["accountExpires"] = [filetime(NOW + _dt.timedelta(days=r.randrange(-60, 365)))]
    elif r.random() < 0.1:
        attrs["accountExpires"] = [0]
    return Entry(f"CN={escape_rdn_value(cn)},{ou}", attrs, "person")


def _computer(g: _Generator, index: int, server: bool) -> Entry:
    r = g.rng
    name = f"SRV-{index:04d}" if server else f"WS-{index:05d}"
    os_name, os_version = r.choice(_SERVER_OS if server else _WORKSTATION_OS)
    attrs: dict[str, list] = {
        "objectClass": ["top", "person", "organizationalPerson", "user", "computer"],
        "cn": [name],
        "sn": [name],
        "sAMAccountName": [f"{name}$"],
        "dNSHostName": [f"{name.lower()}.{DOMAIN}"],
        "operatingSystem": [os_name],
        "operatingSystemVersion": [os_version],
        "userAccountControl": [r.choices([4096, 4098, 532480], weights=[90, 7, 3 if server else 0])[0]],
        "pwdLastSet": [filetime(g.moment(0, 30))],
        "lastLogonTimestamp": [filetime(g.moment(0, 60))],
        **g.common(COMPUTER_CATEGORY, g.moment(30, 2000)),
    }
    for name_, share in (("dNSHostName", 0.05), ("operatingSystemVersion", 0.05), ("lastLogonTimestamp", 0.08)):
        if r.random() < share:
            del attrs[name_]
    if not server and r.random() < 0.03:
        del attrs["operatingSystem"]
    return Entry(f"CN={name},{SERVERS_OU if server else WORKSTATIONS_OU}", attrs, "computer")


def generate_directory(people: int = 3000, computers: int = 300, seed: int = 11,
                       service_password: str = "svc-Passw0rd!") -> Directory:
    """A directory with ``people`` users (in three nested OUs) and ``computers`` machines."""
    g = _Generator(seed)
    r = g.rng
    d = Directory(service_password=service_password, domain_sid=g.domain_sid)
    d.entries.append(Entry(BASE_DN, {"objectClass": ["top", "domain"], "dc": ["example"]}, "domain"))
    for dn in (PEOPLE_OU, CONTRACTORS_OU, INTERNS_OU, COMPUTERS_OU, WORKSTATIONS_OU, SERVERS_OU,
               GROUPS_OU, SERVICE_OU):
        d.entries.append(_ou(dn, dn.split(",")[0][3:]))
    d.entries.append(Entry(SERVICE_DN, {
        "objectClass": ["top", "person", "organizationalPerson", "user"],
        "cn": ["svc-oomnitza"], "sn": ["svc-oomnitza"], "sAMAccountName": ["svc-oomnitza"],
        "userPrincipalName": [f"svc-oomnitza@{DOMAIN}"], "userAccountControl": [66048],
        "userPassword": [service_password], **g.common(PERSON_CATEGORY, NOW - _dt.timedelta(days=900)),
    }, "service"))

    persons = []
    for i in range(people):
        roll = r.random()
        ou = INTERNS_OU if roll < 0.05 else CONTRACTORS_OU if roll < 0.20 else PEOPLE_OU
        persons.append(_person(g, i, ou))
    managers = persons[: max(1, len(persons) // 10)]
    for person in persons[1:]:
        if r.random() < 0.7:
            person.attributes["manager"] = [r.choice(managers).dn]
    machines = [_computer(g, i, server=r.random() < 0.15) for i in range(computers)]

    groups = []
    for name in _GROUPS:
        dn = f"CN={escape_rdn_value(name)},{GROUPS_OU}"
        attrs = {"objectClass": ["top", "group"], "cn": [name], "sAMAccountName": [name],
                 "groupType": [-2147483646], **g.common(GROUP_CATEGORY, g.moment(500, 3000))}
        groups.append(Entry(dn, attrs, "group"))
    member_groups = [grp for grp in groups if grp.first("cn") != "Empty Group"]
    for person in persons:
        for grp in r.sample(member_groups, r.choice([0, 1, 1, 2, 2, 3, 4])):
            grp.attributes.setdefault("member", []).append(person.dn)
            person.attributes.setdefault("memberOf", []).append(grp.dn)
    for machine in machines[: len(machines) // 4]:
        build = next(grp for grp in groups if grp.first("cn") == "Build Agents")
        build.attributes.setdefault("member", []).append(machine.dn)
        machine.attributes.setdefault("memberOf", []).append(build.dn)
    vpn = next(grp for grp in groups if grp.first("cn") == "VPN Users")
    vpn.attributes.setdefault("member", []).append(DANGLING_MEMBER_DN)
    d.entries.extend(persons)
    d.entries.extend(machines)
    d.entries.extend(groups)
    return d
