"""One Airflow DAG per enabled section of config.ini.

Parse time stays cheap: reading the INI is the only I/O (no network, no Oomnitza call,
no secret lookup), and hooks and their client libraries are imported only when a task
runs. Server-side mappings, credentials and secrets are resolved by the tasks.

Each DAG: ``extract`` -> ``map`` (one task per chunk) -> ``push`` (one per chunk) -> ``report``.
A section with errors gets no DAG; ``raise_config_errors`` (called by a second DAG file)
turns those errors into an import error in the Airflow UI, naming section and key, while
the healthy sections keep their DAGs.
"""
from __future__ import annotations

import copy
import functools
import json
import logging
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow_provider_oomnitza.config.fingerprint import fingerprint_tag, section_fingerprint
from airflow_provider_oomnitza.config.loader import Config, SectionConfig, load_config
from airflow_provider_oomnitza.config.paths import default_ini_path
from airflow_provider_oomnitza.config.types import brief, clip

log = logging.getLogger(__name__)

DAG_SUFFIX = "_sync"
START_DATE = (2024, 1, 1)


class OomnitzaConfigError(Exception):
    """config.ini problems that keep sections from getting a DAG."""


def dag_id_for(section: str) -> str:
    """The id users trigger: ``casper`` -> ``casper_sync``, ``casper.MDM`` -> ``casper_MDM_sync``.

    Every run of characters other than letters, digits, ``_`` and ``-`` becomes one ``_``.
    """
    return re.sub(r"[^A-Za-z0-9_-]+", "_", section) + DAG_SUFFIX


def _ini_path(ini_path: str | Path | None) -> Path:
    return Path(ini_path) if ini_path else default_ini_path()


def config_errors(ini_path: str | Path | None = None) -> list[str]:
    """Errors that cost an enabled section its DAG (or every section, for [oomnitza])."""
    path = _ini_path(ini_path)
    try:
        config = load_config(path)
    except (FileNotFoundError, ValueError) as exc:
        return [str(exc)]
    errors = [str(i) for i in config.issues if i.severity == "error"]
    if config.oomnitza:
        errors += [str(i) for i in config.oomnitza.errors]
    errors += [str(i) for s in config.enabled_sections() for i in s.errors]
    seen: dict[str, str] = {}
    for section in config.enabled_sections():
        dag_id = dag_id_for(section.name)
        if dag_id in seen:
            errors.append(f"{config.path}: [{clip(section.name)}]: its DAG id {clip(dag_id)} is the same as "
                          f"[{clip(seen[dag_id])}]'s; "
                          "rename one section")
        seen[dag_id] = section.name
    if config.oomnitza is not None and config.oomnitza.ok:
        for section in dag_sections(config):  # what create_dags builds: say why a build would fail
            try:
                build_dag(config, section, str(path), auto_register=False)
            except Exception as exc:
                errors.append(build_error(config, section, exc))
    return errors


def raise_config_errors(ini_path: str | Path | None = None) -> None:
    errors = config_errors(ini_path)
    if errors:
        raise OomnitzaConfigError(
            "config.ini has errors; these sections get no DAG until they are fixed:\n" + "\n".join(errors)
        )


def dag_sections(config: Config) -> list[SectionConfig]:
    """The enabled sections without errors, in file order; of two with the same DAG id, the first.

    Only healthy sections claim an id, so a broken section never costs a healthy one its DAG.
    """
    out: list[SectionConfig] = []
    taken: set[str] = set()
    for section in config.enabled_sections():
        dag_id = dag_id_for(section.name)
        if section.ok and dag_id not in taken:
            taken.add(dag_id)
            out.append(section)
    return out


def build_error(config: Config, section: SectionConfig, exc: Exception) -> str:
    return (f"{config.path}:{section.line}: [{clip(section.name)}]: its DAG cannot be built "
            f"({type(exc).__name__}: {brief(str(exc))})")


def create_dags(ini_path: str | Path | None = None) -> dict[str, Any]:
    """``{dag_id: DAG}`` for every healthy enabled section. Call as ``globals().update(create_dags())``.

    Nothing one section holds can cost another its DAG: a section whose DAG cannot be built is
    logged here and reported by ``raise_config_errors``, and the others are built.
    """
    from airflow.sdk import get_parsing_context

    path = _ini_path(ini_path)
    try:
        config = load_config(path)
    except (FileNotFoundError, ValueError) as exc:
        log.warning("No Oomnitza DAGs: %s", exc)
        return {}
    if config.oomnitza is None or not config.oomnitza.ok:
        return {}
    wanted = get_parsing_context().dag_id
    dags: dict[str, Any] = {}
    for section in dag_sections(config):
        dag_id = dag_id_for(section.name)
        if wanted and wanted != dag_id:
            continue
        try:
            dags[dag_id] = build_dag(config, section, str(path))
        except Exception as exc:
            log.error("No DAG for %s", build_error(config, section, exc), exc_info=True)
    return dags


def build_dag(config: Config, section: SectionConfig, ini_path: str, auto_register: bool = True):
    import pendulum
    from airflow.sdk import DAG, Param

    from airflow_provider_oomnitza.operators.dead_letters import retry_param
    from airflow_provider_oomnitza.operators.extract import OomnitzaExtractOperator
    from airflow_provider_oomnitza.operators.map import OomnitzaMapOperator
    from airflow_provider_oomnitza.operators.push import OomnitzaPushOperator
    from airflow_provider_oomnitza.operators.report import OomnitzaReportOperator
    from airflow_provider_oomnitza.webhooks.runs import devices_param, supports_webhooks
    from airflow_provider_oomnitza.webhooks.scheduling import schedule_with_webhooks

    assert section.source is not None and section.settings is not None and config.oomnitza is not None
    oomnitza = config.oomnitza.settings
    schedule = section.settings.schedule or oomnitza.schedule or None  # type: ignore[union-attr]
    extra_params = {}
    if supports_webhooks(section):  # Jamf: webhook events (an asset) or the cron start a run
        schedule = schedule_with_webhooks(section.name, schedule)
        extra_params["devices"] = devices_param()
    common = {"section": section.name, "ini_path": ini_path}
    per_chunk = {"map_index_template": "chunk {{ task.chunk.chunk }}",
                 "max_active_tis_per_dagrun": oomnitza.parallel_chunks}  # type: ignore[union-attr]
    with DAG(
        dag_id=dag_id_for(section.name),
        dag_display_name=f"Oomnitza: {section.name}",
        description=f"Sync {section.source.title} [{section.name}] into Oomnitza {section.source.record_type}",
        schedule=schedule,
        start_date=pendulum.datetime(*START_DATE, tz="UTC"),
        catchup=False,
        max_active_runs=1,  # the original's --singleton
        auto_register=auto_register,  # False: a trial build (raise_config_errors) that must not become a DAG
        # ini:<fingerprint>: what tasks check their worker's INI against (config/fingerprint.py)
        tags={"oomnitza", section.type_name, section.source.record_type,
              fingerprint_tag(section_fingerprint(config, section))},
        doc_md=doc_markdown(config, section, ini_path),
        default_args={"owner": "oomnitza", "retries": oomnitza.retries,  # type: ignore[union-attr]
                      "retry_delay": timedelta(seconds=oomnitza.retry_delay)},  # type: ignore[union-attr]
        params={
            "testmode": Param(False, type="boolean", title="Test mode",
                              description="Map everything, send nothing: the requests go to the log and the "
                                          "run folder (--testmode)."),
            "record_count": Param(0, type="integer", minimum=0, title="Record count",
                                  description="Stop after this many source records; 0 = all (--record-count)."),
            "save_data": Param(False, type="boolean", title="Save data",
                               description="Keep the raw and mapped records in the run folder (--save-data)."),
            "workers": Param(0, type="integer", minimum=0, maximum=64, title="Workers",
                             description=f"Bulk requests in flight per push task; 0 = [oomnitza] workers "
                                         f"({oomnitza.workers}) (--workers)."),  # type: ignore[union-attr]
            "retry_dead_letters": retry_param(),
            "full_sync": Param(False, type="boolean", title="Full sync",
                               description="With delta_sync: send every record, not only the new or changed ones."),
            **extra_params,
        },
    ) as dag:
        cheap_param_copies(dag.params)
        extract = OomnitzaExtractOperator(task_id="extract", **common)
        mapped = OomnitzaMapOperator.partial(task_id="map", **per_chunk, **common).expand(chunk=extract.output)
        pushed = OomnitzaPushOperator.partial(task_id="push", **per_chunk, **common).expand(chunk=mapped.output)
        report = OomnitzaReportOperator(task_id="report", outlets=sync_outlets(section, oomnitza), **common)
        pushed >> report
    return dag


def cheap_param_copies(params) -> None:
    """Let Airflow's per-operator deep copy of the DAG's Params share their (never changed) schema.

    Every operator gets ``copy.deepcopy(dag.params)``; for a Param that is a generic reconstruction of
    each attribute and nested schema dict, a third of a sync DAG's build time. ``copy.deepcopy`` looks
    ``__deepcopy__`` up on the instance, so each Param here gets one that copies only its value
    (the class stays ``Param``, which is what DAG serialization accepts).
    """
    for key in params:
        param = params.get_param(key)
        param.__deepcopy__ = functools.partial(_copy_param, param)


def _copy_param(param, memo=None):
    copied = copy.copy(param)  # Param.__copy__: the same value, description, schema and source
    copied.value = copy.deepcopy(param.value, memo)
    copied.__deepcopy__ = functools.partial(_copy_param, copied)
    return copied


def sync_outlets(section: SectionConfig, oomnitza: Any) -> list:
    """The Asset a successful sync updates (Oomnitza's assets or users of the tenant; docs/ui.md), so
    downstream DAGs can be scheduled on it. A tenant named only by a connection (``conn_id``) is not
    known at parse time, so its syncs name no Asset."""
    from airflow_provider_oomnitza.ui.assets import oomnitza_asset

    if not oomnitza.url:
        return []
    return [oomnitza_asset(section.source.record_type, oomnitza.url)]  # type: ignore[union-attr]


def doc_markdown(config: Config, section: SectionConfig, ini_path: str) -> str:
    """The section's settings (secrets masked) and offline effective mappings, for the DAG's docs."""
    assert section.source is not None and section.settings is not None
    settings = {k: v for k, v in section.settings.values().items() if v not in ("", [], {}, None)}
    effective = section.effective_mappings(None if section.settings.use_server_map else {})
    lines = [
        f"# {section.source.title}: [{section.name}]",
        "",
        f"Syncs **{section.source.record_type}** into Oomnitza as `{section.mapping_name}`, "
        f"identified by `{', '.join(effective.sync_fields) or '-'}`. Config: `{ini_path}`.",
        "",
        "Trigger with the form's parameters: test mode, record count, save data, workers, full sync.",
        "",
    ]
    warnings = config.warnings_for(section)
    if warnings:
        lines += ["## Warnings from config.ini", "",
                  "The section runs, but check these (`oomnitza-airflow validate` shows them too):", "",
                  *["- `" + str(w).replace("`", "'") + "`" for w in warnings], ""]
    lines += [
        "## Settings",
        "",
        "| setting | value |",
        "|---|---|",
        *[f"| `{k}` | `{_cell(v)}` |" for k, v in settings.items()],
        "",
        "## Mappings",
        "",
        ("Oomnitza's server-side mappings are merged in when a run starts." if section.settings.use_server_map
         else "Server-side mappings are off (`use_server_map = false`)."),
        "",
        "```json",
        json.dumps(effective.mappings, indent=2, sort_keys=True),
        "```",
    ]
    if section.record_filter:
        lines += ["", "A `recordfilter` is set."]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return (json.dumps(value) if not isinstance(value, str) else value).replace("|", "\\|")
