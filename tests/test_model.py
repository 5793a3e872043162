"""The common Reading model and its rounding rules."""

from __future__ import annotations

import math

import pytest

from custom_components.liveone.vendors.model import (
    RateLimited,
    Reading,
    check_readings,
    round_half_away,
    round_int,
    round_opt,
    time_problem,
)


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        (0.5, 0, 1.0),
        (1.5, 0, 2.0),
        (2.5, 0, 3.0),  # Python's round() would give 2
        (-2.5, 0, -3.0),  # away from zero
        (2.675, 2, 2.68),  # the decimal the user sees, not its binary neighbour
        (-0.04, 1, 0.0),
        (924.8625, 3, 924.863),
    ],
)
def test_round_half_away_from_zero(value: float, digits: int, expected: float) -> None:
    assert round_half_away(value, digits) == expected


def test_negative_zero_becomes_zero() -> None:
    result = round_half_away(-0.0001, 2)
    assert result == 0.0
    assert math.copysign(1.0, result) == 1.0


def test_optional_helpers() -> None:
    assert round_int(None) is None
    assert round_int(-1080.50537109375) == -1081
    assert round_opt(None, 1) is None
    assert round_opt(26.95, 1) == 27.0


def test_normalized_reading_has_store_precision() -> None:
    raw = Reading(
        inverter_time=1755404378,
        solar_w=1358.36181640625,
        battery_w=-1080.50537109375,
        battery_soc=27.0,
        solar_kwh_total=924.8618888,
        solar_wh_interval=12.5,
    )
    norm = raw.normalized()
    assert (norm.solar_w, norm.battery_w, norm.battery_soc, norm.solar_kwh_total) == (
        1358,
        -1081,
        27.0,
        924.862,
    )
    assert norm.solar_wh_interval == 12.5  # pushed energies are kept as sent
    assert norm.load_w is None  # not sent stays None, never 0
    assert Reading.from_row({**norm.as_row(), "system_id": 1}) == norm


def test_rate_limited_keeps_retry_after() -> None:
    err = RateLimited("slow down", retry_after=30)
    assert (str(err), err.retry_after) == ("slow down", 30)
    assert RateLimited("quota").retry_after is None


def test_fast_rounding_agrees_with_decimal_rounding() -> None:
    """The fast path gives exactly what decimal half-away-from-zero rounding of the written value gives."""
    from decimal import ROUND_HALF_UP, Decimal
    import random

    rng = random.Random(7)
    values = [rng.uniform(-5000, 5000) for _ in range(20000)]
    values += [k / 1000 for k in range(-3000, 3000)] + [k / 20 for k in range(-400, 400)]
    values += [1e-7, -1e-7, 1e20, 123456789.0005, 0.05, -0.05, 0.45, 2.5e-5]
    for digits in (0, 1, 3):
        quantum = Decimal(1).scaleb(-digits)
        for value in values:
            expected = float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP)) + 0.0
            assert round_half_away(value, digits) == expected, (value, digits)


# ------------------------------------------------------------------------------------------------
# What the store keeps of a reading (issue 16)

T = 1_755_404_378


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("solar_w", math.nan, "not a finite number"),
        ("grid_w", -math.inf, "not a finite number"),
        ("load_w", 1e300, "outside -1e+09 .. 1e+09"),
        ("battery_w", -1_000_000_001, "outside -1e+09 .. 1e+09"),
        ("battery_soc", -0.1, "outside 0 .. 100"),
        ("battery_soc", 100.5, "outside 0 .. 100"),
        ("solar_kwh_total", -0.001, "outside 0 .. 1e+12"),
        ("grid_out_kwh_total", 1e13, "outside 0 .. 1e+12"),
        ("solar_wh_interval", 3e10, "outside"),
        ("fault_code", 2**31, "outside"),
        ("fault_timestamp", 2**63, "outside"),
        ("generator_status", 1.5, "not a whole number"),
        ("solar_w", "12", "not a number"),
        ("load_w", True, "not a number"),
    ],
)
def test_value_the_store_cannot_keep_becomes_none_and_the_rest_is_kept(
    field: str, value: object, reason: str
) -> None:
    values: dict[str, object] = {"solar_w": 100.4, "load_w": 250, "battery_soc": 55.55, field: value}
    raw = Reading(inverter_time=T, **values)  # type: ignore[arg-type]
    kept, problems = raw.checked()
    assert getattr(kept, field) is None
    assert len(problems) == 1
    assert problems[0].startswith(f"{field}=")
    assert reason in problems[0]
    others = {"solar_w": 100, "load_w": 250, "battery_soc": 55.6}
    for name, expected in others.items():
        if name != field:
            assert getattr(kept, name) == expected
    assert raw.normalized() == kept


def test_limits_themselves_are_kept() -> None:
    raw = Reading(
        inverter_time=T,
        solar_w=1e9,
        battery_w=-1e9,
        battery_soc=0.0,
        load_kwh_total=0.0,
        fault_code=-(2**31),
        fault_timestamp=2**63 - 1,
        generator_status=3.0,  # type: ignore[arg-type]
        grid_in_wh_interval=-5.0,  # a negative pushed energy is kept; the aggregation counts it as 0
    )
    kept, problems = raw.checked()
    assert problems == ()
    assert (kept.solar_w, kept.battery_w, kept.battery_soc, kept.load_kwh_total) == (
        10**9,
        -(10**9),
        0.0,
        0.0,
    )
    assert (kept.fault_code, kept.fault_timestamp, kept.generator_status) == (-(2**31), 2**63 - 1, 3)
    assert kept.grid_in_wh_interval == -5.0


@pytest.mark.parametrize(
    ("inverter_time", "reason"),
    [
        (946_684_799, "before 2000-01-01"),
        (-1, "before 2000-01-01"),
        (T * 1000, "more than a day after it was received (milliseconds?)"),
        (T + 86_401, "more than a day after it was received"),
        (math.nan, "not a finite number"),
        (float(T) + 0.5, "not a whole number of seconds"),
        ("1755404378", "not a number"),
    ],
)
def test_implausible_times_are_refused(inverter_time: object, reason: str) -> None:
    problem = time_problem(inverter_time, T)
    assert problem is not None
    assert problem.startswith("inverter_time=")
    assert reason in problem


@pytest.mark.parametrize("inverter_time", [946_684_800, T, T + 86_400, float(T)])
def test_plausible_times_are_accepted(inverter_time: float) -> None:
    assert time_problem(inverter_time, T) is None


def test_check_readings_keeps_the_good_part_of_a_batch() -> None:
    batch = [
        Reading(inverter_time=T, solar_w=1.4),
        Reading(inverter_time=T * 1000, solar_w=2.0),  # milliseconds: refused
        Reading(inverter_time=float(T + 60), solar_w=math.nan, load_w=7.0),  # type: ignore[arg-type]
    ]
    checked = check_readings(batch, received_time=T + 90)
    assert checked.readings == [
        Reading(inverter_time=T, solar_w=1),
        Reading(inverter_time=T + 60, load_w=7),
    ]
    assert type(checked.readings[1].inverter_time) is int
    assert checked.problems == [
        f"reading refused: inverter_time={T * 1000}: more than a day after it was received (milliseconds?)",
        f"at {T + 60} dropped solar_w=nan: not a finite number",
    ]
