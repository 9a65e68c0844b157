"""The webhook endpoint: ``POST <prefix>/<anything>/<section>``, mounted on the Airflow API server.

As the original connector server, the section is the last path segment (``.../casper``,
``.../casper.MDM``, ``.../casper.1``). Answers, in the order they are decided:

* 404 the section is not an enabled, healthy Jamf (casper) section of config.ini;
* 401 the caller does not pass the section's Basic or header authentication (nothing stored);
* 413 the body is larger than ``[oomnitza] webhook_max_body`` bytes (64 KiB by default);
* 415 an XML body (choose JSON in Jamf Pro); 400 not JSON or not a Jamf webhook shape;
* 202 ``ignored`` an event we do not sync, or a device kind the section does not sync;
* 202 ``accepted`` the event is stored in the pending area and a run was requested;
* 503 the pending area cannot be written (nothing was accepted; Jamf may retry).

Bad input never causes a 500: every parse step is checked and answered.
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from airflow_provider_oomnitza.webhooks.auth import CredentialStore
from airflow_provider_oomnitza.webhooks.events import EVENT_KINDS, PayloadError, parse_event
from airflow_provider_oomnitza.webhooks.pending import PendingEvents

log = logging.getLogger("airflow_provider_oomnitza.webhooks")

URL_PREFIX = "/oomnitza/webhook"
DEFAULT_MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class WebhookSection:
    name: str
    sync_type: str  # "computers" or "mobiledevices"


class IniSections:
    """The Jamf sections of config.ini that take webhooks, re-read when the file changes."""

    def __init__(self, ini_path: str | Path | None = None):
        self._ini_path = ini_path
        self._stamp: tuple | None = None
        self._sections: dict[str, WebhookSection] = {}

    def path(self) -> Path:
        from airflow_provider_oomnitza.config.paths import default_ini_path

        return Path(self._ini_path) if self._ini_path else default_ini_path()

    def __call__(self) -> dict[str, WebhookSection]:
        path = self.path()
        try:
            stat = path.stat()
        except OSError:
            return {}
        stamp = (str(path), stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._sections = self._read(path)
            self._stamp = stamp
        return self._sections

    @staticmethod
    def _read(path: Path) -> dict[str, WebhookSection]:
        from airflow_provider_oomnitza.config.loader import load_config
        from airflow_provider_oomnitza.webhooks.runs import supports_webhooks

        try:
            config = load_config(path)
        except (FileNotFoundError, ValueError) as exc:
            log.warning("Oomnitza webhooks: cannot read %s: %s", path, exc)
            return {}
        if config.oomnitza is None or not config.oomnitza.ok:
            return {}
        return {s.name: WebhookSection(s.name, s.settings.sync_type)  # type: ignore[union-attr]
                for s in config.enabled_sections() if s.ok and supports_webhooks(s)}


def max_body_bytes() -> int:
    env = os.environ.get("AIRFLOW__OOMNITZA__WEBHOOK_MAX_BODY")
    if env and env.strip().isdigit():
        return int(env)
    try:
        from airflow.configuration import conf

        return conf.getint("oomnitza", "webhook_max_body", fallback=DEFAULT_MAX_BODY)
    except Exception:  # an unparsable value: keep the safe default
        return DEFAULT_MAX_BODY


class _AsciiJSONResponse(JSONResponse):
    """JSON with non-ASCII escaped: an answer may quote text from the body (an event name) holding a lone
    surrogate, which UTF-8 cannot encode (found by fuzzing: a 500 instead of the 400)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _answer(code: int, **body: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="oomnitza-webhook"'} if code == 401 else None
    return _AsciiJSONResponse(body, status_code=code, headers=headers)


class BodyTooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


RUN_REQUEST_ATTEMPTS = 3


def _default_request_run(section: str, extra: dict[str, Any]) -> str:
    """The asset event, tried a few times: a busy metadata database should not strand the event."""
    import time

    from airflow_provider_oomnitza.webhooks.scheduling import request_run

    for attempt in range(1, RUN_REQUEST_ATTEMPTS + 1):
        try:
            return request_run(section, extra)
        except Exception as exc:
            if attempt == RUN_REQUEST_ATTEMPTS:
                raise
            log.warning("Oomnitza webhook for [%s]: run request failed (%s); trying again", section, exc)
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


def create_app(*, sections: Callable[[], dict[str, WebhookSection]] | None = None,
               credentials: CredentialStore | None = None,
               pending: Callable[[str], PendingEvents] = PendingEvents,
               request_run: Callable[[str, dict[str, Any]], str] = _default_request_run,
               max_body: Callable[[], int] = max_body_bytes) -> FastAPI:
    """The FastAPI app; the keyword arguments exist for tests and embedding."""
    sections = sections or IniSections()
    credentials = credentials or CredentialStore()
    app = FastAPI(title="Oomnitza: Jamf Pro webhooks", docs_url=None, redoc_url=None, openapi_url=None)

    @app.post("/{path:path}", status_code=202)
    async def receive(path: str, request: Request) -> JSONResponse:
        name = path.rsplit("/", 1)[-1]  # a trailing slash leaves no section name: 404
        section = (await run_in_threadpool(sections)).get(name)
        if section is None:
            log.warning("Oomnitza webhook for section %r refused: not an enabled Jamf section of config.ini", name)
            return _answer(404, detail=f"no enabled Jamf (casper) section [{name}] in config.ini")
        creds, why = await run_in_threadpool(credentials.for_section, section.name)
        if creds is None or not creds.admits(request.headers):
            log.warning("Oomnitza webhook for [%s] refused: %s", section.name,
                        why or f"credentials do not match connection {creds.conn_id if creds else '?'}")
            return _answer(401, detail="authentication required")
        try:
            body = await _read_body(request, max_body())
        except BodyTooLarge:
            return _answer(413, detail=f"body larger than {max_body()} bytes")
        if "xml" in request.headers.get("content-type", "").lower():
            return _answer(415, detail="XML webhooks are not read; set the webhook's content type to JSON in Jamf Pro")
        try:
            event = parse_event(body)
        except PayloadError as exc:
            return _answer(400, detail=str(exc))
        if not event.supported:
            return _answer(202, status="ignored", event=event.name,
                           note=f"{event.name} is not synced; supported events: {', '.join(EVENT_KINDS)}")
        if event.kind != section.sync_type:
            return _answer(202, status="ignored", event=event.name,
                           note=f"[{section.name}] syncs {section.sync_type}, not the device of a {event.name} "
                                f"event; point this webhook at a section with sync_type = {event.kind}")
        record = {"section": section.name, **event.to_dict(), "device_key": event.device_key}
        try:
            stored = await run_in_threadpool(pending(section.name).add, record)
        except Exception as exc:  # storage unavailable: the event was not accepted, say so
            log.error("Oomnitza webhook for [%s]: cannot store the event: %s", section.name, exc)
            return _answer(503, detail="the event could not be stored; try again")
        try:
            run = await run_in_threadpool(request_run, section.name,
                                          {"event": event.name, "device": event.device_key, "file": stored})
        except Exception as exc:  # the file is stored: the next run will sync it
            log.error("Oomnitza webhook for [%s]: stored %s but could not request a run: %s",
                      section.name, stored, exc)
            run = "stored; the run request failed and the event waits for the next run"
        log.info("Oomnitza webhook %s for [%s] device %s: %s", event.name, section.name, event.device_key, run)
        return _answer(202, status="accepted", section=section.name, event=event.name, device=event.device_key,
                       run=run)

    return app
