"""SccmHook: computers and their software from a ConfigMgr (SCCM) site database (the ``sccm`` source).

An ``OdbcHook`` (apache-airflow-providers-odbc) as well as a source hook: a ``sccm`` connection
also serves ``get_records``, ``run``, ``get_first``, ``SQLExecuteQueryOperator`` and the rest of
``DbApiHook``. Its extension points are used as they are meant to be: the public properties
``odbc_connection_string``, ``driver``, ``database`` and ``connection`` are given the section's
settings (an INI section has no Airflow connection), and ``get_conn()`` is OdbcHook's, wrapped to
turn ODBC errors into messages that name the section, server, database and login, never the
password. ``get_conn()`` opens a new connection on each call, as OdbcHook's does (``run()``
closes the one it gets).

Connection string: ``DRIVER``, ``SERVER``, ``DATABASE``, then ``UID``/``PWD`` (``SQL Server``
authentication) or ``Trusted_Connection=yes`` (``Windows``: the worker's Kerberos ticket with
Microsoft's driver on Linux). Values are quoted as ODBC requires (``{...}``, ``}`` doubled) when
they hold ``;``, braces or outer spaces. ``verify_ssl = false`` adds ``TrustServerCertificate=yes``
(ODBC Driver 18 encrypts and checks the certificate by default). A connection's other extra keys
(``ApplicationIntent``, ``Encrypt``, ``MultiSubnetFailover``...) are appended, as OdbcHook does.
A login waits at most ``timeout`` seconds (ODBC's login timeout), a query ``query_timeout``.

Records: ``{"hardware": {...}, "software": [{"name", "version", "publisher", "path": None}]}``,
the original's shape and field names (see ``sccm_queries``), one record per machine. The
hardware rows are streamed (``fetchmany``); for each batch, one range query on a second
connection reads the batch's software (skipped when no mapping reads ``software``).
"""
from __future__ import annotations

import datetime as _dt
import math
import os
import re
from collections import defaultdict
from contextlib import closing
from typing import Any, Iterator

from airflow.providers.odbc.hooks.odbc import OdbcHook
from airflow.sdk import Connection

from airflow_provider_oomnitza.hooks.base import TLS_FIELDS, SourceHook
from airflow_provider_oomnitza.hooks.errors import SourceConfigError
from airflow_provider_oomnitza.hooks.sccm_queries import COUNT_MACHINES, HARDWARE, SOFTWARE
from airflow_provider_oomnitza.masking import mask
from airflow_provider_oomnitza.sources.sccm import SccmSettings

DOCS = "see docs/sources/sccm.md"
MS_DRIVER = re.compile(r"ODBC Driver (\d+) for SQL Server")
FALLBACK_DRIVERS = ("FreeTDS", "SQL Server")  # FreeTDS (Linux), the legacy driver (Windows)
# Extra keys that are settings or OdbcHook options, not ODBC keywords.
NOT_KEYWORDS = {"driver", "dsn", "connect_kwargs", "sqlalchemy_scheme", "placeholder", "authentication",
                *TLS_FIELDS}
# What a refused login or a wrong database looks like (SQL Server / FreeTDS / psqlODBC wording).
REFUSED = re.compile(r"login failed|authentication failed|role \".*\" does not exist|cannot open database"
                     r"|database \".*\" does not exist|sspi|kerberos|gssapi|untrusted domain", re.I)
QUERY_REFUSED = re.compile(r"invalid object name|does not exist|permission .*denied|permission denied", re.I)
NO_DRIVER = re.compile(r"can't open lib|data source name not found|IM002", re.I)


class SccmError(Exception):
    """The database could not be reached or a query failed (another try of the task may succeed)."""


class SccmConfigError(SourceConfigError):
    """Login, database, driver or rights refused: retrying cannot help, so Airflow does not retry."""


def odbc_value(value: str) -> str:
    """A value as an ODBC connection string needs it: in braces (``}`` doubled) when it could be misread."""
    text = str(value)
    if re.search(r"[;{}=]", text) or text != text.strip():
        return "{" + text.replace("}", "}}") + "}"
    return text


def pick_driver(name: str, installed: list[str]) -> str:
    """``name`` (without braces) if unixODBC/Windows knows it or it is a library path; for an empty
    name, the newest ``ODBC Driver N for SQL Server``, else FreeTDS, else the legacy ``SQL Server``."""
    name = name.strip().lstrip("{").rstrip("}").strip()
    if name:
        if name in installed or (os.sep in name and os.path.exists(name)):
            return name
        raise SccmConfigError(f"driver: ODBC driver {name!r} is not installed (installed: "
                              f"{', '.join(installed) or 'none'}); {DOCS}")
    versions = sorted((int(m[1]), d) for d in installed if (m := MS_DRIVER.fullmatch(d)))
    if versions:
        return versions[-1][1]
    for fallback in FALLBACK_DRIVERS:
        if fallback in installed:
            return fallback
    raise SccmConfigError(f"driver: no SQL Server ODBC driver is installed (installed: {', '.join(installed) or 'none'}"
                          f"); install Microsoft's ODBC Driver 18 for SQL Server or FreeTDS, {DOCS}")


def first_ipv4(addresses: str | None) -> str | None:
    """The first IPv4 address of ConfigMgr's comma-separated list (``10.0.0.5,fe80::1``)."""
    for address in (addresses or "").split(","):
        address = address.strip()
        if address and ":" not in address:
            return address
    return None


def plain(value: Any) -> Any:
    """A value JSON keeps: datetimes as ISO 8601 (``date_format`` reads them)."""
    return value.isoformat() if isinstance(value, (_dt.datetime, _dt.date)) else value


class SccmHook(SourceHook, OdbcHook):
    """Computers from a ConfigMgr site database (see the module docstring)."""

    conn_name_attr = "sccm_conn_id"
    default_conn_name = "sccm_default"
    conn_type = "sccm"
    hook_name = "Microsoft SCCM (ConfigMgr)"
    settings_model = SccmSettings
    connection_fields = {"host": "server", "schema": "database", "login": "username", "password": "password"}
    extra_fields = ("authentication", "driver", *TLS_FIELDS)
    # Hardware rows fetched at a time, and so the machines whose software one query reads.
    batch_size: int = 500
    # Seconds a query may run (pyodbc's Connection.timeout); 0 = no limit.
    query_timeout: int = 1800

    def __init__(self, settings: Any = None, *, driver: str | None = None, **kwargs: Any) -> None:
        if isinstance(settings, str):  # SccmHook("sccm_prod"), as OdbcHook("odbc_prod")
            kwargs.setdefault(self.conn_name_attr, settings)
            settings = None
        super().__init__(settings, **kwargs)
        setattr(self, self.conn_name_attr, self.conn_id)  # what DbApiHook.get_conn_id() answers
        self._driver_given = driver
        self._driver_name: str | None = None
        self._airflow_conn: Connection | None = None
        self.queries = 0  # statements executed by records() and check()

    # -- settings as OdbcHook reads them --------------------------------------------------------
    def values_from_connection(self, conn_id: str) -> dict[str, Any]:
        """host (``,port`` added when given) = server, schema = database, login/password, and the extra's
        own fields; the other extra keys are ODBC keywords (``odbc_connection_string``)."""
        conn = self._airflow_conn = self.get_connection(conn_id)
        values = {key: getattr(conn, attr) for attr, key in self.connection_fields.items()
                  if getattr(conn, attr, None) not in (None, "")}
        if conn.host and conn.port:
            values["server"] = f"{conn.host},{conn.port}"
        extra = conn.extra_dejson
        values.update({key: extra[key] for key in self.extra_fields if extra.get(key) not in (None, "")})
        return values

    @property
    def connection(self) -> Connection:
        """The Airflow connection DbApiHook's helpers read (``connect_kwargs``, ``dsn``...); for an INI
        section, one made of its settings, without secrets."""
        settings = self.settings  # resolving them fetches the Airflow connection, if any
        if self._airflow_conn is None:
            self._airflow_conn = Connection(conn_id=self.conn_id or self.section or "sccm", conn_type=self.conn_type,
                                            host=settings.server, schema=settings.database, login=settings.username)
        return self._airflow_conn

    @property
    def database(self) -> str:
        return self.settings.database

    @property
    def driver(self) -> str:
        """The ODBC driver: the hook's ``driver`` argument, else the ``driver`` setting, else the newest
        SQL Server driver installed."""
        if self._driver_name is None:
            import pyodbc

            try:
                self._driver_name = pick_driver(self._driver_given or self.settings.driver, pyodbc.drivers())
            except SccmConfigError as exc:
                raise SccmConfigError(f"{self.where} {exc}") from None
        return self._driver_name

    @property
    def odbc_connection_string(self) -> str:
        """The connection string, built from the settings each time (it holds the password: never log it)."""
        s = self.settings
        parts: dict[str, Any] = {"DRIVER": "{" + self.driver.replace("}", "}}") + "}"}
        if self.dsn:
            parts["DSN"] = self.dsn
        parts.update(SERVER=s.server, DATABASE=s.database)
        if s.authentication == "Windows":
            parts["Trusted_Connection"] = "yes"
        else:
            parts.update(UID=s.username, PWD=s.password.get_secret_value())
        if not s.verify_ssl:
            parts["TrustServerCertificate"] = "yes"
        if self.conn_id:
            parts.update({k: v for k, v in self.connection_extra.items() if k.lower() not in NOT_KEYWORDS})
        return "".join(f"{key}={value if key == 'DRIVER' else odbc_value(value)};"
                       for key, value in parts.items() if value not in (None, ""))

    @property
    def connect_kwargs(self) -> dict:
        """OdbcHook's ``pyodbc.connect`` arguments, with a login timeout (pyodbc's ``timeout``, ODBC's
        SQL_ATTR_LOGIN_TIMEOUT: the hook's ``timeout``) unless the connection's ``connect_kwargs`` give one."""
        return {"timeout": max(1, math.ceil(self.timeout)), **super().connect_kwargs}

    # -- connecting -----------------------------------------------------------------------------
    def get_conn(self) -> Any:
        """A new pyodbc connection (OdbcHook's), its errors explained without the secret."""
        return self.connect()

    def connect(self) -> Any:
        import pyodbc

        s = self.settings
        mask(s.password.get_secret_value())
        if s.authentication == "Windows" and s.username:
            self.log.info("%s Windows authentication: username is not used (the worker's Kerberos ticket is)",
                          self.where)
        if s.cacert_file or s.ssl_protocol:
            self.log.warning("%s cacert_file and ssl_protocol are not used by ODBC drivers: add the CA to the "
                             "system's trust store (%s)", self.where, DOCS)
        if not s.verify_ssl:
            self.log.warning("%s verify_ssl = false: the SQL Server's certificate is not checked "
                             "(TrustServerCertificate=yes)", self.where)
        try:
            conn = OdbcHook.get_conn(self)
        except pyodbc.Error as exc:
            raise self._error(exc, "connect") from None
        if self.query_timeout:
            try:
                conn.timeout = self.query_timeout
            except pyodbc.Error:  # psqlODBC, for one, has no connection-wide query timeout
                self.log.debug("%s ODBC driver %r has no query timeout", self.where, self.driver)
        return conn

    def _error(self, exc: Exception, what: str) -> Exception:
        """``exc`` told as a message naming the section, the server, database and login, what failed and what
        to check; the password is blanked out in case a driver repeats it."""
        s = self.settings
        state = str(exc.args[0]) if exc.args else ""
        text = " ".join(str(exc.args[1] if len(exc.args) > 1 else exc).split())  # one line
        secret = s.password.get_secret_value()
        if secret:
            text = text.replace(secret, "***")
        login = "Windows authentication" if s.authentication == "Windows" else f"login {s.username!r}"
        where = f"{self.where} SCCM {what} ({s.server}, database {s.database!r}, {login}, driver {self.driver!r})"
        if NO_DRIVER.search(text) or state == "IM002":
            return SccmConfigError(f"{where}: the ODBC driver cannot be loaded: {text}; {DOCS}")
        if state.startswith("28") or REFUSED.search(text):
            hint = ("check that the worker has a Kerberos ticket (kinit) and that its account may log in"
                    if s.authentication == "Windows" else "check username and password")
            return SccmConfigError(f"{where}: refused: {text}; {hint}, and that database is the site "
                                   "database (CM_<site code>)")
        if what != "connect" and (state.startswith("42") and QUERY_REFUSED.search(text)):
            return SccmConfigError(f"{where}: {text}; is database the ConfigMgr site database (CM_<site code>), and "
                                   "may the login read its views (db_datareader or the smsschm_users role)?")
        return SccmError(f"{where}: [{state}] {text}")

    def _execute(self, cursor: Any, sql: str, params: tuple, what: str) -> Any:
        import pyodbc

        self.queries += 1
        try:
            return cursor.execute(sql, *params)
        except pyodbc.Error as exc:
            raise self._error(exc, what) from None

    def _fetch(self, cursor: Any, what: str) -> list:
        import pyodbc

        try:
            return cursor.fetchmany(self.batch_size)
        except pyodbc.Error as exc:
            raise self._error(exc, what) from None

    # -- records --------------------------------------------------------------------------------
    def check(self) -> str:
        s = self.settings
        with closing(self.connect()) as conn:
            machines = self._execute(conn.cursor(), COUNT_MACHINES, (), "hardware query").fetchone()[0]
            self._execute(conn.cursor(), SOFTWARE, (0, 0, 0, 0), "software query").fetchall()
        return (f"Connected to SCCM database {s.database!r} on {s.server} with {self.driver!r}: {machines} machines "
                "with a hardware inventory")

    def records(self) -> Iterator[dict]:
        with_software = self.needs.reads("software")
        count = 0
        with closing(self.connect()) as conn, closing(conn.cursor()) as cursor:
            self._execute(cursor, HARDWARE, (), "hardware query")
            columns = [d[0].lower() for d in cursor.description]
            software_conn = self.connect() if with_software else None
            try:
                while rows := self._fetch(cursor, "hardware query"):
                    machines = [self._hardware(dict(zip(columns, row))) for row in rows]
                    software = (self._software(software_conn, machines[0]["resource_id"],
                                               machines[-1]["resource_id"]) if software_conn else {})
                    for hardware in machines:
                        count += 1
                        yield {"hardware": hardware, "software": software.get(hardware["resource_id"], [])}
            finally:
                if software_conn is not None:
                    software_conn.close()
        self.log.info("SCCM: %d machines%s", count, "" if with_software else " (software not read: no mapping uses it)")

    @staticmethod
    def _hardware(row: dict) -> dict:
        row = {key: plain(value) for key, value in row.items()}
        row["ipv4_address"] = first_ipv4(row["ipv4_address"])
        return row

    def _software(self, conn: Any, first: int, last: int) -> dict[int, list[dict]]:
        """The software of the machines with ``first <= ResourceID <= last``, by ResourceID."""
        by_machine: dict[int, list[dict]] = defaultdict(list)
        with closing(conn.cursor()) as cursor:
            self._execute(cursor, SOFTWARE, (first, last, first, last), "software query")
            while rows := self._fetch(cursor, "software query"):
                for resource_id, name, version, publisher in rows:
                    if name and name.strip():  # T-SQL's <> '' lets no blank name through; PostgreSQL's does
                        by_machine[resource_id].append(
                            {"name": name, "version": version, "publisher": publisher, "path": None})
        return by_machine
