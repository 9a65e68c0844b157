"""Mutations of a valid config.ini and the properties every mutated file must keep.

Shared by the hypothesis tests (tests/fuzz/test_ini_fuzz.py, which draw the mutations) and
scripts/fuzz_ini.py (which draws them from a seeded ``random.Random`` for long runs and counts).

Properties, for any bytes in the file:
- reading, validating and building DAGs never raises (no traceback from our code), and no
  section needed the last-resort containment (an unexpected exception turned into an error);
- every issue names the file, and a line or a section, in a message of bounded size;
- a healthy section stays healthy: a section whose own text and the shared sections'
  ([oomnitza], [converters], [DEFAULT]) read the same as in the valid file, with no problem
  of its own, still gets its DAG from ``create_dags()`` (unless another section of the mutated
  file now claims the same DAG id).
"""
from __future__ import annotations

import random
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from airflow_provider_oomnitza.config.ini import DEFAULT_SECTION, IniFile, parse_ini_bytes
from airflow_provider_oomnitza.config.loader import CONVERTERS, OOMNITZA, load_config

MAX_MESSAGE = 1000
CONTAINED = ("this section cannot be read (", "its DAG cannot be built (", "cannot be read (")

BASE_INI = b"""\
# A valid config.ini: two healthy sections first, then the ones the mutations mostly hit.
[oomnitza]
url = https://example.oomnitza.com
api_token = not-a-real-token
schedule = @daily

[converters]
upper = return (value or "").upper()

[csv_assets]
enable = true
filename = /data/assets.csv
sync_field = SERIAL
mapping.SERIAL = {"source": "serial"}
mapping.MODEL = {"source": "model", "converter": "upper"}
recordfilter:
    return record.get("serial") != ""

[csv_users]
enable = true
filename = /data/users.csv
default_role = 25
default_position = Employee
mapping.USER = {"source": "login"}
mapping.EMAIL = {"source": "email", "converter": "split_email"}

[json_assets.fuzzed]
enable = true
directory = /data/json
sync_field = SERIAL
mapping.SERIAL = {"source": "hardware.serial"}
mapping.PRICE = {"source": "price", "type": "float"}
mapping.TAGS = {"hardcoded": ["a", "b"], "required": "false"}
recordfilter:
    if record.get("retired"):
        return False
    return True

[casper]
enable = false
url = https://jamf.example.com
username = auditor
password = pa55word
sync_field = SERIAL_NUMBER
mapping.SERIAL_NUMBER = {"source": "general.serial_number"}

[ldap.fuzzed]
enable = false
url = ldaps://ldap.example.com:636
username = cn=reader,dc=example,dc=com
password = secret
base_dn = dc=example,dc=com
groups_dn = ["cn=staff,dc=example,dc=com"]
default_role = 25
default_position = Employee
"""
HEALTHY = ("csv_assets", "csv_users", "json_assets.fuzzed")
SHARED = (OOMNITZA, CONVERTERS)

# Pieces of text the mutations insert: bad bytes, deep nesting, huge values, odd unicode,
# section headers and keys that duplicate or shadow others, Python and JSON edge cases.
JUNK: tuple[bytes, ...] = (
    b"\xff", b"\xe9", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\x00", b"\r", b"\x0c", b"\x0b", b"\x85",
    "\u2028".encode(), "\u202e".encode(), "\u0130".encode(), "e\u0301".encode(), "\U0001f600".encode(),
    b"=", b":", b";", b"#", b"[", b"]", b"{", b"}", b'"', b"'", b"\\", b"%(x)s", b'""', b" ", b"\t", b"\n",
    b"\n    ", b"\n  indented line\n", b"\nrem a comment\n", b"\n; comment\n",
    b"[" * 5000 + b"]" * 5000, b'{"a": ' * 3000 + b"1" + b"}" * 3000, b"(" * 300 + b"1" + b")" * 300,
    b"-" * 30000 + b"1", b"1" + b"+1" * 30000, b"not " * 20000 + b"x", b"lambda: " * 3000 + b"1",
    b"x" * 200_000, b" " * 100_000, b"9" * 5000, b"\xe9" * 1000,
    b"\n[csv_assets]\nenable = false\n", b"\n[oomnitza]\nretries = -1\n", b"\n[DEFAULT]\nenable = true\n",
    b"\n[converters]\nsplit_email = return 1/0\n", b"\n[converters]\nupper = return (\n",
    b"\n[" + b"a" * 300 + b"]\nenable = true\n", b"\n[\xe9]\nenable = 1\n", b"\n[]\n", b"\n[csv assets]\nenable = 1\n",
    b"\nenable = true\n", b"\nenable = TRUE1\n", b"\nschedule = * * * * * *\n", b"\nschedule = 61 * * * *\n",
    b"\nsync_field = ,,,\n", b"\nretries = 99999999999999999999\n", b"\nretry_delay = 2147483647\n",
    b"\nchunk_size = 0\n", b"\nrecordfilter = return " + b"(" * 150 + b"1" + b")" * 150 + b"\n",
    b"\nrecordfilter = import os\n", b"\nrecordfilter:\n\treturn\x00True\n", b"\nrecordfilter = \n",
    b'\nmapping.X = {"hardcoded": {1, 2}}\n', b"\nmapping.X = {'hardcoded': b'x'}\n",
    b'\nmapping.X = {"hardcoded": 1e999}\n', b'\nmapping.X = {"source": ["a"]}\n',
    b'\nmapping.X = {"type": {"a": 1}}\n', b"\nmapping.X = {1: 2, (3,): None}\n", b"\nmapping. = x\n",
    b'\nmapping.X = {"converter": "split:on=|index=99999999999999999999"}\n',
    b'\nmapping.X = {"converter": "location:field=a"}\n', b"\nmapping.X = ({},)\n", b"\nmapping.X = NaN\n",
    b"\nvault_keys = password\n", b"\nenv_password = \xe9\n", b"\nconn_id = x\n", b"\nuse_server_map = no\n",
)


@dataclass
class Outcome:
    traceback: str | None = None
    contained: list[str] = field(default_factory=list)  # unexpected exceptions the loader turned into errors
    unclear: list[str] = field(default_factory=list)  # issues without a place, or huge messages
    healthy_lost: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.traceback or self.contained or self.unclear or self.healthy_lost)


# -- mutations -------------------------------------------------------------------------------
# Each is (name, args); ``apply`` performs it. Positions are taken modulo the length.

def apply(data: bytes, mutation: tuple) -> bytes:
    kind, *args = mutation
    n = max(len(data), 1)
    if kind == "flip":
        pos, byte = args
        pos %= n
        return data[:pos] + bytes([byte]) + data[pos + 1:]
    if kind == "insert":
        pos, junk = args
        pos %= n + 1
        return data[:pos] + junk + data[pos:]
    if kind == "delete":
        pos, length = args
        pos %= n
        return data[:pos] + data[pos + length:]
    if kind == "truncate":
        return data[: args[0] % n]
    if kind == "duplicate_line":  # a repeated key, or a repeated section header
        lines = data.split(b"\n")
        src, dst = args[0] % len(lines), args[1] % (len(lines) + 1)
        return b"\n".join(lines[:dst] + [lines[src]] + lines[dst:])
    if kind == "swap_lines":
        lines = data.split(b"\n")
        a, b = args[0] % len(lines), args[1] % len(lines)
        lines[a], lines[b] = lines[b], lines[a]
        return b"\n".join(lines)
    raise ValueError(kind)


KINDS = ("flip", "insert", "insert", "insert", "delete", "truncate", "duplicate_line", "swap_lines")


def random_mutation(rng: random.Random) -> tuple:
    kind = rng.choice(KINDS)
    pos = rng.randrange(1 << 16)
    if kind == "flip":
        return kind, pos, rng.randrange(256)
    if kind == "insert":
        if rng.random() < 0.2:
            return kind, pos, bytes(rng.randrange(256) for _ in range(rng.randrange(1, 12)))
        return kind, pos, rng.choice(JUNK)
    if kind == "delete":
        return kind, pos, rng.randrange(1, 40)
    if kind == "truncate":
        return (kind, pos)
    return kind, pos, rng.randrange(1 << 16)


def random_mutant(rng: random.Random, base: bytes = BASE_INI) -> tuple[bytes, list[tuple]]:
    mutations = [random_mutation(rng) for _ in range(rng.choice((1, 1, 2, 3, 5)))]
    data = base
    for mutation in mutations:
        data = apply(data, mutation)
    return data, mutations


# -- the properties ----------------------------------------------------------------------------

def _values(ini: IniFile, name: str) -> dict[str, str] | None:
    section = ini.defaults if name == DEFAULT_SECTION else ini.sections.get(name)
    if section is None:
        return None
    return {k: v.value for k, v in section.options.items()}


def _clean(ini: IniFile, name: str) -> bool:
    section = ini.sections.get(name)
    return section is not None and not section.problems


def expected_healthy(original: IniFile, mutated: IniFile) -> list[str]:
    """Healthy sections of the valid file that the mutation left alone (see the module doc)."""
    from airflow_provider_oomnitza.dag_factory import dag_id_for

    if any(_values(original, s) != _values(mutated, s) or not _clean(mutated, s) for s in SHARED):
        return []
    if _values(original, DEFAULT_SECTION) != _values(mutated, DEFAULT_SECTION):
        return []
    out = []
    for name in HEALTHY:
        if _values(original, name) != _values(mutated, name) or not _clean(mutated, name):
            continue
        others = [s for s in mutated.sections if s != name and dag_id_for(s) == dag_id_for(name)]
        if not others:
            out.append(name)
    return out


def check(data: bytes, path: Path) -> Outcome:
    """Write ``data`` to ``path``, load it as the DAG files do, and judge the result."""
    from airflow_provider_oomnitza.dag_factory import config_errors, create_dags, dag_id_for

    path.write_bytes(data)
    outcome = Outcome()
    try:
        config = load_config(path, environ={})
        dags = create_dags(path)
        errors = config_errors(path)
    except Exception:
        outcome.traceback = traceback.format_exc()
        return outcome
    for issue in config.all_issues():
        text = str(issue)
        if issue.path != str(path) or (issue.line is None and issue.section is None) or len(text) > MAX_MESSAGE:
            outcome.unclear.append(text[:300])
    for text in errors:
        if any(marker in text for marker in CONTAINED):
            outcome.contained.append(text[:500])
        elif not text.startswith(str(path)) or len(text) > MAX_MESSAGE:
            outcome.unclear.append(text[:300])
    original = parse_ini_bytes(BASE_INI, str(path))
    mutated = parse_ini_bytes(data, str(path))
    for name in expected_healthy(original, mutated):
        if dag_id_for(name) not in dags:
            outcome.healthy_lost.append(name)
    return outcome
