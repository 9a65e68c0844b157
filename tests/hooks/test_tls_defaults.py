"""TLS certificate checks are on, at TLS 1.2 at least, in every hook unless a setting turns them off."""
import ssl

from airflow_provider_oomnitza.config.generate import render_example
from airflow_provider_oomnitza.config.loader import load_config
from airflow_provider_oomnitza.config.settings import OomnitzaSettings
from airflow_provider_oomnitza.hooks.tls import TlsOptions


def test_every_source_hook_checks_certificates_by_default(tmp_path):
    from airflow.sdk.module_loading import import_string

    text = "\n".join(line for line in render_example().splitlines()
                     if not line.strip().startswith(("verify_ssl", "ssl_protocol", "cacert_")))
    path = tmp_path / "config.ini"
    path.write_text(text, encoding="utf-8")
    checked = []
    for section in load_config(str(path)).sections.values():
        if section.source is None or not section.source.hook or section.errors:
            continue
        hook = import_string(section.source.hook)(section.settings, section=section.name)
        tls = hook.tls
        assert isinstance(tls, TlsOptions) and tls.verify is True and tls.minimum >= ssl.TLSVersion.TLSv1_2, (
            section.name, tls)
        checked.append(section.type_name)
    assert len(checked) >= 8, checked


def test_oomnitza_checks_certificates_by_default():
    settings = OomnitzaSettings.model_validate({"url": "https://acme.oomnitza.com", "api_token": "t"})
    assert settings.verify_ssl is True
    assert TlsOptions.of(settings).verify is True
