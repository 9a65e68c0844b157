"""Loopback simulator of the Chef Infra Server API (the parts an inventory sync reads).

Run ``python -m tests.simulators.chef --port 0 --nodes 5000 --client oomnitza:/path/public.pem``
(prints its URL first), or in tests ``SimulatorThread(build_app(ChefState(nodes=300))).start()``
and register clients with :meth:`ChefState.add_client` (or ``POST /_sim/clients`` from another
process).  :func:`generate_key_pair` makes a throwaway RSA key pair; no key file is shipped.

Endpoints, all under ``/organizations/<org>/`` (the original's ``url`` setting includes the org):

* ``GET search/node?q=&rows=&start=&sort=`` → ``{"total", "start", "rows": [<full node>]}``;
  ``rows`` defaults to 1000 and has no maximum, ``start`` to 0, both must be non-negative integers
  (else 400 ``invalid 'rows' value: 'x'``); ``sort`` is accepted and **ignored**: results always
  come in object-id order, as Chef Server hard-codes ``X_CHEF_id_CHEF_X asc``.  ``q`` missing =
  ``*:*``; ``q=`` empty or unparsable → 400 ``invalid search query: '<q>'``.  Queries: ``*:*``,
  ``field:value`` with ``*``/``?`` wildcards over the flattened index fields (``platform``,
  ``kernel_os_info_serial_number``, leaf names alone), ``AND`` / ``OR`` / ``NOT`` / parentheses.
* ``POST search/node?q=...`` with ``{"<name>": ["path", "to", "attr"], ...}`` → partial search:
  rows of ``{"url": ".../nodes/<name>", "data": {"<name>": value-or-null}}``; paths are read from
  the deep-merged node (``["ipaddress"]``, ``["kernel", "os_info", "serial_number"]``), as the
  real server does; a body that is not such a map → 400 ``invalid partial search request body``.
* ``GET search`` (the index list), ``GET search/role``; any other index → 404
  ``I don't know how to search for <x> data objects.``
* ``GET nodes`` → ``{"<name>": "<url>"}``; ``GET nodes/<name>`` → the node, 404
  ``node '<name>' not found``; ``GET roles`` (the original's connection check) and
  ``GET roles/<name>`` (404 ``Cannot load role <name>``).

Authentication is verified exactly as Chef Server's ``chef_authn`` does it, in its order:

1. ``X-Ops-UserId``, ``X-Ops-Timestamp``, ``X-Ops-Sign``, ``X-Ops-Content-Hash`` present, else 400
   ``missing required authentication header(s) ...``;
2. the timestamp parses (401 ``bad header(s) X-Ops-Timestamp``) and is within ±15 minutes (401
   ``Failed to authenticate as <id>. Synchronize the clock on your host.``);
3. ``X-Ops-Sign`` names a supported protocol: ``version=1.0`` / ``1.1`` / ``1.2`` (sha1) or
   ``version=1.3`` (sha256), else 400 ``Unsupported authentication protocol version``;
4. the organization exists (404 ``organization '<org>' does not exist.``) and knows the client
   (401 ``Failed to authenticate as '<id>'. Ensure that your node_name and client key are
   correct.``);
5. the signature, joined from ``X-Ops-Authorization-1..N``, verifies with the client's public key
   and the content hash matches the body, else 401 ``Invalid signature for user or client '<id>'``
   with ``WWW-Authenticate: X-Ops-Sign version="1.0" version="1.1"``.  1.0/1.1: the RSA
   public-key decryption (PKCS#1 v1.5 type 1, no DigestInfo) must equal the canonical string
   ``Method / Hashed Path (base64 sha1 of the path without query, repeated and trailing slashes
   removed) / X-Ops-Content-Hash / X-Ops-Timestamp / X-Ops-UserId`` (1.1: base64 sha1 of the user
   id).  1.3: RSASSA-PKCS1-v1_5 SHA-256 over ``Method / Path / X-Ops-Content-Hash /
   X-Ops-Sign:version=1.3 / X-Ops-Timestamp / X-Ops-UserId / X-Ops-Server-API-Version`` (0 when the
   header is absent).
6. ``nodes`` and ``roles`` need read permission on the container: 403 ``missing read
   permission``.  Search does not check it (the server's default); with the ``strict_search_acls``
   setting the rows of an unreadable node are dropped while ``total`` stays Solr's count.

All errors are JSON ``{"error": ["message"]}``; every API response carries ``X-Ops-API-Info``.
Chef Server has no rate limit; the shared ``rate_limit`` knob answers like an overloaded
front end (503, the nginx HTML page), injected 500s like erchef (``internal service error``).
"""
from __future__ import annotations

import argparse
import base64
import datetime as _dt
import fnmatch
import hashlib
import json
import re
import time
from dataclasses import dataclass, field

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from .base import Settings, SimState, add_config_routes, json_response, main, make_app, state_of
from .chef_data import ROLES, NodeStore

DEFAULT_ORG = "example"
API_INFO = "flavor=cs;version=12.0.0;oc_erchef=15.10.12"
WWW_AUTHENTICATE = 'X-Ops-Sign version="1.0" version="1.1"'
REQUIRED_HEADERS = ("X-Ops-UserId", "X-Ops-Timestamp", "X-Ops-Sign", "X-Ops-Content-Hash")
SIGN_VERSIONS = {"1.0": "sha1", "1.1": "sha1", "1.2": "sha1", "1.3": "sha256"}
SERVER_API_VERSIONS = (0, 2)  # min, max of X-Ops-Server-API-Version
SEARCH_INDEXES = ("node", "role", "client", "environment")


def generate_key_pair(bits: int = 2048) -> tuple[bytes, bytes]:
    """A fresh RSA key pair as ``(private PEM (PKCS#1, as Chef issues it), public PEM (SPKI))``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def chef_error(status: int, message: str, headers: dict | None = None) -> web.Response:
    return json_response({"error": [message]}, status=status, headers=headers)


def canonical_path(path: str) -> str:
    """Path as Chef signs it: no query, repeated ``/`` collapsed, no trailing ``/`` (except root)."""
    path = re.sub(r"/+", "/", path.split("?", 1)[0])
    return path.rstrip("/") or "/"


def b64_digest(data: bytes, algorithm: str) -> str:
    return base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def canonical_request(method: str, path: str, content_hash: str, timestamp: str, user_id: str,
                      version: str, server_api_version: int = 0) -> bytes:
    """The string a request signature covers, for sign versions 1.0-1.3."""
    algorithm = SIGN_VERSIONS[version]
    if version == "1.3":
        lines = [f"Method:{method.upper()}", f"Path:{canonical_path(path)}",
                 f"X-Ops-Content-Hash:{content_hash}", f"X-Ops-Sign:version={version}",
                 f"X-Ops-Timestamp:{timestamp}", f"X-Ops-UserId:{user_id}",
                 f"X-Ops-Server-API-Version:{server_api_version}"]
    else:
        uid = b64_digest(user_id.encode(), algorithm) if version in ("1.1", "1.2") else user_id
        lines = [f"Method:{method.upper()}", f"Hashed Path:{b64_digest(canonical_path(path).encode(), algorithm)}",
                 f"X-Ops-Content-Hash:{content_hash}", f"X-Ops-Timestamp:{timestamp}", f"X-Ops-UserId:{uid}"]
    return "\n".join(lines).encode()


@dataclass
class ChefConfig(Settings):
    """Vendor-specific run-time settings (``GET/POST /_sim/config``)."""

    clock_offset_s: float = 0.0        # added to the server's clock (skew tests)
    auth_skew_s: float = 900.0         # accepted |request time - server time|
    strict_search_acls: bool = False   # drop search rows the client may not read


@dataclass
class Client:
    public_key: rsa.RSAPublicKey
    can_read: bool = True


@dataclass
class Org:
    nodes: NodeStore
    clients: dict[str, Client] = field(default_factory=dict)
    roles: dict[str, dict] = field(default_factory=dict)


class ChefState(SimState):
    def __init__(self, nodes: int = 300, seed: int = 1, org: str = DEFAULT_ORG, now: float | None = None,
                 config: ChefConfig | None = None) -> None:
        super().__init__(config or ChefConfig())
        self.orgs: dict[str, Org] = {}
        self.add_org(org, nodes, seed, now)
        self.auth_failures: dict[str, int] = {}

    def add_org(self, name: str, nodes: int, seed: int = 1, now: float | None = None) -> Org:
        store = NodeStore(nodes, seed, time.time() if now is None else now)
        roles = {r: {"name": r, "description": f"{r} role", "json_class": "Chef::Role", "chef_type": "role",
                     "default_attributes": {}, "override_attributes": {},
                     "run_list": [f"recipe[{r}::default]"], "env_run_lists": {}} for r in ROLES}
        self.orgs[name] = Org(store, roles=roles)
        return self.orgs[name]

    def add_client(self, name: str, public_key_pem: bytes | str, org: str = DEFAULT_ORG,
                   can_read: bool = True) -> None:
        pem = public_key_pem.encode() if isinstance(public_key_pem, str) else public_key_pem
        key = serialization.load_pem_public_key(pem)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("a Chef client key must be RSA")
        self.orgs[org].clients[name] = Client(key, can_read)

    def now(self) -> float:
        return time.time() + self.config.clock_offset_s

    def reset(self) -> None:
        super().reset()
        self.auth_failures.clear()

    def count_failure(self, reason: str) -> None:
        self.auth_failures[reason] = self.auth_failures.get(reason, 0) + 1

    def failure_response(self, status: int, request: web.Request) -> web.Response:
        if status == 500:
            return chef_error(500, "internal service error")
        if status in (502, 503, 504):
            return _nginx_page(status)
        return chef_error(status, f"simulated failure {status}")

    def rate_limited_response(self, reset_in: float, request: web.Request) -> web.Response:
        return _nginx_page(503)


_NGINX_TITLES = {502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable", 504: "504 Gateway Time-out"}


def _nginx_page(status: int) -> web.Response:
    title = _NGINX_TITLES[status]
    body = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
            "<hr><center>openresty</center>\r\n</body>\r\n</html>\r\n")
    return web.Response(status=status, text=body, content_type="text/html")


# ---- authentication ------------------------------------------------------------------------------

_ORG_PATH = re.compile(r"^/organizations/([^/]+)(/.*)?$")
_CLIENT_KEY = web.RequestKey("chef_client", Client)


def _parse_timestamp(value: str) -> float | None:
    try:
        when = _dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return None
    return when.replace(tzinfo=_dt.timezone.utc).timestamp()


def _sign_description(value: str) -> tuple[str, str] | None:
    """``(version, algorithm)`` from ``X-Ops-Sign`` if Chef accepts it (``algorithm`` optional)."""
    pairs = dict(kv.split("=", 1) for kv in value.split(";") if kv.count("=") == 1)
    version = pairs.get("version")
    if version not in SIGN_VERSIONS:
        return None
    algorithm = pairs.get("algorithm", SIGN_VERSIONS[version])
    return (version, algorithm) if algorithm == SIGN_VERSIONS[version] else None


def _signature_ok(client: Client, request: web.Request, body: bytes, version: str, api_version: int) -> bool:
    h = request.headers
    algorithm = SIGN_VERSIONS[version]
    if h["X-Ops-Content-Hash"] != b64_digest(body, algorithm):
        return False
    parts, n = [], 1
    while (part := h.get(f"X-Ops-Authorization-{n}")) is not None:
        parts.append(part)
        n += 1
    try:
        signature = base64.b64decode("".join(parts), validate=True)
    except ValueError:
        return False
    plain = canonical_request(request.method, request.raw_path, b64_digest(body, algorithm),
                              h["X-Ops-Timestamp"], h["X-Ops-UserId"], version, api_version)
    key = client.public_key
    try:
        if version in ("1.0", "1.1"):
            return key.recover_data_from_signature(signature, padding.PKCS1v15(), None) == plain
        digest = hashes.SHA1() if version == "1.2" else hashes.SHA256()
        key.verify(signature, plain, padding.PKCS1v15(), digest)
        return True
    except (InvalidSignature, ValueError):
        return False


@web.middleware
async def _auth_middleware(request: web.Request, handler):
    if request.path.startswith("/_sim/"):
        return await handler(request)
    response = await _authenticate(request, handler)
    response.headers["X-Ops-API-Info"] = API_INFO
    return response


async def _authenticate(request: web.Request, handler):
    state: ChefState = state_of(request)
    h = request.headers
    missing = [name for name in REQUIRED_HEADERS if name not in h]
    if missing:
        state.count_failure("missing_headers")
        return chef_error(400, "missing required authentication header(s) " + ", ".join(missing))
    user = h["X-Ops-UserId"]
    signed_at = _parse_timestamp(h["X-Ops-Timestamp"])
    if signed_at is None:
        state.count_failure("bad_timestamp")
        return chef_error(401, "bad header(s) X-Ops-Timestamp")
    if abs(state.now() - signed_at) > state.config.auth_skew_s:
        state.count_failure("bad_clock")
        return chef_error(401, f"Failed to authenticate as {user}. Synchronize the clock on your host.")
    description = _sign_description(h["X-Ops-Sign"])
    if description is None:
        state.count_failure("bad_sign_desc")
        return chef_error(400, "Unsupported authentication protocol version")
    version = description[0]
    api_version_text = h.get("X-Ops-Server-API-Version", "0")
    try:
        api_version = int(api_version_text)
    except ValueError:
        api_version = -1
    low, high = SERVER_API_VERSIONS
    if not low <= api_version <= high:
        return json_response({"error": "invalid-x-ops-server-api-version",
                              "message": f"Specified version {api_version_text} not supported",
                              "min_version": low, "max_version": high}, status=406)
    match = _ORG_PATH.match(request.path)
    if not match:
        return chef_error(404, "Not Found")
    org = state.orgs.get(match.group(1))
    if org is None:
        return chef_error(404, f"organization '{match.group(1)}' does not exist.")
    client = org.clients.get(user)
    if client is None:
        state.count_failure("unknown_client")
        return chef_error(401, f"Failed to authenticate as '{user}'. Ensure that your node_name and "
                               "client key are correct.")
    body = await request.read()
    if not _signature_ok(client, request, body, version, api_version):
        state.count_failure("bad_signature")
        return chef_error(401, f"Invalid signature for user or client '{user}'",
                          headers={"WWW-Authenticate": WWW_AUTHENTICATE})
    request[_CLIENT_KEY] = client
    return await handler(request)


# ---- search query language (the subset of Chef's Lucene syntax inventory queries use) ------------

class BadQuery(ValueError):
    pass


_TOKEN = re.compile(r'\s*(?:(\()|(\))|(AND\b|&&)|(OR\b|\|\|)|(NOT\b|!)|([^\s()"]+:(?:"[^"]*"|[^\s()]+)))')


def parse_query(text: str):
    """A predicate over a node's index document; raises :class:`BadQuery`."""
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise BadQuery(text)
        kind = m.lastindex
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    if not tokens:
        raise BadQuery(text)
    predicate, rest = _parse_or(tokens)
    if rest:
        raise BadQuery(text)
    return predicate


def _parse_or(tokens):
    left, tokens = _parse_and(tokens)
    while tokens and tokens[0][0] == 4:
        right, tokens = _parse_and(tokens[1:])
        left = (lambda a, b: lambda doc: a(doc) or b(doc))(left, right)
    return left, tokens


def _parse_and(tokens):
    left, tokens = _parse_unary(tokens)
    while tokens and tokens[0][0] in (3, 1, 5, 6):  # explicit AND; juxtaposed terms are treated as AND too
        if tokens[0][0] == 3:
            tokens = tokens[1:]
        right, tokens = _parse_unary(tokens)
        left = (lambda a, b: lambda doc: a(doc) and b(doc))(left, right)
    return left, tokens


def _parse_unary(tokens):
    if not tokens:
        raise BadQuery("")
    kind, value = tokens[0]
    if kind == 5:
        inner, rest = _parse_unary(tokens[1:])
        return (lambda doc: not inner(doc)), rest
    if kind == 1:
        inner, rest = _parse_or(tokens[1:])
        if not rest or rest[0][0] != 2:
            raise BadQuery("")
        return inner, rest[1:]
    if kind == 6:
        return _term(value), tokens[1:]
    raise BadQuery(value)


def _term(text: str):
    key, _, pattern = text.partition(":")
    pattern = pattern[1:-1] if pattern.startswith('"') else pattern
    if key == "*" and pattern == "*":
        return lambda doc: True
    if not key or not pattern:
        raise BadQuery(text)
    if any(c in key for c in "*?"):
        regex = re.compile(fnmatch.translate(key))
        keys = lambda doc: [k for k in doc if regex.match(k)]  # noqa: E731
    else:
        keys = lambda doc: [key] if key in doc else []  # noqa: E731
    value_re = re.compile(fnmatch.translate(pattern), re.IGNORECASE)
    return lambda doc: any(value_re.match(v) for k in keys(doc) for v in doc[k])


# ---- handlers ------------------------------------------------------------------------------------

def _org(request: web.Request) -> Org:
    return state_of(request).orgs[request.match_info["org"]]


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}/organizations/{request.match_info['org']}"


def _need_read(request: web.Request) -> web.Response | None:
    if not request[_CLIENT_KEY].can_read:
        return chef_error(403, "missing read permission")
    return None


class BadParam(ValueError):
    pass


def _nonneg(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise BadParam(f"invalid '{name}' value: '{raw}'")
    return value


async def list_indexes(request: web.Request) -> web.Response:
    base = _base_url(request)
    return json_response({index: f"{base}/search/{index}" for index in SEARCH_INDEXES})


async def search(request: web.Request) -> web.Response:
    state: ChefState = state_of(request)
    org = _org(request)
    index = request.match_info["index"]
    try:
        start, rows = _nonneg(request, "start", 0), _nonneg(request, "rows", 1000)
    except BadParam as exc:
        return chef_error(400, str(exc))
    raw_q = request.query.get("q")
    if raw_q is None:
        raw_q = "*:*"
    paths = None
    if request.method == "POST":
        try:
            body = json.loads(await request.read() or b"null")
        except ValueError:
            return chef_error(400, "invalid JSON")
        if not (isinstance(body, dict) and all(
                isinstance(p, list) and all(isinstance(s, str) for s in p) for p in body.values())):
            return chef_error(400, "invalid partial search request body")
        paths = body
    try:
        predicate = parse_query(raw_q)
    except BadQuery:
        return chef_error(400, f"invalid search query: '{raw_q}'")
    base = _base_url(request)
    if index == "node":
        store = org.nodes
        match_all = raw_q.strip() in ("*:*", "name:*")
        hits = store.id_order if match_all else [i for i in store.id_order if predicate(store.index_doc(i))]
        page = hits[start:start + rows]
        if state.config.strict_search_acls and not request[_CLIENT_KEY].can_read:
            page = []
        if paths is None:
            out = [store.node(i) for i in page]
        else:
            out = [{"url": f"{base}/nodes/{store.names[i]}",
                    "data": {k: _extract(store.merged(i), p) for k, p in paths.items()}} for i in page]
        return json_response({"total": len(hits), "start": start, "rows": out})
    if index == "role":
        roles = [r for r in org.roles.values() if predicate(_role_doc(r))]
        page = roles[start:start + rows]
        if paths is not None:
            page = [{"url": f"{base}/roles/{r['name']}", "data": {k: _extract(r, p) for k, p in paths.items()}}
                    for r in page]
        return json_response({"total": len(roles), "start": start, "rows": page})
    if index in ("client", "environment"):
        return json_response({"total": 0, "start": start, "rows": []})
    return chef_error(404, f"I don't know how to search for {index} data objects.")


def _role_doc(role: dict) -> dict[str, list[str]]:
    return {"name": [role["name"]], "chef_type": ["role"], "description": [role["description"]]}


def _extract(item: dict, path: list[str]):
    if not path:
        return None
    value = item
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


async def list_nodes(request: web.Request) -> web.Response:
    denied = _need_read(request)
    if denied:
        return denied
    base = _base_url(request)
    return json_response({name: f"{base}/nodes/{name}" for name in sorted(_org(request).nodes.names)})


async def get_node(request: web.Request) -> web.Response:
    denied = _need_read(request)
    if denied:
        return denied
    store = _org(request).nodes
    name = request.match_info["name"]
    i = store.by_name.get(name)
    if i is None:
        return chef_error(404, f"node '{name}' not found")
    return json_response(store.node(i))


async def list_roles(request: web.Request) -> web.Response:
    denied = _need_read(request)
    if denied:
        return denied
    base = _base_url(request)
    return json_response({name: f"{base}/roles/{name}" for name in sorted(_org(request).roles)})


async def get_role(request: web.Request) -> web.Response:
    denied = _need_read(request)
    if denied:
        return denied
    role = _org(request).roles.get(request.match_info["name"])
    if role is None:
        return chef_error(404, f"Cannot load role {request.match_info['name']}")
    return json_response(role)


async def sim_add_client(request: web.Request) -> web.Response:
    """``{"name", "public_key" (PEM), "org"?, "read"?}``: register a client at run time."""
    state: ChefState = state_of(request)
    try:
        data = await request.json()
        state.add_client(data["name"], data["public_key"], data.get("org", DEFAULT_ORG), data.get("read", True))
    except (KeyError, ValueError, TypeError) as exc:
        return json_response({"error": str(exc)}, status=400)
    return json_response({"ok": True})


def build_app(state: ChefState) -> web.Application:
    app = make_app(state)
    app.middlewares.append(_auth_middleware)
    add_config_routes(app, lambda s: {"orgs": {name: {"nodes": len(o.nodes), "clients": sorted(o.clients)}
                                               for name, o in s.orgs.items()},
                                      "auth_failures": dict(s.auth_failures)})
    app.router.add_post("/_sim/clients", sim_add_client)
    org = "/organizations/{org}"
    app.router.add_get(org + "/search", list_indexes)
    app.router.add_route("GET", org + "/search/{index}", search)
    app.router.add_route("POST", org + "/search/{index}", search)
    app.router.add_get(org + "/nodes", list_nodes)
    app.router.add_get(org + "/nodes/{name}", get_node)
    app.router.add_get(org + "/roles", list_roles)
    app.router.add_get(org + "/roles/{name}", get_role)
    return app


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--nodes", type=int, default=300)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--org", default=DEFAULT_ORG)
    p.add_argument("--client", action="append", default=[], metavar="NAME:PUBLIC_PEM[:noread]",
                   help="a client and the file with its RSA public key (repeatable)")


def _from_args(args: argparse.Namespace) -> web.Application:
    state = ChefState(nodes=args.nodes, seed=args.seed, org=args.org)
    for spec in args.client:
        name, sep, rest = spec.partition(":")
        path, _, flag = rest.partition(":")
        if not sep or not name or not path or flag not in ("", "noread"):
            raise SystemExit(f"--client expects NAME:PUBLIC_PEM[:noread], got {spec!r}")
        with open(path, "rb") as fh:
            state.add_client(name, fh.read(), args.org, can_read=flag != "noread")
    return build_app(state)


if __name__ == "__main__":
    main(_from_args, "Chef Infra Server API simulator", _add_arguments)
