"""The demo data generator: valid identifiers, consistent clinical records, outbox events, determinism, scale."""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session

from db import make_engine
from ehealth.access.models import Role
from ehealth.calendar import access_update_due, installation_due, notice_due
from ehealth.demo import DemoDataError, DemoReport, generate
from ehealth.demo.catalogue import DRUGS
from ehealth.demo.medicine import REIMBURSED_PREFIXES
from ehealth.demo.organizations import plan_counts
from ehealth.demo.sign_in_people import demo_users
from ehealth.demo.sink import CLINICAL_TABLES, TABLE_ORDER
from ehealth.identifiers import (
    TASHKENT,
    pinfl_birth_date,
    pinfl_sex,
    validate_email,
    validate_icd10,
    validate_passport,
    validate_person_name,
    validate_pinfl,
    validate_stir,
)
from ehealth.manage import migrate
from ehealth.prescription.models import PrescriptionCategory
from ehealth.prescription.numbers import looks_valid
from ehealth.prescription.rules import RULES
from ehealth.reference.models import Drug
from ehealth.reference.regions import REGIONS
from tests.conftest import BACKENDS, _scratch_postgres

TODAY = date(2026, 3, 16)
NOW = datetime(2026, 3, 16, 12, 0, tzinfo=TASHKENT).astimezone(UTC)
SEED = 20260101
PATIENTS = 300
# The key the demo prescriptions of the shared fixture are sealed with (not the default: proves it is passed down).
SEAL_KEY = b"demo-test-confirmation-key"
PHONE_RE = re.compile(r"^\+998 (90|91|93|94|95|97|98|99|33|88) \d{3} \d{2} \d{2}$")


def _sqlite_url(directory: Path) -> str:
    url = f"sqlite:///{directory / 'demo.sqlite3'}"
    migrate(url)
    return url


@pytest.fixture(scope="module", params=BACKENDS)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, DemoReport]]:
    """A fresh database of each backend with 300 demo patients (generated once per module)."""
    if request.param == "sqlite":
        urls: Iterator[str] = iter([_sqlite_url(tmp_path_factory.mktemp("demo"))])
    else:
        urls = _scratch_postgres()
    for url in urls:
        if request.param != "sqlite":
            migrate(url)
        engine = make_engine(url)
        try:
            yield engine, generate(engine, patients=PATIENTS, seed=SEED, today=TODAY, progress=False, seal_key=SEAL_KEY)
        finally:
            engine.dispose()


def rows(engine: Engine, sql: str) -> list[dict[str, object]]:
    """The rows of a query as dicts."""
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(text(sql))]


def scalar(engine: Engine, sql: str) -> object:
    """The single value of a query."""
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def aware(value: object) -> datetime:
    """A timestamp read with text() as an aware UTC datetime (SQLite hands back strings)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def day(value: object) -> date:
    """A date read with text() (SQLite hands back strings)."""
    return date.fromisoformat(value) if isinstance(value, str) else value  # type: ignore[return-value]


# --- what was written -------------------------------------------------------------------------------------------


def test_report_counts_match_the_database(demo: tuple[Engine, DemoReport]) -> None:
    engine, report = demo
    assert report.rows["patient"] == PATIENTS
    for table in TABLE_ORDER:
        assert report.rows[table] > 0, f"{table} is empty"
        assert scalar(engine, f'SELECT count(*) FROM "{table}"') == report.rows[table]
    assert report.total == sum(report.rows.values())
    assert report.rows_per_second > 0
    assert "rows/s" in report.summary()
    assert f"{report.total:,}" in report.summary()


def test_refuses_a_database_with_organizations(demo: tuple[Engine, DemoReport]) -> None:
    engine, _report = demo
    with pytest.raises(DemoDataError, match="already has organizations"):
        generate(engine, patients=1, seed=1, today=TODAY, progress=False)


def test_sequences_continue_after_the_generated_ids(demo: tuple[Engine, DemoReport]) -> None:
    engine, report = demo
    with Session(engine) as session:
        drug = Drug(
            inn="Test",
            brand=None,
            form="tabletka",
            strength="1 mg",
            unit="tabletka",
            atc_code="A01AA01",
            category="otc",
        )
        session.add(drug)
        session.flush()
        assert drug.id == report.rows["drug"] + 1
        session.rollback()


# --- identifiers ------------------------------------------------------------------------------------------------


def test_patients_have_valid_consistent_identifiers(demo: tuple[Engine, DemoReport]) -> None:
    engine, _report = demo
    patients = rows(
        engine, "SELECT pinfl, surname, given_name, patronymic, birth_date, sex, phone, address FROM patient"
    )
    assert len({patient["pinfl"] for patient in patients}) == PATIENTS
    for patient in patients:
        pinfl = str(patient["pinfl"])
        assert validate_pinfl(pinfl, today=TODAY) == pinfl
        assert pinfl_birth_date(pinfl) == day(patient["birth_date"])
        assert pinfl_sex(pinfl) == patient["sex"]
        for field in ("surname", "given_name", "patronymic"):
            assert validate_person_name(str(patient[field]), field) == patient[field]
        assert patient["phone"] is None or PHONE_RE.match(str(patient["phone"]))
        assert patient["address"]
    sexes = Counter(patient["sex"] for patient in patients)
    assert sexes["male"] > 100 and sexes["female"] > 100
    children = sum(1 for patient in patients if (TODAY - day(patient["birth_date"])).days < 15 * 365)
    assert 0.2 < children / PATIENTS < 0.42  # a young population


def test_names_follow_uzbek_forms(demo: tuple[Engine, DemoReport]) -> None:
    engine, _report = demo
    people = rows(
        engine, "SELECT surname, patronymic, sex FROM patient UNION ALL SELECT surname, patronymic, 'x' FROM cabinet"
    )
    for person in people:
        if person["sex"] == "male":
            assert str(person["patronymic"]).endswith(("ovich", "yevich", " o'g'li"))
        elif person["sex"] == "female":
            assert str(person["patronymic"]).endswith(("ovna", "yevna", " qizi"))
            assert not str(person["surname"]).endswith(("ov", "yev"))
    styles = Counter(" " in str(person["patronymic"]) for person in people)
    assert styles[True] and styles[False]
    assert any("'" in str(person["surname"]) + str(person["patronymic"]) for person in people)


def test_cabinets_and_requested_users_have_valid_documents(demo: tuple[Engine, DemoReport]) -> None:
    engine, _report = demo
    cabinets = rows(engine, "SELECT * FROM cabinet")
    requested = rows(engine, "SELECT * FROM requested_user")
    for person in (*cabinets, *requested):
        pinfl = str(person["pinfl"])
        assert validate_pinfl(pinfl, today=TODAY) == pinfl
        assert 18 <= (TODAY - pinfl_birth_date(pinfl)).days / 365.25 <= 70
        assert validate_passport(f"{person['document_series']}{person['document_number']}")
        assert validate_email(str(person["email"])) == person["email"]
        for field in ("surname", "given_name", "patronymic"):
            assert validate_person_name(str(person[field]), field) == person[field]
        assert person["position"] and person["department_name"]
    assert len({cabinet["pinfl"] for cabinet in cabinets}) == len(cabinets)
    assert len({cabinet["email"] for cabinet in cabinets}) == len(cabinets)
    assert {cabinet["role"] for cabinet in cabinets} == {str(role) for role in Role}
    for cabinet in cabinets:
        assert re.fullmatch(r"U\d{8}", str(cabinet["id_number"]))
        if cabinet["status"] == "archived":
            archived = aware(cabinet["archived_at"])
            assert cabinet["blocked_at"] is not None
            assert day(cabinet["retain_until"]) >= archived.date().replace(year=archived.year + 1)
        elif cabinet["status"] == "blocked":
            assert cabinet["blocked_at"] is not None
    statuses = Counter(cabinet["status"] for cabinet in cabinets)
    assert statuses["blocked"] and statuses["archived"] and statuses["active"] > 0.9 * len(cabinets)
    identities = rows(
        engine, "SELECT l.pinfl, c.pinfl AS cabinet_pinfl FROM login_identity l JOIN cabinet c ON c.id = l.cabinet_id"
    )
    assert identities and all(identity["pinfl"] == identity["cabinet_pinfl"] for identity in identities)


def test_organizations_cover_every_region_with_valid_stirs(demo: tuple[Engine, DemoReport]) -> None:
    engine, _report = demo
    orgs = rows(engine, "SELECT * FROM organization")
    stirs = [str(org["stir"]) for org in orgs]
    assert len(set(stirs)) == len(stirs)
    for stir in stirs:
        assert validate_stir(stir) == stir and stir[0] in "23"
    kinds: dict[int, Counter[str]] = defaultdict(Counter)
    for org in orgs:
        kinds[int(org["region_id"])][str(org["kind"])] += 1  # type: ignore[call-overload]
        if org["kind"] in ("polyclinic", "hospital", "pharmacy"):
            assert org["licence_number"] and org["licence_date"] and org["licence_valid_until"]
            assert day(org["licence_valid_until"]) > TODAY
    assert set(kinds) == {region.soato for region in REGIONS}
    for counts in kinds.values():
        assert counts["polyclinic"] >= 2 and counts["hospital"] >= 1 and counts["pharmacy"] >= 2
    assert kinds[1726]["ministry"] == 1 and kinds[1726]["integrator"] == 1
    modules = rows(
        engine, "SELECT o.kind, m.module FROM organization_module m JOIN organization o ON o.id = m.organization_id"
    )
    by_kind: dict[str, set[str]] = defaultdict(set)
    for row in modules:
        by_kind[str(row["kind"])].add(str(row["module"]))
    assert by_kind == {
        "polyclinic": {"polyclinic", "emr", "prescription"},
        "hospital": {"hospital", "emr", "prescription"},
        "pharmacy": {"prescription"},
    }
    beds = rows(
        engine,
        "SELECT d.profile, count(b.id) AS beds FROM department d JOIN ward w ON w.department_id = d.id JOIN bed b ON b.ward_id = w.id GROUP BY d.id, d.profile",
    )
    for row in beds:
        low, high = (6, 12) if row["profile"] == "intensive_care" else (30, 80)
        assert low <= int(row["beds"]) <= high  # type: ignore[call-overload]


def test_drug_catalogue(demo: tuple[Engine, DemoReport]) -> None:
    engine, _report = demo
    drugs = rows(engine, "SELECT * FROM drug")
    assert len(drugs) == len(DRUGS) >= 55
    for drug in drugs:
        atc = str(drug["atc_code"])
        assert re.fullmatch(r"[A-Z]\d\d[A-Z]{2}\d\d", atc)
        assert bool(drug["eprescription_only"]) == atc.startswith(("J01", "H02", "H03"))
    controlled = {str(drug["atc_code"]) for drug in drugs if drug["category"] == "controlled"}
    assert {"N02AX02", "N05BA01"} <= controlled


def test_icd10_codes_are_valid(demo: tuple[Engine, DemoReport]) -> None:
    engine, _report = demo
    codes: set[str] = set()
    for table in ("condition", "prescription", "admission", "discharge", "referral"):
        codes |= {
            str(row["icd10_code"])
            for row in rows(engine, f"SELECT DISTINCT icd10_code FROM {table}")
            if row["icd10_code"]
        }
    assert len(codes) > 15
    for code in codes:
        assert validate_icd10(code) == code
    assert {"I10", "E11.9", "J06.9"} <= codes


# --- clinical consistency ---------------------------------------------------------------------------------------


def test_every_clinical_row_has_exactly_one_created_event(demo: tuple[Engine, DemoReport]) -> None:
    engine, _report = demo
    assert set(CLINICAL_TABLES) == {
        "encounter", "condition", "observation", "lab_result", "instrumental_result", "treatment_record", "allergy",
        "referral", "admission", "bed_assignment", "discharge", "prescription", "dispense",
    }  # fmt: skip
    events = rows(
        engine, "SELECT kind, entity, entity_id, patient_id, organization_id, occurred_at FROM clinical_event"
    )
    by_entity = Counter((event["entity"], event["entity_id"]) for event in events)
    assert max(by_entity.values()) == 1
    total = 0
    for table in sorted(CLINICAL_TABLES):
        found = {
            event["entity_id"]: event
            for event in events
            if event["entity"] == table and event["kind"] == f"{table}.created"
        }
        records = rows(engine, f"SELECT id, patient_id, organization_id, created_at, status FROM {table}")
        assert len(found) == len(records) > 0, table
        for record in records:
            event = found[record["id"]]
            assert (event["patient_id"], event["organization_id"]) == (record["patient_id"], record["organization_id"])
            assert aware(event["occurred_at"]) == aware(record["created_at"])
            assert record["status"] == "active"
        total += len(records)
    assert total == len(events)


def test_clinical_times_lie_in_the_window_and_staff_match(demo: tuple[Engine, DemoReport]) -> None:
    engine, _report = demo
    start = NOW - timedelta(days=731)
    for table in sorted(CLINICAL_TABLES):
        for row in rows(engine, f"SELECT min(created_at) AS first, max(created_at) AS last FROM {table}"):
            assert start <= aware(row["first"]) and aware(row["last"]) <= NOW, table
    encounters = rows(engine, """
        SELECT e.kind, e.state, e.ended_at, e.started_at, e.organization_id, c.organization_id AS doctor_org, c.role
        FROM encounter e JOIN cabinet c ON c.id = e.practitioner_id""")  # fmt: skip
    states = Counter(encounter["state"] for encounter in encounters)
    assert states["closed"] > 0.9 * len(encounters)
    for encounter in encounters:
        assert encounter["role"] == "doctor" and encounter["doctor_org"] == encounter["organization_id"]
        if encounter["state"] == "closed":
            assert aware(encounter["ended_at"]) >= aware(encounter["started_at"])
        if encounter["state"] == "open" and encounter["kind"] == "outpatient":
            assert aware(encounter["started_at"]).astimezone(TASHKENT).date() == TODAY
    onsets = rows(
        engine,
        "SELECT c.onset_date, c.recorded_at, p.birth_date FROM condition c JOIN patient p ON p.id = c.patient_id WHERE c.onset_date IS NOT NULL",
    )
    assert onsets
    for onset in onsets:
        recorded = aware(onset["recorded_at"]).astimezone(TASHKENT).date()
        assert day(onset["birth_date"]) <= day(onset["onset_date"]) <= recorded
    authors = rows(
        engine,
        "SELECT DISTINCT c.role FROM clinical_event e JOIN observation o ON o.id = e.entity_id AND e.entity = 'observation' JOIN cabinet c ON c.id = o.created_by",
    )
    assert {row["role"] for row in authors} <= {"doctor", "nurse"}
    dispensers = rows(
        engine,
        "SELECT DISTINCT c.role, o.kind FROM dispense d JOIN cabinet c ON c.id = d.created_by JOIN organization o ON o.id = d.organization_id",
    )
    assert {(row["role"], row["kind"]) for row in dispensers} == {("pharmacist", "pharmacy")}


def test_observations_correlate_with_diagnoses(demo: tuple[Engine, DemoReport]) -> None:
    engine, _report = demo
    bmi = rows(engine, """
        SELECT w.value AS weight, h.value AS height, b.value AS bmi FROM observation b
        JOIN observation w ON w.encounter_id = b.encounter_id AND w.code = 'weight' AND w.effective_at = b.effective_at
        JOIN observation h ON h.encounter_id = b.encounter_id AND h.code = 'height' AND h.effective_at = b.effective_at
        WHERE b.code = 'bmi'""")  # fmt: skip
    assert bmi
    for row in bmi:
        assert abs(float(row["weight"]) / (float(row["height"]) / 100) ** 2 - float(row["bmi"])) < 0.06  # type: ignore[arg-type]
    pressure = rows(engine, """
        SELECT avg(CASE WHEN h.patient_id IS NULL THEN NULL ELSE o.value END) AS hypertensive, avg(CASE WHEN h.patient_id IS NULL THEN o.value END) AS other
        FROM observation o LEFT JOIN (SELECT DISTINCT patient_id FROM condition WHERE icd10_code IN ('I10', 'I11.9')) h ON h.patient_id = o.patient_id
        WHERE o.code = 'bp_systolic'""")[0]  # fmt: skip
    assert float(pressure["hypertensive"]) > float(pressure["other"]) + 15  # type: ignore[arg-type]
    flags = rows(engine, "SELECT DISTINCT code, flag FROM observation WHERE flag IS NOT NULL")
    assert ("temperature", "high") in {(row["code"], row["flag"]) for row in flags}
    labs = rows(
        engine, "SELECT test_code, value_numeric, value_text, reference_low, reference_high, flag FROM lab_result"
    )
    for lab in labs:
        assert lab["value_numeric"] is not None or lab["value_text"]
        if lab["value_numeric"] is not None and lab["flag"] == "normal":
            assert float(lab["reference_low"]) <= float(lab["value_numeric"]) <= float(lab["reference_high"])  # type: ignore[arg-type]


def test_prescriptions_agree_with_dispenses(demo: tuple[Engine, DemoReport]) -> None:
    engine, _report = demo
    prescriptions = {row["id"]: row for row in rows(engine, "SELECT * FROM prescription")}
    items = rows(engine, "SELECT * FROM prescription_item")
    dispensed: Counter[object] = Counter()
    for dispense in rows(engine, "SELECT item_id, quantity, batch_number FROM dispense"):
        dispensed[dispense["item_id"]] += int(dispense["quantity"])  # type: ignore[call-overload]
        assert dispense["batch_number"]
    by_prescription: dict[object, list[dict[str, object]]] = defaultdict(list)
    for item in items:
        assert item["dispensed_quantity"] == dispensed[item["id"]]
        assert 0 <= int(item["dispensed_quantity"]) <= int(item["quantity"]) * int(item["fills"])  # type: ignore[call-overload]
        by_prescription[item["prescription_id"]].append(item)
    states: Counter[object] = Counter()
    for pid, prescription in prescriptions.items():
        lines = by_prescription[pid]
        assert 1 <= len(lines) <= 3
        full = all(line["dispensed_quantity"] == int(line["quantity"]) * int(line["fills"]) for line in lines)  # type: ignore[call-overload]
        some = any(int(line["dispensed_quantity"]) > 0 for line in lines)  # type: ignore[call-overload]
        state = prescription["state"]
        states[state] += 1
        valid_until = day(prescription["valid_until"])
        issued = aware(prescription["issued_at"])
        assert valid_until == issued.astimezone(TASHKENT).date() + timedelta(
            days=RULES.validity_days[PrescriptionCategory(str(prescription["category"]))]
        )
        assert {"dispensed": full, "partially_dispensed": some and not full and valid_until >= TODAY,
                "active": not some and valid_until >= TODAY, "expired": not full and valid_until < TODAY,
                "cancelled": not some}[str(state)], (state, lines)  # fmt: skip
        assert looks_valid(str(prescription["number"]))
        if prescription["category"] == "reimbursed":
            assert str(prescription["icd10_code"]).startswith(REIMBURSED_PREFIXES)
        assert prescription["confirmation"] == "oneid" and prescription["signature"]
        assert prescription["signer"] == f"oneid:{prescription['prescriber_id']}"
    assert states["dispensed"] > states["expired"] > 0 and states["active"] > 0


def test_bed_stays_never_overlap(demo: tuple[Engine, DemoReport]) -> None:
    engine, _report = demo
    stays = rows(
        engine, "SELECT bed_id, admission_id, started_at, ended_at FROM bed_assignment ORDER BY bed_id, started_at"
    )
    forever = datetime.max.replace(tzinfo=UTC)
    by_bed: dict[object, list[tuple[datetime, datetime]]] = defaultdict(list)
    for stay in stays:
        ended = aware(stay["ended_at"]) if stay["ended_at"] is not None else forever
        assert ended >= aware(stay["started_at"])
        by_bed[stay["bed_id"]].append((aware(stay["started_at"]), ended))
    for periods in by_bed.values():
        for (_start, end), (next_start, _end) in pairwise(periods):
            assert next_start >= end
    open_per_admission = Counter(stay["admission_id"] for stay in stays if stay["ended_at"] is None)
    assert not open_per_admission or max(open_per_admission.values()) == 1
    admissions = rows(engine, """
        SELECT a.id, e.state, d.id AS discharge_id, d.outcome FROM admission a
        JOIN encounter e ON e.id = a.encounter_id LEFT JOIN discharge d ON d.admission_id = a.id""")  # fmt: skip
    for admission in admissions:
        current = admission["id"] in open_per_admission
        assert (admission["discharge_id"] is None) == current == (admission["state"] == "open")
    assert 0.03 * PATIENTS < len(admissions) < 0.2 * PATIENTS
    outcomes = Counter(admission["outcome"] for admission in admissions if admission["outcome"])
    assert outcomes["recovered"] + outcomes["improved"] > 0.8 * sum(outcomes.values())


# --- access management ------------------------------------------------------------------------------------------


def test_requests_notices_and_inventory_follow_the_calendar(demo: tuple[Engine, DemoReport]) -> None:
    engine, _report = demo
    requests = rows(engine, "SELECT * FROM installation_request")
    for request in requests:
        assert day(request["due_on"]) == installation_due(day(request["received_on"]))
    statuses = Counter(request["status"] for request in requests)
    overdue = [r for r in requests if r["status"] in ("received", "in_progress") and day(r["due_on"]) < TODAY]
    assert statuses["installed"] and statuses["in_progress"] and statuses["rejected"] and overdue
    unlinked = scalar(engine, "SELECT count(*) FROM requested_user WHERE cabinet_id IS NULL")
    assert unlinked and scalar(engine, "SELECT count(*) FROM requested_user WHERE cabinet_id IS NOT NULL")
    notices = rows(engine, "SELECT * FROM employment_notice")
    for notice in notices:
        assert day(notice["notice_due_on"]) == notice_due(day(notice["event_date"]))
        assert day(notice["action_due_on"]) == access_update_due(day(notice["notified_on"]))
    acted = [notice for notice in notices if notice["action"]]
    pending = [notice for notice in notices if not notice["action"]]
    assert acted and pending and any(day(notice["action_due_on"]) < TODAY for notice in pending)
    assert {notice["kind"] for notice in notices} == {"termination", "transfer"}
    campaigns = {row["year"]: row for row in rows(engine, "SELECT * FROM inventory_campaign")}
    assert set(campaigns) == {TODAY.year - 1, TODAY.year}
    assert campaigns[TODAY.year - 1]["closed_at"] is not None and campaigns[TODAY.year]["closed_at"] is None
    current = scalar(
        engine,
        f"SELECT count(*) FROM inventory_review r JOIN inventory_campaign c ON c.id = r.campaign_id WHERE c.year = {TODAY.year}",
    )
    active = scalar(engine, "SELECT count(*) FROM cabinet WHERE status = 'active'")
    assert 0.6 * active < current < active  # type: ignore[operator]


def test_demo_sign_in_users_one_active_cabinet_per_role(demo: tuple[Engine, DemoReport]) -> None:
    engine, _report = demo
    with Session(engine) as session:
        cabinets = demo_users(session)
        assert [cabinet.role for cabinet in cabinets] == list(Role)
        assert all(cabinet.status == "active" for cabinet in cabinets)
        # Fixed identities, the same whatever the seed, for docs and end-to-end tests.
        assert cabinets[0].full_name == "Karimov Aziz Rustamovich"
        assert cabinets[0].position == "Terapevt shifokor"
        kinds = {
            cabinet.role: scalar(
                engine, f"SELECT kind FROM organization WHERE id = {cabinet.organization_id} AND region_id = 1726"
            )
            for cabinet in cabinets
        }
        assert kinds == {
            Role.DOCTOR: "polyclinic", Role.NURSE: "polyclinic", Role.REGISTRAR: "polyclinic",
            Role.PHARMACIST: "pharmacy", Role.MANAGER: "pharmacy", Role.ANALYST: "ministry", Role.ADMIN: "ministry",
            Role.INTEGRATOR: "integrator",
        }  # fmt: skip


def test_sqlite_foreign_keys_hold(demo: tuple[Engine, DemoReport]) -> None:
    engine, _report = demo
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL checks foreign keys on every insert")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []


# --- determinism and scale --------------------------------------------------------------------------------------


def fingerprint(engine: Engine) -> str:
    """A hash of every generated table's content, in primary-key order."""
    digest = hashlib.sha256()
    inspector = inspect(engine)
    with engine.connect() as conn:
        for table in TABLE_ORDER:
            keys = ", ".join(inspector.get_pk_constraint(table)["constrained_columns"])
            for row in conn.execute(text(f'SELECT * FROM "{table}" ORDER BY {keys}')):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def _generate_into(directory: Path, *, patients: int, seed: int, batch: int = 5000) -> tuple[str, DemoReport]:
    engine = make_engine(_sqlite_url(directory))
    try:
        report = generate(engine, patients=patients, seed=seed, today=TODAY, batch=batch, progress=False)
        return fingerprint(engine), report
    finally:
        engine.dispose()


def test_same_arguments_give_identical_data(tmp_path: Path) -> None:
    first, _ = _generate_into(tmp_path / "a", patients=80, seed=7, batch=13)
    second, _ = _generate_into(tmp_path / "b", patients=80, seed=7, batch=5000)
    other, _ = _generate_into(tmp_path / "c", patients=80, seed=8)
    assert first == second  # the batch size changes transactions, not data
    assert first != other


def test_counts_scale_with_patients(tmp_path: Path) -> None:
    _, small = _generate_into(tmp_path / "small", patients=40, seed=3)
    _, large = _generate_into(tmp_path / "large", patients=200, seed=3)
    assert (small.rows["patient"], large.rows["patient"]) == (40, 200)
    for table in ("encounter", "observation", "prescription", "clinical_event"):
        assert 3 * small.rows[table] < large.rows[table] < 8 * small.rows[table], table
    assert small.rows["organization"] == large.rows["organization"]  # both at the per-region minimum
    few, many = plan_counts(300), plan_counts(1_000_000)
    assert all(counts == (2, 1, 2) for counts in few.values())
    totals = [sum(counts[kind] for counts in many.values()) for kind in range(3)]
    assert (
        totals[0] >= 1_000_000 // 20_000 - 5
        and totals[1] >= 1_000_000 // 60_000
        and totals[2] >= 1_000_000 // 8_000 - 5
    )
    assert many[1726][0] > few[1726][0]


def test_command_line_generates_and_refuses_a_second_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ehealth.demo.__main__ import main

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    arguments = ["--patients", "20", "--seed", "1", "--today", TODAY.isoformat(), "--database-url", url, "--quiet"]
    assert main(arguments) == 0
    assert "rows/s" in capsys.readouterr().out
    engine = make_engine(url)
    try:
        assert scalar(engine, "SELECT count(*) FROM patient") == 20
    finally:
        engine.dispose()
    assert main(arguments) == 1
    assert "already has organizations" in capsys.readouterr().err


def test_the_sign_in_doctor_has_patients_today(demo: tuple[Engine, DemoReport]) -> None:
    engine, report = demo
    with Session(engine) as session:
        doctor = next(cabinet for cabinet in demo_users(session) if cabinet.role == Role.DOCTOR)
    today = f"{report.today}"
    visits = scalar(engine, f"SELECT count(*) FROM encounter WHERE practitioner_id = {doctor.id}")
    prescriptions = scalar(engine, f"SELECT count(*) FROM prescription WHERE prescriber_id = {doctor.id}")
    seen_today = scalar(
        engine, f"SELECT count(*) FROM encounter WHERE practitioner_id = {doctor.id} AND started_at >= '{today}'"
    )
    busiest = scalar(
        engine,
        "SELECT max(n) FROM (SELECT count(*) AS n FROM encounter e JOIN cabinet c ON c.id = e.practitioner_id"
        f" WHERE c.organization_id = {doctor.organization_id} AND c.id <> {doctor.id} GROUP BY c.id) AS t",
    )
    assert seen_today >= 1 and prescriptions >= 1  # type: ignore[operator]
    assert visits >= (busiest or 0)  # type: ignore[operator]  # the busiest doctor of the polyclinic
