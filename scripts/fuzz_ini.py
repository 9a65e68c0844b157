"""Long fuzz run of the INI reader: N mutations of a valid config.ini, counted.

    PYTHONPATH=. python scripts/fuzz_ini.py --count 10000 [--seed 0] [--keep DIR]

Each mutant is loaded as the DAG files load it (load_config, create_dags, config_errors);
see tests/fuzz/ini_fuzz.py for the mutations and the properties. Prints the counts; with
--keep, failing mutants are saved there. Exit status 1 if any property failed.
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="oomnitza-fuzz-home-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="save failing mutants here")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # create_dags logs every broken file; the counts are the output

    from tests.fuzz.ini_fuzz import check, random_mutant

    rng = random.Random(args.seed)
    counts = {"tracebacks": 0, "healthy sections lost": 0, "contained exceptions": 0, "unclear messages": 0}
    workdir = Path(tempfile.mkdtemp(prefix="oomnitza-fuzz-"))
    started = time.monotonic()
    for n in range(1, args.count + 1):
        data, mutations = random_mutant(rng)
        outcome = check(data, workdir / "config.ini")
        counts["tracebacks"] += bool(outcome.traceback)
        counts["healthy sections lost"] += len(outcome.healthy_lost)
        counts["contained exceptions"] += bool(outcome.contained)
        counts["unclear messages"] += bool(outcome.unclear)
        if not outcome.ok:
            print(f"mutant {n}: {repr(mutations)[:300]}", file=sys.stderr)
            print(f"  {outcome.traceback or outcome.contained or outcome.unclear or outcome.healthy_lost}"[:2000],
                  file=sys.stderr)
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                (args.keep / f"mutant-{n}.ini").write_bytes(data)
        if n % 1000 == 0:
            print(f"{n} mutants, {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    print(f"mutants: {args.count} (seed {args.seed})")
    for name, value in counts.items():
        print(f"{name}: {value}")
    return 1 if any(counts.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
