"""What every source hook offers the pipeline: its records, one by one."""
from __future__ import annotations

from typing import Any, ClassVar, Iterator

from airflow.sdk import BaseHook


class SourceHook(BaseHook):
    """Base of the source hooks. A hook is built from a section's settings (secrets resolved).

    ``mappings`` are the section's effective mappings: some sources use them to ask only
    for what is mapped (Jamf subsets, LDAP attributes). ``problems`` collects per-record
    problems the source skipped (a malformed CSV row), each naming where it was.
    """

    # When a section names an Airflow connection (``conn_id``), these connection fields replace
    # the INI settings they name; ``extra_settings`` are read from the connection's extra.
    connection_fields: ClassVar[dict[str, str]] = {"host": "url", "login": "username", "password": "password"}
    extra_settings: ClassVar[tuple[str, ...]] = ()

    conn_name_attr = "conn_id"

    def __init__(self, settings: dict[str, Any] | None = None, *, section: str = "", mappings: dict | None = None,
                 conn_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = dict(settings or {})
        self.section = section
        self.mappings = mappings or {}
        self.problems: list[str] = []
        conn_id = conn_id or self.settings.get("conn_id")
        if conn_id:  # also how Airflow builds the hook for a connection test (hook_class(conn_id=...))
            self.settings["conn_id"] = conn_id
            self.settings.update(self.settings_from_connection(conn_id))

    def settings_from_connection(self, conn_id: str) -> dict[str, Any]:
        """The settings an Airflow connection provides (secrets are masked by Airflow when fetched)."""
        conn = self.get_connection(conn_id)
        values: dict[str, Any] = {}
        for attr, key in self.connection_fields.items():
            value = getattr(conn, attr, None)
            if attr == "host" and value and "://" not in value:
                value = f"{conn.schema or 'https'}://{value}" + (f":{conn.port}" if conn.port else "")
            if value:
                values[key] = value
        extra = conn.extra_dejson
        for key in self.extra_settings:
            if extra.get(key) not in (None, ""):
                values[key] = extra[key]
        return values

    def get_conn(self) -> Any:
        return None

    def test_connection(self) -> tuple[bool, str]:
        """Authenticate and read a little; hooks override ``check()``."""
        try:
            return True, self.check()
        except Exception as exc:
            return False, str(exc)

    def check(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} has no connection test")

    def records(self) -> Iterator[dict]:
        """Every record of the source, streamed."""
        raise NotImplementedError

    def record_by_id(self, record_id: str) -> dict | None:
        """One record (webhook-triggered syncs); sources that cannot do this say so."""
        raise NotImplementedError(f"{type(self).__name__} cannot fetch a single record")

    def report(self, problem: str) -> None:
        self.problems.append(problem)
        self.log.warning("%s", problem)
