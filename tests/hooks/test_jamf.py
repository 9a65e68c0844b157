"""JamfHook against the Jamf Pro simulator, and the casper settings."""
from __future__ import annotations

import json
import math

import pytest
import requests

from airflow_provider_oomnitza.config.loader import load_config
from airflow_provider_oomnitza.hooks.errors import HttpError
from airflow_provider_oomnitza.hooks.http_client import TokenAuth
from airflow_provider_oomnitza.hooks.jamf import JamfAuthError, JamfConfigError, JamfError, JamfHook
from airflow_provider_oomnitza.hooks.jamf_records import COMPUTER_FIELDS, MOBILE_FIELDS
from airflow_provider_oomnitza.mapping.build import build_mappings
from airflow_provider_oomnitza.mapping.needs import needs_of
from airflow_provider_oomnitza.mapping.fields import get_field_value
from airflow_provider_oomnitza.sources.casper import SOURCE, CasperSettings
from tests.simulators.base import SimulatorThread, knobs, stats
from tests.simulators.jamf import (DEFAULT_ACCOUNTS, DEFAULT_API_CLIENTS, JAMF_PRO_VERSION, OLD_JAMF_PRO_VERSION,
                                   JamfState, build_app)

USER, PASSWORD = next(iter(DEFAULT_ACCOUNTS.items()))
CLIENT_ID, CLIENT_SECRET = next(iter(DEFAULT_API_CLIENTS.items()))
N_COMPUTERS, N_MOBILES = 150, 60
INVENTORY = "/api/v4/computers-inventory"  # a current Jamf Pro (the simulator's default)
OAUTH = "/api/v1/oauth/token"
MOBILE_INVENTORY = "/api/v2/mobile-devices/detail"
SERIAL = {"SERIAL_NUMBER": {"source": "general.serial_number"}}

# The spec's "supported external fields" lists (README, Casper), word for word.
SPEC_COMPUTER_FIELDS = """
general.alt_mac_address general.asset_tag general.barcode_1 general.barcode_2 general.distribution_point
general.id general.initial_entry_date general.initial_entry_date_epoch general.initial_entry_date_utc
general.ip_address general.jamf_version general.last_cloud_backup_date_epoch
general.last_cloud_backup_date_utc general.last_contact_time general.last_contact_time_epoch
general.last_contact_time_utc general.mac_address general.mdm_capable general.name general.netboot_server
general.platform general.report_date general.report_date_epoch general.report_date_utc general.serial_number
general.sus general.udid hardware.active_directory_status hardware.available_ram_slots
hardware.battery_capacity hardware.boot_rom hardware.bus_speed hardware.bus_speed_mhz hardware.cache_size
hardware.cache_size_kb hardware.make hardware.model hardware.model_identifier hardware.nic_speed
hardware.number_processors hardware.optical_drive hardware.os_build hardware.os_name hardware.os_version
hardware.processor_architecture hardware.processor_speed hardware.processor_speed_mhz hardware.processor_type
hardware.service_pack hardware.smc_version hardware.total_ram hardware.total_ram_mb location.building
location.department location.email_address location.phone location.position location.real_name location.room
location.username purchasing.applecare_id purchasing.is_leased purchasing.is_purchased
purchasing.lease_expires purchasing.lease_expires_epoch purchasing.lease_expires_utc
purchasing.life_expectancy purchasing.os_applecare_id purchasing.os_maintenance_expires purchasing.po_date
purchasing.po_date_epoch purchasing.po_date_utc purchasing.po_number purchasing.purchase_price
purchasing.purchasing_account purchasing.purchasing_contact purchasing.vendor purchasing.warranty_expires
purchasing.warranty_expires_epoch purchasing.warranty_expires_utc
""".split()
SPEC_MOBILE_FIELDS = """
general.airplay_password general.asset_tag general.available general.available_mb general.battery_level
general.bluetooth_mac_address general.capacity general.capacity_mb general.cloud_backup_enabled
general.device_id general.device_name general.device_ownership_level general.display_name
general.do_not_disturb_enabled general.id general.initial_entry_date_epoch general.initial_entry_date_utc
general.ip_address general.itunes_store_account_is_active general.last_backup_time_epoch
general.last_backup_time_utc general.last_cloud_backup_date_epoch general.last_cloud_backup_date_utc
general.last_inventory_update general.last_inventory_update_epoch general.last_inventory_update_utc
general.locales general.managed general.model general.model_display general.model_identifier
general.modelDisplay general.modem_firmware general.name general.os_build general.os_type general.os_version
general.percentage_used general.phone_number general.serial_number general.supervised general.tethered
general.udid general.wifi_mac_address location.building location.department location.email_address
location.phone location.position location.real_name location.room location.username
network.carrier_settings_version network.cellular_technology network.current_carrier_network
network.current_mobile_country_code network.current_mobile_network_code network.data_roaming_enabled
network.home_carrier_network network.home_mobile_country_code network.home_mobile_network_code network.iccid
network.imei network.roaming network.voice_roaming_enabled purchasing.applecare_id purchasing.is_leased
purchasing.is_purchased purchasing.lease_expires purchasing.lease_expires_epoch purchasing.lease_expires_utc
purchasing.life_expectancy purchasing.po_date purchasing.po_date_epoch purchasing.po_date_utc
purchasing.po_number purchasing.purchase_price purchasing.purchasing_account purchasing.purchasing_contact
purchasing.vendor purchasing.warranty_expires purchasing.warranty_expires_epoch
purchasing.warranty_expires_utc
""".split()
# Listed by the spec but gone from Jamf's Classic API too (netboot, Apple TV AirPlay, locales):
# neither the Classic record nor ours has them.
GONE_FROM_CLASSIC = {"general.netboot_server", "general.airplay_password", "general.device_id", "general.locales"}


@pytest.fixture(scope="module")
def sim():
    with SimulatorThread(build_app(JamfState(N_COMPUTERS, N_MOBILES, seed=7))) as s:
        yield s


@pytest.fixture(autouse=True)
def _reset(request):
    if "sim" in request.fixturenames:
        requests.post(request.getfixturevalue("sim").url + "/_sim/reset").raise_for_status()


def account(sim, **extra):
    return {"url": sim.url, "username": USER, "password": PASSWORD, "page_size": 25, **extra}


def api_client(sim, **extra):
    return {"url": sim.url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "page_size": 25, **extra}


def hook(settings, mappings=None, **kw):
    return JamfHook(settings, section="casper", needs=needs_of(SERIAL if mappings is None else mappings), **kw)


def jamf(sim, **values):
    requests.post(sim.url + "/_sim/jamf", json=values).raise_for_status()


def ids(records):
    return [r["general"]["id"] for r in records]


def defaults(sync_type="computers", **ini):
    settings = CasperSettings(url="https://x", username="u", password="p", sync_field=["SERIAL_NUMBER"],
                              sync_type=sync_type)
    return build_mappings(SOURCE, settings, ini).mappings


class Spy:
    """Records the query of every call the hook's data client makes."""

    def __init__(self, h: JamfHook):
        self.calls: list[tuple[str, dict]] = []
        client = h.get_conn()
        original = client.request

        def request(method, path, **kwargs):
            self.calls.append((path, dict(kwargs.get("params") or {})))
            return original(method, path, **kwargs)

        client.request = request

    def sections(self, path):
        return [params["section"] for p, params in self.calls if p == path]


# ---- the Classic shape ---------------------------------------------------------------------------

@pytest.mark.parametrize("sync_type,table,spec", [("computers", COMPUTER_FIELDS, SPEC_COMPUTER_FIELDS),
                                                  ("mobiledevices", MOBILE_FIELDS, SPEC_MOBILE_FIELDS)])
def test_every_device_converts_to_the_classic_record_on_every_field(sync_type, table, spec):
    """For each device of a generated inventory, our record from the Jamf Pro API equals the simulator's
    Classic record (what the original synced) on every field of the spec's list and every field we build."""
    state = JamfState(400, 200, seed=21)
    inv = state.inventory
    with SimulatorThread(build_app(state)) as s:
        records = list(hook(account(s, sync_type=sync_type, page_size=100), mappings={}).records())
    store, classic_of = ((inv.computers, inv.classic_computer) if sync_type == "computers"
                         else (inv.mobile_devices, inv.classic_mobile))
    assert sorted(ids(records)) == sorted(store)
    paths = list(dict.fromkeys([*spec, *(f.classic for f in table)]))
    differences = []
    for record in records:
        classic = classic_of(store[record["general"]["id"]])
        for path in paths:
            ours, theirs = get_field_value(record, path), get_field_value(classic, path)
            if ours != theirs or type(ours) is not type(theirs):
                differences.append((record["general"]["id"], path, ours, theirs))
    assert differences == []
    missing = {p for p in spec if get_field_value(classic_of(next(iter(store.values()))), p) is None}
    assert missing == GONE_FROM_CLASSIC & set(spec)
    # the generated data exercises the empty cases too
    assert any(r["general"]["serial_number"] == "" for r in records)
    assert any(r["purchasing"]["po_date_epoch"] == 0 for r in records)
    assert any(r["location"]["department"] for r in records) and any(not r["location"]["username"] for r in records)


# ---- authentication ------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["account", "api_client"])
def test_both_auth_modes_read_every_computer_with_one_token(sim, mode):
    settings = account(sim) if mode == "account" else api_client(sim)
    h = hook(settings)
    assert sorted(ids(h.records())) == sim.state.visible_ids("computers")
    by_path = stats(sim)["by_path"]
    token_path = "/api/v1/auth/token" if mode == "account" else OAUTH
    assert by_path[token_path] == 1 and h.tokens_issued == 1
    assert by_path.get("/api/v1/auth/invalidate-token", 0) == (1 if mode == "account" else 0)


def test_basic_is_never_sent_to_data_calls(sim):
    # The simulator refuses Basic on data calls (Jamf Pro 11.5+); the hook only uses it for the token.
    assert requests.get(sim.url + INVENTORY, auth=(USER, PASSWORD)).status_code == 401
    h = hook(account(sim))
    assert len(list(h.records())) == N_COMPUTERS
    assert isinstance(h.get_conn().auth, TokenAuth) and h._token_client.auth is None


@pytest.mark.parametrize("settings,message", [
    (lambda s: account(s, password="wrong"),
     "refused the account 'admin' (POST /api/v1/auth/token: 401 Unauthorized"),
    (lambda s: api_client(s, client_secret="wrong"),
     "refused the API client 'oomnitza-client' (POST /api/v1/oauth/token: 401 Unauthorized invalid_client)"),
])
def test_refused_credentials_fail_clearly(sim, settings, message):
    with pytest.raises(JamfAuthError) as raised:
        list(hook(settings(sim)).records())
    assert message in str(raised.value) and str(raised.value).startswith("[casper] Jamf Pro at ")
    assert isinstance(raised.value, HttpError) and raised.value.status == 401
    assert stats(sim)["by_path"].get(INVENTORY, 0) == 0


def test_a_missing_privilege_is_a_clear_403():
    state = JamfState(5, 0, accounts={"auditor": {"password": "pw", "privileges": ["Read Mobile Devices"]}})
    with SimulatorThread(build_app(state)) as s:
        with pytest.raises(JamfConfigError) as raised:
            list(hook({"url": s.url, "username": "auditor", "password": "pw"}).records())
    assert str(raised.value) == (
        f"[casper] Jamf Pro at {s.url}, GET /api/v4/computers-inventory: 403 Forbidden: the account 'auditor' "
        "may not read computers (Missing privilege: Read Computers); give it the privilege(s) Read Computers")
    assert raised.value.status == 403


def test_a_short_lived_token_is_renewed_before_it_expires():
    """200 pages of 100 ms, five at a time, outlast the 4 s token; it is renewed ahead of expiry (at
    3.2 s, leaving 0.8 s for calls in flight even on a loaded machine): no data call gets a 401
    (each page is requested exactly once) and every thread moves to the new token."""
    state = JamfState(200, 0, token_lifetime=4.0)
    with SimulatorThread(build_app(state)) as s:
        knobs(s, latency_ms=100)
        h = hook(api_client(s, page_size=1))
        assert sorted(ids(h.records())) == sorted(state.inventory.computers)
        by_path = stats(s)["by_path"]
    assert by_path[INVENTORY] == 200  # no page asked twice: never a 401
    assert h.tokens_issued >= 2 and by_path[OAUTH] == h.tokens_issued


def test_an_expired_token_is_renewed_once_on_401(sim):
    h = hook(account(sim))
    assert h.check().startswith(f"Connected to Jamf Pro {JAMF_PRO_VERSION}")
    jamf(sim, expire_tokens=True)  # Jamf forgets the token before its announced expiry
    assert h.check().startswith("Connected")
    assert h.tokens_issued == 2 and stats(sim)["by_path"]["/api/v1/jamf-pro-version"] == 3  # one 401, retried


def test_a_401_that_persists_after_renewal_fails_clearly(sim):
    knobs(sim, fail_next=2, fail_status=401, fail_path="computers-inventory")
    with pytest.raises(JamfAuthError, match="401 Unauthorized even with a new token for the account 'admin'") as raised:
        list(hook(account(sim)).records())
    assert isinstance(raised.value, HttpError) and raised.value.status == 401


# ---- paging --------------------------------------------------------------------------------------

@pytest.mark.parametrize("sync_type,path,kind", [("computers", INVENTORY, "computers"),
                                                 ("mobiledevices", MOBILE_INVENTORY, "mobile_devices")])
def test_paging_covers_every_device_exactly_once(sim, sync_type, path, kind):
    records = list(hook(account(sim, sync_type=sync_type, page_size=7)).records())
    assert sorted(ids(records)) == sim.state.visible_ids(kind)
    assert len(records) == len(set(ids(records)))
    assert stats(sim)["by_path"][path] == math.ceil(len(records) / 7)


def test_a_server_page_cap_below_page_size_still_gives_every_device():
    state = JamfState(95, 0, max_page_size=10)
    with SimulatorThread(build_app(state)) as s:
        assert sorted(ids(hook(account(s, page_size=40)).records())) == sorted(state.inventory.computers)
        assert stats(s)["by_path"][INVENTORY] == 10


def test_pages_are_fetched_concurrently_never_above_five(sim):
    knobs(sim, latency_ms=50)
    assert len(list(hook(account(sim, page_size=5)).records())) == N_COMPUTERS
    peak = stats(sim)["peak_in_flight"]
    assert peak == 5, peak  # counted: five pages were in flight at once, never six


def test_a_page_failing_once_with_5xx_is_retried(sim):
    knobs(sim, fail_next=1, fail_status=503, fail_path="computers-inventory", fail_retry_after_s=0.05)
    assert sorted(ids(hook(account(sim)).records())) == sim.state.visible_ids("computers")
    st = stats(sim)
    assert st["injected_failures"] == 1 and st["by_path"][INVENTORY] == math.ceil(N_COMPUTERS / 25) + 1


def test_5xx_that_persists_fails_with_the_status(sim, monkeypatch):
    monkeypatch.setattr(JamfHook, "max_attempts", 2)
    knobs(sim, fail_next=5, fail_status=502, fail_path="computers-inventory", fail_retry_after_s=0.01)
    with pytest.raises(JamfError, match="gave up after 2 attempts: 502 Bad Gateway"):
        list(hook(account(sim)).records())


def test_an_empty_inventory_gives_no_records():
    with SimulatorThread(build_app(JamfState(0, 0))) as s:
        assert list(hook(account(s)).records()) == []
        assert list(hook(account(s, sync_type="mobiledevices")).records()) == []
        by_path = stats(s)["by_path"]
    assert by_path[INVENTORY] == 1 and by_path[MOBILE_INVENTORY] == 1


# ---- group_name ----------------------------------------------------------------------------------

@pytest.mark.parametrize("sync_type,groups,name", [("computers", "computer_groups", "Sales & Marketing"),
                                                   ("mobiledevices", "mobile_device_groups", "Field iPads")])
def test_group_name_loads_only_its_members(sim, sync_type, groups, name):
    members = getattr(sim.state.inventory, groups)[name].members
    assert 0 < len(members) < 60
    h = hook(account(sim, sync_type=sync_type, group_name=name))
    assert sorted(ids(h.records())) == sorted(members)


def test_a_large_group_is_asked_for_in_chunks():
    state = JamfState(260, 0, computer_groups={"Everyone": list(range(1, 400))})
    with SimulatorThread(build_app(state)) as s:
        records = list(hook(account(s, group_name="Everyone")).records())
        assert sorted(ids(records)) == sorted(state.inventory.computers)
        assert stats(s)["by_path"][INVENTORY] == 3  # 260 ids, 100 per filtered request


def test_an_unknown_group_is_an_error_naming_it(sim):
    with pytest.raises(JamfConfigError) as raised:
        list(hook(account(sim, group_name="No Such Group")).records())
    assert str(raised.value) == (f"[casper] group_name: Jamf Pro at {sim.url} has no computer group named "
                                 "'No Such Group'")
    with pytest.raises(JamfConfigError, match="has no mobile device group named 'Sales & Marketing'"):
        list(hook(account(sim, sync_type="mobiledevices", group_name="Sales & Marketing")).records())


def test_an_empty_group_gives_no_records(sim):
    assert list(hook(account(sim, group_name="Empty Group")).records()) == []
    assert stats(sim)["by_path"].get(INVENTORY, 0) == 0


# ---- sections ------------------------------------------------------------------------------------

@pytest.mark.parametrize("mappings,sections,names", [
    (SERIAL, ["HARDWARE"], set()),
    ({"NAME": {"source": "general.name"}, "OWNER": {"source": "location.username"}},
     ["GENERAL", "USER_AND_LOCATION"], set()),
    ({"DEPT": {"source": "location.department"}}, ["USER_AND_LOCATION"], {"departments"}),
    ({"CODE": {"source": "", "converter": "casper_extension_attribute:attr=Department Code"}},
     ["EXTENSION_ATTRIBUTES"], set()),
    ({"LOC": {"source": "location"}}, ["USER_AND_LOCATION"], {"departments", "buildings"}),
    ({"X": {"source": "general.serial_number", "converter": "my_own"}}, "all", {"departments", "buildings"}),
])
def test_only_the_sections_the_mappings_read_are_requested(sim, mappings, sections, names):
    h = hook(account(sim), mappings=mappings)
    spy = Spy(h)
    records = list(h.records())
    assert len(records) == N_COMPUTERS
    asked = spy.sections(INVENTORY[1:])
    expected = sorted({f.section for f in COMPUTER_FIELDS if f.section}) if sections == "all" else sections
    assert asked and all(a == expected for a in asked)
    by_path = stats(sim)["by_path"]
    assert {name for name in ("departments", "buildings") if f"/api/v1/{name}" in by_path} == names
    assert ("department" in records[0].get("location", {})) is ("departments" in names)


def test_default_mappings_ask_for_their_sections():
    computers = hook(account_stub(), defaults())
    mobiles = hook({**account_stub(), "sync_type": "mobiledevices"}, defaults("mobiledevices"))
    assert computers.shaper()[1] == ["APPLICATIONS", "GENERAL", "HARDWARE", "OPERATING_SYSTEM", "PURCHASING",
                                     "USER_AND_LOCATION"]
    assert mobiles.shaper()[1] == ["GENERAL", "HARDWARE", "NETWORK", "PURCHASING", "USER_AND_LOCATION"]


def account_stub():
    return {"url": "http://unused.invalid", "username": "u", "password": "p"}


# ---- one device ----------------------------------------------------------------------------------

@pytest.mark.parametrize("sync_type", ["computers", "mobiledevices"])
def test_record_by_id_is_shaped_as_in_records(sim, sync_type):
    mappings = defaults(sync_type)
    every = {r["general"]["id"]: r for r in hook(account(sim, sync_type=sync_type), mappings).records()}
    some = sorted(every)[3]
    h = hook(account(sim, sync_type=sync_type), mappings)
    assert h.record_by_id(str(some)) == every[some]
    assert h.record_by_id("999999") is None
    with pytest.raises(ValueError, match="a Jamf Pro device id is a number, got 'abc'"):
        h.record_by_id("abc")


# ---- connection ----------------------------------------------------------------------------------

def test_connection_test_through_an_airflow_connection(sim, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_JAMF_TEST", json.dumps({
        "conn_type": "jamf", "host": sim.url, "extra": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}}))
    ok, message = JamfHook(jamf_conn_id="jamf_test").test_connection()  # as Airflow builds it for a test
    assert ok, message
    assert message == (f"Connected to Jamf Pro {JAMF_PRO_VERSION}-t1738338460 at {sim.url} as the API client "
                       f"'{CLIENT_ID}'; {N_COMPUTERS} computers (from /api/v4/computers-inventory)")
    # a section's INI settings give way to the connection's
    h = hook(account(sim, url="http://unused.invalid", conn_id="jamf_test"))
    assert h.url == sim.url and len(list(h.records())) == N_COMPUTERS
    monkeypatch.setenv("AIRFLOW_CONN_JAMF_BAD", json.dumps({"conn_type": "jamf", "host": sim.url,
                                                              "login": USER, "password": "nope"}))
    ok, message = JamfHook(jamf_conn_id="jamf_bad").test_connection()
    assert not ok and "refused the account 'admin'" in message


# ---- settings ------------------------------------------------------------------------------------

def load(tmp_path, body, section="casper"):
    path = tmp_path / "config.ini"
    path.write_text("[oomnitza]\nurl = https://example.oomnitza.com\napi_token = t\n\n"
                    f"[{section}]\nenable = yes\nsync_field = SERIAL_NUMBER\n" + body)
    config = load_config(path)
    return config.sections[section], [str(i).replace(str(path), "FILE") for i in config.sections[section].issues]


def test_settings_need_an_account_or_an_api_client_or_a_connection(tmp_path):
    _, issues = load(tmp_path, "")
    assert issues == ["FILE:5: [casper] username: missing required setting (e.g. username@example.com)",
                      "FILE:5: [casper] password: missing required setting (e.g. change-me)"]
    _, issues = load(tmp_path, "username = auditor\n")
    assert issues == ["FILE:5: [casper] password: missing required setting (e.g. change-me)"]
    _, issues = load(tmp_path, "client_id = abc\n")
    assert issues == ["FILE:5: [casper] client_secret: missing: set the API client's secret (client_id is set), or "
                      "use username and password instead of client_id"]
    _, issues = load(tmp_path, "client_secret = s3cret\n")
    assert issues == ["FILE:5: [casper] username: missing required setting (e.g. username@example.com)",
                      "FILE:5: [casper] password: missing required setting (e.g. change-me)"]
    _, issues = load(tmp_path, "client_secret = s3cret\nusername = u\npassword = p\n")
    assert issues == ["FILE:5: [casper] client_id: missing: client_secret is set, so set the API client's "
                      "client_id too"]
    for body in ("client_id = abc\nclient_secret = s\n", "username = u\npassword = p\n", "conn_id = jamf_default\n",
                 "client_id = abc\nvault_keys = client_secret\nvault_backend = vault\n",
                 "username = u\nvault_keys = password\nvault_backend = vault\n"):
        section, issues = load(tmp_path, body)
        assert section.ok, (body, issues)  # vault_keys' placeholder stands in for the secret until run time
    section, issues = load(tmp_path, "username = u\npassword = p\nclient_id = c\nclient_secret = s\n")
    assert issues == ["FILE:8: [casper] username: both an API client and a username are set; the API client is used"]


def test_settings_url_page_size_and_sync_type(tmp_path):
    section, issues = load(tmp_path, "username = u\npassword = p\nurl = https://acme.jamfcloud.com/\n")
    assert issues == ["FILE:10: [casper] url: ends with '/'; it is removed (https://acme.jamfcloud.com)"]
    assert section.ok
    _, issues = load(tmp_path, "username = u\npassword = p\nurl = acme.jamfcloud.com\npage_size = 5000\n"
                               "sync_type = phones\n")
    assert issues == ["FILE:12: [casper] sync_type: expected 'computers' or 'mobiledevices'"]
    _, issues = load(tmp_path, "username = u\npassword = p\nurl = acme.jamfcloud.com\npage_size = 5000\n")
    assert issues == ["FILE:11: [casper] page_size: expected a whole number from 1 to 2000, got 5000",
                      "FILE:10: [casper] url: expected the Jamf Pro URL starting with https://, got "
                      "'acme.jamfcloud.com'"]


def test_casper_mdm_section_uses_the_mobile_mappings_name_and_defaults(tmp_path):
    section, issues = load(tmp_path, "username = u\npassword = p\nsync_type = mobiledevices\nuse_server_map = no\n"
                                     'mapping.MODEL = {"source": "general.model_identifier"}\n'
                                     'mapping.LAST_SEEN = {"source": "general.last_enrollment_utc"}\n',
                           section="casper.MDM")
    assert section.ok, issues
    assert section.mapping_name == "Casper.MDM" and section.source.hook.endswith("hooks.jamf.JamfHook")
    mappings = section.effective_mappings().mappings
    assert mappings["MODEL"] == {"source": "general.model_identifier"}  # the INI wins
    assert mappings["IMEI__MEID"] == {"source": "network.imei"} and "APPLICATIONS" not in mappings
    # merged key by key: the INI's source, the default's converter
    assert mappings["LAST_SEEN"] == {"source": "general.last_enrollment_utc", "converter": "date_format"}
    computers, _ = load(tmp_path, "username = u\npassword = p\nuse_server_map = no\n")
    assert computers.effective_mappings().mappings["LAST_SEEN"] == {"source": "general.last_contact_time",
                                                                    "converter": "date_format"}
    assert mappings["WARRANTY_END_DATE"] == {"source": "purchasing.warranty_expires", "converter": "date_format"}
    assert mappings["SERIAL_NUMBER"] == {"source": "general.serial_number", "required": True}


def test_default_mappings_can_be_turned_off(tmp_path):
    section, _ = load(tmp_path, "username = u\npassword = p\nuse_default_mappings = no\nuse_server_map = no\n"
                                'mapping.SERIAL_NUMBER = {"source": "general.serial_number"}\n')
    assert set(section.effective_mappings().mappings) == {"SERIAL_NUMBER", "APPLICATIONS"}
    section, _ = load(tmp_path, "username = u\npassword = p\nuse_server_map = no\n")
    assert set(section.effective_mappings().mappings) == {
        "SERIAL_NUMBER", "DEVICE_NAME", "MODEL", "MANUFACTURER", "OPERATING_SYSTEM", "OS_VERSION", "MAC_ADDRESS",
        "IP_ADDRESS", "ASSIGNED_TO", "BARCODE", "PURCHASE_DATE", "PO_NUMBER", "PURCHASE_PRICE", "VENDOR",
        "WARRANTY_END_DATE", "LAST_SEEN", "APPLICATIONS"}


# ---- Jamf Pro versions -----------------------------------------------------------------------------

@pytest.mark.parametrize("version,inventory,oauth,probes", [
    (JAMF_PRO_VERSION, "/api/v4/computers-inventory", "/api/v1/oauth/token", {}),
    ("11.25.0", "/api/v3/computers-inventory", "/api/v1/oauth/token", {"/api/v4/computers-inventory": 1}),
    (OLD_JAMF_PRO_VERSION, "/api/v1/computers-inventory", "/api/oauth/token",
     {"/api/v4/computers-inventory": 1, "/api/v3/computers-inventory": 1, "/api/v1/oauth/token": 1}),
])
def test_the_newest_inventory_and_token_paths_the_server_has_are_used(version, inventory, oauth, probes, capfd):
    """Against a current and older Jamf Pro versions: the endpoint is found once per run (one 404 per
    version the server lacks, never again for later pages) and logged."""
    state = JamfState(60, 0, version=version)
    with SimulatorThread(build_app(state)) as s:
        h = hook(api_client(s, page_size=10))
        assert sorted(ids(h.records())) == sorted(state.inventory.computers)
        by_path = stats(s)["by_path"]
    assert by_path[inventory] == 6 and by_path[oauth] == 1
    assert {p: by_path[p] for p in probes} == probes  # each missing endpoint asked once
    assert capfd.readouterr().out.count(f"computers from {inventory}") == 1


def test_a_record_by_id_uses_the_inventory_endpoint_found():
    state = JamfState(20, 0, version=OLD_JAMF_PRO_VERSION)
    with SimulatorThread(build_app(state)) as s:
        h = hook(account(s))
        first, second = sorted(state.inventory.computers)[:2]
        assert h.record_by_id(str(first))["general"]["id"] == first
        assert h.record_by_id(str(second))["general"]["id"] == second
        by_path = stats(s)["by_path"]
    assert by_path["/api/v4/computers-inventory"] == 1 and by_path["/api/v1/computers-inventory"] == 2


# ---- mobile devices: extension attributes and security ----------------------------------------------

def test_mobile_extension_attributes_and_security_are_read_in_the_mobile_shape(sim):
    """Jamf's mobile EAs are ``{id, name, type, value: [...]}`` (not the computers' shape); every value
    arrives, and the security section carries Jamf's passcode, encryption, jailbreak and lost-mode fields."""
    mappings = {"OWNER": {"converter": "casper_extension_attribute:attr=Asset Owner"},
                "ENCRYPTION": {"source": "security.hardware_encryption"},
                "JAILBREAK": {"source": "security.jailbreak_detected"},
                "LOST": {"source": "security.lost_mode_enabled"}}
    records = {r["general"]["id"]: r for r in hook(account(sim, sync_type="mobiledevices"), mappings).records()}
    inv = sim.state.inventory
    expected_eas = {mid: inv.classic_mobile(m)["extension_attributes"] for mid, m in inv.mobile_devices.items()}
    assert {mid: r["extension_attributes"] for mid, r in records.items()} == expected_eas
    assert any(ea["value"] for eas in expected_eas.values() for ea in eas)  # values, not all empty
    some = next(r for r in records.values() if r["extension_attributes"])
    classic_security = inv.classic_mobile(inv.mobile_devices[some["general"]["id"]])["security"]
    assert some["security"] == classic_security  # every field of the Classic security subset
    assert {"passcode_compliant", "hardware_encryption", "jailbreak_detected", "lost_mode_enabled",
            "lost_location_altitude"} <= set(some["security"])
