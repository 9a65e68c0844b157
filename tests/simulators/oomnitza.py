"""Oomnitza sandbox: a loopback simulator of the Oomnitza API.

The provider's OomnitzaHook, the end-to-end tests and the benchmarks talk to this
instead of a real tenant. Facts about the real API come from the shared reference
(source-apis.md section 13, oomnitza-connector-facts.md section 4); where the
reference is silent the choices made here are marked "sandbox choice".

HTTP surface (every ``/api/*`` call except ``/api/request_token`` needs either the
header ``Authorization2: <token>`` or HTTP Basic credentials of a known user):

* ``POST /api/request_token``                form ``login``, ``password`` -> ``{"token": ...}``
* ``GET  /api/v2/mappings?name=<Mapping>``   ``{source_field: field | [fields]}``; ``{}`` if unknown
* ``POST /api/v3/bulk``                      upsert a batch of records into a portion
* ``GET  /api/v3/bulk/<portion>``            portion summary (counters, finalized, canceled)
* ``POST /api/v3/bulk/<portion>/finalize``   close the portion; later posts to it get 409
* ``GET  /api/v3/connector_run_logs/<portion>``  counters plus per-record outcomes (limit/skip)
* ``GET  /api/v3/assets``, ``/api/v3/users``  bare JSON arrays (limit, skip, sortby, filter, fields)
* ``GET  /api/v3/assets/<uid>``, ``/api/v3/users/<uid>``
* ``GET  /api/v3/locations``                 configured locations (limit, skip)

Control routes (no auth, no faults), next to the ``/_sim/knobs|stats|reset`` of base.py:

* ``GET|POST /_sim/mappings``    ``{name: mapping}`` merged into the configured mappings
* ``GET|POST|DELETE /_sim/reject``  rejection rules ``{"field", "value", "reason"[, "data_type"]}``
* ``GET|POST /_sim/locations``   replace the location list (POST a JSON array)
* ``POST /_sim/cancel``          ``{"portion": id}`` marks a portion canceled, as the UI would

``/_sim/reset`` puts everything back as constructed: knobs, stats, stored records,
portions, run logs, rejection rules, issued tokens, mappings and locations.

Fault knobs come from base.py. To make only bulk uploads fail, anchor the regex:
``{"fail_next": 3, "fail_path": "^/api/v3/bulk$"}`` (plain ``/api/v3/bulk`` also
matches the finalize and status paths). Injected failures happen before the handler
runs, so a failed upload stores nothing; with ``"fail_after_handler": true`` the upload is
stored and only its answer is lost (a client that retries then posts it twice).
``{"fail_status": 503, "fail_retry_after_s": 30}`` adds ``Retry-After: 30`` to the
maintenance-mode answer.

Run as a process: ``python -m tests.simulators.oomnitza --port 0 [--token T]
[--user login:password] [--db PATH] [--mappings-file FILE]``; the URL is the first
line on stdout.
"""
from __future__ import annotations

import argparse
import copy
import http
import json
import re
import secrets
import sqlite3
import threading
import time
import uuid
from collections import Counter
from datetime import datetime, timezone

from aiohttp import BasicAuth, web

from tests.simulators.base import SimState, colon_pairs, json_response, main, make_app, state_of

DATA_TYPES = ("assets", "users")
OUTCOMES = ("added", "updated", "unchanged", "skipped", "failed")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# Keep "WHERE key IN (...)" well under SQLite's bound-parameter limit.
_KEY_CHUNK = 500

DEFAULT_LOCATIONS = [
    {"location_id": "HQ-SF", "name": "San Francisco HQ", "latitude": 37.7897, "longitude": -122.3942,
     "uid": "5d3c0a4e9b1f4e2a8c7d6b5a4f3e2d1c"},
    {"location_id": "NYC-01", "name": "New York Office", "latitude": 40.7411, "longitude": -73.9897,
     "uid": "8a1b2c3d4e5f40718293a4b5c6d7e8f9"},
    {"location_id": "LON-01", "name": "London Office", "latitude": 51.5194, "longitude": -0.1270,
     "uid": "c0ffee00b1e54a7d9e8f7a6b5c4d3e2f"},
    {"location_id": "REMOTE", "name": "Remote / Home Office", "latitude": None, "longitude": None,
     "uid": "f1e2d3c4b5a6478899aabbccddeeff00"},
]


class ApiError(Exception):
    """An error answered as ``{"errors": [{"status", "message"}]}`` with ``status``."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def error_response(status: int, message: str, headers: dict | None = None) -> web.Response:
    return json_response({"errors": [{"status": status, "message": message}]}, status=status,
                         headers=headers)


def _now_iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _canon(value) -> str:
    """Canonical JSON, so that 1 and True, or key order, never compare equal by accident."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _is_blank(value) -> bool:
    return value is None or value == ""


def _canonical_portion(value) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


class OomnitzaState(SimState):
    """Tokens, users, mappings, locations, rejection rules and the SQLite store."""

    def __init__(self, tokens=None, users=None, db_path: str = ":memory:",
                 mappings: dict | None = None, locations: list | None = None) -> None:
        super().__init__()
        self._initial = {
            "tokens": set(tokens) if tokens is not None else {"sandbox-token"},
            "users": dict(users) if users is not None else {"admin": "admin"},
            "mappings": copy.deepcopy(mappings or {}),
            "locations": copy.deepcopy(locations if locations is not None else DEFAULT_LOCATIONS),
        }
        for name, mapping in self._initial["mappings"].items():
            _check_mapping(name, mapping)
        self.db_path = db_path
        self._lock = threading.RLock()
        self.db = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        self._init_db()
        self._restore_config()

    # ----------------------------------------------------------------- setup
    def _restore_config(self) -> None:
        """(Re)fill the config containers in place, so references held by tests stay live."""
        init = self._initial
        if not hasattr(self, "tokens"):
            self.tokens: set[str] = set()
            self.users: dict[str, str] = {}
            self.mappings: dict[str, dict] = {}
            self.locations: list[dict] = []
            self.rules: list[dict] = []
        self.tokens.clear()
        self.tokens.update(init["tokens"])
        self.users.clear()
        self.users.update(init["users"])
        self.mappings.clear()
        self.mappings.update(copy.deepcopy(init["mappings"]))
        self.locations[:] = [_with_uid(loc) for loc in copy.deepcopy(init["locations"])]
        self.rules.clear()
        self.csrf_token = secrets.token_hex(16)

    def _init_db(self) -> None:
        db = self.db
        if self.db_path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=OFF")
        for table in DATA_TYPES:
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {table} ("
                " id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, uid TEXT NOT NULL UNIQUE,"
                " data TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,"
                " portion TEXT)"
            )
        db.execute(
            "CREATE TABLE IF NOT EXISTS portions ("
            " portion TEXT PRIMARY KEY, connector_name TEXT, connector_version TEXT,"
            " data_type TEXT NOT NULL, sync_field TEXT NOT NULL, created_at REAL NOT NULL,"
            " updated_at REAL NOT NULL, finalized_at REAL, finalized INTEGER NOT NULL DEFAULT 0,"
            " canceled INTEGER NOT NULL DEFAULT 0, posts INTEGER NOT NULL DEFAULT 0,"
            " received INTEGER NOT NULL DEFAULT 0, added INTEGER NOT NULL DEFAULT 0,"
            " updated INTEGER NOT NULL DEFAULT 0, unchanged INTEGER NOT NULL DEFAULT 0,"
            " skipped INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0)"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS run_log ("
            " id INTEGER PRIMARY KEY, portion TEXT NOT NULL, key TEXT NOT NULL,"
            " outcome TEXT NOT NULL, message TEXT NOT NULL, uid TEXT, at REAL NOT NULL)"
        )
        db.execute("CREATE INDEX IF NOT EXISTS run_log_portion ON run_log (portion, id)")

    def reset(self) -> None:
        """Back to the state as constructed (the ``/_sim/reset`` route calls this)."""
        super().reset()
        with self._lock:
            self.db.execute("BEGIN")
            for table in (*DATA_TYPES, "portions", "run_log"):
                self.db.execute(f"DELETE FROM {table}")
            self.db.execute("COMMIT")
            self._restore_config()

    def close(self) -> None:
        with self._lock:
            self.db.close()

    # ------------------------------------------------------- fault responses
    def rate_limited_response(self, reset_in: float, request: web.Request) -> web.Response:
        headers = self.retry_after_headers()
        message = "API rate limit exceeded"
        if headers:
            message += f"; retry after {headers['Retry-After']} s"
        return error_response(429, message, headers)

    def failure_response(self, status: int, request: web.Request) -> web.Response:
        if status == 503:
            message = "Oomnitza is in maintenance mode; try again later (simulated)"
        else:
            try:
                phrase = http.HTTPStatus(status).phrase
            except ValueError:
                phrase = "Error"
            message = f"{phrase} (simulated failure {status})"
        return error_response(status, message)

    # ------------------------------------------------------------------ auth
    def check_auth(self, headers) -> None:
        token = headers.get("Authorization2")
        basic = headers.get("Authorization")
        if token is None and basic is None:
            raise ApiError(401, "authentication required: send 'Authorization2: <api token>' "
                                "or HTTP Basic credentials")
        if token is not None and token.strip() in self.tokens:
            return
        if basic is not None:
            try:
                creds = BasicAuth.decode(basic)
            except ValueError:
                creds = None
            if creds is not None and self.users.get(creds.login) == creds.password:
                return
            if token is None:
                raise ApiError(401, "invalid username or password")
        raise ApiError(401, "invalid API token")

    def issue_token(self, login: str, password: str) -> str:
        if self.users.get(login) != password:
            raise ApiError(401, "invalid login or password")
        token = secrets.token_hex(20)
        self.tokens.add(token)
        return token

    # ------------------------------------------------------------ rejections
    def reject(self, field: str, value, reason: str, data_type: str | None = None) -> None:
        """Records (of ``data_type``, or any) whose ``field`` equals ``value`` fail with ``reason``."""
        if not isinstance(field, str) or not field:
            raise ApiError(400, "reject: 'field' must be a non-empty string")
        if not isinstance(reason, str) or not reason:
            raise ApiError(400, "reject: 'reason' must be a non-empty string")
        if data_type is not None and data_type not in DATA_TYPES:
            raise ApiError(400, f"reject: unknown data_type {data_type!r}")
        self.rules.append({"field": field, "value": value, "reason": reason, "data_type": data_type})

    def _rejection(self, data_type: str, record: dict) -> str | None:
        for rule in self.rules:
            if rule["data_type"] not in (None, data_type) or rule["field"] not in record:
                continue
            if _canon(record[rule["field"]]) == _canon(rule["value"]):
                return rule["reason"]
        return None

    # ------------------------------------------------------------------ bulk
    def ingest(self, body) -> dict:
        """Validate and apply one ``POST /api/v3/bulk`` body; return the ack."""
        if not isinstance(body, dict):
            raise ApiError(400, "bulk body must be a JSON object")
        data_type = body.get("data_type")
        if data_type not in DATA_TYPES:
            raise ApiError(400, f"unknown data_type {data_type!r}; expected 'assets' or 'users'")
        insert_only = _flag(body, "insert_only")
        update_only = _flag(body, "update_only")
        if insert_only and update_only:
            raise ApiError(400, "insert_only and update_only cannot both be true")
        connector_name = body.get("connector_name", body.get("connector_id"))
        if not isinstance(connector_name, str) or not connector_name.strip():
            raise ApiError(400, "connector_name is required (a non-empty string)")
        connector_version = body.get("connector_version", "")
        if not isinstance(connector_version, str):
            raise ApiError(400, "connector_version must be a string")
        portion = _canonical_portion(body.get("portion"))
        if portion is None:
            raise ApiError(400, f"portion must be a UUID string, got {body.get('portion')!r}")
        sync_field = body.get("sync_field")
        if sync_field is None or sync_field == []:
            if data_type == "assets":
                raise ApiError(400, "sync_field is required for assets: a non-empty list of field names")
            sync_field = ["USER"]
        if (not isinstance(sync_field, list)
                or not all(isinstance(f, str) and f.strip() for f in sync_field)):
            raise ApiError(400, "sync_field must be a list of non-empty field names")
        records = body.get("records")
        if not isinstance(records, list):
            raise ApiError(400, "records must be a list of objects")
        keys = []
        for i, rec in enumerate(records):
            if not isinstance(rec, dict):
                raise ApiError(400, f"records[{i}] is not an object")
            key = {f: rec.get(f) for f in sync_field}
            if all(_is_blank(v) for v in key.values()):
                raise ApiError(400, f"records[{i}] has no value for any sync field "
                                    f"({', '.join(sync_field)})")
            keys.append(_canon(key))

        with self._lock:
            row = self.db.execute(
                "SELECT data_type, finalized, canceled FROM portions WHERE portion = ?", (portion,)
            ).fetchone()
            if row is not None:
                if row[1]:
                    raise ApiError(409, f"portion {portion} is already finalized")
                if row[2]:
                    raise ApiError(409, f"portion {portion} was canceled")
                if row[0] != data_type:
                    raise ApiError(409, f"portion {portion} holds {row[0]}, not {data_type}")
            self.db.execute("BEGIN")
            try:
                now = time.time()
                if row is None:
                    self.db.execute(
                        "INSERT INTO portions (portion, connector_name, connector_version, data_type,"
                        " sync_field, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (portion, connector_name, connector_version, data_type,
                         json.dumps(sync_field), now, now),
                    )
                counts = self._upsert(data_type, portion, records, keys, insert_only, update_only, now)
                self.db.execute(
                    "UPDATE portions SET posts = posts + 1, received = received + ?, added = added + ?,"
                    " updated = updated + ?, unchanged = unchanged + ?, skipped = skipped + ?,"
                    " failed = failed + ?, updated_at = ? WHERE portion = ?",
                    (len(records), *(counts[o] for o in OUTCOMES), now, portion),
                )
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return {"portion": portion, "accepted": len(records)}

    def _upsert(self, data_type, portion, records, keys, insert_only, update_only, now) -> Counter:
        existing: dict[str, tuple[str, dict]] = {}
        distinct = list(dict.fromkeys(keys))
        for start in range(0, len(distinct), _KEY_CHUNK):
            chunk = distinct[start:start + _KEY_CHUNK]
            marks = ",".join("?" * len(chunk))
            for key, uid, data in self.db.execute(
                f"SELECT key, uid, data FROM {data_type} WHERE key IN ({marks})", chunk
            ):
                existing[key] = (uid, json.loads(data))

        counts: Counter = Counter()
        changed: dict[str, list] = {}  # key -> [uid, data, is_new]
        log = []
        for rec, key in zip(records, keys):
            reason = self._rejection(data_type, rec)
            uid = None
            if reason is not None:
                outcome, message = "failed", reason
            else:
                current = changed.get(key)
                if current is None and key in existing:
                    current = [*existing[key], False]
                if current is None:
                    if update_only:
                        outcome, message = "skipped", "update_only: no existing record matches the sync fields"
                    else:
                        uid = uuid.uuid4().hex
                        changed[key] = [uid, dict(rec), True]
                        outcome, message = "added", f"created {uid}"
                else:
                    uid, stored, is_new = current
                    merged = {**stored, **rec}
                    if insert_only:
                        outcome, message = "skipped", f"insert_only: record {uid} already exists"
                    elif _canon(merged) == _canon(stored):
                        outcome, message = "unchanged", f"no changes for {uid}"
                    else:
                        diff = sorted(f for f in rec if f not in stored or _canon(stored[f]) != _canon(rec[f]))
                        changed[key] = [uid, merged, is_new]
                        outcome, message = "updated", f"updated {uid}: {', '.join(diff)}"
            counts[outcome] += 1
            log.append((portion, key, outcome, message, uid, now))

        inserts = [(k, uid, json.dumps(d), now, now, portion)
                   for k, (uid, d, is_new) in changed.items() if is_new]
        updates = [(json.dumps(d), now, portion, k)
                   for k, (uid, d, is_new) in changed.items() if not is_new]
        if inserts:
            self.db.executemany(
                f"INSERT INTO {data_type} (key, uid, data, created_at, updated_at, portion)"
                " VALUES (?, ?, ?, ?, ?, ?)", inserts)
        if updates:
            self.db.executemany(
                f"UPDATE {data_type} SET data = ?, updated_at = ?, portion = ? WHERE key = ?", updates)
        self.db.executemany(
            "INSERT INTO run_log (portion, key, outcome, message, uid, at) VALUES (?, ?, ?, ?, ?, ?)", log)
        return counts

    # -------------------------------------------------------------- portions
    def portion(self, portion_id: str) -> dict:
        """Summary of a portion; KeyError if unknown."""
        pid = _canonical_portion(portion_id)
        with self._lock:
            cur = self.db.execute("SELECT * FROM portions WHERE portion = ?", (pid,))
            row = cur.fetchone()
            if row is None:
                raise KeyError(f"unknown portion {portion_id!r}")
            cols = [c[0] for c in cur.description]
        r = dict(zip(cols, row))
        return {
            "portion": r["portion"],
            "connector_name": r["connector_name"],
            "connector_version": r["connector_version"],
            "data_type": r["data_type"],
            "sync_field": json.loads(r["sync_field"]),
            "finalized": bool(r["finalized"]),
            "canceled": bool(r["canceled"]),
            "processing": 0,
            "posts": r["posts"],
            "received": r["received"],
            **{o: r[o] for o in OUTCOMES},
            "created_at": _now_iso(r["created_at"]),
            "finalized_at": _now_iso(r["finalized_at"]),
        }

    def finalize(self, portion_id: str) -> dict:
        summary = self.portion(portion_id)  # KeyError if unknown
        if not summary["finalized"]:
            with self._lock:
                self.db.execute("UPDATE portions SET finalized = 1, finalized_at = ? WHERE portion = ?",
                                (time.time(), summary["portion"]))
        return self.portion(portion_id)

    def cancel(self, portion_id: str) -> dict:
        """Mark a portion canceled (as a user would in the Oomnitza UI)."""
        summary = self.portion(portion_id)
        with self._lock:
            self.db.execute("UPDATE portions SET canceled = 1 WHERE portion = ?", (summary["portion"],))
        return self.portion(portion_id)

    def run_log(self, portion_id: str, limit: int | None = None, skip: int = 0,
                outcome: str | None = None) -> list[dict]:
        """Per-record outcomes of a portion, in arrival order; KeyError if unknown."""
        pid = self.portion(portion_id)["portion"]
        sql = "SELECT key, outcome, message, uid FROM run_log WHERE portion = ?"
        params: list = [pid]
        if outcome is not None:
            sql += " AND outcome = ?"
            params.append(outcome)
        sql += " ORDER BY id LIMIT ? OFFSET ?"
        params += [-1 if limit is None else limit, skip]
        with self._lock:
            rows = self.db.execute(sql, params).fetchall()
        return [{"key": json.loads(k), "outcome": o, "message": m, "uid": u} for k, o, m, u in rows]

    def run_log_count(self, portion_id: str, outcome: str | None = None) -> int:
        pid = self.portion(portion_id)["portion"]
        sql, params = "SELECT COUNT(*) FROM run_log WHERE portion = ?", [pid]
        if outcome is not None:
            sql += " AND outcome = ?"
            params.append(outcome)
        with self._lock:
            return self.db.execute(sql, params).fetchone()[0]

    # --------------------------------------------------------------- records
    def records(self, data_type: str) -> list[dict]:
        """Every stored record of ``data_type`` (fields as sent plus ``uid``), oldest first."""
        return self.query(data_type, limit=None)

    def record(self, data_type: str, uid: str) -> dict | None:
        _check_data_type(data_type)
        with self._lock:
            row = self.db.execute(f"SELECT uid, data FROM {data_type} WHERE uid = ?", (uid,)).fetchone()
        return None if row is None else {**json.loads(row[1]), "uid": row[0]}

    def query(self, data_type: str, limit: int | None = DEFAULT_LIMIT, skip: int = 0,
              sortby: str | None = None, filter: str | None = None,
              fields: list[str] | None = None) -> list[dict]:
        _check_data_type(data_type)
        where, params = _compile_filter(filter)
        order, order_params = _compile_sort(sortby)
        sql = (f"SELECT uid, data FROM {data_type}{where} ORDER BY {order} LIMIT ? OFFSET ?")
        with self._lock:
            rows = self.db.execute(sql, [*params, *order_params, -1 if limit is None else limit, skip])
            out = [{**json.loads(data), "uid": uid} for uid, data in rows]
        if fields:
            out = [{f: r[f] for f in (*fields, "uid") if f in r} for r in out]
        return out


def _with_uid(location: dict) -> dict:
    if isinstance(location, dict) and "uid" not in location:
        location["uid"] = uuid.uuid4().hex
    return location


def _check_data_type(data_type: str) -> None:
    if data_type not in DATA_TYPES:
        raise ApiError(404, f"unknown data type {data_type!r}")


def _check_mapping(name, mapping) -> None:
    if not isinstance(name, str) or not name:
        raise ApiError(400, "mapping names must be non-empty strings")
    if not isinstance(mapping, dict):
        raise ApiError(400, f"mapping {name!r} must be an object of source_field -> field")
    for source, target in mapping.items():
        ok = isinstance(target, str) or (
            isinstance(target, list) and target and all(isinstance(t, str) for t in target))
        if not ok:
            raise ApiError(400, f"mapping {name!r}: {source!r} must map to a field name "
                                f"or a list of field names")


def _flag(body: dict, name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ApiError(400, f"{name} must be a JSON boolean, got {value!r}")
    return value


# ---------------------------------------------------------------- list queries
_FIELD_RE = re.compile(r"^[A-Za-z_][\w.\-]*$")
_FILTER_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)(?![\w.])|(?P<word>[A-Za-z_][\w.\-]*))"
)
_OPS = {"eq": "=", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def _field_sql(field: str) -> tuple[str, list]:
    if not _FIELD_RE.match(field):
        raise ApiError(400, f"invalid field name {field!r}")
    if field == "uid":
        return "uid", []
    return "json_extract(data, ?)", [f'$."{field}"']


def _compile_filter(text: str | None) -> tuple[str, list]:
    """``FIELD op VALUE [and FIELD op VALUE ...]`` with op in eq/ne/gt/ge/lt/le."""
    if text is None or not text.strip():
        return "", []
    tokens, pos = [], 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        m = _FILTER_TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ApiError(400, f"cannot parse filter {text!r} at position {pos}")
        tokens.append((m.lastgroup, m.group(m.lastgroup)))
        pos = m.end()
    usage = "expected FIELD eq|ne|gt|ge|lt|le VALUE [and ...] with string values in single quotes"
    clauses, params = [], []
    for i in range(0, len(tokens), 4):
        cond = tokens[i:i + 3]
        if len(cond) < 3 or cond[0][0] != "word" or cond[1][0] != "word":
            raise ApiError(400, f"bad filter {text!r}: {usage}")
        (_, field), (_, op), (kind, raw) = cond
        op = op.lower()
        if op not in _OPS:
            raise ApiError(400, f"bad filter {text!r}: unknown operator {op!r}; {usage}")
        expr, expr_params = _field_sql(field)
        word = raw.lower() if kind == "word" else None
        if word == "null" and op in ("eq", "ne"):
            clauses.append(f"{expr} IS {'NOT ' if op == 'ne' else ''}NULL")
            params += expr_params
        else:
            if kind == "str":
                value = raw[1:-1].replace("''", "'")
            elif kind == "num":
                value = float(raw) if "." in raw else int(raw)
            elif word in ("true", "false"):
                value = 1 if word == "true" else 0  # json_extract yields 1/0 for JSON booleans
            else:
                raise ApiError(400, f"bad filter {text!r}: value {raw!r} must be quoted; {usage}")
            clauses.append(f"{expr} {_OPS[op]} ?")
            params += [*expr_params, value]
        if i + 3 < len(tokens):
            kind, joiner = tokens[i + 3]
            if kind != "word" or joiner.lower() != "and" or i + 4 >= len(tokens):
                raise ApiError(400, f"bad filter {text!r}: conditions are joined with 'and'")
    return " WHERE " + " AND ".join(clauses), params


def _compile_sort(text: str | None) -> tuple[str, list]:
    """``field``, ``field:asc`` or ``field:desc``, comma-separated; ties in insertion order."""
    parts, params = [], []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        field, _, direction = item.partition(":")
        direction = direction.strip().lower() or "asc"
        if direction not in ("asc", "desc"):
            raise ApiError(400, f"bad sortby {text!r}: direction must be asc or desc")
        expr, expr_params = _field_sql(field.strip())
        parts.append(f"{expr} {direction.upper()}")
        params += expr_params
    parts.append("id ASC")
    return ", ".join(parts), params


def _int_param(request: web.Request, name: str, default: int, minimum: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ApiError(400, f"{name} must be >= {minimum}, got {value}")
    return value


def _paging(request: web.Request) -> tuple[int, int]:
    limit = min(_int_param(request, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
    return limit, _int_param(request, "skip", 0, 0)


# -------------------------------------------------------------------- handlers
async def _json_body(request: web.Request, allow_empty: bool = False):
    raw = await request.read()
    if not raw.strip():
        if allow_empty:
            return {}
        raise ApiError(400, "request body is empty; expected JSON")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}") from None


@web.middleware
async def _api_middleware(request: web.Request, handler):
    """Auth for ``/api/*`` and JSON bodies for every error; runs inside the fault middleware."""
    state = state_of(request)
    try:
        if request.path.startswith("/api/") and request.path != "/api/request_token":
            state.check_auth(request.headers)
        response = await handler(request)
    except ApiError as exc:
        response = error_response(exc.status, exc.message, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow",)}
        response = error_response(exc.status, f"{exc.reason}: {request.method} {request.path}", headers)
    if request.path.startswith("/api/"):
        response.headers["X-CSRF-Token"] = state.csrf_token
    return response


async def request_token(request: web.Request) -> web.Response:
    if request.content_type == "application/json":
        raise ApiError(400, "request_token takes a form-encoded body (login=...&password=...), not JSON")
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise ApiError(400, f"request_token takes a form-encoded body, got {request.content_type!r}")
    form = await request.post()
    login, password = form.get("login"), form.get("password")
    if not isinstance(login, str) or not login or not isinstance(password, str):
        raise ApiError(400, "request_token needs the form fields 'login' and 'password'")
    return json_response({"token": state_of(request).issue_token(login, password)})


async def get_mappings(request: web.Request) -> web.Response:
    name = request.query.get("name", request.query.get("connector_id"))
    if not name:
        raise ApiError(400, "the 'name' query parameter is required")
    return json_response(state_of(request).mappings.get(name, {}))


async def post_bulk(request: web.Request) -> web.Response:
    return json_response(state_of(request).ingest(await _json_body(request)))


def _portion_or_404(state: OomnitzaState, portion: str) -> dict:
    try:
        return state.portion(portion)
    except KeyError:
        raise ApiError(404, f"portion {portion} not found") from None


async def get_portion(request: web.Request) -> web.Response:
    return json_response(_portion_or_404(state_of(request), request.match_info["portion"]))


async def finalize_portion(request: web.Request) -> web.Response:
    body = await _json_body(request, allow_empty=True)
    if not isinstance(body, dict):
        raise ApiError(400, "finalize body must be a JSON object ({})")
    state = state_of(request)
    _portion_or_404(state, request.match_info["portion"])
    return json_response(state.finalize(request.match_info["portion"]))


async def get_run_log(request: web.Request) -> web.Response:
    state = state_of(request)
    summary = _portion_or_404(state, request.match_info["portion"])
    limit, skip = _paging(request)
    outcome = request.query.get("outcome") or None
    if outcome is not None and outcome not in OUTCOMES:
        raise ApiError(400, f"outcome must be one of {', '.join(OUTCOMES)}")
    pid = summary["portion"]
    body = {
        **summary,
        "total": state.run_log_count(pid, outcome),
        "records": state.run_log(pid, limit=limit, skip=skip, outcome=outcome),
    }
    return json_response(body)


async def list_records(request: web.Request) -> web.Response:
    limit, skip = _paging(request)
    fields = [f.strip() for f in request.query.get("fields", "").split(",") if f.strip()] or None
    rows = state_of(request).query(
        request.match_info["data_type"], limit=limit, skip=skip,
        sortby=request.query.get("sortby"), filter=request.query.get("filter"), fields=fields,
    )
    return json_response(rows)


async def get_record(request: web.Request) -> web.Response:
    data_type, uid = request.match_info["data_type"], request.match_info["uid"]
    record = state_of(request).record(data_type, uid)
    if record is None:
        raise ApiError(404, f"no {data_type[:-1]} with uid {uid}")
    return json_response(record)


async def list_locations(request: web.Request) -> web.Response:
    limit, skip = _paging(request)
    return json_response(state_of(request).locations[skip:skip + limit])


# ------------------------------------------------------------ control routes
async def sim_get_mappings(request: web.Request) -> web.Response:
    return json_response(state_of(request).mappings)


async def sim_set_mappings(request: web.Request) -> web.Response:
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise ApiError(400, "POST /_sim/mappings takes {name: {source_field: field}}")
    for name, mapping in body.items():
        _check_mapping(name, mapping)
    state = state_of(request)
    state.mappings.update(copy.deepcopy(body))
    return json_response(state.mappings)


async def sim_get_rules(request: web.Request) -> web.Response:
    return json_response(state_of(request).rules)


async def sim_add_rule(request: web.Request) -> web.Response:
    body = await _json_body(request)
    if not isinstance(body, dict) or "value" not in body:
        raise ApiError(400, 'POST /_sim/reject takes {"field", "value", "reason"[, "data_type"]}')
    state = state_of(request)
    state.reject(body.get("field"), body["value"], body.get("reason"), body.get("data_type"))
    return json_response(state.rules)


async def sim_clear_rules(request: web.Request) -> web.Response:
    state_of(request).rules.clear()
    return json_response([])


async def sim_get_locations(request: web.Request) -> web.Response:
    return json_response(state_of(request).locations)


async def sim_set_locations(request: web.Request) -> web.Response:
    body = await _json_body(request)
    if not isinstance(body, list) or not all(isinstance(x, dict) for x in body):
        raise ApiError(400, "POST /_sim/locations takes a JSON array of location objects")
    state = state_of(request)
    state.locations[:] = [_with_uid(loc) for loc in body]
    return json_response(state.locations)


async def sim_cancel(request: web.Request) -> web.Response:
    body = await _json_body(request)
    portion = body.get("portion") if isinstance(body, dict) else None
    state = state_of(request)
    _portion_or_404(state, str(portion))
    return json_response(state.cancel(portion))


def build_app(state: OomnitzaState | None = None) -> web.Application:
    state = state if state is not None else OomnitzaState()
    app = make_app(state)
    app.middlewares.append(_api_middleware)
    r = app.router
    r.add_post("/api/request_token", request_token)
    r.add_get("/api/v2/mappings", get_mappings)
    r.add_post("/api/v3/bulk", post_bulk)
    r.add_get("/api/v3/bulk/{portion}", get_portion)
    r.add_post("/api/v3/bulk/{portion}/finalize", finalize_portion)
    r.add_get("/api/v3/connector_run_logs/{portion}", get_run_log)
    r.add_get("/api/v3/locations", list_locations)
    r.add_get("/api/v3/{data_type:assets|users}", list_records)
    r.add_get("/api/v3/{data_type:assets|users}/{uid}", get_record)
    r.add_get("/_sim/mappings", sim_get_mappings)
    r.add_post("/_sim/mappings", sim_set_mappings)
    r.add_get("/_sim/reject", sim_get_rules)
    r.add_post("/_sim/reject", sim_add_rule)
    r.add_delete("/_sim/reject", sim_clear_rules)
    r.add_get("/_sim/locations", sim_get_locations)
    r.add_post("/_sim/locations", sim_set_locations)
    r.add_post("/_sim/cancel", sim_cancel)
    return app


# ------------------------------------------------------------------------ CLI
def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", action="append", metavar="TOKEN",
                        help="accepted API token (repeatable; default: sandbox-token)")
    parser.add_argument("--user", action="append", metavar="LOGIN:PASSWORD",
                        help="accepted login for Basic auth and request_token (repeatable; default admin:admin)")
    parser.add_argument("--db", default=":memory:", metavar="PATH",
                        help="SQLite file to keep records in (default: in memory)")
    parser.add_argument("--mappings-file", metavar="JSON",
                        help="file holding {MappingName: {source_field: field}}")


def _build_from_args(args: argparse.Namespace) -> web.Application:
    users = colon_pairs(args.user, "--user", "LOGIN:PASSWORD")
    mappings = None
    if args.mappings_file:
        with open(args.mappings_file, encoding="utf-8") as fh:
            mappings = json.load(fh)
    try:
        state = OomnitzaState(tokens=args.token, users=users, db_path=args.db, mappings=mappings)
    except ApiError as exc:
        raise SystemExit(f"--mappings-file: {exc.message}") from None
    return build_app(state)


if __name__ == "__main__":
    main(_build_from_args, "Oomnitza API sandbox (loopback simulator)", _add_arguments)
