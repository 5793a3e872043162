"""The common Reading model and its rounding rules."""

from __future__ import annotations

import math
from typing import Any, Final

from hypothesis import HealthCheck, example, given, settings, strategies as st
import pytest

from custom_components.liveone.vendors.model import (
    COLUMNS_FROM,
    READING_FIELDS,
    VALUE_LIMITS,
    RateLimited,
    Reading,
    _at_precision,
    _check_batch,
    check_columns,
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


# --------------------------------------------------------------------------------------------------
# The column-by-column check (check_columns) against the per-reading one (check_readings)


class _Count(int):
    """An int subclass (an enum-like value a vendor library might hand over)."""


_NASTY: Final = st.sampled_from(
    [
        math.nan,
        math.inf,
        -math.inf,
        True,
        False,
        "12",
        b"1",
        2**70,
        -(2**70),
        10**400,
        1e300,
        -1e300,
        _Count(3),
        [],
    ]
)


def _good(name: str) -> st.SearchStrategy[Any]:
    """Values the field keeps, at its precision (what a backfill mostly carries)."""
    if name.endswith("_w"):
        return st.integers(-5000, 20000)
    if name == "battery_soc":
        return st.integers(1, 1000).map(lambda k: k / 10)
    if name in {"fault_code", "fault_timestamp", "generator_status"}:
        return st.integers(0, 2**31 - 1)
    if name.endswith("_kwh_total"):
        return st.integers(1, 10**9).map(lambda k: k / 1000)
    return st.floats(-1e4, 1e4, allow_nan=False)  # pushed Wh: kept as sent


def _any(name: str) -> st.SearchStrategy[Any]:
    """Values of every kind the check may meet for the field: good, needing rounding, and bad."""
    low, high = VALUE_LIMITS[name]
    return st.one_of(
        _good(name),
        st.none(),
        st.floats(
            float(low), float(high), allow_nan=False
        ),  # needing rounding (or a whole float in an int column)
        st.integers(int(max(low, -(2**63))), int(min(high, 2**63 - 1))),  # ints in any column
        st.sampled_from([-0.0, 0.0, 0.5, -0.5, 2.5, 2.675, 26.95, 55.55, 924.8625, 1.0005, 3.0, low, high]),
        st.floats(allow_nan=True, allow_infinity=True),  # mostly out of range
        _NASTY,
    )


@st.composite
def _column(draw: st.DrawFn, name: str, size: int, *, good: bool = False) -> list[Any]:
    """A column of ``size`` values: all good (the fast path), good with gaps, all absent, or anything."""
    kind = draw(st.sampled_from(["good", "gaps", "none", "zeros", *([] if good else ["any"])]))
    if kind == "none":
        return [None] * size
    if kind == "zeros":  # a counter at 0 (0.0 or -0.0) for a while, then rising
        zero = draw(st.sampled_from([0.0, -0.0, 0]))
        return [zero] * (size // 2) + draw(
            st.lists(_good(name), min_size=size - size // 2, max_size=size - size // 2)
        )
    values = (
        _good(name) if kind == "good" else st.one_of(_good(name), st.none()) if kind == "gaps" else _any(name)
    )
    return draw(st.lists(values, min_size=size, max_size=size))


@st.composite
def _times(draw: st.DrawFn, size: int, *, good: bool = False) -> list[Any]:
    """Reading times: a minute apart (with repeats and disorder), sometimes with implausible ones."""
    start = draw(st.integers(T - 10 * 86_400, T))
    times: list[Any] = [start + 60 * n for n in range(size)]
    if draw(st.booleans()):
        times = draw(st.permutations(times))
    if size and not good and draw(st.booleans()):
        for _ in range(draw(st.integers(1, 3))):
            index = draw(st.integers(0, size - 1))
            times[index] = draw(
                st.one_of(
                    st.sampled_from(times),  # a repeat
                    st.sampled_from(
                        [
                            float(start),
                            start + 0.5,
                            start * 1000,
                            946_684_799,
                            T + 2 * 86_400,
                            math.nan,
                            "x",
                            True,
                        ]
                    ),
                )
            )
    return times


@st.composite
def _batches(draw: st.DrawFn, min_size: int = 0, *, good: bool = False) -> list[Reading]:
    size = draw(st.integers(min_size, 24))
    columns = {name: draw(_column(name, size, good=good)) for name in READING_FIELDS[1:]}
    times = draw(_times(size, good=good))
    return [
        Reading(inverter_time=times[row], **{name: values[row] for name, values in columns.items()})
        for row in range(size)
    ]


def _exactly(readings: list[Reading]) -> list[list[tuple[type, str]]]:
    """Every value of every reading with its type and text: 1 == 1.0 and 0.0 == -0.0, but not here."""
    return [
        [(type(value), repr(value)) for value in (getattr(r, name) for name in READING_FIELDS)]
        for r in readings
    ]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=_batches())
def test_column_check_is_the_per_reading_check(batch: list[Reading]) -> None:
    """The same kept values (types and signs too), the same problems in the same order, the same refusals."""
    expected = check_readings(batch, received_time=T)
    for checked in (_check_batch(batch, T), check_columns(batch, T)):
        assert _exactly(checked.readings()) == _exactly(expected.readings)
        assert checked.problems == expected.problems
        assert len(checked) == len(expected.readings)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=_batches(min_size=COLUMNS_FROM, good=True))
def test_column_check_of_a_good_batch_drops_nothing(batch: list[Reading]) -> None:
    """A plain good batch (the fast path's case) goes through whole, as the per-reading check keeps it."""
    for candidate in (batch, [Reading(inverter_time=r.inverter_time) for r in batch]):
        expected = check_readings(candidate, received_time=T)
        checked = check_columns(candidate, T)
        assert _exactly(checked.readings()) == _exactly(expected.readings)
        assert checked.problems == expected.problems == []
        assert len(checked) == len(candidate)


@example(digits=3, value=2.675)
@example(digits=1, value=26.95)
@example(digits=3, value=1e12)
@given(digits=st.sampled_from([1, 3]), value=st.floats(0, 1e12))
def test_precision_test_is_rounds_test(digits: int, value: float) -> None:
    """The fast "already at its precision" test says yes exactly when round() leaves the value as it is."""
    assert _at_precision([value], digits) == (round(value, digits) == value)


def test_column_check_refuses_and_drops_in_batch_order() -> None:
    batch = [
        Reading(inverter_time=T, solar_w=1, battery_soc=50.0),
        Reading(inverter_time="soon", solar_w=2, battery_soc=50.0),  # type: ignore[arg-type]
        *(Reading(inverter_time=T + 60 * n, solar_w=3, battery_soc=50.0, load_w=1.5) for n in range(1, 8)),
        Reading(
            inverter_time=T + 600, solar_w=math.nan, battery_soc=-0.0, load_kwh_total=-0.0, load_w=10**400
        ),
    ]
    checked = check_columns(batch, T)
    assert checked.problems == [
        "reading refused: inverter_time='soon': not a number",
        f"at {T + 600} dropped solar_w=nan: not a finite number",
        f"at {T + 600} dropped load_w={str(10**400)[:40]}: outside -1e+09 .. 1e+09",
    ]
    last = checked.readings()[-1]
    assert (
        last.solar_w,
        math.copysign(1, last.battery_soc or 1),
        math.copysign(1, last.load_kwh_total or 1),
    ) == (
        None,
        1,
        1,
    )
    refused = check_columns([Reading(inverter_time=T * 1000)] * COLUMNS_FROM, T)
    assert (len(refused), len(refused.problems), refused.readings()) == (0, COLUMNS_FROM, [])
    assert check_columns([], T) == _check_batch([], T)
    assert len(check_columns([], T)) == 0
