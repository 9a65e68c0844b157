"""The sync view fed by a real sync: the CSV section's DAG run with ``dag.test()`` into the Oomnitza
sandbox (one record refused by Oomnitza, one skipped for a missing serial), then the view's data
layer and its pages, inside Airflow's API server app, read that run's report.json and files."""
import json
from urllib.parse import quote

import pytest

from airflow_provider_oomnitza.dag_factory import dag_id_for
from tests.dags.conftest import SyncEnv
from tests.ui.test_access import client, token  # noqa: F401 - the shared API server app fixture

SECTION = "csv_assets.realsync"  # a name no other test uses (one Airflow DB)
DAG_ID = dag_id_for(SECTION)
REASON = "Model 'ThinkPad X1' is not in the dropdown list"
CSV = ("serial,model\n"
       "C02AAA,MacBook Pro 14\n"
       "C02BBB,ThinkPad X1\n"
       ",No serial\n"
       "C02CCC,Dell XPS\n")


@pytest.fixture(scope="module")
def real_run(oomnitza_sandbox_module, tmp_path_factory, demo_runs):
    """One real run of the section; the storage and INI of ``demo_runs`` are this module's."""
    monkeypatch = pytest.MonkeyPatch()
    env = SyncEnv(tmp_path_factory.mktemp("realsync"), oomnitza_sandbox_module, monkeypatch)
    try:
        monkeypatch.setenv("OOMNITZA_STORAGE", f"file://{env.tmp / 'runs'}")
        csv_path = env.write("assets.csv", CSV)
        env.write_ini(f"[{SECTION}]\nenable = true\nfilename = {csv_path}\nsync_field = SERIAL\n"
                      "use_server_map = false\nmax_rejected = 2\n"
                      'mapping.SERIAL = {"source": "serial"}\nmapping.MODEL = {"source": "model"}\n')
        env.sandbox.state.reject("SERIAL", "C02BBB", REASON)
        run = env.run(DAG_ID)
        assert run.state == "success"
        yield env, run
    finally:
        monkeypatch.undo()


@pytest.fixture(scope="module")
def oomnitza_sandbox_module():
    from tests.simulators.base import SimulatorThread
    from tests.simulators.oomnitza import OomnitzaState, build_app

    with SimulatorThread(build_app(OomnitzaState())) as sim:
        yield sim


def test_the_data_layer_reads_the_real_run(real_run, monkeypatch):
    from airflow.utils.session import create_session

    from airflow_provider_oomnitza.ui.data import RunFiles, recent_runs, sync_dags

    env, run = real_run
    monkeypatch.setenv("OOMNITZA_STORAGE", f"file://{env.tmp / 'runs'}")
    report = env.report(DAG_ID, run)
    with create_session() as session:
        assert DAG_ID in {s.dag_id for s in sync_dags(session)}
        [last] = recent_runs(session, DAG_ID, 1)
    assert last.run_id == run.run_id and last.state == "success"
    assert last.counts == {"extracted": 4, "sent": 3, "unchanged": report["oomnitza_unchanged"], "refused": 1,
                           "skipped": 1}
    files = RunFiles(DAG_ID, run.run_id)
    [refused] = list(files.refused())
    assert refused["record"] == {"SERIAL": "C02BBB"} and REASON in refused["reason"]
    [skipped] = list(files.skipped())
    assert "missing required fields: SERIAL" in json.dumps(skipped)


def test_the_run_page_shows_the_real_run(real_run, client, monkeypatch):  # noqa: F811
    env, run = real_run
    monkeypatch.setenv("OOMNITZA_STORAGE", f"file://{env.tmp / 'runs'}")
    headers = {"Authorization": f"Bearer {token(client, 'viewer')}"}
    page = client.get(f"/oomnitza-sync/dags/{DAG_ID}/runs/{quote(run.run_id, safe='')}", headers=headers)
    assert page.status_code == 200
    assert 'data-count="extracted">4<' in page.text and 'data-count="sent">3<' in page.text
    assert 'data-count="refused">1<' in page.text and 'data-count="skipped">1<' in page.text
    assert page.text.count('class="refused-row"') == 1 and "C02BBB" in page.text
    assert "dropdown list" in page.text
    sections = client.get("/oomnitza-sync/api/sections?runs=1", headers=headers).json()["sections"]
    [mine] = [s for s in sections if s["dag_id"] == DAG_ID]
    assert mine["runs"][0]["counts"]["refused"] == 1
