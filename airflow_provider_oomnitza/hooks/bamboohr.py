"""BambooHR employees (the ``bamboohr`` source).

Every call goes to ``{url}/api/gateway.php/{system_name}/v1/`` with HTTP Basic auth, the API key
as the user name and ``x`` as the (ignored) password, and ``Accept: application/json`` (BambooHR
answers XML otherwise). Errors have an empty body; BambooHR puts the detail in the
``X-BambooHR-Error-Message`` header, which the messages quote. Throttled calls get 429 (503
before 2026-09-16) with ``Retry-After`` in seconds: the shared client waits as told and tries
again. BambooHR sends no rate-limit headers on normal answers, so there is no budget to watch.

Records are what the original connector yielded: the employees of ``GET employees/directory``
(one answer, no paging), each the directory's dict with its ``id``, unchanged. The directory
holds the active, published, current employees; its fieldset follows the company's sharing
settings. When it lacks fields the run needs (``needs``: the fields the mappings read, and the
whole directory fieldset when a record filter or custom converter may read anything), those
are read for the same employees with one custom report (``POST reports/custom``) and added to
each record; the report's values are strings or null, empty dates (``0000-00-00``) become null
and ``bool`` fields become booleans. The people are always the directory's.

When the directory is disabled for the account (403 ``Directory disabled for this account``),
or with ``include_inactive = true``, the records come from the custom report alone: the
directory's fieldset plus the needed fields and ``status``, current employees (``onlyCurrent``).
Without ``include_inactive`` only ``status == Active`` employees are kept, as the directory
would; people a company leaves out of its directory cannot be told apart in a report and are
included.

An empty directory is a 404; the hook then asks for the key owner's record (``employees/0``):
if that works the company exists and has no one to sync (zero records), else the 404 is a
wrong ``system_name``.

Connection (type ``bamboohr``): host = the API URL (empty: https://api.bamboohr.com), login =
the company domain (``system_name``), password = the API key.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Iterator
from urllib.parse import urlsplit

import requests

from airflow_provider_oomnitza.hooks.base import TLS_FIELDS, SourceHook
from airflow_provider_oomnitza.hooks.errors import SourceConfigError
from airflow_provider_oomnitza.hooks.http_client import HttpError, RetryingClient, json_of
from airflow_provider_oomnitza.sources.bamboohr import BambooHrSettings

GATEWAY = "/api/gateway.php"
ERROR_HEADER = "X-BambooHR-Error-Message"
EMPTY_DATE = "0000-00-00"
DIRECTORY = "employees/directory"
REPORT = "reports/custom"
REPORT_TITLE = "Oomnitza sync"
# The directory's fieldset when a company shares it whole: what the original's records held.
DIRECTORY_FIELDS = ("displayName", "firstName", "lastName", "preferredName", "jobTitle", "workPhone", "mobilePhone",
                    "workEmail", "department", "location", "division", "linkedIn", "pronouns", "workPhoneExtension",
                    "supervisor", "photoUploaded", "photoUrl", "canUploadPhoto")
HINTS = {
    401: "check api_token (an API key made by a BambooHR user under their name > API Keys)",
    403: "the API key's user is disabled or may not read this; an HR administrator's key reads every employee",
    404: "check system_name (the x of x.bamboohr.com) and url",
}
REPORT_HINT = ("the directory does not share {fields}, so they are read with a custom report, which this key's "
               "user may not run: use an HR administrator's key, or have the company share its whole directory")


class BambooHRError(HttpError):
    """A BambooHR call failed; the message names the section, the call, BambooHR's reason and what to check."""


def gateway_url(url: str) -> str:
    """``https://api.bamboohr.com`` and the original's ``.../api/gateway.php`` both give the gateway URL."""
    url = (url or "").strip().rstrip("/")
    if "://" not in url:
        url = f"https://{url}"
    return url + GATEWAY if urlsplit(url).path in ("", "/") else url


def company_domain(system_name: str) -> str:
    """The company domain, also from ``acme.bamboohr.com`` or ``https://acme.bamboohr.com/``."""
    name = re.sub(r"^[a-z][a-z0-9+.-]*://", "", (system_name or "").strip(), flags=re.I).strip("/")
    return re.sub(r"\.bamboohr\.com$", "", name, flags=re.I)


def report_value(value: Any, kind: str = "") -> Any:
    """A custom report's (or get-employee's) string value as the directory would give it."""
    if value == EMPTY_DATE or value == "":
        return None
    if kind == "bool" and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


class BambooHRHook(SourceHook):
    """Employees from BambooHR (see the module docstring)."""

    conn_name_attr = "bamboohr_conn_id"
    default_conn_name = "bamboohr_default"
    conn_type = "bamboohr"
    hook_name = "BambooHR"
    settings_model = BambooHrSettings
    connection_fields = {"host": "url", "login": "system_name", "password": "api_token"}
    extra_fields = TLS_FIELDS

    # -- where and how ------------------------------------------------------------------------------
    @property
    def company(self) -> str:
        company = company_domain(self.settings.system_name)
        if not company:
            raise SourceConfigError(f"{self.where} system_name: missing: the company domain (the x of "
                                    "x.bamboohr.com), in the INI or as the connection's Login")
        return company

    @property
    def base_url(self) -> str:
        return f"{gateway_url(self.settings.url)}/{self.company}/v1"

    @property
    def prefix(self) -> str:
        """How messages start: the INI section, if any."""
        return f"[{self.section}] " if self.section else ""

    @property
    def http(self) -> RetryingClient:
        return self.get_conn()

    def connect(self) -> RetryingClient:
        key = self.settings.api_token.get_secret_value()
        if not key:
            raise SourceConfigError(f"{self.where} api_token: missing: the BambooHR API key, in the INI or as the "
                                    "connection's Password")
        return RetryingClient(self.base_url, name="BambooHR", auth=(key, "x"), headers={"Accept": "application/json"},
                              **self.client_options())

    def _call(self, method: str, path: str, what: str, *, hint: str = "", ok_statuses: Iterable[int] = (),
              **kwargs: Any) -> requests.Response:
        try:
            return self.http.request(method, path, ok_statuses=ok_statuses, **kwargs)
        except HttpError as exc:
            raise self._error(exc, what, hint) from None

    def _error(self, exc: HttpError, what: str, hint: str = "") -> BambooHRError:
        where = self.prefix
        response = exc.response
        if exc.status is None or response is None:
            return BambooHRError(f"{where}{exc}", exc.status, response)
        text = f"{exc.status} {response.reason}".strip()
        detail = response.headers.get(ERROR_HEADER)
        if detail:
            text += f": {detail}"
        if "gave up after" in str(exc):
            text = f"gave up after {self.max_attempts} attempts: {text}"
        hint = hint or HINTS.get(exc.status, "")
        return BambooHRError(f"{where}BambooHR {what} at {self.base_url}: {text}" + (f"; {hint}" if hint else ""),
                             exc.status, response)

    def _json(self, response: requests.Response, what: str) -> dict:
        body = json_of(response)
        if body is None:
            raise BambooHRError(f"{self.prefix}BambooHR {what} at {self.base_url}: expected a JSON object, got "
                                f"{response.headers.get('Content-Type')!r}: {response.text[:200]!r} (is url "
                                f"{self.settings.url!r} the BambooHR API?)", response.status_code, response)
        return body

    # -- what to read -----------------------------------------------------------------------------------
    def needed_fields(self) -> list[str]:
        """Fields the mappings name (the first part of each source path), without ``id``."""
        names = {path.split(".", 1)[0] for path in self.needs.paths} - {"id", ""}
        return [f for f in DIRECTORY_FIELDS if f in names] + sorted(names - set(DIRECTORY_FIELDS))

    def wanted_fields(self) -> list[str]:
        """The needed fields, and the whole directory fieldset when anything may read any field."""
        needed = self.needed_fields()
        if not self.needs.whole_records:
            return needed
        return list(DIRECTORY_FIELDS) + [f for f in needed if f not in DIRECTORY_FIELDS]

    # -- calls ------------------------------------------------------------------------------------------
    def directory(self) -> tuple[list[str], list[dict]] | None:
        """``(field ids, employees)`` of the directory; None when it is disabled for the account."""
        what = "GET employees/directory"
        response = self._call("GET", DIRECTORY, what, ok_statuses=(403, 404))
        if response.status_code == 403:
            detail = response.headers.get(ERROR_HEADER) or ""
            if "directory" in detail.lower():  # the directory is off: a feature, not the key
                self.log.warning("%sBambooHR: %s; reading employees with a custom report instead", self.prefix,
                                 detail)
                return None
            raise self._error(HttpError(what, 403, response), what)
        if response.status_code == 404:
            self._company_exists(what)
            self.log.info("%sBambooHR: the directory of %r is empty (404)", self.prefix, self.company)
            return [], []
        body = self._json(response, what)
        fields = [f.get("id") for f in body.get("fields") or [] if isinstance(f, dict)]
        employees = body.get("employees")
        if not isinstance(employees, list):
            raise BambooHRError(f"{self.prefix}BambooHR {what} at {self.base_url}: no employees list in "
                                f"{response.text[:200]!r}", response.status_code, response)
        return [str(f) for f in fields if f], employees

    def _company_exists(self, after: str) -> None:
        """After a 404: the key owner's record answers only if the company domain is right."""
        self._call("GET", "employees/0", f"{after} (404), then GET employees/0", params={"fields": "firstName"})

    def custom_report(self, fields: list[str], *, hint: str = "") -> tuple[dict[str, str], list[dict]]:
        """``(field id -> type, employees)`` of a custom report of ``fields`` over current employees."""
        what = "POST reports/custom"
        body = {"title": REPORT_TITLE, "fields": ["id", *fields]}
        response = self._call("POST", REPORT, what, hint=hint, params={"format": "JSON", "onlyCurrent": "true"},
                              json=body)
        doc = self._json(response, what)
        kinds = {str(f.get("id")): str(f.get("type") or "") for f in doc.get("fields") or [] if isinstance(f, dict)}
        employees = doc.get("employees")
        if not isinstance(employees, list):
            raise BambooHRError(f"{self.prefix}BambooHR {what} at {self.base_url}: no employees list in "
                                f"{response.text[:200]!r}", response.status_code, response)
        rows = []
        for row in employees:
            if isinstance(row, dict):
                rows.append({k: v if k == "id" else report_value(v, kinds.get(k, "")) for k, v in row.items()})
            else:
                self.report(f"{self.prefix}BambooHR custom report: an employee that is not an object "
                            f"({str(row)[:80]!r}); skipped")
        return kinds, rows

    # -- SourceHook -------------------------------------------------------------------------------------
    def records(self) -> Iterator[dict]:
        if self.settings.include_inactive:
            yield from self._from_report(active_only=False)
            return
        directory = self.directory()
        if directory is None:
            yield from self._from_report(active_only=True)
            return
        fields, employees = directory
        present = set(fields) | {"id"}
        missing = [f for f in self.wanted_fields() if f not in present]
        if missing and employees:
            self._add_from_report(employees, missing)
        self.log.info("%sBambooHR: %d employees from the directory of %r", self.prefix, len(employees),
                      self.company)
        yield from employees

    def _add_from_report(self, employees: list[dict], missing: list[str]) -> None:
        """Fill the fields the directory left out, for the directory's employees, from one custom report."""
        needed = [f for f in missing if f in self.needed_fields()]
        hint = REPORT_HINT.format(fields=", ".join(missing))
        self.log.info("%sBambooHR: the directory does not share %s; reading them with a custom report",
                      self.prefix, ", ".join(missing))
        try:
            _, rows = self.custom_report(missing, hint=hint)
        except BambooHRError as exc:
            if exc.status != 403 or needed:
                raise
            # Only wanted because something may read any field: the records stay as the directory gives them.
            self.log.warning("%s; the records keep the directory's fields only", exc)
            return
        by_id = {str(row.get("id")): row for row in rows}
        for employee in employees:
            row = by_id.get(str(employee.get("id")), {})
            for name in missing:
                employee[name] = row.get(name)

    def _from_report(self, *, active_only: bool) -> Iterator[dict]:
        fields = self.wanted_fields()
        if "status" not in fields:
            fields.append("status")
        _, rows = self.custom_report(fields)
        kept = [row for row in rows if not active_only or str(row.get("status") or "").lower() == "active"]
        self.log.info("%sBambooHR: %d employees from a custom report of %r (%s)", self.prefix, len(kept),
                      self.company, "active only" if active_only else "all statuses")
        yield from kept

    def check(self) -> str:
        what = "GET employees/0"
        response = self._call("GET", "employees/0", what, params={"fields": "firstName,lastName,workEmail"})
        owner = self._json(response, what)
        name = " ".join(str(owner[k]) for k in ("firstName", "lastName") if owner.get(k))
        who = f"the API key of {name}" if name else "an API key not tied to an employee"
        return f"Connected to BambooHR company {self.company!r} at {gateway_url(self.settings.url)} with {who}"

    def record_by_id(self, record_id: str) -> dict | None:
        """One employee by id (any status), with the wanted fields; None if BambooHR does not know it."""
        ident = str(record_id).strip()
        if not ident.isdigit():
            return None
        fields = self.wanted_fields() or list(DIRECTORY_FIELDS)
        what = f"GET employees/{ident}"
        response = self._call("GET", f"employees/{ident}", what, ok_statuses=(404,),
                              params={"fields": ",".join(fields), "onlyCurrent": "true"})
        if response.status_code == 404:
            return None
        row = self._json(response, what)
        return {k: v if k == "id" else report_value(v) for k, v in row.items()}
