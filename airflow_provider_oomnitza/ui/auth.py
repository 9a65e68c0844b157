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


# -- the config page -----------------------------------------------------------------------------
def may_config(user: Any, method: str) -> bool:
    """Airflow's question for its own configuration page: ``GET`` to read, ``PUT`` to change.
    The config page asks the same (simple auth manager: viewer reads, op and admin edit)."""
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager().is_authorized_configuration(method=method, user=user)


def require_config(user: Any, method: str) -> None:
    if not may_config(user, method):
        what = "read" if method == "GET" else "change"
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"You may not {what} Airflow's configuration, so not config.ini")


def csrf_token(user: Any) -> str:
    """A form token bound to the user (HMAC with the API server's secret key): a page of another
    site cannot know it, so it cannot make a logged-in browser post a change."""
    import hashlib
    import hmac

    from airflow.configuration import conf

    key = (conf.get("api", "secret_key", fallback="") or conf.get("api_auth", "jwt_secret", fallback="")).encode()
    return hmac.new(key, f"oomnitza-config:{user_name(user)}".encode(), hashlib.sha256).hexdigest()


def check_same_origin(request: Request, token: str | None, user: Any) -> None:
    """A state-changing request must come from a page of this server (``Origin``, or ``Referer`` when
    a browser sends no Origin, naming the request's ``Host`` or ``[api] base_url``'s host) and carry
    the user's form token."""
    import hmac
    from urllib.parse import urlsplit

    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Cross-site request refused: no Origin or Referer header")
    from airflow.configuration import conf

    parts = urlsplit(source)
    # This server as the browser sees it: the Host header, or [api] base_url's host behind a proxy.
    own_hosts = {request.headers.get("host", ""), urlsplit(conf.get("api", "base_url", fallback="") or "").netloc} - {""}
    if parts.netloc not in own_hosts:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"Cross-site request refused: it came from {parts.netloc}")
    if not token or not hmac.compare_digest(token, csrf_token(user)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Cross-site request refused: missing or wrong form token")
