"""LdapHook against a real OpenLDAP slapd with AD-like data: paging, TLS, binds, AD values, groups, needs."""
from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import re
import uuid

import pytest

from airflow_provider_oomnitza.hooks.errors import SourceConfigError
from airflow_provider_oomnitza.hooks.ldap import LdapAssetsHook, LdapError, LdapHook
from airflow_provider_oomnitza.mapping.converters import ldap_timestamp
from airflow_provider_oomnitza.sources.base import SourceNeeds
from tests.servers import ldap_data as ld
from tests.servers.silent import SilentServer

USERS = "(objectClass=user)"
DISABLED = "(userAccountControl:1.2.840.113556.1.4.803:=2)"


def settings(server, **extra):
    return {"url": server.url, "username": server.bind_dn, "password": server.bind_password, "base_dn": ld.PEOPLE_OU,
            "filter": USERS, "default_role": 25, "default_position": "Employee", **extra}


def hook(server, needs=None, page_size=None, **extra):
    h = LdapHook(settings(server, **extra), section="ldap", needs=needs)
    if page_size:
        h.page_size = page_size
    return h


def norm(dn):
    """DNs compared as slapd writes them: lower case, hex escapes (``\\23``) as the escaped character."""
    return re.sub(r"\\([0-9a-f]{2})", lambda m: "\\" + chr(int(m[1], 16)), dn.lower())


def dns(records):
    return sorted(norm(r["dn"]) for r in records)


def expected_dns(entries):
    return sorted(norm(e.dn) for e in entries)


def by_dn(server):
    return {norm(e.dn): e for e in server.directory.entries}


# ---- paging -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def everyone(slapd_server):
    """Every person, whole records, read once for the tests that look at all of them."""
    h = hook(slapd_server)
    return h, list(h.records())


def test_every_person_past_the_size_limit_in_pages(slapd_server, everyone):
    h, records = everyone
    people = slapd_server.directory.under(ld.PEOPLE_OU, "person")
    assert len(people) > slapd_server.size_limit  # an unpaged search would stop at the limit
    assert dns(records) == expected_dns(people)  # each once
    assert h.pages == math.ceil(len(people) / h.page_size) > 1
    assert h.problems == []


def test_pages_are_streamed_one_after_another(slapd_server):
    h = hook(slapd_server, page_size=100)
    first = list(itertools.islice(h.records(), 150))
    assert len(first) == 150 and h.pages == 2  # the third page was never asked for


# ---- AD values ------------------------------------------------------------------------------------------

def parse_iso(text):
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)


def test_ad_values_become_useful_text_on_real_entries(slapd_server, everyone):
    _, records = everyone
    entries = by_dn(slapd_server)
    seen = {"never": 0, "zero": 0, "disabled": 0, "non_ascii": 0}
    for record in records:
        entry = entries[norm(record["dn"])]
        raw = entry.attributes
        assert record["objectGUID"] == ld.guid_string(raw["objectGUID"][0])
        assert record["objectGUID"] == str(uuid.UUID(record["objectGUID"]))  # the standard form
        assert ld.sid_bytes(record["objectSid"]) == raw["objectSid"][0]
        assert record["objectSid"].startswith(slapd_server.directory.domain_sid + "-")
        assert record["userAccountControl"] == raw["userAccountControl"][0]
        assert record["accountDisabled"] is entry.disabled
        seen["disabled"] += entry.disabled
        for name in ("pwdLastSet", "lastLogonTimestamp", "accountExpires"):
            if name not in raw:
                assert name not in record
            elif raw[name][0] in (0, ld.NEVER_EXPIRES):
                assert record[name] is None
                seen["never" if raw[name][0] else "zero"] += 1
            else:
                assert ld.filetime(parse_iso(record[name])) == raw[name][0]
                # a config written for the original (converter ldap_timestamp) gets the same epoch seconds
                assert ldap_timestamp(None, record, record[name], {}, None) == \
                    ldap_timestamp(None, {}, raw[name][0], {}, None)
        assert ld.generalized_time(parse_iso(record["whenCreated"])) == raw["whenCreated"][0]
        assert record.get("memberOf", []) == raw.get("memberOf", [])  # a list, even of one
        assert record["cn"] == raw["cn"][0] and record["sn"] == raw["sn"][0]
        seen["non_ascii"] += not record["cn"].isascii()
    assert all(seen.values()), seen  # the data had every case


def test_computers_as_assets(slapd_server):
    h = LdapAssetsHook(settings(slapd_server, base_dn=ld.COMPUTERS_OU, filter="(objectClass=computer)",
                                sync_field="SERIAL_NUMBER"), section="ldap_assets",
                       needs=SourceNeeds(frozenset({"dNSHostName", "operatingSystem", "objectGUID"}), False))
    records = list(h.records())
    computers = slapd_server.directory.computers
    assert dns(records) == expected_dns(computers)
    assert h.attributes()[0] == ["dNSHostName", "objectGUID", "operatingSystem"]  # no sAMAccountName for assets
    entries = by_dn(slapd_server)
    for record in records:
        raw = entries[norm(record["dn"])].attributes
        assert record["objectGUID"] == ld.guid_string(raw["objectGUID"][0])
        assert record.get("dNSHostName") == (raw.get("dNSHostName") or [None])[0]
        assert set(record) <= {"dn", "dNSHostName", "operatingSystem", "objectGUID"}
    assert any("dNSHostName" not in r for r in records)


# ---- needs ------------------------------------------------------------------------------------------

def test_only_the_attributes_the_mappings_read_are_asked_for(slapd_server):
    needs = SourceNeeds(frozenset({"mail", "GIVENNAME", "memberOf.0", "accountDisabled", "dn"}), whole_records=False)
    h = hook(slapd_server, needs=needs)
    attributes, _ = h.attributes()
    assert attributes == ["GIVENNAME", "mail", "memberOf", "sAMAccountName", "userAccountControl"]
    records = list(h.records())
    allowed = {"dn", "GIVENNAME", "mail", "memberOf", "sAMAccountName", "userAccountControl", "accountDisabled"}
    assert all(set(r) <= allowed for r in records)
    assert sum("GIVENNAME" in r for r in records) > len(records) / 2  # spelled as configured
    assert all("objectGUID" not in r for r in records)
    assert len(records) == len(slapd_server.directory.under(ld.PEOPLE_OU, "person"))


def test_whole_records_ask_for_everything(slapd_server):
    h = hook(slapd_server, base_dn=ld.INTERNS_OU)
    assert h.attributes() == ("*", {})
    assert {"objectGUID", "department", "employeeID", "mobile"} <= set().union(*(set(r) for r in h.records()))


# ---- several sections ---------------------------------------------------------------------------------

def test_sections_by_ou_or_filter_give_disjoint_sets(slapd_server):
    directory = slapd_server.directory
    needs = SourceNeeds(frozenset({"cn"}), whole_records=False)
    contractors = dns(hook(slapd_server, needs, base_dn=ld.CONTRACTORS_OU).records())
    assert contractors == expected_dns(directory.under(ld.CONTRACTORS_OU, "person"))
    disabled = dns(hook(slapd_server, needs, filter=f"(&{USERS}{DISABLED})").records())
    enabled = dns(hook(slapd_server, needs, filter=f"(&{USERS}(!{DISABLED}))").records())
    assert disabled and enabled and not set(disabled) & set(enabled)
    assert sorted(disabled + enabled) == expected_dns(directory.under(ld.PEOPLE_OU, "person"))
    assert disabled == expected_dns(e for e in directory.under(ld.PEOPLE_OU, "person") if e.disabled)


# ---- groups ---------------------------------------------------------------------------------------------

def test_members_of_groups_each_once_and_a_missing_member_is_a_problem(slapd_server):
    groups = [f"CN=VPN Users,{ld.GROUPS_OU}", f"CN=Engineering,{ld.GROUPS_OU}"]
    h = hook(slapd_server, base_dn=ld.BASE_DN, groups_dn=groups)
    records = list(h.records())
    members = {norm(m) for g in slapd_server.directory.groups if g.dn in groups for m in g.attributes["member"]}
    assert dns(records) == sorted(members - {norm(ld.DANGLING_MEMBER_DN)})
    assert h.problems == [f"[ldap] group CN=VPN Users,{ld.GROUPS_OU}: member {ld.DANGLING_MEMBER_DN} not found (or "
                          "not matching filter)"]


def test_group_members_found_with_a_member_filter(slapd_server):
    group = next(g for g in slapd_server.directory.groups if g.first("cn") == "Finance")
    # AD would say (distinguishedName={}); OpenLDAP's own attribute for it is entryDN
    h = hook(slapd_server, base_dn=ld.BASE_DN, group_dn=group.dn, group_member_filter="(entryDN={})")
    assert dns(h.records()) == sorted(norm(m) for m in group.attributes["member"])
    none = hook(slapd_server, base_dn=ld.BASE_DN, group_dn=group.dn, group_member_filter="(mail={})")
    assert list(none.records()) == [] and len(none.problems) == len(group.attributes["member"])


def test_a_group_that_does_not_exist_names_groups_dn(slapd_server):
    with pytest.raises(SourceConfigError, match=r"^\[ldap\] (groups_dn|base_dn): .*CN=Nope"):
        list(hook(slapd_server, groups_dn=[f"CN=Nope,{ld.GROUPS_OU}"]).records())


# ---- binds and errors ---------------------------------------------------------------------------------

def test_a_wrong_password_fails_with_what_to_check_and_no_secret(slapd_server):
    h = hook(slapd_server, password="not-the-password")
    with pytest.raises(SourceConfigError) as failed:
        list(h.records())
    message = str(failed.value)
    assert message.startswith(f"[ldap] password: {slapd_server.url} refused the bind as '{slapd_server.bind_dn}': "
                              "invalidCredentials (49)")
    assert "check username" in message and "not-the-password" not in message


def test_a_name_without_password_is_refused_before_any_bind(slapd_server):
    with pytest.raises(SourceConfigError, match=r"^\[ldap\] password: empty"):
        hook(slapd_server, password="").check()


def test_anonymous_binds_but_reads_nothing_here(slapd_server):
    h = hook(slapd_server, username="anonymous", password="")
    assert h.get_conn().bound
    with pytest.raises(SourceConfigError, match=r"^\[ldap\] base_dn: .*noSuchObject \(32\).*may read it"):
        list(h.records())


def test_a_wrong_base_dn_or_filter_names_its_setting(slapd_server):
    with pytest.raises(SourceConfigError, match=r"^\[ldap\] base_dn: LDAP reading base_dn 'OU=Gone,DC=example,DC=com'"):
        hook(slapd_server, base_dn="OU=Gone,DC=example,DC=com").check()
    with pytest.raises(SourceConfigError, match=r"^\[ldap\] filter: .*invalid filter"):
        list(hook(slapd_server, filter="(&(objectClass=user)").records())


def test_an_unreachable_server_is_left_to_retries_and_a_bad_url_is_a_setting_error(slapd_server):
    from tests.servers.slapd import free_port

    with pytest.raises(LdapError, match="not reached") as failed:
        hook(slapd_server, url=f"ldap://127.0.0.1:{free_port()}").check()
    assert not isinstance(failed.value, SourceConfigError)
    with pytest.raises(SourceConfigError, match=r"^\[ldap\] url: expected ldap://host\[:port\]"):
        hook(slapd_server, url="https://dc1.example.com").check()


@pytest.mark.parametrize("accept, when", [(True, "error receiving data"), (False, "while opening")])
def test_a_server_that_never_answers_times_out_and_is_left_to_retries(accept, when):
    with SilentServer(accept=accept) as silent:
        h = LdapHook({"url": silent.url("ldap"), "username": ld.SERVICE_DN, "password": "not-sent-anywhere",
                      "base_dn": ld.BASE_DN, "default_role": 25, "default_position": "Employee"}, section="ldap",
                     timeout=1)
        with pytest.raises(LdapError, match=rf"^\[ldap\] LDAP server {silent.url('ldap')} not reached: .*{when}.*"
                                            "timed out"):
            h.check()
    assert silent.accepted == accept  # the silent server got the bind (or not even the connection)


def test_page_size_above_the_server_limit_says_so(slapd_server):
    with pytest.raises(SourceConfigError, match="adminLimitExceeded .*pages of 1001 entries"):
        list(hook(slapd_server, page_size=slapd_server.size_limit + 1).records())


# ---- TLS ------------------------------------------------------------------------------------------------

def test_ldaps_with_the_ca(slapd_server):
    h = hook(slapd_server, url=slapd_server.ldaps_url, cacert_file=slapd_server.ca_cert_file, base_dn=ld.INTERNS_OU)
    assert dns(h.records()) == expected_dns(slapd_server.directory.under(ld.INTERNS_OU, "person"))
    assert h.get_conn().socket.version() in ("TLSv1.2", "TLSv1.3")


def test_ldaps_without_the_ca_is_refused_clearly(slapd_server):
    with pytest.raises(SourceConfigError) as failed:
        hook(slapd_server, url=slapd_server.ldaps_url).check()
    assert str(failed.value).startswith(f"[ldap] cacert_file: LDAP TLS with {slapd_server.ldaps_url}: the server's "
                                        "TLS certificate is not trusted")


def test_ldaps_without_checks_when_verify_ssl_is_false(slapd_server):
    h = hook(slapd_server, url=slapd_server.ldaps_url, verify_ssl=False)
    assert h.check().startswith(f"Connected to LDAP at {slapd_server.ldaps_url} as dn:")
    assert h.get_conn().socket.version().startswith("TLS")


def test_starttls_with_the_ca_and_refused_without(slapd_server):
    h = hook(slapd_server, start_tls=True, cacert_file=slapd_server.ca_cert_file)
    h.check()
    conn = h.get_conn()
    assert conn.tls_started and conn.socket.version().startswith("TLS")
    with pytest.raises(SourceConfigError, match=r"^\[ldap\] cacert_file: LDAP StartTLS with ldap://.*not trusted"):
        hook(slapd_server, start_tls=True).check()


def test_the_host_name_is_checked(slapd_server, monkeypatch):
    import socket

    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: real(
        "127.0.0.1" if host == "ldap.elsewhere.test" else host, *a, **k))
    url = slapd_server.ldaps_url.replace("127.0.0.1", "ldap.elsewhere.test")  # not a name in the certificate
    with pytest.raises(SourceConfigError, match=r"^\[ldap\] cacert_file: .*not trusted \(Hostname mismatch"):
        hook(slapd_server, url=url, cacert_file=slapd_server.ca_cert_file).check()
    assert hook(slapd_server, url=url, verify_ssl=False).check()


# ---- an Airflow connection ----------------------------------------------------------------------------

def test_a_connection_gives_url_bind_and_search(slapd_server, monkeypatch):
    host, port = slapd_server.url.removeprefix("ldap://").split(":")
    monkeypatch.setenv("AIRFLOW_CONN_LDAP_DEFAULT", json.dumps({
        "conn_type": "ldap", "host": host, "port": int(port), "login": slapd_server.bind_dn,
        "password": slapd_server.bind_password,
        "extra": {"base_dn": ld.INTERNS_OU, "filter": USERS, "start_tls": True,
                  "cacert_file": slapd_server.ca_cert_file}}))
    h = LdapHook()
    assert h.conn_id == "ldap_default" and h.url == slapd_server.url
    ok, message = h.test_connection()
    assert ok, message
    assert message.lower() == (f"Connected to LDAP at {slapd_server.url} as dn:{slapd_server.bind_dn}: base_dn "
                               f"{ld.INTERNS_OU} is readable").lower()
    assert dns(h.records()) == expected_dns(slapd_server.directory.under(ld.INTERNS_OU, "person"))
    assert h.get_conn().tls_started
    monkeypatch.setenv("AIRFLOW_CONN_LDAP_BAD", json.dumps({"conn_type": "ldap", "host": slapd_server.url,
                                                            "login": slapd_server.bind_dn, "password": "nope",
                                                            "extra": {"base_dn": ld.BASE_DN}}))
    ok, message = LdapHook(ldap_conn_id="ldap_bad").test_connection()
    assert not ok and "invalidCredentials (49)" in message and message.startswith("connection 'ldap_bad' password:")


def test_ldap_v2_refused_by_the_server_names_protocol_version(slapd_server):
    with pytest.raises(SourceConfigError, match=r"^\[ldap\] protocol_version: LDAP bind .*protocolError \(2\)"):
        hook(slapd_server, protocol_version=2).check()


def test_ad_bind_refusals_say_what_the_data_code_means():
    h = LdapHook({"url": "ldaps://dc1.example.com", "username": "svc@example.com", "password": "x",
                  "base_dn": "DC=example,DC=com", "default_role": 1, "default_position": "E"}, section="ldap.AD")
    ad = "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 533, v2580"
    error = h._bind_error({"result": 49, "description": "invalidCredentials", "message": ad})
    assert isinstance(error, SourceConfigError)
    assert str(error) == (f"[ldap.AD] password: ldaps://dc1.example.com refused the bind as 'svc@example.com': "
                          f"invalidCredentials (49): {ad}; AD says: account disabled; check username (a DN, "
                          "user@domain or DOMAIN\\user) and password")
    busy = h._bind_error({"result": 51, "description": "busy", "message": ""})
    assert isinstance(busy, LdapError) and not isinstance(busy, SourceConfigError)


def test_records_unbind_when_done_or_stopped(slapd_server):
    h = hook(slapd_server, base_dn=ld.INTERNS_OU)
    records = h.records()
    next(records)
    conn = h.get_conn()
    assert conn.bound
    records.close()  # a consumer that stops early
    assert conn.closed and h._conn is None
    assert len(list(h.records())) == len(slapd_server.directory.under(ld.INTERNS_OU, "person"))
    assert h._conn is None


def test_airflow_connections_test_with_an_ldap_connection(slapd_server, tmp_path):
    """The UI's Test button / ``airflow connections test``: the provider's ldap type, its form fields in extra
    (without ``cacert_file`` the LDAPS bind fails: the CA in the extra was used)."""
    from tests.test_provider_info import airflow

    conn = {"conn_type": "ldap", "host": slapd_server.ldaps_url, "login": slapd_server.bind_dn,
            "password": slapd_server.bind_password,
            "extra": {"base_dn": ld.BASE_DN, "cacert_file": slapd_server.ca_cert_file}}
    env = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled", "AIRFLOW_CONN_UNDER_TEST": json.dumps(conn)}
    out = airflow("connections", "test", "under_test", home=tmp_path, env=env)
    assert "Connection success!" in out and slapd_server.bind_password not in out
