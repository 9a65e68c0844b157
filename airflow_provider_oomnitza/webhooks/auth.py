"""Who may post a section's webhooks: Jamf Pro's two authentication options, from an Airflow connection.

Jamf Pro offers "Basic Authentication" (username and password) and "Header Authentication"
(a JSON object of header names and values it adds to every POST). The connection
``oomnitza_webhook_<section>`` (section name lower-cased, other characters than letters,
digits and ``_`` turned into ``_``: ``casper.MDM`` -> ``oomnitza_webhook_casper_mdm``), else
``oomnitza_webhook``, holds either or both:

* login / password: the Basic credentials;
* extra ``{"headers": {"X-Oomnitza-Token": "..."}}``: the same JSON pasted into Jamf Pro; every
  listed header must be present with that value.

A request is let in when it passes one configured option. Without a connection, or with one
that configures neither, every request is refused: the endpoint is never open by accident.
Values are compared in constant time. Connections are read at most every ``CACHE_SECONDS``.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

CONN_PREFIX = "oomnitza_webhook"
CACHE_SECONDS = 15.0


def conn_id_for(section: str) -> str:
    """``casper.MDM`` -> ``oomnitza_webhook_casper_mdm``."""
    return f"{CONN_PREFIX}_{re.sub(r'[^a-z0-9_]+', '_', section.lower())}"


@dataclass(frozen=True)
class WebhookCredentials:
    conn_id: str
    username: str = ""
    password: str = field(default="", repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def configured(self) -> bool:
        return bool(self.username and self.password) or bool(self.headers)

    def admits(self, request_headers: Mapping[str, str]) -> bool:
        """True when the request passes Basic or header authentication (both checked, constant time)."""
        basic = bool(self.username and self.password) and self._basic_ok(request_headers.get("authorization", ""))
        header = bool(self.headers) and self._headers_ok(request_headers)
        return basic or header

    def _basic_ok(self, authorization: str) -> bool:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, sep, password = decoded.partition(":")
        user_ok = _same(user, self.username)
        password_ok = _same(password, self.password)
        return bool(sep) and user_ok and password_ok

    def _headers_ok(self, request_headers: Mapping[str, str]) -> bool:
        results = [_same(request_headers.get(name.lower(), ""), value) for name, value in self.headers.items()]
        return all(results)


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def credentials_from_connection(conn_id: str, conn) -> WebhookCredentials:
    """The credentials an Airflow connection holds; raises ValueError naming a malformed extra."""
    extra = conn.extra_dejson if conn.extra else {}
    headers = extra.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) and k.strip()
                                                for k, v in headers.items()):
        raise ValueError(f"connection {conn_id}: extra 'headers' must be an object of header names to string "
                         "values, as pasted into Jamf Pro's Header Authentication")
    return WebhookCredentials(conn_id, conn.login or "", conn.password or "",
                              {k.strip(): v for k, v in headers.items()})


def airflow_connection(conn_id: str):
    """The connection through the server's secrets chain (backend, env vars, metastore), or None."""
    from airflow.models.connection import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get_connection_from_secrets(conn_id)
    except AirflowNotFoundException:
        return None


class CredentialStore:
    """Per-section credentials (section connection, else the shared one), cached for a few seconds."""

    def __init__(self, lookup: Callable[[str], object] = airflow_connection, ttl: float = CACHE_SECONDS):
        self._lookup = lookup
        self._ttl = ttl
        self._cache: dict[str, tuple[float, WebhookCredentials | None, str]] = {}
        self._lock = threading.Lock()

    def for_section(self, section: str) -> tuple[WebhookCredentials | None, str]:
        """``(credentials or None, why none)``."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(section)
        if hit and now - hit[0] < self._ttl:
            return hit[1], hit[2]
        creds, why = self._load(section)
        with self._lock:
            self._cache[section] = (now, creds, why)
        return creds, why

    def _load(self, section: str) -> tuple[WebhookCredentials | None, str]:
        for conn_id in (conn_id_for(section), CONN_PREFIX):
            conn = self._lookup(conn_id)
            if conn is None:
                continue
            try:
                creds = credentials_from_connection(conn_id, conn)
            except ValueError as exc:
                return None, str(exc)
            if not creds.configured:
                return None, f"connection {conn_id} sets neither login/password nor extra 'headers'"
            return creds, ""
        return None, f"no connection {conn_id_for(section)} or {CONN_PREFIX}"
