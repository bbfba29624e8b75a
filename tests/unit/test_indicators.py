"""Medical indicators (R-13.3): one fixed unit each, impossible values refused naming the limits, adult reference
ranges flag low, high and critical, body mass index computed and rounded."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ehealth.emr.indicators import RULES, bmi, check, flag_of, rounded
from ehealth.emr.models import Flag, Indicator
from ehealth.errors import ValidationError
from ehealth.i18n import language

UNITS = {
    Indicator.BP_SYSTOLIC: "mmHg",
    Indicator.BP_DIASTOLIC: "mmHg",
    Indicator.PULSE: "/min",
    Indicator.TEMPERATURE: "°C",
    Indicator.RESPIRATORY_RATE: "/min",
    Indicator.SPO2: "%",
    Indicator.WEIGHT: "kg",
    Indicator.HEIGHT: "cm",
    Indicator.BMI: "kg/m²",
    Indicator.GLUCOSE: "mmol/L",
}
LIMITS = {
    Indicator.BP_SYSTOLIC: (40, 300),
    Indicator.BP_DIASTOLIC: (20, 200),
    Indicator.PULSE: (20, 300),
    Indicator.TEMPERATURE: (25, 45),
    Indicator.RESPIRATORY_RATE: (4, 80),
    Indicator.SPO2: (50, 100),
    Indicator.WEIGHT: (0.3, 400),
    Indicator.HEIGHT: (30, 250),
    Indicator.BMI: (3, 200),
    Indicator.GLUCOSE: (0.5, 50),
}


def test_every_indicator_has_its_one_unit() -> None:
    assert set(RULES) == set(Indicator)
    for code, unit in UNITS.items():
        assert check(code, LIMITS[code][1])[1] == unit


@pytest.mark.parametrize("code", list(Indicator))
def test_limits_are_accepted_and_values_beyond_refused_naming_them(code: Indicator) -> None:
    low, high = LIMITS[code]
    assert check(code, low)[0] == low and check(code, high)[0] == high
    step = 10.0 ** -RULES[code].decimals
    for impossible in (low - step, high + step, -1, 10_000, 1e300):
        with pytest.raises(ValidationError) as refused:
            check(code, impossible)
        assert refused.value.field == code.value
        with language("en"):
            message = str(refused.value)
        assert f"between {low:g} and {high:g}" in message and "not possible" in message


@pytest.mark.parametrize(
    ("code", "value", "flag"),
    [
        (Indicator.BP_SYSTOLIC, 120, Flag.NORMAL),
        (Indicator.BP_SYSTOLIC, 85, Flag.LOW),
        (Indicator.BP_SYSTOLIC, 150, Flag.HIGH),
        (Indicator.BP_SYSTOLIC, 180, Flag.CRITICAL),
        (Indicator.BP_SYSTOLIC, 70, Flag.CRITICAL),
        (Indicator.BP_DIASTOLIC, 80, Flag.NORMAL),
        (Indicator.BP_DIASTOLIC, 95, Flag.HIGH),
        (Indicator.BP_DIASTOLIC, 120, Flag.CRITICAL),
        (Indicator.PULSE, 72, Flag.NORMAL),
        (Indicator.PULSE, 52, Flag.LOW),
        (Indicator.PULSE, 110, Flag.HIGH),
        (Indicator.PULSE, 40, Flag.CRITICAL),
        (Indicator.PULSE, 131, Flag.CRITICAL),
        (Indicator.TEMPERATURE, 36.6, Flag.NORMAL),
        (Indicator.TEMPERATURE, 37.1, Flag.HIGH),
        (Indicator.TEMPERATURE, 35.5, Flag.LOW),
        (Indicator.TEMPERATURE, 35.0, Flag.CRITICAL),
        (Indicator.TEMPERATURE, 40.0, Flag.CRITICAL),
        (Indicator.RESPIRATORY_RATE, 16, Flag.NORMAL),
        (Indicator.RESPIRATORY_RATE, 8, Flag.CRITICAL),
        (Indicator.RESPIRATORY_RATE, 22, Flag.HIGH),
        (Indicator.RESPIRATORY_RATE, 25, Flag.CRITICAL),
        (Indicator.SPO2, 98, Flag.NORMAL),
        (Indicator.SPO2, 93, Flag.LOW),
        (Indicator.SPO2, 91, Flag.CRITICAL),
        (Indicator.BMI, 22.0, Flag.NORMAL),
        (Indicator.BMI, 17.0, Flag.LOW),
        (Indicator.BMI, 27.5, Flag.HIGH),
        (Indicator.BMI, 15.9, Flag.CRITICAL),
        (Indicator.BMI, 40.0, Flag.CRITICAL),
        (Indicator.GLUCOSE, 5.0, Flag.NORMAL),
        (Indicator.GLUCOSE, 3.5, Flag.LOW),
        (Indicator.GLUCOSE, 7.2, Flag.HIGH),
        (Indicator.GLUCOSE, 2.9, Flag.CRITICAL),
        (Indicator.GLUCOSE, 16.7, Flag.CRITICAL),
    ],
)
def test_flags_against_the_adult_ranges(code: Indicator, value: float, flag: Flag) -> None:
    _stored, _unit, found, low, high = check(code, value)
    assert found == flag
    assert (low, high) == (RULES[code].normal_low, RULES[code].normal_high)


def test_weight_and_height_have_no_range_and_no_flag() -> None:
    for code in (Indicator.WEIGHT, Indicator.HEIGHT):
        assert check(code, 70)[2:] == (None, None, None)


def test_values_are_stored_at_their_precision_rounded_half_up() -> None:
    assert check(Indicator.PULSE, 72.5)[0] == 73
    assert check(Indicator.TEMPERATURE, 36.65)[0] == 36.7
    assert check(Indicator.WEIGHT, 3.2504)[0] == 3.25
    # The flag is judged on the stored value: 37.04 is stored as 37.0, which is normal.
    assert check(Indicator.TEMPERATURE, 37.04)[2] == Flag.NORMAL


def test_body_mass_index_is_weight_over_height_squared_to_one_decimal() -> None:
    assert bmi(70, 175) == 22.9
    assert bmi(80, 180) == 24.7
    assert bmi(3.5, 50) == 14.0
    assert rounded(24.25, 1) == 24.3  # half up, not to the even digit


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "abc", None])
def test_not_a_number_is_refused(bad: object) -> None:
    with pytest.raises(ValidationError) as refused:
        check(Indicator.PULSE, bad)  # type: ignore[arg-type]
    assert refused.value.field == "pulse" and refused.value.msgid == "Enter a number"


def test_an_unknown_indicator_is_refused() -> None:
    with pytest.raises(ValidationError) as refused:
        check("cholesterol", 5)
    assert refused.value.field == "cholesterol"


@given(st.sampled_from(list(Indicator)), st.floats(allow_nan=False, allow_infinity=False))
def test_any_number_is_either_refused_or_stored_within_limits_with_a_consistent_flag(
    code: Indicator, value: float
) -> None:
    rule = RULES[code]
    try:
        stored, unit, flag, low, high = check(code, value)
    except ValidationError as error:
        assert error.field == code.value
        return
    assert rule.lowest <= stored <= rule.highest and unit == rule.unit
    assert flag == flag_of(rule, stored)
    if flag == Flag.NORMAL:
        assert low is not None and high is not None and low <= stored <= high
    if flag == Flag.LOW:
        assert low is not None and stored < low
    if flag == Flag.HIGH:
        assert high is not None and stored > high
