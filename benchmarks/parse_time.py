"""DAG-file parse time: config.ini sections vs. the same DAGs written by hand vs. an empty DAG file.

    python benchmarks/parse_time.py [--sections 1,10,100] [--repeat 5]

For each size: a config.ini with that many ``[csv_assets.N]`` sections (three mappings each),
parsed through the provider's ``dags/oomnitza.py`` (and, separately, ``dags/oomnitza_config_check.py``,
which turns INI errors into import errors); the same DAGs written by hand in one DAG file
(extract -> mapped map -> mapped push -> report with our operators, the same Params and a doc);
and a DAG file that defines no DAG. As the dag-processor does, one process imports Airflow (not
timed) and each file is loaded with ``DagBag`` in a fresh fork of it. The kinds are interleaved
``--repeat`` times and the best time of each is kept, so machine load hits them alike. One ``SUMMARY`` line per figure.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

EMPTY = "# an airflow DAG file that defines no DAG\nimport airflow.sdk  # noqa: F401\n"

HAND = '''# airflow DAG file: the DAGs of config.ini, written by hand
import pendulum
from datetime import timedelta
from airflow.sdk import DAG, Param

from airflow_provider_oomnitza.operators.extract import OomnitzaExtractOperator
from airflow_provider_oomnitza.operators.map import OomnitzaMapOperator
from airflow_provider_oomnitza.operators.push import OomnitzaPushOperator
from airflow_provider_oomnitza.operators.report import OomnitzaReportOperator

INI = {ini!r}
for n in range({sections}):
    section = f"csv_assets.s{{n}}"
    common = {{"section": section, "ini_path": INI}}
    per_chunk = {{"map_index_template": "chunk {{{{ task.chunk.chunk }}}}", "max_active_tis_per_dagrun": 4}}
    with DAG(
        dag_id=f"csv_assets_s{{n}}_sync", dag_display_name=f"Oomnitza: {{section}}",
        description=f"Sync CSV [{{section}}] into Oomnitza assets", schedule=None,
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, max_active_runs=1,
        tags={{"oomnitza", "csv_assets", "assets"}},
        doc_md=f"# CSV: [{{section}}]\\n\\nSyncs assets into Oomnitza, identified by SERIAL.",
        default_args={{"owner": "oomnitza", "retries": 2, "retry_delay": timedelta(seconds=30)}},
        params={{
            "testmode": Param(False, type="boolean", title="Test mode", description="Send nothing."),
            "record_count": Param(0, type="integer", minimum=0, title="Record count", description="0 = all."),
            "save_data": Param(False, type="boolean", title="Save data", description="Keep the records."),
            "workers": Param(0, type="integer", minimum=0, maximum=64, title="Workers", description="0 = INI."),
            "full_sync": Param(False, type="boolean", title="Full sync", description="Every record."),
        }},
    ) as dag:
        extract = OomnitzaExtractOperator(task_id="extract", **common)
        mapped = OomnitzaMapOperator.partial(task_id="map", **per_chunk, **common).expand(chunk=extract.output)
        pushed = OomnitzaPushOperator.partial(task_id="push", **per_chunk, **common).expand(chunk=mapped.output)
        report = OomnitzaReportOperator(task_id="report", **common)
        pushed >> report
    globals()[dag.dag_id] = dag
'''

# Like the dag-processor: Airflow imported once, then each file parsed in a forked process of its own.
CHILD = '''
import json, os, sys, time
from airflow.dag_processing.dagbag import DagBag
import airflow.sdk  # noqa: F401
for file in sys.argv[1:]:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        start = time.perf_counter()
        bag = DagBag(dag_folder=file, safe_mode=False)
        elapsed = time.perf_counter() - start
        os.write(write, json.dumps({"seconds": elapsed, "dags": len(bag.dag_ids),
                                    "errors": len(bag.import_errors)}).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        print(fh.read(), flush=True)
    os.waitpid(pid, 0)
'''


def write_ini(path: Path, sections: int, csv: Path) -> None:
    parts = ["[oomnitza]\nurl = https://example.oomnitza.com\napi_token = t0ken\n"]
    for n in range(sections):
        parts.append(f"[csv_assets.s{n}]\nenable = true\nfilename = {csv}\nsync_field = SERIAL\n"
                     "use_server_map = false\n"
                     'mapping.SERIAL = {"source": "serial"}\nmapping.MODEL = {"source": "model"}\n'
                     "mapping.ASSIGNED_TO = owner\n")
    path.write_text("\n".join(parts))


def parse(files: list[Path], ini: Path) -> list[dict]:
    """Each file parsed in a fresh fork of one process that has Airflow imported."""
    env = {**os.environ, "OOMNITZA_INI": str(ini), "PYTHONPATH": str(REPO),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    out = subprocess.run([sys.executable, "-c", CHILD, *map(str, files)], capture_output=True, text=True, env=env,
                         cwd=str(REPO), check=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="1,10,100")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="parse-bench-"))
    csv = home / "assets.csv"
    csv.write_text("serial,model,owner\n")
    summary = []
    print(f"best of {args.repeat} fresh processes each, interleaved; Airflow imported before the timer")
    for sections in (int(n) for n in args.sections.split(",")):
        ini = home / f"config-{sections}.ini"
        write_ini(ini, sections, csv)
        files = {"empty": home / "empty.py", "hand": home / f"hand_{sections}.py",
                 "ini": REPO / "dags" / "oomnitza.py", "ini_check": REPO / "dags" / "oomnitza_config_check.py"}
        files["empty"].write_text(EMPTY)
        files["hand"].write_text(HAND.format(ini=str(ini), sections=sections))
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            for kind, result in zip(files, parse(list(files.values()), ini)):
                expected = {"empty": 0, "hand": sections, "ini": sections, "ini_check": 0}[kind]
                if result["dags"] != expected or result["errors"]:
                    raise SystemExit(f"{kind}: {result} (expected {expected} DAGs, no errors)")
                best[kind] = min(best.get(kind, float("inf")), result["seconds"])
        ratio = best["ini"] / best["hand"]
        over = best["ini"] - best["empty"]
        print(f"  {sections:3d} sections: empty {best['empty']:.3f} s, by hand {best['hand']:.3f} s, "
              f"config.ini {best['ini']:.3f} s ({ratio:.2f}x by hand, +{over:.3f} s over empty), "
              f"error check file {best['ini_check']:.3f} s", flush=True)
        summary.append(f"SUMMARY parse sections={sections} empty_s={best['empty']:.3f} hand_s={best['hand']:.3f} "
                       f"ini_s={best['ini']:.3f} ini_vs_hand={ratio:.2f} ini_over_empty_s={over:.3f} "
                       f"check_s={best['ini_check']:.3f}")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
