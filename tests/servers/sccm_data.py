"""The ConfigMgr (SCCM) site-database views the SCCM source reads, and a deterministic fleet.

``VIEWS`` lists each view with ConfigMgr's column names (``ResourceID``, ``Name0``, ...) and a
type that PostgreSQL and SQL Server both understand. ``generate_fleet(machines, seed)`` fills
them with rows shaped like a real site's:

* one ``v_R_System`` row per discovered machine; about 3 % are discovered only (no client,
  no inventory: no ``v_GS_*`` rows), some are obsolete or decommissioned;
* multi-instance classes with several rows per machine, told apart by ``GroupID``: disks (1-3),
  logical disks (C: plus data and optical drives), network adapter configurations (1-5, many
  with NULL MAC/IP, comma-separated IPv4/IPv6 lists), processors (2 on dual-socket servers) —
  the case where the original's joins pushed one machine several times;
* NULL-heavy machines: no BIOS serial, no memory row, no processor, no user, no OS row;
  VM serials (``VMware-56 4d ...``) and enclosure placeholders (``To be filled by O.E.M.``);
* software in both ``v_GS_ADD_REMOVE_PROGRAMS`` (32-bit) and ``_64`` with overlaps between
  them and empty or NULL ``DisplayName0`` rows, plus ``v_GS_INSTALLED_SOFTWARE``;
* unicode in user names and software titles; units as ConfigMgr stores them (disk MB, memory KB).
"""
from __future__ import annotations

import datetime as _dt
import random
from dataclasses import dataclass, field

NOW = _dt.datetime(2026, 4, 1, 10, 11, 12)
FIRST_RESOURCE_ID = 16777217

_STR = "varchar(255)"
_INV = [("ResourceID", "integer NOT NULL"), ("GroupID", "integer NOT NULL"), ("RevisionID", "integer"),
        ("AgentID", "integer"), ("TimeStamp", "timestamp")]

VIEWS: dict[str, list[tuple[str, str]]] = {
    "v_R_System": [
        ("ResourceID", "integer NOT NULL"), ("ResourceType", "integer"), ("Name0", _STR),
        ("Netbios_Name0", _STR), ("Resource_Domain_OR_Workgr0", _STR), ("Full_Domain_Name0", _STR),
        ("User_Name0", _STR), ("User_Domain0", _STR), ("Operating_System_Name_and0", _STR),
        ("Client0", "integer"), ("Client_Version0", _STR), ("Active0", "integer"), ("Obsolete0", "integer"),
        ("Decommissioned0", "integer"), ("AD_Site_Name0", _STR), ("Distinguished_Name0", _STR),
        ("Last_Logon_Timestamp0", "timestamp"), ("Creation_Date0", "timestamp"),
        ("SMS_Unique_Identifier0", _STR)],
    "v_GS_COMPUTER_SYSTEM": _INV + [
        ("Name0", _STR), ("Domain0", _STR), ("Manufacturer0", _STR), ("Model0", _STR), ("SystemType0", _STR),
        ("UserName0", _STR), ("NumberOfProcessors0", "integer"), ("DomainRole0", "integer"), ("Status0", _STR)],
    "v_GS_COMPUTER_SYSTEM_PRODUCT": _INV + [
        ("IdentifyingNumber0", _STR), ("Name0", _STR), ("UUID0", _STR), ("Vendor0", _STR), ("Version0", _STR)],
    "v_GS_PC_BIOS": _INV + [
        ("SerialNumber0", _STR), ("Manufacturer0", _STR), ("Name0", _STR), ("SMBIOSBIOSVersion0", _STR),
        ("Version0", _STR), ("ReleaseDate0", "timestamp")],
    "v_GS_SYSTEM_ENCLOSURE": _INV + [
        ("SerialNumber0", _STR), ("SMBIOSAssetTag0", _STR), ("ChassisTypes0", _STR), ("Manufacturer0", _STR)],
    "v_GS_OPERATING_SYSTEM": _INV + [
        ("Caption0", _STR), ("Version0", _STR), ("BuildNumber0", _STR), ("CSDVersion0", _STR),
        ("OSArchitecture0", _STR), ("InstallDate0", "timestamp"), ("LastBootUpTime0", "timestamp"),
        ("TotalVisibleMemorySize0", "integer")],
    "v_GS_PROCESSOR": _INV + [
        ("DeviceID0", _STR), ("Name0", _STR), ("Manufacturer0", _STR), ("MaxClockSpeed0", "integer"),
        ("NumberOfCores0", "integer"), ("NumberOfLogicalProcessors0", "integer")],
    "v_GS_X86_PC_MEMORY": _INV + [
        ("TotalPhysicalMemory0", "integer"), ("TotalVirtualMemory0", "integer"),
        ("AvailableVirtualMemory0", "integer")],
    "v_GS_DISK": _INV + [
        ("Caption0", _STR), ("DeviceID0", _STR), ("Index0", "integer"), ("InterfaceType0", _STR),
        ("MediaType0", _STR), ("Model0", _STR), ("Size0", "integer")],
    "v_GS_LOGICAL_DISK": _INV + [
        ("DeviceID0", _STR), ("DriveType0", "integer"), ("FileSystem0", _STR), ("Size0", "integer"),
        ("FreeSpace0", "integer"), ("VolumeName0", _STR)],
    "v_GS_NETWORK_ADAPTER_CONFIGURATION": _INV + [
        ("Index0", "integer"), ("Description0", _STR), ("ServiceName0", _STR), ("IPEnabled0", "integer"),
        ("DHCPEnabled0", "integer"), ("IPAddress0", _STR), ("IPSubnet0", _STR), ("DefaultIPGateway0", _STR),
        ("MACAddress0", _STR), ("DNSHostName0", _STR)],
    "v_GS_ADD_REMOVE_PROGRAMS": _INV + [
        ("ProdID0", _STR), ("DisplayName0", _STR), ("Version0", _STR), ("Publisher0", _STR), ("InstallDate0", _STR)],
    "v_GS_ADD_REMOVE_PROGRAMS_64": _INV + [
        ("ProdID0", _STR), ("DisplayName0", _STR), ("Version0", _STR), ("Publisher0", _STR), ("InstallDate0", _STR)],
    "v_GS_INSTALLED_SOFTWARE": _INV + [
        ("SoftwareCode0", _STR), ("ProductName0", _STR), ("ProductVersion0", _STR), ("Publisher0", _STR),
        ("ARPDisplayName0", _STR), ("InstalledLocation0", _STR), ("InstallDate0", "timestamp")],
    "v_GS_ENCRYPTABLE_VOLUME": _INV + [("DriveLetter0", _STR), ("ProtectionStatus0", "integer")],
    "v_GS_AntimalwareHealthStatus": _INV + [
        ("AntivirusEnabled", "integer"), ("AntispywareEnabled", "integer"), ("RealTimeProtectionEnabled", "integer")],
    "v_UserMachineRelationship": [
        ("RelationshipResourceID", "integer NOT NULL"), ("MachineResourceID", "integer"),
        ("MachineResourceName", _STR), ("UniqueUserName", _STR), ("Types", "integer"), ("Sources", "integer"),
        ("RelationActive", "integer"), ("CreationTime", "timestamp")],
}

_MODELS = {  # kind -> [(manufacturer, model, system product name prefix)]
    "laptop": [("Dell Inc.", "Latitude 7440"), ("HP", "HP EliteBook 840 G10"), ("LENOVO", "21HMCTO1WW"),
               ("Microsoft Corporation", "Surface Laptop 5")],
    "desktop": [("Dell Inc.", "OptiPlex 7010"), ("HP", "HP EliteDesk 800 G9"), ("LENOVO", "ThinkCentre M90q"),
                ("To Be Filled By O.E.M.", "To Be Filled By O.E.M.")],
    "vm": [("VMware, Inc.", "VMware7,1"), ("Microsoft Corporation", "Virtual Machine")],
    "server": [("Dell Inc.", "PowerEdge R750"), ("HPE", "ProLiant DL380 Gen10 Plus")],
}
_OS = {"client": [("Microsoft Windows 11 Enterprise", "10.0.22631"), ("Microsoft Windows 10 Enterprise", "10.0.19045"),
                  ("Microsoft Windows 11 Pro", "10.0.22621")],
       "server": [("Microsoft Windows Server 2022 Standard", "10.0.20348"),
                  ("Microsoft Windows Server 2019 Datacenter", "10.0.17763")]}
_CPUS = [("Intel(R) Core(TM) i7-1365U", "GenuineIntel", 1800, 10, 12),
         ("13th Gen Intel(R) Core(TM) i5-13500", "GenuineIntel", 2500, 14, 20),
         ("AMD Ryzen 7 PRO 7840U w/ Radeon 780M Graphics", "AuthenticAMD", 3300, 8, 16),
         ("Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz", "GenuineIntel", 2000, 32, 64)]
_USERS = ["jdoe", "asmith", "josé.núñez", "zoë.müller", "bjorn.andersson", "li.lei", "юлия.иванова",
          "priya.patel", "o'brien", "kwame.okafor", "søren.ødegaard"]
# (name, version, publisher, 64-bit?)
_SOFTWARE = [
    ("Microsoft 365 Apps for enterprise - en-us", "16.0.17328.20162", "Microsoft Corporation", True),
    ("Microsoft Edge", "123.0.2420.65", "Microsoft Corporation", False),
    ("Google Chrome", "123.0.6312.86", "Google LLC", True),
    ("Mozilla Firefox (x64 en-US)", "124.0.1", "Mozilla", True),
    ("7-Zip 23.01 (x64)", "23.01", "Igor Pavlov", True),
    ("Notepad++ (64-bit x64)", "8.6.4", "Notepad++ Team", True),
    ("Microsoft Visual C++ 2015-2022 Redistributable (x86) - 14.38.33130", "14.38.33130.0", "Microsoft Corporation", False),
    ("Microsoft Visual C++ 2015-2022 Redistributable (x64) - 14.38.33130", "14.38.33130.0", "Microsoft Corporation", True),
    ("Adobe Acrobat (64-bit)", "24.001.20604", "Adobe", True),
    ("Zoom Workplace", "6.0.2", "Zoom Video Communications, Inc.", False),
    ("Slack", "4.37.94", "Slack Technologies Inc.", True),
    ("Cisco Secure Client - AnyConnect VPN", "5.1.2.42", "Cisco Systems, Inc.", False),
    ("CrowdStrike Windows Sensor", "7.11.18110.0", "CrowdStrike, Inc.", True),
    ("Git", "2.44.0", "The Git Development Community", True),
    ("Python 3.12.2 (64-bit)", "3.12.2150.0", "Python Software Foundation", True),
    ("Übersetzungs-Werkzeug Pro", "2.1", "Société Générale de Logiciels", False),
    ("Программа учёта 1С", "8.3.24.1467", "1С-Софт", False),
    ("日本語入力ツール", "3.0", "株式会社サンプル", True),
    ("KeePass Password Safe 2.56", "2.56", "Dominik Reichl", False),
    ("VLC media player", "3.0.20", "VideoLAN", True),
    ("Dell Command | Update", "5.2.0", "Dell Inc.", False),
    ("HP Wolf Security", "4.25.1.1034", "HP Inc.", True),
    ("Lenovo Vantage Service", "4.1.31.0", "Lenovo Group Ltd.", False),
    ("Microsoft SQL Server 2019 Management Objects", "15.0.2000.5", "Microsoft Corporation", True),
    ("Configuration Manager Client", "5.00.9122.1000", "Microsoft Corporation", True),
]


@dataclass
class Machine:
    """What the generator decided for one machine; tests derive expected values from it."""

    resource_id: int
    name: str
    inventoried: bool
    disks: int = 0
    adapters: int = 0          # adapter configuration rows
    usable_adapters: int = 0   # rows with both MAC and IP (the original's join filter)
    processors: int = 0
    software: set[tuple[str, str, str]] = field(default_factory=set)  # distinct non-empty (name, version, publisher)


@dataclass
class SccmFleet:
    rows: dict[str, list[dict]] = field(default_factory=lambda: {view: [] for view in VIEWS})
    machines: list[Machine] = field(default_factory=list)

    @property
    def inventoried(self) -> list[Machine]:
        return [m for m in self.machines if m.inventoried]


def _mac(r: random.Random) -> str:
    return ":".join(f"{b:02X}" for b in [0x00, 0x15, 0x5D] + [r.randrange(256) for _ in range(3)])


def _ipv4(r: random.Random) -> str:
    return f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"


def generate_fleet(machines: int = 3000, seed: int = 11) -> SccmFleet:
    """``machines`` discovered machines, about 97 % of them with hardware and software inventory."""
    r = random.Random(seed)
    fleet = SccmFleet()
    add = fleet.rows
    for i in range(machines):
        rid = FIRST_RESOURCE_ID + i
        kind = r.choices(["laptop", "desktop", "vm", "server"], weights=[55, 30, 10, 5])[0]
        name = {"laptop": f"LAPTOP-{i:05d}", "desktop": f"DESKTOP-{i:05d}", "vm": f"VM-{i:05d}",
                "server": f"SRV-{i:04d}"}[kind]
        inventoried = r.random() >= 0.03
        m = Machine(rid, name, inventoried)
        fleet.machines.append(m)
        user = r.choice(_USERS) if kind != "server" and r.random() > 0.1 else None
        os_name, os_version = r.choice(_OS["server" if kind == "server" else "client"])
        seen = NOW - _dt.timedelta(minutes=r.randrange(10, 60 * 24 * 120))
        add["v_R_System"].append({
            "ResourceID": rid, "ResourceType": 5, "Name0": name, "Netbios_Name0": name,
            "Resource_Domain_OR_Workgr0": "EXAMPLE", "Full_Domain_Name0": "EXAMPLE.COM",
            "User_Name0": user, "User_Domain0": "EXAMPLE" if user else None,
            "Operating_System_Name_and0": ("Microsoft Windows NT Server 10.0" if kind == "server"
                                           else "Microsoft Windows NT Workstation 10.0"),
            "Client0": 1 if inventoried else None, "Client_Version0": "5.00.9122.1000" if inventoried else None,
            "Active0": 1 if inventoried else 0, "Obsolete0": int(r.random() < 0.02), "Decommissioned0": 0,
            "AD_Site_Name0": r.choice(["Berlin", "London", "SanFrancisco", None]),
            "Distinguished_Name0": f"CN={name},OU=Workstations,OU=Computers,DC=example,DC=com",
            "Last_Logon_Timestamp0": seen if r.random() > 0.05 else None,
            "Creation_Date0": seen - _dt.timedelta(days=r.randrange(30, 2000)),
            "SMS_Unique_Identifier0": f"GUID:{r.getrandbits(128):032X}",
        })
        if not inventoried:
            continue
        group_rows: dict[str, int] = {}

        def inv(view: str, **values) -> None:
            group_rows[view] = group_rows.get(view, 0) + 1
            add[view].append({"ResourceID": rid, "GroupID": group_rows[view], "RevisionID": r.randrange(1, 40),
                              "AgentID": 1, "TimeStamp": seen, **values})

        maker, model = r.choice(_MODELS[kind])
        cpu = _CPUS[3] if kind == "server" else r.choice(_CPUS[:3])
        m.processors = 0 if r.random() < 0.02 else (2 if kind == "server" else 1)
        inv("v_GS_COMPUTER_SYSTEM", Name0=name, Domain0="EXAMPLE.COM", Manufacturer0=maker, Model0=model,
            SystemType0="x64-based PC", UserName0=f"EXAMPLE\\{user}" if user else None,
            NumberOfProcessors0=m.processors or None, DomainRole0=3 if kind == "server" else 1, Status0="OK")
        serial = (None if r.random() < 0.03 else
                  f"VMware-56 4d {r.getrandbits(32):08x}" if maker.startswith("VMware") else
                  f"{r.getrandbits(40):010X}")
        inv("v_GS_COMPUTER_SYSTEM_PRODUCT", IdentifyingNumber0=serial, Name0=model,
            UUID0=f"{r.getrandbits(128):032X}", Vendor0=maker, Version0=None)
        inv("v_GS_PC_BIOS", SerialNumber0=serial, Manufacturer0=maker, Name0="BIOS", Version0="1.0",
            SMBIOSBIOSVersion0=f"{r.randrange(1, 3)}.{r.randrange(30)}.{r.randrange(10)}",
            ReleaseDate0=NOW - _dt.timedelta(days=r.randrange(100, 1500)))
        inv("v_GS_SYSTEM_ENCLOSURE", SerialNumber0=serial if r.random() > 0.1 else "To be filled by O.E.M.",
            SMBIOSAssetTag0=r.choice([None, "No Asset Tag", f"AT{i:06d}"]),
            ChassisTypes0={"laptop": "10", "desktop": "3", "vm": "1", "server": "23"}[kind], Manufacturer0=maker)
        if r.random() > 0.02:
            inv("v_GS_OPERATING_SYSTEM", Caption0=os_name, Version0=os_version, BuildNumber0=os_version.split(".")[-1],
                CSDVersion0=None, OSArchitecture0="64-bit", InstallDate0=seen - _dt.timedelta(days=r.randrange(400)),
                LastBootUpTime0=seen - _dt.timedelta(hours=r.randrange(1, 400)),
                TotalVisibleMemorySize0=r.choice([8, 16, 32, 64]) * 1024 * 1024)
        for p in range(m.processors):
            inv("v_GS_PROCESSOR", DeviceID0=f"CPU{p}", Name0=cpu[0], Manufacturer0=cpu[1], MaxClockSpeed0=cpu[2],
                NumberOfCores0=cpu[3], NumberOfLogicalProcessors0=cpu[4])
        if r.random() > 0.02:
            memory_kb = r.choice([8, 16, 32, 64, 256 if kind == "server" else 32]) * 1024 * 1024
            inv("v_GS_X86_PC_MEMORY", TotalPhysicalMemory0=memory_kb, TotalVirtualMemory0=memory_kb + 4194304,
                AvailableVirtualMemory0=r.randrange(memory_kb // 4, memory_kb))
        m.disks = 0 if r.random() < 0.02 else r.choices([1, 2, 3], weights=[70, 22, 8])[0]
        for d in range(m.disks):
            inv("v_GS_DISK", Caption0=r.choice(["SAMSUNG MZVL2512HCJQ", "KBG50ZNV512G KIOXIA", "VMware Virtual disk"]),
                DeviceID0=f"\\\\.\\PHYSICALDRIVE{d}", Index0=d, InterfaceType0=r.choice(["SCSI", "IDE", "USB"]),
                MediaType0="Fixed hard disk media", Model0=None, Size0=r.choice([244198, 488384, 953866, 1907726]))
        for letter, drive_type in [("C:", 3)] + [(x, t) for x, t in (("D:", 3), ("E:", 5)) if r.random() < 0.3]:
            size = None if drive_type == 5 else r.choice([243000, 487000, 950000])
            inv("v_GS_LOGICAL_DISK", DeviceID0=letter, DriveType0=drive_type,
                FileSystem0="NTFS" if size else None, Size0=size,
                FreeSpace0=r.randrange(1000, size) if size else None, VolumeName0=r.choice(["", "Windows", "Data"]))
        if r.random() > 0.01:
            inv("v_GS_ENCRYPTABLE_VOLUME", DriveLetter0="C:", ProtectionStatus0=r.choice([0, 1, 1, 1, 2]))
        if r.random() > 0.05:
            inv("v_GS_AntimalwareHealthStatus", AntivirusEnabled=int(r.random() > 0.05),
                AntispywareEnabled=1, RealTimeProtectionEnabled=int(r.random() > 0.1))
        m.adapters = 0 if r.random() < 0.02 else r.choices([1, 2, 3, 4, 5], weights=[35, 30, 20, 10, 5])[0]
        for a in range(m.adapters):
            usable = a == 0 or r.random() < 0.4
            ips = (f"{_ipv4(r)},fe80::{r.getrandbits(16):x}:{r.getrandbits(16):x}" if r.random() < 0.6 else _ipv4(r))
            m.usable_adapters += usable
            inv("v_GS_NETWORK_ADAPTER_CONFIGURATION", Index0=a,
                Description0=r.choice(["Intel(R) Ethernet Connection (16) I219-LM", "Intel(R) Wi-Fi 6E AX211 160MHz",
                                       "WAN Miniport (IP)", "Hyper-V Virtual Ethernet Adapter"]),
                ServiceName0=r.choice(["e1dexpress", "Netwtw10", "NdisWan"]), IPEnabled0=int(usable),
                DHCPEnabled0=int(r.random() < 0.8), IPAddress0=ips if usable else None,
                IPSubnet0="255.255.255.0,64" if usable else None,
                DefaultIPGateway0="10.0.0.1" if usable else None,
                MACAddress0=_mac(r) if usable or r.random() < 0.5 else None,
                DNSHostName0=name.lower() if usable else None)
        if r.random() < 0.9:
            add["v_UserMachineRelationship"].append({
                "RelationshipResourceID": 33554432 + i, "MachineResourceID": rid, "MachineResourceName": name,
                "UniqueUserName": f"example\\{user or 'administrator'}", "Types": 1, "Sources": 2,
                "RelationActive": 1, "CreationTime": seen})
        for name_, version, publisher, is64 in r.sample(_SOFTWARE, r.randrange(5, 20)):
            views = ["v_GS_ADD_REMOVE_PROGRAMS_64" if is64 else "v_GS_ADD_REMOVE_PROGRAMS"]
            if r.random() < 0.1:  # registered in both uninstall keys: the UNION removes the copy
                views = ["v_GS_ADD_REMOVE_PROGRAMS", "v_GS_ADD_REMOVE_PROGRAMS_64"]
            for view in views:
                inv(view, ProdID0="{" + f"{r.getrandbits(128):032X}" + "}", DisplayName0=name_, Version0=version,
                    Publisher0=publisher, InstallDate0=(seen - _dt.timedelta(days=r.randrange(300))).strftime("%Y%m%d"))
            m.software.add((name_, version, publisher))
            inv("v_GS_INSTALLED_SOFTWARE", SoftwareCode0="{" + f"{r.getrandbits(128):032X}" + "}",
                ProductName0=name_, ProductVersion0=version, Publisher0=publisher, ARPDisplayName0=name_,
                InstalledLocation0=f"C:\\Program Files\\{publisher.split()[0]}",
                InstallDate0=seen - _dt.timedelta(days=r.randrange(300)))
        if r.random() < 0.2:  # updates and components without a display name
            inv("v_GS_ADD_REMOVE_PROGRAMS", ProdID0="KB5034441", DisplayName0=r.choice(["", None]), Version0=None,
                Publisher0=None, InstallDate0=None)
    return fleet
