"""Registry of source types, keyed by the INI section prefix (``casper`` in ``[casper.MDM]``)."""
from __future__ import annotations

from airflow_provider_oomnitza.sources import (
    airwatch, appledep, bamboohr, casper, chef, files, jasper, ldap, mobileiron, okta, onelogin, sccm, zendesk,
)
from airflow_provider_oomnitza.sources.base import SourceType

SOURCE_TYPES: dict[str, SourceType] = {
    s.name: s
    for s in (
        airwatch.SOURCE, appledep.SOURCE, bamboohr.SOURCE, casper.SOURCE, chef.SOURCE, jasper.SOURCE,
        ldap.SOURCE, ldap.ASSETS, mobileiron.SOURCE, okta.SOURCE, onelogin.SOURCE, sccm.SOURCE,
        zendesk.SOURCE, files.CSV_ASSETS, files.CSV_USERS, files.JSON_ASSETS, files.JSON_USERS,
    )
}

# Sections ``generate-ini`` writes (the original never wrote the JSON ones).
GENERATED_TYPES = tuple(sorted(n for n in SOURCE_TYPES if not n.startswith("json_")))


def type_of_section(section: str) -> str:
    """``ldap.Contractors`` -> ``ldap``: the part before the first dot."""
    return section.split(".", 1)[0]


def get_source_type(section: str) -> SourceType | None:
    return SOURCE_TYPES.get(type_of_section(section))
