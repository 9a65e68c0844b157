"""Who may see what: Airflow's own login and permission checks, applied to the plugin app.

Airflow does not protect plugin apps: a mounted FastAPI app inherits no dependencies. So each
route of the sync view depends on :func:`current_user` (Airflow's ``get_user``: the JWT from the
``Authorization: Bearer`` header or the UI's ``_token`` cookie, validated by the configured auth
manager; none -> 401, invalid -> 403) and asks the auth manager, with the DAG's team, whether the
user may read that DAG's runs (``is_authorized_dag(method="GET", access_entity=RUN)``, the check
Airflow's own ``GET /api/v2/dags/{dag_id}/dagRuns`` makes); refused -> 403.
"""
from __future__ import annotations

from typing import Any, Iterable

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

_bearer = HTTPBearer(auto_error=False)


async def current_user(request: Request, bearer: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Any:
    """The logged-in Airflow user, exactly as Airflow's REST API finds it (imported here, at request
    time, so that loading the plugin in a scheduler or worker does not import the API server)."""
    from airflow.api_fastapi.core_api.security import get_user

    return await get_user(request, None, bearer)


def readable(user: Any, dag_ids: Iterable[str], session) -> set[str]:
    """The DAG ids among ``dag_ids`` whose runs the user may read."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
    from airflow.models.dag import DagModel

    dag_ids = list(dag_ids)
    if not dag_ids:
        return set()
    teams = DagModel.get_dag_id_to_team_name_mapping(dag_ids, session=session)
    manager = get_auth_manager()
    return {
        dag_id for dag_id in dag_ids
        if manager.is_authorized_dag(method="GET", access_entity=DagAccessEntity.RUN,
                                     details=DagDetails(id=dag_id, team_name=teams.get(dag_id)), user=user)
    }


def require_readable(user: Any, dag_id: str, session) -> None:
    if dag_id not in readable(user, [dag_id], session):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"You may not read the runs of DAG {dag_id}")


def login_url(next_url: str) -> str | None:
    """The auth manager's login page, coming back to ``next_url``."""
    from airflow.api_fastapi.app import get_auth_manager

    try:
        return get_auth_manager().get_url_login(next_url=next_url)
    except Exception:  # noqa: BLE001 - a login link is a convenience; the 401 stands without it
        return None


def user_name(user: Any) -> str:
    try:
        return user.get_name()
    except Exception:  # noqa: BLE001
        return "?"
