"""Per-DAG access in multi-team mode: the sync DAGs' bundle belongs to team ``blue``; a viewer of
team ``blue`` reads them, a viewer of team ``red`` is refused (403), and the overview of a user
who may read none of them is refused too. The team is looked up per DAG, as Airflow does."""
from urllib.parse import quote

import pytest

from tests.ui.conftest import PASSWORDS, _patched_env
from tests.ui.demo_data import ASSETS

TEAM_PASSWORDS = {"blue_viewer": "blue-pw-4", "red_viewer": "red-pw-5"}


@pytest.fixture(scope="module")
def team_client(auth_env, demo_runs, tmp_path_factory):
    import json

    from fastapi.testclient import TestClient
    from sqlalchemy import delete, select

    from airflow.api_fastapi.app import create_app, purge_cached_app
    from airflow.models.dagbundle import DagBundleModel
    from airflow.models.team import Team
    from airflow.utils.session import create_session

    passwords = tmp_path_factory.mktemp("teams") / "passwords.json"
    passwords.write_text(json.dumps({**PASSWORDS, **TEAM_PASSWORDS}))
    env = {"AIRFLOW__CORE__MULTI_TEAM": "True",
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "blue_viewer:viewer:blue,red_viewer:viewer:red",
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords)}
    with _patched_env(env):
        with create_session() as session:
            blue, red = Team(name="blue"), Team(name="red")
            session.add_all([blue, red])
            bundle = session.scalar(select(DagBundleModel).where(DagBundleModel.name == "dags-folder"))
            bundle.teams.append(blue)
        purge_cached_app()
        try:
            with TestClient(create_app()) as client:
                yield client
        finally:
            purge_cached_app()
            with create_session() as session:
                bundle = session.scalar(select(DagBundleModel).where(DagBundleModel.name == "dags-folder"))
                bundle.teams.clear()
                session.flush()
                session.execute(delete(Team).where(Team.name.in_(["blue", "red"])))


def headers(client, user):
    response = client.post("/auth/token", json={"username": user, "password": TEAM_PASSWORDS[user]})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def test_the_dags_team_reads_and_another_team_is_refused(team_client, demo_runs):
    run_page = f"/oomnitza-sync/dags/{ASSETS}/runs/{quote(demo_runs['last'][ASSETS], safe='')}"
    blue, red = headers(team_client, "blue_viewer"), headers(team_client, "red_viewer")
    assert team_client.get(run_page, headers=blue).status_code == 200
    assert team_client.get(run_page, headers=red).status_code == 403
    assert team_client.get("/oomnitza-sync/api/sections", headers=blue).json()["hidden"] == 0
    assert team_client.get("/oomnitza-sync/api/sections", headers=red).status_code == 403
    assert team_client.get("/oomnitza-sync/", headers=red).status_code == 403
