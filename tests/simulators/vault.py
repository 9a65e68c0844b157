"""Loopback simulator of HashiCorp Vault's HTTP API: token and AppRole auth, KV v1 and v2 mounts.

Run ``python -m tests.simulators.vault --port 0 --token root-token`` (prints its URL first), or in
tests ``SimulatorThread(build_app(VaultState(root_token="t"))).start()``. The real ``hvac`` client
and Airflow's ``VaultBackend`` talk to it unchanged (``url=`` the printed URL).

What it reproduces (Vault 1.x HTTP API):

* Tokens in ``X-Vault-Token`` or ``Authorization: Bearer``; a missing, unknown or expired token,
  or a token whose policy does not cover the path, gets ``403 {"errors": ["permission denied"]}``
  (Vault does not tell these apart).
* ``GET /v1/auth/token/lookup-self`` (what ``hvac.Client.is_authenticated`` calls).
* ``POST /v1/auth/approle/login`` with ``role_id``/``secret_id`` → ``{"auth": {"client_token"...}}``;
  a wrong pair gets ``400 {"errors": ["invalid role or secret ID"]}``.
* KV v2 at a mount: ``GET|POST|PUT /v1/<mount>/data/<path>`` (read with ``?version=N``; write
  ``{"data": {...}, "options": {"cas": N}}``), ``GET /v1/<mount>/metadata/<path>``, and listing
  with ``GET ?list=true`` on ``metadata/<folder>`` (Vault's ``LIST`` verb, which hvac's
  ``list_secrets`` sends, is refused by aiohttp's HTTP parser before it reaches this app). A missing secret is
  ``404 {"errors": []}``; a soft-deleted version is a 404 whose body still carries its metadata.
* KV v1 at a mount: ``GET|POST|PUT|DELETE /v1/<mount>/<path>``, writes answer 204.
* ``GET /v1/sys/health`` and a sealed mode (``sealed`` in ``/_sim/config``) answering
  ``503 {"errors": ["Vault is sealed"]}`` to everything else.
* Every response carries Vault's envelope (``request_id``, ``lease_id``, ``renewable``,
  ``lease_duration``, ``data``, ``wrap_info``, ``warnings``, ``auth``).

Policies are path globs: a token made with ``paths=["airflow/*"]`` may read and write
``airflow/...`` in every mount form (``<mount>/data/airflow/...`` for KV v2), nothing else.
The root token may do everything.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import fnmatch
import secrets
import time
import uuid
from dataclasses import dataclass, field

from aiohttp import web

from .base import SimState, Settings, add_config_routes, json_response, main, make_app, state_of

DEFAULT_ROOT_TOKEN = "sim-root-token"
PERMISSION_DENIED = "permission denied"


@dataclass
class VaultConfig(Settings):
    """Run-time settings (``GET/POST /_sim/config``)."""

    sealed: bool = False
    token_ttl_s: float = 3600.0   # lifetime of AppRole tokens
    clock_offset_s: float = 0.0   # added to the wall clock: lets a test expire tokens


@dataclass
class Token:
    paths: list[str] | None  # None = root (everything)
    expires: float | None = None
    policies: list[str] = field(default_factory=lambda: ["default"])
    accessor: str = field(default_factory=lambda: secrets.token_hex(12))
    created: float = field(default_factory=time.time)


@dataclass
class Mount:
    version: int  # 1 or 2
    secrets: dict[str, list[dict]] = field(default_factory=dict)  # path -> versions (v1 keeps one)


class VaultState(SimState):
    def __init__(self, root_token: str = DEFAULT_ROOT_TOKEN, mounts: dict[str, int] | None = None) -> None:
        super().__init__(VaultConfig())
        self.root_token = root_token
        self.mount_versions = dict(mounts or {"secret": 2, "kv": 1})
        self.approles: dict[str, tuple[str, list[str]]] = {}  # role_id -> (secret_id, paths)
        self.reads: list[str] = []  # secret paths read, for tests
        self._clear()

    def _clear(self) -> None:
        self.tokens: dict[str, Token] = {self.root_token: Token(paths=None, policies=["root"])}
        self.mounts = {name: Mount(version) for name, version in self.mount_versions.items()}
        self.reads = []

    def reset(self) -> None:
        super().reset()
        self._clear()

    def now(self) -> float:
        return time.time() + self.config.clock_offset_s

    # -- set-up helpers for tests ------------------------------------------------------------------
    def put(self, mount: str, path: str, data: dict) -> None:
        """Store a secret (a new version on KV v2)."""
        self._write(self.mounts[mount], path.strip("/"), data)

    def add_token(self, paths: list[str], ttl_s: float | None = None) -> str:
        token = "hvs." + secrets.token_urlsafe(18)
        self.tokens[token] = Token(paths=list(paths), expires=self.now() + ttl_s if ttl_s else None)
        return token

    def add_approle(self, paths: list[str]) -> tuple[str, str]:
        role_id, secret_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.approles[role_id] = (secret_id, list(paths))
        return role_id, secret_id

    # -- internals ---------------------------------------------------------------------------------
    def token_for(self, request: web.Request) -> Token | None:
        value = request.headers.get("X-Vault-Token", "")
        if not value and request.headers.get("Authorization", "").startswith("Bearer "):
            value = request.headers["Authorization"][len("Bearer "):]
        token = self.tokens.get(value.strip())
        if token is None or (token.expires is not None and token.expires <= self.now()):
            return None
        return token

    def _write(self, mount: Mount, path: str, data: dict) -> dict:
        versions = mount.secrets.setdefault(path, [])
        meta = {"created_time": _iso(self.now()), "custom_metadata": None, "deletion_time": "",
                "destroyed": False, "version": len(versions) + 1}
        if mount.version == 1:
            versions[:] = [{"data": dict(data), "metadata": meta}]
        else:
            versions.append({"data": dict(data), "metadata": meta})
        return meta

    def failure_response(self, status: int, request: web.Request) -> web.Response:
        message = {503: "Vault is sealed", 429: "request path \"%s\": rate limit quota exceeded" % request.path}
        return vault_error(status, message.get(status, "internal error"))

    def rate_limited_response(self, reset_in: float, request: web.Request) -> web.Response:
        return vault_error(429, f"request path {request.path!r}: rate limit quota exceeded",
                           headers={"Retry-After": str(max(1, int(reset_in + 0.999)))})


def _iso(epoch: float) -> str:
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def envelope(data=None, *, auth=None, warnings=None) -> dict:
    return {"request_id": str(uuid.uuid4()), "lease_id": "", "renewable": False, "lease_duration": 0,
            "data": data, "wrap_info": None, "warnings": warnings, "auth": auth, "mount_type": ""}


def vault_error(status: int, *messages: str, headers: dict | None = None) -> web.Response:
    return json_response({"errors": list(messages)}, status=status, headers=headers)


def _allowed(token: Token, path: str) -> bool:
    return token.paths is None or any(fnmatch.fnmatchcase(path, pattern) for pattern in token.paths)


async def _health(request: web.Request) -> web.Response:
    state = state_of(request)
    sealed = state.config.sealed
    body = {"initialized": True, "sealed": sealed, "standby": False, "performance_standby": False,
            "server_time_utc": int(state.now()), "version": "1.17.3", "cluster_name": "vault-sim"}
    return json_response(body, status=503 if sealed else 200)


async def _lookup_self(request: web.Request) -> web.Response:
    state = state_of(request)
    token = state.token_for(request)
    if token is None:
        return vault_error(403, PERMISSION_DENIED)
    ttl = int(token.expires - state.now()) if token.expires else 0
    return json_response(envelope({
        "accessor": token.accessor, "creation_time": int(token.created), "display_name": "token",
        "entity_id": "", "expire_time": _iso(token.expires) if token.expires else None,
        "explicit_max_ttl": 0, "id": request.headers.get("X-Vault-Token", ""), "meta": None, "num_uses": 0,
        "orphan": True, "path": "auth/token/create", "policies": token.policies, "renewable": bool(ttl),
        "ttl": ttl, "type": "service"}))


async def _approle_login(request: web.Request) -> web.Response:
    state = state_of(request)
    try:
        body = await request.json()
    except ValueError:
        return vault_error(400, "failed to parse JSON input")
    role = state.approles.get(str(body.get("role_id", "")))
    if not body.get("role_id"):
        return vault_error(400, "missing role_id")
    if role is None or role[0] != body.get("secret_id"):
        return vault_error(400, "invalid role or secret ID")
    token = state.add_token(role[1], ttl_s=state.config.token_ttl_s)
    ttl = int(state.config.token_ttl_s)
    auth = {"client_token": token, "accessor": state.tokens[token].accessor, "policies": ["default", "airflow"],
            "token_policies": ["default", "airflow"], "metadata": {"role_name": "airflow"},
            "lease_duration": ttl, "renewable": True, "entity_id": "", "token_type": "service", "orphan": True}
    return json_response(envelope(None, auth=auth))


async def _secret(request: web.Request) -> web.Response:
    state: VaultState = state_of(request)
    path = request.match_info["path"].strip("/")
    mount_name, _, rest = path.partition("/")
    mount = state.mounts.get(mount_name)
    token = state.token_for(request)
    if token is None:
        return vault_error(403, PERMISSION_DENIED)
    if mount is None:
        return vault_error(403 if token.paths is not None else 404,
                           PERMISSION_DENIED if token.paths is not None else f"no handler for route \"{path}\". "
                           "route entry not found.")
    method = request.method
    listing = request.query.get("list") == "true"
    if mount.version == 2:
        kind, _, secret_path = rest.partition("/")
        if kind not in ("data", "metadata"):
            return vault_error(404, f"no handler for route \"{path}\". route entry not found.")
    else:
        kind, secret_path = "data", rest
    secret_path = secret_path.strip("/")
    if not _allowed(token, secret_path if not listing else secret_path + "/"):
        return vault_error(403, PERMISSION_DENIED)
    if listing:
        return _list(mount, secret_path)
    if method in ("POST", "PUT"):
        try:
            body = await request.json()
        except ValueError:
            return vault_error(400, "failed to parse JSON input")
        if mount.version == 1:
            state._write(mount, secret_path, body)
            return web.Response(status=204)
        if kind != "data" or not isinstance(body.get("data"), dict):
            return vault_error(400, "no data provided")
        cas = (body.get("options") or {}).get("cas")
        current = len(mount.secrets.get(secret_path, []))
        if cas is not None and int(cas) != current:
            return vault_error(400, "check-and-set parameter did not match the current version")
        return json_response(envelope(state._write(mount, secret_path, body["data"])))
    if method == "DELETE":
        versions = mount.secrets.get(secret_path)
        if versions and mount.version == 2:
            versions[-1]["metadata"]["deletion_time"] = _iso(state.now())
        elif versions:
            del mount.secrets[secret_path]
        return web.Response(status=204)
    versions = mount.secrets.get(secret_path)
    if not versions:
        return vault_error(404)
    state.reads.append(f"{mount_name}/{secret_path}")
    if mount.version == 1:
        return json_response({**envelope(versions[-1]["data"]), "lease_duration": 2764800})
    if kind == "metadata":
        return json_response(envelope(_metadata(versions)))
    wanted = int(request.query.get("version") or 0) or len(versions)
    if not 1 <= wanted <= len(versions):
        return vault_error(404)
    version = versions[wanted - 1]
    if version["metadata"]["deletion_time"]:
        return json_response(envelope({"data": None, "metadata": version["metadata"]}), status=404)
    return json_response(envelope({"data": version["data"], "metadata": version["metadata"]}))


def _metadata(versions: list[dict]) -> dict:
    return {"current_version": len(versions), "oldest_version": 1, "max_versions": 0, "cas_required": False,
            "created_time": versions[0]["metadata"]["created_time"],
            "updated_time": versions[-1]["metadata"]["created_time"], "custom_metadata": None,
            "delete_version_after": "0s",
            "versions": {str(i + 1): {k: v["metadata"][k] for k in ("created_time", "deletion_time", "destroyed")}
                         for i, v in enumerate(versions)}}


def _list(mount: Mount, folder: str) -> web.Response:
    prefix = folder + "/" if folder else ""
    keys = sorted({p[len(prefix):].split("/", 1)[0] + ("/" if "/" in p[len(prefix):] else "")
                   for p in mount.secrets if p.startswith(prefix)})
    if not keys:
        return vault_error(404)
    return json_response(envelope({"keys": keys}))


@web.middleware
async def _sealed(request: web.Request, handler):
    state = state_of(request)
    if state.config.sealed and not request.path.startswith(("/_sim/", "/v1/sys/health")):
        return vault_error(503, "Vault is sealed")
    return await handler(request)


def build_app(state: VaultState) -> web.Application:
    app = make_app(state)
    app.middlewares.append(_sealed)
    add_config_routes(app)
    app.router.add_get("/v1/sys/health", _health)
    app.router.add_get("/v1/auth/token/lookup-self", _lookup_self)
    app.router.add_post("/v1/auth/approle/login", _approle_login)
    app.router.add_route("*", "/v1/{path:.+}", _secret)
    return app


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--token", default=DEFAULT_ROOT_TOKEN, help="the root token")
    p.add_argument("--kv2", action="append", default=None, help="a KV v2 mount (repeatable; default secret)")
    p.add_argument("--kv1", action="append", default=None, help="a KV v1 mount (repeatable; default kv)")


def _from_args(args: argparse.Namespace) -> web.Application:
    mounts = None
    if args.kv2 or args.kv1:
        mounts = {**{m: 2 for m in args.kv2 or []}, **{m: 1 for m in args.kv1 or []}}
    return build_app(VaultState(root_token=args.token, mounts=mounts))


if __name__ == "__main__":
    main(_from_args, "HashiCorp Vault HTTP API simulator (token/AppRole auth, KV v1/v2)", _add_arguments)
