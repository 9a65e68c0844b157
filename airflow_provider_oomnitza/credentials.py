"""Where a section's secrets come from at run time: its connection, env_password, or Vault (vault_keys).

Read only where tasks run (never when the DAG file is parsed: no network then). Every value found
is registered with Airflow's secrets masker. See docs/credentials.md.

* A section's connection is its ``conn_id``, else ``oomnitza_<section>`` when that connection exists;
  the hooks put the connection's values over the INI's.
* ``env_password`` names an environment variable holding the password.
* ``vault_keys`` + ``vault_backend = vault``: each listed setting is read from one Vault secret at
  ``vault_alias`` (default: the section name) through the hashicorp provider's ``VaultHook``
  (connection ``vault_conn_id``, default ``vault_default``). The original read KV v1 at
  ``secret/<section>``: a ``vault_default`` connection with schema ``secret`` and extra
  ``{"kv_engine_version": 1}`` reads the same place.
* ``vault_backend = keyring`` (the original's default) has no Airflow counterpart: a clear error.
"""
from __future__ import annotations

import os
import re
from typing import Any, Mapping

from airflow_provider_oomnitza.masking import mask

# Stands in for a secret the INI does not hold (vault_keys, env_password, conn_id) until a task finds it.
FROM_SECRET_STORE = "<from secret store>"
DOC = "docs/credentials.md"
MIGRATE_HINT = (f"run `oomnitza-airflow migrate-secrets --ini <config.ini>` to move it into an Airflow connection "
                f"({DOC})")
KEYRING_GONE = ("vault_backend = keyring (the default) is not available in Airflow: it read the OS keyring of the "
                "connector's own machine, which Airflow workers do not share; keep the secret in an Airflow "
                "connection (conn_id, or a connection named {conn_id}), which a secrets backend such as Vault can "
                "serve, or set vault_backend = vault to read these keys through the connection {vault_conn_id!r} "
                "(" + DOC + ")")


class CredentialError(ValueError):
    """A secret cannot be found; the message starts with ``[section] key:`` (located by the operators)."""


def inline_secrets(written: Mapping[str, Any], secret_keys: frozenset[str]) -> list[tuple[str, str]]:
    """``(key, warning)`` for each secret a section writes in the INI, and its env_password: they keep
    working; the warning says how to move them."""
    out = [(key, f"secret written in the INI; {MIGRATE_HINT}") for key in sorted(secret_keys) if written.get(key)]
    if written.get("env_password"):
        out.append(("env_password", f"password from an environment variable; {MIGRATE_HINT}"))
    return out


def default_conn_id(section: str) -> str:
    """The connection a section uses without ``conn_id``: ``oomnitza_<section>`` (``.`` and other
    characters an environment variable cannot hold become ``_``)."""
    return "oomnitza_" + re.sub(r"\W", "_", section)


def connection_exists(conn_id: str) -> bool:
    """Whether Airflow's secrets chain (backend, env, metastore via the API) has ``conn_id``."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


def section_conn_id(section: str, settings: Any) -> str:
    """The connection of a section: its ``conn_id``, else ``oomnitza_<section>`` if it exists, else ""."""
    if getattr(settings, "conn_id", ""):
        return settings.conn_id
    candidate = default_conn_id(section)
    return candidate if connection_exists(candidate) else ""


def resolve_secrets(section: str, values: dict[str, Any], *, environ: Mapping[str, str] | None = None,
                    secret_keys: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The secrets a section's settings ``values`` (revealed) point to: ``{setting: value}`` from
    env_password and vault_keys. Raises ``CredentialError`` naming the section and key."""
    environ = os.environ if environ is None else environ
    found: dict[str, Any] = {}
    env_var = values.get("env_password")
    if env_var:
        if env_var not in environ:
            raise CredentialError(f"[{section}] env_password: environment variable {env_var} is not set where this "
                                  "task runs")
        found["password"] = environ[env_var]
    keys = list(values.get("vault_keys") or [])
    if keys:
        backend = values.get("vault_backend") or "keyring"
        vault_conn_id = values.get("vault_conn_id") or "vault_default"
        if backend != "vault":
            raise CredentialError(f"[{section}] vault_backend: " + KEYRING_GONE.format(
                conn_id=default_conn_id(section), vault_conn_id=vault_conn_id))
        found.update(read_vault_keys(section, keys, vault_conn_id, values.get("vault_alias") or section))
    for key, value in {**found, **{k: values.get(k) for k in secret_keys}}.items():
        if isinstance(value, str):
            mask(value)
    return found


def settings_with_secrets(name: str, settings: Any, log: Any = None) -> Any:
    """A section's typed settings (``name``: its INI name) as its hook takes them: secrets from env_password and
    Vault filled in, and its connection (``conn_id``, else ``oomnitza_<section>`` when it exists) named."""
    from pydantic import SecretStr

    secret_keys = type(settings).secret_keys()
    found = resolve_secrets(name, settings.values(reveal=True), secret_keys=secret_keys)
    update: dict[str, Any] = {k: SecretStr(v) if k in secret_keys else v for k, v in found.items()}
    conn_id = section_conn_id(name, settings)
    if conn_id and conn_id != settings.conn_id:
        if log is not None:
            log.info("[%s] uses the Airflow connection %s (named after the section)", name, conn_id)
        update["conn_id"] = conn_id
    return settings.model_copy(update=update) if update else settings


def read_vault_keys(section: str, keys: list[str], vault_conn_id: str, path: str) -> dict[str, str]:
    """``keys`` of the Vault secret at ``path``, read once through ``VaultHook(vault_conn_id)``."""
    from airflow.providers.hashicorp.hooks.vault import VaultHook

    where = (f"[{section}] vault_keys: reading {', '.join(keys)} from Vault (connection {vault_conn_id!r}, "
             f"path {path!r})")
    try:
        secret = VaultHook(vault_conn_id=vault_conn_id).get_secret(secret_path=path)
    except Exception as exc:  # unreachable, sealed, 403, no such connection: never a silent empty password
        raise CredentialError(f"{where} failed: {type(exc).__name__}: {_short(exc)}") from None
    if secret is None:
        raise CredentialError(f"{where}: Vault has no secret at that path (404); write it, e.g. "
                              f"`vault kv put <mount>/{path} {keys[0]}=...`")
    for value in secret.values():
        if isinstance(value, str):
            mask(value)
    missing = [k for k in keys if secret.get(k) in (None, "")]
    if missing:
        raise CredentialError(f"{where}: the secret has no {', '.join(missing)} (keys there: "
                              f"{', '.join(sorted(secret)) or 'none'})")
    return {k: str(secret[k]) for k in keys}


def _short(exc: BaseException, limit: int = 300) -> str:
    """The error and its cause (the provider wraps Vault's 403 in "Vault Authentication Error!")."""
    text = str(exc) or repr(exc)
    if exc.__cause__ is not None:
        text += f" ({type(exc.__cause__).__name__}: {exc.__cause__})"
    return text if len(text) <= limit else text[:limit] + "..."
