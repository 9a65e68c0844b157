"""What every source hook offers the pipeline: its records, one by one."""
from __future__ import annotations

from typing import Any, Iterator

from airflow.sdk import BaseHook


class SourceHook(BaseHook):
    """Base of the source hooks. A hook is built from a section's settings (secrets resolved).

    ``mappings`` are the section's effective mappings: some sources use them to ask only
    for what is mapped (Jamf subsets, LDAP attributes). ``problems`` collects per-record
    problems the source skipped (a malformed CSV row), each naming where it was.
    """

    def __init__(self, settings: dict[str, Any], *, section: str = "", mappings: dict | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.section = section
        self.mappings = mappings or {}
        self.problems: list[str] = []

    def get_conn(self) -> Any:
        return None

    def records(self) -> Iterator[dict]:
        """Every record of the source, streamed."""
        raise NotImplementedError

    def record_by_id(self, record_id: str) -> dict | None:
        """One record (webhook-triggered syncs); sources that cannot do this say so."""
        raise NotImplementedError(f"{type(self).__name__} cannot fetch a single record")

    def report(self, problem: str) -> None:
        self.problems.append(problem)
        self.log.warning("%s", problem)
