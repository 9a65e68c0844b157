"""A compact Active Directory schema for OpenLDAP (cn=config LDIF), with AD's own OIDs.

Why not OpenLDAP's bundled ``msuser.schema``: its attributes have no EQUALITY rules, so
``(sAMAccountName=jdoe)`` or the bitwise ``userAccountControl`` filter never match, and its
``mstop`` class requires ``nTSecurityDescriptor`` and ``instanceType``. This one gives each
attribute AD's OID and syntax plus usable matching rules:

* ``objectGUID``, ``objectSid``: octet strings (binary on the wire, like AD);
* ``userAccountControl``, ``groupType``: integers, so OpenLDAP's ``integerBitAndMatch``
  (AD's ``1.2.840.113556.1.4.803``) works: ``(userAccountControl:1.2.840.113556.1.4.803:=2)``;
* ``pwdLastSet``, ``lastLogonTimestamp``, ``lastLogon``, ``accountExpires``: integers (FILETIME);
* ``whenCreated``, ``whenChanged``: GeneralizedTime;
* ``memberOf``: a plain DN attribute (the generator keeps it consistent with ``member``);
  the memberof overlay is not used because ``slapadd`` bulk loads bypass overlays;
* classes ``user`` (SUP organizationalPerson), ``computer`` (SUP user) and ``group``, so as in AD
  ``(objectClass=user)`` also matches computers and ``(objectClass=person)`` matches both.
"""

_STRING = "EQUALITY caseIgnoreMatch ORDERING caseIgnoreOrderingMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15"
_INTEGER = "EQUALITY integerMatch ORDERING integerOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27"
_OCTETS = "EQUALITY octetStringMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.40"
_DN = "EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12"
_TIME = ("EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch "
         "SYNTAX 1.3.6.1.4.1.1466.115.121.1.24")

# (OID, name, type, single-valued)
ATTRIBUTES = [
    ("1.2.840.113556.1.4.2", "objectGUID", _OCTETS, True),
    ("1.2.840.113556.1.4.146", "objectSid", _OCTETS, True),
    ("1.2.840.113556.1.2.370", "objectCategory", _DN, True),
    ("1.2.840.113556.1.4.221", "sAMAccountName", _STRING, True),
    ("1.2.840.113556.1.4.656", "userPrincipalName", _STRING, True),
    ("1.2.840.113556.1.4.8", "userAccountControl", _INTEGER, True),
    ("1.2.840.113556.1.4.750", "groupType", _INTEGER, True),
    ("1.2.840.113556.1.4.96", "pwdLastSet", _INTEGER, True),
    ("1.2.840.113556.1.4.1696", "lastLogonTimestamp", _INTEGER, True),
    ("1.2.840.113556.1.4.52", "lastLogon", _INTEGER, True),
    ("1.2.840.113556.1.4.159", "accountExpires", _INTEGER, True),
    ("1.2.840.113556.1.2.2", "whenCreated", _TIME, True),
    ("1.2.840.113556.1.2.3", "whenChanged", _TIME, True),
    ("1.2.840.113556.1.2.102", "memberOf", _DN, False),
    ("1.2.840.113556.1.2.141", "department", _STRING, True),
    ("1.2.840.113556.1.2.146", "company", _STRING, True),
    ("1.2.840.113556.1.4.35", "employeeID", _STRING, True),
    ("1.2.840.113556.1.4.619", "dNSHostName", _STRING, True),
    ("1.2.840.113556.1.4.363", "operatingSystem", _STRING, True),
    ("1.2.840.113556.1.4.364", "operatingSystemVersion", _STRING, True),
    ("1.2.840.113556.1.4.365", "operatingSystemServicePack", _STRING, True),
]

_COMMON = "objectGUID $ objectSid $ objectCategory $ whenCreated $ whenChanged $ memberOf $ description"
CLASSES = [
    "( 1.2.840.113556.1.5.9 NAME 'user' SUP organizationalPerson STRUCTURAL "
    f"MAY ( {_COMMON} $ sAMAccountName $ userPrincipalName $ userAccountControl $ pwdLastSet $ "
    "lastLogonTimestamp $ lastLogon $ accountExpires $ department $ company $ employeeID $ "
    "givenName $ initials $ displayName $ mail $ uid $ mobile $ manager $ co $ employeeNumber $ "
    "employeeType $ userCertificate ) )",
    "( 1.2.840.113556.1.3.30 NAME 'computer' SUP user STRUCTURAL "
    "MAY ( dNSHostName $ operatingSystem $ operatingSystemVersion $ operatingSystemServicePack ) )",
    "( 1.2.840.113556.1.5.8 NAME 'group' SUP top STRUCTURAL MUST cn "
    f"MAY ( {_COMMON} $ member $ groupType $ sAMAccountName $ mail ) )",
]


def schema_ldif() -> str:
    """The ``cn=ad,cn=schema,cn=config`` entry (needs core, cosine and inetorgperson first)."""
    lines = ["dn: cn=ad,cn=schema,cn=config", "objectClass: olcSchemaConfig", "cn: ad"]
    for oid, name, kind, single in ATTRIBUTES:
        lines.append(f"olcAttributeTypes: ( {oid} NAME '{name}' {kind}{' SINGLE-VALUE' if single else ''} )")
    lines.extend(f"olcObjectClasses: {c}" for c in CLASSES)
    return "\n".join(lines) + "\n"
