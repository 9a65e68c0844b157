"""A DAG scheduled on ``oomnitza_asset(...)`` runs when a task with that asset in ``outlets``
succeeds, as the report task will: the event is recorded by the task run, and Airflow's real
scheduler (``airflow scheduler``, one loop) creates the downstream run."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airflow_provider_oomnitza.ui import oomnitza_asset, oomnitza_asset_uri

URL = "https://acme.oomnitza.com"
UPSTREAM = textwrap.dedent('''
    import pendulum
    from airflow.sdk import DAG, task
    from airflow_provider_oomnitza.ui import oomnitza_asset

    with DAG("oomnitza_assets_sync_like", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
        @task(outlets=[oomnitza_asset("assets", "https://acme.oomnitza.com")])
        def report():
            return {"extracted": 3}

        report()
''')
DOWNSTREAM = textwrap.dedent('''
    import pendulum
    from airflow.sdk import DAG, task
    from airflow_provider_oomnitza.ui import oomnitza_asset

    with DAG("cmdb_refresh_after_oomnitza", schedule=[oomnitza_asset("assets", "https://ACME.oomnitza.com/")],
             start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
        @task
        def refresh():
            pass

        refresh()
''')


def test_the_uri_names_host_and_record_type():
    assert oomnitza_asset_uri("assets", "https://Acme.Oomnitza.com/") == "oomnitza://acme.oomnitza.com/assets"
    assert oomnitza_asset_uri("users", "acme.oomnitza.com") == "oomnitza://acme.oomnitza.com/users"
    assert oomnitza_asset_uri("users", "http://127.0.0.1:8765") == "oomnitza://127.0.0.1:8765/users"
    assert oomnitza_asset("users", URL).name == "oomnitza://acme.oomnitza.com/users"
    with pytest.raises(ValueError, match="record_type 'devices'"):
        oomnitza_asset_uri("devices", URL)
    with pytest.raises(ValueError, match="tenant_url"):
        oomnitza_asset_uri("assets", "https://")


def test_a_downstream_dag_runs_on_the_asset_event(airflow_db, tmp_path):
    from sqlalchemy import select

    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel
    from airflow.models.dag import DagModel
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "upstream.py").write_text(UPSTREAM)
    (folder / "downstream.py").write_text(DOWNSTREAM)
    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(folder))
    assert not bag.import_errors, bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)
    uri = oomnitza_asset_uri("assets", URL)

    upstream = bag.dags["oomnitza_assets_sync_like"].test()
    assert upstream.state == "success"
    with create_session() as session:
        asset_id = session.scalar(select(AssetModel.id).where(AssetModel.uri == uri))
        events = session.scalars(select(AssetEvent).where(AssetEvent.asset_id == asset_id)).all()
        assert [(e.source_dag_id, e.source_run_id) for e in events] == [("oomnitza_assets_sync_like", upstream.run_id)]
        queued = session.scalars(select(AssetDagRunQueue.target_dag_id).where(AssetDagRunQueue.asset_id == asset_id)).all()
        assert queued == ["cmdb_refresh_after_oomnitza"]
        downstream = session.get(DagModel, "cmdb_refresh_after_oomnitza")
        state = (downstream.is_paused, downstream.is_stale, downstream.has_import_errors)

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]),
               AIRFLOW__CORE__DAGS_FOLDER=str(folder), AIRFLOW__CORE__PARALLELISM="1")
    bin_dir = Path(sys.executable).parent
    result = subprocess.run([str(bin_dir / "airflow"), "scheduler", "--num-runs", "2"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with create_session() as session:
        runs = session.scalars(select(DagRun).where(DagRun.dag_id == "cmdb_refresh_after_oomnitza")).all()
        assert [r.run_type for r in runs] == ["asset_triggered"], (state, result.stdout[-2000:])
        consumed = runs[0].consumed_asset_events
        assert [(e.asset.uri, e.source_run_id) for e in consumed] == [(uri, upstream.run_id)]
