"""What the extract, map, push and report operators share: one INI section, read on the worker."""
from __future__ import annotations

import functools
import re
import socket
from typing import Any, Callable

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_oomnitza import __version__
from airflow_provider_oomnitza.config.fingerprint import fingerprint_of_tags, section_fingerprint
from airflow_provider_oomnitza.config.loader import Config, SectionConfig, load_config
from airflow_provider_oomnitza.credentials import (
    CredentialError, inline_secrets, resolve_secrets, settings_with_secrets,
)
from airflow_provider_oomnitza.storage import RunStorage

# Trigger-form parameters of every sync DAG, with the original CLI option each replaces.
PARAM_DEFAULTS = {"testmode": False, "record_count": 0, "save_data": False, "workers": 0, "retry_dead_letters": "",
                  "full_sync": False}


class SectionConfigError(AirflowFailException):
    """The section cannot run as configured (no retry helps); lists every error with file, line and key."""


# Statuses no retry fixes: credentials refused (the hooks re-authenticate once before giving up).
CREDENTIAL_STATUSES = frozenset({401, 403})
# "[section] key: ..." at the start of a message: a hook naming the setting it could not use.
_SETTING_REF = re.compile(r"^\[(?P<section>[^\]]+)\] (?P<key>[\w.]+):")


def fails_fast(execute: Callable) -> Callable:
    """Turn errors no retry can fix into ``AirflowFailException`` naming the INI file, line, section
    and key: missing files, refused credentials, settings errors. Anything else (network errors,
    429 and 5xx once the hook's own retries are spent) is raised as it is, for Airflow's retries."""

    @functools.wraps(execute)
    def run(self: "OomnitzaSectionOperator", context) -> Any:
        try:
            return execute(self, context)
        except Exception as exc:
            final = self.no_retry_error(exc)
            if final is None:
                raise
            raise final from exc

    return run


class OomnitzaSectionOperator(BaseOperator):
    """Base for the operators of one INI section's sync.

    The INI is read again where the task runs (like the DAG file), so ``ini_path`` must be
    readable on every worker. Secrets are resolved only here, at run time, and masked in logs.
    """

    ui_color = "#e8f4fd"

    def __init__(self, *, section: str, ini_path: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.section = section
        self.ini_path = ini_path

    # -- config -----------------------------------------------------------------------------------
    def load(self, context: Any = None) -> tuple[Config, SectionConfig]:
        """The section as the INI here holds it; with ``context``, also checked against the copy the DAG
        processor read (``check_fingerprint``)."""
        config = load_config(self.ini_path)
        section = config.sections.get(self.section)
        if section is None:
            raise SectionConfigError(f"{self.ini_path}: section [{self.section}] is gone from the file")
        oomnitza_errors = (config.oomnitza.errors if config.oomnitza
                           else [i for i in config.issues if i.severity == "error"])
        errors = section.errors + oomnitza_errors
        if errors:
            raise SectionConfigError("config errors:\n" + "\n".join(f"  {e}" for e in errors))
        if context is not None:
            self.check_fingerprint(config, section, context)
        return config, section

    def check_fingerprint(self, config: Config, section: SectionConfig, context) -> None:
        """Fail if this worker's INI differs from the DAG processor's for this section.

        The DAG processor's fingerprint is the DAG's ``ini:`` tag, read from the metadata database
        through the Task SDK (``ti.get_dag``): ``context["dag"]`` is this worker's own parse of the
        DAG file, built from this worker's INI, so it would always agree.
        """
        ti = context.get("ti")
        here = section_fingerprint(config, section)
        stored = fingerprint_of_tags(ti.get_dag(ti.dag_id).tags) if ti is not None else None
        if stored is None:
            self.log.warning("The DAG carries no config.ini fingerprint (ini:... tag), so this worker's copy of "
                             "%s cannot be compared with the DAG processor's; going on", self.ini_path)
            return
        if stored != here:
            host = getattr(ti, "hostname", None) or socket.gethostname()
            raise SectionConfigError(
                f"{self.ini_path} on {host}: section [{section.name}] differs from the config.ini the DAG processor "
                f"read (fingerprint here {here}, in the DAG {stored}), so this task would sync with other settings "
                "than the DAG shows. Give every worker the same file as the DAG processor: inside the DAG bundle "
                "or on a shared mount (docs/deployment.md, \"config.ini on every machine\"). If you just changed "
                "it, wait for the DAG processor to re-parse, then start a new run."
            )

    def settings_of(self, section: SectionConfig) -> dict[str, Any]:
        """The section's settings with secrets resolved (env_password, vault_keys), masked in logs."""
        assert section.settings is not None
        values = section.settings.values(reveal=True)
        values.update(self._secrets(section, values))
        values["VERSION"] = __version__
        return values

    def _secrets(self, section: SectionConfig, values: dict[str, Any]) -> dict[str, Any]:
        try:
            return resolve_secrets(section.name, values, secret_keys=type(section.settings).secret_keys())
        except CredentialError as exc:
            raise SectionConfigError(self.locate(str(exc))) from None

    def source_settings(self, section: SectionConfig):
        """The section's typed settings, for its hook (``credentials.settings_with_secrets``); inline
        secrets get a warning saying how to move them."""
        assert section.settings is not None
        for key, message in inline_secrets(section.written, type(section.settings).secret_keys()):
            self.log.warning("%s: %s", self._where(section.name, [key]), message)
        try:
            return settings_with_secrets(section.name, section.settings, self.log)
        except CredentialError as exc:
            raise SectionConfigError(self.locate(str(exc))) from None

    def oomnitza_hook(self, config: Config):
        from airflow_provider_oomnitza.hooks.oomnitza import OomnitzaHook

        assert config.oomnitza is not None
        settings = self.source_settings(config.oomnitza)
        return OomnitzaHook.from_settings(settings, timeout=settings.timeout)

    # -- errors no retry fixes ------------------------------------------------------------------------
    def no_retry_error(self, exc: Exception) -> AirflowFailException | None:
        """The ``AirflowFailException`` ``exc`` becomes, or None if a retry may help."""
        from airflow_provider_oomnitza.bulk import OomnitzaError
        from airflow_provider_oomnitza.storage import RunFileMissing

        if isinstance(exc, RunFileMissing):
            return AirflowFailException(str(exc))
        if isinstance(exc, AirflowFailException):  # a hook's "[section] key: ..." gets its INI file and line
            return type(exc)(self.locate(str(exc))) if _SETTING_REF.match(str(exc)) else None
        if isinstance(exc, (FileNotFoundError, NotADirectoryError)):
            return SectionConfigError(self.locate(str(exc), fallback_key=_missing_key(exc)))
        status = getattr(exc, "status", None)
        if status in CREDENTIAL_STATUSES and _is_http_error(exc):
            if isinstance(exc, OomnitzaError):
                return SectionConfigError(
                    f"{self._where('oomnitza', CREDENTIAL_KEYS)}: Oomnitza refused the "
                    f"credentials ({status}): {exc}. Fix the API token, username/password or conn_id.")
            return SectionConfigError(
                f"{self._where(self.section, CREDENTIAL_KEYS)}: the source refused "
                f"the credentials ({status}): {exc}. Fix them in the INI or in the section's conn_id connection.")
        return None

    def locate(self, message: str, fallback_key: str | None = None) -> str:
        """``message`` prefixed with the INI file and line of the ``[section] key`` it starts with."""
        match = _SETTING_REF.match(message)
        if match:
            rest = message[match.end():].lstrip()
            return f"{self._where(match['section'], [match['key']])}: {rest}"
        if fallback_key:
            return f"{self._where(self.section, [fallback_key])}: {message}"
        return message if self.ini_path in message else f"{self._where(self.section, [])}: {message}"

    def _where(self, section: str, keys: list[str]) -> str:
        """``file:line: [section] key`` for the first key found in the INI, else ``file:line: [section]``."""
        from airflow_provider_oomnitza.config.ini import read_ini

        try:
            ini_section = read_ini(self.ini_path).sections.get(section)
        except (OSError, ValueError):
            ini_section = None
        line, named = (ini_section.line if ini_section else None), ""
        for key in keys:
            value = ini_section.options.get(key) if ini_section else None
            if value is not None:
                line, named = value.line, f" {key}"
                break
        where = f"{self.ini_path}:{line}" if line else self.ini_path
        return f"{where}: [{section}]{named}"

    # -- run ----------------------------------------------------------------------------------------
    @staticmethod
    def storage(context) -> RunStorage:
        return RunStorage(context["dag"].dag_id, context["run_id"])

    @staticmethod
    def run_params(context) -> dict[str, Any]:
        params = dict(PARAM_DEFAULTS)
        params.update({k: v for k, v in (context.get("params") or {}).items() if k in PARAM_DEFAULTS})
        return params


def _is_http_error(exc: Exception) -> bool:
    from airflow_provider_oomnitza.bulk import OomnitzaError
    from airflow_provider_oomnitza.hooks.http_client import HttpError

    return isinstance(exc, (HttpError, OomnitzaError))


def _missing_key(exc: OSError) -> str | None:
    """Which file setting a FileNotFoundError is about, from the path it names."""
    text = str(exc)
    for key in ("filename", "directory", "cacert_file", "cacert_dir"):
        if f" {key}:" in text:
            return key
    return None


# Settings that hold credentials, most specific first: the one named in a credentials error.
CREDENTIAL_KEYS = ["conn_id", "api_token", "password", "env_password", "username", "client_secret", "api_key",
                   "secret", "token", "client_id"]


class OomnitzaChunkOperator(OomnitzaSectionOperator):
    """An operator run once per chunk (dynamically mapped over the previous task's results)."""

    template_fields = ("chunk",)

    def __init__(self, *, chunk: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chunk = chunk
