"""Deterministic Chef node objects (Ohai data) for the Chef Infra Server simulator.

:class:`NodeStore` holds ``n`` nodes generated from a ``seed``: the same seed always gives the same
nodes, and node ``i`` is rendered only when first asked for, so 50 000 nodes cost nothing until a
search touches them.  Each node carries the object id Chef Server sorts search results by
(``X_CHEF_id_CHEF_X``: the search ``sort`` parameter is ignored by the real server).

The automatic attributes follow what Ohai reports on each platform, including every attribute the
original Oomnitza connector read (``oomnitza-connector-facts.md`` §5.5):

* ``mac_os_x``: ``hardware.serial_number`` / ``machine_model`` / ``number_processors``, a flat
  ``cpu.model_name``, ``memory.total`` in **MB** (``"16384MB"``: the darwin Ohai plugin reports MB,
  which is why the original did not divide it by 1024), ``filesystem.by_mountpoint./.kb_size``;
* ``windows``: ``kernel.os_info.serial_number`` (the product id), ``kernel.cs_info.model`` /
  ``number_of_processors``, ``memory.total`` in kB, ``cpu.0.model_name``; ``filesystem`` either in
  the old layout (keyed by drive letter, ``"C:"``) or the newer one (``by_device`` /
  ``by_mountpoint`` / ``by_pair``), where "the first value" the original read has no ``kb_size``;
* ``ubuntu`` / ``centos`` / ``redhat``: ``memory.total`` in kB, ``cpu.0.model_name``,
  ``cpu.total``, ``filesystem.by_mountpoint./.kb_size``, ``dmi.system.serial_number``.

Some nodes miss attributes as real fleets do: registered but never converged (``automatic`` is
``{}``), no MAC address (containers), a Mac VM without a serial number, Windows without ``cs_info``,
Linux without ``dmi``.  Owner names in ``normal`` and Windows ``registered_user`` are unicode; node
names are ASCII because Chef allows only ``[A-Za-z0-9_.:-]`` in them.
"""
from __future__ import annotations

import random
import uuid
from typing import Any, Iterator

PLATFORM_WEIGHTS = (("mac_os_x", 35), ("windows", 35), ("ubuntu", 15), ("centos", 8), ("redhat", 7))
ENVIRONMENTS = ("_default", "production", "production", "staging", "development")
ROLES = ("base", "workstation", "web", "db", "monitoring")
DOMAIN = "corp.example.com"

_OWNERS = ["José Núñez", "Zoë Müller", "Björn Ødegaard", "Chloé Dubois", "Łukasz Kowalski",
           "李雷", "王芳", "Priya Patel", "Ngozi Okafor", "Søren Andersson", "Fatima Haddad",
           "Mary O'Brien", "Hiroshi Tanaka", "Ana García-López", "Kwame Mensah", "Liam Smith"]

# (machine_model, machine_name, cpu model, cores, memory GB, arch, disk kB)
_MACS = [
    ("Mac15,6", "MacBook Pro", "Apple M3 Pro", 11, 18, "arm64", 971350180),
    ("Mac15,3", "MacBook Pro", "Apple M3", 8, 16, "arm64", 488245288),
    ("Mac14,2", "MacBook Air", "Apple M2", 8, 8, "arm64", 239362496),
    ("Mac14,3", "Mac mini", "Apple M2", 8, 16, "arm64", 488245288),
    ("MacBookPro16,1", "MacBook Pro", "Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz", 6, 16, "x86_64",
     488245288),
]
_MAC_OS = [("14.4.1", "23E224", "23.4.0"), ("14.5", "23F79", "23.5.0"), ("13.6.6", "22G630", "22.6.0"),
           ("15.1", "24B83", "24.1.0")]
# (manufacturer, model, cpu model, logical cpus, memory GB, disk kB)
_PCS = [
    ("Dell Inc.", "OptiPlex 7090", "Intel(R) Core(TM) i7-11700 @ 2.50GHz", 16, 16, 498426876),
    ("Dell Inc.", "Latitude 5440", "13th Gen Intel(R) Core(TM) i5-1345U", 12, 16, 249200636),
    ("LENOVO", "20XW0055US", "11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz", 8, 16, 498426876),
    ("HP", "HP EliteBook 840 G8 Notebook PC", "11th Gen Intel(R) Core(TM) i5-1145G7 @ 2.60GHz", 8, 8,
     249200636),
    ("VMware, Inc.", "VMware7,1", "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz", 4, 8, 104305660),
]
_WINDOWS = [("Microsoft Windows 11 Enterprise", "10.0.22631", "22631"),
            ("Microsoft Windows 10 Enterprise", "10.0.19045", "19045"),
            ("Microsoft Windows Server 2019 Standard", "10.0.17763", "17763")]
_LINUX = {
    "ubuntu": ("debian", [("22.04", "5.15.0-101-generic"), ("24.04", "6.8.0-31-generic"),
                          ("20.04", "5.4.0-176-generic")]),
    "centos": ("rhel", [("7.9.2009", "3.10.0-1160.108.1.el7.x86_64")]),
    "redhat": ("rhel", [("9.3", "5.14.0-362.24.1.el9_3.x86_64"), ("8.9", "4.18.0-513.18.1.el8_9.x86_64")]),
}
_SERVERS = [("VMware, Inc.", "VMware Virtual Platform", "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz"),
            ("Dell Inc.", "PowerEdge R650", "Intel(R) Xeon(R) Silver 4314 CPU @ 2.40GHz"),
            ("Amazon EC2", "m6i.xlarge", "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz")]
_SERIAL_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"


def _pick_platform(rng: random.Random) -> str:
    total = sum(w for _, w in PLATFORM_WEIGHTS)
    roll = rng.uniform(0, total)
    for name, weight in PLATFORM_WEIGHTS:
        roll -= weight
        if roll <= 0:
            return name
    return PLATFORM_WEIGHTS[-1][0]


def _uptime_text(seconds: int) -> str:
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days} days {hours:02d} hours {minutes:02d} minutes {secs:02d} seconds"


def _mac(rng: random.Random, prefix: str) -> str:
    return prefix + ":" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3))


def _filesystem_entry(kb_size: int, fs_type: str, mount: str, rng: random.Random) -> dict:
    used = int(kb_size * rng.uniform(0.1, 0.9))
    return {"kb_size": str(kb_size), "kb_used": str(used), "kb_available": str(kb_size - used),
            "percent_used": f"{used * 100 // kb_size}%", "fs_type": fs_type, "mount": mount}


class NodeStore:
    """``n`` nodes from ``seed``; node ``i`` is rendered on first access and then kept."""

    def __init__(self, n: int, seed: int = 1, now: float = 1_790_000_000.0) -> None:
        self.n, self.seed, self.now = n, seed, now
        self._nodes: dict[int, dict] = {}
        self._index_docs: dict[int, dict[str, list[str]]] = {}
        # Platforms, names and object ids are cheap, so they exist up front (for /nodes and the
        # id order of search results), drawn from one generator.
        rng = random.Random(seed)
        self.platforms = [_pick_platform(rng) for _ in range(n)]
        self.names = [self._name(i) for i in range(n)]
        self.ids = [f"{rng.getrandbits(128):032x}" for _ in range(n)]
        self.by_name = {name: i for i, name in enumerate(self.names)}
        self.id_order = sorted(range(n), key=self.ids.__getitem__)

    def __len__(self) -> int:
        return self.n

    @property
    def rendered(self) -> int:
        """How many nodes have been rendered so far (they are made on first access)."""
        return len(self._nodes)

    def _rng(self, i: int) -> random.Random:
        return random.Random(self.seed * 1_000_003 + i)

    def _name(self, i: int) -> str:
        platform = self.platforms[i]
        if platform == "mac_os_x":
            return f"mbp-{i:05d}.{DOMAIN}"
        if platform == "windows":
            return f"WKS-{i:05d}"
        role = ("web", "db", "app", "cache")[i % 4]
        return f"{role}-{i:05d}.prod.example.com"

    def node(self, i: int) -> dict:
        node = self._nodes.get(i)
        if node is None:
            node = self._nodes[i] = self._render(i)
        return node

    def nodes(self) -> Iterator[dict]:
        for i in range(self.n):
            yield self.node(i)

    # ---- rendering ---------------------------------------------------------------------
    def _render(self, i: int) -> dict:
        rng = self._rng(i)
        platform = self.platforms[i]
        name = self.names[i]
        roles = ["base"] + (["workstation"] if platform in ("mac_os_x", "windows")
                            else [rng.choice(("web", "db", "monitoring"))])
        node: dict[str, Any] = {
            "name": name,
            "chef_environment": rng.choice(ENVIRONMENTS),
            "json_class": "Chef::Node",
            "chef_type": "node",
            "run_list": [f"role[{r}]" for r in roles] + [rng.choice(["recipe[chef-client]",
                                                                      "recipe[ntp::default]"])],
            "normal": {"tags": rng.sample(["managed", "pci", "laptop", "kiosk", "eu"], rng.randint(0, 2))},
            "default": {"chef_client": {"interval": 1800}},
            "override": {},
            "automatic": {},
        }
        if rng.random() < 0.85:
            node["normal"]["owner"] = rng.choice(_OWNERS)
        if rng.random() < 0.03:
            return node  # registered (knife bootstrap) but never converged: no Ohai data at all
        short = name.split(".")[0]
        auto: dict[str, Any] = {
            "platform": platform,
            "hostname": short,
            "machinename": short,
            "fqdn": name if "." in name else f"{name.lower()}.{DOMAIN}",
            "domain": DOMAIN if platform in ("mac_os_x", "windows") else "prod.example.com",
            "ipaddress": f"10.{rng.randint(0, 63)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "macaddress": _mac(rng, rng.choice(["f0:18:98", "3c:22:fb", "00:50:56", "a4:83:e7"])),
            "uptime_seconds": (up := rng.randint(300, 90 * 86400)),
            "uptime": _uptime_text(up),
            "ohai_time": round(self.now - rng.uniform(60, 30 * 86400), 4),
            "chef_packages": {"chef": {"version": rng.choice(["17.10.0", "18.4.12", "18.5.0"])},
                              "ohai": {"version": rng.choice(["17.9.0", "18.1.11"])}},
            "roles": roles,
        }
        if rng.random() < 0.05:
            del auto["macaddress"]  # containers / some VPN-only hosts report none
        {"mac_os_x": self._mac_os_x, "windows": self._windows}.get(platform, self._linux)(auto, rng)
        node["automatic"] = auto
        return node

    def _mac_os_x(self, auto: dict, rng: random.Random) -> None:
        model, machine_name, cpu, cores, mem_gb, arch, disk_kb = rng.choice(_MACS)
        version, build, darwin = rng.choice(_MAC_OS)
        auto.update({
            "platform_family": "mac_os_x", "platform_version": version, "platform_build": build,
            "os": "darwin", "os_version": darwin,
            "kernel": {"name": "Darwin", "release": darwin, "machine": arch, "os": "Darwin"},
            "memory": {"total": f"{mem_gb * 1024}MB", "active": f"{rng.randint(1024, mem_gb * 512)}MB"},
            "cpu": {"model_name": cpu, "cores": cores, "total": cores, "real": 1,
                    "vendor_id": "Apple" if arch == "arm64" else "GenuineIntel"},
            "filesystem": {"by_mountpoint": {"/": _filesystem_entry(disk_kb, "apfs", "/", rng)},
                           "by_device": {"/dev/disk3s1s1": {"kb_size": str(disk_kb), "fs_type": "apfs",
                                                             "mounts": ["/"]}}},
            "hardware": {
                "machine_model": model, "machine_name": machine_name, "cpu_type": cpu,
                "number_processors": cores, "physical_memory": f"{mem_gb} GB", "architecture": arch,
                "serial_number": "".join(rng.choice(_SERIAL_CHARS) for _ in range(10)),
                "platform_UUID": str(uuid.UUID(int=rng.getrandbits(128))).upper(),
                "operating_system": "macOS", "operating_system_version": version, "build_version": build,
            },
        })
        if rng.random() < 0.04:
            del auto["hardware"]["serial_number"]  # a macOS VM reports no serial

    def _windows(self, auto: dict, rng: random.Random) -> None:
        maker, model, cpu, logical, mem_gb, disk_kb = rng.choice(_PCS)
        caption, version, build = rng.choice(_WINDOWS)
        mem_kb = mem_gb * 1024 * 1024 - rng.randint(200_000, 500_000)  # minus firmware-reserved
        product_id = (f"{rng.randint(0, 99999):05d}-{rng.randint(0, 99999):05d}-"
                      f"{rng.randint(0, 99999):05d}-AA{rng.randint(0, 999):03d}")
        auto.update({
            "platform_family": "windows", "platform_version": version,
            "os": "windows", "os_version": version,
            "kernel": {
                "name": caption, "release": version, "version": version, "os": "WINNT",
                "machine": "x86_64",
                "os_info": {"caption": caption, "build_number": build, "serial_number": product_id,
                            "os_architecture": "64-bit", "registered_user": rng.choice(_OWNERS),
                            "organization": "Example Corp",
                            "total_visible_memory_size": mem_kb,
                            "install_date": f"2023{rng.randint(1, 12):02d}15093000.000000-000"},
                "cs_info": {"manufacturer": maker, "model": model, "number_of_processors": 1,
                            "number_of_logical_processors": logical, "system_type": "x64-based PC",
                            "total_physical_memory": str(mem_gb * 1024 ** 3), "domain": DOMAIN},
            },
            "memory": {"total": f"{mem_kb}kB", "free": f"{rng.randint(1, mem_kb // 2)}kB"},
            "cpu": {"0": {"model_name": cpu, "vendor_id": "GenuineIntel", "cores": logical // 2,
                          "mhz": str(rng.choice([2496, 2611, 2995]))},
                    "total": logical, "cores": logical // 2, "real": 1},
        })
        c_drive = _filesystem_entry(disk_kb, "NTFS", "C:", rng) | {"volume_name": "OS"}
        d_drive = _filesystem_entry(disk_kb * 2, "NTFS", "D:", rng) | {"volume_name": "Data"}
        if rng.random() < 0.5:
            auto["filesystem"] = {"C:": c_drive, "D:": d_drive} if rng.random() < 0.3 else {"C:": c_drive}
        else:  # newer Ohai: the first value is by_device, which has no kb_size of its own
            auto["filesystem"] = {"by_device": {"C:": c_drive}, "by_mountpoint": {"C:": c_drive},
                                  "by_pair": {"C:,C:": c_drive}}
        if rng.random() < 0.05:
            del auto["kernel"]["cs_info"]  # older Ohai without the Win32_ComputerSystem data

    def _linux(self, auto: dict, rng: random.Random) -> None:
        platform = auto["platform"]
        family, versions = _LINUX[platform]
        version, kernel = rng.choice(versions)
        maker, product, cpu = rng.choice(_SERVERS)
        cpus = rng.choice([2, 4, 8, 16])
        mem_kb = rng.choice([4, 8, 16, 32, 64]) * 1024 * 1024 - rng.randint(100_000, 400_000)
        root_kb = rng.choice([20511312, 51290592, 102687672, 514937088])
        auto.update({
            "platform_family": family, "platform_version": version, "os": "linux", "os_version": kernel,
            "kernel": {"name": "Linux", "release": kernel, "machine": "x86_64", "os": "GNU/Linux"},
            "memory": {"total": f"{mem_kb}kB", "free": f"{rng.randint(1, mem_kb // 2)}kB",
                       "swap": {"total": "2097148kB", "free": "2097148kB"}},
            "cpu": {**{str(c): {"model_name": cpu, "vendor_id": "GenuineIntel", "mhz": "2992.968",
                                "cores": cpus} for c in range(cpus)},
                    "total": cpus, "real": 1, "cores": cpus},
            "filesystem": {"by_mountpoint": {"/": _filesystem_entry(root_kb, "xfs" if family == "rhel"
                                                                     else "ext4", "/", rng),
                                             "/boot": _filesystem_entry(1038336, "xfs", "/boot", rng)},
                           "by_device": {"/dev/sda1": {"kb_size": str(root_kb), "mounts": ["/"]}}},
            "virtualization": {"system": "vmware", "role": "guest"} if maker.startswith("VMware") else {},
        })
        if rng.random() < 0.9:
            serial = ("VMware-42 1a " + " ".join(f"{rng.randrange(256):02x}" for _ in range(6))
                      if maker.startswith("VMware") else "".join(rng.choice(_SERIAL_CHARS) for _ in range(7)))
            auto["dmi"] = {"system": {"manufacturer": maker, "product_name": product, "serial_number": serial}}

    # ---- search support ----------------------------------------------------------------
    def merged(self, i: int) -> dict:
        """The node as Chef Server indexes it: default < normal < override < automatic attributes
        deep-merged to the top level, plus name, chef_type, chef_environment, run_list, recipe, role.
        Partial search paths are read from this form."""
        node = self.node(i)
        merged: dict = {}
        for level in ("default", "normal", "override", "automatic"):
            _deep_merge(merged, node.get(level) or {})
        recipes = [item[7:-1] for item in node["run_list"] if item.startswith("recipe[")]
        roles = [item[5:-1] for item in node["run_list"] if item.startswith("role[")]
        merged.update({"name": node["name"], "chef_type": "node", "chef_environment": node["chef_environment"],
                       "run_list": node["run_list"], "recipe": recipes, "role": roles})
        return merged

    def index_doc(self, i: int) -> dict[str, list[str]]:
        """Flattened search fields, as Chef's expander builds them: every nested key path joined
        with ``_`` and every leaf key alone, each with all its string values."""
        doc = self._index_docs.get(i)
        if doc is None:
            doc = {}
            _flatten(self.merged(i), [], doc)
            self._index_docs[i] = doc
        return doc


def _deep_merge(into: dict, other: dict) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = _copy(value)


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _flatten(value, path: list[str], doc: dict[str, list[str]]) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _flatten(sub, path + [str(key)], doc)
        return
    values = value if isinstance(value, list) else [value]
    texts = ["" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
             for v in values if not isinstance(v, (dict, list))]
    if not path:
        return
    for key in {"_".join(path), path[-1]}:
        doc.setdefault(key, []).extend(texts)
