"""The benchmarks run, once each at a small size, so they cannot rot: only their SUMMARY lines are
checked (no timings: the figures are for docs/performance.md, taken by hand)."""
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

BENCHMARKS = {
    "sync_stages.py": (["--records", "300", "--latency-ms", "5", "--chunk-size", "200"],
                       ["SUMMARY sync records=300 run=only", "SUMMARY stage=extract", "SUMMARY stage=report",
                        "SUMMARY push_vs_bound records=300 run=only"]),
    "parse_time.py": (["--sections", "2", "--repeat", "1"], ["SUMMARY parse sections=2 "]),
    "versus_original.py": (["--records", "200", "--original-records", "20", "--latency-ms", "5", "--chunk-size", "100"],
                           ["SUMMARY ours records=200", "SUMMARY original_way records=20", "SUMMARY speedup"]),
    "push_throughput.py": (["--records", "300", "--workers", "2", "--latency-ms", "5"], ["SUMMARY push workers=2 "]),
    "mapping_throughput.py": (["--records", "300"], ["SUMMARY mapping kind=plain20", "SUMMARY mapping kind=mixed"]),
    "jamf_sync.py": (["--computers", "50", "--latency-ms", "5", "--no-per-device"], ["SUMMARY jamf computers=50 "]),
}


@pytest.mark.parametrize("script", sorted(BENCHMARKS))
def test_benchmark_prints_its_summary(script, tmp_path):
    args, expected = BENCHMARKS[script]
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp_path)}
    out = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args], capture_output=True, text=True,
                         env=env, cwd=str(REPO), timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    summary = [line for line in out.stdout.splitlines() if line.startswith("SUMMARY ")]
    for text in expected:
        assert any(text in line for line in summary), (text, summary)
