"""Property-based fuzzing of the webhook endpoint (webhooks/app.py) through FastAPI's TestClient.

Any body, content type and section name gets one of the documented answers (202, 400, 401, 404,
413, 415) with a short ``detail``; never a 5xx, never a traceback; and only a 202 stores an event or
requests a run.
"""
import json

import hypothesis.strategies as st
import pytest
from hypothesis import given

from tests.fuzz.profile import FUZZ
from tests.webhooks.payloads import computer_check_in, mobile_command_completed
from tests.webhooks.test_endpoint import BASIC, Harness

ANSWERS = {202, 400, 401, 404, 413, 415}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20)


def mutated(payload: dict, data) -> bytes:
    """A real event with one part replaced by any JSON value, or its bytes flipped."""
    body = json.loads(json.dumps(payload))
    part = data.draw(st.sampled_from(["webhook", "event"]))
    if data.draw(st.booleans()):
        body[part] = data.draw(json_values)
    else:
        key = data.draw(st.sampled_from(sorted(body[part]) or ["x"]))
        body[part][key] = data.draw(json_values)
    raw = bytearray(json.dumps(body).encode())
    for _ in range(data.draw(st.integers(0, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    return bytes(raw)


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"[" * 50_000 + b"]" * 50_000, b'{"a": ' * 20_000 + b"1" + b"}" * 20_000,
                     b'{"webhook": {"webhookEvent": "\\ud800"}, "event": {}}', b"\xef\xbb\xbf{}", b"NaN"]),
)


@pytest.fixture
def endpoint(tmp_path, monkeypatch):
    harness = Harness(tmp_path, monkeypatch)
    harness.connect(login=BASIC[0], password=BASIC[1])
    return harness


def check(endpoint, response, runs_before: int) -> None:
    assert response.status_code in ANSWERS, (response.status_code, response.text[:300])
    detail = response.json().get("detail", "") if response.content else ""
    assert "Traceback" not in str(detail) and len(str(detail)) < 1000
    if response.status_code != 202:
        assert len(endpoint.runs) == runs_before


@FUZZ
@given(data=st.data())
def test_any_mutation_of_a_real_event_gets_a_documented_answer(endpoint, data):
    payload = data.draw(st.sampled_from([computer_check_in(), mobile_command_completed()]))
    section = data.draw(st.sampled_from(["casper", "casper.MDM", "casper.1", "csv_assets", "nope", "ca%00sper"]))
    runs = len(endpoint.runs)
    check(endpoint, endpoint.post(section=section, body=mutated(payload, data)), runs)


@FUZZ
@given(body=bodies, content_type=st.sampled_from(["application/json", "application/json; charset=latin-1",
                                                  "text/plain", "application/xml", ""]),
       authenticated=st.booleans())
def test_any_body_gets_a_documented_answer(endpoint, body, content_type, authenticated):
    runs = len(endpoint.runs)
    response = endpoint.client.post("/hooks/jamf/casper", content=body, auth=BASIC if authenticated else None,
                                    headers={"Content-Type": content_type})
    check(endpoint, response, runs)
    if not authenticated:
        assert response.status_code == 401
