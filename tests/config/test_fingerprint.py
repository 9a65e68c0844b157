"""The section fingerprint: what the DAG carries and what each task checks its worker's config.ini against."""
import socket
from types import SimpleNamespace

import pytest

from airflow_provider_oomnitza.config.fingerprint import fingerprint_of_tags, section_fingerprint
from airflow_provider_oomnitza.config.loader import load_config

OOMNITZA = "[oomnitza]\nurl = https://acme.oomnitza.com\napi_token = s3cret-token\n"
SECTION = ("[csv_assets]\nenable = true\nfilename = /data/assets.csv\nsync_field = SERIAL\n"
           "use_server_map = false\n"
           'mapping.SERIAL = {"source": "serial"}\n'
           'mapping.MODEL = {"source": "model", "converter": "shout"}\n'
           "recordfilter = return record.get('serial') != ''\n")
CONVERTERS = "[converters]\nshout = return value.upper()\nunused = return value\n"
BASE = OOMNITZA + SECTION + CONVERTERS


def fingerprint(tmp_path, text, name="config.ini"):
    path = tmp_path / name
    path.write_text(text)
    config = load_config(path)
    assert config.ok, config.all_issues()
    return section_fingerprint(config, config.sections["csv_assets"])


def test_twelve_hex_digits_stable_across_key_order_comments_and_path(tmp_path):
    fp = fingerprint(tmp_path, BASE)
    assert len(fp) == 12 and int(fp, 16) >= 0
    reordered = ("# the team's copy\n" + CONVERTERS.replace("shout = return value.upper()\nunused = return value\n",
                                                            "unused = return value\nshout = return value.upper()\n")
                 + "[oomnitza]\napi_token = s3cret-token\n; where records go\nurl = https://acme.oomnitza.com\n"
                 "[csv_assets]\nrecordfilter = return record.get('serial') != ''\n"
                 'mapping.MODEL = {"converter": "shout", "source": "model"}\n'
                 "sync_field = SERIAL\nenable = true\n# a comment\nuse_server_map = false\n"
                 'mapping.SERIAL = {"source": "serial"}\nfilename = /data/assets.csv\n')
    assert fingerprint(tmp_path, reordered, "elsewhere.ini") == fp


@pytest.mark.parametrize("change", [
    ('mapping.SERIAL = {"source": "serial"}', 'mapping.SERIAL = {"source": "serial_no"}'),  # a mapping
    ("filename = /data/assets.csv", "filename = /data/other.csv"),  # a setting of the section
    ("url = https://acme.oomnitza.com", "url = https://other.oomnitza.com"),  # an [oomnitza] setting
    ("!= ''", "!= 'x'"),  # the recordfilter
    ("shout = return value.upper()", "shout = return value.lower()"),  # a converter the section uses
    ("api_token = s3cret-token", "api_token = s3cret-token\npassword = pw"),  # a secret set that was not
])
def test_changes_with_what_a_sync_reads(tmp_path, change):
    old, new = change
    assert old in BASE
    assert fingerprint(tmp_path, BASE.replace(old, new)) != fingerprint(tmp_path, BASE)


def test_not_with_a_secret_value_or_a_converter_the_section_does_not_use(tmp_path):
    fp = fingerprint(tmp_path, BASE)
    assert fingerprint(tmp_path, BASE.replace("s3cret-token", "another-token")) == fp  # set either way
    assert fingerprint(tmp_path, BASE.replace("unused = return value", "unused = return 1")) == fp


def test_with_server_mappings_every_converter_counts(tmp_path):
    """Oomnitza's server-side mappings, known only when a run starts, may name any [converters] entry."""
    base = BASE.replace("use_server_map = false\n", "")
    assert fingerprint(tmp_path, base.replace("unused = return value", "unused = return 1")) != \
        fingerprint(tmp_path, base)


def test_the_dag_carries_it_as_a_tag(tmp_path):
    from airflow_provider_oomnitza.dag_factory import create_dags

    fp = fingerprint(tmp_path, BASE)
    dag = create_dags(tmp_path / "config.ini")["csv_assets_sync"]
    assert f"ini:{fp}" in dag.tags and fingerprint_of_tags(dag.tags) == fp


class FakeTI:
    """Only the task instance is faked: ``get_dag`` answers with the tags the DAG processor stored."""

    dag_id = "csv_assets_sync"
    hostname = "worker-7"

    def __init__(self, tags):
        self.tags = tags
        self.asked = []

    def get_dag(self, dag_id):
        self.asked.append(dag_id)
        return SimpleNamespace(dag_id=dag_id, tags=self.tags)


def extract_task(tmp_path):
    from airflow_provider_oomnitza.dag_factory import create_dags

    (tmp_path / "config.ini").write_text(BASE)
    return create_dags(tmp_path / "config.ini")["csv_assets_sync"].task_dict["extract"]


def test_a_task_fails_when_the_dag_carries_another_fingerprint(tmp_path):
    from airflow_provider_oomnitza.operators.base import SectionConfigError

    task = extract_task(tmp_path)
    ti = FakeTI(["oomnitza", "csv", "assets", "ini:0123456789ab"])
    with pytest.raises(SectionConfigError) as raised:
        task.load({"ti": ti})
    here = fingerprint(tmp_path, BASE)
    message = str(raised.value)
    assert ti.asked == ["csv_assets_sync"]
    assert message.startswith(f"{tmp_path / 'config.ini'} on worker-7: section [csv_assets] differs")
    assert f"fingerprint here {here}, in the DAG 0123456789ab" in message
    assert "inside the DAG bundle or on a shared mount (docs/deployment.md" in message
    assert message.endswith("If you just changed it, wait for the DAG processor to re-parse, then start a new run.")
    assert "s3cret-token" not in message


def test_a_task_runs_when_the_fingerprints_match(tmp_path):
    task = extract_task(tmp_path)
    config, section = task.load({"ti": FakeTI(["oomnitza", f"ini:{fingerprint(tmp_path, BASE)}"])})
    assert section.name == "csv_assets"


def test_a_dag_without_the_tag_only_warns(tmp_path, capsys):
    task = extract_task(tmp_path)
    ti = FakeTI(["oomnitza", "csv", "assets"])  # parsed by a provider version without fingerprints
    task.load({"ti": ti})
    assert ti.asked == ["csv_assets_sync"]
    assert "carries no config.ini fingerprint" in "".join(capsys.readouterr())  # the task log (structlog)


def test_the_host_falls_back_to_this_machines_name(tmp_path):
    from airflow_provider_oomnitza.operators.base import SectionConfigError

    ti = FakeTI(["ini:0123456789ab"])
    ti.hostname = None
    with pytest.raises(SectionConfigError, match=f" on {socket.gethostname()}: section"):
        extract_task(tmp_path).load({"ti": ti})
