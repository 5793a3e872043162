"""The common Reading model and its rounding rules."""

from __future__ import annotations

import math

import pytest

from custom_components.liveone.vendors.model import (
    RateLimited,
    Reading,
    round_half_away,
    round_int,
    round_opt,
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
