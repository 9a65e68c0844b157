"""The config page inside Airflow's own API server app (``create_app``), simple auth manager users:
who may read and who may change config.ini, cross-site requests refused, secrets never shown or
taken, an invalid edit never saved, a save that keeps the rest of the file and a backup."""
import logging
import re
from urllib.parse import quote

import pytest

from airflow_provider_oomnitza.ui.auth import csrf_token
from tests.ui.conftest import PASSWORDS
from tests.ui.test_access import client, token  # noqa: F401 - the shared API server app fixture

ASSETS_SECTION = "csv_assets.uidemo"
JAMF_SECTION = "casper.uidemo"
ORIGIN = "http://testserver"


def headers(client, user):  # noqa: F811
    return {"Authorization": f"Bearer {token(client, user)}"}


def section_url(name: str) -> str:
    return f"/oomnitza-sync/config/sections/{quote(name, safe='')}"


def form_token(page: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)


def post(client, user, name, text, action, origin=ORIGIN, csrf=None):  # noqa: F811
    auth = headers(client, user)
    csrf = csrf if csrf is not None else form_token(client.get(section_url(name), headers=auth).text)
    extra = {"Origin": origin} if origin else {}
    return client.post(section_url(name), data={"text": text, "action": action, "csrf": csrf},
                       headers={**auth, **extra})


def editable(client, name):  # noqa: F811
    page = client.get(section_url(name), headers=headers(client, "admin")).text
    import html

    return html.unescape(re.search(r'<textarea class="editor" name="text" spellcheck="false">(.*?)</textarea>',
                                   page, re.S).group(1))


def test_without_credentials_401_and_without_a_role_403(client, demo_runs):  # noqa: F811
    for url in ("/oomnitza-sync/config/", section_url(ASSETS_SECTION)):
        assert client.get(url).status_code == 401
        assert client.get(url, headers=headers(client, "nobody")).status_code == 403
    assert client.post(section_url(ASSETS_SECTION), data={"action": "validate"}).status_code == 401
    response = post(client, "nobody", ASSETS_SECTION, "", "validate", csrf="x")
    assert response.status_code == 403


def test_a_viewer_sees_every_section_with_secrets_masked(client, demo_runs):  # noqa: F811
    page = client.get("/oomnitza-sync/config/", headers=headers(client, "viewer"))
    assert page.status_code == 200
    text = page.text
    for name in ("oomnitza", ASSETS_SECTION, "csv_users.uidemo", JAMF_SECTION):
        assert f'data-section="{name}"' in text
    assert "sandbox-token" not in text and "not-used-in-this-test" not in text  # the INI's secrets
    assert 'data-secret="api_token"' in text and 'data-secret="password"' in text
    assert 'data-mode="read"' in text
    assert "return record.get(&quot;location&quot;) != &quot;Storage&quot;" in text  # the recordfilter body, numbered
    assert "&quot;source&quot;: &quot;serial_number&quot;" in text  # an effective mapping
    section = client.get(section_url(JAMF_SECTION), headers=headers(client, "viewer")).text
    assert "not-used-in-this-test" not in section and 'value="save"' not in section and 'value="preview"' not in section


def test_a_viewer_may_validate_but_not_save_or_preview(client, demo_runs):  # noqa: F811
    text = editable(client, ASSETS_SECTION)
    assert post(client, "viewer", ASSETS_SECTION, text, "validate").status_code == 200
    before = demo_runs["ini"].read_text()
    for action in ("save", "preview", "download"):
        assert post(client, "viewer", ASSETS_SECTION, text + "model = x\n", action).status_code == 403, action
    assert demo_runs["ini"].read_text() == before


def test_cross_site_posts_are_refused(client, demo_runs):  # noqa: F811
    text = editable(client, ASSETS_SECTION) + "mapping.BARCODE = {\"source\": \"serial_number\"}\n"
    before = demo_runs["ini"].read_text()
    assert post(client, "admin", ASSETS_SECTION, text, "save", origin="https://evil.example").status_code == 403
    assert post(client, "admin", ASSETS_SECTION, text, "save", origin=None).status_code == 403
    assert post(client, "admin", ASSETS_SECTION, text, "save", csrf="0" * 64).status_code == 403
    viewer_token = csrf_token(type("U", (), {"get_name": lambda self: "viewer"})())
    assert post(client, "admin", ASSETS_SECTION, text, "save", csrf=viewer_token).status_code == 403  # another user's
    assert demo_runs["ini"].read_text() == before


def test_a_broken_mapping_is_shown_on_its_line_and_never_saved(client, demo_runs):  # noqa: F811
    before = demo_runs["ini"].read_text()
    text = editable(client, ASSETS_SECTION).replace('mapping.MODEL = {"source": "model"}',
                                                    'mapping.MODEL = {"source": "model"')
    response = post(client, "admin", ASSETS_SECTION, text, "save")
    assert response.status_code == 422 and 'data-ok="false"' in response.text and "Not saved" in response.text
    line = next(n for n, t in enumerate(before.splitlines(), 1) if t.startswith("mapping.MODEL"))
    assert re.search(rf'<div class="ln error" data-line="{line}">.*?mapping.MODEL.*?<div class="msg error">',
                     response.text, re.S)
    assert demo_runs["ini"].read_text() == before
    assert not demo_runs["ini"].with_name("config.ini.bak").exists() or \
        demo_runs["ini"].with_name("config.ini.bak").read_text() != text


def test_a_secret_is_never_taken_from_the_form(client, demo_runs):  # noqa: F811
    text = editable(client, JAMF_SECTION)
    assert "password = ********\n" in text and "not-used-in-this-test" not in text  # a placeholder in the editor
    response = post(client, "admin", JAMF_SECTION, text.replace("password = ********", "password = typed-in-the-browser"),
                    "save")
    assert response.status_code == 422 and "secrets are not typed here" in response.text
    assert "typed-in-the-browser" not in demo_runs["ini"].read_text()


def test_an_admin_saves_a_section_keeping_the_rest_of_the_file(client, demo_runs, caplog):  # noqa: F811
    ini = demo_runs["ini"]
    ini.write_text("# top comment\n" + ini.read_text().replace("[csv_users.uidemo]", "; users next\n[csv_users.uidemo]"))
    before = ini.read_text()
    text = editable(client, JAMF_SECTION).replace("sync_type = computers", "sync_type = mobiledevices")
    with caplog.at_level(logging.INFO, logger="airflow_provider_oomnitza.ui.config"):
        response = post(client, "admin", JAMF_SECTION, text, "save")
    assert response.status_code == 200 and "Saved" in response.text, response.text[-2000:]
    after = ini.read_text()
    assert after == before.replace("sync_type = computers", "sync_type = mobiledevices")  # comments, order, secret kept
    assert ini.with_name("config.ini.bak").read_text() == before
    assert any("user admin changed section [casper.uidemo]" in r.getMessage() and "sync_type" in r.getMessage()
               for r in caplog.records)
    assert "not-used-in-this-test" not in caplog.text


def test_a_read_only_file_is_offered_as_a_download(client, demo_runs):  # noqa: F811
    ini = demo_runs["ini"]
    before = ini.read_text()
    ini.chmod(0o444)
    try:
        page = client.get(section_url(JAMF_SECTION), headers=headers(client, "admin")).text
        assert 'data-mode="download"' in page and 'value="save"' not in page
        text = editable(client, JAMF_SECTION).replace("username = reader", "username = auditor")
        assert post(client, "admin", JAMF_SECTION, text, "save").status_code == 409
        response = post(client, "admin", JAMF_SECTION, text, "download")
        assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
        assert "username = auditor" in response.text and "not-used-in-this-test" not in response.text
        assert "sandbox-token" not in response.text
    finally:
        ini.chmod(0o644)
    assert ini.read_text() == before


def test_preview_maps_the_first_records_from_the_source(client, demo_runs):  # noqa: F811
    text = editable(client, ASSETS_SECTION)
    response = post(client, "admin", ASSETS_SECTION, text, "preview")
    assert response.status_code == 200, response.text[-2000:]
    shown = int(re.search(r'data-preview-count="(\d+)"', response.text).group(1))
    assert shown > 0 and "SERIAL_NUMBER" in response.text
