"""The slapd fixture itself, checked with ldap3 as the hooks will use it."""
from __future__ import annotations

import math
import os
import re
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from ldap3 import BASE, LEVEL, Connection, Server, Tls
from ldap3.core.exceptions import LDAPSocketOpenError, LDAPStartTLSError
from ldap3.utils.conv import escape_bytes

from tests.servers import ldap_data
from tests.servers.slapd import SlapdServer

REPO = Path(__file__).resolve().parents[2]
SORT_OID = "1.2.840.113556.1.4.473"


def service(server: SlapdServer, url: str | None = None, **kwargs) -> Connection:
    return Connection(Server(url or server.url, **kwargs), server.bind_dn, server.bind_password,
                      auto_bind=True, raise_exceptions=False)


def tls(ca_file: str | None) -> Tls:
    return Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file)


def people(server: SlapdServer) -> list[ldap_data.Entry]:
    return server.directory.under(ldap_data.PEOPLE_OU, "person")


def test_service_account_binds_and_a_wrong_password_is_refused(slapd_server):
    conn = service(slapd_server)
    assert conn.extend.standard.who_am_i().lower() == "dn:" + slapd_server.bind_dn.lower()
    wrong = Connection(Server(slapd_server.url), slapd_server.bind_dn, "not-the-password")
    assert not wrong.bind()
    assert wrong.result["result"] == 49  # invalidCredentials


def test_simple_search_finds_a_person_with_a_unicode_name(slapd_server):
    person = next(p for p in people(slapd_server) if not p.first("cn").isascii())
    conn = service(slapd_server)
    assert conn.search(slapd_server.base_dn, f"(sAMAccountName={person.first('sAMAccountName')})",
                       attributes=["cn", "givenName", "sn", "mail"])
    [entry] = conn.entries
    assert entry.cn.value == person.first("cn")
    assert entry.sn.value == person.first("sn")


def test_unpaged_search_stops_at_the_size_limit(slapd_server):
    conn = service(slapd_server)
    conn.search(ldap_data.PEOPLE_OU, "(objectClass=user)", attributes=["cn"])
    assert conn.result["result"] == 4  # sizeLimitExceeded
    assert len(conn.entries) == slapd_server.size_limit < len(people(slapd_server))


def test_paged_search_returns_every_person_across_pages(slapd_server):
    conn = service(slapd_server)
    cookie, pages, guids = None, 0, []
    while True:
        conn.search(ldap_data.PEOPLE_OU, "(objectClass=user)", attributes=["objectGUID"],
                    paged_size=500, paged_cookie=cookie)
        assert conn.result["result"] == 0, conn.result
        pages += 1
        guids += [e["raw_attributes"]["objectGUID"][0] for e in conn.response if e["type"] == "searchResEntry"]
        cookie = conn.result["controls"]["1.2.840.113556.1.4.319"]["value"]["cookie"]
        if not cookie:
            break
    expected = [p.first("objectGUID") for p in people(slapd_server)]
    assert pages == math.ceil(len(expected) / 500)
    assert sorted(guids) == sorted(expected)


def test_pages_larger_than_the_limit_are_refused(slapd_server):
    conn = service(slapd_server)
    conn.search(ldap_data.PEOPLE_OU, "(objectClass=user)", attributes=["cn"], paged_size=slapd_server.size_limit + 1)
    assert conn.result["result"] == 11  # adminLimitExceeded (AD would clamp the page instead)


def test_nested_organizational_units(slapd_server):
    conn = service(slapd_server)
    subtree = conn.extend.standard.paged_search(ldap_data.CONTRACTORS_OU, "(objectClass=user)", attributes=["cn"],
                                                paged_size=500, generator=False)
    contractors = slapd_server.directory.under(ldap_data.CONTRACTORS_OU, "person")
    interns = slapd_server.directory.under(ldap_data.INTERNS_OU, "person")
    assert len(subtree) == len(contractors) and interns
    conn.search(ldap_data.CONTRACTORS_OU, "(objectClass=user)", search_scope=LEVEL, attributes=["cn"], paged_size=500)
    assert len(conn.entries) == len(contractors) - len(interns)


def test_disabled_accounts_match_the_ad_bitwise_filter(slapd_server):
    conn = service(slapd_server)
    found = conn.extend.standard.paged_search(
        slapd_server.base_dn, "(&(objectClass=user)(userAccountControl:1.2.840.113556.1.4.803:=2))",
        attributes=["userAccountControl"], paged_size=500, generator=False)
    generated = [e for e in slapd_server.directory.entries if e.kind in ("person", "computer") and e.disabled]
    assert len(found) == len(generated) > 0
    assert all(int(e["attributes"]["userAccountControl"]) & 2 for e in found)


def test_computers_are_users_too_as_in_active_directory(slapd_server):
    conn = service(slapd_server)
    found = conn.extend.standard.paged_search(slapd_server.base_dn, "(objectClass=computer)",
                                              attributes=["dNSHostName", "operatingSystem"], paged_size=500,
                                              generator=False)
    assert len(found) == slapd_server.computers
    users = conn.extend.standard.paged_search(slapd_server.base_dn, "(objectClass=user)", attributes=["cn"],
                                              paged_size=500, generator=False)
    assert len(users) == len(slapd_server.directory.people) + slapd_server.computers + 1  # + service account
    assert any(not e["attributes"]["dNSHostName"] for e in found)  # some are missing it


def test_binary_object_guid_and_sid_round_trip(slapd_server):
    person = people(slapd_server)[7]
    guid = person.first("objectGUID")
    conn = service(slapd_server)
    assert conn.search(slapd_server.base_dn, f"(objectGUID={escape_bytes(guid)})",
                       attributes=["objectGUID", "objectSid", "sAMAccountName"])
    [entry] = conn.response[:1]
    assert entry["raw_attributes"]["objectGUID"] == [guid]
    assert entry["raw_attributes"]["objectSid"] == [person.first("objectSid")]
    # ldap3 knows AD's OIDs and formats them as AD tools show them
    assert entry["attributes"]["objectGUID"] == "{" + ldap_data.guid_string(guid) + "}"
    assert re.fullmatch(slapd_server.directory.domain_sid + r"-\d+", entry["attributes"]["objectSid"])


def test_member_of_and_group_members_are_consistent_with_a_dangling_member(slapd_server):
    conn = service(slapd_server)
    conn.search(ldap_data.GROUPS_OU, "(cn=VPN Users)", attributes=["member"])
    members = conn.entries[0].member.values
    assert ldap_data.DANGLING_MEMBER_DN in members
    conn.search(ldap_data.DANGLING_MEMBER_DN, "(objectClass=*)", search_scope=BASE)
    assert conn.result["result"] == 32  # noSuchObject
    conn.search(ldap_data.GROUPS_OU, "(cn=Empty Group)", attributes=["member"])
    assert conn.entries[0].member.values == []
    person_dn = next(m for m in members if m != ldap_data.DANGLING_MEMBER_DN)
    conn.search(person_dn, "(objectClass=*)", search_scope=BASE, attributes=["memberOf"])
    assert f"CN=VPN Users,{ldap_data.GROUPS_OU}" in conn.entries[0].memberOf.values


def test_ldaps_with_the_ca_works(slapd_server):
    conn = service(slapd_server, slapd_server.ldaps_url, use_ssl=True, tls=tls(slapd_server.ca_cert_file))
    assert conn.bound and conn.server.ssl
    assert conn.socket.version().startswith("TLS")


def test_ldaps_without_the_ca_is_refused(slapd_server):
    with pytest.raises(LDAPSocketOpenError, match="CERTIFICATE_VERIFY_FAILED"):
        service(slapd_server, slapd_server.ldaps_url, use_ssl=True, tls=tls(None))


def test_starttls_works_and_needs_the_ca(slapd_server):
    conn = Connection(Server(slapd_server.url, tls=tls(slapd_server.ca_cert_file)),
                      slapd_server.bind_dn, slapd_server.bind_password)
    conn.open()
    assert conn.start_tls() and conn.tls_started
    assert conn.bind()
    assert conn.socket.version().startswith("TLS")
    untrusted = Connection(Server(slapd_server.url, tls=tls(None)))
    untrusted.open()
    with pytest.raises(LDAPStartTLSError, match="CERTIFICATE_VERIFY_FAILED"):
        untrusted.start_tls()


def test_anonymous_bind_is_allowed_but_reads_nothing(slapd_server):
    conn = Connection(Server(slapd_server.url), auto_bind=True)
    conn.search(ldap_data.PEOPLE_OU, "(objectClass=*)")
    assert conn.result["result"] == 32 and conn.entries == []


def _sort_control(attribute: str, critical: bool):
    """RFC 2891 SortKeyList with one key, BER-encoded by hand (ldap3 has no builder)."""
    key = b"\x04" + bytes([len(attribute)]) + attribute.encode()
    inner = b"\x30" + bytes([len(key)]) + key
    return SORT_OID, critical, b"\x30" + bytes([len(inner)]) + inner


def test_critical_sort_control_is_unavailable_without_the_overlay(slapd_server):
    conn = service(slapd_server)
    conn.search(ldap_data.GROUPS_OU, "(objectClass=group)", attributes=["cn"], controls=[_sort_control("cn", True)])
    assert conn.result["result"] == 12  # unavailableCriticalExtension
    conn.search(ldap_data.GROUPS_OU, "(objectClass=group)", attributes=["cn"], controls=[_sort_control("cn", False)])
    assert conn.result["result"] == 0 and len(conn.entries) == len(slapd_server.directory.groups)


def test_sort_control_sorts_with_the_overlay():
    with SlapdServer(people=40, computers=5, sort_control=True) as server:
        conn = service(server)
        conn.search(ldap_data.PEOPLE_OU, "(objectClass=user)", attributes=["sAMAccountName"],
                    controls=[_sort_control("sAMAccountName", True)])
        assert conn.result["result"] == 0
        names = [e.sAMAccountName.value for e in conn.entries]
        assert len(names) == len(people(server)) and names == sorted(names, key=str.lower)


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_stop_ends_slapd_and_removes_its_files():
    server = SlapdServer(people=10, computers=2).start()
    pid, workdir, port = server.process.pid, server.workdir, server.port
    assert _accepts(port) and workdir.exists()
    server.stop()
    assert not workdir.exists() and not _accepts(port)
    assert not os.path.exists(f"/proc/{pid}") or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


def test_runs_as_a_process_and_prints_how_to_connect():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.servers.slapd", "--people", "20", "--computers", "3"],
                            stdout=subprocess.PIPE, text=True, cwd=REPO, env=env)
    try:
        lines = [proc.stdout.readline().strip() for _ in range(8)]
        url = lines[0]
        bind_dn, password = next(line for line in lines if line.startswith("service account:")) \
            .removeprefix("service account: ").split(" / ")
        conn = Connection(Server(url), bind_dn, password, auto_bind=True)
        assert conn.search(ldap_data.PEOPLE_OU, "(objectClass=user)", attributes=["cn"], paged_size=100)
        assert len(conn.entries) == 20  # all generated people live under OU=People
        ca_file = next(line for line in lines if line.startswith("ca_cert_file:")).split(": ", 1)[1]
        conn.unbind()
    finally:
        proc.terminate()
        proc.wait(15)
    assert proc.returncode == 0
    port = int(url.rsplit(":", 1)[1])
    assert not _accepts(port) and not Path(ca_file).parent.exists()
