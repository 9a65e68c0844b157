"""Deterministic, realistic BambooHR employees for the BambooHR simulator.

``generate_employees(n, seed, now)`` returns ``n`` :class:`Employee` objects; the same arguments
always give the same company, and 50,000 employees take about a second.  The simulator renders
them per endpoint (directory, single employee, custom report) with :func:`field_value`.

What makes the data realistic enough to catch hook bugs:

* names in many scripts and shapes (``José Núñez``, ``Zoë O'Brien``, ``李 雷``, ``Дмитрий Иванов``,
  ``محمد حداد``, ``García-López``, ``van der Berg``), preferred names that change the display name;
* optional fields left empty: no work email (warehouse staff, some contractors), no mobile or
  work phone, no department / division / location, no supervisor (the CEO and a few others);
* employment states as BambooHR has them: ``status`` Active / Inactive, ``employmentHistoryStatus``
  Full-Time / Part-Time / Contractor / Intern / Terminated, a ``terminationDate`` for terminated
  people (``0000-00-00`` for everybody else, as BambooHR renders an empty date), future hires
  (hire date after "now"), and active people the company left out of its directory;
* work emails unique (BambooHR refuses duplicates), a few in mixed case as people type them;
* ``lastChanged`` spread over two years, empty for a few legacy records.
"""
from __future__ import annotations

import datetime as _dt
import functools
import random
import time as _time
import unicodedata
from dataclasses import dataclass

EMPTY_DATE = "0000-00-00"  # how BambooHR renders an empty date field

_LATIN_FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
                "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Sarah",
                "Priya", "Wei", "Aisha", "Mateo", "Sofia", "Liam", "Olivia", "Noah", "Emma", "José",
                "Zoë", "Björn", "Chloé", "François", "Søren", "Łukasz", "Ngozi", "Hiroshi", "Yuki",
                "Fatima", "Omar", "Ana", "Ingrid", "Rahul", "Mei", "Kwame", "Siobhán", "Thảo", "Ümit",
                "Ævar", "Mary-Kate", "Jean-Luc", "D'Arcy"]
_LATIN_LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
               "Martinez", "Lopez", "Wilson", "Anderson", "Taylor", "Moore", "Lee", "Patel", "Nguyễn",
               "Kim", "Chen", "Müller", "Núñez", "O'Brien", "Ødegaard", "Kowalski", "Tanaka", "Okafor",
               "Haddad", "Dubois", "Rossi", "Andersson", "Singh", "van der Berg", "MacLeod", "Schmidt",
               "García-López", "Yamamoto", "Ó Súilleabháin", "Şahin", "Dvořák"]
# (first, last, ascii first, ascii last) for scripts an ASCII fold cannot spell.
_OTHER_SCRIPTS = [("雷", "李", "lei", "li"), ("芳", "王", "fang", "wang"), ("伟", "张", "wei", "zhang"),
                  ("Дмитрий", "Иванов", "dmitry", "ivanov"), ("Ольга", "Смирнова", "olga", "smirnova"),
                  ("محمد", "حداد", "mohammed", "haddad"), ("Νίκος", "Παπαδόπουλος", "nikos", "papadopoulos"),
                  ("さくら", "佐藤", "sakura", "sato"), ("민준", "김", "minjun", "kim")]
_MIDDLE = ["A.", "Marie", "J.", "Lee", "Anne", "Carlos", "Q."]
_PRONOUNS = ["she/her", "he/him", "they/them"]
_DOMAINS = ["example.com"] * 9 + ["eu.example.com"]

# department -> (division, job titles)
_ORG = {
    "Engineering": ("Research & Development", ["Software Engineer", "Senior Software Engineer",
                                              "Staff Engineer", "QA Analyst", "Engineering Manager"]),
    "IT": ("Operations", ["IT Support Specialist", "Systems Administrator", "IT Manager"]),
    "Sales": ("North America", ["Account Executive", "Sales Development Rep", "Sales Manager"]),
    "Marketing": ("North America", ["Marketing Coordinator", "Content Strategist", "Marketing Director"]),
    "Customer Success": ("Operations", ["Support Agent", "Customer Success Manager"]),
    "Finance": ("Corporate", ["Accountant", "Financial Analyst", "Controller"]),
    "Human Resources": ("Corporate", ["HR Generalist", "Recruiter", "People Operations Manager"]),
    "Warehouse": ("Operations", ["Warehouse Associate", "Forklift Operator", "Shift Lead"]),
}
_LOCATIONS = [("Lindon, Utah", "US", "Lindon"), ("New York, NY", "US", "New York"),
              ("London", "GB", "London"), ("Berlin", "DE", "Berlin"), ("Remote", "US", None),
              ("São Paulo", "BR", "São Paulo"), ("Tōkyō", "JP", "Tokyo")]


@dataclass(slots=True)
class Employee:
    id: int
    employee_number: str | None
    first: str
    last: str
    middle: str | None
    preferred: str | None
    gender: str | None
    job_title: str | None
    department: str | None
    division: str | None
    location: str | None
    city: str | None
    country: str | None
    work_email: str | None
    home_email: str | None
    work_phone: str | None
    work_ext: str | None
    mobile_phone: str | None
    home_phone: str | None
    linkedin: str | None
    pronouns: str | None
    supervisor_id: int | None        # internal id of the supervisor (supervisorEId)
    hire_date: str                   # YYYY-MM-DD
    termination_date: str | None
    status: str                      # Active / Inactive
    employment_status: str           # Full-Time / Part-Time / Contractor / Intern / Terminated
    photo_uploaded: bool
    in_directory: bool               # False: the company left this person out of its directory
    last_changed: str | None         # 2024-05-01T12:00:00+00:00; None for a few legacy records
    user_id: int | None              # BambooHR login of the employee (meta/users), if any
    user_enabled: bool
    last_login: str | None
    ssn: str | None
    pay_rate: str | None

    @property
    def display_name(self) -> str:
        return f"{self.preferred or self.first} {self.last}"



@functools.lru_cache(maxsize=None)
def _ascii(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text.replace("Ø", "O").replace("ø", "o").replace("Ł", "L")
                                 .replace("ł", "l").replace("Æ", "Ae").replace("æ", "ae"))
    return "".join(c for c in norm if c.isascii() and c.isalnum()).lower()


def _iso_date(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).date().isoformat()


def iso_seconds(ts: float) -> str:
    """BambooHR's timestamp format: ``2024-05-01T12:00:00+00:00``."""
    return _dt.datetime.fromtimestamp(int(ts), _dt.timezone.utc).isoformat()


def _phone(rng: random.Random, country: str | None) -> str:
    if country == "GB":
        return f"+44 20 7946 {rng.randint(0, 9999):04d}"
    if country == "DE":
        return f"+49 30 {rng.randint(1000000, 9999999)}"
    return f"{rng.randint(201, 989)}-555-{rng.randint(0, 9999):04d}"


class _FastRandom(random.Random):
    """``choice`` / ``randint`` from one float each: three times faster than the exact versions,
    and the tiny bias does not matter for test data."""

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]

    def randint(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))


def generate_employees(n: int, seed: int = 1, now: float | None = None) -> list[Employee]:
    """``n`` employees of one company; ids ascend with gaps (deleted records), first is the CEO."""
    now = _time.time() if now is None else now
    rng = _FastRandom(seed)
    out: list[Employee] = []
    used_emails: set[str] = set()
    email_counters: dict[str, int] = {}
    managers: list[int] = []
    next_id, next_user = 100 + rng.randint(0, 20), 2000
    depts = list(_ORG)
    for i in range(n):
        eid = next_id
        next_id += 1 if rng.random() < 0.85 else rng.randint(2, 6)
        if rng.random() < 0.08:
            first, last, afirst, alast = rng.choice(_OTHER_SCRIPTS)
        else:
            first, last = rng.choice(_LATIN_FIRST), rng.choice(_LATIN_LAST)
            afirst, alast = _ascii(first), _ascii(last)
        r = rng.random()
        if i == 0:
            status, emp_status = "Active", "Full-Time"
        elif r < 0.10:
            status, emp_status = "Inactive", "Terminated"
        elif r < 0.11:
            status, emp_status = "Inactive", rng.choice(["Full-Time", "Part-Time"])
        else:
            status = "Active"
            x = rng.random()
            emp_status = "Full-Time" if x < 0.80 else "Part-Time" if x < 0.88 else "Contractor" if x < 0.97 \
                else "Intern"
        hired = now - rng.uniform(20, 12 * 365) * 86400
        if status == "Active" and i and rng.random() < 0.012:
            hired = now + rng.uniform(3, 60) * 86400  # future hire (pre-boarding)
        terminated = None
        if emp_status == "Terminated":
            terminated = _iso_date(rng.uniform(hired + 30 * 86400, now) if hired + 30 * 86400 < now else now)
        dept = rng.choice(depts) if i and rng.random() > 0.02 else (None if i else "Executive")
        division, titles = _ORG.get(dept, ("Corporate", ["Chief Executive Officer"])) if dept else (None, None)
        if division and rng.random() < 0.3:
            division = None
        title = (rng.choice(titles) if titles else None) if i else "Chief Executive Officer"
        loc = rng.choice(_LOCATIONS) if rng.random() > 0.02 else (None, None, None)
        location, country, city = loc
        # Work email: unique; missing for some warehouse staff and contractors.
        no_email = i and ((dept == "Warehouse" and rng.random() < 0.5)
                          or (emp_status == "Contractor" and rng.random() < 0.2) or rng.random() < 0.01)
        email = None
        if not no_email:
            base = f"{afirst}.{alast}" if afirst and alast else f"employee{eid}"
            candidate, k = base, email_counters.get(base, 1)
            while candidate in used_emails:
                k += 1
                candidate = f"{base}{k}"
            email_counters[base] = k
            used_emails.add(candidate)
            email = f"{candidate}@{rng.choice(_DOMAINS)}"
            if rng.random() < 0.03:  # typed with capitals: Jane.Doe@example.com
                local, _, domain = email.partition("@")
                email = ".".join(part.capitalize() for part in local.split(".")) + "@" + domain
        supervisor = None
        if i and managers and rng.random() > 0.01:
            supervisor = rng.choice(managers[-40:]) if rng.random() < 0.8 else rng.choice(managers)
        if i == 0 or (status == "Active" and rng.random() < 0.08):
            managers.append(eid)
        has_user = i == 0 or rng.random() < 0.6
        user_id = None
        if has_user:
            user_id, next_user = next_user, next_user + rng.randint(1, 3)
        last_changed = None if rng.random() < 0.01 else iso_seconds(now - rng.uniform(0, 730) * 86400)
        out.append(Employee(
            id=eid,
            employee_number=str(1000 + i) if rng.random() > 0.05 else None,
            first=first, last=last,
            middle=rng.choice(_MIDDLE) if rng.random() < 0.2 else None,
            preferred=(rng.choice(["Alex", "Sam", "Kate", "Bill", "Liz", "Nacho", "Jojo"])
                       if rng.random() < 0.12 else None),
            gender=rng.choice(["Female", "Male", "Nonbinary", None]),
            job_title=title, department=dept, division=division, location=location,
            city=city, country=country,
            work_email=email,
            home_email=f"{afirst or 'person'}{eid}@mail.example.net" if rng.random() < 0.7 else None,
            work_phone=_phone(rng, country) if rng.random() < 0.6 else None,
            work_ext=str(rng.randint(100, 9999)) if rng.random() < 0.25 else None,
            mobile_phone=_phone(rng, country) if rng.random() < 0.7 else None,
            home_phone=_phone(rng, country) if rng.random() < 0.3 else None,
            linkedin=f"https://www.linkedin.com/in/{afirst or 'p'}-{alast or eid}-{eid}"
            if rng.random() < 0.25 else None,
            pronouns=rng.choice(_PRONOUNS) if rng.random() < 0.3 else None,
            supervisor_id=supervisor,
            hire_date=_iso_date(hired),
            termination_date=terminated,
            status=status, employment_status=emp_status,
            photo_uploaded=rng.random() < 0.55,
            in_directory=status == "Active" and (i == 0 or rng.random() > 0.02),
            last_changed=last_changed,
            user_id=user_id,
            user_enabled=has_user and status == "Active",
            last_login=iso_seconds(now - rng.uniform(0, 200) * 86400) if has_user and rng.random() < 0.9 else None,
            ssn=f"xxx-xx-{rng.randint(0, 9999):04d}" if country == "US" else None,
            pay_rate=f"{rng.randint(35, 250) * 1000}.00 USD",
        ))
    return out


# ---- fields --------------------------------------------------------------------------------
# id -> (numeric id, type, label). Numeric ids are what /meta/fields lists next to the names.
FIELDS: dict[str, tuple[int, str, str]] = {
    "displayName": (1, "text", "Display name"),
    "firstName": (4, "text", "First name"),
    "middleName": (5, "text", "Middle name"),
    "lastName": (6, "text", "Last name"),
    "preferredName": (1358, "text", "Preferred name"),
    "fullName1": (1000, "text", "Full name (First Last)"),
    "fullName2": (1001, "text", "Full name (Last, First)"),
    "employeeNumber": (17, "text", "Employee #"),
    "gender": (154, "gender", "Gender"),
    "jobTitle": (17001, "list", "Job title"),
    "department": (4000, "list", "Department"),
    "division": (4001, "list", "Division"),
    "location": (4002, "list", "Location"),
    "city": (10, "text", "City"),
    "country": (13, "country", "Country"),
    "workEmail": (15, "email", "Work Email"),
    "homeEmail": (16, "email", "Home Email"),
    "bestEmail": (1250, "email", "Best Email"),
    "workPhone": (18, "text", "Work Phone"),
    "workPhoneExtension": (19, "text", "Work Ext."),
    "workPhonePlusExtension": (1251, "text", "Work Phone plus Extension"),
    "mobilePhone": (1362, "text", "Mobile Phone"),
    "homePhone": (14, "text", "Home Phone"),
    "linkedIn": (4029, "text", "LinkedIn URL"),
    "pronouns": (4340, "list", "Pronouns"),
    "supervisor": (1610, "employee", "Reporting to"),
    "supervisorEId": (1611, "integer", "Supervisor EID"),
    "supervisorId": (1612, "text", "Supervisor ID"),
    "supervisorEmail": (1613, "email", "Supervisor email"),
    "status": (1213, "status", "Status"),
    "employmentHistoryStatus": (1360, "list", "Employment Status"),
    "hireDate": (1020, "date", "Hire date"),
    "terminationDate": (1021, "date", "Termination date"),
    "lastChanged": (1999, "timestamp", "Last changed"),
    "photoUploaded": (1230, "bool", "Employee photo exists"),
    "isPhotoUploaded": (1231, "bool", "Employee photo exists"),
    "photoUrl": (1232, "url", "Employee photo url"),
    "canUploadPhoto": (1233, "bool", "Can upload photo"),
    "ssn": (7, "ssn", "SSN"),
    "payRate": (19001, "currency", "Pay rate"),
}
FIELD_BY_NUMBER = {num: name for name, (num, _, _) in FIELDS.items()}

# Published in the directory when the company shares its whole directory.
DIRECTORY_FULL = ["displayName", "firstName", "lastName", "preferredName", "jobTitle", "workPhone",
                  "mobilePhone", "workEmail", "department", "location", "division", "linkedIn",
                  "pronouns", "workPhoneExtension", "supervisor", "photoUploaded", "photoUrl",
                  "canUploadPhoto"]
# Only the org chart is shared: no supervisor, department, division, location, email or phones.
DIRECTORY_ORG_CHART = ["displayName", "firstName", "lastName", "preferredName", "jobTitle", "pronouns",
                       "photoUploaded", "photoUrl", "canUploadPhoto"]
# Fields a key whose user has a limited access level cannot read.
SENSITIVE_FIELDS = frozenset({"ssn", "payRate", "homeEmail", "homePhone", "bestEmail"})


def photo_url(company_id: int, emp: Employee) -> str:
    if emp.photo_uploaded:
        return f"https://images7.bamboohr.com/{company_id}/photos/{emp.id}-2-1.jpg"
    return "https://resources.bamboohr.com/images/photo_person_150x150.png"


def field_value(emp: Employee, name: str, by_id: dict[int, Employee], company_id: int):
    """The raw value of one field (None when empty) before per-endpoint formatting."""
    sup = by_id.get(emp.supervisor_id) if emp.supervisor_id is not None else None
    if name == "displayName":
        return emp.display_name
    if name == "firstName":
        return emp.first
    if name == "middleName":
        return emp.middle
    if name == "lastName":
        return emp.last
    if name == "preferredName":
        return emp.preferred
    if name == "fullName1":
        return f"{emp.first} {emp.last}"
    if name == "fullName2":
        return f"{emp.last}, {emp.first}"
    if name == "employeeNumber":
        return emp.employee_number
    if name == "gender":
        return emp.gender
    if name == "jobTitle":
        return emp.job_title
    if name == "department":
        return emp.department
    if name == "division":
        return emp.division
    if name == "location":
        return emp.location
    if name == "city":
        return emp.city
    if name == "country":
        return {"US": "United States", "GB": "United Kingdom", "DE": "Germany", "BR": "Brazil",
                "JP": "Japan"}.get(emp.country or "")
    if name == "workEmail":
        return emp.work_email
    if name == "homeEmail":
        return emp.home_email
    if name == "bestEmail":
        return emp.work_email or emp.home_email
    if name == "workPhone":
        return emp.work_phone
    if name == "workPhoneExtension":
        return emp.work_ext
    if name == "workPhonePlusExtension":
        if not emp.work_phone:
            return None
        return f"{emp.work_phone} x{emp.work_ext}" if emp.work_ext else emp.work_phone
    if name == "mobilePhone":
        return emp.mobile_phone
    if name == "homePhone":
        return emp.home_phone
    if name == "linkedIn":
        return emp.linkedin
    if name == "pronouns":
        return emp.pronouns
    if name == "supervisor":
        return f"{sup.last}, {sup.preferred or sup.first}" if sup else None
    if name == "supervisorEId":
        return sup.id if sup else None
    if name == "supervisorId":
        return sup.employee_number if sup else None
    if name == "supervisorEmail":
        return sup.work_email if sup else None
    if name == "status":
        return emp.status
    if name == "employmentHistoryStatus":
        return emp.employment_status
    if name == "hireDate":
        return emp.hire_date
    if name == "terminationDate":
        return emp.termination_date
    if name == "lastChanged":
        return emp.last_changed
    if name in ("photoUploaded", "isPhotoUploaded"):
        return emp.photo_uploaded
    if name == "photoUrl":
        return photo_url(company_id, emp)
    if name == "canUploadPhoto":
        return True
    if name == "ssn":
        return emp.ssn
    if name == "payRate":
        return emp.pay_rate
    raise KeyError(name)
