"""What the pipeline needs to know about a source type, apart from its hook."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Literal

from airflow_provider_oomnitza.config.settings import CommonSettings

RecordType = Literal["assets", "users"]


@dataclass(frozen=True)
class SourceType:
    """A source type: the INI section prefix, its settings model, record type and default mappings.

    ``mapping_name`` is both the name of the server-side mappings in Oomnitza and the
    ``connector_name`` sent with every record. ``hook`` is the dotted path of the hook
    class that extracts records (every source type has one: tests/test_credentials_registry.py).
    """

    name: str
    title: str
    record_type: RecordType
    mapping_name: str
    settings: type[CommonSettings]
    default_mappings: dict[str, dict] = field(default_factory=dict)
    # source path -> converter attached when a mapping with that exact source has none.
    default_converters: dict[str, str] = field(default_factory=dict)
    hook: str | None = None
    # Optional refinements that depend on the section's settings.
    mapping_name_for: Callable[[CommonSettings], str] | None = None
    extra_mappings: Callable[[CommonSettings], dict[str, dict]] | None = None
    # Defaults that depend on the settings (e.g. Jamf computers vs mobile devices); else default_mappings.
    default_mappings_for: Callable[[CommonSettings], dict[str, dict]] | None = None

    def mapping_name_of(self, settings: CommonSettings) -> str:
        return self.mapping_name_for(settings) if self.mapping_name_for else self.mapping_name

    def default_mappings_of(self, settings: CommonSettings) -> dict[str, dict]:
        return self.default_mappings_for(settings) if self.default_mappings_for else self.default_mappings

    def extra_mappings_of(self, settings: CommonSettings) -> dict[str, dict]:
        return self.extra_mappings(settings) if self.extra_mappings else {}


def simple_mappings(**fields: str | dict) -> dict[str, dict]:
    """Default mappings written short: a string is a source path, a dict is a full spec."""
    return {name: spec if isinstance(spec, dict) else {"source": spec} for name, spec in fields.items()}


@dataclass(frozen=True)
class SourceNeeds:
    """Which source paths a run reads, so that a hook can ask its API for no more.

    Worked out by the mapping layer (``mapping/needs.py``) and handed to the hook. ``paths``
    are the dotted source paths named by mappings and converters; ``whole_records`` is set
    when something may read any field (a custom converter, a record filter, no mapping at
    all): the hook then fetches everything, as when a hook is used on its own.
    """

    paths: frozenset[str] = frozenset()
    whole_records: bool = True

    def names(self, path: str) -> bool:
        """A path needed explicitly is ``path``, inside it, or contains it."""
        return any(_related(path, p) for p in self.paths)

    def reads(self, path: str) -> bool:
        """The run may read ``path``."""
        return self.whole_records or self.names(path)


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")
