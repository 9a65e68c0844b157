"""The sync view's FastAPI app, mounted by the plugin at ``<Airflow base URL>/oomnitza-sync``.

Pages (HTML, for the iframe Airflow's UI shows under Browse):
  ``/``                                   every section: last run, counts, chart of the last N runs
  ``/dags/{dag_id}/runs/{run_id}``        one run: counts, refused and skipped records (paged)
  ``/config/...``                         the config page (ui/config_app.py)
Data (JSON, the same facts for scripts):
  ``/api/sections?runs=N``
  ``/api/dags/{dag_id}/runs/{run_id}``
  ``/api/dags/{dag_id}/records/{refused|skipped}?run_id=...&offset=0&limit=50``

Every route needs a logged-in Airflow user (401 without, 403 for a bad token) who may read the
runs of the DAG concerned (403 otherwise); the overview lists only the DAGs the user may read.
"""
from __future__ import annotations

from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, Response

from airflow_provider_oomnitza.ui import render
from airflow_provider_oomnitza.ui.auth import current_user, login_url, readable, require_readable, user_name

URL_PREFIX = "/oomnitza-sync"
DEFAULT_RUNS = 20
MAX_RUNS = 200
PAGE_SIZE = 25
MAX_PAGE_SIZE = 500

HTML_HEADERS = {
    # Pages embed nothing from elsewhere; only Airflow's own UI (same origin) may frame them.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "frame-ancestors 'self'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


# A bar chart on a blue tile: visible on the navigation bar's light, dark and highlighted backgrounds.
ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><rect width="24" height="24" rx="6" '
        'fill="{color}"/><path d="M6.5 17.5V12M10.2 17.5V7M13.9 17.5v-4M17.6 17.5V9.5" stroke="#fff" '
        'stroke-width="2.2" stroke-linecap="round"/></svg>')
# Three sliders on the same tile: the config page.
CONFIG_ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><rect width="24" height="24" rx="6" '
               'fill="{color}"/><path d="M6 8h12M6 12h12M6 16h12" stroke="#fff" stroke-width="1.8" '
               'stroke-linecap="round"/><circle cx="9" cy="8" r="2" fill="#fff"/><circle cx="15" cy="12" r="2" '
               'fill="#fff"/><circle cx="10" cy="16" r="2" fill="#fff"/></svg>')


def _links(request: Request) -> render.Links:
    view_root = request.scope.get("root_path", "").rstrip("/")
    airflow_root = view_root[: -len(URL_PREFIX)] if view_root.endswith(URL_PREFIX) else ""
    return render.Links(view_root, airflow_root)


def _session():
    from airflow.utils.session import create_session

    return create_session()


def _html(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status_code, headers=HTML_HEADERS)


def _sections(user: Any, runs: int, reports: bool = True):
    """The sync DAGs the user may read, each with its last ``runs`` runs; and how many were hidden."""
    from airflow_provider_oomnitza.ui.data import recent_runs, sync_dags

    with _session() as session:
        sections = sync_dags(session)
        allowed = readable(user, [s.dag_id for s in sections], session)
        shown = [s for s in sections if s.dag_id in allowed]
        for section in shown:
            section.runs = recent_runs(session, section.dag_id, runs, reports=reports)
    return shown, len(sections) - len(shown)


def _run(user: Any, dag_id: str, run_id: str):
    """The section and run, after checking the user may read the DAG's runs (403), and both exist (404)."""
    from airflow_provider_oomnitza.ui.data import RunFiles, find_run, sync_dag

    with _session() as session:
        require_readable(user, dag_id, session)
        section = sync_dag(session, dag_id)
        if section is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{dag_id} is not an Oomnitza sync DAG Airflow knows")
        run = find_run(session, dag_id, run_id)
        if run is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"DAG {dag_id} has no run {run_id}")
    files = RunFiles(dag_id, run_id)
    run.report = files.report()
    return section, run, files


def create_app() -> FastAPI:
    app = FastAPI(title="Oomnitza sync view", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        """JSON for the data routes; for pages, an HTML page (with a login link after a 401)."""
        if request.url.path.startswith(f"{request.scope.get('root_path', '')}/api/") or \
                "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        login = login_url(str(request.url.path)) if exc.status_code == status.HTTP_401_UNAUTHORIZED else None
        return _html(render.error_page(exc.status_code, str(exc.detail), login), exc.status_code)

    from airflow_provider_oomnitza.ui.config_app import router as config_router

    app.include_router(config_router(_links, _html))

    @app.get("/icon.svg", include_in_schema=False)
    def icon(dark: bool = False, config: bool = False) -> Response:
        """The navigation icons (not data: served without login, like Airflow's own static files)."""
        return Response((CONFIG_ICON if config else ICON).format(color="#4c8ee6" if dark else "#1f6fd1"),
                        media_type="image/svg+xml",
                        headers={"Cache-Control": "max-age=86400"})

    @app.get("/", response_class=HTMLResponse)
    def overview(request: Request, runs: int = Query(DEFAULT_RUNS, ge=1, le=MAX_RUNS),
                 user: Any = Depends(current_user)) -> HTMLResponse:
        sections, hidden = _sections(user, runs)
        if hidden and not sections:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "You may not read any Oomnitza sync DAG")
        return _html(render.overview_page(sections, _links(request), runs, user_name(user), hidden))

    @app.get("/dags/{dag_id}/runs/{run_id:path}", response_class=HTMLResponse)
    def run_page(request: Request, dag_id: str, run_id: str,
                 refused_offset: int = Query(0, ge=0), skipped_offset: int = Query(0, ge=0),
                 user: Any = Depends(current_user)) -> HTMLResponse:
        from airflow_provider_oomnitza.ui.data import page_of

        section, run, files = _run(user, dag_id, run_id)
        refused = page_of(files.refused(), refused_offset, PAGE_SIZE)
        skipped = page_of(files.skipped(), skipped_offset, PAGE_SIZE)
        offsets = {"refused": refused_offset, "skipped": skipped_offset}
        return _html(render.run_page(section, run, refused, skipped, _links(request), user_name(user), offsets))

    @app.get("/api/sections")
    def sections_json(runs: int = Query(DEFAULT_RUNS, ge=1, le=MAX_RUNS),
                      user: Any = Depends(current_user)) -> dict[str, Any]:
        sections, hidden = _sections(user, runs)
        if hidden and not sections:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "You may not read any Oomnitza sync DAG")
        return {"sections": [s.as_json() for s in sections], "hidden": hidden}

    @app.get("/api/dags/{dag_id}/runs/{run_id:path}")
    def run_json(dag_id: str, run_id: str, user: Any = Depends(current_user)) -> dict[str, Any]:
        section, run, _ = _run(user, dag_id, run_id)
        return {"section": section.title, **run.as_json()}

    @app.get("/api/dags/{dag_id}/records/{kind}")
    def records_json(dag_id: str, kind: Literal["refused", "skipped"], run_id: str = Query(...),
                     offset: int = Query(0, ge=0), limit: int = Query(50, ge=1, le=MAX_PAGE_SIZE),
                     user: Any = Depends(current_user)) -> dict[str, Any]:
        from airflow_provider_oomnitza.ui.data import page_of

        _, _, files = _run(user, dag_id, run_id)
        found = page_of(files.refused() if kind == "refused" else files.skipped(), offset, limit)
        return {"items": found.items, "offset": found.offset, "limit": found.limit, "total": found.total}

    return app
