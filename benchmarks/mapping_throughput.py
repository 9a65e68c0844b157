"""Mapping engine throughput: records per second on one core.

Maps generated records through a 20-field mapping of plain source paths (the issue's
target: at least 100,000 records/s), then through a mixed mapping with dotted paths,
a converter and a required field, and prints both figures.

    python benchmarks/mapping_throughput.py [--records N]
"""
from __future__ import annotations

import argparse
import time

from airflow_provider_oomnitza.mapping.engine import RecordMapper

FIELDS = 20


def make_records(n: int) -> list[dict]:
    return [
        {f"field_{i}": f"value {r}-{i}" for i in range(FIELDS)} | {"general": {"serial_number": f"SN{r:08d}"}}
        for r in range(n)
    ]


def measure(mapper: RecordMapper, records: list[dict], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for record in records:
            mapper.map(record)
        best = min(best, time.perf_counter() - start)
    return len(records) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    args = parser.parse_args()
    records = make_records(args.records)

    plain = {f"FIELD_{i}": {"source": f"field_{i}"} for i in range(FIELDS)}
    rate = measure(RecordMapper(plain, {}), records)
    print(f"plain 20-field mapping: {rate:,.0f} records/s ({args.records:,} records, best of 3)")
    summary = [f"SUMMARY mapping kind=plain20 records_per_s={rate:.0f}"]

    mixed = dict(plain)
    mixed["SERIAL"] = {"source": "general.serial_number", "required": True}
    mixed["FIELD_0"] = {"source": "field_0", "converter": "split:index=1"}
    mixed["ROLE"] = {"setting": "default_role"}
    rate = measure(RecordMapper(mixed, {"default_role": 25}, sync_fields=["SERIAL"]), records)
    print(f"mixed mapping (+dotted required field, converter, setting): {rate:,.0f} records/s")
    summary.append(f"SUMMARY mapping kind=mixed records_per_s={rate:.0f}")
    print("\n".join(summary))


if __name__ == "__main__":
    main()
