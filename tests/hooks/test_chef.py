"""ChefHook against the Chef Infra Server simulator (which checks every signature with the client's public key):
signing, keys, clock skew, search paging, retries, the records, attribute_extension, connections, TLS."""
from __future__ import annotations

import email.utils
import itertools
import json
import math
import time

import pytest
import requests
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from airflow_provider_oomnitza.hooks.chef import ChefAuthError, ChefError, ChefHook, ChefSettingsError
from airflow_provider_oomnitza.hooks.chef_records import megabytes, node_record
from airflow_provider_oomnitza.hooks.errors import RefusedCredentials, SourceConfigError
from tests.servers.silent import SilentServer
from tests.simulators import chef
from tests.simulators.base import SimulatorThread, knobs, stats, tls_certificates

NOW = 1_790_000_000.0
N_NODES = 230
ROWS = 50  # small pages, so that a few hundred nodes make several
ORG = chef.DEFAULT_ORG
SEARCH = f"/organizations/{ORG}/search/node"


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    out = {}
    for name in ("oomnitza", "noread", "stranger"):
        private, public = chef.generate_key_pair()
        (folder / f"{name}.pem").write_bytes(private)
        out[name] = {"private": private, "public": public, "file": str(folder / f"{name}.pem")}
    return out


def add_clients(state, keys):
    state.add_client("oomnitza", keys["oomnitza"]["public"])
    state.add_client("noread", keys["noread"]["public"], can_read=False)
    return state


@pytest.fixture(scope="module")
def sim(keys):
    with SimulatorThread(chef.build_app(add_clients(chef.ChefState(nodes=N_NODES, seed=11, now=NOW), keys))) as s:
        yield s


@pytest.fixture(autouse=True)
def _reset(request):
    if "sim" in request.fixturenames:
        sim = request.getfixturevalue("sim")
        requests.post(sim.url + "/_sim/reset").raise_for_status()
        requests.post(sim.url + "/_sim/config", json={"clock_offset_s": 0, "strict_search_acls": False})


def settings(sim, keys, **extra):
    return {"url": f"{sim.url}/organizations/{ORG}/", "client": "oomnitza", "key_file": keys["oomnitza"]["file"],
            "sync_field": "SERIAL_NUMBER", **extra}


def hook(sim, keys, waits=None, rows=ROWS, **extra):
    h = ChefHook(settings(sim, keys, **extra), section="chef", sleep=waits.append if waits is not None else None)
    h.rows = rows
    return h


def names_in_id_order(state):
    store = state.orgs[ORG].nodes
    return [store.names[i] for i in store.id_order]


def names(records):
    return [r["hardware"]["name"] for r in records]


def sim_config(sim, **values):
    requests.post(sim.url + "/_sim/config", json=values).raise_for_status()


# ---- signing and keys ------------------------------------------------------------------------------

def test_every_node_once_in_pages_of_rows_signed_with_protocol_1_3(keys):
    seen = []

    @web.middleware
    async def record(request, handler):
        seen.append((request.query.get("start"), request.query.get("rows"), request.method,
                     request.headers.get("X-Ops-Sign"), request.headers.get("X-Ops-Server-API-Version")))
        return await handler(request)

    state = add_clients(chef.ChefState(nodes=N_NODES, seed=11, now=NOW), keys)
    app = chef.build_app(state)
    app.middlewares.insert(0, record)
    with SimulatorThread(app) as s:
        records = list(hook(s, keys).records())
    assert names(records) == names_in_id_order(state)  # every node once, in the server's order
    pages = math.ceil(N_NODES / ROWS)
    assert sorted(int(start) for start, *_ in seen) == [ROWS * p for p in range(pages)]  # start < total
    assert {tuple(rest) for _, *rest in seen} == {(str(ROWS), "POST", "algorithm=sha256;version=1.3", "1")}
    assert state.auth_failures == {}


def test_check_is_one_signed_search(sim, keys):
    assert hook(sim, keys).check() == (f"Connected to Chef Infra Server at {sim.url}/organizations/{ORG} as "
                                       f"'oomnitza': {N_NODES} nodes")
    assert stats(sim)["by_path"] == {SEARCH: 1}


def test_a_wrong_key_is_refused_at_once_with_what_to_check(sim, keys):
    waits: list[float] = []
    h = hook(sim, keys, waits, key_file=keys["stranger"]["file"])
    with pytest.raises(ChefAuthError) as info:
        list(h.records())
    assert isinstance(info.value, RefusedCredentials) and info.value.status == 401
    assert str(info.value) == (
        f"[chef] Chef partial node search (start 0) at {sim.url}/organizations/{ORG}: 401 Unauthorized: Invalid "
        "signature "
        "for user or client 'oomnitza'; the private key is not the one the server has for 'oomnitza': check "
        "key_file (or the connection's key) and client")
    assert stats(sim)["requests"] == 1 and waits == []  # not retried
    assert sim.state.auth_failures == {"bad_signature": 1}
    ok, message = h.test_connection()
    assert not ok and "Invalid signature" in message


def test_an_unknown_client_and_an_unknown_organization(sim, keys):
    with pytest.raises(ChefAuthError, match="Failed to authenticate as 'nobody'.*has no client or user 'nobody'"):
        hook(sim, keys, client="nobody").check()
    with pytest.raises(ChefSettingsError, match="404 Not Found: organization 'nope' does not exist.; check url"):
        hook(sim, keys, url=f"{sim.url}/organizations/nope").check()
    with pytest.raises(ChefSettingsError, match=r"404 Not Found: Not Found; check url: the Chef server URL with "
                                                r"organization"):
        hook(sim, keys, url=sim.url).check()  # no /organizations/<org>


@pytest.mark.parametrize("offset,direction", [(3600, "behind"), (-1200, "ahead of")])
def test_a_stale_signature_says_how_far_the_clock_is_off(keys, offset, direction):
    """The server's clock is ``offset`` s off ours (its Date header says so, as a real server's does)."""
    state = add_clients(chef.ChefState(nodes=5, seed=1, now=NOW), keys)
    state.config.clock_offset_s = offset

    @web.middleware
    async def server_date(request, handler):
        response = await handler(request)
        response.headers["Date"] = email.utils.formatdate(time.time() + offset, usegmt=True)
        return response

    app = chef.build_app(state)
    app.middlewares.insert(0, server_date)
    with SimulatorThread(app) as s:
        ok, message = hook(s, keys).test_connection()
    assert not ok
    assert "401 Unauthorized: Failed to authenticate as oomnitza. Synchronize the clock on your host." in message
    seconds = int(message.split("this worker's clock is ")[1].split(" s ")[0])
    assert abs(seconds - abs(offset)) <= 2
    assert f"s {direction} the server's (Chef accepts 15 minutes): synchronize it (NTP)" in message
    assert state.auth_failures == {"bad_clock": 1}


def test_within_the_allowed_skew_is_accepted(sim, keys):
    sim_config(sim, clock_offset_s=600)  # 10 minutes: inside Chef's 15
    assert hook(sim, keys).check().endswith(f"{N_NODES} nodes")


def test_the_key_as_pem_text_even_pasted_into_a_one_line_field(sim, keys):
    pem = keys["oomnitza"]["private"].decode()
    for text in (pem, " ".join(pem.splitlines()), pem.replace("\n", "\\n")):
        assert hook(sim, keys, key_file="", client_key=text).check().endswith(f"{N_NODES} nodes")


def test_pkcs8_keys_work_too(sim, keys, tmp_path):
    key = serialization.load_pem_private_key(keys["oomnitza"]["private"], None)
    path = tmp_path / "pkcs8.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    assert hook(sim, keys, key_file=str(path)).check().endswith(f"{N_NODES} nodes")


def test_bad_keys_are_settings_errors_that_name_the_key_and_never_show_it(sim, keys, tmp_path):
    key = serialization.load_pem_private_key(keys["oomnitza"]["private"], None)
    encrypted = tmp_path / "enc.pem"
    encrypted.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.BestAvailableEncryption(b"pass")))
    ec_key = tmp_path / "ec.pem"
    ec_key.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    public = tmp_path / "public.pem"
    public.write_bytes(keys["oomnitza"]["public"])
    cases = {
        str(tmp_path / "missing.pem"): f"[chef] key_file: cannot read {tmp_path / 'missing.pem'}: No such file",
        str(encrypted): f"[chef] key_file {encrypted}: the key is encrypted with a passphrase",
        str(ec_key): f"[chef] key_file {ec_key}: expected a PEM RSA private key (-----BEGIN RSA PRIVATE KEY----- or "
                     "-----BEGIN PRIVATE KEY-----), got a EC key (Chef client keys are RSA)",
        str(public): f"[chef] key_file {public}: expected a PEM RSA private key",
    }
    for path, expected in cases.items():
        ok, message = hook(sim, keys, key_file=path).test_connection()
        assert not ok and message.startswith(expected), message
    with pytest.raises(SourceConfigError, match=r"^\[chef\] client_key: expected a PEM RSA private key") as info:
        hook(sim, keys, key_file="", client_key="-----BEGIN RSA PRIVATE KEY-----\nnot base64 at all\n").check()
    assert "not base64" not in str(info.value)
    with pytest.raises(SourceConfigError, match=r"\[chef\] key_file: missing"):
        hook(sim, keys, key_file="").check()
    assert stats(sim)["requests"] == 0  # nothing was sent with a key that could not be read


# ---- paging ----------------------------------------------------------------------------------------

def test_records_stream_page_by_page(sim, keys):
    assert len(list(itertools.islice(hook(sim, keys, rows=10).records(), 10))) == 10
    # The first page, and what was prefetched of the 23: not the whole inventory.
    assert stats(sim)["by_path"][SEARCH] <= 1 + 2 * ChefHook.workers < math.ceil(N_NODES / 10)


def test_a_node_seen_twice_while_the_inventory_changes_comes_once(keys, capfd):
    """After the first page, the last node moves to the front (as a node with a low object id appears and one
    goes): every later page starts one place earlier, so the first page's last node comes again."""
    state = add_clients(chef.ChefState(nodes=120, seed=4, now=NOW), keys)
    store = state.orgs[ORG].nodes
    moved = store.names[store.id_order[-1]]

    @web.middleware
    async def shift_after_first_page(request, handler):
        response = await handler(request)
        if request.query.get("start") == "0":
            store.id_order.insert(0, store.id_order.pop())
        return response

    app = chef.build_app(state)
    app.middlewares.append(shift_after_first_page)
    with SimulatorThread(app) as s:
        got = names(hook(s, keys).records())
    assert len(got) == len(set(got)) == 119 and moved not in got  # the edge node once; the moved one was skipped
    assert "1 read twice (the inventory changed during the run)" in capfd.readouterr().out


def test_an_empty_organization_and_a_filtering_server(sim, keys, capfd):
    with SimulatorThread(chef.build_app(add_clients(chef.ChefState(nodes=0, seed=1, now=NOW), keys))) as s:
        assert list(hook(s, keys).records()) == []
        assert s.state.stats.by_path == {SEARCH: 1}
    sim_config(sim, strict_search_acls=True)  # rows the client may not read are dropped, the total stays
    assert list(hook(sim, keys, client="noread", key_file=keys["noread"]["file"]).records()) == []
    assert stats(sim)["by_path"][SEARCH] == math.ceil(N_NODES / ROWS)
    assert f"Chef counted {N_NODES} nodes but returned none" in capfd.readouterr().out


# ---- retries ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_failures_are_retried_and_signed_anew(sim, keys, status):
    waits: list[float] = []
    records = hook(sim, keys, waits).records()
    first = list(itertools.islice(records, 1))
    knobs(sim, fail_next=2, fail_status=status, fail_path=SEARCH, fail_retry_after_s=3 if status == 429 else None)
    rest = list(records)
    assert names(first + rest) == names_in_id_order(sim.state)
    st = stats(sim)
    assert st["injected_failures"] == 2 and st["by_path"][SEARCH] == math.ceil(N_NODES / ROWS) + 2
    assert len(waits) == 2 and (waits == [3, 3] if status == 429 else all(w < 5 for w in waits))
    assert sim.state.auth_failures == {}


def test_a_failure_that_persists_gives_up_with_the_status(sim, keys):
    knobs(sim, fail_next=100, fail_status=503, fail_path=SEARCH)
    h = ChefHook(settings(sim, keys), section="chef", max_attempts=3, sleep=lambda s: None)
    with pytest.raises(ChefError, match=r"gave up after 3 attempts: 503 Service Unavailable: 503 Service Temporarily "
                                        "Unavailable$") as info:
        h.check()
    assert not isinstance(info.value, RefusedCredentials)


def test_a_server_that_never_answers_times_out_and_is_retried(keys):
    waits = []
    with SilentServer() as silent:
        h = ChefHook(settings(silent, keys, url=f"{silent.url()}/organizations/{ORG}"), section="chef", timeout=0.2,
                     max_attempts=2, sleep=waits.append)
        with pytest.raises(ChefError, match=r"^\[chef\] Chef POST .*/search/node: .*timed out"):
            list(h.records())
    assert silent.accepted == 2 and len(waits) == 1


def test_an_answer_that_is_not_chef_says_to_check_the_url(keys):
    @web.middleware
    async def sign_in_page(request, handler):
        return web.Response(text="<html>Sign in</html>", content_type="text/html")

    app = chef.build_app(add_clients(chef.ChefState(nodes=3, seed=1, now=NOW), keys))
    app.middlewares.append(sign_in_page)
    with SimulatorThread(app) as s:
        with pytest.raises(ChefError, match="expected a JSON object, got text/html.*is url the Chef server URL"):
            hook(s, keys).check()


# ---- records ---------------------------------------------------------------------------------------

def by_platform(records):
    out: dict = {}
    for r in records:
        out.setdefault(r["hardware"]["platform"], []).append(r["hardware"])
    return out


def test_records_read_each_platforms_attributes(sim, keys):
    store = sim.state.orgs[ORG].nodes
    nodes = {n["name"]: n for n in store.nodes()}
    records = list(hook(sim, keys).records())
    groups = by_platform(records)
    assert {"mac_os_x", "windows", "ubuntu", None} <= set(groups)
    for hw in (hw for r in records for hw in [r["hardware"]]):
        auto = nodes[hw["name"]]["automatic"]
        if not auto:  # registered, never converged: the name and nothing else
            assert {k for k, v in hw.items() if v is not None} == {"name"}
            continue
        assert (hw["ip_address"], hw["mac_address"], hw["hostname"], hw["fqdn"], hw["domain"], hw["platform_version"],
                hw["uptime_seconds"]) == (auto["ipaddress"], auto.get("macaddress"), auto["hostname"], auto["fqdn"],
                                          auto["domain"], auto["platform_version"], auto["uptime_seconds"])
        memory = int(auto["memory"]["total"][:-2])
        if auto["platform"] == "mac_os_x":
            assert hw["serial_number"] == auto["hardware"].get("serial_number")
            assert (hw["model"], hw["cpu"], hw["cpu_count"]) == (
                auto["hardware"]["machine_model"], auto["cpu"]["model_name"], auto["hardware"]["number_processors"])
            assert hw["total_memory_mb"] == memory  # darwin reports MB
            assert hw["total_hdd_mb"] == int(auto["filesystem"]["by_mountpoint"]["/"]["kb_size"]) // 1024
        elif auto["platform"] == "windows":
            cs_info = auto["kernel"].get("cs_info")
            assert hw["serial_number"] == auto["kernel"]["os_info"]["serial_number"]
            assert hw["model"] == (cs_info or {}).get("model")
            assert hw["cpu_count"] == (cs_info["number_of_processors"] if cs_info else auto["cpu"]["total"])
            assert hw["cpu"] == auto["cpu"]["0"]["model_name"]
            assert hw["total_memory_mb"] == memory // 1024
        else:
            dmi = auto.get("dmi", {}).get("system", {})
            assert (hw["serial_number"], hw["model"]) == (dmi.get("serial_number"), dmi.get("product_name"))
            assert (hw["cpu"], hw["cpu_count"]) == (auto["cpu"]["0"]["model_name"], auto["cpu"]["total"])
            assert hw["total_memory_mb"] == memory // 1024
            assert hw["total_hdd_mb"] == int(auto["filesystem"]["by_mountpoint"]["/"]["kb_size"]) // 1024


def test_partial_search_gives_the_same_records_as_whole_nodes_for_a_fraction_of_the_bytes(keys):
    extension = {"__default__": {"kernel_name": "automatic.kernel.name", "env": "chef_environment"},
                 "windows": {"caption": "automatic.kernel.os_info.caption"}}
    sizes: dict[str, int] = {}

    @web.middleware
    async def measure(request, handler):
        response = await handler(request)
        sizes[request.method] = sizes.get(request.method, 0) + len(response.body)
        return response

    state = add_clients(chef.ChefState(nodes=N_NODES, seed=11, now=NOW), keys)
    app = chef.build_app(state)
    app.middlewares.insert(0, measure)
    with SimulatorThread(app) as s:
        partial = list(hook(s, keys, rows=None, attribute_extension=json.dumps(extension)).records())
        whole = ChefHook(settings(s, keys, attribute_extension=json.dumps(extension)), section="chef")
        whole.partial_search = False
        assert list(whole.records()) == partial
    assert set(partial[0]["hardware"]) >= {"kernel_name", "env", "serial_number", "total_hdd_mb"}
    assert any("caption" in r["hardware"] for r in partial)
    assert sizes["POST"] * 2 < sizes["GET"]  # real nodes are far larger still (packages, languages...)
    assert state.stats.by_path[SEARCH] == 1 + math.ceil(N_NODES / 200)  # one partial page of 1000; 200 whole


@pytest.mark.parametrize("path", ["normal.owner", "default.x", "automatic.roles.0", "run_list", "automatic"])
def test_an_extension_partial_search_cannot_give_reads_whole_nodes(sim, keys, path, capfd):
    records = list(hook(sim, keys, attribute_extension=json.dumps({"__default__": {"x": path}})).records())
    assert len(records) == N_NODES
    assert f"Chef: reading whole nodes (attribute_extension reads {path!r})" in capfd.readouterr().out
    assert stats(sim)["by_path"][SEARCH] == math.ceil(N_NODES / ROWS)


def test_windows_disk_is_the_system_drive_by_mount_point_in_either_layout(sim, keys):
    store = sim.state.orgs[ORG].nodes
    windows = [n for n in store.nodes() if n["automatic"].get("platform") == "windows"]
    layouts = {"by_device" in n["automatic"]["filesystem"] for n in windows}
    assert layouts == {True, False}  # the data has both
    records = {r["hardware"]["name"]: r["hardware"] for r in hook(sim, keys).records()}
    for node in windows:
        fs = node["automatic"]["filesystem"]
        c_drive = (fs.get("by_mountpoint") or fs)["C:"]
        assert records[node["name"]]["total_hdd_mb"] == int(c_drive["kb_size"]) // 1024


def test_the_system_drive_wins_over_the_first_entry():
    def node(filesystem, **os_info):
        return {"name": "w", "automatic": {"platform": "windows", "filesystem": filesystem,
                                           "kernel": {"os_info": os_info}}}

    d, c = {"kb_size": "2097152"}, {"kb_size": "1048576"}
    assert node_record(node({"D:": d, "C:": c}), {})["hardware"]["total_hdd_mb"] == 1024
    assert node_record(node({"by_device": {"x": {}}, "by_mountpoint": {"D:": d, "C:": c}}), {})[
        "hardware"]["total_hdd_mb"] == 1024
    assert node_record(node({"D:": d, "C:": c}, system_drive="D:"), {})["hardware"]["total_hdd_mb"] == 2048
    assert node_record(node({"D:": d}), {})["hardware"]["total_hdd_mb"] is None  # no system drive: no guess
    assert node_record(node("not a map"), {})["hardware"]["total_hdd_mb"] is None


@pytest.mark.parametrize("value,mb", [("16384MB", 16384), ("16318000kB", 15935), (16318000, 15935),
                                      ("8 GB", 8192), ("1.5GB", 1536), ("2TiB", 2097152), ("", None),
                                      ("lots", None), (None, None), (True, None)])
def test_sizes_become_megabytes_by_their_unit(value, mb):
    assert megabytes(value) == mb


def test_attribute_extension_per_platform_and_default(sim, keys):
    extension = {"__default__": {"kernel_name": "automatic.kernel.name", "owner": "normal.owner",
                                 "environment": "chef_environment"},
                 "windows": {"kernel_name": "automatic.kernel.os_info.caption",
                             "maker": "automatic.kernel.cs_info.manufacturer"},
                 "mac_os_x": {"machine_name": "automatic.hardware.machine_name", "cpu": "automatic.cpu.vendor_id"}}
    store = sim.state.orgs[ORG].nodes
    nodes = {n["name"]: n for n in store.nodes()}
    records = list(hook(sim, keys, attribute_extension=json.dumps(extension)).records())
    for hw in (r["hardware"] for r in records):
        node = nodes[hw["name"]]
        auto, platform = node["automatic"], node["automatic"].get("platform")
        assert hw["owner"] == node["normal"].get("owner") and hw["environment"] == node["chef_environment"]
        kernel = auto.get("kernel", {})
        assert hw["kernel_name"] == (kernel["os_info"]["caption"] if platform == "windows" else kernel.get("name"))
        assert ("maker" in hw) == (platform == "windows") and ("machine_name" in hw) == (platform == "mac_os_x")
        if platform == "mac_os_x":  # an extension key replaces the built-in one
            assert hw["machine_name"] == auto["hardware"]["machine_name"] and hw["cpu"] == auto["cpu"]["vendor_id"]
    assert any(not hw["owner"].isascii() for hw in (r["hardware"] for r in records) if hw["owner"])


def test_two_sections_keep_their_own_extension(sim, keys):
    """The original kept the parsed extension on a shared class: the last [chef*] section read won for all."""
    a = hook(sim, keys, attribute_extension='{"__default__": {"a": "name"}}')
    b = hook(sim, keys, attribute_extension='{"__default__": {"b": "name"}}')
    first_a, first_b = next(a.records())["hardware"], next(b.records())["hardware"]
    assert "a" in first_a and "b" not in first_a and "b" in first_b and "a" not in first_b


def test_record_by_id(sim, keys):
    store = sim.state.orgs[ORG].nodes
    h = hook(sim, keys)
    node = store.node(3)
    assert h.record_by_id(node["name"]) == node_record(node, {})
    assert h.record_by_id("no-such-node") is None
    with pytest.raises(ChefSettingsError, match="organization 'nope' does not exist"):
        hook(sim, keys, url=f"{sim.url}/organizations/nope").record_by_id("x")


# ---- settings and connections ----------------------------------------------------------------------

def test_settings_problems_name_the_key(tmp_path):
    from airflow_provider_oomnitza.config.loader import load_config

    path = tmp_path / "c.ini"
    path.write_text("[chef]\nenable = no\nurl = chef-server/organizations/ORG\nclient = me\nsync_field = SN\n"
                    'attribute_extension = {"windows": "automatic.foo"}\n')
    messages = {(i.key, i.message) for i in load_config(path).sections["chef"].errors}
    assert ("url", "expected the Chef server URL with organization, e.g. https://chef-server/organizations/ORG/, "
                   "got 'chef-server/organizations/ORG'") in messages
    assert any(k == "key_file" and m.startswith("missing required setting") for k, m in messages)
    assert any(k == "attribute_extension" and "the entry of 'windows' is not such a map" in m for k, m in messages)
    path.write_text("[chef]\nenable = no\nurl = https://chef\nclient = me\nsync_field = SN\nkey_file = /k.pem\n")
    config = load_config(path)
    assert not config.sections["chef"].errors
    assert ("url", "has no /organizations/<org> part; Chef I") in [
        (i.key, i.message[:40]) for i in config.sections["chef"].warnings]
    path.write_text("[chef]\nenable = no\nurl = https://chef/organizations/o\nclient = me\nsync_field = SN\n"
                    "key_file = /k.pem\nattribute_extension = not json\n")
    messages = {(i.key, i.message) for i in load_config(path).sections["chef"].errors}
    assert any(k == "attribute_extension" and "expected a JSON object" in m for k, m in messages)


def test_a_connection_gives_url_client_and_key(sim, keys, monkeypatch):
    pem = keys["oomnitza"]["private"].decode()
    monkeypatch.setenv("AIRFLOW_CONN_CHEF_DEFAULT", json.dumps({
        "conn_type": "chef", "host": f"{sim.url}/organizations/{ORG}", "login": "oomnitza",
        "password": " ".join(pem.splitlines())}))  # as a one-line password field keeps it
    h = ChefHook()
    assert h.conn_id == "chef_default"
    ok, message = h.test_connection()
    assert ok and message == (f"Connected to Chef Infra Server at {sim.url}/organizations/{ORG} as 'oomnitza': "
                              f"{N_NODES} nodes")
    assert len(list(ChefHook(chef_conn_id="chef_default").records())) == N_NODES
    monkeypatch.setenv("AIRFLOW_CONN_CHEF_FILE", json.dumps({
        "conn_type": "chef", "host": f"{sim.url}/organizations/{ORG}", "login": "oomnitza",
        "extra": {"key_file": keys["oomnitza"]["file"]}}))
    assert ChefHook(chef_conn_id="chef_file").test_connection()[0]
    monkeypatch.setenv("AIRFLOW_CONN_CHEF_NOKEY", json.dumps({
        "conn_type": "chef", "host": f"{sim.url}/organizations/{ORG}", "login": "oomnitza"}))
    ok, message = ChefHook(chef_conn_id="chef_nokey").test_connection()
    assert not ok and message.startswith("connection 'chef_nokey' key_file: missing")


# ---- TLS -------------------------------------------------------------------------------------------

def test_tls_unknown_ca_refused_then_trusted_with_cacert_file(keys, tmp_path):
    certs = tls_certificates(tmp_path)
    state = add_clients(chef.ChefState(nodes=5, seed=1, now=NOW), keys)
    with SimulatorThread(chef.build_app(state), ssl_context=certs.server_context()) as s:
        ok, message = hook(s, keys, waits := []).test_connection()
        assert not ok and "TLS certificate is not trusted" in message and waits == []
        assert hook(s, keys, cacert_file=certs.ca_file).check().endswith("5 nodes")
