"""The SQL the SCCM hook runs on a ConfigMgr site database (T-SQL; also valid PostgreSQL, which the tests use).

One row per machine: every inventory class that may hold several rows per machine (disks,
network adapters, processors, user relationships...) is reduced to one row per ``ResourceID``
before the join, by ``SUM`` or by ``ROW_NUMBER() ... = 1``; the original joined them raw and
sent a machine once per disk x adapter. Machines come ordered by ``ResourceID``, so the software
of a batch of machines is one range query (``BETWEEN ? AND ?``) with the same text every time.

Written for both servers: unquoted identifiers, lower-case output aliases (PostgreSQL folds
names to lower case), ``?`` markers, no ``TOP``/``ISNULL``/``+`` concatenation, two-part names.
No ``MAX`` over a column that is ``bit`` on SQL Server (``AntivirusEnabled``): T-SQL refuses it.
"""

# The machines' hardware: v_GS_COMPUTER_SYSTEM (machines with a hardware inventory) is the base, as in
# the original. hdd_total_mb is the sum of the disks (the original sent one disk's size per row), USB
# sticks ("Removable Media") left out; the network values are the first adapter (by Index0) with both
# a MAC and an IP address. Obsolete records (a newer record of the same machine exists, e.g. after a
# client reinstall) are left out: they keep the old inventory under the same serial number.
HARDWARE_SELECT = """
SELECT cs.ResourceID AS resource_id,
       cs.Name0 AS computer_name,
       cs.Domain0 AS domain_name,
       cs.Manufacturer0 AS make,
       cs.Model0 AS model,
       cs.SystemType0 AS platform,
       cs.UserName0 AS user_name,
       cpu.Name0 AS cpu,
       disk.hdd_total_mb AS hdd_total_mb,
       nic.IPAddress0 AS ipv4_address,
       nic.MACAddress0 AS mac_address,
       mem.TotalPhysicalMemory0 AS memory_total_kb,
       bios.SerialNumber0 AS serial_number,
       os.Caption0 AS os_version,
       rs.Last_Logon_Timestamp0 AS last_logon,
       vol.ProtectionStatus0 AS c_drive_encrypted,
       av.AntivirusEnabled AS antivirus_enabled,
       uda.UniqueUserName AS primary_user
FROM dbo.v_GS_COMPUTER_SYSTEM cs
LEFT JOIN dbo.v_R_System rs ON rs.ResourceID = cs.ResourceID
LEFT JOIN (SELECT ResourceID, Name0,
                  ROW_NUMBER() OVER (PARTITION BY ResourceID ORDER BY GroupID) AS rn
           FROM dbo.v_GS_PROCESSOR) cpu ON cpu.ResourceID = cs.ResourceID AND cpu.rn = 1
LEFT JOIN (SELECT ResourceID, SUM(Size0) AS hdd_total_mb
           FROM dbo.v_GS_DISK
           WHERE COALESCE(MediaType0, '') NOT LIKE 'Removable%'
           GROUP BY ResourceID) disk ON disk.ResourceID = cs.ResourceID
LEFT JOIN (SELECT ResourceID, IPAddress0, MACAddress0,
                  ROW_NUMBER() OVER (PARTITION BY ResourceID ORDER BY Index0, GroupID) AS rn
           FROM dbo.v_GS_NETWORK_ADAPTER_CONFIGURATION
           WHERE MACAddress0 IS NOT NULL AND IPAddress0 IS NOT NULL) nic
       ON nic.ResourceID = cs.ResourceID AND nic.rn = 1
LEFT JOIN (SELECT ResourceID, TotalPhysicalMemory0,
                  ROW_NUMBER() OVER (PARTITION BY ResourceID ORDER BY GroupID) AS rn
           FROM dbo.v_GS_X86_PC_MEMORY) mem ON mem.ResourceID = cs.ResourceID AND mem.rn = 1
LEFT JOIN (SELECT ResourceID, SerialNumber0,
                  ROW_NUMBER() OVER (PARTITION BY ResourceID ORDER BY GroupID) AS rn
           FROM dbo.v_GS_PC_BIOS) bios ON bios.ResourceID = cs.ResourceID AND bios.rn = 1
LEFT JOIN (SELECT ResourceID, Caption0,
                  ROW_NUMBER() OVER (PARTITION BY ResourceID ORDER BY GroupID) AS rn
           FROM dbo.v_GS_OPERATING_SYSTEM) os ON os.ResourceID = cs.ResourceID AND os.rn = 1
LEFT JOIN (SELECT ResourceID, ProtectionStatus0,
                  ROW_NUMBER() OVER (PARTITION BY ResourceID ORDER BY GroupID) AS rn
           FROM dbo.v_GS_ENCRYPTABLE_VOLUME
           WHERE DriveLetter0 = 'C:') vol ON vol.ResourceID = cs.ResourceID AND vol.rn = 1
LEFT JOIN (SELECT ResourceID, AntivirusEnabled,
                  ROW_NUMBER() OVER (PARTITION BY ResourceID ORDER BY GroupID) AS rn
           FROM dbo.v_GS_AntimalwareHealthStatus) av ON av.ResourceID = cs.ResourceID AND av.rn = 1
LEFT JOIN (SELECT MachineResourceID, UniqueUserName,
                  ROW_NUMBER() OVER (PARTITION BY MachineResourceID
                                     ORDER BY CreationTime DESC, RelationshipResourceID) AS rn
           FROM dbo.v_UserMachineRelationship
           WHERE Types = 1 AND RelationActive = 1) uda ON uda.MachineResourceID = cs.ResourceID AND uda.rn = 1
WHERE COALESCE(rs.Obsolete0, 0) = 0
"""

HARDWARE = HARDWARE_SELECT + "ORDER BY cs.ResourceID\n"

# How many machines HARDWARE yields: runs the whole query once, so a connection test proves every view,
# column and permission the sync needs. (A derived table may not have ORDER BY in T-SQL.)
COUNT_MACHINES = f"SELECT COUNT(*) AS machines FROM ({HARDWARE_SELECT}) machines\n"

# The software of the machines whose ResourceID lies in [?, ?] (given twice, once per view): both
# uninstall keys (32- and 64-bit), an entry in both once (UNION), entries without a name left out.
SOFTWARE = """
SELECT ResourceID AS resource_id, DisplayName0 AS name, Version0 AS version, Publisher0 AS publisher
FROM dbo.v_GS_ADD_REMOVE_PROGRAMS
WHERE ResourceID BETWEEN ? AND ? AND DisplayName0 <> ''
UNION
SELECT ResourceID AS resource_id, DisplayName0 AS name, Version0 AS version, Publisher0 AS publisher
FROM dbo.v_GS_ADD_REMOVE_PROGRAMS_64
WHERE ResourceID BETWEEN ? AND ? AND DisplayName0 <> ''
ORDER BY resource_id, name
"""

QUERIES = {"HARDWARE": HARDWARE, "COUNT_MACHINES": COUNT_MACHINES,
           "SOFTWARE": SOFTWARE}
