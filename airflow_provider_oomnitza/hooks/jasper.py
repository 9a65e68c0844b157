"""JasperHook: SIM terminals from Cisco Control Center (Jasper Wireless) over SOAP (the ``jasper`` source).

Client: zeep, with the Terminal WSDL of ``wsdl_path`` (a URL, or a file on every worker) and
WS-Security ``UsernameToken`` (``username``, ``password`` as PasswordText); every request body
also carries ``messageId``, ``version`` and ``licenseKey`` (``api_token``). The service address
is the WSDL's, or ``service_url``. HTTP goes through a requests session with the section's TLS
options (``hooks/tls.py``) and a timeout.

Listing: ``GetModifiedTerminals(since)`` gives the ICCIDs changed after ``since`` (exclusive;
no ``since``: every SIM), oldest change first, 50 a page (``pageNumber``, ``totalPages``); each
page's ICCIDs go straight to ``GetTerminalDetails`` (at most 50 a call), one call at a time, as
Control Center asks. A SIM changed while the listing is read moves to its end, which shifts the
later pages by one: the listing then shows an ICCID twice, and is read again (up to
``max_passes`` times) for ICCIDs the shift hid.

Incremental (``incremental = True``): ``records(since=...)`` reads what changed after ``since``
and, once read to the end, sets ``watermark`` to Control Center's time of the first answer
(its ``timestamp``, so the worker's clock does not matter) minus ``overlap``. The extract task
stages it and the report task commits it when the run succeeded (``state.py``).

Faults: 400100 (license key), 400200 (username or password) and 400201 (account access) fail
the task at once naming the setting to check; 400101 (rate limit), 400300 (internal error),
faults without a code (a gateway's error page) and 429/5xx transport errors are retried with
the shared retry policy (``http_client.retrying``).

Records: each ``TerminalType`` as a plain dict (``zeep.helpers.serialize_object``): dates as
ISO 8601 UTC text, decimals as numbers, the ``msisdn`` attribute as a key.

Connection (type ``jasper``): host = the WSDL URL, login = username, password = password;
extra: ``api_token`` (license key), ``service_url`` and the TLS fields.
"""
from __future__ import annotations

import datetime as dt
import decimal
import uuid
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator

import requests

from airflow_provider_oomnitza.hooks.base import TLS_FIELDS, SourceHook
from airflow_provider_oomnitza.hooks.errors import SourceConfigError
from airflow_provider_oomnitza.hooks.http_client import RETRY_STATUSES, failure_reason, retrying
from airflow_provider_oomnitza.masking import mask
from airflow_provider_oomnitza.sources.jasper import JasperSettings

NS = "http://api.jasperwireless.com/ws/schema"
BINDING = f"{{{NS}}}TerminalBinding"
API_VERSION = "1.0"
# Fault codes (the faultstring) that no retry fixes: the setting to check, and what to check.
CONFIG_FAULTS = {
    "400100": ("api_token", "Control Center refused the API license key; check api_token (Control Center: "
                            "Settings > API Integration, the key of this account)"),
    "400200": ("password", "Control Center refused the username or password; check username and password (an API "
                           "user of this account; its password may have expired)"),
    "400201": ("username", "Control Center refused access to the account or its SIMs; the user must belong to the "
                           "enterprise account whose SIMs are synced"),
}
RETRY_FAULTS = frozenset({"400101", "400300"})  # rate limit, internal error
NOT_FOUND = "100100"  # none of the ICCIDs asked for is known


class JasperError(Exception):
    """A Control Center call failed (another try of the task may succeed)."""


class JasperConfigError(SourceConfigError):
    """Control Center refused the license key, the credentials or the account: no retry helps."""


class _Transient(Exception):
    """A fault or transport error worth another attempt (the retry loop's signal)."""


def utc_text(value: dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds, ``Z``-suffixed (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_utc(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def plain(value: Any) -> Any:
    """A serialized zeep value as JSON-able data: zeep's own ``_value_N``/``_attr_N`` keys (xs:any,
    anyAttribute) dropped when empty, datetimes as UTC text, decimals as numbers."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if not (k.startswith("_") and v in (None, {}, []))}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return utc_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def fault_text(fault: Any) -> str:
    """``fault 400200: Security validation error...`` from a Jasper fault (its ``detail`` has ``error``)."""
    code = str(fault.message or "").strip()
    error = ""
    detail = getattr(fault, "detail", None)
    if detail is not None and not isinstance(detail, (bytes, str)):
        texts = {str(getattr(el, "tag", "")).rsplit("}", 1)[-1]: (el.text or "").strip() for el in detail}
        error = texts.get("error") or texts.get("ValidationError") or ""
    if fault.code is None and not error:
        return f"an answer that is no SOAP fault ({code or 'no detail'}; a gateway's error page?)"
    return f"fault {code}" + (f": {error}" if error else "")


class JasperHook(SourceHook):
    """SIM terminals from Control Center (see the module docstring)."""

    conn_name_attr = "jasper_conn_id"
    default_conn_name = "jasper_default"
    conn_type = "jasper"
    hook_name = "Jasper (Cisco Control Center)"
    settings_model = JasperSettings
    connection_fields = {"host": "wsdl_path", "login": "username", "password": "password"}
    extra_fields = ("api_token", "service_url", *TLS_FIELDS)
    incremental: ClassVar[bool] = True
    details_batch = 50  # GetTerminalDetails takes at most 50 ICCIDs
    max_passes = 3
    overlap = dt.timedelta(minutes=5)  # a change committed while the first listing answer was made

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.watermark: str | None = None
        self.calls: dict[str, int] = {}  # calls made, by operation (tests count them)
        self.gone = 0  # ICCIDs listed whose details Control Center no longer had

    # -- the client -------------------------------------------------------------------------------
    @property
    def service(self) -> Any:
        return self.get_conn()

    @property
    def address(self) -> str:
        return str(self.service._binding_options.get("address", ""))

    def connect(self) -> Any:
        import zeep
        from zeep.transports import Transport
        from zeep.wsse.username import UsernameToken

        s = self.settings
        password = s.password.get_secret_value()
        mask(password)
        mask(s.api_token.get_secret_value())
        wsdl = s.wsdl_path.strip()
        if "://" not in wsdl and not Path(wsdl).expanduser().is_file():
            raise SourceConfigError(f"{self.where} wsdl_path: {wsdl} is not a file; expected the Terminal WSDL, a "
                                    "URL such as https://api.jasperwireless.com/ws/schema/Terminal.wsdl or a file "
                                    "on every worker")
        transport = Transport(session=self.tls.session(), timeout=self.timeout, operation_timeout=self.timeout)
        client = self._retried(lambda: self._load(zeep, wsdl, transport, UsernameToken(s.username, password)),
                               f"load the WSDL {wsdl}")
        try:
            return client.create_service(BINDING, s.service_url.strip()) if s.service_url.strip() else client.service
        except (ValueError, LookupError) as exc:
            key = "service_url" if s.service_url.strip() else "wsdl_path"
            raise SourceConfigError(f"{self.where} {key}: {wsdl} has no Terminal service ({exc}); expected "
                                    "Control Center's Terminal WSDL") from None

    def _load(self, zeep: Any, wsdl: str, transport: Any, wsse: Any) -> Any:
        from zeep.exceptions import Error as ZeepError

        try:
            return zeep.Client(wsdl, transport=transport, wsse=wsse)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in RETRY_STATUSES:
                raise _Transient(f"{status} {exc.response.reason}") from None
            raise SourceConfigError(f"{self.where} wsdl_path: {wsdl} answered {status}; expected the Terminal WSDL "
                                    "(e.g. https://<host>/ws/schema/Terminal.wsdl)") from None
        except (ZeepError, SyntaxError, ValueError) as exc:  # lxml's XMLSyntaxError is a SyntaxError
            raise SourceConfigError(f"{self.where} wsdl_path: {wsdl} is not a usable WSDL ({str(exc)[:200]})") from None

    # -- calls ------------------------------------------------------------------------------------
    def _retried(self, attempt: Callable[[], Any], what: str) -> Any:
        """``attempt()`` under the shared retry policy; what is left of a failure raised as ``JasperError``."""
        try:
            for try_ in retrying(max_attempts=self.max_attempts, max_wait=self.max_wait, log=self.log,
                                 what=f"Jasper {what}", sleep=self.sleep,
                                 retry_also=lambda exc: isinstance(exc, _Transient)):
                with try_:
                    return attempt()
        except _Transient as exc:
            raise JasperError(f"{self.where} Jasper {what}: gave up after {self.max_attempts} attempts: {exc}") from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise JasperError(f"{self.where} Jasper {what}: gave up after {self.max_attempts} attempts: "
                              f"{failure_reason(exc)}") from None

    def call(self, operation: str, *, ok_faults: frozenset[str] = frozenset(), **body: Any) -> Any:
        """One Terminal operation with the request header fields; None for a fault in ``ok_faults``."""
        from zeep.exceptions import Fault, TransportError

        try:
            method = getattr(self.service, operation)
        except AttributeError:
            raise SourceConfigError(f"{self.where} wsdl_path: the WSDL's service has no {operation} operation; "
                                    "expected Control Center's Terminal WSDL") from None
        key = self.settings.api_token.get_secret_value()
        what = f"{operation} at {self.address}"

        def attempt() -> Any:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            try:
                return method(messageId=uuid.uuid4().hex, version=API_VERSION, licenseKey=key, **body)
            except Fault as fault:
                code = str(fault.message or "").strip()
                if code in ok_faults:
                    return None
                if fault.code is None or code in RETRY_FAULTS:
                    raise _Transient(fault_text(fault)) from None
                if code in CONFIG_FAULTS:
                    setting, hint = CONFIG_FAULTS[code]
                    raise JasperConfigError(f"{self.where} {setting}: {hint} ({what}: {fault_text(fault)})") from None
                raise JasperError(f"{self.where} Jasper {what}: {fault_text(fault)}") from None
            except TransportError as exc:
                if exc.status_code in RETRY_STATUSES:
                    raise _Transient(f"HTTP {exc.status_code}") from None
                hint = "; is service_url (or the WSDL's address) the Terminal service?" if exc.status_code == 404 else ""
                raise JasperError(f"{self.where} Jasper {what}: HTTP {exc.status_code}{hint}") from None

        return self._retried(attempt, what)

    def check(self) -> str:
        answer = self.call("GetModifiedTerminals", since=dt.datetime.now(dt.timezone.utc))
        return (f"Connected to Jasper at {self.address}: user {self.settings.username} and the license key may list "
                f"modified SIMs (Control Center build {answer.build})")

    # -- records ----------------------------------------------------------------------------------
    def modified(self, since: dt.datetime | None) -> Iterator[tuple[list[str], Any]]:
        """Pages of ``GetModifiedTerminals``: (ICCIDs, the answer's timestamp)."""
        page, total = 1, 1
        while page <= total:
            answer = self.call("GetModifiedTerminals", since=since, pageNumber=page)
            iccids = list(answer.iccids.iccid) if answer.iccids is not None else []
            total = int(answer.totalPages or 1)  # an older schema without totalPages: one page
            yield [str(i).strip() for i in iccids if i], answer.timestamp
            page += 1

    def details(self, iccids: list[str]) -> Iterator[dict]:
        """The terminals of ``iccids``, in that order (Control Center leaves unknown ones out)."""
        from zeep.helpers import serialize_object

        for start in range(0, len(iccids), self.details_batch):
            batch = iccids[start:start + self.details_batch]
            answer = self.call("GetTerminalDetails", ok_faults=frozenset({NOT_FOUND}), iccids={"iccid": batch})
            terminals = answer.terminals.terminal if answer is not None and answer.terminals is not None else []
            found = {t.iccid: plain(serialize_object(t, target_cls=dict)) for t in terminals}
            self.gone += len(batch) - len(found)
            for iccid in batch:
                if iccid in found:
                    yield found[iccid]

    def records(self, since: str | None = None) -> Iterator[dict]:
        """The terminals changed after ``since`` (ISO 8601; None: every SIM)."""
        self.watermark = since  # until the listing has been read to the end
        self.gone = 0
        after = parse_utc(since) if since else None
        seen: set[str] = set()
        started: dt.datetime | None = None
        for number in range(1, self.max_passes + 1):
            listed: set[str] = set()
            moved = 0
            for iccids, answered_at in self.modified(after):
                if started is None:
                    started = answered_at or dt.datetime.now(dt.timezone.utc)
                moved += sum(1 for i in iccids if i in listed)
                listed.update(iccids)
                new = [i for i in dict.fromkeys(iccids) if i not in seen]
                seen.update(new)
                yield from self.details(new)
            if not moved:
                break
            self.log.info("Jasper: %d SIM(s) changed while the listing was read (pass %d); reading it again for "
                          "SIMs that moved past it", moved, number)
        else:
            self.log.warning("Jasper: SIMs kept changing during %d listings; some may have been missed, so the next "
                             "run reads from the same time again (%s)", self.max_passes, since or "every SIM")
            return
        assert started is not None
        self.watermark = utc_text(started - self.overlap)
        self.log.info("Jasper: %d SIM(s) changed since %s (%d listed but gone by the time their details were read); "
                      "next time: changes after %s", len(seen) - self.gone, since or "the start (every SIM)", self.gone, self.watermark)
