"""Medical indicators (R-13.3): each with one fixed unit, the values a living patient can have, and the adult
reference range a measured value is flagged against. Body mass index is computed, never typed.

Where the numbers come from:
- Possible limits are there to catch typing errors (a slipped digit, a misplaced decimal point, a value in the
  wrong unit) without ever refusing a real measurement: each is wider than what is survivable or measurable.
- Normal ranges: blood pressure from the 2018 ESC/ESH hypertension guidelines (hypertension from 140/90) with
  hypotension below 90/60; pulse 60-100/min (American Heart Association, adult at rest); temperature 36.0-37.0 °C
  measured in the armpit as Uzbek clinics do (subfebrile from 37.1); respiratory rate 12-20/min and SpO2 from
  95 % (both NEWS2, Royal College of Physicians 2017, band scoring 0 or 1); BMI 18.5-24.9 (WHO); fasting
  glucose 3.9-6.0 mmol/L (WHO 2006: impaired fasting glucose from 6.1; ADA: hypoglycaemia alert below 3.9).
- Critical values: NEWS2 single-parameter "red" scores (respiratory rate <= 8 or >= 25, SpO2 <= 91, pulse <= 40
  or >= 131, temperature <= 35.0); hypertensive crisis from 180/120 (2017 ACC/AHA); profound hypotension at or
  below 70/40; fever from 40.0 °C; BMI below 16.0 (WHO severe thinness) or from 40.0 (WHO obesity class III);
  glucose below 3.0 mmol/L (ADA level 2 hypoglycaemia) or from 16.7 mmol/L (300 mg/dL, where hyperglycaemic
  crises are looked for).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal

from ehealth.emr.models import Flag, Indicator
from ehealth.errors import ValidationError
from ehealth.i18n import N_


@dataclass(frozen=True)
class IndicatorRule:
    """How one indicator is entered and judged."""

    label: str  # msgid of the indicator's name
    unit: str
    decimals: int  # values are stored rounded to this many decimals, and flagged after rounding
    lowest: float  # physiologically possible limits: a value outside is refused
    highest: float
    limits_message: str  # msgid naming the limits, with {low}, {high} and {value}
    normal_low: float | None = None  # adult reference range, both ends included
    normal_high: float | None = None
    critical_at_or_below: float | None = None
    critical_at_or_above: float | None = None


RULES: dict[Indicator, IndicatorRule] = {
    Indicator.BP_SYSTOLIC: IndicatorRule(
        N_("Systolic blood pressure"),
        "mmHg",
        0,
        40,  # below 40 mmHg no pulse is felt and no cuff reading is obtained
        300,  # the top of the scale of clinical sphygmomanometers
        N_("Systolic blood pressure must be between {low} and {high} mmHg; {value} is not possible"),
        normal_low=90,
        normal_high=139,
        critical_at_or_below=70,
        critical_at_or_above=180,
    ),
    Indicator.BP_DIASTOLIC: IndicatorRule(
        N_("Diastolic blood pressure"),
        "mmHg",
        0,
        20,
        200,
        N_("Diastolic blood pressure must be between {low} and {high} mmHg; {value} is not possible"),
        normal_low=60,
        normal_high=89,
        critical_at_or_below=40,
        critical_at_or_above=120,
    ),
    Indicator.PULSE: IndicatorRule(
        N_("Pulse"),
        "/min",
        0,
        20,  # slower is cardiac arrest in practice
        300,  # faster only in pre-excited atrial fibrillation, and not sustained
        N_("Pulse must be between {low} and {high} per minute; {value} is not possible"),
        normal_low=60,
        normal_high=100,
        critical_at_or_below=40,
        critical_at_or_above=131,
    ),
    Indicator.TEMPERATURE: IndicatorRule(
        N_("Body temperature"),
        "°C",
        1,
        25,  # severe accidental hypothermia; clinical thermometers read no lower
        45,  # above 44-45 °C life is not sustained
        N_("Body temperature must be between {low} and {high} °C; {value} is not possible"),
        normal_low=36.0,
        normal_high=37.0,
        critical_at_or_below=35.0,
        critical_at_or_above=40.0,
    ),
    Indicator.RESPIRATORY_RATE: IndicatorRule(
        N_("Respiratory rate"),
        "/min",
        0,
        4,
        80,  # newborns in distress breathe up to 80-100/min; adults never approach it
        N_("Respiratory rate must be between {low} and {high} per minute; {value} is not possible"),
        normal_low=12,
        normal_high=20,
        critical_at_or_below=8,
        critical_at_or_above=25,
    ),
    Indicator.SPO2: IndicatorRule(
        N_("Oxygen saturation (SpO2)"),
        "%",
        0,
        50,  # pulse oximeters are calibrated down to 70 % (ISO 80601-2-61) and read unreliably below 50 %
        100,
        N_("Oxygen saturation must be between {low} and {high} %; {value} is not possible"),
        normal_low=95,
        normal_high=100,
        critical_at_or_below=91,
    ),
    Indicator.WEIGHT: IndicatorRule(
        N_("Weight"),
        "kg",
        3,  # grams count for newborns
        0.3,  # the smallest newborns that survive weigh about 300 g
        400,  # the capacity of bariatric hospital scales
        N_("Weight must be between {low} and {high} kg; {value} is not possible"),
    ),
    Indicator.HEIGHT: IndicatorRule(
        N_("Height"),
        "cm",
        1,
        30,  # newborns at the limit of viability measure about 30 cm
        250,  # the tallest living people measure about 250 cm
        N_("Height must be between {low} and {high} cm; {value} is not possible"),
    ),
    Indicator.BMI: IndicatorRule(
        N_("Body mass index"),
        "kg/m²",
        1,
        3,  # what the extreme weights and heights above can give together
        200,
        N_("Body mass index must be between {low} and {high} kg/m²; {value} is not possible"),
        normal_low=18.5,
        normal_high=24.9,
        critical_at_or_below=15.9,  # below 16.0, at one decimal
        critical_at_or_above=40.0,
    ),
    Indicator.GLUCOSE: IndicatorRule(
        N_("Blood glucose"),
        "mmol/L",
        1,
        0.5,
        50,  # glucose meters read to 33.3 mmol/L, laboratories higher; above 50 is not seen in the living
        N_("Blood glucose must be between {low} and {high} mmol/L; {value} is not possible"),
        normal_low=3.9,
        normal_high=6.0,
        critical_at_or_below=2.9,  # below 3.0, at one decimal
        critical_at_or_above=16.7,
    ),
}


_WIDE = Context(prec=400)


def number_text(value: float) -> str:
    """A value as a person writes it: 37.2, 120, 0.35 (no trailing .0, no exponent for ordinary numbers)."""
    return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1e9 else f"{value:g}"


def rounded(value: float, decimals: int) -> float:
    """`value` rounded half up (as a clinician rounds), not to the nearest even digit."""
    step = Decimal(1).scaleb(-decimals)
    # Enough digits for any finite float, so an absurd value is rounded too and then refused by the limits.
    return float(Decimal(repr(value)).quantize(step, rounding=ROUND_HALF_UP, context=_WIDE))


def indicator(code: str) -> Indicator:
    """The Indicator named `code`, or a ValidationError on that field."""
    try:
        return Indicator(code)
    except ValueError:
        raise ValidationError(N_("{code} is not a medical indicator"), field=str(code), code=code) from None


def flag_of(rule: IndicatorRule, value: float) -> Flag | None:
    """Where a (rounded) value stands against the rule's reference range; None when there is none."""
    if rule.normal_low is None and rule.normal_high is None:
        return None
    if (rule.critical_at_or_below is not None and value <= rule.critical_at_or_below) or (
        rule.critical_at_or_above is not None and value >= rule.critical_at_or_above
    ):
        return Flag.CRITICAL
    if rule.normal_low is not None and value < rule.normal_low:
        return Flag.LOW
    if rule.normal_high is not None and value > rule.normal_high:
        return Flag.HIGH
    return Flag.NORMAL


def check(code: str, value: float) -> tuple[float, str, Flag | None, float | None, float | None]:
    """(value rounded, unit, flag, reference low, reference high) of a measurement, or a ValidationError(field=code)."""
    kind = indicator(code)
    rule = RULES[kind]
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(N_("Enter a number"), field=kind.value) from None
    if not math.isfinite(number):
        raise ValidationError(N_("Enter a number"), field=kind.value)
    number = rounded(number, rule.decimals)
    if not rule.lowest <= number <= rule.highest:
        raise ValidationError(
            rule.limits_message,
            field=kind.value,
            low=number_text(rule.lowest),
            high=number_text(rule.highest),
            value=number_text(number),
        )
    return number, rule.unit, flag_of(rule, number), rule.normal_low, rule.normal_high


def bmi(weight_kg: float, height_cm: float) -> float:
    """Body mass index in kg/m², rounded to one decimal."""
    return rounded(weight_kg / (height_cm / 100) ** 2, 1)
