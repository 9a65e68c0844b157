"""Demo data for the sync view tests: real sync DAGs (the DAG factory on a config.ini, written to
Airflow's database as the DAG processor does), runs in Airflow's database, and each run's files
in the run storage in the layout the report task writes (report.json, dead_letter.jsonl,
skipped/chunk-*.jsonl).
"""
from __future__ import annotations

import os
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

from airflow_provider_oomnitza.dag_factory import dag_id_for
from tests.conftest import REPO

EXAMPLE = REPO / "airflow_provider_oomnitza" / "example"
ASSETS = dag_id_for("csv_assets.uidemo")  # section names no other test uses (one Airflow DB)
USERS = dag_id_for("csv_users.uidemo")
JAMF = dag_id_for("casper.uidemo")


def write_config(path: Path, oomnitza_url: str = "https://acme.oomnitza.com") -> Path:
    template = (EXAMPLE / "config.ini").read_text()
    text = template.format(sandbox_url=oomnitza_url, example_dir=EXAMPLE)
    text = text.replace("[csv_assets]", "[csv_assets.uidemo]").replace("[csv_users]", "[csv_users.uidemo]")
    text += ("\n[casper.uidemo]\nenable = true\nurl = https://jss.example.com\nusername = reader\n"
             "password = not-used-in-this-test\nsync_field = SERIAL_NUMBER\nsync_type = computers\n"
             'mapping.SERIAL_NUMBER = {"source": "general.serial_number"}\n')
    path.write_text(text)
    return path


def register_dags(ini: Path) -> list[str]:
    """Parse the dags folder with this config.ini and store the DAGs in Airflow's DB, unpaused."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    os.environ["OOMNITZA_INI"] = str(ini)
    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(dag_folder=str(REPO / "dags"))
    assert not bag.import_errors, bag.import_errors
    sync_bag_to_db(bag, "dags-folder", None)
    return sorted(bag.dags)


def add_run(dag_id: str, run_id: str, *, state: str, start: datetime, minutes: float = 3,
            report: dict[str, Any] | None = None, refused: Iterable[dict] = (), skipped: Iterable[dict] = (),
            problems: Iterable[str] = ()) -> None:
    """One run: its row in Airflow's DB and its files in the run storage."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    from airflow_provider_oomnitza.storage import RunStorage

    with create_session() as session:
        run = DagRun(dag_id=dag_id, run_id=run_id, run_after=start, start_date=start, state=state,
                     run_type=DagRunType.SCHEDULED if run_id.startswith("scheduled") else DagRunType.MANUAL,
                     triggered_by=DagRunTriggeredByType.TEST, logical_date=None)
        run.end_date = start + timedelta(minutes=minutes) if state in ("success", "failed") else None
        session.add(run)
    storage = RunStorage(dag_id, run_id)
    if report is not None:
        storage.write_json("report.json", report)
        storage.write_jsonl("dead_letter.jsonl", refused)
        storage.write_jsonl("skipped/chunk-00000.jsonl", skipped)
    if problems:
        storage.write_jsonl("extract_problems.jsonl", ({"problem": p} for p in problems))


def report_for(extracted: int, sent: int, unchanged: int, refused: int, skipped: int, **extra: Any) -> dict:
    """A report.json as the report task writes it (the keys of operators/report.py)."""
    added = max(sent - unchanged - refused, 0) // 3
    return {
        "extracted": extracted, "malformed": 0, "mapped": extracted - skipped, "filtered": 0,
        "missing": skipped, "errors": 0, "converter_errors": 0, "pushed": sent, "would_push": 0, "rejected": 0,
        "failed_chunks": 0, "oomnitza_added": added, "oomnitza_updated": sent - unchanged - refused - added,
        "oomnitza_unchanged": unchanged, "oomnitza_skipped": 0, "oomnitza_failed": refused,
        "dead_letter": refused, "testmode": False, **extra,
    }


REFUSED = [
    {"stage": "oomnitza", "record": {"SERIAL_NUMBER": "C02XK0AAJGH5"},
     "reason": "Model 'MacBook Pro 16 (2019)' is not in the dropdown list of field MODEL"},
    {"stage": "upload", "record": {"SERIAL_NUMBER": "PF3NQ8TZ", "ASSIGNED_TO": "j.doe"},
     "reason": "ASSIGNED_TO: no user with username j.doe"},
]
SKIPPED = [
    {"record": "record #17", "kind": "missing", "reason": "missing required fields: SERIAL_NUMBER",
     "raw": {"asset_tag": "A-1017", "model": "ThinkPad T14"}},
    {"record": "record #42", "kind": "converter_error", "reason": "PURCHASE_DATE: date_format cannot read '31/02/2024'",
     "raw": {"serial_number": "5CG1234XYZ", "purchase_date": "31/02/2024"}},
]


def demo_history(now: datetime | None = None, runs: int = 14) -> dict[str, str]:
    """Two weeks of nightly runs for each section, with a dip and refused records; the last
    run id of each DAG."""
    now = now or datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    rng = random.Random(17)
    last: dict[str, str] = {}
    for dag_id, base, jitter in ((ASSETS, 1240, 30), (USERS, 410, 8), (JAMF, 2860, 40)):
        for i in range(runs):
            start = now - timedelta(days=runs - 1 - i, hours=2)
            run_id = f"scheduled__{start.isoformat()}"
            final = i == runs - 1
            if dag_id == JAMF and i == runs - 5:  # a night the Jamf server was down: extract failed, no report
                add_run(dag_id, run_id, state="failed", start=start, minutes=1)
                continue
            extracted = base + i * 3 + rng.randint(-jitter, jitter)
            if dag_id == ASSETS and i == runs - 4:
                extracted = int(base * 0.55)  # a dip worth seeing
            refused = (2 if final else rng.choice([0, 0, 0, 1])) if dag_id != USERS else rng.choice([0, 0, 1])
            skipped = 2 if final and dag_id == ASSETS else rng.choice([0, 1, 2])
            sent = extracted - skipped
            unchanged = int(sent * rng.uniform(0.82, 0.93))
            add_run(dag_id, run_id, state="success", start=start, minutes=rng.uniform(2, 9),
                    report=report_for(extracted, sent, unchanged, refused, skipped),
                    refused=REFUSED[:refused] if dag_id == ASSETS else [
                        {"stage": "oomnitza", "record": {"USER": f"user{n}"}, "reason": "EMAIL is not valid"}
                        for n in range(refused)],
                    skipped=SKIPPED[:skipped] if dag_id == ASSETS else [
                        {"record": f"record #{n}", "kind": "missing", "reason": "missing required fields: USER"}
                        for n in range(skipped)])
            last[dag_id] = run_id
    return last
