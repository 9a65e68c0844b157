"""OomnitzaHook: the destination API (auth, server-side mappings, locations, bulk upserts).

Built on the http provider's ``HttpHook`` for the connection, base URL, TLS and proxy
handling, with two deliberate changes: the connection's login/password are never sent
as Basic auth (Oomnitza uses an ``Authorization2`` token, or a token obtained from
``/api/request_token``), and sessions are kept per thread instead of one per request, so
concurrent bulk posts reuse their TCP connections. Retries use tenacity: 429 and
500/502/503/504 and connection errors are retried with exponential backoff that honours
``Retry-After``. Bulk upserts are keyed by sync_field, so a retried POST is idempotent.

Connection (type ``oomnitza``): host = the Oomnitza URL (with ``https://``); password =
the API token, or login + password of a user; extra may hold ``verify`` and ``timeout``.
"""
from __future__ import annotations

import json
import threading
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import requests
from airflow.providers.http.hooks.http import HttpHook

from airflow_provider_oomnitza import __version__
from airflow_provider_oomnitza.bulk import BulkTarget, OomnitzaError, PushResult, batches, portion_for_run  # noqa: F401
from airflow_provider_oomnitza.hooks.http_client import HttpError, retry_after_seconds, send_with_retries  # noqa: F401
from airflow_provider_oomnitza.masking import mask

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from airflow_provider_oomnitza.config.loader import Config

# Statuses that refuse the content of a batch: the batch is split to find the refused records.
CONTENT_STATUSES = frozenset({400, 413, 422})
USER_AGENT = f"airflow-provider-oomnitza/{__version__}"


class OomnitzaHook(HttpHook):
    """Talks to the Oomnitza API. ``connection`` builds it from an INI instead of an Airflow connection."""

    conn_name_attr = "oomnitza_conn_id"
    default_conn_name = "oomnitza_default"
    conn_type = "oomnitza"
    hook_name = "Oomnitza"

    def __init__(
        self,
        oomnitza_conn_id: str = default_conn_name,
        *,
        connection: Connection | None = None,
        timeout: float = 60.0,
        max_attempts: int = 8,
        max_wait: float = 120.0,
    ) -> None:
        super().__init__(method="GET", http_conn_id=oomnitza_conn_id)
        self.oomnitza_conn_id = oomnitza_conn_id
        self._preset = connection
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self._local = threading.local()
        self._token: str | None = None
        self._token_lock = threading.Lock()

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_config(cls, config: Config, **kwargs: Any) -> OomnitzaHook:
        """The hook for a config's ``[oomnitza]`` section: its ``conn_id``, else its own credentials."""
        settings = config.oomnitza.settings if config.oomnitza else None
        if settings is None:
            raise OomnitzaError(f"{config.path}: [oomnitza] is missing or invalid")
        return cls.from_settings(settings.values(reveal=True), **kwargs)

    @classmethod
    def from_settings(cls, values: dict[str, Any], **kwargs: Any) -> OomnitzaHook:
        if values.get("conn_id"):
            return cls(values["conn_id"], **kwargs)
        from airflow.sdk import Connection

        token = values.get("api_token") or ""
        connection = Connection(
            conn_id="oomnitza_ini",
            conn_type="oomnitza",
            host=values["url"].rstrip("/"),
            login=None if token else values.get("username") or None,
            password=token or values.get("password") or None,
            extra=json.dumps({"verify": bool(values.get("verify_ssl", True))}),
        )
        return cls("oomnitza_ini", connection=connection, **kwargs)

    def get_connection(self, conn_id: str):  # type: ignore[override]
        return self._preset if self._preset is not None else super().get_connection(conn_id)

    def _extract_auth(self, connection):  # never Basic: Oomnitza gets a token header
        return None

    def _set_base_url(self, connection) -> None:
        """As HttpHook, but a host without a scheme means https: Oomnitza is only served over TLS."""
        super()._set_base_url(connection)
        if "://" not in (connection.host or "") and not connection.schema:
            self.base_url = "https://" + self.base_url.removeprefix("http://")

    def _configure_session_from_extra(self, session, connection, extra_options):
        """HttpHook sends every unknown extra key as a header; keys here are never sent (they may be secrets)."""
        before = set(session.headers)
        session = super()._configure_session_from_extra(session, connection, extra_options)
        dropped = [k for k in connection.extra_dejson if k in session.headers and k not in before]
        for key in dropped:
            del session.headers[key]
        if dropped:
            self.log.warning("Connection %s: extra keys %s are not options of the Oomnitza hook and are ignored "
                             "(known: verify, timeout, proxies, cert, trust_env)", connection.conn_id, dropped)
        return session

    # -- sessions and requests ------------------------------------------------------------------
    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self.get_conn(headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
            session.headers["Authorization2"] = self._get_token(session)
            self._local.session = session
        return session

    def _get_token(self, session: requests.Session) -> str:
        with self._token_lock:
            if self._token is None:
                conn = self.get_connection(self.oomnitza_conn_id)
                if not conn.password:
                    raise OomnitzaError(f"connection {self.oomnitza_conn_id!r} has no API token or password")
                if conn.login:
                    self._token = self._request_token(session, conn.login, conn.password)
                else:
                    self._token = conn.password
                mask(self._token)
            return self._token

    def _request_token(self, session: requests.Session, login: str, password: str) -> str:
        response = self._send(session, "POST", "api/request_token", data={"login": login, "password": password})
        token = response.json().get("token") if response.content else None
        if not token:
            raise OomnitzaError("Oomnitza answered /api/request_token without a token")
        return token

    def _send(self, session: requests.Session, method: str, endpoint: str, **kwargs: Any) -> requests.Response:
        """One HTTP call with retries, through the http provider's run_and_check; raises OomnitzaError."""
        url = self.url_from_endpoint(endpoint)

        def send() -> requests.Response:
            request = requests.Request(method, url, **kwargs)
            return self.run_and_check(session, session.prepare_request(request),
                                      {"check_response": False, "timeout": self.timeout})

        try:
            return send_with_retries(send, what=f"{method} /{endpoint}", max_attempts=self.max_attempts,
                                     max_wait=self.max_wait, log=self.log,
                                     unreachable=f"cannot reach Oomnitza at {self.base_url}")
        except HttpError as exc:
            raise OomnitzaError(str(exc), exc.status) from None

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
        workers = max(1, workers)

        def send(batch: list[dict]) -> None:
            sent, rejected = self._send_batch(batch, target)
            with lock:
                result.sent += sent
                result.batches += 1
                result.rejected.extend(rejected)
            if on_batch:
                on_batch(sent)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="oomnitza-push") as pool:
            pending: set[Future] = set()
            for batch in batches(records, batch_size):
                if len(pending) >= workers * 2:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        future.result()
                pending.add(pool.submit(send, batch))
            for future in pending:
                future.result()
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
        """Counters and per-record outcomes of a portion (all pages)."""
        first = self.call("GET", f"api/v3/connector_run_logs/{portion}", params={"limit": page_size}).json()
        records = list(first.get("records", []))
        total = first.get("total", len(records))
        while len(records) < total:
            page = self.call("GET", f"api/v3/connector_run_logs/{portion}",
                             params={"limit": page_size, "skip": len(records)}).json()
            if not page.get("records"):
                break
            records += page["records"]
        first["records"] = records
        return first
