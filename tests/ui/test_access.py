"""Access control of the sync view, inside Airflow's own API server app (``create_app``), with the
simple auth manager's users: a viewer may read every sync DAG; a user with no role may read none;
no credentials -> 401; a forged token -> 403. In multi-team mode a user of another team than the
DAGs' bundle is refused, proving the check is made per DAG with its team."""
from urllib.parse import quote

import pytest

from tests.ui.conftest import PASSWORDS
from tests.ui.demo_data import ASSETS, USERS


@pytest.fixture(scope="module")
def client(auth_env, demo_runs):
    from fastapi.testclient import TestClient

    from airflow.api_fastapi.app import create_app, purge_cached_app

    purge_cached_app()
    with TestClient(create_app()) as test_client:
        yield test_client
    purge_cached_app()


def token(client, user: str) -> str:
    response = client.post("/auth/token", json={"username": user, "password": PASSWORDS[user]})
    assert response.status_code == 201, response.text
    return response.json()["access_token"]


def routes(demo_runs) -> list[str]:
    run_id = quote(demo_runs["last"][ASSETS], safe="")
    return [
        "/oomnitza-sync/",
        f"/oomnitza-sync/dags/{ASSETS}/runs/{run_id}",
        "/oomnitza-sync/api/sections",
        f"/oomnitza-sync/api/dags/{ASSETS}/runs/{run_id}",
        f"/oomnitza-sync/api/dags/{ASSETS}/records/refused?run_id={run_id}",
        f"/oomnitza-sync/api/dags/{ASSETS}/records/skipped?run_id={run_id}",
    ]


def test_without_credentials_every_route_is_401(client, demo_runs):
    for url in routes(demo_runs):
        response = client.get(url)
        assert response.status_code == 401, url
    page = client.get("/oomnitza-sync/")
    assert "Log in to Airflow" in page.text and "/auth/login" in page.text  # the auth manager's login page


def test_a_forged_token_is_403(client, demo_runs):
    forged = token(client, "viewer")[:-4] + "AAAA"
    for url in routes(demo_runs):
        assert client.get(url, headers={"Authorization": f"Bearer {forged}"}).status_code == 403, url


def test_a_viewer_reads_every_route_with_a_bearer_token(client, demo_runs):
    headers = {"Authorization": f"Bearer {token(client, 'viewer')}"}
    for url in routes(demo_runs):
        assert client.get(url, headers=headers).status_code == 200, url
    sections = client.get("/oomnitza-sync/api/sections?runs=5", headers=headers).json()
    # every demo DAG (other tests' sync DAGs share this Airflow DB and may be listed too)
    assert set(demo_runs["dag_ids"]) <= {s["dag_id"] for s in sections["sections"]} and sections["hidden"] == 0
    assets = next(s for s in sections["sections"] if s["dag_id"] == ASSETS)
    assert len(assets["runs"]) == 5 and assets["runs"][0]["run_id"] == demo_runs["last"][ASSETS]
    assert assets["runs"][0]["counts"]["refused"] == 2


def test_the_ui_cookie_works_like_the_header(client, demo_runs):
    """The Airflow UI's ``_token`` cookie is what the browser sends to the iframe."""
    client.cookies.set("_token", token(client, "viewer"))
    try:
        assert client.get("/oomnitza-sync/").status_code == 200
    finally:
        client.cookies.clear()


def test_a_user_without_a_role_is_refused_everywhere(client, demo_runs):
    headers = {"Authorization": f"Bearer {token(client, 'nobody')}"}
    for url in routes(demo_runs):
        response = client.get(url, headers=headers)
        assert response.status_code == 403, url
        assert "dropdown" not in response.text and "casper_uidemo_sync" not in response.text  # nothing leaks


def test_unknown_dag_or_run_is_404_after_the_permission_check(client, demo_runs):
    viewer = {"Authorization": f"Bearer {token(client, 'viewer')}"}
    nobody = {"Authorization": f"Bearer {token(client, 'nobody')}"}
    assert client.get(f"/oomnitza-sync/api/dags/{USERS}/runs/no-such-run", headers=viewer).status_code == 404
    assert client.get("/oomnitza-sync/api/dags/not_a_sync_dag/runs/x", headers=viewer).status_code == 404
    assert client.get("/oomnitza-sync/api/dags/..%2F..%2Fetc/runs/x", headers=viewer).status_code == 404
    assert client.get("/oomnitza-sync/api/dags/not_a_sync_dag/runs/x", headers=nobody).status_code == 403
