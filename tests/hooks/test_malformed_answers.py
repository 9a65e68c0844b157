"""A 200 announced as JSON whose body is cut off is retried like a 5xx, then fails naming the call."""
import pytest

from airflow_provider_oomnitza.hooks.errors import HttpError
from airflow_provider_oomnitza.hooks.http_client import RetryingClient
from tests.simulators.base import SimulatorThread, knobs, stats
from tests.simulators.oomnitza import build_app

HEADERS = {"Authorization2": "sandbox-token"}


@pytest.fixture
def sim():
    with SimulatorThread(build_app()) as sim:
        yield sim


def client(sim):
    return RetryingClient(sim.url, name="Sandbox", headers=HEADERS, max_attempts=3, sleep=lambda seconds: None)


def test_a_truncated_page_is_fetched_again(sim):
    knobs(sim, fail_next=2, fail_action="truncate", fail_path="^/api/v3/locations$")
    page = client(sim).get_json("api/v3/locations")
    assert [loc["location_id"] for loc in page][:2] == ["HQ-SF", "NYC-01"]
    assert stats(sim)["by_path"]["/api/v3/locations"] == 3


def test_pages_that_stay_truncated_fail_naming_the_call(sim):
    knobs(sim, fail_next=3, fail_action="truncate", fail_path="^/api/v3/locations$")
    with pytest.raises(HttpError) as failed:
        client(sim).get_json("api/v3/locations")
    message = str(failed.value)
    assert message.startswith("Sandbox GET ") and "/api/v3/locations: gave up after 3 attempts" in message
    assert "not valid JSON" in message and "cut off?" in message
