"""Drug-safety warnings at prescribing: the shipped table, and each rule's positive and negative cases."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from ehealth.demo.catalogue import DRUG_BY_ATC, DRUGS
from ehealth.i18n import language
from ehealth.prescription.safety import (
    ALLERGY_CLASSES_FILE,
    DATA_DIR,
    DOSE_LIMITS_FILE,
    INTERACTIONS_FILE,
    VERSION_FILE,
    Finding,
    KnownAllergy,
    Medicine,
    Rule,
    SafetyData,
    is_atc_prefix,
    load,
    review,
    strength_mg,
)

CATALOGUE_INNS = {drug.inn.casefold() for drug in DRUGS}
PENICILLIN = KnownAllergy("Penitsillin", "Benzilpenitsillin", "J01CE01")


@pytest.fixture(scope="module")
def data() -> SafetyData:
    """The shipped table."""
    return load()


def med(
    atc: str, line: int = 1, *, dose: float | None = None, intakes: int | None = None, number: str | None = None
) -> Medicine:
    """A catalogue medicine as a prescription item (line 0 and a number for one of an active prescription)."""
    drug = DRUG_BY_ATC[atc]
    return Medicine(
        line=0 if number else line,
        inn=drug.inn,
        atc_code=drug.atc,
        strength=drug.strength,
        dose=drug.dose if dose is None else dose,
        intakes_per_day=drug.intakes if intakes is None else intakes,
        prescription_number=number,
    )


def check(
    data: SafetyData,
    new: Sequence[Medicine],
    *,
    age: int = 40,
    allergies: Sequence[KnownAllergy] = (),
    active: Sequence[Medicine] = (),
) -> list[Finding]:
    """Review `new` for an adult of 40 with no allergies and no active prescriptions unless told otherwise."""
    return review(data, new, age_years=age, allergies=allergies, active=active)


def of(findings: list[Finding], rule: Rule) -> list[Finding]:
    """The findings of one rule."""
    return [finding for finding in findings if finding.rule is rule]


# The shipped table ------------------------------------------------------------------------------------------


def test_shipped_files_load(data: SafetyData) -> None:
    assert data.version and data.version == (DATA_DIR / VERSION_FILE).read_text(encoding="utf-8").strip()
    assert len(data.interactions) >= 25 and data.allergy_classes and len(data.dose_limits) >= 20
    assert load() is data  # the default load is cached


def test_table_names_only_catalogue_medicines(data: SafetyData) -> None:
    named = [term.value for row in data.interactions for term in (row.a, row.b) if not term.is_atc]
    named += [limit.inn for limit in data.dose_limits]
    assert named and [inn for inn in named if inn.casefold() not in CATALOGUE_INNS] == []


def test_every_atc_prefix_matches_a_catalogue_medicine(data: SafetyData) -> None:
    prefixes = [term.value for row in data.interactions for term in (row.a, row.b) if term.is_atc]
    assert [p for p in prefixes if not any(drug.atc.startswith(p) for drug in DRUGS)] == []


def test_atc_prefix_shape() -> None:
    assert all(is_atc_prefix(code) for code in ("C", "C0", "C09", "C09A", "C09AA", "C09AA0", "C09AA02"))
    assert not any(is_atc_prefix(code) for code in ("", "09", "CC9", "C09A1", "c09aa", "C09AA02X", "C09AAA2"))


def _copy(tmp_path: Path) -> Path:
    """A copy of the shipped table to spoil."""
    target = tmp_path / "safety_data"
    shutil.copytree(DATA_DIR, target)
    return target


def _append(path: Path, row: str) -> int:
    """Append a row to a CSV file and return its line number."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text + row + "\n", encoding="utf-8")
    return len((text + row).splitlines())


@pytest.mark.parametrize(
    ("file", "row", "problem"),
    [
        (INTERACTIONS_FILE, "Klaritromitsin,Tizanidin,severe,risk", "severity"),
        (INTERACTIONS_FILE, "Klaritromitsin,,major,risk", "empty field b"),
        (INTERACTIONS_FILE, "C09A1,Metformin,major,risk", "ATC prefix"),
        (INTERACTIONS_FILE, "Klaritromitsin,Tizanidin,major", "expected 4 fields"),
        (INTERACTIONS_FILE, "Atorvastatin,Klaritromitsin,major,again", "already on line"),
        (ALLERGY_CLASSES_FILE, "J01C,Penicillins,note", "cross_reactive"),
        (DOSE_LIMITS_FILE, "Sertralin,0,six,0,0,mg", "age_to"),
        (DOSE_LIMITS_FILE, "Sertralin,6,18,50,abc,mg", "max_daily_dose"),
        (DOSE_LIMITS_FILE, "Sertralin,6,18,-5,200,mg", "max_single_dose"),
        (DOSE_LIMITS_FILE, "Sertralin,18,6,50,200,mg", "age_from"),
        (DOSE_LIMITS_FILE, "Sertralin,6,18,50,200,ml", "unit"),
        (DOSE_LIMITS_FILE, "Sertralin,6,18,300,200,mg", "max_single_dose"),
        (DOSE_LIMITS_FILE, "Paratsetamol,3,5,100,400,mg", "overlap"),
    ],
)
def test_malformed_row_names_file_and_line(tmp_path: Path, file: str, row: str, problem: str) -> None:
    directory = _copy(tmp_path)
    line = _append(directory / file, row)
    with pytest.raises(ValueError, match=problem) as raised:
        load(directory)
    assert file in str(raised.value) and f"line {line}" in str(raised.value)


def test_bad_header_and_empty_version(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    path = directory / INTERACTIONS_FILE
    path.write_text(
        path.read_text(encoding="utf-8").replace("a,b,severity,effect", "a,b,level,effect"), encoding="utf-8"
    )
    with pytest.raises(ValueError, match=f"{INTERACTIONS_FILE}, line \\d+: the header"):
        load(directory)
    directory = _copy(tmp_path / "again")
    (directory / VERSION_FILE).write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match=VERSION_FILE):
        load(directory)


def test_a_valid_copy_loads_with_its_own_version(tmp_path: Path) -> None:
    directory = _copy(tmp_path)
    (directory / VERSION_FILE).write_text("2099.01-7\n", encoding="utf-8")
    _append(directory / INTERACTIONS_FILE, 'Sertralin,Tizanidin,moderate,"test row, with a comma"')
    loaded = load(directory)
    assert loaded.version == "2099.01-7" and loaded.interactions[-1].effect == "test row, with a comma"


# Strength parsing -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("strength", "mg"),
    [
        ("1,5 mg", 1.5),
        ("1 g", 1000.0),
        ("100 mkg", 0.1),
        ("50 mkg", 0.05),
        ("875 mg/125 mg", 875.0),
        ("875 mg / 125 mg", 875.0),
        ("120 mg/5 ml", None),
        ("5 mg/ml", None),
        ("500 mg", 500.0),
        ("7,5 mg", 7.5),
        ("4 mg/ml", None),
        ("100 XB/ml", None),
        ("0,3%", None),
        ("100 mkg/doza", None),
        ("25/250 mkg/doza", None),
        ("", None),
        ("tabletka", None),
    ],
)
def test_strength_mg(strength: str, mg: float | None) -> None:
    assert strength_mg(strength) == (pytest.approx(mg) if mg is not None else None)


# Duplicate therapy ------------------------------------------------------------------------------------------


def test_duplicate_of_an_active_prescription(data: SafetyData) -> None:
    active = [med("C09AA02", number="RX-2026-000123")]
    new = [Medicine(2, "enalapril", "C09AA02", "10 mg", 1, 2)]
    (finding,) = of(check(data, new, active=active), Rule.DUPLICATE_THERAPY)
    assert (finding.line, finding.severity) == (2, "duplicate")
    assert finding.params == {"inn": "enalapril", "number": "RX-2026-000123"}
    with language("en"):
        assert "RX-2026-000123" in finding.text() and "enalapril" in finding.text()


def test_duplicate_within_the_new_prescription(data: SafetyData) -> None:
    findings = of(check(data, [med("N02BE01", 1), med("A02BC01", 2), med("N02BE01", 3)]), Rule.DUPLICATE_THERAPY)
    assert [(f.line, f.params["number"]) for f in findings] == [(3, "")]


def test_no_duplicate_for_different_medicines(data: SafetyData) -> None:
    active = [med("C09AA03", number="RX-1")]  # lisinopril: same group, other INN
    assert of(check(data, [med("C09AA02")], active=active), Rule.DUPLICATE_THERAPY) == []


# Allergy ----------------------------------------------------------------------------------------------------


def test_penicillin_allergy_cross_reacts(data: SafetyData) -> None:
    new = [med("J01CA04", 1), med("J01DD04", 2), med("J01FA10", 3), med("J01CR02", 4)]
    findings = of(check(data, new, allergies=[PENICILLIN]), Rule.ALLERGY)
    assert [f.line for f in findings] == [1, 2, 4]  # amoxicillin, ceftriaxone, co-amoxiclav; not azithromycin
    assert all(f.params["substance"] == "Penitsillin" and f.severity == "allergy" for f in findings)


def test_allergy_to_the_same_substance(data: SafetyData) -> None:
    by_inn = KnownAllergy("Ibuprofen", "ibuprofen", None)
    by_atc = KnownAllergy("Metamizol", None, "N02BB02")
    assert [f.line for f in of(check(data, [med("M01AE01", 1)], allergies=[by_inn]), Rule.ALLERGY)] == [1]
    assert [f.line for f in of(check(data, [med("N02BB02", 7)], allergies=[by_atc]), Rule.ALLERGY)] == [7]
    amoxicillin = KnownAllergy("Amoksitsillin", "Amoksitsillin", None)  # no ATC: the combination still warns
    assert [f.line for f in of(check(data, [med("J01CR02", 2)], allergies=[amoxicillin]), Rule.ALLERGY)] == [2]


def test_nsaid_and_sulfonamide_classes(data: SafetyData) -> None:
    ibuprofen = KnownAllergy("Ibuprofen", "Ibuprofen", "M01AE01")
    new = [med("M01AB05", 1), med("B01AC06", 2), med("N02BE01", 3)]  # diclofenac, aspirin, paracetamol
    assert [f.line for f in of(check(data, new, allergies=[ibuprofen]), Rule.ALLERGY)] == [1, 2]
    sulfa = KnownAllergy("Ko-trimoksazol", "Ko-trimoksazol", "J01EE01")
    assert [f.line for f in of(check(data, [med("J01EE01"), med("J01MA02", 2)], allergies=[sulfa]), Rule.ALLERGY)] == [
        1
    ]


def test_no_allergy_warning(data: SafetyData) -> None:
    pollen = KnownAllergy("Gul changi", None, None)
    assert of(check(data, [med("J01CA04")], allergies=[pollen]), Rule.ALLERGY) == []
    assert of(check(data, [med("J01FA10")], allergies=[PENICILLIN]), Rule.ALLERGY) == []


def test_one_allergy_warns_once_per_item(data: SafetyData) -> None:
    twice = [PENICILLIN, PENICILLIN, KnownAllergy("Amoksitsillin", "Amoksitsillin", "J01CA04")]
    findings = of(check(data, [med("J01CA04")], allergies=twice), Rule.ALLERGY)
    assert [f.params["substance"] for f in findings] == ["Penitsillin", "Amoksitsillin"]


# Interactions -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", [("J01FA09", "C10AA05"), ("C10AA05", "J01FA09")])
def test_interaction_in_either_order_reported_once(data: SafetyData, order: tuple[str, str]) -> None:
    new = [med(order[0], 1), med(order[1], 2)]
    (finding,) = of(check(data, new), Rule.INTERACTION)
    assert finding.line == 2 and finding.severity == "major" == finding.params["severity"]
    assert {finding.params["inn"], finding.params["other"]} == {"Klaritromitsin", "Atorvastatin"}
    assert "myopathy" in finding.params["effect"] and finding.params["number"] == ""


def test_interaction_by_atc_prefix_and_contraindicated(data: SafetyData) -> None:
    (finding,) = of(check(data, [med("M03BX02", 1), med("J01MA02", 2)]), Rule.INTERACTION)
    assert finding.severity == "contraindicated" and finding.params["inn"] == "Siprofloksatsin"
    (dual,) = of(check(data, [med("C09AA03", 1), med("C09CA01", 2)]), Rule.INTERACTION)  # ACE inhibitor + ARB
    assert dual.severity == "major" and "RAAS" in dual.params["effect"]


def test_interaction_with_an_active_prescription_names_its_number(data: SafetyData) -> None:
    active = [med("N06AB06", number="RX-2026-000777"), med("A02BC01", number="RX-2026-000778")]
    (finding,) = of(check(data, [med("N02AX02", 3)], active=active), Rule.INTERACTION)
    assert finding.line == 3 and finding.params["other"] == "Sertralin"
    assert finding.params["number"] == "RX-2026-000777"
    with language("en"):
        assert "RX-2026-000777" in finding.text() and "serotonin" in finding.text()


def test_no_interaction(data: SafetyData) -> None:
    assert (
        of(
            check(data, [med("J01FA09", 1), med("N02BE01", 2)], active=[med("A02BC01", number="RX-1")]),
            Rule.INTERACTION,
        )
        == []
    )
    # The same INN twice is duplicate therapy, not an NSAID-with-NSAID interaction.
    findings = check(data, [med("M01AE01", 1), med("M01AE01", 2)])
    assert of(findings, Rule.INTERACTION) == [] and len(of(findings, Rule.DUPLICATE_THERAPY)) == 1


def test_two_nsaids_and_three_way_pairs(data: SafetyData) -> None:
    new = [med("M01AE01", 1), med("M01AB05", 2), med("B01AC06", 3)]  # ibuprofen, diclofenac, aspirin
    findings = of(check(data, new), Rule.INTERACTION)
    assert [(f.line, f.params["other"]) for f in findings] == [
        (2, "Ibuprofen"),
        (3, "Ibuprofen"),
        (3, "Diklofenak"),
    ]


# Age and dose -----------------------------------------------------------------------------------------------


def test_paracetamol_over_the_limit_for_a_three_year_old(data: SafetyData) -> None:
    (finding,) = of(check(data, [med("N02BE01")], age=3), Rule.AGE_DOSE)
    assert finding.severity == "dose"
    assert finding.params == {"inn": "Paratsetamol", "age": "3", "dose": "500 mg", "limit": "180 mg"}


def test_paracetamol_daily_limit(data: SafetyData) -> None:
    (finding,) = of(check(data, [med("N02BE01", dose=2, intakes=6)], age=30), Rule.AGE_DOSE)
    assert (finding.params["dose"], finding.params["limit"]) == ("6000 mg", "4000 mg")
    assert "daily" in finding.message


def test_adult_normal_dose_is_fine(data: SafetyData) -> None:
    assert of(check(data, [med("N02BE01")], age=30), Rule.AGE_DOSE) == []  # 500 mg three times a day
    assert of(check(data, [med("N02BE01", dose=2, intakes=4)], age=30), Rule.AGE_DOSE) == []  # 4 g: at the limit
    assert of(check(data, [med("M01AE01"), med("J01MA02", 2)], age=40), Rule.AGE_DOSE) == []


def test_not_recommended_at_this_age(data: SafetyData) -> None:
    findings = of(check(data, [med("J01MA02", 1), med("J01AA02", 2), med("B01AC06", 3)], age=7), Rule.AGE_DOSE)
    assert [f.line for f in findings] == [1, 2, 3]
    with language("en"):
        assert all("not recommended" in f.text() for f in findings)
    assert of(check(data, [med("J01AA02")], age=8), Rule.AGE_DOSE) == []  # doxycycline from 8


def test_dose_check_skipped_for_unparsable_strength(data: SafetyData) -> None:
    liquid = Medicine(1, "Paratsetamol", "N02BE01", "120 mg/5 ml", 10, 4)
    assert of(check(data, [liquid], age=3), Rule.AGE_DOSE) == []


# Order ------------------------------------------------------------------------------------------------------


def test_findings_ordered_by_line_then_rule(data: SafetyData) -> None:
    new = [med("N02AX02", 2), med("J01CA04", 1)]
    active = [med("N06AB06", number="RX-9"), med("N02AX02", number="RX-8")]
    findings = check(data, new, age=10, allergies=[PENICILLIN], active=active)
    assert [(f.line, f.rule) for f in findings] == [
        (1, Rule.ALLERGY),
        (2, Rule.DUPLICATE_THERAPY),
        (2, Rule.INTERACTION),
        (2, Rule.AGE_DOSE),
    ]
    assert findings == check(data, new, age=10, allergies=[PENICILLIN], active=active)
