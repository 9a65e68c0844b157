"""Tests for the Chef Infra Server simulator.

There is no maintained Python Chef client to run against it (PyChef is abandoned), so the
protocol is the check: this module has its own request signer for every X-Ops-Sign version,
written from the protocol description (not from the simulator), and cross-checks the RSA part
against the ``openssl`` command-line tool.  Keys are generated per test session; none is stored.
"""
from __future__ import annotations

import base64
import collections
import datetime as dt
import hashlib
import json
import random
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from tests.simulators import chef
from tests.simulators.base import SimulatorProcess, SimulatorThread, knobs
from tests.simulators.chef_data import NodeStore

NOW = 1_790_000_000.0
N_NODES = 1200
ORG = chef.DEFAULT_ORG
VERSIONS = ("1.0", "1.1", "1.2", "1.3")


# ---- a small Chef request signer, from the protocol text --------------------------------------

def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _hash(data: bytes, version: str) -> str:
    return _b64(hashlib.sha256(data).digest() if version == "1.3" else hashlib.sha1(data).digest())


def _rsa_private_encrypt(private_key, data: bytes) -> bytes:
    """RSA "private encrypt": PKCS#1 v1.5 block type 1 around the raw data (no DigestInfo)."""
    k = (private_key.key_size + 7) // 8
    assert len(data) <= k - 11, "canonical request too long for the key"
    block = b"\x00\x01" + b"\xff" * (k - 3 - len(data)) + b"\x00" + data
    numbers = private_key.private_numbers()
    return pow(int.from_bytes(block, "big"), numbers.d, numbers.public_numbers.n).to_bytes(k, "big")


def sign(private_key, user: str, method: str, path: str, body: bytes = b"", version: str = "1.0",
         timestamp: str | None = None, server_api_version: int | None = None) -> dict[str, str]:
    """Headers for one signed request (``path`` as sent; the query is not signed)."""
    timestamp = timestamp or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    plain_path = re.sub("/+", "/", path.split("?")[0])
    plain_path = plain_path[:-1] if len(plain_path) > 1 and plain_path.endswith("/") else plain_path
    content_hash = _hash(body, version)
    if version == "1.3":
        text = "\n".join([f"Method:{method}", f"Path:{plain_path}", f"X-Ops-Content-Hash:{content_hash}",
                          "X-Ops-Sign:version=1.3", f"X-Ops-Timestamp:{timestamp}", f"X-Ops-UserId:{user}",
                          f"X-Ops-Server-API-Version:{server_api_version or 0}"])
        signature = private_key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
        sign_header = "algorithm=sha256;version=1.3"
    else:
        user_line = _hash(user.encode(), version) if version in ("1.1", "1.2") else user
        text = "\n".join([f"Method:{method}", f"Hashed Path:{_hash(plain_path.encode(), version)}",
                          f"X-Ops-Content-Hash:{content_hash}", f"X-Ops-Timestamp:{timestamp}",
                          f"X-Ops-UserId:{user_line}"])
        if version == "1.2":
            signature = private_key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA1())
        else:
            signature = _rsa_private_encrypt(private_key, text.encode())
        sign_header = f"algorithm=sha1;version={version}"
    encoded = _b64(signature)
    headers = {"Accept": "application/json", "X-Chef-Version": "18.4.12", "X-Ops-Sign": sign_header,
               "X-Ops-UserId": user, "X-Ops-Timestamp": timestamp, "X-Ops-Content-Hash": content_hash}
    if server_api_version is not None:
        headers["X-Ops-Server-API-Version"] = str(server_api_version)
    if body:
        headers["Content-Type"] = "application/json"
    for n, start in enumerate(range(0, len(encoded), 60), 1):
        headers[f"X-Ops-Authorization-{n}"] = encoded[start:start + 60]
    return headers


class KeyPair:
    """A generated client key pair (the simulator's helper; the private half stays in memory)."""

    def __init__(self) -> None:
        self.private_pem, self.public_pem = chef.generate_key_pair()
        self.private = serialization.load_pem_private_key(self.private_pem, None)


@pytest.fixture(scope="module")
def keys():
    return {name: KeyPair() for name in ("oomnitza", "reader2", "noread", "stranger")}


@pytest.fixture(scope="module")
def sim(keys):
    state = chef.ChefState(nodes=N_NODES, seed=11, now=NOW)
    state.add_client("oomnitza", keys["oomnitza"].public_pem)
    state.add_client("reader2", keys["reader2"].public_pem)
    state.add_client("noread", keys["noread"].public_pem, can_read=False)
    with SimulatorThread(chef.build_app(state)) as s:
        yield s


@pytest.fixture(autouse=True)
def _reset(sim):
    requests.post(sim.url + "/_sim/reset").raise_for_status()


class Api:
    """Signed requests as one client; every call signs afresh."""

    def __init__(self, sim, key: KeyPair, user: str = "oomnitza", version: str = "1.0"):
        self.sim, self.key, self.user, self.version = sim, key, user, version

    def call(self, method: str, path: str, body: bytes = b"", params: str = "", **sign_args):
        full = f"/organizations/{ORG}{path}"
        headers = sign(self.key.private, self.user, method, full, body, self.version, **sign_args)
        return requests.request(method, self.sim.url + full + params, data=body or None, headers=headers)

    def get(self, path: str, params: str = "", **kw):
        return self.call("GET", path, params=params, **kw)


@pytest.fixture
def api(sim, keys):
    return Api(sim, keys["oomnitza"])


def _assert_401(r, message: str):
    assert r.status_code == 401, r.text
    assert r.json() == {"error": [message]}


# ---- the signer itself ----------------------------------------------------------------------------

def test_signer_rsa_matches_openssl(keys, tmp_path):
    """The hand-written type-1 "private encrypt" and the 1.3 signature agree with openssl."""
    key_file = tmp_path / "throwaway.pem"
    key_file.write_bytes(keys["stranger"].private_pem)
    data = b"Method:GET\nHashed Path:abc\nX-Ops-Content-Hash:def\nX-Ops-Timestamp:t\nX-Ops-UserId:u"
    # rsautl -sign is OpenSSL's RSA_private_encrypt (pkeyutl refuses input longer than a hash).
    theirs = subprocess.run(["openssl", "rsautl", "-sign", "-inkey", str(key_file)], input=data,
                            capture_output=True, check=True).stdout
    assert _rsa_private_encrypt(keys["stranger"].private, data) == theirs
    theirs = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(key_file)], input=data,
                            capture_output=True, check=True).stdout
    assert keys["stranger"].private.sign(data, padding.PKCS1v15(), hashes.SHA256()) == theirs


def test_signature_is_split_in_60_character_headers(keys):
    headers = sign(keys["oomnitza"].private, "oomnitza", "GET", "/organizations/example/roles")
    parts = [headers[f"X-Ops-Authorization-{n}"] for n in range(1, 7)]
    assert "X-Ops-Authorization-7" not in headers  # 2048-bit key: 344 base64 characters
    assert [len(p) for p in parts] == [60] * 5 + [44]
    assert headers["X-Ops-Content-Hash"] == "2jmj7l5rSw0yVb/vlWAYkK/YBwk="  # sha1 of the empty body


# ---- authentication ------------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_good_signature_passes_for_each_version(sim, keys, version):
    api = Api(sim, keys["oomnitza"], version=version)
    r = api.get("/roles")
    assert r.status_code == 200, r.text
    assert set(r.json()) == set(chef.ROLES)
    assert r.json()["base"] == f"{sim.url}/organizations/{ORG}/roles/base"
    assert r.headers["X-Ops-API-Info"].startswith("flavor=cs;")
    body = json.dumps({"name": ["name"]}).encode()
    r = api.call("POST", "/search/node", body, params="?q=*:*&rows=3")
    assert r.status_code == 200 and len(r.json()["rows"]) == 3
    assert sim.state.auth_failures == {}


@pytest.mark.parametrize("version", VERSIONS)
def test_tampered_body_fails(sim, keys, version):
    key = keys["oomnitza"].private
    path = f"/organizations/{ORG}/search/node"
    headers = sign(key, "oomnitza", "POST", path, b'{"name": ["name"]}', version)
    r = requests.post(sim.url + path, data=b'{"ip": ["ipaddress"]}', headers=headers)
    _assert_401(r, "Invalid signature for user or client 'oomnitza'")
    assert r.headers["WWW-Authenticate"] == 'X-Ops-Sign version="1.0" version="1.1"'
    # The content hash of the sent body with the signature of the other body fails as well.
    headers["X-Ops-Content-Hash"] = _hash(b'{"ip": ["ipaddress"]}', version)
    r = requests.post(sim.url + path, data=b'{"ip": ["ipaddress"]}', headers=headers)
    _assert_401(r, "Invalid signature for user or client 'oomnitza'")


@pytest.mark.parametrize("version", VERSIONS)
def test_wrong_key_fails(sim, keys, version):
    r = Api(sim, keys["stranger"], user="oomnitza", version=version).get("/roles")
    _assert_401(r, "Invalid signature for user or client 'oomnitza'")


@pytest.mark.parametrize("version", VERSIONS)
def test_other_user_id_fails(sim, keys, version):
    path = f"/organizations/{ORG}/roles"
    # Signed by oomnitza, presented as reader2 (a known client with another key).
    headers = sign(keys["oomnitza"].private, "oomnitza", "GET", path, version=version)
    headers["X-Ops-UserId"] = "reader2"
    _assert_401(requests.get(sim.url + path, headers=headers), "Invalid signature for user or client 'reader2'")
    # oomnitza's key claiming to be reader2 in the signed text too.
    headers = sign(keys["oomnitza"].private, "reader2", "GET", path, version=version)
    _assert_401(requests.get(sim.url + path, headers=headers), "Invalid signature for user or client 'reader2'")
    assert sim.state.auth_failures == {"bad_signature": 2}


@pytest.mark.parametrize("version", VERSIONS)
def test_changed_path_or_method_fails(sim, keys, version):
    key = keys["oomnitza"].private
    headers = sign(key, "oomnitza", "GET", f"/organizations/{ORG}/roles", version=version)
    r = requests.get(f"{sim.url}/organizations/{ORG}/nodes", headers=headers)
    _assert_401(r, "Invalid signature for user or client 'oomnitza'")
    headers = sign(key, "oomnitza", "GET", f"/organizations/{ORG}/search/node", version=version)
    r = requests.post(f"{sim.url}/organizations/{ORG}/search/node", headers=headers)
    _assert_401(r, "Invalid signature for user or client 'oomnitza'")


@pytest.mark.parametrize("version", VERSIONS)
def test_query_string_and_slashes_are_not_signed(sim, keys, version):
    """The signed path drops the query and collapses / trims slashes, so these all pass."""
    key = keys["oomnitza"].private
    headers = sign(key, "oomnitza", "GET", f"/organizations/{ORG}/search/node", version=version)
    r = requests.get(f"{sim.url}/organizations/{ORG}/search/node?q=platform:windows&rows=2", headers=headers)
    assert r.status_code == 200 and len(r.json()["rows"]) == 2
    headers = sign(key, "oomnitza", "GET", f"//organizations/{ORG}//roles/", version=version)
    assert requests.get(f"{sim.url}/organizations/{ORG}/roles", headers=headers).status_code == 200


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("minutes,ok", [(-16, False), (16, False), (-14, True), (14, True)])
def test_timestamp_window_is_15_minutes(sim, keys, version, minutes, ok):
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=minutes)
    r = Api(sim, keys["oomnitza"], version=version).get(
        "/roles", timestamp=when.strftime("%Y-%m-%dT%H:%M:%SZ"))
    if ok:
        assert r.status_code == 200
    else:
        _assert_401(r, "Failed to authenticate as oomnitza. Synchronize the clock on your host.")


def test_server_clock_offset_setting(sim, api):
    requests.post(sim.url + "/_sim/config", json={"clock_offset_s": 3600}).raise_for_status()
    _assert_401(api.get("/roles"), "Failed to authenticate as oomnitza. Synchronize the clock on your host.")
    assert sim.state.auth_failures == {"bad_clock": 1}


def test_unknown_client_fails(sim, keys):
    r = Api(sim, keys["stranger"], user="stranger").get("/roles")
    _assert_401(r, "Failed to authenticate as 'stranger'. Ensure that your node_name and client key are correct.")


def test_server_api_version_is_signed_in_1_3(sim, keys):
    api = Api(sim, keys["oomnitza"], version="1.3")
    assert api.get("/roles", server_api_version=1).status_code == 200
    path = f"/organizations/{ORG}/roles"
    headers = sign(keys["oomnitza"].private, "oomnitza", "GET", path, version="1.3", server_api_version=1)
    headers["X-Ops-Server-API-Version"] = "2"
    _assert_401(requests.get(sim.url + path, headers=headers), "Invalid signature for user or client 'oomnitza'")
    r = api.get("/roles", server_api_version=9)
    assert r.status_code == 406 and r.json()["error"] == "invalid-x-ops-server-api-version"


def test_malformed_auth_headers(sim, keys):
    path = f"/organizations/{ORG}/roles"
    good = sign(keys["oomnitza"].private, "oomnitza", "GET", path)
    for drop in ("X-Ops-UserId", "X-Ops-Content-Hash"):
        headers = {k: v for k, v in good.items() if k != drop}
        r = requests.get(sim.url + path, headers=headers)
        assert r.status_code == 400
        assert r.json() == {"error": [f"missing required authentication header(s) {drop}"]}
    for sign_desc in ("version=2.0", "algorithm=sha256;version=1.0", "algorithm=sha1;version=1.3"):
        r = requests.get(sim.url + path, headers=good | {"X-Ops-Sign": sign_desc})
        assert r.status_code == 400 and r.json() == {"error": ["Unsupported authentication protocol version"]}
    r = requests.get(sim.url + path, headers=good | {"X-Ops-Timestamp": "yesterday"})
    _assert_401(r, "bad header(s) X-Ops-Timestamp")
    # The chunks must be joined in order.
    swapped = good | {"X-Ops-Authorization-1": good["X-Ops-Authorization-2"],
                      "X-Ops-Authorization-2": good["X-Ops-Authorization-1"]}
    _assert_401(requests.get(sim.url + path, headers=swapped), "Invalid signature for user or client 'oomnitza'")
    # A missing chunk as well.
    short = {k: v for k, v in good.items() if k != "X-Ops-Authorization-6"}
    _assert_401(requests.get(sim.url + path, headers=short), "Invalid signature for user or client 'oomnitza'")
    # "version=1.0" alone (what PyChef sent) is accepted.
    assert requests.get(sim.url + path, headers=good | {"X-Ops-Sign": "version=1.0"}).status_code == 200


def test_unknown_organization_is_404(sim, keys):
    path = "/organizations/nope/roles"
    r = requests.get(sim.url + path, headers=sign(keys["oomnitza"].private, "oomnitza", "GET", path))
    assert r.status_code == 404 and r.json() == {"error": ["organization 'nope' does not exist."]}


# ---- authorization -------------------------------------------------------------------------------

def test_client_without_read_permission(sim, keys):
    noread = Api(sim, keys["noread"], user="noread")
    for path in ("/roles", "/nodes", f"/nodes/{sim.state.orgs[ORG].nodes.names[0]}", "/roles/base"):
        r = noread.get(path)
        assert r.status_code == 403 and r.json() == {"error": ["missing read permission"]}
    # Search does not check container permissions (the server's default) ...
    body = noread.get("/search/node", params="?rows=5").json()
    assert body["total"] == N_NODES and len(body["rows"]) == 5
    # ... unless strict search ACLs are on: the rows go, Solr's total stays.
    requests.post(sim.url + "/_sim/config", json={"strict_search_acls": True}).raise_for_status()
    body = noread.get("/search/node", params="?rows=5").json()
    assert body == {"total": N_NODES, "start": 0, "rows": []}


# ---- search and paging ---------------------------------------------------------------------------

def test_default_rows_is_1000_and_original_loop_gets_every_node_once(sim, api):
    """The original: rows=1000, start=0,1000,... until a page has fewer than 1000 rows."""
    seen, start, pages = [], 0, 0
    while True:
        body = api.get("/search/node", params=f"?q=name:*&rows=1000&start={start}").json()
        pages += 1
        assert body["total"] == N_NODES and body["start"] == start
        seen += [n["name"] for n in body["rows"]]
        if len(body["rows"]) < 1000:
            break
        start += 1000
    assert pages == 2
    assert len(seen) == len(set(seen)) == N_NODES
    assert set(seen) == set(sim.state.orgs[ORG].nodes.names)
    assert len(api.get("/search/node").json()["rows"]) == 1000  # no rows parameter


def test_concurrent_out_of_order_pages_every_node_once(sim, api):
    rows = 97
    starts = list(range(0, N_NODES + 3 * rows, rows))  # past the end too
    random.Random(3).shuffle(starts)
    knobs(sim, latency_ms=30)

    def fetch(start):
        return start, api.get("/search/node", params=f"?q=*:*&rows={rows}&start={start}").json()

    with ThreadPoolExecutor(8) as pool:
        pages = dict(pool.map(fetch, starts))
    names = []
    for start in sorted(pages):
        assert pages[start]["total"] == N_NODES and pages[start]["start"] == start
        names += [n["name"] for n in pages[start]["rows"]]
    assert len(names) == len(set(names)) == N_NODES
    assert all(pages[s]["rows"] == [] for s in starts if s >= N_NODES)
    stats = requests.get(sim.url + "/_sim/stats").json()
    assert stats["by_path"][f"/organizations/{ORG}/search/node"] == len(starts)
    assert stats["peak_in_flight"] >= 4


def test_results_come_in_object_id_order_and_sort_is_ignored(sim, api):
    store = sim.state.orgs[ORG].nodes
    by_id = [store.names[i] for i in sorted(range(N_NODES), key=store.ids.__getitem__)]
    plain = [n["name"] for n in api.get("/search/node", params="?rows=50").json()["rows"]]
    sorted_ = [n["name"] for n in api.get("/search/node", params="?rows=50&sort=name%20desc").json()["rows"]]
    assert plain == sorted_ == by_id[:50]
    assert plain != sorted(plain)  # not name order


@pytest.mark.parametrize("params,message", [
    ("?rows=-1", "invalid 'rows' value: '-1'"), ("?rows=ten", "invalid 'rows' value: 'ten'"),
    ("?start=-5", "invalid 'start' value: '-5'"), ("?q=", "invalid search query: ''"),
    ("?q=platform:(windows", "invalid search query: 'platform:(windows'"),
    ("?q=justaword", "invalid search query: 'justaword'")])
def test_bad_search_parameters_are_400(sim, api, params, message):
    r = api.get("/search/node", params=params)
    assert r.status_code == 400 and r.json() == {"error": [message]}


def test_rows_zero_counts_and_unknown_index_is_404(sim, api):
    assert api.get("/search/node", params="?rows=0").json() == {"total": N_NODES, "start": 0, "rows": []}
    r = api.get("/search/laptops")
    assert r.status_code == 404 and r.json() == {"error": ["I don't know how to search for laptops data objects."]}
    assert set(api.get("/search").json()) == {"node", "role", "client", "environment"}


def test_query_filters(sim, api):
    store = sim.state.orgs[ORG].nodes
    platforms = collections.Counter(n["automatic"].get("platform") for n in store.nodes())
    for platform in ("windows", "mac_os_x", "ubuntu"):
        assert api.get("/search/node", params=f"?q=platform:{platform}&rows=0").json()["total"] == platforms[platform]
    both = api.get("/search/node", params="?q=platform:windows%20OR%20platform:mac_os_x&rows=0").json()["total"]
    assert both == platforms["windows"] + platforms["mac_os_x"]
    not_win = api.get("/search/node", params="?q=NOT%20platform:windows&rows=0").json()["total"]
    assert not_win == N_NODES - platforms["windows"]
    name = store.names[7]
    rows = api.get("/search/node", params=f"?q=name:{name}").json()["rows"]
    assert [r["name"] for r in rows] == [name]
    # Nested attributes are searchable by their joined key and by the leaf key alone.
    windows = next(n for n in store.nodes() if n["automatic"].get("kernel", {}).get("os_info"))
    serial = windows["automatic"]["kernel"]["os_info"]["serial_number"]
    for q in (f"kernel_os_info_serial_number:{serial}", f"serial_number:{serial}"):
        assert [r["name"] for r in api.get("/search/node", params=f"?q={q}").json()["rows"]] == [windows["name"]]
    wild = api.get("/search/node", params="?q=name:WKS-*%20AND%20chef_environment:production&rows=0").json()
    assert wild["total"] == sum(1 for n in store.nodes()
                                if n["name"].startswith("WKS-") and n["chef_environment"] == "production")


def test_partial_search_returns_requested_attributes(sim, api):
    store = sim.state.orgs[ORG].nodes
    wanted = {"name": ["name"], "ip": ["ipaddress"], "platform": ["platform"],
              "mac_serial": ["hardware", "serial_number"], "win_serial": ["kernel", "os_info", "serial_number"],
              "win_model": ["kernel", "cs_info", "model"], "memory": ["memory", "total"],
              "cpu0": ["cpu", "0", "model_name"], "owner": ["owner"], "nothing": ["no", "such", "attr"]}
    body = json.dumps(wanted).encode()
    got, start = {}, 0
    while True:
        page = api.call("POST", "/search/node", body, params=f"?q=*:*&rows=500&start={start}").json()
        for row in page["rows"]:
            assert set(row) == {"url", "data"} and set(row["data"]) == set(wanted)
            assert row["url"] == f"{sim.url}/organizations/{ORG}/nodes/{row['data']['name']}"
            got[row["data"]["name"]] = row["data"]
        start += 500
        if start >= page["total"]:
            break
    assert len(got) == N_NODES
    for node in store.nodes():
        auto, data = node["automatic"], got[node["name"]]
        assert data["ip"] == auto.get("ipaddress") and data["platform"] == auto.get("platform")
        assert data["mac_serial"] == auto.get("hardware", {}).get("serial_number")
        assert data["win_serial"] == auto.get("kernel", {}).get("os_info", {}).get("serial_number")
        assert data["win_model"] == auto.get("kernel", {}).get("cs_info", {}).get("model")
        assert data["memory"] == auto.get("memory", {}).get("total")
        assert data["cpu0"] == auto.get("cpu", {}).get("0", {}).get("model_name")
        assert data["owner"] == node["normal"].get("owner")  # merged attributes: normal too
        assert data["nothing"] is None
    # Paths address the merged node, not the stored precedence levels.
    one = api.call("POST", "/search/node", json.dumps({"a": ["automatic", "ipaddress"]}).encode(),
                   params="?rows=1").json()["rows"][0]
    assert one["data"] == {"a": None}


@pytest.mark.parametrize("body", [b"[]", b'{"name": "name"}', b'{"name": [1]}'])
def test_bad_partial_search_body_is_400(sim, api, body):
    r = api.call("POST", "/search/node", body)
    assert r.status_code == 400 and r.json() == {"error": ["invalid partial search request body"]}


def test_nodes_list_and_single_node(sim, api):
    store = sim.state.orgs[ORG].nodes
    listing = api.get("/nodes").json()
    assert len(listing) == N_NODES
    name = store.names[3]
    assert listing[name] == f"{sim.url}/organizations/{ORG}/nodes/{name}"
    node = api.get(f"/nodes/{name}").json()
    assert node == store.node(3) and node["json_class"] == "Chef::Node" and node["chef_type"] == "node"
    r = api.get("/nodes/x")
    assert r.status_code == 404 and r.json() == {"error": ["node 'x' not found"]}
    r = api.get("/roles/x")
    assert r.status_code == 404 and r.json() == {"error": ["Cannot load role x"]}


# ---- generated data ------------------------------------------------------------------------------

def test_node_data_has_every_attribute_the_original_read():
    store = NodeStore(3000, seed=5, now=NOW)
    nodes = list(store.nodes())
    by_platform = collections.defaultdict(list)
    for n in nodes:
        by_platform[n["automatic"].get("platform")].append(n)
    assert {"mac_os_x", "windows", "ubuntu", "centos", "redhat", None} <= set(by_platform)
    assert len(by_platform[None]) >= 30 and all(n["automatic"] == {} for n in by_platform[None])
    for n in nodes:
        auto = n["automatic"]
        if not auto:
            continue
        for key in ("ipaddress", "hostname", "fqdn", "domain", "platform_version", "uptime_seconds"):
            assert key in auto
        platform = auto["platform"]
        if platform == "mac_os_x":
            assert re.fullmatch(r"\d+MB", auto["memory"]["total"])  # darwin Ohai reports MB
            assert auto["cpu"]["model_name"] and auto["hardware"]["machine_model"]
            assert isinstance(auto["hardware"]["number_processors"], int)
            assert auto["filesystem"]["by_mountpoint"]["/"]["kb_size"].isdigit()
        elif platform == "windows":
            assert re.fullmatch(r"\d+kB", auto["memory"]["total"])
            assert re.fullmatch(r"\d{5}-\d{5}-\d{5}-AA\d{3}", auto["kernel"]["os_info"]["serial_number"])
            assert auto["cpu"]["0"]["model_name"] and auto["cpu"]["total"] > 0
        else:
            assert re.fullmatch(r"\d+kB", auto["memory"]["total"])
            assert auto["filesystem"]["by_mountpoint"]["/"]["kb_size"].isdigit()
            assert auto["cpu"]["0"]["model_name"] and auto["cpu"]["total"] == len(
                [k for k in auto["cpu"] if k.isdigit()])
    win = by_platform["windows"]
    assert any("C:" in n["automatic"]["filesystem"] for n in win)          # old layout
    assert any("by_device" in n["automatic"]["filesystem"] for n in win)   # newer layout
    assert any("cs_info" not in n["automatic"]["kernel"] for n in win)
    assert any("cs_info" in n["automatic"]["kernel"] for n in win)
    assert any("serial_number" not in n["automatic"]["hardware"] for n in by_platform["mac_os_x"])
    assert any("macaddress" not in n["automatic"] for n in nodes if n["automatic"])
    assert any("dmi" not in n["automatic"] for n in by_platform["ubuntu"] + by_platform["centos"])
    assert any(re.search(r"[^\x00-\x7f]", n["normal"].get("owner", "")) for n in nodes)
    assert all(re.fullmatch(r"[A-Za-z0-9_.:-]+", n["name"]) for n in nodes)
    assert len({n["name"] for n in nodes}) == len(nodes)


def test_generation_is_deterministic_and_lazy():
    a, b = NodeStore(500, seed=9, now=NOW), NodeStore(500, seed=9, now=NOW)
    assert [a.node(i) for i in range(500)] == [b.node(i) for i in range(500)]
    assert a.node(0) != NodeStore(500, seed=10, now=NOW).node(0)
    big = NodeStore(50_000, seed=1, now=NOW)
    assert len(big.names) == len(set(big.names)) == 50_000 and len(set(big.ids)) == 50_000
    assert big.rendered == 0  # nothing rendered until asked for
    big.node(49_999)
    assert big.rendered == 1


def test_paging_a_large_org_renders_only_what_is_asked(keys):
    state = chef.ChefState(nodes=20_000, seed=2)
    state.add_client("oomnitza", keys["oomnitza"].public_pem)
    with SimulatorThread(chef.build_app(state)) as s:
        body = Api(s, keys["oomnitza"]).get("/search/node", params="?rows=1000&start=19500").json()
    assert body["total"] == 20_000 and len(body["rows"]) == 500
    assert state.orgs[ORG].nodes.rendered == 500


# ---- faults and process --------------------------------------------------------------------------

def test_injected_faults_answer_like_chef_server(sim, api):
    knobs(sim, fail_next=1, fail_status=500)
    r = api.get("/roles")
    assert r.status_code == 500 and r.json() == {"error": ["internal service error"]}
    knobs(sim, fail_next=1, fail_status=503, fail_retry_after_s=2)
    r = api.get("/roles")
    assert r.status_code == 503 and "503 Service Temporarily Unavailable" in r.text
    assert r.headers["Retry-After"] == "2"
    assert api.get("/roles").status_code == 200
    knobs(sim, rate_limit=2, rate_window_s=60)
    statuses = [api.get("/roles").status_code for _ in range(3)]
    assert statuses == [200, 200, 503]
    assert requests.get(sim.url + "/_sim/stats").json()["rate_limited"] == 1


def test_register_client_over_http(sim, keys):
    new = KeyPair()
    r = requests.post(sim.url + "/_sim/clients", json={"name": "late", "public_key": new.public_pem.decode()})
    assert r.status_code == 200
    assert Api(sim, new, user="late").get("/roles").status_code == 200
    r = requests.post(sim.url + "/_sim/clients", json={"name": "bad", "public_key": "not a key"})
    assert r.status_code == 400


def test_runs_as_process_with_cli_client(keys, tmp_path):
    public = tmp_path / "oomnitza.pub.pem"
    public.write_bytes(keys["oomnitza"].public_pem)
    with SimulatorProcess("tests.simulators.chef", "--nodes", "40", "--seed", "3", "--org", "acme",
                          "--client", f"oomnitza:{public}") as proc:
        path = "/organizations/acme/search/node"
        ok = requests.get(proc.url + path, headers=sign(keys["oomnitza"].private, "oomnitza", "GET", path,
                                                        version="1.3"))
        assert ok.status_code == 200 and ok.json()["total"] == 40
        bad = requests.get(proc.url + path, headers=sign(keys["stranger"].private, "oomnitza", "GET", path))
        assert bad.status_code == 401
        config = requests.get(proc.url + "/_sim/config").json()
        assert config["orgs"] == {"acme": {"nodes": 40, "clients": ["oomnitza"]}}
        assert config["auth_failures"] == {"bad_signature": 1}
