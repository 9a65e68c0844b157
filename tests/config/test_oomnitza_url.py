"""An [oomnitza] url that is no URL is that setting's error at load time (found by fuzzing: it used to
surface only when each DAG was built, as "its DAG cannot be built", for every section)."""
import pytest

from airflow_provider_oomnitza.config.loader import load_config


@pytest.mark.parametrize("url", ["https:://example.oomnitza.com", "https://acme:port", "http://[::1",
                                 "//example.oomnitza.com", "htt ps://acme.oomnitza.com", "[" * 5000,
                                 "https://" + "x" * 2000 + ".oomnitza.com"])
def test_a_broken_oomnitza_url_is_a_clear_setting_error(tmp_path, url):
    path = tmp_path / "config.ini"
    path.write_text(f"[oomnitza]\nurl = {url}\napi_token = t\n")
    [error] = [str(e) for e in load_config(str(path)).oomnitza.errors]
    assert error.startswith(f"{path}:2: [oomnitza] url: ")
    assert "expected the Oomnitza URL, e.g. https://acme.oomnitza.com" in error or "host name is too long" in error
    assert len(error) < 300


@pytest.mark.parametrize("url", ["https://acme.oomnitza.com", "acme.oomnitza.com", "http://127.0.0.1:8080/"])
def test_oomnitza_urls_load(tmp_path, url):
    path = tmp_path / "config.ini"
    path.write_text(f"[oomnitza]\nurl = {url}\napi_token = t\n")
    assert load_config(str(path)).oomnitza.errors == []
