"""End to end: a [chef] section's DAG run with dag.test(), from the Chef Infra Server simulator (which checks
every request's signature) into the Oomnitza sandbox."""
import json

import pytest

from airflow_provider_oomnitza.hooks.chef_records import node_record
from tests.simulators import chef
from tests.simulators.base import SimulatorThread, knobs

NOW = 1_790_000_000.0
DAG_ID = "chef_sync"
N_NODES = 260
SEARCH = f"/organizations/{chef.DEFAULT_ORG}/search/node"
MAPPINGS = {"SERIAL_NUMBER": "hardware.serial_number", "NAME": "hardware.name", "MODEL": "hardware.model",
            "OS": "hardware.platform", "MEMORY_MB": "hardware.total_memory_mb", "DISK_MB": "hardware.total_hdd_mb",
            "KERNEL": "hardware.kernel", "OWNER": "hardware.owner"}
EXTENSION = {"__default__": {"kernel": "automatic.kernel.name"},
             "windows": {"kernel": "automatic.kernel.os_info.caption",
                         "owner": "automatic.kernel.os_info.registered_user"}}


@pytest.fixture(scope="module")
def key_pair(tmp_path_factory):
    private, public = chef.generate_key_pair()
    path = tmp_path_factory.mktemp("chef") / "oomnitza.pem"
    path.write_bytes(private)
    return str(path), public


@pytest.fixture
def chef_server(key_pair):
    state = chef.ChefState(nodes=N_NODES, seed=17, now=NOW)
    state.add_client("oomnitza", key_pair[1])
    with SimulatorThread(chef.build_app(state)) as sim:
        yield sim


def section(sim, key_file, extra=""):
    mappings = "".join(f"mapping.{field} = {json.dumps({'source': source})}\n" for field, source in MAPPINGS.items())
    return (f"[chef]\nenable = true\nurl = {sim.url}/organizations/{chef.DEFAULT_ORG}/\nclient = oomnitza\n"
            f"key_file = {key_file}\nsync_field = SERIAL_NUMBER\nuse_server_map = false\n"
            f"attribute_extension = {json.dumps(EXTENSION)}\n"
            "max_rejected = 15%\n"  # nodes without a serial number (never converged, macOS VMs) are skipped
            + mappings + extra)


def expected(state):
    out = {}
    for node in state.orgs[chef.DEFAULT_ORG].nodes.nodes():
        hw = node_record(node, EXTENSION)["hardware"]
        if hw["serial_number"]:
            out[hw["serial_number"]] = {field: hw.get(source.split(".")[1]) for field, source in MAPPINGS.items()}
    return out


def stored(sandbox):
    return {r["SERIAL_NUMBER"]: {k: v for k, v in r.items() if k != "uid"} for r in sandbox.state.records("assets")}


def test_nodes_arrive_with_their_platforms_attributes(sync_env, chef_server, key_pair):
    env = sync_env
    env.write_ini(section(chef_server, key_pair[0]))
    knobs(chef_server, fail_next=1, fail_status=503, fail_path=SEARCH)  # the first page fails once
    run = env.run(DAG_ID)
    assert run.state == "success"
    want = expected(chef_server.state)
    assert stored(env.sandbox) == want
    assert len(env.sandbox.state.records("assets")) == len(want)
    # The data has what the check needs to mean something: each platform, units, the extension, unicode.
    assert {v["OS"] for v in want.values()} >= {"mac_os_x", "windows", "ubuntu", "centos", "redhat"}
    assert all(isinstance(v["MEMORY_MB"], int) and v["DISK_MB"] for v in want.values() if v["OS"] != "windows")
    assert any(v["OWNER"] and not v["OWNER"].isascii() for v in want.values())
    assert {v["KERNEL"] for v in want.values() if v["OS"] == "windows"} <= {"Microsoft Windows 11 Enterprise",
        "Microsoft Windows 10 Enterprise", "Microsoft Windows Server 2019 Standard"}
    assert {v["KERNEL"] for v in want.values() if v["OS"] in ("mac_os_x", "ubuntu")} == {"Darwin", "Linux"}
    report = env.report(DAG_ID, run)
    assert (report["extracted"], report["pushed"], report["missing"]) == (N_NODES, len(want), N_NODES - len(want))
    assert chef_server.state.stats.by_path[SEARCH] == 1 + 1  # one partial search page (1000 rows), twice
    assert chef_server.state.auth_failures == {}


def test_a_stranger_key_fails_the_extract_at_once_and_sends_nothing(sync_env, chef_server, tmp_path, capsys):
    env = sync_env
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(chef.generate_key_pair()[0])
    env.write_ini(section(chef_server, stranger))
    run = env.run(DAG_ID)
    assert run.state == "failed"
    out = capsys.readouterr().out
    assert ("ChefAuthError: [chef] Chef partial node search (start 0) at "
            f"{chef_server.url}/organizations/{chef.DEFAULT_ORG}: 401 Unauthorized: Invalid signature for user or "
            "client 'oomnitza'") in out
    assert "PRIVATE KEY" not in out
    assert {ti.task_id: ti.state for ti in run.get_task_instances()}["extract"] == "failed"
    assert chef_server.state.stats.by_path[SEARCH] == 1  # neither the client nor Airflow tried again
    assert env.sandbox.state.records("assets") == []
