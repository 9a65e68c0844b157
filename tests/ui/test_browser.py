"""The sync view in a real browser: ``airflow api-server`` (a real process, SQLite, the simple auth
manager's users) with the plugin and the demo runs, driven by Debian's headless Chromium over
the DevTools protocol: log in on Airflow's login page, open the view from Airflow's navigation,
check the counts and a refused record, and take screenshots.

Screenshots go to the test's temporary folder; with ``OOMNITZA_UPDATE_SCREENSHOTS=1`` to
``docs/images/`` (what docs/ui.md shows).
"""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from tests.conftest import REPO
from tests.ui.cdp import Browser
from tests.ui.conftest import PASSWORDS
from tests.ui.demo_data import ASSETS, REFUSED

FRAME = "document.querySelector('iframe[title=\"Oomnitza\"]')?.contentDocument"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def api_server(auth_env, demo_runs, tmp_path_factory):
    port = free_port()
    log = (tmp_path_factory.mktemp("api-server") / "api-server.log").open("w")
    env = dict(os.environ, PYTHONPATH=str(REPO), AIRFLOW__API__BASE_URL=f"http://127.0.0.1:{port}")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "airflow"), "api-server", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if proc.poll() is not None:
                raise RuntimeError(f"airflow api-server exited with {proc.returncode}; see {log.name}")
            try:
                if requests.get(f"{base}/api/v2/version", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            raise RuntimeError(f"airflow api-server did not answer in 5 minutes; see {log.name}")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def browser():
    instance = Browser(width=1440, height=1000)
    try:
        yield instance
    finally:
        instance.close()


def screenshot_path(tmp_path: Path, name: str) -> Path:
    if os.environ.get("OOMNITZA_UPDATE_SCREENSHOTS") == "1":
        return REPO / "docs" / "images" / name
    return tmp_path / name


def test_overview_and_run_page_in_chromium(api_server, demo_runs, browser, tmp_path):
    report = json.loads((demo_runs["storage"] / ASSETS / _safe(demo_runs["last"][ASSETS]) / "report.json").read_text())

    # Not logged in: the view itself answers 401 (and offers Airflow's login page).
    assert requests.get(f"{api_server}/oomnitza-sync/", timeout=10).status_code == 401

    browser.goto(f"{api_server}/auth/login?next={quote(api_server + '/plugin/oomnitza-sync', safe='')}")
    browser.wait_for("!!document.querySelector('input[name=password]')", what="the login form")
    browser.type_into("input[name=username]", "viewer")
    browser.type_into("input[name=password]", PASSWORDS["viewer"])
    browser.eval("document.querySelector('button[type=submit]').click()")
    browser.wait_for("!location.pathname.startsWith('/auth/')", what="the login to finish")
    if not browser.eval("location.pathname").endswith("/plugin/oomnitza-sync"):
        browser.goto(f"{api_server}/plugin/oomnitza-sync")

    # Airflow's navigation has the entry, and its page frames the view.
    browser.wait_for("!!document.querySelector('a[href$=\"plugin/oomnitza-sync\"]')", what="the navigation entry")
    card = f"{FRAME}?.querySelector('[data-dag={ASSETS}]')"
    shown = browser.wait_for(
        f"(() => {{ const c = {card}; if (!c) return null; const out = {{}};"
        " c.querySelectorAll('[data-count]').forEach(e => out[e.dataset.count] = e.textContent); return out; })()",
        what="the csv_assets counts in the view")
    assert shown == {"extracted": f"{report['extracted']:,}", "sent": f"{report['pushed']:,}",
                     "unchanged": f"{report['oomnitza_unchanged']:,}", "refused": "2",
                     "skipped": f"{report['missing']:,}"}
    assert browser.eval(f"{card}.querySelectorAll('svg.chart rect').length") == 14  # one square per run
    # a card per demo DAG (sync DAGs of other tests share this Airflow DB and get cards too)
    cards = browser.eval(f"Array.from({FRAME}.querySelectorAll('section.card')).map(c => c.dataset.dag)")
    assert set(demo_runs["dag_ids"]) <= set(cards)
    browser.wait_for(f"{FRAME}.fonts.status === 'loaded'", what="fonts")
    browser.screenshot(screenshot_path(tmp_path, "sync-view.png"))

    # The run page: from the card's "details" link, inside the frame.
    browser.eval(f"{card}.querySelector('.last a').click()")
    browser.wait_for(f"{FRAME}?.querySelectorAll('tr.refused-row').length === 2", what="the refused records")
    text = browser.eval(f"{FRAME}.body.innerText")
    assert REFUSED[0]["reason"] in text and REFUSED[1]["reason"] in text
    assert "missing required fields: SERIAL_NUMBER" in text  # a skipped record and its reason
    assert browser.eval(f"{FRAME}.querySelector('[data-count=refused]').textContent") == "2"
    airflow_link = browser.eval(f"{FRAME}.querySelector('a[target=_top][href*=\"/runs/\"]').getAttribute('href')")
    assert airflow_link == f"/dags/{ASSETS}/runs/{quote(demo_runs['last'][ASSETS], safe='')}"
    browser.screenshot(screenshot_path(tmp_path, "sync-view-run.png"))


def _safe(run_id: str) -> str:
    from airflow_provider_oomnitza.storage import _safe as safe

    return safe(run_id)
