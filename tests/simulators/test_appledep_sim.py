"""Tests for the Apple DEP simulator, using a real OAuth1 client (requests-oauthlib)."""
from __future__ import annotations

import collections
import email.utils
import json
import re

import pytest
import requests
from oauthlib.oauth1 import Client as OAuth1Client
from requests_oauthlib import OAuth1

from tests.simulators import appledep as dep
from tests.simulators.base import SimulatorProcess, SimulatorThread

NOW = 1_790_000_000.0
ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture
def sim():
    """A fresh simulator per test: sessions, cursors and the change log are stateful."""
    state = dep.AppleDEPState(devices=600, seed=31, now=NOW)
    with SimulatorThread(dep.build_app(state)) as s:
        yield s


def oauth(token: dict, **overrides) -> OAuth1:
    t = {**token, **overrides}
    return OAuth1(t["consumer_key"], t["consumer_secret"], t["access_token"], t["access_secret"],
                  realm="ADM", signature_method="HMAC-SHA1")


class DEPClient:
    """What a hook does: /session with OAuth1, then X-ADM-Auth-Session, following rotations."""

    def __init__(self, url: str, token: dict, protocol: str = "3"):
        self.url, self.token, self.protocol = url, token, protocol
        self.session_token = None
        self.rotations = 0

    def login(self) -> None:
        r = requests.get(self.url + "/session", auth=oauth(self.token))
        assert r.status_code == 200, r.text
        self.session_token = r.json()["auth_session_token"]

    def call(self, method: str, path: str, body=None, raw: bool = False):
        headers = {"X-ADM-Auth-Session": self.session_token or "", "X-Server-Protocol-Version": self.protocol,
                   "Content-Type": "application/json;charset=UTF8", "User-Agent": "Oomnitza-connector-1.0"}
        r = requests.request(method, self.url + path, headers=headers,
                             data=json.dumps(body) if body is not None else None)
        new = r.headers.get("X-ADM-Auth-Session")
        if new:
            self.session_token, self.rotations = new, self.rotations + 1
        return r if raw else r.json()

    def fetch_all(self, limit: int = 100) -> tuple[list[dict], str, int]:
        devices, cursor, pages = [], None, 0
        while True:
            r = self.call("POST", "/server/devices", {"limit": limit, "cursor": cursor}, raw=True)
            assert r.status_code == 200, r.text
            body = r.json()
            devices += body["devices"]
            cursor, pages = body["cursor"], pages + 1
            if not body["more_to_follow"]:
                return devices, cursor, pages


def client(sim, **kw) -> DEPClient:
    c = DEPClient(sim.url, sim.state.server_token, **kw)
    c.login()
    return c


def set_config(sim, **values):
    requests.post(sim.url + "/_sim/config", json=values).raise_for_status()


# ---- /session and OAuth1 ---------------------------------------------------------------------

def test_session_with_real_oauth1_client(sim):
    r = requests.get(sim.url + "/session", auth=oauth(sim.state.server_token),
                     headers={"X-Server-Protocol-Version": "2"})
    assert r.status_code == 200
    assert r.request.headers["Authorization"].startswith(b'OAuth realm="ADM"')
    assert r.json()["auth_session_token"]


def test_session_with_signed_query_parameters(sim):
    r = requests.get(sim.url + "/session", params={"a": "1 2", "b": "x~y"}, auth=oauth(sim.state.server_token))
    assert r.status_code == 200
    # The query is part of the signature: changing it after signing breaks the request.
    prepared = requests.Request("GET", sim.url + "/session?a=1", auth=oauth(sim.state.server_token)).prepare()
    prepared.url = sim.url + "/session?a=2"
    assert requests.Session().send(prepared).status_code == 401


@pytest.mark.parametrize("override", [{"consumer_secret": "CS_wrong"}, {"access_secret": "AS_wrong"},
                                      {"consumer_key": "CK_unknown"}, {"access_token": "AT_unknown"}])
def test_wrongly_signed_session_is_401(sim, override):
    r = requests.get(sim.url + "/session", auth=oauth(sim.state.server_token, **override))
    assert r.status_code == 401 and r.text == "UNAUTHORIZED"
    assert r.headers["Content-Type"].startswith("text/plain")


def test_replayed_nonce_is_401(sim):
    prepared = requests.Request("GET", sim.url + "/session", auth=oauth(sim.state.server_token)).prepare()
    s = requests.Session()
    assert s.send(prepared).status_code == 200
    r = s.send(prepared)
    assert r.status_code == 401 and r.text == "UNAUTHORIZED"


def test_malformed_oauth_requests_are_400(sim):
    assert requests.get(sim.url + "/session").status_code == 400
    signed = requests.Request("GET", sim.url + "/session", auth=oauth(sim.state.server_token)).prepare()
    header = signed.headers["Authorization"].decode()
    dup = header + ', oauth_nonce="again"'
    r = requests.get(sim.url + "/session", headers={"Authorization": dup})
    assert r.status_code == 400 and r.text == "BAD_REQUEST"
    plaintext = re.sub(r'oauth_signature_method="[^"]+"', 'oauth_signature_method="PLAINTEXT"', header)
    assert requests.get(sim.url + "/session", headers={"Authorization": plaintext}).status_code == 400
    no_sig = re.sub(r',?\s*oauth_signature="[^"]*"', "", header)
    assert requests.get(sim.url + "/session", headers={"Authorization": no_sig}).status_code == 400


def test_stale_timestamp_is_401(sim):
    c = OAuth1Client(**{k: sim.state.server_token[v] for k, v in (
        ("client_key", "consumer_key"), ("client_secret", "consumer_secret"),
        ("resource_owner_key", "access_token"), ("resource_owner_secret", "access_secret"))},
        realm="ADM", timestamp="1000000000", nonce="abc123")
    _, headers, _ = c.sign(sim.url + "/session")
    r = requests.get(sim.url + "/session", headers=headers)
    assert r.status_code == 401


def test_stdlib_verifier_agrees_with_oauthlib():
    token = dep.make_server_token(9)
    c = OAuth1Client(token["consumer_key"], client_secret=token["consumer_secret"],
                     resource_owner_key=token["access_token"], resource_owner_secret=token["access_secret"],
                     realm="ADM", timestamp="1790000000", nonce="n0nce")
    url = "http://127.0.0.1:8123/session?x=a%20b&y=%7E"
    _, headers, _ = c.sign(url)
    params = dep._parse_oauth_header(headers["Authorization"])
    base = dep.signature_base_string("GET", "http://127.0.0.1:8123/session",
                                     [("x", "a b"), ("y", "~")] + [(k, v) for k, v in params.items()
                                                                    if k not in ("realm", "oauth_signature")])
    assert dep.hmac_sha1_signature(base, token["consumer_secret"], token["access_secret"]) == params["oauth_signature"]


def test_expired_server_token_is_access_denied():
    token = dep.make_server_token(2, now=NOW)
    token["access_token_expiry"] = "2001-01-01T00:00:00Z"
    state = dep.AppleDEPState(devices=50, seed=2, now=NOW, server_token=token)
    with SimulatorThread(dep.build_app(state)) as s:
        r = requests.get(s.url + "/session", auth=oauth(token))
        assert r.status_code == 403 and r.text == "ACCESS_DENIED"


def test_server_token_prefixes_are_checked():
    token = dep.make_server_token(2)
    token["access_secret"] = "XX_" + token["access_secret"][3:]
    with pytest.raises(ValueError, match="access_secret has improper prefix"):
        dep.AppleDEPState(devices=5, server_token=token)


# ---- sessions --------------------------------------------------------------------------------

def test_session_header_required_unknown_and_expired(sim):
    c = client(sim)
    assert c.call("GET", "/account")["org_name"]
    r = requests.get(sim.url + "/account")
    assert (r.status_code, r.text) == (401, "UNAUTHORIZED")
    r = requests.get(sim.url + "/account", headers={"X-ADM-Auth-Session": "not-a-session"})
    assert (r.status_code, r.text) == (403, "FORBIDDEN")
    set_config(sim, clock_offset_s=dep.DEPConfig.session_ttl_s + 1)
    r = c.call("GET", "/account", raw=True)
    assert (r.status_code, r.text) == (401, "UNAUTHORIZED")
    c.login()  # a fresh session works again
    assert c.call("GET", "/account", raw=True).status_code == 200


def test_session_token_rotation_lenient(sim):
    set_config(sim, rotate_every=3)
    c = client(sim)
    first = c.session_token
    tokens = []
    for _ in range(7):
        r = c.call("GET", "/account", raw=True)
        assert r.status_code == 200
        tokens.append(r.headers.get("X-ADM-Auth-Session"))
    assert [t is not None for t in tokens] == [False, False, True, False, False, True, False]
    assert len({first, tokens[2], tokens[5]}) == 3
    # Not strict: the replaced token still works until it expires.
    assert requests.get(sim.url + "/account", headers={"X-ADM-Auth-Session": first}).status_code == 200


def test_session_token_rotation_strict(sim):
    set_config(sim, rotate_every=2, strict_rotation=True)
    c = client(sim)
    old = c.session_token
    c.call("GET", "/account")
    c.call("GET", "/account")  # rotates
    assert c.rotations == 1 and c.session_token != old
    r = requests.get(sim.url + "/account", headers={"X-ADM-Auth-Session": old})
    assert (r.status_code, r.text) == (401, "UNAUTHORIZED")
    assert c.call("GET", "/account", raw=True).status_code == 200  # the client that followed the header is fine


def test_terms_not_signed_forever(sim):
    c = client(sim)
    set_config(sim, terms_not_signed=True)
    for _ in range(5):
        r = requests.get(sim.url + "/session", auth=oauth(sim.state.server_token))
        assert (r.status_code, r.text) == (403, "T_C_NOT_SIGNED")
    r = c.call("POST", "/server/devices", {"limit": 10}, raw=True)
    assert (r.status_code, r.text) == (403, "T_C_NOT_SIGNED")
    set_config(sim, terms_not_signed=False)
    c.login()
    assert c.call("POST", "/server/devices", {"limit": 10}, raw=True).status_code == 200


# ---- fetch -----------------------------------------------------------------------------------

def test_unknown_path_and_wrong_method(sim):
    c = client(sim)
    r = c.call("GET", "/server/devices", raw=True)
    assert (r.status_code, r.text) == (405, "METHOD_NOT_ALLOWED")
    r = c.call("GET", "/nothing/here", raw=True)
    assert (r.status_code, r.text) == (404, "NOT_FOUND")


def test_account(sim):
    acct = client(sim).call("GET", "/account")
    assert {"server_name", "server_uuid", "admin_id", "org_name", "org_email", "org_phone", "org_address",
            "org_id", "org_type", "urls"} <= set(acct)
    assert any(u["uri"] == "/server/devices" for u in acct["urls"])


def test_fetch_yields_every_device_once(sim):
    c = client(sim)
    devices, cursor, pages = c.fetch_all(limit=50)
    serials = [d["serial_number"] for d in devices]
    assert len(serials) == len(set(serials)) == len(sim.state.devices)
    assert pages == -(-len(serials) // 50)
    r = c.call("POST", "/server/devices", {"limit": 50, "cursor": cursor}, raw=True)
    assert (r.status_code, r.text) == (400, "EXHAUSTED_CURSOR")


def test_fetch_envelope_default_limit_and_clamp():
    state = dep.AppleDEPState(devices=2600, seed=5, now=NOW)
    with SimulatorThread(dep.build_app(state)) as s:
        c = client(s)
        body = c.call("POST", "/server/devices", {})
        assert len(body["devices"]) == 100 and body["more_to_follow"] is True
        assert ISO_Z.fullmatch(body["fetched_until"]) and body["cursor"]
        body = c.call("POST", "/server/devices", {"limit": 5000, "cursor": None})
        assert len(body["devices"]) == 1000
        total = len(body["devices"])
        while body["more_to_follow"]:
            body = c.call("POST", "/server/devices", {"limit": 5000, "cursor": body["cursor"]})
            assert len(body["devices"]) <= 1000
            total += len(body["devices"])
        assert total == len(state.devices) > 2000


def test_fetch_cursor_errors(sim):
    c = client(sim)
    for body, text in [({"cursor": "garbage"}, "INVALID_CURSOR"), ({"limit": "ten"}, "MALFORMED_REQUEST_BODY"),
                       ({"limit": 0}, "MALFORMED_REQUEST_BODY")]:
        r = c.call("POST", "/server/devices", body, raw=True)
        assert (r.status_code, r.text) == (400, text)
    r = requests.post(sim.url + "/server/devices", data="{not json",
                      headers={"X-ADM-Auth-Session": c.session_token})
    assert (r.status_code, r.text) == (400, "MALFORMED_REQUEST_BODY")
    cursor = c.call("POST", "/server/devices", {"limit": 10})["cursor"]
    set_config(sim, clock_offset_s=8 * 86400)  # cursors live 7 days
    c.login()
    r = c.call("POST", "/server/devices", {"limit": 10, "cursor": cursor}, raw=True)
    assert (r.status_code, r.text) == (400, "EXPIRED_CURSOR")
    r = c.call("POST", "/devices/sync", {"limit": 10, "cursor": cursor}, raw=True)
    assert (r.status_code, r.text) == (400, "EXPIRED_CURSOR")


def test_fetch_pages_a_snapshot_while_changes_happen(sim):
    c = client(sim)
    before = list(sim.state.devices)
    first = c.call("POST", "/server/devices", {"limit": 100})
    requests.post(sim.url + "/_sim/changes", json={"count": 40}).raise_for_status()
    devices, cursor = list(first["devices"]), first["cursor"]
    while True:
        body = c.call("POST", "/server/devices", {"limit": 100, "cursor": cursor})
        devices += body["devices"]
        cursor = body["cursor"]
        if not body["more_to_follow"]:
            break
    assert [d["serial_number"] for d in devices] == before


def test_protocol_version_below_2_has_no_os_fields(sim):
    old = client(sim, protocol="1").call("POST", "/server/devices", {"limit": 20})["devices"]
    assert all("os" not in d and "device_family" not in d for d in old)
    new = client(sim, protocol="3").call("POST", "/server/devices", {"limit": 20})["devices"]
    assert all(d["os"] in ("iOS", "OSX", "tvOS") and d["device_family"] for d in new)


def test_more_to_follow_as_string_option(sim):
    set_config(sim, more_to_follow_as_string=True)
    body = client(sim).call("POST", "/server/devices", {"limit": 10})
    assert body["more_to_follow"] == "true"


# ---- sync ------------------------------------------------------------------------------------

def test_sync_returns_changes_with_duplicates(sim):
    c = client(sim)
    fetched, cursor, _ = c.fetch_all(limit=200)
    events = requests.post(sim.url + "/_sim/changes", json={"count": 30}).json()["events"]
    rows, more = [], True
    while more:
        body = c.call("POST", "/devices/sync", {"cursor": cursor, "limit": 7})
        assert len(body["devices"]) <= 7
        rows += body["devices"]
        cursor, more = body["cursor"], body["more_to_follow"]
    assert [(r["serial_number"], r["op_type"], r["op_date"]) for r in rows] == \
        [(e["serial_number"], e["op_type"], e["op_date"]) for e in events]
    assert {r["op_type"] for r in rows} == {"added", "modified", "deleted"}
    assert all(ISO_Z.fullmatch(r["op_date"]) for r in rows)
    counts = collections.Counter(r["serial_number"] for r in rows)
    assert max(counts.values()) > 1  # the same serial more than once
    # Applying the rows (latest op_date wins) to the fetched list gives the server's current list.
    current = {d["serial_number"]: d for d in fetched}
    for r in sorted(rows, key=lambda r: r["op_date"]):
        if r["op_type"] == "deleted":
            current.pop(r["serial_number"], None)
        else:
            current[r["serial_number"]] = {k: v for k, v in r.items() if k not in ("op_type", "op_date")}
    assert current == sim.state.devices
    # Nothing new: an empty page.
    body = c.call("POST", "/devices/sync", {"cursor": cursor})
    assert body["devices"] == [] and body["more_to_follow"] is False


def test_sync_requires_a_valid_cursor(sim):
    c = client(sim)
    r = c.call("POST", "/devices/sync", {"limit": 10}, raw=True)
    assert (r.status_code, r.text) == (400, "CURSOR_REQUIRED")
    r = c.call("POST", "/devices/sync", {"cursor": "nope"}, raw=True)
    assert (r.status_code, r.text) == (400, "INVALID_CURSOR")


# ---- details ---------------------------------------------------------------------------------

def test_device_details_mixed_statuses(sim):
    set_config(sim, detail_failed_ratio=0.1)
    c = client(sim)
    serials = list(sim.state.devices)[:200]
    deleted = requests.post(sim.url + "/_sim/changes", json={"count": 60}).json()["events"]
    gone = [e["serial_number"] for e in deleted if e["op_type"] == "deleted"
            and e["serial_number"] not in sim.state.devices]
    ask = serials + ["C02NOTOURS01"] + gone
    body = c.call("POST", "/devices", {"devices": ask})["devices"]
    assert set(body) == set(ask)
    statuses = collections.Counter(v["response_status"] for v in body.values())
    assert statuses["SUCCESS"] > 100 and statuses["FAILED"] > 0 and statuses["NOT_ACCESSIBLE"] >= 1 + len(gone)
    assert body["C02NOTOURS01"] == {"response_status": "NOT_ACCESSIBLE"}
    ok = next(v for v in body.values() if v["response_status"] == "SUCCESS")
    assert {"serial_number", "model", "description", "color", "profile_status", "device_assigned_date"} <= set(ok)
    r = c.call("POST", "/devices", {"devices": []}, raw=True)
    assert (r.status_code, r.text) == (400, "DEVICE_ID_REQUIRED")
    r = c.call("POST", "/devices", {"devices": "C02"}, raw=True)
    assert (r.status_code, r.text) == (400, "MALFORMED_REQUEST_BODY")


def test_original_connector_flow(sim):
    """1.81: fetch 50 at a time, details per page, keep SUCCESS only."""
    c = DEPClient(sim.url, sim.state.server_token, protocol="2")
    c.session_token = "deliberately-invalid"
    r = c.call("POST", "/server/devices", {"limit": 50, "cursor": None}, raw=True)
    assert r.status_code == 403
    c.login()
    kept, cursor, more = {}, None, True
    while more:
        page = c.call("POST", "/server/devices", {"limit": 50, "cursor": cursor})
        details = c.call("POST", "/devices", {"devices": [d["serial_number"].upper() for d in page["devices"]]})
        kept.update({s: d for s, d in details["devices"].items() if d["response_status"] == "SUCCESS"})
        cursor, more = page["cursor"], page["more_to_follow"]
    failed = sum(sim.state.detail_status(s) == "FAILED" for s in sim.state.devices)
    assert len(kept) == len(sim.state.devices) - failed


# ---- data ------------------------------------------------------------------------------------

def test_data_variety(sim):
    devices = list(sim.state.devices.values())
    assert {d["profile_status"] for d in devices} == {"empty", "assigned", "pushed", "removed"}
    assert {d["device_family"] for d in devices} >= {"iPhone", "iPad", "Mac"}
    assert {d["os"] for d in devices} >= {"iOS", "OSX"}
    for d in devices:
        assert re.fullmatch(r"[0-9A-Z]{10}|[0-9A-Z]{12}", d["serial_number"])
        assert ISO_Z.fullmatch(d["device_assigned_date"])
        if d["profile_status"] in ("empty", "removed"):
            assert "profile_uuid" not in d and "profile_assign_time" not in d
        else:
            assert ISO_Z.fullmatch(d["profile_assign_time"]) and d["profile_uuid"]
        if d["profile_status"] == "pushed":
            assert d["profile_push_time"] >= d["profile_assign_time"]
    assert any(d["asset_tag"] == "" for d in devices) and any(d["asset_tag"] for d in devices)


def test_generation_is_deterministic():
    a = dep.AppleDEPState(devices=100, seed=8, now=NOW)
    b = dep.AppleDEPState(devices=100, seed=8, now=NOW)
    assert a.devices == b.devices and a.server_token == b.server_token
    assert a.devices != dep.AppleDEPState(devices=100, seed=9, now=NOW).devices


# ---- faults ----------------------------------------------------------------------------------

def test_injected_503_with_retry_after(sim):
    c = client(sim)
    requests.post(sim.url + "/_sim/knobs", json={"fail_next": 2, "fail_status": 503, "retry_after_s": 4,
                                                 "fail_path": "/server/devices"}).raise_for_status()
    for _ in range(2):
        r = c.call("POST", "/server/devices", {"limit": 5}, raw=True)
        assert (r.status_code, r.text, r.headers["Retry-After"]) == (503, "SERVICE_UNAVAILABLE", "4")
    assert c.call("POST", "/server/devices", {"limit": 5}, raw=True).status_code == 200


def test_rate_limit_answers_503_or_429_with_retry_after(sim):
    c = client(sim)
    requests.post(sim.url + "/_sim/knobs", json={"rate_limit": 1, "rate_window_s": 30,
                                                 "retry_after_s": 3}).raise_for_status()
    assert c.call("GET", "/account", raw=True).status_code == 200
    r = c.call("GET", "/account", raw=True)
    assert (r.status_code, r.text, r.headers["Retry-After"]) == (503, "SERVICE_UNAVAILABLE", "3")
    set_config(sim, throttle_status=429, retry_after_http_date=True)
    r = c.call("GET", "/account", raw=True)
    assert r.status_code == 429 and r.text == "TOO_MANY_REQUESTS"
    assert email.utils.parsedate_to_datetime(r.headers["Retry-After"]).year >= 2024
    assert requests.get(sim.url + "/_sim/stats").json()["rate_limited"] == 2


# ---- as a process ----------------------------------------------------------------------------

def test_runs_as_process_with_token_file(tmp_path):
    path = tmp_path / "server_token.json"
    with SimulatorProcess("tests.simulators.appledep", "--devices", "80", "--seed", "4",
                          "--token-json-file", str(path), "--rotate-every", "2") as proc:
        token = json.loads(path.read_text())
        assert all(token[k].startswith(p) for k, p in dep.TOKEN_PREFIXES.items())
        c = DEPClient(proc.url, token)
        c.login()
        devices, _, _ = c.fetch_all(limit=30)
        assert len(devices) == len({d["serial_number"] for d in devices}) > 70
        assert c.rotations == 1  # three requests with rotate-every 2
    # An existing token file is loaded, not overwritten.
    other = dep.make_server_token(77)
    path.write_text(json.dumps(other))
    with SimulatorProcess("tests.simulators.appledep", "--devices", "5", "--token-json-file", str(path),
                          "--terms-not-signed") as proc:
        assert requests.get(proc.url + "/session", auth=oauth(token)).status_code == 401
        r = requests.get(proc.url + "/session", auth=oauth(other))
        assert (r.status_code, r.text) == (403, "T_C_NOT_SIGNED")
