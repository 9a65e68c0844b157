"""``oomnitza-airflow migrate-secrets``: move a config.ini's inline secrets into Airflow connections (or Vault).

Each section with secrets written in the INI becomes a connection (its ``conn_id``, else
``oomnitza_<section>``) of its hook's connection type, holding every setting that connection type
carries (URL, login, secrets, form fields). Connections are written through Airflow's own model
into the metadata database (as ``airflow connections add`` does), or, with ``--to vault``, as KV
secrets in the shape Airflow's ``VaultBackend`` reads, through the hashicorp provider's
``VaultHook``. Then a copy of the INI is written without the secret lines (comments, order and
everything else kept) and with ``conn_id`` where the section had none. Nothing is printed of a
secret. A second run finds every connection as it is and changes nothing.
"""
from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from airflow_provider_oomnitza.config.ini import IniFile, read_ini
from airflow_provider_oomnitza.config.loader import OOMNITZA, Config, SectionConfig
from airflow_provider_oomnitza.credentials import FROM_SECRET_STORE, default_conn_id

CONN_ATTRS = ("conn_type", "host", "login", "password", "extra")
TLS = ("verify_ssl", "cacert_file", "ssl_protocol")


@dataclass
class Plan:
    """One section's move: the connection to write and the INI keys it replaces."""

    section: SectionConfig
    conn_id: str
    fields: dict[str, Any]
    keys: list[str]
    add_conn_id: bool
    outcome: str = ""


@dataclass
class Result:
    plans: list[Plan] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _written(section: SectionConfig, key: str) -> bool:
    return key in section.written and section.written[key] not in ("", FROM_SECRET_STORE)


def connection_fields(section: SectionConfig) -> tuple[dict[str, Any], set[str]] | None:
    """The connection a section's settings make, and the settings it carries; None without a hook."""
    values = section.settings.values(reveal=True)  # type: ignore[union-attr]
    if section.name == OOMNITZA:
        token = values["api_token"]
        fields = {"conn_type": "oomnitza", "host": values["url"], "login": None if token else values["username"],
                  "password": token or values["password"]}
        extra_keys: tuple[str, ...] = TLS
        carried = {"url", "api_token"} if token else {"url", "username", "password"}  # the hook uses the token
    else:
        if section.source is None or section.source.hook is None:
            return None
        module, _, name = section.source.hook.rpartition(".")
        hook = getattr(importlib.import_module(module), name)
        fields = {"conn_type": hook.conn_type}
        for attr, key in hook.connection_fields.items():
            fields[attr] = values.get(key) if values.get(key) not in ("", None, FROM_SECRET_STORE) else None
        extra_keys = hook.extra_fields
        carried = set(hook.connection_fields.values())
    secret_keys = type(section.settings).secret_keys()
    extra = {k: values[k] for k in extra_keys if k in values and (_written(section, k) or k in secret_keys)
             and values[k] not in ("", None, FROM_SECRET_STORE)}
    fields["extra"] = json.dumps(extra, sort_keys=True) if extra else None
    fields = {k: (str(fields[k]) if fields.get(k) is not None and k != "extra" else fields.get(k)) for k in CONN_ATTRS}
    return fields, carried | set(extra)


def plan(config: Config, ini: IniFile) -> Result:
    """What to move: the secrets each section writes in its own lines of the INI."""
    from airflow_provider_oomnitza.config.settings import OomnitzaSettings

    result = Result()
    sections = ([config.oomnitza] if config.oomnitza else []) + list(config.sections.values())
    for section in sections:
        model = OomnitzaSettings if section.name == OOMNITZA else section.source.settings if section.source else None
        written = [k for k in sorted(model.secret_keys()) if _written(section, k)] if model else []
        own = ini.sections[section.name].options if section.name in ini.sections else {}
        secrets = [k for k in written if k in own]
        if len(secrets) < len(written):
            result.skipped.append(f"[{section.name}] {', '.join(k for k in written if k not in own)}: written in "
                                  "[DEFAULT], which other sections share; move it by hand")
        if not secrets:
            continue
        if section.settings is None:
            result.errors.append(f"[{section.name}] cannot be read (see validate); fix it first, its secrets are "
                                 "left as they are")
            continue
        made = connection_fields(section)
        if made is None:
            result.skipped.append(f"[{section.name}] {', '.join(secrets)}: the {section.type_name} source has no "
                                  "connection type yet; left in the INI")
            continue
        fields, carried = made
        kept = [k for k in secrets if k not in carried]
        if kept:
            result.skipped.append(f"[{section.name}] {', '.join(kept)}: its connection type has no field for it; "
                                  "left in the INI")
        moved = [k for k in secrets if k in carried]
        if moved:
            conn_id = section.settings.conn_id or default_conn_id(section.name)  # type: ignore[union-attr]
            result.plans.append(Plan(section, conn_id, fields, moved, not section.settings.conn_id))  # type: ignore
    return result


# -- where connections go ------------------------------------------------------------------------
class AirflowStore:
    """Airflow's metadata database, through Airflow's own ``Connection`` model."""

    where = "Airflow connection"

    def get(self, conn_id: str) -> dict[str, Any] | None:
        from airflow.models import Connection
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            conn = session.scalar(select(Connection).where(Connection.conn_id == conn_id))
            return None if conn is None else {a: getattr(conn, a) or None for a in CONN_ATTRS}

    def put(self, conn_id: str, fields: dict[str, Any]) -> None:
        from airflow.models import Connection
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            conn = session.scalar(select(Connection).where(Connection.conn_id == conn_id))
            if conn is None:
                session.add(Connection(conn_id=conn_id, **fields))
            else:
                for attr in CONN_ATTRS:
                    setattr(conn, attr, fields[attr])


class VaultStore:
    """KV secrets at ``<connections_path>/<conn_id>`` in the shape Airflow's ``VaultBackend`` reads."""

    where = "Vault secret"

    def __init__(self, vault_conn_id: str, connections_path: str):
        from airflow.providers.hashicorp.hooks.vault import VaultHook

        self.hook = VaultHook(vault_conn_id=vault_conn_id)
        self.path = connections_path.strip("/")

    def get(self, conn_id: str) -> dict[str, Any] | None:
        secret = self.hook.get_secret(f"{self.path}/{conn_id}")
        if secret is None:
            return None
        out = {a: secret.get(a) or None for a in CONN_ATTRS}
        if isinstance(out["extra"], dict):
            out["extra"] = json.dumps(out["extra"], sort_keys=True)
        return out

    def put(self, conn_id: str, fields: dict[str, Any]) -> None:
        self.hook.create_or_update_secret(f"{self.path}/{conn_id}", {k: v for k, v in fields.items() if v is not None})


# -- the secret-free copy ------------------------------------------------------------------------
def secret_free_lines(text: str, ini: IniFile, plans: list[Plan]) -> list[str]:
    """``text``'s lines without the moved secrets' lines (continuations too), ``conn_id = ...`` in place of
    the first one where the section had no conn_id."""
    lines = text.splitlines(keepends=True)
    drop: set[int] = set()
    insert: dict[int, str] = {}
    for p in plans:
        first = None
        for key in p.keys:
            value = ini.sections[p.section.name].options[key]
            numbers = value.lines or [value.line]
            drop.update(numbers)
            first = min(first or numbers[0], numbers[0])
        if p.add_conn_id and first is not None:
            insert[first] = f"conn_id = {p.conn_id}\n"
    out = []
    for number, line in enumerate(lines, 1):
        if number in insert:
            out.append(insert[number])
        if number not in drop:
            out.append(line)
    return out


def migrate(config: Config, store, *, output: Path, overwrite: bool, print_: Callable[[str], None]) -> int:
    """Move the secrets, write the copy; returns the number of problems (0: done)."""
    ini = read_ini(config.path)
    result = plan(config, ini)
    problems = len(result.errors)
    for message in result.errors:
        print_(f"error: {message}")
    for p in result.plans:
        existing = store.get(p.conn_id)
        what = f"{store.where} {p.conn_id} ({p.fields['conn_type']})"
        keys = ", ".join(p.keys)
        if existing == p.fields:
            p.outcome = "unchanged"
            print_(f"[{p.section.name}] {keys}: {what} already holds them, unchanged")
        elif existing is not None and not overwrite:
            problems += 1
            print_(f"error: [{p.section.name}] {keys}: {what} exists with other values; kept as is (use "
                   "--overwrite to replace it with the INI's)")
        else:
            store.put(p.conn_id, p.fields)
            p.outcome = "updated" if existing is not None else "created"
            print_(f"[{p.section.name}] {keys}: moved to {what}, {p.outcome}")
    for message in result.skipped:
        print_(f"note: {message}")
    if problems:
        print_(f"{problems} problem(s); {output} not written")
        return problems
    text = Path(config.path).read_text(encoding="utf-8")
    new = "".join(secret_free_lines(text, ini, result.plans))
    if output.exists() and output.read_text(encoding="utf-8") == new:
        print_(f"{output} unchanged")
    else:
        output.write_text(new, encoding="utf-8")
        output.chmod(Path(config.path).stat().st_mode & 0o777)
        moved = sum(len(p.keys) for p in result.plans)
        print_(f"wrote {output}: {moved} secret setting(s) removed; check it, then use it as config.ini")
    if not result.plans:
        print_("no secret written in the INI to move")
    return 0
