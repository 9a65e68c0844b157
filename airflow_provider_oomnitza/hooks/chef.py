"""ChefHook: nodes of a Chef Infra Server organization (the ``chef`` source).

Authentication: every request is signed with the client's RSA private key, as Chef Server
requires (``ChefAuth``, protocol 1.3: RSASSA-PKCS1-v1_5 with SHA-256 over the canonical request,
``X-Ops-Authorization-1..N``). The key comes from ``key_file`` (a path on every worker) or from
``client_key`` (the PEM text; in an Airflow connection, its Password). It never reaches a log.
The server refuses a signature more than 15 minutes off its clock: that error says by how much
the worker's clock is off. A refused key, client or organization fails the task at once.

Listing: a partial search, ``POST search/node?q=*:*&rows=1000&start=N`` with the attributes
records read (``hooks/chef_records.py``), or, when ``attribute_extension`` reads what partial
search cannot give, ``GET search/node?q=*:*&rows=200&start=N`` (whole nodes). The first page
says how many nodes there are (``total``); the others are read a few at a time, ``start`` +=
``rows`` while ``start`` is below the latest ``total``. Chef Server returns nodes in object-id
order (it ignores ``sort``), so pages line up; a node seen twice (the inventory changed between
pages) is yielded once.

Records: ``{"hardware": {...}}`` (``hooks/chef_records.py``), one per node, streamed.

Connection (type ``chef``): host = the URL with the organization, login = the client name,
password = the private key (PEM), or the ``key_file`` field.
"""
from __future__ import annotations

import base64
import calendar
import email.utils
import hashlib
import json
import re
import time
from functools import partial
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote, urlsplit

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from airflow_provider_oomnitza.hooks.base import TLS_FIELDS, SourceHook
from airflow_provider_oomnitza.hooks.chef_records import (
    node_from_partial, node_record, partial_search_body, partial_search_problem,
)
from airflow_provider_oomnitza.hooks.errors import HttpError, RefusedCredentials, SourceConfigError
from airflow_provider_oomnitza.hooks.http_client import RetryingClient, fetch_in_order, json_of
from airflow_provider_oomnitza.masking import mask
from airflow_provider_oomnitza.sources.chef import ChefSettings

SEARCH = "search/node"
PARTIAL_ROWS = 1000  # a partial search row is a few hundred bytes
FULL_ROWS = 200  # a whole node is tens or hundreds of kB (Ohai's packages, network, languages...)
SIGN_VERSION = "1.3"
SERVER_API_VERSION = 1  # Chef Infra Server 12.4 and later
CHEF_VERSION = "18.5.0"  # X-Chef-Version: the Chef client release whose answer format is wanted
MAX_SKEW = 15 * 60  # what Chef Server accepts between the signature's time and its clock
PEM_PATTERN = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)
KEY_EXPECTED = "expected a PEM RSA private key (-----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----)"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def canonical_path(path: str) -> str:
    """The path as Chef signs it: repeated ``/`` collapsed, no trailing ``/`` (the query is not signed)."""
    return re.sub("/+", "/", path).rstrip("/") or "/"


class ChefAuth(requests.auth.AuthBase):
    """Signs each request as Chef Server's authentication protocol 1.3 asks (a fresh timestamp per send,
    so retries are signed anew)."""

    def __init__(self, client: str, key: rsa.RSAPrivateKey, *, server_api_version: int = SERVER_API_VERSION):
        self.client = client
        self.key = key
        self.server_api_version = str(server_api_version)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        timestamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        content_hash = _b64(hashlib.sha256(body).digest())
        canonical = "\n".join([
            f"Method:{(request.method or 'GET').upper()}",
            f"Path:{canonical_path(urlsplit(request.url).path)}",
            f"X-Ops-Content-Hash:{content_hash}",
            f"X-Ops-Sign:version={SIGN_VERSION}",
            f"X-Ops-Timestamp:{timestamp}",
            f"X-Ops-UserId:{self.client}",
            f"X-Ops-Server-API-Version:{self.server_api_version}",
        ]).encode()
        signature = _b64(self.key.sign(canonical, padding.PKCS1v15(), hashes.SHA256()))
        request.headers.update({
            "X-Ops-Sign": f"algorithm=sha256;version={SIGN_VERSION}",
            "X-Ops-UserId": self.client,
            "X-Ops-Timestamp": timestamp,
            "X-Ops-Content-Hash": content_hash,
            "X-Ops-Server-API-Version": self.server_api_version,
        })
        for n, start in enumerate(range(0, len(signature), 60), 1):
            request.headers[f"X-Ops-Authorization-{n}"] = signature[start:start + 60]
        return request


def pem_bytes(text: str) -> bytes:
    """PEM text as a PEM parser wants it. A key pasted into a one-line password field loses its line breaks
    (or has them as ``\\n``); its base64 body is wrapped again."""
    text = text.replace("\\n", "\n").strip()
    match = PEM_PATTERN.search(text)
    if not match or ":" in match[2]:  # no PEM, or one with headers (an encrypted key): as given
        return text.encode()
    body = "".join(match[2].split())
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {match[1]}-----", *lines, f"-----END {match[1]}-----", ""]).encode()


def load_private_key(data: bytes, source: str) -> rsa.RSAPrivateKey:
    """The RSA key in ``data``; errors name ``source`` (a setting, a file) and never show the data."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise SourceConfigError(f"{source}: the key is encrypted with a passphrase; Chef client keys have none "
                                "(write it out without: openssl rsa -in key.pem -out plain.pem)") from None
    except Exception:  # ValueError, UnsupportedAlgorithm: not a key this can read
        raise SourceConfigError(f"{source}: {KEY_EXPECTED}, got something else") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        kind = type(key).__name__.lstrip("_").replace("PrivateKey", "")
        raise SourceConfigError(f"{source}: {KEY_EXPECTED}, got a {kind} key (Chef client keys are RSA)")
    return key


def chef_message(response: requests.Response | None) -> str:
    """Chef's error text: ``{"error": ["..."]}`` joined, a 406's ``message``, an HTML page's title, or the start
    of the body."""
    if response is None:
        return ""
    try:
        body = response.json()
    except ValueError:
        title = re.search(r"<title>(.*?)</title>", response.text, re.S | re.I)  # a proxy's HTML page
        return " ".join((title[1] if title else response.text).split())[:200]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, list):
            return "; ".join(map(str, error))[:500]
        return str(body.get("message") or error or body)[:500]
    return str(body)[:500]


def clock_skew(response: requests.Response) -> float | None:
    """Seconds the signature's timestamp was off the server's ``Date`` (positive: this clock is ahead)."""
    try:
        sent = calendar.timegm(time.strptime(response.request.headers["X-Ops-Timestamp"], "%Y-%m-%dT%H:%M:%SZ"))
        server = email.utils.parsedate_to_datetime(response.headers["Date"]).timestamp()
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    return sent - server


class ChefError(HttpError):
    """A Chef Server call failed (another try of the task may succeed)."""


class ChefAuthError(RefusedCredentials):
    """Chef Server refused the client, its key or the signature's time (401/403): fails the task at once."""


class ChefSettingsError(SourceConfigError, HttpError):
    """The URL leads to no organization (404), or the server speaks no API version this hook does (406): fails
    at once."""

    def __init__(self, message: str, status: int | None = None, response: requests.Response | None = None):
        HttpError.__init__(self, message, status, response)


class ChefHook(SourceHook):
    """Nodes from Chef Infra Server (see the module docstring)."""

    conn_name_attr = "chef_conn_id"
    default_conn_name = "chef_default"
    conn_type = "chef"
    hook_name = "Chef Infra Server"
    settings_model = ChefSettings
    connection_fields = {"host": "url", "login": "client", "password": "client_key"}
    extra_fields = ("key_file", *TLS_FIELDS)
    partial_search = True  # ask for only the attributes records read
    rows: int | None = None  # nodes per search page; None: PARTIAL_ROWS or FULL_ROWS
    workers = 4  # search pages in flight at once

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.total: int | None = None  # the node count of the latest search page

    @property
    def url(self) -> str:
        return self.settings.url.strip().rstrip("/")

    @property
    def client(self) -> RetryingClient:
        return self.get_conn()

    def private_key(self) -> rsa.RSAPrivateKey:
        """The key from ``client_key`` (PEM text) or else ``key_file``."""
        text = self.settings.client_key.get_secret_value()
        if text:
            mask(text)
            return load_private_key(pem_bytes(text), f"{self.where} client_key")
        path = self.settings.key_file.strip()
        if not path:
            raise SourceConfigError(f"{self.where} key_file: missing: the client's private key file (or the "
                                    "connection's Password with the key's PEM text)")
        try:
            data = Path(path).expanduser().read_bytes()
        except OSError as exc:
            raise SourceConfigError(f"{self.where} key_file: cannot read {path}: {exc.strerror or exc}") from None
        mask(data.decode(errors="replace").strip())
        return load_private_key(data, f"{self.where} key_file {path}")

    def connect(self) -> RetryingClient:
        if not self.settings.client.strip():
            raise SourceConfigError(f"{self.where} client: missing: the Chef client (or user) name the key belongs to")
        auth = ChefAuth(self.settings.client.strip(), self.private_key())
        return RetryingClient(self.url, name="Chef", headers={"Accept": "application/json",
                                                               "X-Chef-Version": CHEF_VERSION},
                              auth=auth, **self.client_options())

    # -- calls ------------------------------------------------------------------------------------
    def _hint(self, status: int, message: str, response: requests.Response | None) -> str:
        client = self.settings.client.strip()
        if status == 401 and "clock" in message.lower():
            skew = clock_skew(response) if response is not None else None
            off = f"this worker's clock is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} the server's" \
                if skew is not None else "this worker's clock is off the server's"
            return f"{off} (Chef accepts {MAX_SKEW // 60} minutes): synchronize it (NTP)"
        if status == 401 and "signature" in message.lower():
            return (f"the private key is not the one the server has for {client!r}: check key_file (or the "
                    "connection's key) and client")
        if status == 401:
            return f"the organization in url has no client or user {client!r}: check client and url"
        if status == 403:
            return f"{client!r} may not read nodes: give it read permission on the organization's nodes"
        if status == 404:
            return "check url: the Chef server URL with organization, e.g. https://chef-server/organizations/ORG"
        if status == 406:
            return "the server does not speak Chef Server API version 1 (Chef Infra Server 12.4 or later needed)"
        if status == 400 and "header" in message:
            return "a proxy between here and the server may drop the X-Ops-* headers"
        return ""

    def _error(self, exc: HttpError, what: str) -> HttpError:
        """An error naming the section, the call, Chef's message and what to check."""
        if exc.status is None:
            return ChefError(f"{self.where} {exc}", None, None)
        response = exc.response
        message = chef_message(response)
        reason = response.reason if response is not None else ""
        text = f"{exc.status} {reason}".strip() + (f": {message}" if message else "")
        if "gave up after" in str(exc):
            text = f"gave up after {self.max_attempts} attempts: {text}"
        hint = self._hint(exc.status, message, response)
        full = f"{self.where} Chef {what} at {self.url}: {text}" + (f"; {hint}" if hint else "")
        if exc.status in (401, 403):
            return ChefAuthError(full, exc.status, response)
        if exc.status in (404, 406):  # no such organization or API: asking again cannot help
            return ChefSettingsError(full, exc.status, response)
        return ChefError(full, exc.status, response)

    def _call(self, method: str, path: str, what: str, **kwargs: Any) -> requests.Response:
        try:
            return self.client.request(method, path, **kwargs)
        except HttpError as exc:
            raise self._error(exc, what) from None

    def _json(self, response: requests.Response, what: str) -> dict:
        body = json_of(response)
        if body is None:
            shown = response.headers.get("Content-Type") or "no content type"
            raise ChefError(f"{self.where} Chef {what} at {self.url}: expected a JSON object, got {shown} "
                            f"({response.text[:120]!r}); is url the Chef server URL with organization?",
                            response.status_code, response)
        return body

    # -- listing ----------------------------------------------------------------------------------
    def search_page(self, start: int, rows: int, partial_body: dict | None = None) -> list[dict]:
        """One page of the node search (a partial search with ``partial_body``); ``self.total`` becomes the
        count it reports."""
        what = f"{'partial ' if partial_body else ''}node search (start {start})"
        params = {"q": "*:*", "rows": rows, "start": start}
        if partial_body is None:
            response = self._call("GET", SEARCH, what, params=params)
        else:
            response = self._call("POST", SEARCH, what, params=params, data=json.dumps(partial_body).encode(),
                                  headers={"Content-Type": "application/json"})
        body = self._json(response, what)
        total, nodes = body.get("total"), body.get("rows")
        if not isinstance(total, int) or not isinstance(nodes, list):
            raise ChefError(f"{self.where} Chef {what} at {self.url}: expected total and rows, got "
                            f"{response.text[:120]!r}", response.status_code, response)
        self.total = total
        return nodes

    def pages(self, rows: int, partial_body: dict | None = None) -> Iterator[list[dict]]:
        """Every page of the search: the first, then the rest ``workers`` at a time while ``start`` < total."""
        yield self.search_page(0, rows, partial_body)

        def calls() -> Iterator[Any]:
            start = rows
            while self.total is not None and start < self.total:  # the latest total: it may change
                yield partial(self.search_page, start, rows, partial_body)
                start += rows

        yield from fetch_in_order(calls(), workers=self.workers, name="chef")

    def search_plan(self) -> tuple[int, dict | None]:
        """``(rows, partial search body or None)``: only the attributes records read, unless
        ``attribute_extension`` reads what partial search cannot give (then whole nodes, said once)."""
        extension = self.settings.attribute_extension
        problem = partial_search_problem(extension) if self.partial_search else "partial search is off"
        if problem:
            self.log.info("Chef: reading whole nodes (%s)", problem)
            return self.rows or FULL_ROWS, None
        return self.rows or PARTIAL_ROWS, partial_search_body(extension)

    def records(self) -> Iterator[dict]:
        extension = self.settings.attribute_extension
        seen: set[str] = set()
        count = again = no_serial = 0
        rows, body = self.search_plan()
        for nodes in self.pages(rows, body):
            for row in nodes:
                node = node_from_partial(row["data"], body) if body and isinstance(row, dict) and isinstance(
                    row.get("data"), dict) else row
                name = node.get("name") if isinstance(node, dict) else None
                if not isinstance(name, str) or not name:
                    self.report(f"Chef node search: an entry that is not a node ({str(node)[:80]!r}); skipped")
                    continue
                if name in seen:
                    again += 1
                    continue
                seen.add(name)
                record = node_record(node, extension)
                no_serial += record["hardware"]["serial_number"] is None
                count += 1
                yield record
        self.log.info("Chef %s: %d nodes of %s%s; %d without a serial number", self.url, count, self.total,
                      f", {again} read twice (the inventory changed during the run)" if again else "", no_serial)
        if count == 0 and self.total:
            self.log.warning("Chef counted %d nodes but returned none: the server may filter search results by "
                             "permission, so give %r read permission on the nodes", self.total,
                             self.settings.client)

    def check(self) -> str:
        self.search_page(0, 1)
        return (f"Connected to Chef Infra Server at {self.url} as {self.settings.client.strip()!r}: "
                f"{self.total} nodes")

    def record_by_id(self, record_id: str) -> dict | None:
        """One node by name, shaped as in ``records()``; None if the organization has no such node."""
        what = f"node {record_id}"
        response = self._call("GET", f"nodes/{quote(str(record_id).strip(), safe='')}", what, ok_statuses=(404,))
        if response.status_code == 404:
            if "organization" in chef_message(response):
                raise self._error(HttpError("", 404, response), what)
            return None
        return node_record(self._json(response, what), self.settings.attribute_extension)

