"""A throwaway ConfigMgr (SCCM) site database on the local PostgreSQL, reached through ODBC.

``SccmDatabase(machines=3000).start()`` (or ``with SccmDatabase() as db:``) creates a database
``cm_test_<pid>_<hex>`` on PostgreSQL at 127.0.0.1:5432 (user ``postgres``, trust auth), builds
the views of :mod:`tests.servers.sccm_data` and fills them with a generated fleet; ``stop()``
drops it (``WITH (FORCE)``). Everything, including the set-up, goes through pyodbc, unixODBC
and PostgreSQL's ODBC driver (psqlODBC, registered as ``PostgreSQL Unicode`` by Debian's
``odbc-postgresql``), so the tests exercise the same stack the SCCM hook uses, with a
DSN-less connection string: ``db.connection_string``.

How ConfigMgr's T-SQL names resolve here:

* The data sits in tables of a private schema ``cm_tables``; schema ``dbo`` holds a view of the
  same name over each (``dbo.v_GS_DISK`` ...), and the database's ``search_path`` is
  ``dbo, public``, so both ``v_R_System`` and ``dbo.v_R_System`` resolve, as on SQL Server.
  Three-part names (``CM_ABC.dbo.v_R_System``) do not work in PostgreSQL: do not use them.
* Identifiers are created **unquoted**, so PostgreSQL stores them in lower case
  (``v_r_system.resourceid``). SQL that writes ConfigMgr's mixed-case names **unquoted**
  (``SELECT sys.ResourceID FROM dbo.v_R_System sys``) is folded the same way and works on
  both servers; SQL Server matches them case-insensitively under its default collation.
* Quoted identifiers do not: ``"ResourceID"`` (case-sensitive in PostgreSQL) and ``[ResourceID]``
  (T-SQL only) fail here. Hook SQL must not quote identifiers.
* Result column names come back lower-cased from PostgreSQL (``resourceid``) but as written
  from SQL Server (``ResourceID``): give every output column a lower-case alias
  (``cs.Name0 AS computer_name``), or read rows case-insensitively.
* Keep to SQL both dialects accept: ``?`` parameter markers, ``COALESCE`` (not ``ISNULL``),
  ``CASE``, ``LEFT JOIN``, ``UNION``, ``GROUP BY``/``MAX``, ``ROW_NUMBER() OVER (...)``,
  no ``TOP`` (use ``WHERE``/``OFFSET ... FETCH`` if needed), no ``+`` for string joins.

Run it as a process: ``python -m tests.servers.sccm_db [--machines N]`` prints the connection
string and keeps the database until interrupted.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import time

from tests.servers import sccm_data

INSTALL_HINT = "install unixODBC and the PostgreSQL ODBC driver with scripts/install-test-deps.sh"
PREFERRED_DRIVERS = ("PostgreSQL Unicode", "PostgreSQL Unicode(x64)", "PostgreSQL ANSI")
DATA_SCHEMA = "cm_tables"


def odbc_driver() -> str:
    """The name under which unixODBC knows psqlODBC (see ``odbcinst -q -d``)."""
    import pyodbc

    available = pyodbc.drivers()
    for name in PREFERRED_DRIVERS:
        if name in available:
            return name
    raise RuntimeError(f"no PostgreSQL ODBC driver registered (have {available}); {INSTALL_HINT}")


class SccmDatabase:
    """One throwaway database with the ConfigMgr views and a generated fleet."""

    def __init__(self, machines: int = 3000, seed: int = 11, host: str = "127.0.0.1", port: int = 5432,
                 user: str = "postgres", password: str = "", driver: str | None = None):
        self.machines, self.seed = machines, seed
        self.host, self.port, self.user, self.password = host, port, user, password
        self.driver = driver
        self.name = f"cm_test_{os.getpid()}_{os.urandom(4).hex()}"
        self.fleet: sccm_data.SccmFleet | None = None
        self.created = False
        self.timings: dict[str, float] = {}

    def connection_string(self, database: str | None = None) -> str:
        """DSN-less ODBC connection string (psqlODBC keywords)."""
        return (f"Driver={{{self.driver}}};Server={self.host};Port={self.port};"
                f"Database={database or self.name};Uid={self.user};Pwd={self.password};")

    def connect(self, autocommit: bool = False):
        import pyodbc

        return pyodbc.connect(self.connection_string(), autocommit=autocommit)

    def __enter__(self) -> "SccmDatabase":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> "SccmDatabase":
        import pyodbc

        began = time.perf_counter()
        self.driver = self.driver or odbc_driver()
        self.fleet = sccm_data.generate_fleet(self.machines, self.seed)
        self.timings["generate"] = time.perf_counter() - began
        try:
            admin = pyodbc.connect(self.connection_string("postgres"), autocommit=True)
        except pyodbc.Error as exc:
            raise RuntimeError(f"cannot reach PostgreSQL at {self.host}:{self.port} as {self.user} "
                               f"through ODBC driver {self.driver!r}: {exc}") from exc
        try:
            self._drop_stale_databases(admin)
            admin.execute(f"CREATE DATABASE {self.name}")
            self.created = True
            admin.execute(f"ALTER DATABASE {self.name} SET search_path = dbo, public")
        finally:
            admin.close()
        try:
            mark = time.perf_counter()
            with self.connect() as conn:
                self._create_views(conn)
                self._load(conn)
                self._create_indexes(conn)
                conn.commit()
            self.timings["load"] = time.perf_counter() - mark
        except BaseException:
            self.stop()
            raise
        self.timings["total"] = time.perf_counter() - began
        return self

    def stop(self) -> None:
        import pyodbc

        if not self.created:
            return
        with pyodbc.connect(self.connection_string("postgres"), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        self.created = False

    def exists(self) -> bool:
        import pyodbc

        with pyodbc.connect(self.connection_string("postgres"), autocommit=True) as admin:
            return admin.execute("SELECT count(*) FROM pg_database WHERE datname = ?", self.name).fetchval() == 1

    @staticmethod
    def _drop_stale_databases(admin) -> None:
        """Drop databases left by test processes that were killed before their teardown."""
        for (name,) in admin.execute("SELECT datname FROM pg_database WHERE datname LIKE 'cm_test_%'").fetchall():
            match = re.fullmatch(r"cm_test_(\d+)_[0-9a-f]{8}", name)
            if match and not os.path.exists(f"/proc/{match.group(1)}"):
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _create_views(self, conn) -> None:
        cur = conn.cursor()
        cur.execute(f"CREATE SCHEMA {DATA_SCHEMA}")
        cur.execute("CREATE SCHEMA dbo")
        for view, columns in sccm_data.VIEWS.items():
            cols = ", ".join(f"{name} {kind}" for name, kind in columns)
            # unlogged: a throwaway database needs no crash safety, and loads faster without WAL
            cur.execute(f"CREATE UNLOGGED TABLE {DATA_SCHEMA}.{view} ({cols})")
            cur.execute(f"CREATE VIEW dbo.{view} AS SELECT * FROM {DATA_SCHEMA}.{view}")

    @staticmethod
    def _create_indexes(conn) -> None:
        """After the load (faster than maintaining them row by row): ResourceID joins and lookups."""
        for view, columns in sccm_data.VIEWS.items():
            key = "MachineResourceID" if view == "v_UserMachineRelationship" else "ResourceID"
            conn.execute(f"CREATE INDEX ON {DATA_SCHEMA}.{view} ({key})")

    def _load(self, conn) -> None:
        """One statement per view: the rows travel as one JSON parameter (arrays, not objects)
        and are cast server-side; row-by-row or multi-row INSERTs through psqlODBC are far slower."""
        cur = conn.cursor()
        for view, columns in sccm_data.VIEWS.items():
            names = [name for name, _ in columns]
            casts = ", ".join(f"(e->>{i})::{kind.replace(' NOT NULL', '')}" for i, (_, kind) in enumerate(columns))
            payload = json.dumps([[row.get(n) for n in names] for row in self.fleet.rows[view]],
                                 default=str, ensure_ascii=False)
            cur.execute(f"INSERT INTO {DATA_SCHEMA}.{view} ({', '.join(names)}) "
                        f"SELECT {casts} FROM jsonb_array_elements(CAST(? AS jsonb)) AS e", payload)

    def row_counts(self) -> dict[str, int]:
        return {view: len(rows) for view, rows in self.fleet.rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description="A throwaway ConfigMgr site database on the local PostgreSQL")
    parser.add_argument("--machines", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    args = parser.parse_args()
    db = SccmDatabase(args.machines, args.seed, args.host, args.port)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with db:
        print(db.connection_string(), flush=True)
        print(f"database: {db.name}, machines: {db.machines}, setup: {db.timings['total']:.2f}s", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
