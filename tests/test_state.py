"""SourceState: a section's value between runs, staged by a run and in force only once it committed."""
import json

import pytest

from airflow_provider_oomnitza.state import SourceState


@pytest.fixture
def base(tmp_path):
    return f"file://{tmp_path / 'runs'}"


def test_a_staged_value_is_in_force_only_after_its_run_commits(base, tmp_path):
    state = SourceState(base)
    assert state.read("jasper") is None
    state.stage("jasper", "run-1", "2026-01-01T00:00:00.000Z")
    assert state.read("jasper") is None  # the run has not succeeded yet
    assert state.commit("jasper", "run-1")
    assert SourceState(base).read("jasper") == "2026-01-01T00:00:00.000Z"  # another worker sees it
    stored = json.loads((tmp_path / "runs" / "_state" / "jasper.json").read_text())
    assert stored["committed_by"] == "run-1" and stored["pending"] == {}
    assert not state.commit("jasper", "run-1")  # nothing staged any more
    assert state.read("jasper.eu") is None  # per section


def test_a_failed_run_never_commits_and_an_older_run_never_replaces_a_newer_value(base):
    state = SourceState(base)
    state.stage("s", "failed-run", "A")  # this run fails: its report never commits
    state.stage("s", "old-run", "B")
    state.stage("s", "new-run", "C")
    assert state.commit("s", "new-run") and state.read("s") == "C"
    assert not state.commit("s", "old-run") and state.read("s") == "C"
    state.stage("s", "next-run", "D")
    assert state.commit("s", "next-run") and state.read("s") == "D"


def test_a_damaged_file_says_which_and_what_to_do(base, tmp_path):
    path = tmp_path / "runs" / "_state"
    path.mkdir(parents=True)
    (path / "s.json").write_text("{half")
    with pytest.raises(ValueError, match=r"s.json: not the JSON .*remove the file"):
        SourceState(base).read("s")
