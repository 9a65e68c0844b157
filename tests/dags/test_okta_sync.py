"""End to end: an [okta] section's DAG run with dag.test(), from the Okta simulator into the Oomnitza sandbox."""
import math
import time

import pytest
from aiohttp import web

from tests.simulators import okta as ok
from tests.simulators.base import SimulatorThread, knobs

NOW = 1_790_000_000.0
DAG_ID = "okta_sync"


class Okta429Once:
    """Counts the users listing's requests and answers the ``n``-th with Okta's 429 (reset 2 s ahead)."""

    def __init__(self):
        self.n, self.seen, self.refused = 0, 0, 0

        @web.middleware
        async def middleware(request, handler):
            if request.path == ok.USERS_PATH:
                self.seen += 1
                if self.seen == self.n:
                    self.refused += 1
                    return ok.okta_error(429, headers=ok.OktaState._rate_headers(600, 0, time.time() + 2))
            return await handler(request)

        self.middleware = middleware


@pytest.fixture
def okta():
    state = ok.OktaState(users=450, seed=13, now=NOW)
    limiter = Okta429Once()
    app = ok.build_app(state)
    app.middlewares.append(limiter.middleware)
    with SimulatorThread(app) as sim:
        sim.limiter = limiter
        yield sim


def section(sim, extra="", token=ok.DEFAULT_TOKEN):
    return (f"[okta]\nenable = true\nurl = {sim.url}\napi_token = {token}\ndefault_role = 25\n"
            f"default_position = Employee\nuse_server_map = false\n{extra}")


def users(state, deprovisioned=False):
    d = state.directory
    return [d.user(i) for i in range(len(d)) if deprovisioned or d.statuses[i] != "DEPROVISIONED"]


def stored(sandbox):
    return {r["USER"]: {k: v for k, v in r.items() if k != "uid"} for r in sandbox.state.records("users")}


def test_users_arrive_with_the_default_mappings_and_the_whole_record_available(sync_env, okta):
    env = sync_env
    env.write_ini(section(okta, 'mapping.STATUS = {"source": "status"}\n'
                                'mapping.SOURCE = {"source": "credentials.provider.type"}\n'))
    run = env.run(DAG_ID)
    assert run.state == "success"
    expected = {
        u["profile"]["login"]: {
            "USER": u["profile"]["login"], "EMAIL": u["profile"]["email"],
            "FIRST_NAME": u["profile"]["firstName"], "LAST_NAME": u["profile"]["lastName"],
            "PHONE": u["profile"]["mobilePhone"], "POSITION": "Employee", "PERMISSIONS_ID": 25,
            "STATUS": u["status"], "SOURCE": u["credentials"]["provider"]["type"],
        }
        for u in users(okta.state)
    }
    got = stored(env.sandbox)
    assert len(env.sandbox.state.records("users")) == len(got) == len(expected)  # each user once
    assert got == expected
    assert any(not v["FIRST_NAME"].isascii() for v in expected.values())  # the data has what the check needs
    assert "DEPROVISIONED" not in {v["STATUS"] for v in expected.values()}
    report = env.report(DAG_ID, run)
    assert (report["extracted"], report["pushed"], report["oomnitza_added"]) == (len(expected),) * 3
    assert okta.state.stats.by_path[ok.USERS_PATH] == math.ceil(len(expected) / 200)


def test_deprovisioned_users_too_with_a_page_failing_once(sync_env, okta):
    env = sync_env
    env.write_ini(section(okta, "deprovisioned = true\n"))
    knobs(okta, fail_next=1, fail_status=503, fail_path=ok.USERS_PATH)
    run = env.run(DAG_ID)
    assert run.state == "success"
    everyone = users(okta.state, deprovisioned=True)
    assert sorted(stored(env.sandbox)) == sorted(u["profile"]["login"] for u in everyone)
    assert len(env.sandbox.state.records("users")) == len(everyone)
    assert okta.state.stats.injected_failures == 1


def test_a_429_mid_run_is_waited_out_and_every_user_arrives(sync_env, okta):
    env = sync_env
    okta.limiter.n = 2  # the second page
    env.write_ini(section(okta))
    run = env.run(DAG_ID)
    assert run.state == "success"
    assert okta.limiter.refused == 1
    expected = users(okta.state)
    assert len(env.sandbox.state.records("users")) == len(stored(env.sandbox)) == len(expected)
    assert okta.limiter.seen == math.ceil(len(expected) / 200) + 1  # that page once more, after the wait


def test_a_refused_token_fails_the_extract_at_once_and_sends_nothing(sync_env, okta, capsys):
    env = sync_env
    env.write_ini(section(okta, token="00" + "q" * 40))
    run = env.run(DAG_ID)
    assert run.state == "failed"
    out = capsys.readouterr().out
    assert (f"OktaAuthError: [okta] Okta list users, page 1 at {okta.url}: 401 Unauthorized (E0000011): Invalid "
            "token provided; check api_token") in out
    assert "q" * 40 not in out
    assert {ti.task_id: ti.state for ti in run.get_task_instances()}["extract"] == "failed"
    assert okta.state.stats.by_path[ok.USERS_PATH] == 1  # neither the client nor Airflow tried again
    assert env.sandbox.state.records("users") == []


def test_an_empty_directory_is_a_successful_run_of_nothing(sync_env):
    env = sync_env
    with SimulatorThread(ok.build_app(ok.OktaState(users=0, seed=1, now=NOW))) as empty:
        env.write_ini(section(empty, "deprovisioned = true\n"))
        run = env.run(DAG_ID)
    assert run.state == "success"
    assert env.sandbox.state.records("users") == []
    report = env.report(DAG_ID, run)
    assert (report["extracted"], report["pushed"], report["failed_chunks"]) == (0, 0, 0)
