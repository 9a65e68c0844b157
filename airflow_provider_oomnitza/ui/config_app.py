"""The config page's routes, in the sync view's app (same mount point, same login):

  ``GET  /config/``                    every section of the INI in use: state, DAG, issues, settings, mappings, code
  ``GET  /config/sections/{name}``     one section, with Oomnitza's server-side mappings when reachable, and its editor
  ``POST /config/sections/{name}``     ``action`` = validate | preview | save | download, ``text``, ``csrf``

Reading needs Airflow's permission to read the configuration (``is_authorized_configuration(GET)``);
previewing (it runs the section's Python), saving and downloading need the permission to change it
(``PUT``). A POST must come from this server's pages (Origin/Referer) with the user's form token.
A save validates the whole file with the edited section in place and writes nothing if it has any error
(in any section: a file that would not validate is never saved).
"""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response

from airflow_provider_oomnitza.config.loader import CONVERTERS, OOMNITZA
from airflow_provider_oomnitza.ui import config_data as data
from airflow_provider_oomnitza.ui import config_file as cf
from airflow_provider_oomnitza.ui.auth import check_same_origin, csrf_token, current_user, may_config, require_config, user_name
from airflow_provider_oomnitza.ui.config_render import Outcome, overview_page, section_page

log = logging.getLogger("airflow_provider_oomnitza.ui.config")
MAX_FORM_BYTES = 1_000_000
UNPROCESSABLE = 422  # the edit does not validate
ACTIONS = ("validate", "preview", "save", "download")


def _known_dags(dag_ids: list[str]) -> set[str]:
    from sqlalchemy import select

    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    if not dag_ids:
        return set()
    with create_session() as session:
        return set(session.scalars(select(DagModel.dag_id).where(DagModel.dag_id.in_(dag_ids),
                                                                 DagModel.is_stale.is_(False))))


def _current():
    path = data.ini_path()
    try:
        text = data.read_text(path)
    except FileNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{path}: config file not found") from None
    return path, text


def _view(config, text: str, name: str, server: bool = False):
    section = config.oomnitza if name == OOMNITZA else config.sections.get(name)
    mappings = {name: data.server_mappings(config, section)} if server and section is not None else None
    return next((v for v in data.views(config, text, mappings) if v.name == name), None)


def router(links, html) -> APIRouter:
    """``links(request)`` and ``html(body, status)`` are the sync view's (one page shell, one set of URLs)."""
    api = APIRouter()

    @api.get("/config/", response_class=HTMLResponse)
    def config_overview(request: Request, user: Any = Depends(current_user)) -> HTMLResponse:
        require_config(user, "GET")
        path, text = _current()
        config = data.load(text, path)
        views = data.views(config, text)
        file_issues = [i for i in config.issues if i.section not in (CONVERTERS,)]
        return html(overview_page(views, str(path), cf.writable(path), may_config(user, "PUT"), links(request),
                                  user_name(user), _known_dags([v.dag_id for v in views if v.dag_id]), file_issues))

    def _page(request, user, name, text=None, outcome=None, status_code=200) -> HTMLResponse:
        path, current = _current()
        config = data.load(current, path)
        view = _view(config, current, name, server=True)
        if view is None and text is None and name != CONVERTERS:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"{path} has no section [{name}]")
        editable = text if text is not None else view.editable_text if view else f"[{name}]\n"
        dags = _known_dags([view.dag_id] if view and view.dag_id else [])
        return html(section_page(view, name, editable, str(path), cf.writable(path), may_config(user, "PUT"),
                                 csrf_token(user), links(request), user_name(user), dags, outcome), status_code)

    @api.get("/config/sections/{name}", response_class=HTMLResponse)
    def config_section(request: Request, name: str, user: Any = Depends(current_user)) -> HTMLResponse:
        require_config(user, "GET")
        return _page(request, user, name)

    @api.post("/config/sections/{name}")
    async def config_post(request: Request, name: str, user: Any = Depends(current_user)) -> Response:
        require_config(user, "GET")
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "the form is larger than 1 MB")
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
        check_same_origin(request, form.get("csrf"), user)
        action = form.get("action", "validate")
        if action not in ACTIONS:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"action: expected one of {', '.join(ACTIONS)}")
        if action != "validate":
            require_config(user, "PUT")
        edited = form.get("text", "")
        path, current = _current()
        outcome, new_text = _apply(path, current, name, edited, action)
        if outcome.ok and action == "preview":
            config = data.load(new_text, path)
            if name not in config.sections:
                raise HTTPException(status.HTTP_400_BAD_REQUEST, f"[{name}] is not a source section: nothing to preview")
            outcome.preview = data.preview(config, config.sections[name])
        elif outcome.ok and action == "download":
            masked = _masked(new_text)
            return Response(masked, media_type="text/plain; charset=utf-8", headers={
                "Content-Disposition": f'attachment; filename="{path.name}"', "Cache-Control": "no-store"})
        elif outcome.ok and action == "save":
            if not cf.writable(path).ok:
                raise HTTPException(status.HTTP_409_CONFLICT, cf.writable(path).reason)
            backup = cf.save_atomically(path, new_text)
            keys = cf.changed_keys(cf.section_text(current, name), cf.section_text(new_text, name) or "")
            log.warning("config.ini: user %s changed section [%s] of %s (keys: %s); previous file kept as %s",
                        user_name(user), name, path, ", ".join(keys) or "none", backup)
            outcome.message = f"Saved: [{name}] changed ({', '.join(keys) or 'no key'}); previous file kept as {backup.name}"
            return _page(request, user, name, outcome=outcome)
        return _page(request, user, name, text=edited, outcome=outcome,
                     status_code=200 if outcome.ok else UNPROCESSABLE)

    return api


def _apply(path, current: str, name: str, edited: str, action: str) -> tuple[Outcome, str]:
    """The whole file with the edited section in place, validated; and what to tell the user."""
    secrets = cf.secret_keys(name)
    try:
        block = cf.with_secrets(edited, cf.section_text(current, name), name, secrets)
        new_text = cf.replace_block(current, name, block)
    except cf.EditError as exc:
        return Outcome(action, False, str(exc)), current
    config = data.load(new_text, path)
    start = next(i for i, line in enumerate(cf.split_lines(new_text)) if cf.header_of(line) == name) + 1
    shown = [(n, t) for n, t in data.numbered_block(block, start)]
    shown = [(n, _mask_line(t, secrets)) for n, t in shown]
    issues = [i for i in config.all_issues() if i.section == name or (name == CONVERTERS and i.section is None)]
    others = [i for i in config.all_issues() if i.severity == "error" and i not in issues]  # the whole file must validate
    errors = [i for i in issues + others if i.severity == "error"]
    if errors:
        verb = {"save": "Not saved", "download": "Not offered"}.get(action, "Invalid")
        return Outcome(action, False, f"{verb}: {len(errors)} error(s) in the file with this [{name}]", shown,
                       issues + others), new_text
    warnings = len(issues)
    return Outcome(action, True, f"Valid: [{name}] has no errors" + (f", {warnings} warning(s)" if warnings else ""),
                   shown, issues), new_text


def _mask_line(line: str, secrets: set[str]) -> str:
    key = cf.KEY_RE.match(line)
    if key and key.group("key").strip().lower() in secrets:
        return line[: key.end()] + f" {cf.SECRET_PLACEHOLDER} (kept from the file)"
    return line


def _masked(text: str) -> str:
    """The edited file for download, its secret values replaced (secrets never leave the server)."""
    from airflow_provider_oomnitza.config.ini import parse_ini_text

    ini = parse_ini_text(text)
    lines = cf.split_lines(text)
    for name in ini.sections:
        secrets = cf.secret_keys(name)
        for key, value in ini.sections[name].options.items():
            if key in secrets and value.value:
                number = value.line - 1
                line = lines[number]
                end = "\n" if line.endswith("\n") else ""
                lines[number] = line[: cf.KEY_RE.match(line).end()] + f" {cf.SECRET_PLACEHOLDER}" + end
    return "".join(lines)
