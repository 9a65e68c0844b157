"""Hypothesis settings for the fuzz tests: CI-sized by default, long runs by environment variable.

    OOMNITZA_FUZZ_EXAMPLES=10000 pytest tests/fuzz     # a long run (examples per test)
"""
import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("OOMNITZA_FUZZ_EXAMPLES", "0") or 0)

settings.register_profile(
    "oomnitza-fuzz",
    max_examples=EXAMPLES or 30,
    deadline=None,  # a loaded 2-core machine: count examples, never time them
    derandomize=not EXAMPLES,  # CI runs are reproducible; long runs explore
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                           HealthCheck.function_scoped_fixture],
    print_blob=True,
    database=None,  # nothing written into the checkout; failures print their reproduction blob
)
FUZZ = settings(settings.get_profile("oomnitza-fuzz"))
