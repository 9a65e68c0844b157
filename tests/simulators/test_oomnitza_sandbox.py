"""Behaviour of the Oomnitza sandbox (tests/simulators/oomnitza.py) over plain HTTP."""
from __future__ import annotations

import json
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.simulators.base import SimulatorProcess, SimulatorThread
from tests.simulators.oomnitza import OomnitzaState, build_app

REPO_ROOT = Path(__file__).resolve().parents[2]
TOKEN = {"Authorization2": "sandbox-token"}


@pytest.fixture
def sim():
    state = OomnitzaState()
    with SimulatorThread(build_app(state)) as running:
        yield running
    state.close()


def get(sim, path, **kw):
    kw.setdefault("headers", TOKEN)
    return requests.get(sim.url + path, timeout=10, **kw)


def post(sim, path, body=None, **kw):
    kw.setdefault("headers", TOKEN)
    return requests.post(sim.url + path, json=body, timeout=10, **kw)


def bulk_body(records, data_type="assets", portion=None, sync_field=("serial_number",), **extra):
    body = {
        "connector_name": "Jamf", "connector_version": "2.1.0", "sync_field": list(sync_field),
        "records": records, "portion": portion or str(uuid.uuid4()), "data_type": data_type,
        "insert_only": False, "update_only": False,
    }
    body.update(extra)
    return body


def bulk(sim, records, **kw):
    body = bulk_body(records, **kw)
    r = post(sim, "/api/v3/bulk", body)
    assert r.status_code == 200, r.text
    assert r.json() == {"portion": body["portion"], "accepted": len(records)}
    return body["portion"]


def outcomes(state, portion):
    return [(row["key"], row["outcome"]) for row in state.run_log(portion)]


def error_message(response):
    assert response.headers["Content-Type"].startswith("application/json")
    errors = response.json()["errors"]
    assert errors and errors[0]["status"] == response.status_code
    return errors[0]["message"]


# ------------------------------------------------------------------------ auth
def test_token_and_basic_auth(sim):
    assert get(sim, "/api/v2/mappings", params={"name": "AuthTest"}).status_code == 200
    assert get(sim, "/api/v3/locations", headers={}, auth=("admin", "admin")).status_code == 200

    missing = get(sim, "/api/v2/mappings", params={"name": "AuthTest"}, headers={})
    assert missing.status_code == 401
    assert "Authorization2" in error_message(missing)
    for kwargs in ({"headers": {"Authorization2": "nope"}},
                   {"headers": {}, "auth": ("admin", "wrong")},
                   {"headers": {}, "auth": ("nobody", "admin")}):
        r = get(sim, "/api/v3/assets", **kwargs)
        assert r.status_code == 401, kwargs
        assert error_message(r)
    # Unknown API paths are JSON errors too, after the auth check.
    assert get(sim, "/api/v3/nothing", headers={}).status_code == 401
    assert get(sim, "/api/v3/nothing").status_code == 404


def test_request_token_form_login(sim):
    r = requests.post(sim.url + "/api/request_token", data={"login": "admin", "password": "admin"}, timeout=10)
    assert r.status_code == 200
    token = r.json()["token"]
    assert token and token != "sandbox-token"
    assert get(sim, "/api/v3/users", headers={"Authorization2": token}).status_code == 200
    assert token in sim.state.tokens

    bad = requests.post(sim.url + "/api/request_token", data={"login": "admin", "password": "x"}, timeout=10)
    assert bad.status_code == 401 and error_message(bad)

    as_json = requests.post(sim.url + "/api/request_token", json={"login": "admin", "password": "admin"},
                            timeout=10)
    assert as_json.status_code == 400
    assert "form" in error_message(as_json)


# -------------------------------------------------------------------- mappings
def test_mappings_in_process_and_over_http(sim):
    sim.state.mappings["Okta"] = {"login": "USER", "email": ["EMAIL", "USER_EMAIL"]}
    assert get(sim, "/api/v2/mappings", params={"name": "Okta"}).json() == {
        "login": "USER", "email": ["EMAIL", "USER_EMAIL"]}

    r = requests.post(sim.url + "/_sim/mappings", json={"Casper": {"general.serial_number": "serial_number"}},
                      timeout=10)
    assert r.status_code == 200
    assert get(sim, "/api/v2/mappings", params={"name": "Casper"}).json() == {
        "general.serial_number": "serial_number"}
    assert get(sim, "/api/v2/mappings", params={"name": "Okta"}).json()["login"] == "USER"

    for name in ("AuthTest", "Unknown"):
        unknown = get(sim, "/api/v2/mappings", params={"name": name})
        assert unknown.status_code == 200 and unknown.json() == {}

    bad = requests.post(sim.url + "/_sim/mappings", json={"X": {"a": 5}}, timeout=10)
    assert bad.status_code == 400 and "'a'" in error_message(bad)


# ------------------------------------------------------------------------ bulk
def test_bulk_add_update_unchanged(sim):
    state = sim.state
    portion = str(uuid.uuid4())
    bulk(sim, [{"serial_number": "S1", "model": "MBP"}, {"serial_number": "S2", "model": "XPS"}],
         portion=portion)
    bulk(sim, [{"serial_number": "S1", "model": "MBP"},             # identical
               {"serial_number": "S2", "status": "In Stock"},        # new field: merged
               {"serial_number": "S3", "model": "ThinkPad"}],        # new key
         portion=portion)

    assert outcomes(state, portion) == [
        ({"serial_number": "S1"}, "added"), ({"serial_number": "S2"}, "added"),
        ({"serial_number": "S1"}, "unchanged"), ({"serial_number": "S2"}, "updated"),
        ({"serial_number": "S3"}, "added")]
    stored = {r["serial_number"]: r for r in state.records("assets")}
    assert set(stored) == {"S1", "S2", "S3"}
    assert stored["S2"]["model"] == "XPS" and stored["S2"]["status"] == "In Stock"
    assert all(len(r["uid"]) == 32 for r in stored.values())
    assert state.records("users") == []

    summary = get(sim, f"/api/v3/bulk/{portion}").json()
    assert summary["portion"] == portion and summary["connector_name"] == "Jamf"
    assert summary["data_type"] == "assets"
    assert (summary["finalized"], summary["canceled"]) == (False, False)
    assert {k: summary[k] for k in ("added", "updated", "unchanged", "skipped", "failed")} == {
        "added": 3, "updated": 1, "unchanged": 1, "skipped": 0, "failed": 0}

    # Upserts cross portions: a later run updating a value changes the stored record.
    later = bulk(sim, [{"serial_number": "S3", "model": "ThinkPad X1"}])
    assert outcomes(state, later) == [({"serial_number": "S3"}, "updated")]
    assert [r["model"] for r in state.records("assets") if r["serial_number"] == "S3"] == ["ThinkPad X1"]
    assert "model" in state.run_log(later)[0]["message"]


def test_duplicate_keys_within_one_post_and_multi_field_keys(sim):
    state = sim.state
    portion = bulk(sim, [{"serial_number": "S1", "barcode": "B1", "v": 1},
                         {"serial_number": "S1", "barcode": "B2", "v": 1},
                         {"serial_number": "S1", "barcode": "B1", "v": 2},
                         {"serial_number": "S1", "barcode": "B1", "v": 2}],
                   sync_field=("serial_number", "barcode"))
    assert [o for _, o in outcomes(state, portion)] == ["added", "added", "updated", "unchanged"]
    assert sorted((r["barcode"], r["v"]) for r in state.records("assets")) == [("B1", 2), ("B2", 1)]


def test_users_key_on_user_when_sync_field_empty(sim):
    state = sim.state
    first = bulk(sim, [{"USER": "jdoe@example.com", "FIRST_NAME": "Jane"}], data_type="users", sync_field=())
    second = bulk(sim, [{"USER": "jdoe@example.com", "FIRST_NAME": "Janet"}], data_type="users", sync_field=())
    assert outcomes(state, first) == [({"USER": "jdoe@example.com"}, "added")]
    assert outcomes(state, second) == [({"USER": "jdoe@example.com"}, "updated")]
    assert [u["FIRST_NAME"] for u in state.records("users")] == ["Janet"]
    assert state.records("assets") == []

    r = post(sim, "/api/v3/bulk", bulk_body([{"serial_number": "S1"}], sync_field=()))
    assert r.status_code == 400 and "sync_field" in error_message(r)


def test_insert_only_and_update_only(sim):
    state = sim.state
    bulk(sim, [{"serial_number": "S1", "model": "old"}])

    ins = bulk(sim, [{"serial_number": "S1", "model": "new"}, {"serial_number": "S2", "model": "new"}],
               insert_only=True)
    assert [o for _, o in outcomes(state, ins)] == ["skipped", "added"]
    assert "insert_only" in state.run_log(ins)[0]["message"]
    assert {r["serial_number"]: r["model"] for r in state.records("assets")} == {"S1": "old", "S2": "new"}

    upd = bulk(sim, [{"serial_number": "S1", "model": "newer"}, {"serial_number": "S9", "model": "x"}],
               update_only=True)
    assert [o for _, o in outcomes(state, upd)] == ["updated", "skipped"]
    assert "update_only" in state.run_log(upd)[1]["message"]
    assert {r["serial_number"]: r["model"] for r in state.records("assets")} == {"S1": "newer", "S2": "new"}
    assert state.portion(upd)["skipped"] == 1


@pytest.mark.parametrize("change, needle", [
    ({"insert_only": True, "update_only": True}, "insert_only and update_only"),
    ({"data_type": "computers"}, "data_type"),
    ({"records": {"serial_number": "S1"}}, "records must be a list"),
    ({"records": [{"serial_number": "S1"}, "S2"]}, "records[1]"),
    ({"sync_field": []}, "sync_field is required"),
    ({"sync_field": "serial_number"}, "sync_field must be a list"),
    ({"records": [{"serial_number": "S1"}, {"serial_number": "", "model": "x"}]}, "records[1] has no value"),
    ({"portion": "not-a-uuid"}, "portion"),
    ({"insert_only": "False"}, "insert_only must be a JSON boolean"),
    ({"connector_name": ""}, "connector_name"),
])
def test_bulk_validation_errors(sim, change, needle):
    body = bulk_body([{"serial_number": "S1"}])
    body.update(change)
    r = post(sim, "/api/v3/bulk", body)
    assert r.status_code == 400
    assert needle in error_message(r)
    # A rejected request stores nothing, not even the valid records before the bad one.
    assert sim.state.records("assets") == []
    with pytest.raises(KeyError):
        sim.state.portion(body["portion"])


def test_malformed_json_is_400(sim):
    r = requests.post(sim.url + "/api/v3/bulk", data=b"{not json", headers=TOKEN, timeout=10)
    assert r.status_code == 400 and "not valid JSON" in error_message(r)


def test_rejection_rule_fails_record_with_reason(sim):
    state = sim.state
    state.reject("serial_number", "BAD-1", "serial number is on the deny list")
    r = requests.post(sim.url + "/_sim/reject", timeout=10,
                      json={"field": "status", "value": "Lost", "reason": "status 'Lost' is not allowed"})
    assert r.status_code == 200 and len(r.json()) == 2

    portion = bulk(sim, [{"serial_number": "OK-1"}, {"serial_number": "BAD-1"},
                         {"serial_number": "OK-2", "status": "Lost"}])
    log = state.run_log(portion)
    assert [(row["outcome"], row["message"]) for row in log[1:]] == [
        ("failed", "serial number is on the deny list"), ("failed", "status 'Lost' is not allowed")]
    assert log[0]["outcome"] == "added"
    assert [r["serial_number"] for r in state.records("assets")] == ["OK-1"]

    over_http = get(sim, f"/api/v3/connector_run_logs/{portion}", params={"outcome": "failed"}).json()
    assert over_http["failed"] == 2 and over_http["added"] == 1 and over_http["total"] == 2
    assert [row["key"] for row in over_http["records"]] == [{"serial_number": "BAD-1"},
                                                             {"serial_number": "OK-2"}]


def test_finalize_then_post_conflicts(sim):
    portion = bulk(sim, [{"serial_number": "S1"}])
    r = post(sim, f"/api/v3/bulk/{portion}/finalize", {})
    assert r.status_code == 200
    assert r.json()["finalized"] is True and r.json()["added"] == 1
    assert get(sim, f"/api/v3/bulk/{portion}").json()["finalized"] is True

    again = post(sim, "/api/v3/bulk", bulk_body([{"serial_number": "S2"}], portion=portion))
    assert again.status_code == 409 and "finalized" in error_message(again)
    assert [r["serial_number"] for r in sim.state.records("assets")] == ["S1"]

    missing = str(uuid.uuid4())
    assert post(sim, f"/api/v3/bulk/{missing}/finalize", {}).status_code == 404
    assert get(sim, f"/api/v3/bulk/{missing}").status_code == 404
    assert get(sim, f"/api/v3/connector_run_logs/{missing}").status_code == 404


def test_portion_keeps_its_data_type_and_cancel_flag(sim):
    portion = bulk(sim, [{"serial_number": "S1"}])
    wrong = post(sim, "/api/v3/bulk", bulk_body([{"USER": "a"}], data_type="users", portion=portion,
                                                sync_field=("USER",)))
    assert wrong.status_code == 409 and "assets" in error_message(wrong)

    r = requests.post(sim.url + "/_sim/cancel", json={"portion": portion}, timeout=10)
    assert r.status_code == 200
    assert get(sim, f"/api/v3/bulk/{portion}").json()["canceled"] is True
    after = post(sim, "/api/v3/bulk", bulk_body([{"serial_number": "S2"}], portion=portion))
    assert after.status_code == 409 and "canceled" in error_message(after)


def test_run_log_paging(sim):
    portion = bulk(sim, [{"serial_number": f"S{i:02d}"} for i in range(25)])
    keys = []
    for skip in (0, 10, 20):
        page = get(sim, f"/api/v3/connector_run_logs/{portion}", params={"limit": 10, "skip": skip}).json()
        assert page["added"] == 25 and page["processing"] == 0 and page["canceled"] is False
        keys += [row["key"]["serial_number"] for row in page["records"]]
    assert keys == [f"S{i:02d}" for i in range(25)]
    assert get(sim, f"/api/v3/connector_run_logs/{portion}", params={"limit": "x"}).status_code == 400


# ------------------------------------------------------------------- read-back
def test_read_back_paging_filter_sort(sim):
    records = [{"serial_number": f"S{i:03d}", "n": i, "model": "MBP" if i % 3 == 0 else "XPS",
                "notes": "it's ok" if i == 7 else None} for i in range(250)]
    bulk(sim, records)

    default = get(sim, "/api/v3/assets").json()
    assert isinstance(default, list) and len(default) == 100
    assert [r["n"] for r in default] == list(range(100))

    seen = []
    skip = 0
    while True:
        page = get(sim, "/api/v3/assets", params={"limit": 40, "skip": skip}).json()
        seen += [r["serial_number"] for r in page]
        if len(page) < 40:
            break
        skip += 40
    assert seen == [r["serial_number"] for r in records]

    mbp = get(sim, "/api/v3/assets", params={"filter": "model eq 'MBP'", "limit": 1000}).json()
    assert len(mbp) == 84 and {r["model"] for r in mbp} == {"MBP"}
    both = get(sim, "/api/v3/assets", params={"filter": "model eq 'MBP' and n ge 240"}).json()
    assert [r["n"] for r in both] == [240, 243, 246, 249]
    quoted = get(sim, "/api/v3/assets", params={"filter": "notes eq 'it''s ok'"}).json()
    assert [r["n"] for r in quoted] == [7]

    desc = get(sim, "/api/v3/assets", params={"sortby": "n:desc", "limit": 3}).json()
    assert [r["n"] for r in desc] == [249, 248, 247]
    by_model = get(sim, "/api/v3/assets", params={"sortby": "model,n:desc", "limit": 2}).json()
    assert [(r["model"], r["n"]) for r in by_model] == [("MBP", 249), ("MBP", 246)]

    slim = get(sim, "/api/v3/assets", params={"fields": "serial_number", "limit": 1}).json()
    assert slim == [{"serial_number": "S000", "uid": default[0]["uid"]}]

    one = get(sim, f"/api/v3/assets/{default[5]['uid']}")
    assert one.status_code == 200 and one.json() == default[5]
    assert get(sim, f"/api/v3/users/{default[5]['uid']}").status_code == 404
    assert get(sim, "/api/v3/assets/0123456789abcdef0123456789abcdef").status_code == 404

    for params in ({"filter": "model = 'MBP'"}, {"filter": "model eq MBP"}, {"sortby": "n:sideways"},
                   {"limit": "-1"}, {"skip": "abc"}):
        r = get(sim, "/api/v3/assets", params=params)
        assert r.status_code == 400, params
        assert error_message(r)


def test_locations_are_seeded(sim):
    locations = get(sim, "/api/v3/locations").json()
    assert len(locations) >= 3
    assert all({"location_id", "name", "uid"} <= set(loc) for loc in locations)
    r = requests.post(sim.url + "/_sim/locations", json=[{"location_id": "BER", "name": "Berlin"}], timeout=10)
    assert r.status_code == 200
    replaced = get(sim, "/api/v3/locations").json()
    assert [loc["name"] for loc in replaced] == ["Berlin"] and replaced[0]["uid"]


# ---------------------------------------------------------------------- faults
def test_rate_limit_answers_429_with_retry_after(sim):
    knobs = {"rate_limit": 2, "rate_window_s": 60, "retry_after_s": 7}
    assert requests.post(sim.url + "/_sim/knobs", json=knobs, timeout=10).status_code == 200
    assert get(sim, "/api/v3/locations").status_code == 200
    assert get(sim, "/api/v3/locations").status_code == 200
    limited = get(sim, "/api/v3/locations")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert "rate limit" in error_message(limited)
    assert requests.get(sim.url + "/_sim/stats", timeout=10).json()["rate_limited"] == 1

    requests.post(sim.url + "/_sim/knobs", json={"rate_limit": 0}, timeout=10)
    assert get(sim, "/api/v3/locations").status_code == 200


def test_fail_next_burst_targets_bulk_only_then_succeeds(sim):
    knobs = {"fail_next": 2, "fail_status": 503, "fail_path": "^/api/v3/bulk$"}
    assert requests.post(sim.url + "/_sim/knobs", json=knobs, timeout=10).status_code == 200
    assert get(sim, "/api/v2/mappings", params={"name": "AuthTest"}).status_code == 200

    body = bulk_body([{"serial_number": "S1"}])
    for _ in range(2):
        r = post(sim, "/api/v3/bulk", body)
        assert r.status_code == 503
        assert "maintenance" in error_message(r)
    assert sim.state.records("assets") == []
    assert post(sim, "/api/v3/bulk", body).status_code == 200
    assert post(sim, f"/api/v3/bulk/{body['portion']}/finalize", {}).status_code == 200
    assert [r["serial_number"] for r in sim.state.records("assets")] == ["S1"]
    assert sim.state.portion(body["portion"])["added"] == 1
    assert sim.state.stats.injected_failures == 2


def test_reset_restores_constructed_state(sim):
    state = sim.state
    bulk(sim, [{"serial_number": "S1"}])
    state.mappings["Okta"] = {"a": "b"}
    state.reject("serial_number", "S2", "no")
    token = requests.post(sim.url + "/api/request_token", data={"login": "admin", "password": "admin"},
                          timeout=10).json()["token"]
    assert requests.post(sim.url + "/_sim/reset", timeout=10).status_code == 200
    assert state.records("assets") == [] and state.rules == [] and state.mappings == {}
    assert get(sim, "/api/v3/assets", headers={"Authorization2": token}).status_code == 401
    assert get(sim, "/api/v3/assets").json() == []


# ------------------------------------------------------------------------ load
def test_two_thousand_records_in_twenty_posts(sim):
    portion = str(uuid.uuid4())
    for batch in range(20):
        bulk(sim, [{"serial_number": f"SN{batch:02d}-{i:03d}", "batch": batch} for i in range(100)],
             portion=portion)
    assert len(sim.state.records("assets")) == 2000
    summary = sim.state.portion(portion)
    assert (summary["posts"], summary["received"], summary["added"]) == (20, 2000, 2000)
    assert len(get(sim, "/api/v3/assets", params={"limit": 5000}).json()) == 1000  # capped


def test_concurrent_posts_to_separate_portions(sim):
    def run(worker):
        portion = str(uuid.uuid4())
        for batch in range(5):
            bulk(sim, [{"USER": f"u{worker}-{batch}-{i}@example.com"} for i in range(20)],
                 data_type="users", sync_field=("USER",), portion=portion)
        return portion

    with ThreadPoolExecutor(8) as pool:
        portions = list(pool.map(run, range(8)))
    assert len(sim.state.records("users")) == 8 * 5 * 20
    assert all(sim.state.portion(p)["added"] == 100 for p in portions)


def test_file_database_uses_wal(tmp_path):
    db = tmp_path / "oomnitza.sqlite"
    state = OomnitzaState(db_path=str(db))
    try:
        assert state.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        state.close()
    with sqlite3.connect(db) as conn:
        assert {"assets", "users", "portions", "run_log"} <= {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


# --------------------------------------------------------------------- process
def test_process_round_trip_with_cli_options(tmp_path):
    mappings = tmp_path / "mappings.json"
    mappings.write_text(json.dumps({"Okta": {"login": "USER"}}))
    db = tmp_path / "sandbox.sqlite"
    args = ("--token", "proc-token", "--user", "bob:s3cret:x", "--db", str(db),
            "--mappings-file", str(mappings))
    headers = {"Authorization2": "proc-token"}

    with SimulatorProcess("tests.simulators.oomnitza", *args, cwd=str(REPO_ROOT)) as proc:
        url = proc.url
        assert requests.get(url + "/api/v3/users", headers=TOKEN, timeout=10).status_code == 401
        assert requests.get(url + "/api/v3/users", auth=("bob", "s3cret:x"), timeout=10).status_code == 200
        assert requests.get(url + "/api/v2/mappings", params={"name": "Okta"}, headers=headers,
                            timeout=10).json() == {"login": "USER"}
        body = bulk_body([{"USER": "jdoe@example.com", "EMAIL": "jdoe@example.com"}], data_type="users",
                         sync_field=("USER",))
        assert requests.post(url + "/api/v3/bulk", json=body, headers=headers, timeout=10).status_code == 200
        fin = requests.post(url + f"/api/v3/bulk/{body['portion']}/finalize", json={}, headers=headers,
                            timeout=10)
        assert fin.json()["added"] == 1
        users = requests.get(url + "/api/v3/users", params={"filter": "USER eq 'jdoe@example.com'"},
                             headers=headers, timeout=10).json()
        assert [u["EMAIL"] for u in users] == ["jdoe@example.com"]

    # The --db file keeps the data for the next start.
    with SimulatorProcess("tests.simulators.oomnitza", *args, cwd=str(REPO_ROOT)) as proc:
        users = requests.get(proc.url + "/api/v3/users", headers=headers, timeout=10).json()
        assert [u["USER"] for u in users] == ["jdoe@example.com"]
        log = requests.get(proc.url + f"/api/v3/connector_run_logs/{body['portion']}", headers=headers,
                           timeout=10).json()
        assert log["finalized"] is True and log["records"][0]["outcome"] == "added"
