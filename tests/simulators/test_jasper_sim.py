"""Tests for the Jasper / Cisco IoT Control Center SOAP simulator.

The client side is **zeep, unchanged**: the WSDL shipped in ``jasper_wsdl/``, zeep's own
``wsse.UsernameToken`` plugin and its documented ``client.create_service(binding, address)`` to
point the Terminal binding at the simulator.  A few protocol tests post raw envelopes with
``requests`` where zeep would refuse to send the bad request itself.
"""
from __future__ import annotations

import collections
import datetime as dt
import socket
import threading
import time
import uuid

import pytest
import requests
import zeep
from lxml import etree
from zeep.exceptions import Fault
from zeep.wsse.username import UsernameToken

from tests.simulators import jasper as js
from tests.simulators.base import SimulatorProcess, SimulatorThread, knobs, stats
from tests.simulators.jasper_data import NIL, STATUSES, generate_terminals, luhn_digit

NOW = 1_790_000_000.0  # fixed "now": the inventory is the same on every run
N_TERMINALS = 1200
UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def sim():
    state = js.JasperState(terminals=N_TERMINALS, seed=11, now=NOW)
    with SimulatorThread(js.build_app(state)) as s:
        yield s


@pytest.fixture(autouse=True)
def _reset(sim):
    requests.post(sim.url + "/_sim/reset").raise_for_status()


def make_service(url: str, user: str = js.DEFAULT_USER, password: str | None = js.DEFAULT_PASSWORD,
                 **token_options):
    wsse = UsernameToken(user, password, **token_options) if user is not None else None
    client = zeep.Client(str(js.WSDL_PATH), wsse=wsse)
    return client.create_service(js.BINDING, url + js.SERVICE_PATH)


@pytest.fixture(scope="module")
def service(sim):
    return make_service(sim.url)


def req(**kw) -> dict:
    """The RequestType elements every call carries."""
    return {"messageId": f"msg-{uuid.uuid4().hex[:12]}", "version": "1.0",
            "licenseKey": js.DEFAULT_LICENSE_KEY, **kw}


def iccids_of(result) -> list[str]:
    """zeep turns an empty ``<iccids/>`` into None, not an empty list."""
    return list(result.iccids.iccid) if result.iccids is not None else []


def all_modified(service, **kw) -> tuple[list[str], int]:
    """Every ICCID of GetModifiedTerminals, page by page as totalPages says; (iccids, calls)."""
    first = service.GetModifiedTerminals(**req(**kw))
    iccids, calls = iccids_of(first), 1
    for page in range(2, first.totalPages + 1):
        iccids += iccids_of(service.GetModifiedTerminals(**req(pageNumber=page, **kw)))
        calls += 1
    return iccids, calls


def fault_of(call) -> Fault:
    with pytest.raises(Fault) as info:
        call()
    return info.value


def detail(fault: Fault) -> dict[str, str]:
    return {etree.QName(el).localname: el.text for el in fault.detail}


# ---- WSDL ----------------------------------------------------------------------------------

def test_shipped_wsdl_loads_offline_with_the_real_names(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("zeep tried to open a connection while loading the shipped WSDL")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    client = zeep.Client(str(js.WSDL_PATH))
    service = client.wsdl.services["TerminalService"]
    port = service.ports["TerminalPort"]
    assert port.binding.name.text == js.BINDING
    assert port.binding_options["address"] == "https://api.jasperwireless.com/ws/service/terminal"
    ops = port.binding.all()
    assert set(ops) == {"GetModifiedTerminals", "GetTerminalDetails"}
    assert ops["GetTerminalDetails"].soapaction == js.ACTION_PREFIX + "GetTerminalDetails"
    terminal = client.get_type(f"{{{js.JWS}}}TerminalType")
    names = [name for name, _ in terminal.elements]
    assert names[:3] == ["iccid", "terminalId", "modemId"] and "dateModified" in names
    assert "msisdn" in [name for name, _ in terminal.attributes]  # an attribute, not an element


def test_served_wsdl_points_at_the_simulator(sim):
    client = zeep.Client(sim.url + "/ws/schema/Terminal.wsdl",
                         wsse=UsernameToken(js.DEFAULT_USER, js.DEFAULT_PASSWORD))
    result = client.service.GetModifiedTerminals(**req())
    assert len(result.iccids.iccid) == 50
    assert requests.get(sim.url + "/ws/schema/JasperAPI.xsd").content == (js.WSDL_DIR / "JasperAPI.xsd").read_bytes()


# ---- GetModifiedTerminals ------------------------------------------------------------------

def test_pages_through_all_modified_terminals_exactly_once(sim, service):
    msg = req()
    first = service.GetModifiedTerminals(**msg)
    assert first.correlationId == msg["messageId"] and first.version == "1.0"
    assert first.timestamp.tzinfo is not None
    assert f"{{{js.JWS}}}requestId" in first._attr_1
    assert first.totalPages == -(-N_TERMINALS // 50)

    iccids, calls = all_modified(service)
    assert calls == first.totalPages
    assert len(iccids) == N_TERMINALS and len(set(iccids)) == N_TERMINALS
    assert set(iccids) == set(sim.state.by_iccid)
    # oldest change first, ties in a stable order
    expected = [t.iccid for t in sorted(sim.state.terminals, key=lambda t: (t.modified_ms, t.iccid))]
    assert iccids == expected
    assert stats(sim)["by_path"][js.SERVICE_PATH] == calls + 1


def test_page_sizes_and_pages_past_the_end(sim, service):
    sizes = [len(service.GetModifiedTerminals(**req(pageNumber=p)).iccids.iccid) for p in (1, 23, 24)]
    assert sizes == [50, 50, N_TERMINALS - 23 * 50]
    past = service.GetModifiedTerminals(**req(pageNumber=99))
    assert past.iccids is None and past.totalPages == 24


def test_since_is_exclusive_and_ordered_oldest_first(sim, service):
    ordered = sorted(sim.state.terminals, key=lambda t: (t.modified_ms, t.iccid))
    pivot = ordered[700]
    since = dt.datetime.fromtimestamp(pivot.modified_ms / 1000, UTC)
    iccids, _ = all_modified(service, since=since)
    expected = [t.iccid for t in ordered if t.modified_ms > pivot.modified_ms]
    assert iccids == expected and pivot.iccid not in iccids


def test_bulk_changes_share_a_timestamp_and_page_stably(sim, service):
    same = collections.Counter(t.modified_ms for t in sim.state.terminals)
    assert max(same.values()) >= 5  # some SIMs were changed together
    assert all_modified(service)[0] == all_modified(service)[0]


def test_only_terminals_touched_after_since(sim, service):
    state = sim.state
    after_all = dt.datetime.fromtimestamp(NOW, UTC)
    assert service.GetModifiedTerminals(**req(since=after_all)).iccids is None

    first_batch = [t.iccid for t in state.terminals[10:14]]
    second_batch = [t.iccid for t in state.terminals[500:503]]
    t1, t2 = after_all + dt.timedelta(minutes=5), after_all + dt.timedelta(minutes=9)
    assert state.touch(second_batch, t2, status="DEACTIVATED_NAME") == 3
    assert state.touch(first_batch, t1) == 4

    changed = service.GetModifiedTerminals(**req(since=after_all))
    assert changed.iccids.iccid == sorted(first_batch) + sorted(second_batch) and changed.totalPages == 1
    assert service.GetModifiedTerminals(**req(since=t1)).iccids.iccid == sorted(second_batch)
    assert service.GetModifiedTerminals(**req(since=t2)).iccids is None

    details = service.GetTerminalDetails(**req(iccids={"iccid": second_batch})).terminals.terminal
    assert {d.iccid for d in details} == set(second_batch)
    for d in details:
        assert d.dateModified == t2 and d.status == "DEACTIVATED_NAME"
        assert d.version == state.by_iccid[d.iccid].version

    requests.post(sim.url + "/_sim/reset").raise_for_status()
    assert service.GetModifiedTerminals(**req(since=after_all)).iccids is None


def test_sim_state_and_account_filters(sim, service):
    activated, _ = all_modified(service, simState="ACTIVATED")
    want = {t.iccid for t in sim.state.terminals if t.status == "ACTIVATED_NAME"}
    assert set(activated) == want and len(activated) == len(want)
    kiosks, _ = all_modified(service, accountId=100201)
    assert set(kiosks) == {t.iccid for t in sim.state.terminals if t.account_id == 100201}
    assert 0 < len(kiosks) < N_TERMINALS

    fault = fault_of(lambda: service.GetModifiedTerminals(**req(accountId=999999)))
    assert (fault.code, fault.message) == ("SOAP-ENV:Client", "400201")


# ---- GetTerminalDetails --------------------------------------------------------------------

def test_terminal_details_record_shape(sim, service):
    state = sim.state
    asked = [t.iccid for t in state.terminals[:50]]
    result = service.GetTerminalDetails(**req(iccids={"iccid": asked}))
    terminals = result.terminals.terminal
    assert sorted(d.iccid for d in terminals) == sorted(asked)
    assert [d.iccid for d in terminals] != asked  # the order is not guaranteed

    by_status = collections.defaultdict(list)
    for d in terminals:
        t = state.by_iccid[d.iccid]
        by_status[d.status].append(d)
        assert len(d.iccid) == 20 and d.iccid[-1] == luhn_digit(d.iccid[:-1])
        assert d.dateModified == dt.datetime.fromtimestamp(t.modified_ms / 1000, UTC)
        assert d.dateAdded <= d.dateModified and d.dateAdded.tzinfo is not None
        assert d.accountId == t.account_id and d.version == t.version
        assert len(d.imsi) == 15 and d.ratePlan
        if d.imei is not None:
            assert len(d.imei) == 15 and d.imei[-1] == luhn_digit(d.imei[:-1])
    for d in by_status.get("INVENTORY_NAME", []) + by_status.get("ACTIVATION_READY_NAME", []):
        assert d.dateActivated is None and d.msisdn is None and d.imei is None
    activated = by_status["ACTIVATED_NAME"]
    assert activated and all(d.dateActivated is not None for d in activated)
    assert any(d.msisdn for d in activated)  # the msisdn XML attribute
    assert any(d.fixedIpAddress is None for d in terminals)  # xsi:nil
    assert any(d.customer is None for d in terminals) and any(d.terminalId for d in terminals)


def test_details_data_covers_states_missing_fields_and_unicode(sim):
    records = [t.details(sim.state.seed) for t in sim.state.terminals]
    assert {r["status"] for r in records} == set(STATUSES)
    for key in ("terminalId", "modemId", "customer", "dateShipped", "imei", "msisdn", "simNotes"):
        assert any(r[key] is None for r in records), key
        assert any(r[key] for r in records), key
    assert any(r["fixedIpAddress"] is NIL for r in records) and any(r["ctdSessionCount"] is NIL for r in records)
    assert any(r["customer"] and not r["customer"].isascii() for r in records)
    assert any(r["simNotes"] and ("<" in r["simNotes"] or "&" in r["simNotes"]) for r in records)


def test_unknown_iccids_are_left_out_and_none_known_is_a_fault(sim, service):
    known = sim.state.terminals[3].iccid
    result = service.GetTerminalDetails(**req(iccids={"iccid": ["89011700000000000000", known, "nonsense"]}))
    assert [d.iccid for d in result.terminals.terminal] == [known]
    fault = fault_of(lambda: service.GetTerminalDetails(**req(iccids={"iccid": ["89011700000000000000"]})))
    assert (fault.code, fault.message) == ("SOAP-ENV:Client", "100100")
    assert detail(fault)["error"] == "Terminal not found"


def test_at_most_50_iccids_per_details_call(sim, service):
    iccids = [t.iccid for t in sim.state.terminals[:51]]
    assert len(service.GetTerminalDetails(**req(iccids={"iccid": iccids[:50]})).terminals.terminal) == 50
    fault = fault_of(lambda: service.GetTerminalDetails(**req(iccids={"iccid": iccids})))
    assert (fault.code, fault.message) == ("SOAP-ENV:Client", "400400")
    assert detail(fault)["error"] == "Too many entries"


# ---- faults --------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["wrong_password", "unknown_user", "no_security_header", "digest_password"])
def test_bad_credentials_are_fault_400200(sim, case):
    if case == "wrong_password":
        service = make_service(sim.url, password="nope")
    elif case == "unknown_user":
        service = make_service(sim.url, user="someone@example.com")
    elif case == "no_security_header":
        service = make_service(sim.url, user=None)
    else:
        service = make_service(sim.url, use_digest=True)
    fault = fault_of(lambda: service.GetModifiedTerminals(**req()))
    assert (fault.code, fault.message) == ("SOAP-ENV:Client", "400200")
    info = detail(fault)
    assert info["error"].startswith("Security validation error")
    assert info["exception"] == "com.jasperwireless.ws.ApiSecurityValidationException"
    if case == "no_security_header":
        assert "No Security Header found" in info["message"]


def test_bad_license_key_is_fault_400100(sim):
    service = make_service(sim.url)
    fault = fault_of(lambda: service.GetModifiedTerminals(**req(licenseKey="not-my-key")))
    assert (fault.code, fault.message) == ("SOAP-ENV:Client", "400100")
    assert detail(fault)["error"].startswith("Invalid license key")


def test_invalid_date_is_a_validation_fault(sim, service):
    fault = fault_of(lambda: service.GetModifiedTerminals(**req(since="last tuesday")))
    assert (fault.code, fault.message) == ("SOAP-ENV:Client", "Validation error")
    [error] = fault.detail
    assert etree.QName(error).localname == "ValidationError" and "last tuesday" in error.text


def raw_envelope(payload: str, security: bool = True, env_ns: str = js.SOAP11) -> bytes:
    header = (f'<wsse:Security xmlns:wsse="{js.WSSE}"><wsse:UsernameToken>'
              f"<wsse:Username>{js.DEFAULT_USER}</wsse:Username>"
              f'<wsse:Password Type="{js.PASSWORD_TEXT}">{js.DEFAULT_PASSWORD}</wsse:Password>'
              "</wsse:UsernameToken></wsse:Security>") if security else ""
    return (f'<soapenv:Envelope xmlns:soapenv="{env_ns}" xmlns:jws="{js.JWS}">'
            f"<soapenv:Header>{header}</soapenv:Header><soapenv:Body>{payload}</soapenv:Body>"
            "</soapenv:Envelope>").encode()


def post(sim, body: bytes, action: str = "GetModifiedTerminals") -> requests.Response:
    return requests.post(sim.url + js.SERVICE_PATH, data=body,
                         headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": js.ACTION_PREFIX + action})


def fault_fields(response: requests.Response) -> tuple[str, str]:
    doc = etree.fromstring(response.content)
    fault = doc.find(f"{{{js.SOAP11}}}Body/{{{js.SOAP11}}}Fault")
    return fault.findtext("faultcode"), fault.findtext("faultstring")


def test_raw_envelopes_get_soap_11_faults_with_http_500(sim):
    ok = post(sim, raw_envelope("<jws:GetModifiedTerminalsRequest><jws:messageId>1</jws:messageId>"
                                "<jws:version>1.0</jws:version>"
                                f"<jws:licenseKey>{js.DEFAULT_LICENSE_KEY}</jws:licenseKey>"
                                "</jws:GetModifiedTerminalsRequest>"))
    assert ok.status_code == 200 and ok.headers["Content-Type"].startswith("text/xml")
    assert b"<ns2:totalPages>24</ns2:totalPages>" in ok.content

    missing_key = post(sim, raw_envelope("<jws:GetModifiedTerminalsRequest><jws:messageId>1</jws:messageId>"
                                         "<jws:version>1.0</jws:version></jws:GetModifiedTerminalsRequest>"))
    assert missing_key.status_code == 500 and fault_fields(missing_key) == ("SOAP-ENV:Client", "Validation error")

    no_iccid = post(sim, raw_envelope("<jws:GetTerminalDetailsRequest><jws:messageId>1</jws:messageId>"
                                      f"<jws:version>1.0</jws:version><jws:licenseKey>{js.DEFAULT_LICENSE_KEY}"
                                      "</jws:licenseKey><jws:iccids/></jws:GetTerminalDetailsRequest>"),
                    "GetTerminalDetails")
    assert fault_fields(no_iccid) == ("SOAP-ENV:Client", "Validation error")

    unsigned = post(sim, raw_envelope("<jws:GetModifiedTerminalsRequest/>", security=False))
    assert unsigned.status_code == 500 and fault_fields(unsigned) == ("SOAP-ENV:Client", "400200")

    soap12 = post(sim, raw_envelope("<jws:GetModifiedTerminalsRequest/>", env_ns=js.SOAP12))
    assert fault_fields(soap12)[0] == "SOAP-ENV:VersionMismatch"
    garbage = post(sim, b"this is not xml")
    assert garbage.status_code == 500 and fault_fields(garbage)[0] == "SOAP-ENV:Client"

    assert post(sim, raw_envelope("<jws:EditTerminalRequest/>"), "EditTerminal").status_code == 404
    assert requests.get(sim.url + js.SERVICE_PATH).status_code == 405


# ---- knobs: faults, latency, rate limits ---------------------------------------------------

def test_injected_http_500_is_a_server_fault_and_gateway_errors_are_not_soap(sim, service):
    knobs(sim, fail_next=1, fail_status=500)
    fault = fault_of(lambda: service.GetModifiedTerminals(**req()))
    assert (fault.code, fault.message) == ("SOAP-ENV:Server", "400300")
    # A gateway's HTML page is well-formed XML without a SOAP Fault: zeep reports a Fault with no
    # code (not a TransportError), which a hook must treat as transient.
    knobs(sim, fail_next=1, fail_status=503)
    fault = fault_of(lambda: service.GetModifiedTerminals(**req()))
    assert (fault.code, fault.message) == (None, "Unknown fault occured")
    assert b"503 Service Unavailable" in fault.detail  # the page, as bytes
    knobs(sim, fail_next=1, fail_status=502)
    raw = post(sim, b"<x/>")
    assert raw.status_code == 502 and raw.headers["Content-Type"].startswith("text/html")
    assert len(service.GetModifiedTerminals(**req()).iccids.iccid) == 50
    assert stats(sim)["injected_failures"] == 3


def test_rate_limit_fault_400101_and_paging_through_it(sim, service):
    knobs(sim, rate_limit=6, rate_window_s=0.4)
    rate_faults = 0
    iccids: list[str] = []
    page, total = 1, 1
    while page <= total:
        try:
            result = service.GetModifiedTerminals(**req(pageNumber=page))
        except Fault as fault:
            assert (fault.code, fault.message) == ("SOAP-ENV:Client", "400101")
            assert detail(fault)["error"] == "License has exceeded the rate limit for API calls."
            rate_faults += 1
            time.sleep(0.1)  # wait for the license's window to pass, then ask for the same page again
            continue
        iccids += result.iccids.iccid
        total = result.totalPages
        page += 1
    assert rate_faults >= 1 and stats(sim)["rate_limited"] == rate_faults
    assert len(iccids) == N_TERMINALS and set(iccids) == set(sim.state.by_iccid)


def test_one_call_in_flight_mode(sim):
    requests.post(sim.url + "/_sim/config", json={"max_concurrent": 1}).raise_for_status()
    knobs(sim, latency_ms=300)
    results: list[str] = []

    def call():
        service = make_service(sim.url)
        try:
            service.GetModifiedTerminals(**req())
            results.append("ok")
        except Fault as fault:
            results.append(fault.message)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "400101" in results and "ok" in results
    assert stats(sim)["peak_in_flight"] >= 2


# ---- data and process ----------------------------------------------------------------------

def test_inventory_is_deterministic_from_the_seed():
    a, b = generate_terminals(300, 7, NOW), generate_terminals(300, 7, NOW)
    assert [(t.iccid, t.modified_ms, t.status) for t in a] == [(t.iccid, t.modified_ms, t.status) for t in b]
    assert a[42].details(7) == b[42].details(7)
    assert [t.iccid for t in generate_terminals(300, 8, NOW)] != [t.iccid for t in a]
    big = generate_terminals(20_000, 1, NOW)
    assert len({t.iccid for t in big}) == 20_000
    assert all(t.modified_ms <= NOW * 1000 for t in big)


def test_runs_as_a_process_with_http_controls():
    with SimulatorProcess("tests.simulators.jasper", "--terminals", "120", "--seed", "4",
                          "--license-key", "LK-1", "--user", "u1", "--password", "p1") as proc:
        service = make_service(proc.url, "u1", "p1")
        iccids, calls = all_modified(service, licenseKey="LK-1")
        assert len(set(iccids)) == 120 and calls == 3
        after = dt.datetime.fromtimestamp(time.time() + 3600, UTC)
        r = requests.post(proc.url + "/_sim/touch", json={"iccids": iccids[:2], "when": after.isoformat(),
                                                          "changes": {"status": "RETIRED_NAME"}})
        assert r.json() == {"touched": 2}
        since = after - dt.timedelta(seconds=1)
        assert service.GetModifiedTerminals(**req(licenseKey="LK-1", since=since)).iccids.iccid == sorted(iccids[:2])
        knobs(proc, fail_next=1, fail_status=500)
        fault = fault_of(lambda: service.GetModifiedTerminals(**req(licenseKey="LK-1")))
        assert fault.message == "400300"
        assert requests.post(proc.url + "/_sim/touch", json={"when": "x"}).status_code == 400
