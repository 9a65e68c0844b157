"""Loopback simulator of the Jasper Wireless / Cisco IoT Control Center SOAP Terminal API.

Run ``python -m tests.simulators.jasper --port 0 --terminals 5000`` (prints its URL first), or in
tests ``SimulatorThread(build_app(JasperState(terminals=500))).start()``.

It speaks SOAP 1.1 document/literal as Control Center does (a Spring-WS service):

* ``POST /ws/service/terminal`` — one SOAP envelope per request, dispatched on the body's root
  element: ``GetModifiedTerminalsRequest`` and ``GetTerminalDetailsRequest`` (namespace
  ``http://api.jasperwireless.com/ws/schema``).  Any other payload gets 404 with an empty body
  (Spring-WS "no endpoint mapping"); GET gets 405.
* ``GET /ws/schema/Terminal.wsdl`` and ``/ws/schema/JasperAPI.xsd`` — the WSDL and schema shipped
  in ``jasper_wsdl/`` (the WSDL's address rewritten to this server, so ``zeep.Client(<url>)``
  works without ``create_service``).

Each request is checked in the order the real service does it, and every failure is an HTTP 500
carrying a SOAP 1.1 Fault (``faultcode`` ``SOAP-ENV:Client``/``Server``, ``faultstring`` = the
Jasper error code, ``detail`` with ``jws:error`` / ``jws:exception`` / ``jws:message``):

1. the envelope parses and is SOAP 1.1 (SOAP 1.2 → ``SOAP-ENV:VersionMismatch``);
2. WS-Security ``UsernameToken`` with a ``PasswordText`` password in the header → else ``400200``;
3. the payload is valid against the schema (bad ``since`` dateTime, missing ``licenseKey``,
   no ICCID ...) → else Spring-WS's ``Validation error`` fault with ``spring-ws:ValidationError``;
4. ``licenseKey`` → else ``400100``; more calls in flight than ``max_concurrent`` → ``400101``;
5. the operation: ``accountId`` of another enterprise → ``400201``; more than 50 ICCIDs →
   ``400400`` (``too_many_code``); none of the ICCIDs known → ``100100``.

``GetModifiedTerminals``: ICCIDs whose ``dateModified`` is after ``since`` (exclusive; all SIMs
without ``since``), oldest change first, optional ``simState`` and ``accountId`` filters, paged by
``pageNumber`` (1-based, default 1) with 50 ICCIDs a page and ``totalPages`` in every answer.
``GetTerminalDetails``: 1–50 ICCIDs → their ``TerminalType`` records in a shuffled order, unknown
ICCIDs left out.

Shared knobs: latency, injected failures (status 500 → a ``400300`` Server fault; other statuses
→ an HTML error page as a gateway would send), and the rate limit, answered with the
``400101`` fault (no rate-limit headers: none are documented for the SOAP API).

Tests change SIMs with ``state.touch(iccids, when, status=...)`` (or ``POST /_sim/touch`` with
``{"iccids": [...], "when": "<ISO 8601>", "changes": {...}}`` for a simulator in another process);
``/_sim/reset`` undoes every touch.
"""
from __future__ import annotations

import argparse
import copy
import datetime as _dt
import hashlib
import math
import random
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from lxml import etree

from .base import SimState, Settings, add_config_routes, json_response, main, make_app, state_of
from .jasper_data import ACCOUNTS, MS, NIL, STATUSES, Terminal, generate_terminals, iso_ms

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
JWS = "http://api.jasperwireless.com/ws/schema"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SPRING_WS = "http://springframework.org/spring-ws"
PASSWORD_TEXT = ("http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
                 "#PasswordText")
ACTION_PREFIX = "http://api.jasperwireless.com/ws/service/terminal/"

WSDL_DIR = Path(__file__).with_name("jasper_wsdl")
WSDL_PATH = WSDL_DIR / "Terminal.wsdl"
SERVICE_PATH = "/ws/service/terminal"
BINDING = f"{{{JWS}}}TerminalBinding"  # for zeep's client.create_service(BINDING, address)

DEFAULT_USER = "apiuser@example.com"
DEFAULT_PASSWORD = "Sim-Passw0rd!"
DEFAULT_LICENSE_KEY = "7c1f2a9e-4b3d-4e8a-9f60-2d5b8c7a1e03"

# Jasper error codes: (text of jws:error, server exception class in jws:exception).  The codes and
# texts are Jasper's; only ApiSecurityValidationException is seen in a captured fault, the other
# class names are made up in the same style.
ERRORS = {
    "100100": ("Terminal not found", "com.jasperwireless.ws.ApiTerminalException"),
    "400100": ("Invalid license key. Please use a valid API license key.",
               "com.jasperwireless.ws.ApiLicenseKeyException"),
    "400101": ("License has exceeded the rate limit for API calls.",
               "com.jasperwireless.ws.ApiRateLimitException"),
    "400200": ("Security validation error. Your username or password is incorrect.",
               "com.jasperwireless.ws.ApiSecurityValidationException"),
    "400201": ("Access violation error. Please check your login - you may be trying to access a SIM "
               "that belongs to a different Account or Service Provider.",
               "com.jasperwireless.ws.ApiAccessViolationException"),
    "400300": ("System internal error", "com.jasperwireless.ws.ApiInternalException"),
    "400400": ("Too many entries", "com.jasperwireless.ws.ApiTooManyEntriesException"),
    "10001": ("Maximum size exceeded", "com.jasperwireless.ws.ApiMaxSizeException"),
}


@dataclass
class JasperConfig(Settings):
    """Vendor-specific run-time settings (``GET/POST /_sim/config``)."""

    modified_page_size: int = 50     # ICCIDs per GetModifiedTerminals page
    max_details_iccids: int = 50     # ICCIDs accepted by one GetTerminalDetails call
    too_many_code: str = "400400"    # fault code for more ICCIDs than that
    max_concurrent: int = 0          # calls in flight before 400101 (Control Center asks for 1); 0 = off
    build: str = "Unknown"           # ResponseType/build


class SoapFault(Exception):
    """Raised by the request checks; turned into an HTTP 500 SOAP Fault response."""

    def __init__(self, code: str, faultcode: str = "SOAP-ENV:Client", message: str | None = None):
        super().__init__(code)
        self.code, self.faultcode, self.message = code, faultcode, message


class ValidationFault(Exception):
    """Schema validation failed: Spring-WS's ``Validation error`` fault."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def _envelope() -> tuple[etree._Element, etree._Element]:
    env = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"SOAP-ENV": SOAP11})
    etree.SubElement(env, f"{{{SOAP11}}}Header")
    return env, etree.SubElement(env, f"{{{SOAP11}}}Body")


def _xml_response(env: etree._Element, status: int = 200) -> web.Response:
    return web.Response(body=etree.tostring(env, xml_declaration=False, encoding="utf-8"), status=status,
                        content_type="text/xml", charset="utf-8")


def fault_response(code: str, faultcode: str = "SOAP-ENV:Client", message: str | None = None) -> web.Response:
    """A Jasper SOAP 1.1 fault: ``faultstring`` = the code, ``detail`` = error/exception/message."""
    text, exception = ERRORS.get(code, ("API error", "com.jasperwireless.ws.ApiException"))
    env, body = _envelope()
    fault = etree.SubElement(body, f"{{{SOAP11}}}Fault")
    etree.SubElement(fault, "faultcode").text = faultcode
    fs = etree.SubElement(fault, "faultstring")
    fs.text = code
    fs.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    detail = etree.SubElement(fault, "detail")
    etree.SubElement(detail, f"{{{JWS}}}error", nsmap={"jws": JWS}).text = text
    etree.SubElement(detail, f"{{{JWS}}}exception", nsmap={"jws": JWS}).text = exception
    etree.SubElement(detail, f"{{{JWS}}}message", nsmap={"jws": JWS}).text = message or f"{exception}: {text}"
    return _xml_response(env, 500)


def _plain_fault(faultcode: str, faultstring: str, details: list[tuple[str, str]] = ()) -> web.Response:
    env, body = _envelope()
    fault = etree.SubElement(body, f"{{{SOAP11}}}Fault")
    etree.SubElement(fault, "faultcode").text = faultcode
    fs = etree.SubElement(fault, "faultstring")
    fs.text = faultstring
    fs.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    if details:
        detail = etree.SubElement(fault, "detail")
        for tag, text in details:
            etree.SubElement(detail, tag, nsmap={"spring-ws": SPRING_WS}).text = text
    return _xml_response(env, 500)


def to_ms(when) -> float:
    """Epoch milliseconds of a datetime (naive = UTC), epoch seconds, or ISO 8601 text."""
    if isinstance(when, (int, float)):
        return float(when) * MS
    if isinstance(when, str):
        when = _dt.datetime.fromisoformat(when.strip().replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    return when.timestamp() * MS


class JasperState(SimState):
    def __init__(self, terminals: int = 2000, seed: int = 1, now: float | None = None,
                 username: str = DEFAULT_USER, password: str = DEFAULT_PASSWORD,
                 license_key: str = DEFAULT_LICENSE_KEY, config: JasperConfig | None = None) -> None:
        super().__init__(config or JasperConfig())
        self.now0 = time.time() if now is None else now
        self.seed = seed
        self.users = {username: password}
        self.license_keys = {license_key}
        self.terminals: list[Terminal] = generate_terminals(terminals, seed, self.now0)
        self.by_iccid = {t.iccid: t for t in self.terminals}
        self._generated = {t.iccid: (t.modified_ms, t.version, t.status) for t in self.terminals}
        self._order: list[Terminal] | None = None
        self.schema = etree.XMLSchema(etree.parse(str(WSDL_DIR / "JasperAPI.xsd")))
        self.touched = 0

    # ---- test controls -------------------------------------------------------------------
    def touch(self, iccids, when=None, **changes) -> int:
        """Change SIMs at ``when`` (default now): ``dateModified`` = ``when``, ``version`` + 1, and
        ``changes`` (e.g. ``status="DEACTIVATED_NAME"``) applied to their records.  Returns how many
        were known."""
        when_ms = int(to_ms(when if when is not None else time.time()))
        count = 0
        for iccid in iccids:
            t = self.by_iccid.get(iccid)
            if t is None:
                continue
            t.modified_ms = when_ms
            t.version += 1
            if "status" in changes:
                t.status = changes["status"]
            t.overrides.update(changes)
            count += 1
        self._order = None
        self.touched += count
        return count

    def reset(self) -> None:
        super().reset()
        for t in self.terminals:
            t.modified_ms, t.version, t.status = self._generated[t.iccid]
            t.overrides.clear()
        self._order = None
        self.touched = 0

    # ---- faults answered the Jasper way --------------------------------------------------
    def rate_limited_response(self, reset_in: float, request: web.Request) -> web.Response:
        return fault_response("400101")

    def failure_response(self, status: int, request: web.Request) -> web.Response:
        if status == 500:
            return fault_response("400300", "SOAP-ENV:Server")
        reason = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(status, "Error")
        return web.Response(text=f"<html><head><title>{status} {reason}</title></head><body><h1>{status} "
                            f"{reason}</h1></body></html>", status=status, content_type="text/html")

    # ---- queries -------------------------------------------------------------------------
    def ordered(self) -> list[Terminal]:
        """All SIMs, oldest change first (ICCID breaks ties, so pages are stable)."""
        if self._order is None:
            self._order = sorted(self.terminals, key=lambda t: (t.modified_ms, t.iccid))
        return self._order

    def modified(self, since_ms: float | None, sim_state: str | None, account_id: int | None) -> list[str]:
        rows = self.ordered()
        if since_ms is not None:
            lo, hi = 0, len(rows)
            while lo < hi:  # first index with modified_ms > since_ms
                mid = (lo + hi) // 2
                if rows[mid].modified_ms > since_ms:
                    hi = mid
                else:
                    lo = mid + 1
            rows = rows[lo:]
        if sim_state:
            rows = [t for t in rows if STATUSES.get(t.status) == sim_state]
        if account_id is not None:
            rows = [t for t in rows if t.account_id == account_id]
        return [t.iccid for t in rows]


# ---- request handling -------------------------------------------------------------------

def _q(local: str) -> str:
    return f"{{{JWS}}}{local}"


def _check_security(header: etree._Element | None, state: JasperState) -> None:
    security = header.find(f"{{{WSSE}}}Security") if header is not None else None
    if security is None:
        raise SoapFault("400200", message="org.springframework.ws.soap.security.xwss."
                        "XwsSecurityValidationException: Message does not conform to configured policy "
                        "[ AuthenticationTokenPolicy(S) ]:  No Security Header found")
    token = security.find(f"{{{WSSE}}}UsernameToken")
    username = token.findtext(f"{{{WSSE}}}Username") if token is not None else None
    password_el = token.find(f"{{{WSSE}}}Password") if token is not None else None
    if username is None or password_el is None:
        raise SoapFault("400200", message="com.sun.xml.wss.XWSSecurityException: "
                        "UsernameToken with a password is required")
    if password_el.get("Type", PASSWORD_TEXT) != PASSWORD_TEXT:
        raise SoapFault("400200", message="com.sun.xml.wss.XWSSecurityException: "
                        "Receiver requirement for use of plain-text password not met by the sender")
    if state.users.get(username.strip()) != (password_el.text or ""):
        raise SoapFault("400200", message="com.sun.xml.wss.XWSSecurityException: "
                        "Authentication of Username Password Token Failed")


def _validate(payload: etree._Element, state: JasperState) -> None:
    doc = etree.ElementTree(copy.deepcopy(payload))
    if not state.schema.validate(doc):
        raise ValidationFault([f"{e.message}" for e in state.schema.error_log])


def _response(op: str, request_el: etree._Element, state: JasperState) -> tuple[etree._Element, etree._Element]:
    env, body = _envelope()
    resp = etree.SubElement(body, _q(f"{op}Response"), nsmap={"ns2": JWS})
    resp.set(_q("requestId"), secrets.token_urlsafe(12)[:16])
    etree.SubElement(resp, _q("correlationId")).text = request_el.findtext(_q("messageId")) or ""
    etree.SubElement(resp, _q("version")).text = request_el.findtext(_q("version")) or ""
    etree.SubElement(resp, _q("build")).text = state.config.build
    etree.SubElement(resp, _q("timestamp")).text = iso_ms(int(time.time() * MS))
    return env, resp


def _add_value(parent: etree._Element, name: str, value) -> None:
    if value is None:
        return
    el = etree.SubElement(parent, _q(name))
    if value is NIL:
        el.set(f"{{{XSI}}}nil", "true")
    elif isinstance(value, dict):
        for k, v in value.items():
            _add_value(el, k, v)
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    else:
        el.text = str(value)


def get_modified_terminals(payload: etree._Element, state: JasperState) -> web.Response:
    since_text = payload.findtext(_q("since"))
    since_ms = None
    if since_text is not None:
        try:
            since_ms = to_ms(since_text)
        except ValueError:
            raise ValidationFault([f"cvc-datatype-valid.1.2.1: '{since_text}' is not a valid value for "
                                   "'dateTime'."]) from None
    account = payload.get("accountId")
    account_id = int(account) if account is not None else None
    if account_id is not None and account_id not in ACCOUNTS:
        raise SoapFault("400201")
    page = int(payload.findtext(_q("pageNumber")) or 1)
    iccids = state.modified(since_ms, payload.findtext(_q("simState")), account_id)
    size = state.config.modified_page_size
    total_pages = max(1, math.ceil(len(iccids) / size))
    chunk = iccids[(page - 1) * size:page * size] if page >= 1 else []
    env, resp = _response("GetModifiedTerminals", payload, state)
    container = etree.SubElement(resp, _q("iccids"))
    for iccid in chunk:
        etree.SubElement(container, _q("iccid")).text = iccid
    etree.SubElement(resp, _q("totalPages")).text = str(total_pages)
    return _xml_response(env)


def get_terminal_details(payload: etree._Element, state: JasperState) -> web.Response:
    asked = [(el.text or "").strip() for el in payload.iterfind(f"{_q('iccids')}/{_q('iccid')}")]
    if len(asked) > state.config.max_details_iccids:
        code = state.config.too_many_code
        raise SoapFault(code, message=f"{ERRORS.get(code, ('API error',))[0]}: {len(asked)} ICCIDs, "
                        f"at most {state.config.max_details_iccids} per request")
    found = [state.by_iccid[i] for i in dict.fromkeys(asked) if i in state.by_iccid]
    if not found:
        raise SoapFault("100100")
    digest = hashlib.sha256("|".join(asked).encode()).digest()
    random.Random(int.from_bytes(digest[:8], "big") ^ state.seed).shuffle(found)  # order not guaranteed
    env, resp = _response("GetTerminalDetails", payload, state)
    container = etree.SubElement(resp, _q("terminals"))
    for t in found:
        rec = t.details(state.seed)
        el = etree.SubElement(container, _q("terminal"), nsmap={"xsi": XSI})
        if rec.get("msisdn"):
            el.set("msisdn", rec["msisdn"])
        for name, value in rec.items():
            if name != "msisdn":
                _add_value(el, name, value)
    return _xml_response(env)


OPERATIONS = {"GetModifiedTerminalsRequest": get_modified_terminals,
              "GetTerminalDetailsRequest": get_terminal_details}


async def terminal_service(request: web.Request) -> web.Response:
    state: JasperState = state_of(request)
    raw = await request.read()
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        return _plain_fault("SOAP-ENV:Client", f"Could not access envelope: Unable to create envelope from "
                            f"given source: {exc}")
    if root.tag == f"{{{SOAP12}}}Envelope":
        return _plain_fault("SOAP-ENV:VersionMismatch", "Invalid SOAP Envelope namespace: expected SOAP 1.1")
    if root.tag != f"{{{SOAP11}}}Envelope":
        return _plain_fault("SOAP-ENV:Client", "Could not access envelope: not a SOAP envelope")
    header = root.find(f"{{{SOAP11}}}Header")
    body = root.find(f"{{{SOAP11}}}Body")
    payload = next(iter(body.iterchildren(tag=etree.Element)), None) if body is not None else None
    try:
        _check_security(header, state)
        if payload is None or etree.QName(payload).namespace != JWS \
                or etree.QName(payload).localname not in OPERATIONS:
            return web.Response(status=404)  # Spring-WS: no endpoint mapping for this payload
        _validate(payload, state)
        if (payload.findtext(_q("licenseKey")) or "").strip() not in state.license_keys:
            raise SoapFault("400100")
        limit = state.config.max_concurrent
        if limit and state.stats.in_flight > limit:
            state.stats.rate_limited += 1
            raise SoapFault("400101", message=f"{state.stats.in_flight} calls in flight, at most {limit}")
        return OPERATIONS[etree.QName(payload).localname](payload, state)
    except SoapFault as fault:
        return fault_response(fault.code, fault.faultcode, fault.message)
    except ValidationFault as fault:
        return _plain_fault("SOAP-ENV:Client", "Validation error",
                            [(f"{{{SPRING_WS}}}ValidationError", e) for e in fault.errors])


async def service_get(request: web.Request) -> web.Response:
    return web.Response(status=405, headers={"Allow": "POST"})


async def wsdl(request: web.Request) -> web.Response:
    text = WSDL_PATH.read_text(encoding="utf-8").replace(
        "https://api.jasperwireless.com/ws/service/terminal", f"{request.scheme}://{request.host}{SERVICE_PATH}")
    return web.Response(text=text, content_type="text/xml", charset="utf-8")


async def xsd(request: web.Request) -> web.Response:
    return web.Response(body=(WSDL_DIR / "JasperAPI.xsd").read_bytes(), content_type="text/xml", charset="utf-8")


async def touch_route(request: web.Request) -> web.Response:
    state: JasperState = state_of(request)
    try:
        data = await request.json()
        count = state.touch(data["iccids"], data.get("when"), **data.get("changes", {}))
    except (KeyError, TypeError, ValueError) as exc:
        return json_response({"error": f"expected {{\"iccids\": [...], \"when\": ISO 8601, \"changes\": {{}}}}: "
                              f"{exc}"}, status=400)
    return json_response({"touched": count})


def build_app(state: JasperState) -> web.Application:
    app = make_app(state)
    add_config_routes(app, lambda s: {"terminals": len(s.terminals), "touched": s.touched})
    app.router.add_post("/_sim/touch", touch_route)
    app.router.add_post(SERVICE_PATH, terminal_service)
    app.router.add_get(SERVICE_PATH, service_get)
    app.router.add_get("/ws/schema/Terminal.wsdl", wsdl)
    app.router.add_get("/ws/schema/JasperAPI.xsd", xsd)
    return app


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--terminals", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--user", default=DEFAULT_USER)
    p.add_argument("--password", default=DEFAULT_PASSWORD)
    p.add_argument("--license-key", default=DEFAULT_LICENSE_KEY)
    p.add_argument("--max-concurrent", type=int, default=0, help="calls in flight before 400101, 0 = off")


def _from_args(args: argparse.Namespace) -> web.Application:
    return build_app(JasperState(terminals=args.terminals, seed=args.seed, username=args.user,
                                 password=args.password, license_key=args.license_key,
                                 config=JasperConfig(max_concurrent=args.max_concurrent)))


if __name__ == "__main__":
    main(_from_args, "Jasper / Cisco IoT Control Center SOAP Terminal API simulator", _add_arguments)
