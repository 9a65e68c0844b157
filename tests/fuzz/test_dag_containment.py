"""Through the real DAG files: a broken section never costs a healthy one its DAG (issue 16).

Each case writes a config.ini with a healthy section and one bad section, parses the dags
folder with a DagBag as the DAG processor does, and checks that the healthy DAG is there and
the config-check file's import error names the bad section's file, line and section.
"""
import pytest

from tests.conftest import REPO

OOMNITZA = b"[oomnitza]\nurl = https://acme.oomnitza.com\napi_token = t\n\n"
HEALTHY = (b"[csv_assets]\nenable = true\nfilename = /data/assets.csv\nsync_field = SERIAL\n"
           b'mapping.SERIAL = {"source": "serial"}\n\n')
BAD = {
    "non_utf8_byte": (b"[csv_assets.bad]\nenable = true\nfilename = /data/caf\xe9.csv\n",
                      ":13: [csv_assets.bad]: this line is not UTF-8 text (byte 0xe9 at column 21)"),
    "deep_json": (b"[csv_assets.bad]\nenable = true\nmapping.S = " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
                  ":13: [csv_assets.bad] mapping.S: expected a JSON object"),
    "deep_filter": (b"[csv_assets.bad]\nenable = true\nrecordfilter = return " + b"-" * 100_000 + b"1\n",
                    ":13: [csv_assets.bad] recordfilter: Python code too deeply nested"),
    "dag_cannot_be_built": (b"[csv_assets." + b"x" * 260 + b"]\nenable = true\nfilename = /x.csv\n"
                            b'sync_field = S\nmapping.S = {"source": "s"}\n',
                            ":11: [csv_assets.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...]: "
                            "its DAG cannot be built"),
}


def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_bad_sections_are_import_errors_and_the_healthy_section_keeps_its_dag(tmp_path, monkeypatch):
    """One file holding every bad case (each case's lines are numbered as if it stood alone)."""
    ini = tmp_path / "config.ini"
    monkeypatch.setenv("OOMNITZA_INI", str(ini))
    for bad, expected in BAD.values():
        ini.write_bytes(OOMNITZA + HEALTHY + bad)
        from airflow_provider_oomnitza.dag_factory import config_errors, create_dags

        assert list(create_dags()) == ["csv_assets_sync"]
        assert any(e.startswith(f"{ini}{expected}") for e in config_errors())
    ini.write_bytes(OOMNITZA + HEALTHY + b"\n".join(bad for bad, _ in BAD.values()))
    bag = dagbag()
    assert bag.dag_ids == ["csv_assets_sync"]
    [(path, error)] = bag.import_errors.items()
    assert path.endswith("oomnitza_config_check.py")
    for expected in ("this line is not UTF-8 text", "mapping.S: expected a JSON object",
                     "recordfilter: Python code too deeply nested", "its DAG cannot be built"):
        assert expected in error
    assert "Traceback" not in error.split("OomnitzaConfigError", 1)[-1]


def test_a_broken_section_with_the_same_dag_id_does_not_take_the_healthy_ones(tmp_path, monkeypatch):
    ini = tmp_path / "config.ini"
    ini.write_bytes(OOMNITZA + b"[csv assets]\nenable = true\nfilename = /x.csv\n\n" + HEALTHY)
    monkeypatch.setenv("OOMNITZA_INI", str(ini))
    bag = dagbag()
    assert bag.dag_ids == ["csv_assets_sync"]
    assert "/x.csv" not in str(bag.dags["csv_assets_sync"].doc_md) and "/data/assets.csv" in bag.dags[
        "csv_assets_sync"].doc_md
    [error] = bag.import_errors.values()
    assert "[csv_assets]: its DAG id csv_assets_sync is the same as [csv assets]'s" in error
