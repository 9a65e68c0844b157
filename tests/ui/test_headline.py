"""The overview's headline numbers, from a run's report.json."""
from airflow_provider_oomnitza.ui.data import REPORT_LABELS, headline


def test_unchanged_counts_records_delta_sync_did_not_send():
    report = {"extracted": 10, "pushed": 3, "oomnitza_unchanged": 1, "delta_skipped": 7, "rejected": 0}
    assert headline(report) == {"extracted": 10, "sent": 3, "unchanged": 8, "refused": 0, "skipped": None}
    assert "delta sync" in REPORT_LABELS["delta_skipped"]


def test_a_report_without_delta_sync_keeps_oomnitzas_unchanged_count():
    assert headline({"extracted": 2, "pushed": 2, "oomnitza_unchanged": 2})["unchanged"] == 2
