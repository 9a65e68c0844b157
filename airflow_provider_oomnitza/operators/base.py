"""What the extract, map, push and report operators share: one INI section, read on the worker."""
from __future__ import annotations

import os
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_oomnitza import __version__
from airflow_provider_oomnitza.config.loader import Config, SectionConfig, load_config
from airflow_provider_oomnitza.masking import mask
from airflow_provider_oomnitza.storage import RunStorage

# Trigger-form parameters of every sync DAG, with the original CLI option each replaces.
PARAM_DEFAULTS = {"testmode": False, "record_count": 0, "save_data": False, "workers": 0}


class SectionConfigError(AirflowFailException):
    """The section cannot run as configured (no retry helps); lists every error with file, line and key."""


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
    def load(self) -> tuple[Config, SectionConfig]:
        config = load_config(self.ini_path)
        section = config.sections.get(self.section)
        if section is None:
            raise SectionConfigError(f"{self.ini_path}: section [{self.section}] is gone from the file")
        oomnitza_errors = (config.oomnitza.errors if config.oomnitza
                           else [i for i in config.issues if i.severity == "error"])
        errors = section.errors + oomnitza_errors
        if errors:
            raise SectionConfigError("config errors:\n" + "\n".join(f"  {e}" for e in errors))
        return config, section

    def settings_of(self, section: SectionConfig) -> dict[str, Any]:
        """The section's settings with secrets resolved (env_password, vault_keys), masked in logs."""
        assert section.settings is not None
        values = section.settings.values(reveal=True)
        env_var = values.get("env_password")
        if env_var:
            if env_var not in os.environ:
                raise SectionConfigError(
                    f"{self.ini_path}: [{section.name}] env_password: environment variable {env_var} is not set "
                    "where this task runs"
                )
            values["password"] = os.environ[env_var]
        if values.get("vault_keys"):
            raise SectionConfigError(
                f"{self.ini_path}: [{section.name}] vault_keys: reading secrets from {values['vault_backend']} is "
                "not supported yet; put the secret in an Airflow connection or env_password"
            )
        for key in type(section.settings).secret_keys() | {"password"}:
            if values.get(key):
                mask(values[key])
        values["VERSION"] = __version__
        return values

    def source_settings(self, section: SectionConfig):
        """The section's typed settings, for its hook: ``settings_of``'s checks, and the password from
        ``env_password`` where one is named."""
        values = self.settings_of(section)
        settings = section.settings
        if getattr(settings, "env_password", ""):
            from pydantic import SecretStr

            settings = settings.model_copy(update={"password": SecretStr(values["password"])})
        return settings

    def oomnitza_hook(self, config: Config):
        from airflow_provider_oomnitza.hooks.oomnitza import OomnitzaHook

        assert config.oomnitza is not None
        return OomnitzaHook.from_settings(self.source_settings(config.oomnitza))

    # -- run ----------------------------------------------------------------------------------------
    @staticmethod
    def storage(context) -> RunStorage:
        return RunStorage(context["dag"].dag_id, context["run_id"])

    @staticmethod
    def run_params(context) -> dict[str, Any]:
        params = dict(PARAM_DEFAULTS)
        params.update({k: v for k, v in (context.get("params") or {}).items() if k in PARAM_DEFAULTS})
        return params


class OomnitzaChunkOperator(OomnitzaSectionOperator):
    """An operator run once per chunk (dynamically mapped over the previous task's results)."""

    template_fields = ("chunk",)

    def __init__(self, *, chunk: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.chunk = chunk
