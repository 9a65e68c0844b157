"""Loopback simulator of the BambooHR REST API (the employee parts a people sync reads).

Run ``python -m tests.simulators.bamboohr --port 0 --employees 5000`` (prints its URL first), or in
tests ``SimulatorThread(build_app(BambooHRState(employees=300))).start()``.

Everything lives under ``/api/gateway.php/{companyDomain}/v1/`` (a trailing ``/`` is accepted):

* ``GET employees/directory`` — the whole published directory in one response (no paging):
  JSON ``{"fields": [{"id", "type", "name"}], "employees": [{"id": "123", ...}]}`` with
  ``Accept: application/json``, else XML ``<directory><fieldset>..<employees>..``.  Only active
  employees the company publishes; future hires only with ``onlyCurrent=false``.  The fieldset
  follows the company's sharing (config ``directory_sharing``): ``full``, ``org_chart`` (reduced:
  no supervisor, department, division, location, email or phones) or ``off`` (403, empty body,
  ``X-BambooHR-Error-Message: Directory disabled for this account``); fields a company leaves out
  (``directory_hidden_fields``) are absent.  An empty directory is a 404.
* ``GET employees/{id}?fields=a,b&onlyCurrent=`` — one employee; ``0`` is the key's owner.  Only
  ``id`` (always a string) plus the named fields; unknown fields and fields the caller may not read
  are dropped silently; more than 400 fields is a 400; all values are strings or null (empty dates
  are ``0000-00-00``).  A limited key may only read its own record (403 ``Insufficient Permissions
  to view this employee``).  JSON or XML by ``Accept``.
* ``POST reports/custom?format=JSON|XML|CSV&onlyCurrent=`` — a custom report over **all**
  employees (active and inactive) with a JSON body ``{"title", "fields": [...], "filters":
  {"lastChanged": {"includeNull": "no", "value": "2026-01-01T00:00:00Z"}}}`` or the XML body older
  clients send (``<report><title/><filters><lastChanged includeNull="no">..</lastChanged>
  </filters><fields><field id="x"/></fields></report>``); → ``{"title", "fields", "employees"}``.
  Unknown fields are left out.  Limited keys get 403.  PDF/XLS output is not simulated (400).
* ``GET meta/users`` — BambooHR logins keyed by user id (``employeeId``, ``status``
  enabled/disabled); ``GET meta/fields`` — the field catalogue (``id``, ``name``, ``type``, ``alias``).

Auth: HTTP Basic with the API key as user name; the password is ignored (``x`` by convention,
empty from PyBambooHR).  Missing or unknown key → 401; the key of a disabled user → 403; an
unknown company domain → 404.  Errors have an empty body and carry their detail in the
``X-BambooHR-Error-Message`` header.

Throttling: the shared ``rate_limit`` knobs answer with ``config.throttle_status`` — **429** (what
BambooHR sends since 2026-09-16) or **503** (before) — an empty body and ``Retry-After`` (whole
seconds, the ``retry_after_s`` knob).  BambooHR sends no rate-limit headers on normal responses.
Vendor settings live in :class:`BambooConfig` at ``/_sim/config``.
"""
from __future__ import annotations

import argparse
import csv
import datetime as _dt
import io
import json
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from aiohttp import web

from .base import SimState, Settings, add_config_routes, decode_basic, main, make_app, state_of
from .bamboohr_data import (DIRECTORY_FULL, DIRECTORY_ORG_CHART, EMPTY_DATE, FIELD_BY_NUMBER, FIELDS,
                            SENSITIVE_FIELDS, Employee, field_value, generate_employees)

DEFAULT_COMPANY = "simco"
DEFAULT_API_KEY = "5c0ffee5a1b2c3d4e5f60718293a4b5c6d7e8f90"     # an HR administrator's key
LIMITED_API_KEY = "11mited0a1b2c3d4e5f60718293a4b5c6d7e8f901"    # a plain employee's key
DISABLED_API_KEY = "d15ab1ed0a1b2c3d4e5f60718293a4b5c6d7e8f9"    # the key of a disabled user
API_PREFIX = "/api/gateway.php/{company}/v1"
ERROR_HEADER = "X-BambooHR-Error-Message"
DIRECTORY_DISABLED = "Directory disabled for this account"

_KEY = web.RequestKey("api_key", object)


@dataclass
class BambooConfig(Settings):
    """Vendor-specific run-time settings (``GET/POST /_sim/config``)."""

    directory_sharing: str = "full"          # full | org_chart | off
    directory_hidden_fields: list = field(default_factory=list)  # left out of the full fieldset
    throttle_status: int = 429               # 503 reproduces BambooHR before 2026-09-16
    max_fields: int = 400                    # per get-employee / custom-report request


@dataclass
class ApiKey:
    owner: int          # employee id of the user the key belongs to
    admin: bool         # False: may read only its own record, no custom reports, no sensitive fields
    enabled: bool


def bamboo_error(status: int, message: str | None = None, headers: dict | None = None) -> web.Response:
    """BambooHR's error answer: the status, an empty body, the detail in a header."""
    out = dict(headers or {})
    if message:
        out[ERROR_HEADER] = message
    return web.Response(status=status, headers=out)


class BambooHRState(SimState):
    def __init__(self, employees: int = 300, seed: int = 1, now: float | None = None,
                 company: str = DEFAULT_COMPANY, api_key: str = DEFAULT_API_KEY,
                 config: BambooConfig | None = None) -> None:
        super().__init__(config or BambooConfig())
        self.now = time.time() if now is None else now
        self.company = company
        self.company_id = 100000 + seed
        self.employees: list[Employee] = generate_employees(employees, seed, self.now)
        self.by_id = {e.id: e for e in self.employees}
        self.today = _iso_day(self.now)
        # Key owners: an HR administrator, a plain employee, a user who was disabled (0 = no employee).
        users = [e for e in self.employees if e.user_id and e.user_enabled]
        admin = next((e.id for e in users if e.department == "Human Resources"), users[0].id if users else 0)
        plain = next((e.id for e in users if e.id != admin and e.supervisor_id is not None), admin)
        gone = next((e.id for e in self.employees if e.user_id and not e.user_enabled), plain)
        self.keys = {api_key: ApiKey(admin, True, True), LIMITED_API_KEY: ApiKey(plain, False, True),
                     DISABLED_API_KEY: ApiKey(gone, True, False)}
        self._directory_cache: dict[tuple, bytes] = {}

    # ---- who is where --------------------------------------------------------------------
    def is_current(self, emp: Employee) -> bool:
        return emp.hire_date <= self.today

    def directory_members(self, only_current: bool) -> list[Employee]:
        return [e for e in self.employees if e.in_directory and (self.is_current(e) or not only_current)]

    def directory_fields(self) -> list[str]:
        if self.config.directory_sharing == "org_chart":
            return list(DIRECTORY_ORG_CHART)
        hidden = set(self.config.directory_hidden_fields)
        return [f for f in DIRECTORY_FULL if f not in hidden]

    # ---- faults answered like BambooHR ---------------------------------------------------
    def failure_response(self, status: int, request: web.Request) -> web.Response:
        text = {400: "Bad request", 401: "Invalid API key", 403: "Forbidden", 404: "Not found",
                409: "Conflict"}.get(status)
        return bamboo_error(status, text)

    def rate_limited_response(self, reset_in: float, request: web.Request) -> web.Response:
        return bamboo_error(self.config.throttle_status, headers=self.retry_after_headers())

    # ---- auth ----------------------------------------------------------------------------
    def authenticate(self, request: web.Request) -> ApiKey | web.Response:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        creds = decode_basic(value) if scheme.lower() == "basic" else None
        key = self.keys.get(creds[0]) if creds else None
        if key is None:
            return bamboo_error(401, "Invalid API key" if creds else "API key missing")
        if not key.enabled:
            return bamboo_error(403, "The API key belongs to a disabled user")
        return key


def _iso_day(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).date().isoformat()


_PREFIX_RE = re.compile(r"^/api/gateway\.php/([^/]+)/v1(/.*)?$")


@web.middleware
async def _api_middleware(request: web.Request, handler):
    """Company domain, API key and BambooHR-shaped 404s for everything under the gateway."""
    state: BambooHRState = state_of(request)
    m = _PREFIX_RE.match(request.path)
    if request.path.startswith("/_sim/"):
        return await handler(request)
    if not m or m.group(1).lower() != state.company.lower():
        return bamboo_error(404, "Not found")
    key = state.authenticate(request)
    if isinstance(key, web.Response):
        return key
    request[_KEY] = key
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return bamboo_error(404, "Not found")
    except web.HTTPMethodNotAllowed:
        return bamboo_error(404, "Not found")  # BambooHR: an unavailable method is a 404


# ---- rendering ------------------------------------------------------------------------------

def _wants_json(request: web.Request) -> bool:
    """BambooHR answers JSON only when asked; XML is the default."""
    return "json" in request.headers.get("Accept", "").lower()


def _text(body: str, content_type: str, status: int = 200) -> web.Response:
    return web.Response(body=body.encode("utf-8"), status=status, content_type=content_type, charset="utf-8")


def _json(payload) -> web.Response:
    return _text(json.dumps(payload, ensure_ascii=False, separators=(",", ":")), "application/json")


def _as_string(name: str, value) -> str | None:
    """Values of get-employee and reports: strings, null when empty, ``0000-00-00`` for no date."""
    if value is None:
        return EMPTY_DATE if FIELDS.get(name, (0, ""))[1] == "date" else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml_fields(record: dict) -> str:
    return "".join(f"<field id={quoteattr(k)}>{escape(v) if v is not None else ''}</field>"
                   for k, v in record.items() if k != "id")


def _bool_flag(value) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def _truthy(text: str | None, default: bool) -> bool:
    if text is None or text == "":
        return default
    return text.strip().lower() in ("1", "true", "yes")


# ---- handlers -------------------------------------------------------------------------------

async def directory(request: web.Request) -> web.Response:
    state: BambooHRState = state_of(request)
    cfg = state.config
    if cfg.directory_sharing not in ("full", "org_chart"):
        return bamboo_error(403, DIRECTORY_DISABLED)
    only_current = _truthy(request.query.get("onlyCurrent"), True)
    members = state.directory_members(only_current)
    if not members:
        return bamboo_error(404)
    key: ApiKey = request[_KEY]  # type: ignore[assignment]
    as_json = _wants_json(request)
    names = state.directory_fields()
    cache_key = (as_json, only_current, tuple(names), key.admin, key.owner)
    body = state._directory_cache.get(cache_key)
    if body is None:
        rows = []
        for emp in members:
            row: dict = {"id": str(emp.id)}
            for name in names:
                value = field_value(emp, name, state.by_id, state.company_id)
                if name == "canUploadPhoto":  # caller-specific: admins, or the caller's own record
                    value = 1 if key.admin or emp.id == key.owner else 0
                row[name] = value
            rows.append(row)
        if as_json:
            fields = [{"id": n, "type": FIELDS[n][1], "name": FIELDS[n][2]} for n in names]
            body = json.dumps({"fields": fields, "employees": rows}, ensure_ascii=False,
                              separators=(",", ":")).encode("utf-8")
        else:
            parts = ['<?xml version="1.0"?>\n<directory><fieldset>']
            parts += [f"<field id={quoteattr(n)}>{escape(FIELDS[n][2])}</field>" for n in names]
            parts.append("</fieldset><employees>")
            for row in rows:
                parts.append(f"<employee id={quoteattr(row['id'])}>")
                parts.append(_xml_fields({k: _bool_flag(v) for k, v in row.items()}))
                parts.append("</employee>")
            parts.append("</employees></directory>")
            body = "".join(parts).encode("utf-8")
        if len(state._directory_cache) > 16:
            state._directory_cache.clear()
        state._directory_cache[cache_key] = body
    return web.Response(body=body, content_type="application/json" if as_json else "application/xml",
                        charset="utf-8")


def _resolve_fields(state: BambooHRState, key: ApiKey, names: list[str]) -> list[str]:
    """Known field names (numeric ids resolved), without the ones this key may not read."""
    out = []
    for raw in names:
        name = raw.strip()
        if name.isdigit():
            name = FIELD_BY_NUMBER.get(int(name), "")
        if name in FIELDS and name not in out and (key.admin or name not in SENSITIVE_FIELDS):
            out.append(name)
    return out


async def employee(request: web.Request) -> web.Response:
    state: BambooHRState = state_of(request)
    key: ApiKey = request[_KEY]  # type: ignore[assignment]
    raw_id = request.match_info["id"]
    emp_id = key.owner if raw_id == "0" else int(raw_id)
    emp = state.by_id.get(emp_id)
    if raw_id == "0" and emp is None:
        return _json({"id": "0"})  # a key not bound to any employee
    if emp is None:
        return bamboo_error(404, f"Employee {raw_id} not found")
    if not key.admin and emp.id != key.owner:
        return bamboo_error(403, "Insufficient Permissions to view this employee")
    requested = [f for f in request.query.get("fields", "").split(",") if f.strip()]
    if len(requested) > state.config.max_fields:
        return bamboo_error(400, f"A maximum of {state.config.max_fields} fields may be requested")
    record: dict = {"id": str(emp.id)}
    for name in _resolve_fields(state, key, requested):
        record[name] = _as_string(name, field_value(emp, name, state.by_id, state.company_id))
    if _wants_json(request):
        return _json(record)
    return _text(f'<?xml version="1.0"?>\n<employee id={quoteattr(record["id"])}>{_xml_fields(record)}'
                 "</employee>", "application/xml")


def _parse_report_request(body: bytes) -> tuple[str, list[str], dict | None] | str:
    """``(title, fields, lastChanged filter)`` from a JSON or XML report request, or an error text."""
    text = body.decode("utf-8", errors="replace").strip()
    if text.startswith("<"):
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            return "Malformed XML"
        title = root.findtext("title") or ""
        fields = [f.get("id", "") for f in root.iter("field")]
        lc = root.find("filters/lastChanged")
        filt = None if lc is None else {"includeNull": lc.get("includeNull", "yes"),
                                        "value": (lc.text or "").strip() or None}
        return title, fields, filt
    try:
        doc = json.loads(text or "null")
    except json.JSONDecodeError:
        return "Malformed JSON"
    if not isinstance(doc, dict) or not isinstance(doc.get("fields"), list):
        return "A list of fields is required"
    lc = (doc.get("filters") or {}).get("lastChanged") if isinstance(doc.get("filters"), dict) else None
    filt = None if not isinstance(lc, dict) else {"includeNull": str(lc.get("includeNull", "yes")),
                                                  "value": lc.get("value") or None}
    fields = [f if isinstance(f, str) else str(f.get("id", "")) if isinstance(f, dict) else str(f)
              for f in doc["fields"]]
    return str(doc.get("title") or ""), fields, filt


def _timestamp(text: str) -> float:
    d = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if d.tzinfo is None:
        d = d.replace(tzinfo=_dt.timezone.utc)
    return d.timestamp()


async def custom_report(request: web.Request) -> web.Response:
    state: BambooHRState = state_of(request)
    key: ApiKey = request[_KEY]  # type: ignore[assignment]
    fmt = request.query.get("format", "").upper()
    if fmt not in ("JSON", "XML", "CSV"):
        return bamboo_error(400, f"Unsupported report format {fmt or '(none)'}; the simulator "
                            "serves JSON, XML and CSV")
    if not key.admin:
        return bamboo_error(403, "You do not have access to run custom reports")
    parsed = _parse_report_request(await request.read())
    if isinstance(parsed, str):
        return bamboo_error(400, parsed)
    title, requested, filt = parsed
    if not requested:
        return bamboo_error(400, "A list of fields is required")
    if len(requested) > state.config.max_fields:
        return bamboo_error(400, f"A maximum of {state.config.max_fields} fields may be requested")
    names = _resolve_fields(state, key, requested)
    with_id = any(r.strip() == "id" for r in requested)
    rows = state.employees
    if _truthy(request.query.get("onlyCurrent"), False):
        rows = [e for e in rows if state.is_current(e)]
    if filt is not None:
        include_null = str(filt["includeNull"]).lower() == "yes"
        since = None
        if filt["value"]:
            try:
                since = _timestamp(str(filt["value"]))
            except ValueError:
                return bamboo_error(400, f"Invalid lastChanged value {filt['value']}")
        rows = [e for e in rows if (include_null if e.last_changed is None
                                    else since is None or _timestamp(e.last_changed) >= since)]
    records = []
    for emp in rows:
        rec: dict = {"id": str(emp.id)}
        for name in names:
            rec[name] = _as_string(name, field_value(emp, name, state.by_id, state.company_id))
        records.append(rec)
    field_list = ([{"id": "id", "type": "int", "name": "EEID"}] if with_id else []) + [
        {"id": n, "type": FIELDS[n][1], "name": FIELDS[n][2]} for n in names]
    if fmt == "JSON":
        return _json({"title": title, "fields": field_list, "employees": records})
    if fmt == "CSV":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        cols = (["id"] if with_id else []) + names
        writer.writerow([("EEID" if c == "id" else FIELDS[c][2]) for c in cols])
        for rec in records:
            writer.writerow(["" if rec[c] is None else rec[c] for c in cols])
        return _text(out.getvalue(), "text/csv")
    parts = [f'<?xml version="1.0"?>\n<report><title>{escape(title)}</title><fields>']
    parts += [f"<field id={quoteattr(f['id'])} type={quoteattr(f['type'])}>{escape(f['name'])}</field>"
              for f in field_list]
    parts.append("</fields><employees>")
    for rec in records:
        parts.append(f"<employee id={quoteattr(rec['id'])}>{_xml_fields(rec)}</employee>")
    parts.append("</employees></report>")
    return _text("".join(parts), "application/xml")


async def meta_users(request: web.Request) -> web.Response:
    state: BambooHRState = state_of(request)
    users = {}
    for e in state.employees:
        if e.user_id is None:
            continue
        users[str(e.user_id)] = {"id": e.user_id, "employeeId": e.id, "firstName": e.first,
                                 "lastName": e.last, "email": e.work_email or e.home_email,
                                 "status": "enabled" if e.user_enabled else "disabled",
                                 "lastLogin": e.last_login}
    if _wants_json(request):
        return _json(users)
    parts = ['<?xml version="1.0"?>\n<users>']
    for u in users.values():
        parts.append(f"<user id={quoteattr(str(u['id']))} employeeId={quoteattr(str(u['employeeId']))}>"
                     f"<firstName>{escape(u['firstName'])}</firstName><lastName>{escape(u['lastName'])}"
                     f"</lastName><email>{escape(u['email'] or '')}</email><status>{u['status']}</status>"
                     f"<lastLogin>{u['lastLogin'] or ''}</lastLogin></user>")
    parts.append("</users>")
    return _text("".join(parts), "application/xml")


async def meta_fields(request: web.Request) -> web.Response:
    rows = [{"id": num, "name": label, "type": typ, "alias": name} for name, (num, typ, label) in FIELDS.items()]
    if _wants_json(request):
        return _json(rows)
    body = "".join(f"<field id={quoteattr(str(r['id']))} type={quoteattr(r['type'])} "
                   f"alias={quoteattr(r['alias'])}>{escape(r['name'])}</field>" for r in rows)
    return _text(f'<?xml version="1.0"?>\n<fields>{body}</fields>', "application/xml")


def build_app(state: BambooHRState) -> web.Application:
    app = make_app(state)
    app.middlewares.append(_api_middleware)
    add_config_routes(app, lambda s: {"company": s.company, "employees": len(s.employees)})
    p = API_PREFIX
    app.router.add_get(p + "/employees/directory{slash:/?}", directory)
    app.router.add_get(p + r"/employees/{id:\d+}{slash:/?}", employee)
    app.router.add_post(p + "/reports/custom{slash:/?}", custom_report)
    app.router.add_get(p + "/meta/users{slash:/?}", meta_users)
    app.router.add_get(p + "/meta/fields{slash:/?}", meta_fields)
    return app


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--employees", type=int, default=300)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--company", default=DEFAULT_COMPANY, help="companyDomain in the URL")
    p.add_argument("--api-key", default=DEFAULT_API_KEY, help="the administrator's API key")
    p.add_argument("--directory-sharing", choices=("full", "org_chart", "off"), default="full")
    p.add_argument("--throttle-status", type=int, choices=(429, 503), default=429)


def _from_args(args: argparse.Namespace) -> web.Application:
    return build_app(BambooHRState(
        employees=args.employees, seed=args.seed, company=args.company, api_key=args.api_key,
        config=BambooConfig(directory_sharing=args.directory_sharing, throttle_status=args.throttle_status)))


if __name__ == "__main__":
    main(_from_args, "BambooHR API simulator", _add_arguments)
