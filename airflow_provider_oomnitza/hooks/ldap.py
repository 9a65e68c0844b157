"""LdapHook: people (``ldap``) and computer objects (``ldap_assets``) from LDAP / Active Directory.

Connection: ``url`` is ``ldap://host[:389]`` or ``ldaps://host[:636]`` (a bare host means
``ldap://``); ``start_tls = true`` upgrades an ``ldap://`` connection. Every TLS connection
uses the shared TLS settings (``hooks/tls.py``: CA file/dir, certificate and host name
checks, minimum version). Bind: simple, with ``username`` (a DN, or AD's ``user@domain`` /
``DOMAIN\\user``) and ``password``; ``anonymous`` (or empty) binds anonymously.
A refused bind or an untrusted certificate fails the task at once (no retry helps); a server
that cannot be reached is left to Airflow's retries.

Search: subtree from ``base_dn`` with ``filter``, in pages (RFC 2696 simple paged results,
``page_size`` entries each, below AD's and OpenLDAP's usual 1000 limit), each page streamed
before the next is asked for. With ``groups_dn`` (or ``group_dn``), the members of those
groups instead: each group's ``group_members_attr`` values, each read by DN (base scope,
``filter``) or found with ``group_member_filter``; a member that is not found is a problem
of the run, a member of several groups comes once.

Attributes: only those the mappings read (``needs``), plus ``sAMAccountName`` for users
(``ldap_user_field``'s fallback); all of them when a run may read any. Records are flat
dicts: ``dn``, then each attribute's first value, except multi-valued ones (``memberOf``,
``member``, ``objectClass``...) which stay lists. AD's binary and numeric forms become text:
``objectGUID`` the usual GUID string, ``objectSid`` ``S-1-5-21-...``, FILETIME counters
(``lastLogonTimestamp``, ``pwdLastSet``, ``accountExpires``...) and GeneralizedTime
(``whenCreated``) ISO 8601 UTC (``None`` for AD's "never", 0 and 0x7FFFFFFFFFFFFFFF);
``userAccountControl`` an int, with ``accountDisabled`` (its 0x2 bit) added.
"""
from __future__ import annotations

import base64
import ssl
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Iterator
from urllib.parse import urlsplit

from airflow_provider_oomnitza.hooks.base import TLS_FIELDS, SourceHook
from airflow_provider_oomnitza.hooks.errors import SourceConfigError
from airflow_provider_oomnitza.hooks.tls import TlsOptions, tls_failure
from airflow_provider_oomnitza.masking import mask
from airflow_provider_oomnitza.sources.ldap import LdapAssetSettings, LdapUserSettings

PAGED_RESULTS = "1.2.840.113556.1.4.319"
ALL_ATTRIBUTES = "*"
DISABLED = "accountDisabled"  # added to records with a userAccountControl
UAC_DISABLED = 0x2

# Attribute kinds, by lower-case name.
LISTS = {"memberof", "member", "objectclass", "proxyaddresses", "serviceprincipalname", "othertelephone",
         "othermobile", "url", "sidhistory"}
GUIDS = {"objectguid", "msexchmailboxguid", "ms-ds-consistencyguid"}
SIDS = {"objectsid", "sidhistory", "securityidentifier"}
FILETIMES = {"lastlogontimestamp", "lastlogon", "lastlogoff", "pwdlastset", "accountexpires", "badpasswordtime",
             "lockouttime"}
GENERALIZED_TIMES = {"whencreated", "whenchanged", "createtimestamp", "modifytimestamp"}
INTEGERS = {"useraccountcontrol", "grouptype", "samaccounttype", "primarygroupid", "logoncount", "badpwdcount",
            "msds-supportedencryptiontypes"}
# What a derived key needs from the server.
DERIVED = {DISABLED.lower(): "userAccountControl"}
NOT_ATTRIBUTES = {"dn"}

FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=timezone.utc)
FILETIME_NEVER = (0, 0x7FFFFFFFFFFFFFFF)

BIND_HINTS = {  # AD's "data <code>" in a refused bind's message
    "525": "no such user", "52e": "wrong password", "530": "not permitted to log on at this time",
    "531": "not permitted to log on at this workstation", "532": "password expired", "533": "account disabled",
    "701": "account expired", "773": "the user must change the password", "775": "account locked out",
}


class LdapError(Exception):
    """An LDAP call failed in a way another try may not repeat (server down, busy, timed out)."""


# -- value conversions --------------------------------------------------------------------------------

def guid_string(raw: bytes) -> str:
    """AD's GUID text for 16 ``objectGUID`` bytes (the first three groups are stored little-endian)."""
    return str(uuid.UUID(bytes_le=raw))


def sid_string(raw: bytes) -> str:
    """``S-1-5-21-...`` for a binary SID: revision, count, 48-bit big-endian authority, little-endian subs."""
    if len(raw) < 8 or len(raw) != 8 + 4 * raw[1]:
        raise ValueError(f"not a SID ({len(raw)} bytes)")
    authority = int.from_bytes(raw[2:8], "big")
    subs = [int.from_bytes(raw[8 + 4 * i:12 + 4 * i], "little") for i in range(raw[1])]
    return "-".join(["S", str(raw[0]), str(authority), *map(str, subs)])


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def filetime_iso(text: str) -> str | None:
    """A FILETIME (100-ns ticks since 1601 UTC) as ISO text; None for AD's "never" (0 and the maximum)."""
    ticks = int(text)
    if ticks in FILETIME_NEVER:
        return None
    return iso(FILETIME_EPOCH + timedelta(microseconds=ticks // 10))


def generalized_time_iso(text: str) -> str:
    """``20260401101112.0Z`` (GeneralizedTime, UTC) as ``2026-04-01T10:11:12Z``."""
    return iso(datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc))


def text(raw: bytes) -> str:
    """UTF-8 text; binary values that are no text (photos, certificates) as base64."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii")


def value_of(name: str, raw: bytes) -> Any:
    """One attribute value as a record holds it."""
    key = name.lower()
    if key in GUIDS and len(raw) == 16:
        return guid_string(raw)
    if key in SIDS:
        return sid_string(raw)
    if key in FILETIMES:
        return filetime_iso(raw.decode("ascii"))
    if key in GENERALIZED_TIMES:
        return generalized_time_iso(raw.decode("ascii"))
    if key in INTEGERS:
        return int(raw)
    return text(raw)


def record_of(dn: str, raw_attributes: dict[str, list[bytes]], names: dict[str, str]) -> tuple[dict, list[str]]:
    """``(record, problems)`` of one entry; ``names`` gives requested attributes their configured spelling."""
    record: dict[str, Any] = {"dn": dn}
    problems = []
    for name, values in raw_attributes.items():
        name = names.get(name.lower(), name)
        try:
            converted = [value_of(name, raw) for raw in values]
        except (ValueError, OverflowError) as exc:
            problems.append(f"{dn}: attribute {name} {values[0][:40]!r}: {exc}; kept as text")
            converted = [text(raw) for raw in values]
        if name.lower() in LISTS:
            record[name] = converted
        elif converted:
            record[name] = converted[0]
    uac = next((v for k, v in record.items() if k.lower() == "useraccountcontrol"), None)
    if isinstance(uac, int):
        record[DISABLED] = bool(uac & UAC_DISABLED)
    return record, problems


# -- TLS ----------------------------------------------------------------------------------------------

def context_tls(options: TlsOptions):
    """An ldap3 ``Tls`` that wraps sockets with ``options.ssl_context()`` (ldap3's own ``Tls`` builds its
    context itself and checks host names only after the handshake); the last TLS failure is kept in
    ``failure`` so that errors can say what it means."""
    from ldap3 import Tls

    class ContextTls(Tls):
        def __init__(self) -> None:
            super().__init__(validate=ssl.CERT_REQUIRED if options.verify else ssl.CERT_NONE)
            self.context = options.ssl_context()
            self.failure: BaseException | None = None

        def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:
            try:
                connection.socket = self.context.wrap_socket(connection.socket, server_side=False,
                                                             do_handshake_on_connect=True,
                                                             server_hostname=connection.server.host)
            except (ssl.SSLError, ssl.CertificateError) as exc:
                self.failure = exc
                raise

    return ContextTls()


# -- the hook -----------------------------------------------------------------------------------------

class LdapHook(SourceHook):
    """People from LDAP / Active Directory (see the module docstring)."""

    conn_name_attr = "ldap_conn_id"
    default_conn_name = "ldap_default"
    conn_type = "ldap"
    hook_name = "LDAP / Active Directory"
    settings_model = LdapUserSettings
    connection_fields = {"host": "url", "login": "username", "password": "password"}
    extra_fields = ("base_dn", "filter", "protocol_version", "start_tls", *TLS_FIELDS)
    url_scheme = "ldap"  # a connection's bare host
    # Attributes asked for whatever the mappings read (ldap_user_field falls back to sAMAccountName).
    always: tuple[str, ...] = ("sAMAccountName",)
    page_size = 500

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pages = 0  # search requests sent, for logs and tests
        self._ssl: Any = None

    # -- connection -------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        url = self.settings.url.strip()
        return url if "://" in url else f"ldap://{url}"

    def _server(self):
        from ldap3 import NONE, Server

        parts = urlsplit(self.url)
        try:
            port = parts.port
        except ValueError:
            port = -1
        if parts.scheme.lower() not in ("ldap", "ldaps") or not parts.hostname or port == -1:
            raise SourceConfigError(f"{self.where} url: expected ldap://host[:port] or ldaps://host[:port], "
                                    f"got {self.settings.url!r}")
        use_ssl = parts.scheme.lower() == "ldaps"
        if use_ssl and self.settings.start_tls:
            self.log.warning("%s start_tls: ignored, %s is TLS already", self.where, self.url)
        self._ssl = context_tls(self.tls) if use_ssl or self.settings.start_tls else None
        return Server(parts.hostname, port=port, use_ssl=use_ssl, tls=self._ssl, get_info=NONE,
                      connect_timeout=self.timeout)

    def connect(self):
        """A bound ldap3 ``Connection`` (TLS as configured)."""
        from ldap3 import ANONYMOUS, SIMPLE, Connection
        from ldap3.core.exceptions import LDAPException

        s = self.settings
        anonymous = s.username.strip().lower() in ("", "anonymous")
        password = s.password.get_secret_value()
        mask(password)
        if not anonymous and not password:
            raise SourceConfigError(f"{self.where} password: empty, and a bind with a name but no password is an "
                                    "unauthenticated bind, which servers refuse or treat as anonymous; give the "
                                    "password, or username = anonymous")
        conn = Connection(self._server(), user=None if anonymous else s.username,
                          password=None if anonymous else password, authentication=ANONYMOUS if anonymous else SIMPLE,
                          version=s.protocol_version, receive_timeout=max(1, int(self.timeout)), read_only=True,
                          auto_referrals=False, raise_exceptions=False, return_empty_attributes=False)
        try:
            conn.open()
            if self.settings.start_tls and not conn.server.ssl:
                conn.start_tls()
            bound = conn.bind()
        except LDAPException as exc:
            raise self._connect_error(exc) from None
        if not bound:
            raise self._bind_error(conn.result)
        self.log.info("LDAP: bound to %s as %s%s", self.url, "anonymous" if anonymous else s.username,
                      f" ({self.tls.describe()})" if self._ssl else "")
        return conn

    def _connect_error(self, exc: Exception) -> Exception:
        failure = getattr(self._ssl, "failure", None)
        if failure is not None:
            meaning = tls_failure(failure) or str(failure)
            key = "cacert_file" if "not trusted" in meaning else "url"
            how = "StartTLS" if self.settings.start_tls and not self.url.lower().startswith("ldaps") else "TLS"
            return SourceConfigError(f"{self.where} {key}: LDAP {how} with {self.url}: {meaning}")
        return LdapError(f"{self.where} LDAP server {self.url} not reached: {exc}")

    def _bind_error(self, result: dict) -> Exception:
        message = str(result.get("message") or "")
        code = next((c for c in BIND_HINTS if f"data {c}" in message.lower()), None)
        detail = f"{result.get('description')} ({result.get('result')})" + (f": {message}" if message else "")
        if result.get("result") in (49, 50, 53):  # invalidCredentials, insufficientAccessRights, unwillingToPerform
            hint = f"AD says: {BIND_HINTS[code]}; " if code else ""
            return SourceConfigError(f"{self.where} password: {self.url} refused the bind as "
                                     f"{self.settings.username!r}: {detail}; {hint}check username (a DN, "
                                     "user@domain or DOMAIN\\user) and password")
        if result.get("result") == 2:  # protocolError: e.g. OpenLDAP refuses LDAPv2 binds
            return SourceConfigError(f"{self.where} protocol_version: LDAP bind to {self.url} failed: {detail}")
        return LdapError(f"{self.where} LDAP bind to {self.url} failed: {detail}")

    def check(self) -> str:
        from ldap3 import BASE

        conn = self.get_conn()
        base_dn = self.settings.base_dn
        conn.search(base_dn, "(objectClass=*)", search_scope=BASE, attributes=["1.1"])
        self._raise_for(conn.result, f"reading base_dn {base_dn!r}")
        who = conn.extend.standard.who_am_i() or "anonymous"
        return f"Connected to LDAP at {self.url} as {who}: base_dn {base_dn} is readable"

    # -- searching --------------------------------------------------------------------------------
    def _raise_for(self, result: dict, what: str) -> None:
        code = result.get("result")
        if code == 0:
            return
        detail = f"{result.get('description')} ({code})" + (f": {result['message']}" if result.get("message") else "")
        if code == 32:  # noSuchObject: a wrong DN, or one this account may not read
            raise SourceConfigError(f"{self.where} base_dn: LDAP {what} at {self.url}: {detail}; check the DN and "
                                    "that this account may read it")
        if code == 11:  # adminLimitExceeded: OpenLDAP refuses pages above its size.pr limit
            raise SourceConfigError(f"{self.where} url: LDAP {what} at {self.url}: {detail} (pages of "
                                    f"{self.page_size} entries were asked for)")
        if code in (50, 87, 4, 12):  # access, filter, size limit without paging, paging unsupported
            key = "filter" if code == 87 else "username" if code == 50 else "protocol_version"
            hint = ("; the server stopped at its size limit: reading more needs paged results, which need "
                    "protocol_version = 3 and a server that supports them" if code in (4, 12) else "")
            raise SourceConfigError(f"{self.where} {key}: LDAP {what} at {self.url}: {detail}{hint}")
        raise LdapError(f"{self.where} LDAP {what} at {self.url}: {detail}")

    def search(self, base: str, filter_: str, attributes: list[str] | str, *, scope: str = "SUBTREE",
               paged: bool = True) -> Iterator[dict]:
        """The entries of one search (raw ldap3 response entries), a page at a time."""
        from ldap3.core.exceptions import LDAPException

        conn = self.get_conn()
        paged = paged and self.settings.protocol_version == 3  # paging is an LDAPv3 control
        cookie = None
        what = f"search of {base!r} for {filter_}"
        while True:
            try:
                conn.search(base, filter_, search_scope=scope, attributes=attributes,
                            paged_size=self.page_size if paged else None, paged_cookie=cookie)
            except LDAPException as exc:  # the filter's syntax is checked here, before sending
                key = "filter" if "filter" in type(exc).__name__.lower() else "url"
                kind = SourceConfigError if key == "filter" else LdapError
                raise kind(f"{self.where} {key}: LDAP {what} at {self.url}: {exc}") from None
            self.pages += 1
            result, entries = conn.result, conn.response or []
            self._raise_for(result, what)
            yield from (e for e in entries if e.get("type") == "searchResEntry")
            cookie = ((result.get("controls") or {}).get(PAGED_RESULTS) or {}).get("value", {}).get("cookie")
            if not paged or not cookie:
                return

    def attributes(self) -> tuple[list[str] | str, dict[str, str]]:
        """What to ask for, and the configured spelling of each name (``{lower: name}``)."""
        if self.needs.whole_records:
            return ALL_ATTRIBUTES, {}
        names: dict[str, str] = {}
        for path in sorted(self.needs.paths) + list(self.always):
            name = path.split(".")[0]
            key = name.lower()
            if key in DERIVED:
                names.setdefault(DERIVED[key].lower(), DERIVED[key])
            elif key not in NOT_ATTRIBUTES:
                names.setdefault(key, name)
        return sorted(names.values(), key=str.lower), names

    def records(self) -> Iterator[dict]:
        s = self.settings
        attributes, names = self.attributes()
        groups = list(s.groups_dn) or ([s.group_dn] if s.group_dn else [])
        entries = self._members(groups, attributes) if groups else self.search(s.base_dn, s.filter, attributes)
        count = 0
        try:
            for entry in entries:
                record, problems = record_of(entry["dn"], entry.get("raw_attributes") or {}, names)
                for problem in problems:
                    self.report(f"{self.where} {problem}")
                count += 1
                yield record
        finally:
            self.close()
        self.log.info("LDAP %s: %d entries in %d request(s)%s", self.url, count, self.pages,
                      f" from {len(groups)} group(s)" if groups else "")

    def close(self) -> None:
        """Unbind (the next ``get_conn()`` binds again)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.unbind()

    def _members(self, groups: Iterable[str], attributes: list[str] | str) -> Iterator[dict]:
        """The entries of the groups' members, each once."""
        from ldap3.utils.conv import escape_filter_chars

        s = self.settings
        seen: set[str] = set()
        for group in groups:
            members = self._group_member_values(group)
            for member in members:
                if s.group_member_filter:
                    wanted = s.group_member_filter.format(escape_filter_chars(member))
                    found = self.search(s.base_dn, f"(&{s.filter}{wanted})", attributes, paged=False)
                else:
                    found = self._read(member, attributes)
                entry = next(iter(found), None)
                if entry is None:
                    self.report(f"{self.where} group {group}: member {member} not found (or not matching filter)")
                elif entry["dn"].lower() not in seen:
                    seen.add(entry["dn"].lower())
                    yield entry

    def _group_member_values(self, group: str) -> list[str]:
        attr = self.settings.group_members_attr
        [entry] = list(self.search(group, "(objectClass=*)", [attr], scope="BASE", paged=False)) or [None]
        if entry is None:
            raise SourceConfigError(f"{self.where} groups_dn: group {group} not found at {self.url}")
        values = next((v for k, v in (entry.get("raw_attributes") or {}).items() if k.lower() == attr.lower()), [])
        return [text(v) for v in values]

    def _read(self, dn: str, attributes: list[str] | str) -> list[dict]:
        """The entry ``dn`` if it matches ``filter``; nothing when it does not exist."""
        try:
            return list(self.search(dn, self.settings.filter, attributes, scope="BASE", paged=False))
        except SourceConfigError as exc:
            if "(32)" in str(exc):  # noSuchObject: a group may list members that are gone
                return []
            raise


class LdapAssetsHook(LdapHook):
    """Computer objects (``ldap_assets``): the same hook with the asset settings."""

    settings_model = LdapAssetSettings
    always = ()
