"""End to end: a [zendesk] section's DAG run with dag.test(), from the Zendesk simulator into the Oomnitza sandbox."""
import math

import pytest
from aiohttp import web

from tests.simulators import zendesk as zd
from tests.simulators.base import SimulatorThread, knobs

NOW = 1_790_000_000.0
DAG_ID = "zendesk_sync"
USERS = "/api/v2/users.json"


class Zendesk429Once:
    """Answers the ``n``-th users request with Zendesk's 429 (plain text, Retry-After: 1)."""

    def __init__(self):
        self.n, self.seen, self.refused = 0, 0, 0

        @web.middleware
        async def middleware(request, handler):
            if request.path == USERS:
                self.seen += 1
                if self.seen == self.n:
                    self.refused += 1
                    return web.Response(text=zd.RATE_LIMIT_TEXT, status=429, content_type="text/plain",
                                        headers={"Retry-After": "1"})
            return await handler(request)

        self.middleware = middleware


@pytest.fixture
def zendesk():
    state = zd.ZendeskState(users=260, seed=17, now=NOW)
    limiter = Zendesk429Once()
    app = zd.build_app(state)
    app.middlewares.insert(0, limiter.middleware)
    with SimulatorThread(app) as sim:
        sim.limiter = limiter
        yield sim


def section(sim, extra="", token=zd.DEFAULT_TOKEN):
    return (f"[zendesk]\nenable = true\nurl = {sim.url}\nusername = {zd.DEFAULT_EMAIL}\napi_token = {token}\n"
            "default_role = 25\ndefault_position = Employee\nuse_server_map = false\n"
            "max_rejected = 20%\n"  # users without an e-mail (phone-only end-users) have no USER: skipped
            f"{extra}")


def users(sim):
    d = sim.state.directory
    return [d.user(i, sim.url) for i in d.listed()]


def stored(sandbox):
    return {r["USER"]: {k: v for k, v in r.items() if k != "uid"} for r in sandbox.state.records("users")}


def test_users_arrive_with_the_default_mappings_and_their_organization(sync_env, zendesk):
    env = sync_env
    env.write_ini(section(zendesk, "load_organizations = true\n"
                                   'mapping.ORGANIZATION = {"source": "organization.name"}\n'
                                   'mapping.ROLE = {"source": "role"}\n'))
    run = env.run(DAG_ID)
    assert run.state == "success"
    d = zendesk.state.directory
    orgs = {d.org_ids[k]: d.organization(k, zendesk.url)["name"] for k in range(len(d.org_ids))}
    everyone = users(zendesk)
    with_email = [u for u in everyone if u["email"]]
    expected = {u["email"]: {
        "USER": u["email"], "EMAIL": u["email"], "FIRST_NAME": u["name"].split(" ")[0],
        "LAST_NAME": u["name"].split(" ")[-1], "PHONE": u["phone"], "PERMISSIONS_ID": 25, "POSITION": "Employee",
        "ORGANIZATION": orgs.get(u["organization_id"]), "ROLE": u["role"],
    } for u in with_email}
    got = stored(env.sandbox)
    assert len(env.sandbox.state.records("users")) == len(got) == len(expected)  # each user once
    assert got == expected
    assert any(not v["LAST_NAME"].isascii() for v in expected.values())  # the data has what the check needs
    assert any(v["ORGANIZATION"] for v in expected.values()) and any(v["PHONE"] for v in expected.values())
    report = env.report(DAG_ID, run)
    assert (report["extracted"], report["mapped"], report["pushed"]) == (len(everyone), len(with_email),
                                                                         len(with_email))
    assert zendesk.state.stats.by_path[USERS] == math.ceil(len(everyone) / 100)


def test_a_429_and_a_failing_page_mid_run_are_waited_out_and_every_user_arrives(sync_env, zendesk):
    env = sync_env
    zendesk.limiter.n = 2  # the second page: 429
    knobs(zendesk, fail_next=1, fail_status=503, fail_path="^/api/v2/organizations")  # and the organizations once
    env.write_ini(section(zendesk, "load_organizations = true\n"))
    run = env.run(DAG_ID)
    assert run.state == "success"
    assert zendesk.limiter.refused == 1 and zendesk.state.stats.injected_failures == 1
    expected = [u for u in users(zendesk) if u["email"]]
    assert len(env.sandbox.state.records("users")) == len(stored(env.sandbox)) == len(expected)
    assert zendesk.limiter.seen == math.ceil(len(users(zendesk)) / 100) + 1  # that page once more, after the wait


def test_a_refused_token_fails_the_extract_at_once_without_retries(sync_env, zendesk, capsys):
    env = sync_env
    env.write_ini(section(zendesk, token="Wr0ngTokenValue1234567890"),
                  oomnitza_extra="retries = 2\nretry_delay = 0\n")  # the later `retries` wins
    run = env.run(DAG_ID)
    assert run.state == "failed"
    out = capsys.readouterr().out
    assert (f"[zendesk] Zendesk list users, page 1 at {zendesk.url}: 401 Unauthorized: Couldn't authenticate you; "
            "check username") in out
    assert "Wr0ngTokenValue1234567890" not in out
    tries = {ti.task_id: (ti.state, ti.try_number) for ti in run.get_task_instances()}
    assert tries["extract"] == ("failed", 1)
    assert zendesk.state.stats.by_path[USERS] == 1  # neither the client nor Airflow tried again
    assert env.sandbox.state.records("users") == []


def test_an_empty_directory_is_a_successful_run_of_nothing(sync_env):
    env = sync_env
    with SimulatorThread(zd.build_app(zd.ZendeskState(users=0, now=NOW))) as empty:
        env.write_ini(section(empty))
        run = env.run(DAG_ID)
    assert run.state == "success"
    assert env.sandbox.state.records("users") == []
    report = env.report(DAG_ID, run)
    assert (report["extracted"], report["pushed"], report["failed_chunks"]) == (0, 0, 0)
