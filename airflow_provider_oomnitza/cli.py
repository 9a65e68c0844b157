"""``oomnitza-airflow``: generate, validate and inspect a config.ini without running Airflow.

    oomnitza-airflow generate-ini [--ini PATH]
    oomnitza-airflow validate [--ini PATH]
    oomnitza-airflow show-mappings SECTION [--ini PATH] [--offline]
    oomnitza-airflow preview SECTION --input FILE [--ini PATH] [--limit N] [--offline]
    oomnitza-airflow migrate-secrets [--ini PATH] [--output PATH] [--to airflow|vault] [--overwrite]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import Any, Iterator, TextIO

from airflow_provider_oomnitza.config.generate import write_example
from airflow_provider_oomnitza.config.loader import OOMNITZA, Config, SectionConfig, load_config
from airflow_provider_oomnitza.config.paths import default_ini_path
from airflow_provider_oomnitza.credentials import inline_secrets, settings_with_secrets

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    return args.func(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="oomnitza-airflow",
        description="Work with the Oomnitza Connector config.ini used by the Airflow provider.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--ini", type=Path, default=None,
                       help="config file (default: $OOMNITZA_INI, Airflow's [oomnitza] ini_path, "
                            "or $AIRFLOW_HOME/oomnitza/config.ini)")
        p.set_defaults(func=func)
        return p

    add("generate-ini", cmd_generate, "Write an example config.ini with every section and setting; "
        "an existing file is kept as a .bak backup.")
    add("validate", cmd_validate, "Check every section; exit 1 if any has errors.")
    p = add("show-mappings", cmd_show_mappings, "Print a section's effective mappings (defaults, "
            "Oomnitza's server-side mappings when reachable, then the INI).")
    p.add_argument("section", help="section name, e.g. casper or ldap.Contractors")
    p.add_argument("--offline", action="store_true", help="do not contact Oomnitza")
    p = add("preview", cmd_preview, "Map saved raw records as a run would (with Oomnitza's server-side "
            "mappings and locations when reachable) and print the Oomnitza records as JSON lines; skipped "
            "records and why go to stderr. Nothing is sent.")
    p.add_argument("section", help="section name")
    p.add_argument("--offline", action="store_true",
                   help="do not contact Oomnitza or its lookup service (says what is left out)")
    p.add_argument("--input", type=Path, required=True,
                   help="raw records: .json (a list or one object), .jsonl, or .csv")
    p.add_argument("--limit", type=int, default=0, help="stop after N records (0 = all)")
    p = add("migrate-secrets", cmd_migrate_secrets, "Move every secret written in the INI into Airflow "
            "connections (or Vault) and write a copy of the INI without them; a second run changes nothing.")
    p.add_argument("--output", type=Path, default=None,
                   help="the secret-free copy (default: <ini>.migrated next to it)")
    p.add_argument("--to", choices=("airflow", "vault"), default="airflow",
                   help="airflow: Airflow's metadata database; vault: KV secrets that Airflow's VaultBackend reads")
    p.add_argument("--vault-conn-id", default="vault_default", help="Airflow connection of the Vault (--to vault)")
    p.add_argument("--vault-connections-path", default="connections",
                   help="VaultBackend's connections_path, in the mount of that connection (--to vault)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace connections that exist with other values (default: report and stop)")
    return parser


def _ini(args) -> Path:
    return args.ini or default_ini_path()


def _load(args) -> Config | None:
    path = _ini(args)
    try:
        return load_config(path)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _section(config: Config, name: str) -> SectionConfig | None:
    section = config.sections.get(name)
    if section is None:
        known = ", ".join(config.sections) or "none"
        print(f"error: {config.path}: no section [{name}] (sections: {known})", file=sys.stderr)
        return None
    blocking = [i for i in section.errors if not i.runtime]
    for issue in blocking:
        print(f"error: {issue}", file=sys.stderr)
    if blocking:
        return None
    for issue in section.errors:  # runtime-only: the section reads fine, a run would fail
        print(f"error: {issue} (a run fails until this is fixed; shown anyway)", file=sys.stderr)
    return section


def cmd_generate(args) -> int:
    path = _ini(args)
    backup = write_example(path)
    if backup:
        print(f"existing {path} kept as {backup}")
    print(f"{path} has been generated")
    return EXIT_OK


def cmd_validate(args, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    config = _load(args)
    if config is None:
        return EXIT_INVALID
    print(f"{config.path}", file=out)
    for issue in config.issues:
        print(f"  {issue.severity}: {issue}", file=out)
    sections = ([config.oomnitza] if config.oomnitza else []) + list(config.sections.values())
    for section in sections:
        state = "ok" if section.ok else "INVALID"
        print(f"[{section.name}] {state}{_run_state(section)}", file=out)
        for issue in section.issues:
            print(f"  {issue.severity}: {issue}", file=out)
        if section.settings is not None:
            for key, message in inline_secrets(section.written, type(section.settings).secret_keys()):
                print(f"  note: {config.path}:{section.line_of(key)}: [{section.name}] {key}: {message}", file=out)
    issues = config.all_issues()
    errors = sum(i.severity == "error" for i in issues)
    print(f"{errors} error(s), {len(issues) - errors} warning(s)", file=out)
    if config.sections and not config.enabled_sections():
        print("note: no section is enabled (set enable = true in one); no sync DAG is made", file=out)
    return EXIT_OK if config.ok else EXIT_INVALID


def cmd_migrate_secrets(args) -> int:
    from airflow_provider_oomnitza.migrate import AirflowStore, VaultStore, migrate

    config = _load(args)
    if config is None:
        return EXIT_INVALID
    path = Path(config.path)
    output = args.output or path.with_name(path.name + ".migrated")
    try:
        store = (VaultStore(args.vault_conn_id, args.vault_connections_path) if args.to == "vault"
                 else AirflowStore())
        problems = migrate(config, store, output=output, overwrite=args.overwrite, print_=print)
    except Exception as exc:  # the store cannot be reached: say which, never a traceback with values
        print(f"error: cannot write to {args.to}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_INVALID if problems else EXIT_OK


def _run_state(section: SectionConfig) -> str:
    if section.name == "oomnitza":
        return ""
    if section.enabled:
        return " (enabled)"
    return " (disabled)"


def cmd_show_mappings(args) -> int:
    config = _load(args)
    section = config and _section(config, args.section)
    if section is None:
        return EXIT_INVALID
    server = None
    if not args.offline and section.settings.use_server_map:  # type: ignore[union-attr]
        server = _server_mappings(config, section)
    effective = section.effective_mappings(server)
    origin = "with Oomnitza's server-side mappings" if server is not None else "offline: without server-side mappings"
    print(f"[{section.name}] mappings ({section.mapping_name}, {origin})")
    print(json.dumps(effective.mappings, indent=2, sort_keys=True))
    print(f"sync_field: {', '.join(effective.sync_fields)}")
    for message in effective.errors:
        print(f"error: {message}", file=sys.stderr)
    for message in effective.warnings:
        print(f"warning: {message}", file=sys.stderr)
    return EXIT_INVALID if effective.errors else EXIT_OK


def _oomnitza_hook(config: Config):
    """The hook a run uses for Oomnitza (its public methods only), with short retries for the CLI."""
    from airflow_provider_oomnitza.hooks.oomnitza import OomnitzaHook

    if config.oomnitza is None or config.oomnitza.settings is None:
        return OomnitzaHook.from_config(config)  # raises, naming the file
    settings = settings_with_secrets(OOMNITZA, config.oomnitza.settings)  # env_password, vault_keys, connection
    return OomnitzaHook.from_settings(settings, max_attempts=2, max_wait=1.0, timeout=15.0)


def _server_mappings(config: Config, section: SectionConfig) -> dict[str, Any] | None:
    """Oomnitza's mappings for the section, or None (with a note) when Oomnitza is not reachable."""
    try:
        with contextlib.redirect_stdout(sys.stderr):  # Airflow's log lines must not mix with the mappings
            return _oomnitza_hook(config).get_mappings(section.mapping_name)
    except Exception as exc:  # any failure: fall back to offline, say why
        print(f"note: Oomnitza not reachable ({type(exc).__name__}: {exc}); showing offline mappings",
              file=sys.stderr)
        return None


# Built-in converters that ask a service when a record is mapped.
LOOKUP_CONVERTERS = {"location": "Oomnitza's locations", "mac_model_from_sn": "Oomnitza's Mac model lookup service"}


class _Offline(Exception):
    """Raised instead of a request when preview runs with --offline."""


def _refuse_request(url: str, params: dict):
    raise _Offline(f"--offline: no request to {url}")


def cmd_preview(args) -> int:
    config = _load(args)
    section = config and _section(config, args.section)
    if section is None:
        return EXIT_INVALID
    from airflow_provider_oomnitza.mapping.converters import ConverterContext
    from airflow_provider_oomnitza.mapping.engine import RecordMapper, RecordSkipped
    from airflow_provider_oomnitza.mapping.spec import parse_converter

    try:
        records = list(_read_records(args.input, args.limit))
    except (OSError, ValueError) as exc:
        print(f"error: {args.input}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    settings = section.settings
    assert settings is not None
    lookups = {name: [f for f, spec in section.effective_mappings({}).mappings.items()
                      if parse_converter(spec.get("converter") or "")[0] == name] for name in LOOKUP_CONVERTERS}
    left_out: list[str] = []
    server: dict[str, Any] | None = None if settings.use_server_map else {}  # None: not fetched
    locations: list[dict] | None = None
    reason = "--offline" if args.offline else ""
    if not args.offline and (settings.use_server_map or lookups["location"]):
        try:  # the same calls as a run: extract reads the mappings, map reads the locations
            with contextlib.redirect_stdout(sys.stderr):  # Airflow's log lines must not mix with the records
                hook = _oomnitza_hook(config)
                if settings.use_server_map:
                    server = hook.get_mappings(section.mapping_name)
                if lookups["location"]:
                    locations = hook.get_locations()
        except Exception as exc:
            reason = f"Oomnitza not reachable: {type(exc).__name__}: {exc}"
    if server is None:
        left_out.append(f"Oomnitza's server-side mappings for {section.mapping_name!r} (a run merges them: fields "
                        "that only they map are missing here, and fields they re-source keep the INI/default source)")
    if lookups["location"] and locations is None:
        left_out.append(f"location lookups on {', '.join(lookups['location'])} (values are shown unconverted)")
    if args.offline and lookups["mac_model_from_sn"]:
        left_out.append(f"Mac model lookups on {', '.join(lookups['mac_model_from_sn'])} (values are shown as read)")
    effective = section.effective_mappings(server)
    context = ConverterContext(log=logging.getLogger("oomnitza-airflow.preview"),
                               locations=None if locations is None else (lambda: locations))
    if args.offline:
        context.http_get = _refuse_request
    mapper = RecordMapper(
        effective.mappings,
        section.mapping_settings(settings.values(reveal=True)),
        sync_fields=effective.sync_fields,
        record_filter=section.record_filter,
        custom_converters=config.converters,
        context=context,
    )
    if left_out:
        print(f"note: offline ({reason}); left out, unlike a run: " + "; ".join(left_out), file=sys.stderr)
    else:
        used = [f"server-side mappings for {section.mapping_name!r}"] if settings.use_server_map else []
        used += [f"{len(locations or [])} Oomnitza locations"] if lookups["location"] else []
        print("note: as a run maps" + (f", with {' and '.join(used)}" if used else ""), file=sys.stderr)
    for message in effective.errors:
        print(f"error: {message}", file=sys.stderr)
    for index, _raw, result in mapper.map_all(records):
        if isinstance(result, RecordSkipped):
            print(f"skipped {mapper.identity(_raw, index)}: {result.kind}: {result.message}", file=sys.stderr)
        else:
            print(json.dumps(result, default=str, sort_keys=True))
    s = mapper.stats
    print(f"{len(records)} read, {s.mapped} mapped, {s.filtered} filtered out, {s.missing} missing required "
          f"fields, {s.errors} errors, {s.converter_errors} converter errors", file=sys.stderr)
    for identity, message in s.problems:
        print(f"problem: {identity}: {message}", file=sys.stderr)
    if locations is not None:
        for line in context.cleanup_report():
            print(f"warning: {line}", file=sys.stderr)
    return EXIT_INVALID if effective.errors else EXIT_OK


def _read_records(path: Path, limit: int) -> Iterator[Any]:
    count = 0
    for record in _iter_file(path):
        if limit and count >= limit:
            return
        count += 1
        yield record


def _iter_file(path: Path) -> Iterator[Any]:
    """Records of a saved file; a UTF-8 BOM is dropped, as the source hooks do."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        import csv

        with path.open(newline="", encoding="utf-8-sig") as fh:
            yield from csv.DictReader(fh)
    elif suffix == ".jsonl":
        with path.open(encoding="utf-8-sig") as fh:
            for number, line in enumerate(fh, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except ValueError as exc:
                        raise ValueError(f"line {number}: not JSON ({exc})") from None
    else:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
        yield from data if isinstance(data, list) else [data]


if __name__ == "__main__":
    sys.exit(main())
