"""OomnitzaHook: the destination API (auth, server-side mappings, locations, bulk upserts).

Built on the http provider's ``HttpHook`` through its public extension points: the connection
gives the base URL, proxies and options; ``auth_type`` is a ``TokenAuth`` that puts Oomnitza's
``Authorization2`` token on every request (the API token, or a token obtained once from
``/api/request_token`` with the user's login and password: the password goes to that call
only, never Basic auth); the TLS adapter of ``TlsOptions`` is mounted for https. Sessions are
kept per thread, so concurrent bulk posts reuse their TCP connections. Calls go through the
shared retry loop (429/5xx/connection errors, ``Retry-After`` honoured, one re-authentication
on 401). Bulk upserts are keyed by sync_field, so a retried POST is idempotent.

Connection (type ``oomnitza``): host = the Oomnitza URL (``https://`` when no scheme is given);
password = the API token, or login + password of a user; the form's TLS fields as for every
source. A config's ``[oomnitza]`` section without ``conn_id`` becomes such a connection, held in
this process only (``from_settings``).
"""
from __future__ import annotations

import hashlib
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterable, Iterator, Mapping

import requests
from airflow.providers.http.hooks.http import HttpHook

from airflow_provider_oomnitza import __version__
from airflow_provider_oomnitza.bulk import BulkTarget, OomnitzaError, PushResult, batches
from airflow_provider_oomnitza.hooks.http_client import (
    HttpError, TokenAuth, TokenCache, send_with_retries,
)
from airflow_provider_oomnitza.hooks.tls import TlsOptions
from airflow_provider_oomnitza.masking import mask

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_provider_oomnitza.config.loader import Config
    from airflow_provider_oomnitza.config.settings import OomnitzaSettings

# Statuses that refuse the content of a batch: the batch is split to find the refused records.
CONTENT_STATUSES = frozenset({400, 413, 422})
USER_AGENT = f"airflow-provider-oomnitza/{__version__}"
# Connection extra keys HttpHook reads as options; every other key it would send as a header.
HTTP_OPTIONS = frozenset({"stream", "cert", "proxies", "proxy", "timeout", "verify", "verify_ssl", "allow_redirects",
                          "max_redirects", "trust_env", "check_response", "srv_lookup"})
FORM_FIELDS = frozenset({"verify_ssl", "cacert_file", "ssl_protocol"})


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


class _ExtraTls:
    """The TLS settings of a connection's extra (``verify`` is HttpHook's own name for verify_ssl)."""

    def __init__(self, extra: dict):
        verify = extra.get("verify_ssl", extra.get("verify", True))
        self.verify_ssl = verify if isinstance(verify, bool) else str(verify).strip().lower() not in ("false", "0",
                                                                                                      "no", "off")
        self.cacert_file = extra.get("cacert_file") or ""
        self.ssl_protocol = extra.get("ssl_protocol") or ""


class OomnitzaHook(HttpHook):
    """Talks to the Oomnitza API: built from a connection id, or from a config's ``[oomnitza]`` settings."""

    conn_name_attr = "oomnitza_conn_id"
    default_conn_name = "oomnitza_default"
    conn_type = "oomnitza"
    hook_name = "Oomnitza"

    # ``[oomnitza]`` sections without conn_id, as connections of this process (never stored or logged).
    _ini_connections: ClassVar[dict[str, Connection]] = {}

    def __init__(
        self,
        oomnitza_conn_id: str = default_conn_name,
        *,
        timeout: float = 60.0,
        max_attempts: int = 8,
        max_wait: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(method="GET", http_conn_id=oomnitza_conn_id, auth_type=self._token_auth)
        self.oomnitza_conn_id = oomnitza_conn_id
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.sleep = sleep
        self._local = threading.local()
        self._tokens: TokenCache | None = None
        self._auth: TokenAuth | None = None
        self._tokens_lock = threading.Lock()
        self.tls: TlsOptions | None = None

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Config, **kwargs: Any) -> OomnitzaHook:
        """The hook for a config's ``[oomnitza]`` section: its ``conn_id``, else its own credentials."""
        settings = config.oomnitza.settings if config.oomnitza else None
        if settings is None:
            raise OomnitzaError(f"{config.path}: [oomnitza] is missing or invalid")
        return cls.from_settings(settings, **kwargs)

    @classmethod
    def from_settings(cls, settings: OomnitzaSettings | Mapping[str, Any], **kwargs: Any) -> OomnitzaHook:
        """The hook for ``[oomnitza]`` settings (typed, or a mapping validated as such)."""
        from airflow_provider_oomnitza.config.settings import OomnitzaSettings

        if not isinstance(settings, OomnitzaSettings):
            settings = OomnitzaSettings.model_validate(dict(settings))
        if settings.conn_id:
            return cls(settings.conn_id, **kwargs)
        return cls(cls._ini_connection(settings), **kwargs)

    @classmethod
    def _ini_connection(cls, settings: OomnitzaSettings) -> str:
        """Hold ``settings`` as a connection of this process; its id (stable for the same settings)."""
        import json

        from airflow.sdk import Connection

        token = settings.api_token.get_secret_value()
        password = token or settings.password.get_secret_value()
        extra = {"verify_ssl": settings.verify_ssl, "ssl_protocol": settings.ssl_protocol}
        fields = [settings.url, settings.username if not token else "", password, json.dumps(extra, sort_keys=True)]
        conn_id = "oomnitza_ini_" + hashlib.sha256("\0".join(fields).encode()).hexdigest()[:16]
        if conn_id not in cls._ini_connections:
            cls._ini_connections[conn_id] = Connection(
                conn_id=conn_id, conn_type="oomnitza", host=settings.url.rstrip("/"),
                login=None if token else settings.username or None, password=password or None,
                extra=json.dumps(extra))
        return conn_id

    @classmethod
    def get_connection(cls, conn_id: str) -> Connection:
        """An ``[oomnitza]`` section held by ``from_settings``, else Airflow's connection (secrets chain)."""
        held = cls._ini_connections.get(conn_id)
        return held if held is not None else super().get_connection(conn_id)

    # -- sessions and requests ------------------------------------------------------------------
    def _token_auth(self, login: str | None = None, password: str | None = None) -> TokenAuth:
        """HttpHook's ``auth_type``: the Authorization2 token, shared by every thread's session."""
        with self._tokens_lock:
            if self._auth is None:
                conn = self.get_connection(self.oomnitza_conn_id)
                login, password = conn.login or None, conn.password or None
                if not password:
                    raise OomnitzaError(f"connection {self.oomnitza_conn_id!r} has no API token or password")
                fetch = (lambda: (self._request_token(login, password), None)) if login else (lambda: (password, None))
                self._tokens = TokenCache(fetch)
                self._auth = TokenAuth(self._tokens, header="Authorization2", scheme="")
            return self._auth

    def get_conn(self, headers: dict[Any, Any] | None = None, extra_options: dict[str, Any] | None = None
                 ) -> requests.Session:
        """HttpHook's session (base URL, token auth, proxies), with this provider's TLS and without the
        connection's extra keys as headers (they may be secrets)."""
        session = super().get_conn(headers, extra_options)
        conn = self.get_connection(self.oomnitza_conn_id)
        extra = conn.extra_dejson
        for key in set(extra) - HTTP_OPTIONS:
            session.headers.pop(key, None)
        unknown = sorted(set(extra) - HTTP_OPTIONS - FORM_FIELDS)
        if unknown:
            self.log.warning("Connection %s: extra keys %s are not options of the Oomnitza hook and are ignored "
                             "(known: %s)", conn.conn_id, unknown, ", ".join(sorted(FORM_FIELDS | HTTP_OPTIONS)))
        if "://" not in (conn.host or "") and not conn.schema:  # Oomnitza is only served over TLS
            self.base_url = "https://" + self.base_url.removeprefix("http://")
        self.tls = TlsOptions.of(_ExtraTls(extra), where=f"connection {conn.conn_id!r}", log=self.log)
        session.verify = self.tls.requests_verify
        session.mount("https://", self.tls.adapter(pool_connections=1, pool_maxsize=1))
        return session

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self.get_conn(headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
            self._local.session = session
        return session

    def _request_token(self, login: str, password: str) -> str:
        response = self._send(self._session(), "POST", "api/request_token", renew=False, auth=_no_auth,
                              data={"login": login, "password": password})
        token = response.json().get("token") if response.content else None
        if not token:
            raise OomnitzaError("Oomnitza answered /api/request_token without a token")
        mask(token)
        return token

    def _send(self, session: requests.Session, method: str, endpoint: str, *, renew: bool = True,
              **kwargs: Any) -> requests.Response:
        """One HTTP call with retries and one re-authentication; raises OomnitzaError."""
        url = self.url_from_endpoint(endpoint)
        kwargs.setdefault("timeout", self.timeout)
        if self.tls is not None:  # per request: a session's verify loses to REQUESTS_CA_BUNDLE
            kwargs.setdefault("verify", self.tls.requests_verify)
        renew_auth = self._auth.renew_if_refused if renew and self._auth is not None else None
        try:
            return send_with_retries(lambda: session.request(method, url, **kwargs), what=f"{method} /{endpoint}",
                                     max_attempts=self.max_attempts, max_wait=self.max_wait, log=self.log,
                                     unreachable=f"cannot reach Oomnitza at {self.base_url}", renew_auth=renew_auth,
                                     sleep=self.sleep)
        except HttpError as exc:
            raise OomnitzaError(str(exc), exc.status, exc.response) from None

    def call(self, method: str, endpoint: str, **kwargs: Any) -> requests.Response:
        return self._send(self._session(), method, endpoint, **kwargs)

    # -- API ------------------------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        try:
            self.call("GET", "api/v2/mappings", params={"name": "AuthTest"})
        except Exception as exc:
            return False, str(exc)
        return True, "Connected to Oomnitza"

    def get_mappings(self, name: str) -> dict[str, Any]:
        """Server-side mappings ``{source: field or [fields]}`` for a mapping name."""
        body = self.call("GET", "api/v2/mappings", params={"name": name}).json()
        if not isinstance(body, dict):
            raise OomnitzaError(f"mappings for {name!r}: expected a JSON object, got {type(body).__name__}")
        return body

    def get_locations(self, page_size: int = 1000) -> list[dict]:
        return list(self.iter_list("api/v3/locations", page_size=page_size))

    def iter_list(self, endpoint: str, page_size: int = 1000, **params: Any) -> Iterator[dict]:
        """A v3 list endpoint, paged with skip/limit until a short page."""
        skip = 0
        while True:
            page = self.call("GET", endpoint, params={**params, "limit": page_size, "skip": skip}).json()
            yield from page
            if len(page) < page_size:
                return
            skip += len(page)

    def push(
        self,
        records: Iterable[dict],
        target: BulkTarget,
        *,
        batch_size: int = 100,
        workers: int = 2,
        on_batch: Callable[[int], None] | None = None,
    ) -> PushResult:
        """Upsert records in batches with ``workers`` requests in flight.

        A batch Oomnitza refuses with a 4xx is split in halves until the refused records are
        isolated; those come back in ``rejected`` with the reason and the rest is sent.
        Transport failures that outlast the retries raise ``OomnitzaError``.
        """
        result = PushResult()
        lock = threading.Lock()
        pending = batches(records, batch_size)
        failure: list[BaseException] = []

        def worker() -> None:
            # Each thread takes the next batch as soon as its request is answered: no order to keep, so
            # one slow answer never holds the others back (workers requests stay in flight).
            while True:
                with lock:
                    if failure:
                        return
                    batch = next(pending, None)
                if batch is None:
                    return
                try:
                    sent, rejected = self._send_batch(batch, target)
                except BaseException as exc:  # raised in the caller's thread below
                    with lock:
                        failure.append(exc)
                    return
                with lock:
                    result.sent += sent
                    result.batches += 1
                    result.rejected.extend(rejected)
                if on_batch:
                    on_batch(sent)

        threads = [threading.Thread(target=worker, name=f"oomnitza-push-{i}", daemon=True)
                   for i in range(max(1, workers))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failure:
            raise failure[0]
        return result

    def _send_batch(self, batch: list[dict], target: BulkTarget) -> tuple[int, list[tuple[dict, str]]]:
        try:
            self.call("POST", "api/v3/bulk", json=target.body(batch))
            return len(batch), []
        except OomnitzaError as exc:
            if exc.status not in CONTENT_STATUSES:
                raise
            if len(batch) == 1:
                return 0, [(batch[0], str(exc))]
        middle = len(batch) // 2
        sent_a, rejected_a = self._send_batch(batch[:middle], target)
        sent_b, rejected_b = self._send_batch(batch[middle:], target)
        return sent_a + sent_b, rejected_a + rejected_b

    def finalize(self, portion: str) -> dict[str, Any]:
        return self.call("POST", f"api/v3/bulk/{portion}/finalize", json={}).json()

    def run_log(self, portion: str, page_size: int = 1000) -> dict[str, Any]:
        """Counters and per-record outcomes of a portion (all pages, in one list: for small portions;
        the report streams them with ``iter_run_log``)."""
        summary: dict[str, Any] = {}
        records = list(self.iter_run_log(portion, page_size, summary=summary))
        return {**summary, "records": records}

    def iter_run_log(self, portion: str, page_size: int = 1000,
                     summary: dict[str, Any] | None = None) -> Iterator[dict]:
        """The per-record outcomes of a portion, page by page, so memory stays flat for millions of
        records; ``summary`` (if given) gets the counters of the first page."""
        seen = 0
        total = None
        while total is None or seen < total:
            params = {"limit": page_size, **({"skip": seen} if seen else {})}
            page = self.call("GET", f"api/v3/connector_run_logs/{portion}", params=params).json()
            rows = page.pop("records", None) or []
            if total is None:
                total = page.get("total", len(rows))
                if summary is not None:
                    summary.update(page)
            if not rows:
                break
            seen += len(rows)
            yield from rows
