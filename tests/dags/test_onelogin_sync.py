"""End to end: an [onelogin] section's DAG run with dag.test(), from the OneLogin simulator into the sandbox."""
import pytest

from tests.simulators import onelogin as ol
from tests.simulators.base import SimulatorThread, knobs

DAG_ID = "onelogin_sync"
N_USERS = 120


@pytest.fixture
def onelogin():
    with SimulatorThread(ol.build_app(ol.OneLoginState(users=N_USERS, seed=11))) as sim:
        yield sim


def section(sim, extra="", secret=ol.DEFAULT_CLIENT_SECRET):
    return (
        f"[onelogin]\nenable = true\nurl = {sim.url}\nclient_id = {ol.DEFAULT_CLIENT_ID}\nclient_secret = {secret}\n"
        "default_role = 25\ndefault_position = Employee\nuse_server_map = false\npage_size = 50\n"
        "max_rejected = 5%\n"  # the simulated directory holds users without a username (no USER: skipped)
        + extra
    )


def stored(sandbox):
    return {r["USER"]: {k: v for k, v in r.items() if k != "uid"} for r in sandbox.state.records("users")}


def test_users_arrive_field_by_field(sync_env, onelogin):
    env, users = sync_env, list(onelogin.state.users)
    env.write_ini(section(onelogin, 'mapping.COST_CENTER = {"source": "cost_center"}\n'))
    run = env.run(DAG_ID)
    assert run.state == "success"
    named = [u for u in users if u["username"]]
    expected = {
        u["username"]: {
            "USER": u["username"], "FIRST_NAME": u["firstname"], "LAST_NAME": u["lastname"], "EMAIL": u["email"],
            "PHONE": u["phone"], "PERMISSIONS_ID": 25, "POSITION": "Employee",
            "COST_CENTER": u["custom_attributes"]["cost_center"],  # a custom attribute named bare, as the original
        }
        for u in named
    }
    assert stored(env.sandbox) == expected
    # The data has what the check needs to mean something.
    assert any(v["PHONE"] is None for v in expected.values()) and any(v["PHONE"] for v in expected.values())
    assert any(not v["FIRST_NAME"].isascii() for v in expected.values() if v["FIRST_NAME"])
    assert any(v["COST_CENTER"] for v in expected.values())
    report = env.report(DAG_ID, run)
    email_only = len(users) - len(named)  # no username: no USER, the identifying field, so not sent
    assert email_only >= 1
    assert {k: report[k] for k in ("extracted", "mapped", "missing", "pushed", "oomnitza_added")} == {
        "extracted": N_USERS, "mapped": len(named), "missing": email_only, "pushed": len(named),
        "oomnitza_added": len(named),
    }
    by_path = onelogin.state.stats.by_path
    assert by_path["/api/2/users"] == N_USERS // 50 + 1 and by_path["/auth/oauth2/v2/token"] == 1


def test_email_only_users_arrive_with_a_fallback_mapping(sync_env, onelogin):
    env = sync_env
    env.write_ini(section(onelogin, 'mapping.USER = {"source": "username", "converter": "first_field:fields=email"}\n'))
    assert env.run(DAG_ID).state == "success"
    users = list(onelogin.state.users)
    expected_users = {u["username"] or u["email"] for u in users if u["username"] or u["email"]}
    assert set(stored(env.sandbox)) == expected_users
    assert any(u["username"] is None and u["email"] in expected_users for u in users)


def test_refused_credentials_fail_the_extract_at_once_and_send_nothing(sync_env, onelogin, capsys):
    env = sync_env
    # Written whole: with Airflow retries on, the refused credentials must still fail the task on its first try.
    env.ini.write_text(f"[oomnitza]\nurl = {env.sandbox.url}\napi_token = sandbox-token\nretries = 2\n"
                       f"retry_delay = 1\n\n" + section(onelogin, secret="wrong-secret"))
    run = env.run(DAG_ID)
    assert run.state == "failed"
    out = capsys.readouterr().out
    assert (f"OneLoginAuthError: [onelogin] OneLogin token at {onelogin.url}: 401 Unauthorized: Authentication "
            "Failure; check client_id and client_secret") in out
    assert "wrong-secret" not in out
    extract = next(ti for ti in run.get_task_instances() if ti.task_id == "extract")
    assert extract.state == "failed" and extract.try_number == 1
    assert env.sandbox.state.records("users") == []
    assert onelogin.state.stats.by_path == {"/auth/oauth2/v2/token": 1}  # one token call, no retry, no users call


def test_rate_limiting_mid_run_is_waited_out(sync_env, onelogin):
    env = sync_env
    knobs(onelogin, rate_limit=2, rate_window_s=1)  # a burst limit: the third call within a second gets 429
    env.write_ini(section(onelogin, "page_size = 20\n"))
    run = env.run(DAG_ID)
    assert run.state == "success"
    stats = onelogin.state.stats
    assert stats.rate_limited >= 1 and stats.by_path["/api/2/users"] == N_USERS // 20 + stats.rate_limited
    named = {u["username"] for u in onelogin.state.users if u["username"]}
    assert set(stored(env.sandbox)) == named


def test_an_empty_directory_is_a_successful_run_of_nothing(sync_env):
    env = sync_env
    with SimulatorThread(ol.build_app(ol.OneLoginState(users=0))) as empty:
        env.write_ini(section(empty))
        run = env.run(DAG_ID)
    assert run.state == "success"
    assert env.sandbox.state.records("users") == []
    report = env.report(DAG_ID, run)
    assert (report["extracted"], report["pushed"], report["failed_chunks"]) == (0, 0, 0)
