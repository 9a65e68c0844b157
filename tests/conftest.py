"""Test session setup: a throw-away AIRFLOW_HOME before anything imports Airflow."""
import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_HOME = Path(tempfile.mkdtemp(prefix="oomnitza-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ.setdefault("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False")
os.environ.pop("OOMNITZA_INI", None)

# The real servers (slapd, the SCCM site database): one session fixture each, for every folder.
from tests.servers.fixtures import sccm_database, slapd_server  # noqa: E402,F401


@pytest.fixture
def airflow_home() -> Path:
    return _HOME


@pytest.fixture
def oomnitza_sandbox():
    """A running Oomnitza sandbox (in a thread); yields the SimulatorThread."""
    from tests.simulators.base import SimulatorThread
    from tests.simulators.oomnitza import OomnitzaState, build_app

    with SimulatorThread(build_app(OomnitzaState())) as sim:
        yield sim


@pytest.fixture(scope="session")
def airflow_db():
    """A migrated Airflow metadata DB (SQLite in the temporary AIRFLOW_HOME)."""
    from airflow.utils import db

    db.resetdb()
    return _HOME


def pytest_collection_modifyitems(session, config, items):
    """The browser tests run first. After the rest of the suite, the API server they start saw none of
    the demo runs this process had just written ("No runs yet"), although the same tests pass alone,
    after tests/ui, and after each subset of the suite tried; the cause is not found yet (see the
    session notes). Running them first keeps them meaningful until it is."""
    first = [item for item in items if item.nodeid.startswith("tests/ui/test_browser.py")]
    if first and len(first) < len(items):
        items[:] = first + [item for item in items if item not in first]
