"""End to end: [ldap] and [ldap_assets] DAG runs with dag.test(), from a real slapd into the Oomnitza sandbox."""
import datetime as dt
import math

import pytest

from airflow_provider_oomnitza.hooks.ldap import LdapHook
from tests.servers import ldap_data as ld
from tests.servers.slapd import SlapdServer

PEOPLE, COMPUTERS, LIMIT, PAGE = 240, 40, 100, 100


@pytest.fixture(scope="module")
def slapd():
    """A small directory whose size limit (100) an unpaged search of the people would pass."""
    with SlapdServer(people=PEOPLE, computers=COMPUTERS, size_limit=LIMIT) as server:
        yield server


@pytest.fixture(autouse=True)
def pages(monkeypatch):
    """Pages of 100 entries (the server refuses larger ones); counts the search requests of every hook."""
    sent = []
    real = LdapHook.search

    def counting(self, *args, **kwargs):
        for entry in real(self, *args, **kwargs):
            yield entry
        sent.append(self.pages)

    monkeypatch.setattr(LdapHook, "page_size", PAGE)
    monkeypatch.setattr(LdapHook, "search", counting)
    return sent


def section(server, name="ldap", extra="", password=None):
    return (f"[{name}]\nenable = true\nurl = {server.ldaps_url}\ncacert_file = {server.ca_cert_file}\n"
            f"username = {server.bind_dn}\npassword = {password or server.bind_password}\n"
            f"use_server_map = false\n{extra}")


USERS = (f"base_dn = {ld.PEOPLE_OU}\nfilter = (objectClass=user)\ndefault_role = 25\ndefault_position = Employee\n"
         "max_rejected = 20%\n")  # people without mail have no EMAIL (required): rejected, as in the original


def expected_users(entries):
    out = {}
    for e in entries:
        if not e.first("mail"):
            continue
        user = e.first("uid") or e.first("sAMAccountName")
        out[user] = {"USER": user, "EMAIL": e.first("mail"), "FIRST_NAME": e.first("givenName"),
                     "LAST_NAME": e.first("sn"), "PERMISSIONS_ID": 25, "POSITION": "Employee",
                     "DISABLED": e.disabled, "GUID": ld.guid_string(e.first("objectGUID"))}
    return out


def stored(sandbox, data_type="users", key="USER"):
    return {r[key]: {k: v for k, v in r.items() if k != "uid"} for r in sandbox.state.records(data_type)}


def test_people_arrive_over_ldaps_in_pages_with_ad_values(sync_env, slapd, pages):
    env = sync_env
    env.write_ini(section(slapd, extra=USERS + 'mapping.DISABLED = {"source": "accountDisabled"}\n'
                                               'mapping.GUID = {"source": "objectGUID"}\n'))
    run = env.run("ldap_sync")
    assert run.state == "success"
    people = slapd.directory.under(ld.PEOPLE_OU, "person")
    expected = expected_users(people)
    assert len(people) > LIMIT and len(expected) < len(people)  # paging needed; some have no mail
    got = stored(env.sandbox)
    assert len(env.sandbox.state.records("users")) == len(got) == len(expected)
    assert got == expected
    assert any(not v["LAST_NAME"].isascii() for v in got.values()) and any(v["DISABLED"] for v in got.values())
    report = env.report("ldap_sync", run)
    assert (report["extracted"], report["pushed"]) == (len(people), len(expected))
    assert pages == [math.ceil(len(people) / PAGE)]  # one search, in pages


def test_a_contractors_section_reads_its_ou_only(sync_env, slapd, pages):
    env = sync_env
    contractors_ou = USERS.replace(ld.PEOPLE_OU, ld.CONTRACTORS_OU)
    env.write_ini(section(slapd, extra=USERS) + "\n" + section(slapd, "ldap.Contractors", contractors_ou))
    run = env.run("ldap_Contractors_sync")
    assert run.state == "success"
    assert stored(env.sandbox) == {u: {k: v for k, v in r.items() if k not in ("DISABLED", "GUID")}
                                   for u, r in expected_users(slapd.directory.under(ld.CONTRACTORS_OU,
                                                                                    "person")).items()}


def test_computers_arrive_as_assets(sync_env, slapd, pages):
    env = sync_env
    env.write_ini(section(slapd, "ldap_assets", f"base_dn = {ld.COMPUTERS_OU}\nfilter = (objectClass=computer)\n"
                                                "sync_field = GUID\n"
                                                'mapping.GUID = {"source": "objectGUID"}\n'
                                                'mapping.NAME = {"source": "cn"}\n'
                                                'mapping.HOSTNAME = {"source": "dNSHostName"}\n'
                                                'mapping.OS = {"source": "operatingSystem"}\n'
                                                'mapping.SID = {"source": "objectSid"}\n'
                                                'mapping.LAST_SEEN = {"source": "lastLogonTimestamp"}\n'
                                                'mapping.LAST_SEEN_EPOCH = {"source": "lastLogonTimestamp", '
                                                '"converter": "ldap_timestamp"}\n'))
    run = env.run("ldap_assets_sync")
    assert run.state == "success"
    got = stored(env.sandbox, "assets", "GUID")
    epoch = dt.datetime(1601, 1, 1, tzinfo=dt.timezone.utc)
    expected = {}
    for c in slapd.directory.computers:
        ticks = c.first("lastLogonTimestamp")
        seen = epoch + dt.timedelta(seconds=ticks // 10**7) if ticks else None
        expected[ld.guid_string(c.first("objectGUID"))] = {
            "GUID": ld.guid_string(c.first("objectGUID")), "NAME": c.first("cn"), "HOSTNAME": c.first("dNSHostName"),
            "OS": c.first("operatingSystem"), "SID": got.get(ld.guid_string(c.first("objectGUID")), {}).get("SID"),
            "LAST_SEEN": seen.strftime("%Y-%m-%dT%H:%M:%SZ") if seen else None,
            "LAST_SEEN_EPOCH": int(seen.timestamp()) if seen else None,
        }
    assert got == expected
    assert all(ld.sid_bytes(v["SID"]) == c.first("objectSid")
               for c in slapd.directory.computers for v in [got[ld.guid_string(c.first("objectGUID"))]])
    assert len(env.sandbox.state.records("assets")) == COMPUTERS
    assert pages == [1]


def test_a_refused_password_fails_the_extract_at_once_and_sends_nothing(sync_env, slapd, capsys):
    env = sync_env
    env.write_ini(section(slapd, extra=USERS, password="Wrong-Passw0rd-xyz"))
    run = env.run("ldap_sync")
    assert run.state == "failed"
    out = capsys.readouterr().out
    assert f"[ldap] password: {slapd.ldaps_url} refused the bind as '{slapd.bind_dn}': invalidCredentials (49)" in out
    assert "Wrong-Passw0rd-xyz" not in out
    assert {ti.task_id: ti.state for ti in run.get_task_instances()}["extract"] == "failed"
    assert env.sandbox.state.records("users") == []
