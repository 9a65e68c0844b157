"""What every source hook shares: where its settings come from, TLS, the client options, the records API.

A source hook is built the Airflow way, from a connection id (``JamfHook(jamf_conn_id="jamf_prod")``,
default ``<type>_default``), or from an INI section's typed settings (``JamfHook(settings,
section="casper", needs=...)``); a section with ``conn_id`` gets the connection's values on
top of its own. Both ways end in the same place: ``self.settings``, an instance of the source
type's settings model (``sources/<type>.py``: defaults and limits live there, once), resolved
on first use, so building a hook reads nothing. ``get_conn()`` returns the ready, authenticated
client; ``test_connection()`` makes one cheap authenticated call (``check()``).

A new source hook sets ``conn_name_attr``, ``default_conn_name``, ``conn_type``, ``hook_name``,
``settings_model`` (and the connection fields it reads), and writes ``connect()``,
``check()`` and ``records()``.
"""
from __future__ import annotations

import time
from typing import Any, Callable, ClassVar, Iterator, Mapping

from airflow.sdk import BaseHook
from pydantic import ValidationError

from airflow_provider_oomnitza.config.settings import CommonSettings, SettingsModel
from airflow_provider_oomnitza.credentials import FROM_SECRET_STORE
from airflow_provider_oomnitza.hooks.errors import SourceConfigError
from airflow_provider_oomnitza.hooks.tls import TlsOptions
from airflow_provider_oomnitza.sources.base import SourceNeeds

TLS_FIELDS = ("verify_ssl", "cacert_file", "ssl_protocol")


class SourceHook(BaseHook):
    """Base of the source hooks (see the module docstring).

    ``needs`` says which source paths the run reads (worked out by the mapping layer); sources
    that can ask for less use it (Jamf sections, LDAP attributes). ``problems`` collects
    per-record problems the source skipped, each naming where it was.
    """

    conn_name_attr: ClassVar[str] = "conn_id"
    default_conn_name: ClassVar[str] = ""
    settings_model: ClassVar[type[CommonSettings]] = CommonSettings
    # Connection attribute -> the setting it fills. Connection-form fields (``conn-fields``, kept
    # in the connection's extra) are read under the setting's own name.
    connection_fields: ClassVar[dict[str, str]] = {"host": "url", "login": "username", "password": "password"}
    extra_fields: ClassVar[tuple[str, ...]] = TLS_FIELDS
    # The scheme of a connection's bare host (``dc1.example.com``), unless its schema gives one.
    url_scheme: ClassVar[str] = "https"

    # Incremental sources read only what changed after ``records(since=...)``; once read to the end,
    # ``watermark`` is the ``since`` of the next run. The extract and report tasks keep it (``state.py``).
    incremental: ClassVar[bool] = False

    # Retry policy of every call (tests lower these).
    timeout: float = 60.0
    max_attempts: int = 8
    max_wait: float = 120.0

    def __init__(self, settings: SettingsModel | Mapping[str, Any] | None = None, *, section: str = "",
                 needs: SourceNeeds | None = None, timeout: float | None = None, max_attempts: int | None = None,
                 max_wait: float | None = None, sleep: Callable[[float], None] | None = None,
                 **kwargs: Any) -> None:
        conn_id = kwargs.pop(self.conn_name_attr, None)
        super().__init__(**kwargs)
        self._given = settings
        self._conn_id = conn_id
        self.section = section
        self.needs = needs or SourceNeeds()
        self.problems: list[str] = []
        if timeout is not None:
            self.timeout = timeout
        if max_attempts is not None:
            self.max_attempts = max_attempts
        if max_wait is not None:
            self.max_wait = max_wait
        self.sleep = sleep or time.sleep
        self._settings: Any = None
        self._tls: TlsOptions | None = None
        self._conn: Any = None

    # -- where the settings come from -------------------------------------------------------------
    @property
    def conn_id(self) -> str | None:
        """The Airflow connection this hook reads: the one it was built with, the section's ``conn_id``,
        or the default when it was built from nothing."""
        if self._conn_id:
            return self._conn_id
        given = self._given
        if given is None:
            return self.default_conn_name or None
        value = given.get("conn_id") if isinstance(given, Mapping) else getattr(given, "conn_id", "")
        return value or None

    @property
    def where(self) -> str:
        """How messages name this hook's configuration: the INI section, or the connection."""
        if self.section:
            return f"[{self.section}]"
        return f"connection {self.conn_id!r}" if self.conn_id else f"{type(self).__name__}"

    @property
    def settings(self) -> Any:
        """The typed settings (an instance of ``settings_model``), resolved once, on first use."""
        if self._settings is None:
            self._settings = self._resolve_settings()
        return self._settings

    def _resolve_settings(self) -> Any:
        given, conn_id = self._given, self.conn_id
        if isinstance(given, SettingsModel) and not conn_id:
            return given  # an INI section, validated by the loader
        values = (given.values(reveal=True) if isinstance(given, SettingsModel) else dict(given or {}))
        if conn_id:  # the connection's values win; a secret the INI left to it must come from it
            values = {k: v for k, v in values.items() if v != FROM_SECRET_STORE}
            values.update(self.values_from_connection(conn_id))
            values["conn_id"] = conn_id
        return self._validated(values)

    def values_from_connection(self, conn_id: str) -> dict[str, Any]:
        """The settings an Airflow connection provides (Airflow masks its secrets when it fetches it)."""
        conn = self.get_connection(conn_id)
        values: dict[str, Any] = {}
        for attr, key in self.connection_fields.items():
            value = getattr(conn, attr, None)
            if attr == "host" and value and "://" not in value:
                value = f"{conn.schema or self.url_scheme}://{value}" + (f":{conn.port}" if conn.port else "")
            if value not in (None, ""):
                values[key] = value
        extra = conn.extra_dejson
        for key in self.extra_fields:
            if extra.get(key) not in (None, ""):
                values[key] = extra[key]
        return values

    def _validated(self, values: dict[str, Any]) -> Any:
        """``values`` as ``settings_model``. Settings no connection carries (``sync_field``,
        ``default_role``...) do not matter to a hook; required ones get their documented example."""
        model = self.settings_model
        carried = set(self.connection_fields.values()) | set(self.extra_fields)
        for name, field in model.model_fields.items():
            # Required settings, and those checked even when absent (an asset's sync_field).
            if (field.is_required() or field.validate_default) and name not in values and name not in carried:
                values[name] = _example(model, name)
        try:
            settings = model.model_validate(values)
        except ValidationError as exc:
            problems = [f"{'.'.join(map(str, e['loc'])) or '?'}: {e['msg']}" for e in exc.errors()]
            raise SourceConfigError(f"{self.where} " + "; ".join(problems)) from None
        # Cross-field problems of what a connection carries; the rest (partitions to read...) belong to
        # a section, whose loader reports them.
        problems = [f"{key}: {message}" for key, message in settings.problems() if key in carried or key in values]
        if problems:
            raise SourceConfigError(f"{self.where} " + "; ".join(problems))
        return settings

    # -- TLS and the client -----------------------------------------------------------------------
    @property
    def tls(self) -> TlsOptions:
        """``verify_ssl``, ``cacert_file``, ``cacert_dir`` and ``ssl_protocol``, resolved once."""
        if self._tls is None:
            self._tls = TlsOptions.of(self.settings, where=self.where, log=self.log)
        return self._tls

    def client_options(self) -> dict[str, Any]:
        """What every ``RetryingClient`` of this hook gets: TLS, retry policy, logger."""
        return {"tls": self.tls, "log": self.log, "timeout": self.timeout, "max_attempts": self.max_attempts,
                "max_wait": self.max_wait, "sleep": self.sleep}

    def get_conn(self) -> Any:
        """The ready client, authenticated (built once)."""
        if self._conn is None:
            self._conn = self.connect()
        return self._conn

    def connect(self) -> Any:
        """Build and authenticate the client (hooks of HTTP APIs return a ``RetryingClient``)."""
        return None

    def test_connection(self) -> tuple[bool, str]:
        """Authenticate and read a little (``check()``); the UI's Test button and ``airflow connections test``."""
        try:
            return True, self.check()
        except Exception as exc:
            return False, str(exc)

    def check(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} has no connection test")

    # -- records ----------------------------------------------------------------------------------
    def records(self) -> Iterator[dict]:
        """Every record of the source, streamed."""
        raise NotImplementedError

    def record_by_id(self, record_id: str) -> dict | None:
        """One record (webhook-triggered syncs); sources that cannot do this say so."""
        raise NotImplementedError(f"{type(self).__name__} cannot fetch a single record")

    def report(self, problem: str) -> None:
        self.problems.append(problem)
        self.log.warning("%s", problem)


def _example(model: type, name: str) -> Any:
    """A setting's documented example, from whichever base class documents it (an asset type's
    ``sync_field`` may come from a base without one, e.g. ``LdapSearch`` before ``AssetSettings``)."""
    for klass in model.__mro__:
        field = (vars(klass).get("__pydantic_fields__") or {}).get(name)
        example = (getattr(field, "json_schema_extra", None) or {}).get("example")
        if example not in (None, ""):
            return example
    return ""
