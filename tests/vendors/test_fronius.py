"""The Fronius push parsers on every fixture body (a hand-checked reading each) and on every bad body."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.liveone.vendors.fronius import (
    BRIDGE,
    SOLAR_API,
    BadPush,
    api_key_matches,
    basic_credentials,
    basic_matches,
    body_format,
    fault_code,
    parse_bridge,
    parse_epoch_or_iso,
    parse_solar_api,
    parse_time,
    redacted,
    running_totals,
    totals_of,
)
from custom_components.liveone.vendors.model import Reading

FIXTURES = Path(__file__).parent.parent / "fixtures" / "fronius"
KEY = "fronius-site-7f3a"


def load(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return body


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# ---- the fixtures, each with its reading written out by hand ---------------------------------------------


def test_bridge_store_body() -> None:
    push = parse_bridge(load("push-store.json"))
    assert (push.format, push.action, push.sequence, push.fault_text) == (BRIDGE, "store", "a41c/118", None)
    assert push.reading == Reading(
        inverter_time=1758434400,  # 2025-09-21T06:00:00Z
        solar_w=2500,
        shunt_w=1500,  # solarLocalW: the local shunt/CT
        solar_inverter_w=1000,  # solarRemoteW: the remote inverter
        load_w=1800,
        battery_w=-700,  # charging (batteryInWhInterval 35)
        grid_w=0,
        battery_soc=85.5,
        solar_wh_interval=125,
        load_wh_interval=90,
        battery_in_wh_interval=35,
        battery_out_wh_interval=0,
        grid_in_wh_interval=0,
        grid_out_wh_interval=0,
    )


def test_bridge_fault_body_keeps_the_text_and_stores_the_number() -> None:
    push = parse_bridge(load("push-store-fault.json"))
    assert push.fault_text == "E102"
    assert push.reading == Reading(
        inverter_time=1758434460,  # 06:01:00Z
        solar_w=2350,
        load_w=2050,
        battery_w=150,  # discharging (batteryOutWhInterval 3)
        grid_w=0,
        battery_soc=85.4,
        fault_code=102,
        fault_timestamp=1758433530,  # 2025-09-21T05:45:30Z, sent as ISO text
        solar_wh_interval=39,
        load_wh_interval=34,
        battery_in_wh_interval=0,
        battery_out_wh_interval=3,
        grid_in_wh_interval=0,
        grid_out_wh_interval=0,
    )


def test_bridge_test_body_stores_nothing() -> None:
    body = load("push-test.json")
    assert body_format(body) == BRIDGE
    push = parse_bridge(body)
    assert (push.action, push.reading) == ("test", None)
    assert redacted(body) == {"action": "test"}


def test_solar_api_gen24_with_storage() -> None:
    body = load("solarapi-powerflow-gen24-storage.json")
    assert body_format(body) == SOLAR_API
    push = parse_solar_api(body)
    assert (push.format, push.action, push.fault_text) == (SOLAR_API, "store", None)
    assert push.reading == Reading(
        inverter_time=1638105140,  # 2021-11-28T13:12:20+00:00
        solar_w=pytest.approx(216.43276786804199),
        load_w=pytest.approx(2459.3092254638673),  # P_Load -2459.3: consumption
        battery_w=pytest.approx(0.15907810628414154),  # P_Akku positive: discharging
        grid_w=pytest.approx(2274.9),  # P_Grid positive: import
        battery_soc=pytest.approx(4.6),
        solar_kwh_total=pytest.approx(7512.6644041666668),  # E_Total Wh / 1000
    )
    normal = push.reading.normalized()
    assert (normal.solar_w, normal.load_w, normal.battery_w, normal.grid_w) == (216, 2459, 0, 2275)
    assert (normal.battery_soc, normal.solar_kwh_total) == (4.6, 7512.664)


def test_solar_api_symo_without_battery() -> None:
    push = parse_solar_api(load("solarapi-powerflow-symo.json"))
    assert push.reading == Reading(
        inverter_time=1633593643,  # 2021-10-07T10:00:43+02:00
        solar_w=1111,
        load_w=pytest.approx(2814.74),
        battery_w=None,  # P_Akku null: no battery
        grid_w=pytest.approx(1703.74),
        battery_soc=None,  # no inverter reports a SOC
        solar_kwh_total=44188.0,
    )


def test_push_service_layout_without_data_level() -> None:
    body = load("pushservice-powerflow-gen24-storage.json")
    assert body_format(body) == SOLAR_API
    push = parse_solar_api(body)
    assert push.reading is not None
    assert push.reading.inverter_time == 1638105200
    assert push.reading.normalized() == Reading(
        inverter_time=1638105200,
        solar_w=216,
        load_w=2459,
        battery_w=0,
        grid_w=2275,
        battery_soc=4.6,
        solar_kwh_total=7512.664,
    )


def test_a_document_without_status_or_inverters() -> None:
    body = load("solarapi-powerflow-symo.json")
    del body["Head"]["Status"]
    del body["Body"]["Data"]["Inverters"]
    push = parse_solar_api(body)
    assert push.reading is not None
    assert (push.reading.solar_w, push.reading.battery_soc) == (1111, None)


def test_soc_is_the_mean_of_the_inverters() -> None:
    body = load("solarapi-powerflow-gen24-storage.json")
    body["Body"]["Data"]["Inverters"]["2"] = {"SOC": 50.0}
    body["Body"]["Data"]["Inverters"]["3"] = {"SOC": None}
    push = parse_solar_api(body)
    assert push.reading is not None
    assert push.reading.battery_soc == pytest.approx((4.6 + 50.0) / 2)


# ---- authentication ------------------------------------------------------------------------------------


def test_api_key() -> None:
    assert api_key_matches({"apiKey": KEY}, KEY)
    assert not api_key_matches({"apiKey": KEY + "x"}, KEY)
    assert not api_key_matches({"apiKey": "fronius-site-7f3b"}, KEY)
    assert not api_key_matches({}, KEY)
    assert not api_key_matches({"apiKey": 123}, KEY)
    assert not api_key_matches({"apiKey": ""}, "")  # no secret: nothing matches
    assert api_key_matches({"apiKey": "ключ"}, "ключ")  # any text compares


def test_basic_credentials() -> None:
    assert basic_credentials(basic("dm", "p:w")) == ("dm", "p:w")
    assert basic_credentials("basic " + base64.b64encode(b"dm:pw").decode()) == ("dm", "pw")
    assert basic_credentials(None) is None
    assert basic_credentials("Bearer abc") is None
    assert basic_credentials("Basic") is None
    assert basic_credentials("Basic !!!") is None
    assert basic_credentials("Basic " + base64.b64encode(b"no colon").decode()) is None
    assert basic_credentials("Basic " + base64.b64encode(b"\xff:\xfe").decode()) is None
    assert basic_matches(basic("dm", "pw"), "dm", "pw")
    assert not basic_matches(basic("dm", "wrong"), "dm", "pw")
    assert not basic_matches(basic("other", "pw"), "dm", "pw")
    assert not basic_matches(None, "dm", "pw")
    assert not basic_matches(basic("", ""), None, None)  # none set: never


# ---- bad bodies: each names its field -----------------------------------------------------------------


def _bridge(**changes: Any) -> dict[str, Any]:
    body = load("push-store.json")
    for key, value in changes.items():
        if value is ...:
            del body[key]
        else:
            body[key] = value
    return body


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"action": ...}, "action", "missing"),
        ({"action": "save"}, "action", "expected 'test' or 'store'"),
        ({"action": 1}, "action", "expected 'test' or 'store'"),
        ({"timestamp": ...}, "timestamp", "missing"),
        ({"timestamp": 1758434400}, "timestamp", "expected an ISO 8601 time, got a number"),
        ({"timestamp": "yesterday"}, "timestamp", "not an ISO 8601 time"),
        ({"timestamp": ""}, "timestamp", "not an ISO 8601 time"),
        ({"sequence": ...}, "sequence", "missing"),
        ({"sequence": True}, "sequence", "got a boolean"),
        ({"sequence": [1]}, "sequence", "got a list"),
        ({"solarW": "2500"}, "solarW", "expected a number, got a string"),
        ({"loadW": True}, "loadW", "expected a number, got a boolean"),
        ({"gridW": {"v": 1}}, "gridW", "got an object"),
        ({"batteryW": float("nan")}, "batteryW", "not a finite number"),
        ({"solarWhInterval": float("inf")}, "solarWhInterval", "not a finite number"),
        ({"batterySOC": 101}, "batterySOC", "outside 0 .. 100"),
        ({"solarW": 2e9}, "solarW", "outside"),
        ({"solarW": 10**400}, "solarW", "outside"),  # a JSON integer too large for a float
        ({"faultTimestamp": 10**400}, "faultTimestamp", "outside"),
        ({"faultCode": 10**400}, "faultCode", "outside"),
        ({"faultCode": 1.5}, "faultCode", "not a whole number"),
        ({"faultCode": "E" + "9" * 12}, "faultCode", "too large"),
        ({"faultCode": "E" * 65}, "faultCode", "longer than 64"),
        ({"faultCode": True}, "faultCode", "got a boolean"),
        ({"faultTimestamp": "soon"}, "faultTimestamp", "not an ISO 8601 time"),
        ({"faultTimestamp": -5}, "faultTimestamp", "before 1970"),
        ({"faultTimestamp": False}, "faultTimestamp", "got a boolean"),
        ({"generatorStatus": 0.5}, "generatorStatus", "not a whole number"),
        ({"generatorStatus": "on"}, "generatorStatus", "got a string"),
    ],
)
def test_bad_bridge_bodies_name_their_field(changes: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(BadPush, match=message) as caught:
        parse_bridge(_bridge(**changes))
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def _solar(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    body = load("solarapi-powerflow-gen24-storage.json")
    target = body
    for key in path[:-1]:
        target = target[key]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return body


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        (("Head", "Timestamp"), ..., "Head.Timestamp", "missing"),
        (("Head", "Timestamp"), "2021-13-01T00:00:00", "Head.Timestamp", "not an ISO 8601 time"),
        (("Head", "Status", "Code"), 8, "Head.Status.Code", "reports an error"),
        (("Body",), [], "Body", "expected an object, got a list"),
        (("Body", "Data"), "x", "Body.Data", "expected an object"),
        (("Body", "Data", "Site"), ..., "Body.Data.Site", "missing"),
        (("Body", "Data", "Site"), None, "Body.Data.Site", "got null"),
        (("Body", "Data", "Site", "P_PV"), "216", "Body.Data.Site.P_PV", "got a string"),
        (("Body", "Data", "Site", "P_Grid"), float("nan"), "Body.Data.Site.P_Grid", "not a finite"),
        (("Body", "Data", "Site", "P_Load"), float("-inf"), "Body.Data.Site.P_Load", "not a finite"),
        (("Body", "Data", "Site", "P_Akku"), True, "Body.Data.Site.P_Akku", "got a boolean"),
        (("Body", "Data", "Site", "E_Total"), -1, "Body.Data.Site.E_Total", "outside"),
        (("Body", "Data", "Site", "E_Total"), 10**400, "Body.Data.Site.E_Total", "outside"),
        (("Body", "Data", "Inverters"), [], "Body.Data.Inverters", "expected an object"),
        (("Body", "Data", "Inverters", "1"), 5, "Body.Data.Inverters.1", "expected an object"),
        (("Body", "Data", "Inverters", "1", "SOC"), 120, "Body.Data.Inverters.1.SOC", "outside 0 .. 100"),
    ],
)
def test_bad_solar_api_bodies_name_their_field(
    path: tuple[str, ...], value: Any, field: str, message: str
) -> None:
    with pytest.raises(BadPush, match=message) as caught:
        parse_solar_api(_solar(path, value))
    assert caught.value.field == field


def test_solar_api_without_a_data_level_names_the_path_it_read() -> None:
    body = load("pushservice-powerflow-gen24-storage.json")
    body["Body"]["Site"]["P_PV"] = "x"
    with pytest.raises(BadPush) as caught:
        parse_solar_api(body)
    assert caught.value.field == "Body.Site.P_PV"


def test_a_body_that_is_not_an_object() -> None:
    for body in ([], "text", 3, None):
        with pytest.raises(BadPush, match="expected a JSON object") as caught:
            body_format(body)
        assert caught.value.field == "body"
    assert body_format({}) == BRIDGE  # judged by the bridge's checks (missing action)
    assert body_format({"Head": {}, "Body": {}, "action": "store"}) == BRIDGE


# ---- times, faults, totals ------------------------------------------------------------------------------


def test_times() -> None:
    assert parse_time("2025-09-21T06:00:00.000Z", "t") == 1758434400
    assert parse_time("2025-09-21T06:00:00.999z", "t") == 1758434400  # a fraction is dropped
    assert parse_time("2025-09-21T16:00:00+10:00", "t") == 1758434400
    # No offset: the system's standard local time.
    assert parse_time("2025-09-21T16:00:00", "t", tz_offset_min=600) == 1758434400
    assert parse_epoch_or_iso(None, "f") is None
    assert parse_epoch_or_iso(1758433530, "f") == 1758433530  # seconds
    assert parse_epoch_or_iso(1758433530123, "f") == 1758433530  # milliseconds
    assert parse_epoch_or_iso(1758433530.9, "f") == 1758433530
    assert parse_epoch_or_iso("2025-09-21T05:45:30.000Z", "f") == 1758433530


def test_fault_codes() -> None:
    assert fault_code(None) == (None, None)
    assert fault_code("") == (None, None)
    assert fault_code("E102") == (102, "E102")
    assert fault_code(" 567 ") == (567, "567")
    assert fault_code("OK") == (None, "OK")
    assert fault_code(7) == (7, "7")
    assert fault_code(7.0) == (7, "7")


def test_bridge_fault_timestamp_as_epoch_milliseconds() -> None:
    push = parse_bridge(_bridge(faultCode=5, faultTimestamp=1758433530000, generatorStatus=1))
    assert push.reading is not None
    assert (push.reading.fault_code, push.reading.fault_timestamp, push.reading.generator_status) == (
        5,
        1758433530,
        1,
    )
    assert push.fault_text == "5"
    assert parse_bridge(_bridge(sequence=118)).sequence == "118"


def test_running_totals_add_the_interval_energies() -> None:
    first = parse_bridge(load("push-store.json")).reading
    second = parse_bridge(load("push-store-fault.json")).reading
    assert first is not None
    assert second is not None
    one, totals = running_totals(first, {})
    assert (one.solar_kwh_total, one.load_kwh_total, one.battery_in_kwh_total) == (0.125, 0.09, 0.035)
    assert (one.battery_out_kwh_total, one.grid_in_kwh_total, one.grid_out_kwh_total) == (0.0, 0.0, 0.0)
    two, totals = running_totals(second, totals)
    assert (two.solar_kwh_total, two.load_kwh_total, two.battery_in_kwh_total) == (0.164, 0.124, 0.035)
    assert two.battery_out_kwh_total == 0.003
    assert totals_of(two) == totals

    # A flow the reading has no energy for gets no total; its total stays; a sent total is kept.
    partial = Reading(inverter_time=1758434520, solar_wh_interval=-4, load_kwh_total=9.0, load_wh_interval=5)
    three, after = running_totals(partial, totals)
    assert (three.solar_kwh_total, three.load_kwh_total, three.grid_in_kwh_total) == (0.164, 9.0, None)
    assert after["grid_in"] == totals["grid_in"]
    assert totals_of(Reading(inverter_time=1)) == {}
