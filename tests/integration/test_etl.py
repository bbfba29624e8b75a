"""The ETL on a demo database of each backend: counts, idempotence, increments, crashes, pseudonyms, readers."""

from __future__ import annotations

import hashlib
import multiprocessing
import re
from datetime import UTC, datetime, timedelta
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from ehealth.hospital.models import Admission, Discharge
from etl import aggregate
from etl.__main__ import main
from etl.pipeline import Report, run
from tests import prescription_factories, warehouse_demo
from tests.warehouse_demo import KEY
from warehouse import checks, connection, schema
from warehouse import publish as publish_module
from warehouse.connection import read
from warehouse.publish import published_generation
from warehouse.schema import KEYS

# A demo database of this module's own on each backend, and its warehouse (tests/warehouse_demo.py).
source = warehouse_demo.source
warehouse = warehouse_demo.warehouse

# Operational count ↔ warehouse table: the same number two ways.
COUNTS = {
    "fct_prescriptions": "SELECT count(*) FROM prescription",
    "fct_prescription_items": "SELECT count(*) FROM prescription_item",
    "fct_dispenses": "SELECT count(*) FROM dispense",
    "fct_admissions": "SELECT count(*) FROM admission",
    "fct_visits": "SELECT count(*) FROM encounter WHERE kind = 'outpatient'",
}


def operational(engine: Engine) -> dict[str, int]:
    """The operational counts of what the facts hold."""
    with engine.connect() as conn:
        return {table: int(conn.execute(text(sql)).scalar_one()) for table, sql in COUNTS.items()}


def published(path: Path) -> dict[str, int]:
    """The warehouse's fact counts."""
    with read(path) as con:
        return {table: int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]) for table in COUNTS}  # type: ignore[index]


def content_hash(path: Path) -> str:
    """A hash of every warehouse table but the watermark's run time, in key order; not the inventory snapshots, which
    a rebuild into another file cannot have (they are carried over from the file's own published snapshot)."""
    digest = hashlib.sha256()
    with read(path) as con:
        for table, key in KEYS.items():
            if table == "snp_user_inventory":
                continue
            query = "SELECT last_event_id FROM etl_watermark" if table == "etl_watermark" else f"SELECT * FROM {table}"
            for row in con.execute(f"{query} ORDER BY {key if table != 'etl_watermark' else 1}").fetchall():
                digest.update(repr(row).encode())
    return digest.hexdigest()


def add_prescription(engine: Engine) -> int:
    """Issue a two-item prescription through the prescribing service; its id."""
    with Session(engine, expire_on_commit=False) as session:
        setting = prescription_factories.setting(session)
        prescription = setting.issue(session, setting.order(setting.item("J01CA04"), setting.item("C08CA01")))
        session.commit()
        return prescription.id


def test_rebuild_counts_equal_the_operational_database(source: Engine, warehouse: Path) -> None:
    counts = published(warehouse)
    assert counts == operational(source)
    assert all(counts.values())
    with read(warehouse) as con:
        assert con.execute("SELECT count(*) FROM dim_regions").fetchone() == (14,)
        unknown = con.execute(
            "SELECT count(*) FROM fct_prescriptions p LEFT JOIN dim_diagnoses d USING (icd10_code) WHERE d.chapter IS NULL"
        ).fetchone()
        assert unknown == (0,)
        bands = {row[0] for row in con.execute("SELECT DISTINCT age_band FROM fct_visits").fetchall()}
        assert bands <= {"0-4", "5-14", "15-24", "25-34", "35-44", "45-54", "55-64", "65+"}
    assert warehouse.is_symlink() and published_generation(warehouse) == 1


def test_a_second_run_is_a_no_op(source: Engine, warehouse: Path) -> None:
    before = content_hash(warehouse)
    report = run(source, warehouse, KEY, progress=False)
    assert report.mode == "incremental"
    assert all(report.rows[table] == 0 for table in COUNTS)
    assert content_hash(warehouse) == before


def test_a_new_prescription_is_added_exactly(source: Engine, warehouse: Path, tmp_path: Path) -> None:
    before = published(warehouse)
    prescription_id = add_prescription(source)
    report = run(source, warehouse, KEY, progress=False)
    assert (report.rows["fct_prescriptions"], report.rows["fct_prescription_items"]) == (1, 2)
    after = published(warehouse)
    assert after["fct_prescriptions"] == before["fct_prescriptions"] + 1
    assert after["fct_prescription_items"] == before["fct_prescription_items"] + 2
    assert after == operational(source)
    with read(warehouse) as con:
        row = con.execute(
            "SELECT state, patient_key FROM fct_prescriptions WHERE prescription_id = ?", [prescription_id]
        ).fetchone()
    assert row is not None and row[0] == "active" and len(row[1]) == 64
    # The incremental result is the rebuild's result.
    rebuilt = tmp_path / "rebuilt.duckdb"
    run(source, rebuilt, KEY, rebuild=True, progress=False)
    assert content_hash(rebuilt) == content_hash(warehouse)


# What a withdrawal writes beside the status (the clinical records' CHECK asks for a reason and a time).
WITHDRAWN = "status_reason = 'test amendment', status_changed_at = CURRENT_TIMESTAMP"


def amend(engine: Engine, entity: str, sql: str) -> None:
    """Run `sql` (it changes rows, or finds changed ones, and returns their ids, patient and organization) and
    announce each change in the outbox, as the services do."""
    with engine.begin() as conn:
        changed = conn.execute(text(sql)).fetchall()
        assert changed, sql
        for entity_id, patient_id, organization_id in changed:
            conn.execute(
                text(
                    "INSERT INTO clinical_event (occurred_at, kind, patient_id, organization_id, entity, entity_id)"
                    " VALUES (:now, :kind, :patient, :org, :entity, :id)"
                ),
                {
                    "now": datetime.now(UTC).replace(tzinfo=None),
                    "kind": f"{entity}.amended",
                    "patient": patient_id,
                    "org": organization_id,
                    "entity": entity,
                    "id": entity_id,
                },
            )


def test_amendments_of_every_kind_refresh_the_roll_ups_as_a_rebuild_would(
    source: Engine, warehouse: Path, tmp_path: Path
) -> None:
    """Only the touched dates' roll-up rows are rebuilt, and that gives exactly what rebuilding everything gives."""
    # A dispense withdrawn (dispensed-any, hours to dispense, controlled volume), a prescription superseded, a stay
    # discharged earlier (its discharge day and bed-days move), an admission withdrawn, an open stay's type changed.
    amend(
        source,
        "dispense",
        f"""
        UPDATE dispense SET status = 'entered_in_error', {WITHDRAWN}
        WHERE id IN (SELECT min(id) FROM dispense WHERE status = 'active' GROUP BY organization_id)
        RETURNING id, patient_id, organization_id""",
    )
    amend(
        source,
        "prescription",
        f"""
        UPDATE prescription SET status = 'superseded', {WITHDRAWN}
        WHERE id IN (SELECT max(id) FROM prescription WHERE status = 'active' GROUP BY organization_id)
        RETURNING id, patient_id, organization_id""",
    )
    with Session(source) as session:
        # Two days earlier: the old discharge day and bed-days are known only from the rows before the change.
        discharge = next(
            d
            for d, admitted_at in session.execute(
                select(Discharge, Admission.admitted_at)
                .join(Admission, Admission.id == Discharge.admission_id)
                .where(Discharge.status == "active")
                .order_by(Discharge.id)
            )
            if d.discharged_at - admitted_at > timedelta(days=4)
        )
        discharge.discharged_at -= timedelta(days=2)
        session.commit()
        discharge_id = discharge.id
    amend(
        source,
        "discharge",
        f"""
        SELECT d.id, a.patient_id, a.organization_id FROM discharge d JOIN admission a ON a.id = d.admission_id
        WHERE d.id = {discharge_id}""",
    )
    amend(
        source,
        "admission",
        f"""
        UPDATE admission SET status = 'entered_in_error', {WITHDRAWN}
        WHERE id = (SELECT max(id) FROM admission WHERE status = 'active'
                    AND id IN (SELECT admission_id FROM discharge))
        RETURNING id, patient_id, organization_id""",
    )
    amend(
        source,
        "admission",
        """
        UPDATE admission SET admission_type = 'transfer'
        WHERE id = (SELECT min(id) FROM admission WHERE status = 'active'
                    AND id NOT IN (SELECT admission_id FROM discharge))
        RETURNING id, patient_id, organization_id""",
    )
    report = run(source, warehouse, KEY, progress=False)
    assert report.rows["fct_dispenses"] and report.rows["fct_admissions"]
    rebuilt = tmp_path / "rebuilt.duckdb"
    run(source, rebuilt, KEY, rebuild=True, progress=False)
    assert content_hash(rebuilt) == content_hash(warehouse)


def test_the_days_inventory_snapshots_survive_rebuilds_and_alternate_generations(
    source: Engine, warehouse: Path, tmp_path: Path
) -> None:
    """A past day's snapshot cannot be rebuilt from the operational database: every run carries it over."""
    connection.close_all()  # this process lets go of the published file, so that the test can write a past day into it
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "INSERT INTO snp_user_inventory SELECT DATE '2026-01-05', organization_id, region_id, role, status,"
            " cabinets, never_signed_in, dormant FROM snp_user_inventory"
        )
        past = con.execute("SELECT * FROM snp_user_inventory WHERE snapshot_date = DATE '2026-01-05' ORDER BY ALL")
        expected = past.fetchall()
    assert expected
    for rebuild in (True, False, False, False):
        run(source, warehouse, KEY, rebuild=rebuild, progress=False)
        with read(warehouse) as con:
            kept = con.execute("SELECT * FROM snp_user_inventory WHERE snapshot_date = DATE '2026-01-05' ORDER BY ALL")
            assert kept.fetchall() == expected
            days = con.execute("SELECT count(DISTINCT snapshot_date) FROM snp_user_inventory").fetchone()
            assert days == (2,)  # that day and today's run


def test_a_crash_mid_run_leaves_the_warehouse_and_the_next_run_catches_up(
    source: Engine, warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published_bytes, generation = warehouse.read_bytes(), published_generation(warehouse)

    def crash(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("power cut")

    add_prescription(source)
    monkeypatch.setattr(aggregate, "refresh", crash)  # after the facts are loaded, before the commit
    with pytest.raises(RuntimeError, match="power cut"):
        run(source, warehouse, KEY, progress=False)
    assert warehouse.read_bytes() == published_bytes
    assert published_generation(warehouse) == generation
    monkeypatch.undo()
    # The run builds in the older snapshot again: it loads what that one lacks, the new prescription among it.
    prescription_id = add_prescription(source)
    report = run(source, warehouse, KEY, progress=False)
    assert report.rows["fct_prescriptions"] >= 2
    assert published(warehouse) == operational(source)
    with read(warehouse) as con:
        assert con.execute(
            "SELECT count(*) FROM fct_prescriptions WHERE prescription_id = ?", [prescription_id]
        ).fetchone() == (1,)


def test_a_crash_between_commit_and_publish_is_published_by_the_next_run(
    source: Engine, warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    published_bytes, generation = warehouse.read_bytes(), published_generation(warehouse)

    def crash(_built: Path, _path: Path) -> None:
        raise RuntimeError("power cut")

    add_prescription(source)
    monkeypatch.setattr(publish_module, "publish", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        run(source, warehouse, KEY, progress=False)
    assert warehouse.read_bytes() == published_bytes
    assert published_generation(warehouse) == generation
    monkeypatch.undo()
    # The built snapshot is whole and holds the prescription: the next run has nothing new to load and publishes it.
    report = run(source, warehouse, KEY, progress=False)
    assert report.rows["fct_prescriptions"] == 0
    assert generation is not None and published_generation(warehouse) == generation + 1
    assert published(warehouse) == operational(source)


def test_a_failed_check_aborts_the_publish(source: Engine, warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    published_bytes = warehouse.read_bytes()
    monkeypatch.setattr(checks, "failures", lambda _con, **_kw: ["fct_prescriptions.prescription_id: 1 null keys"])
    with pytest.raises(checks.WarehouseCheckFailed, match="null keys"):
        run(source, warehouse, KEY, progress=False)
    assert warehouse.read_bytes() == published_bytes


def test_an_incremental_run_checks_what_it_wrote_and_a_rebuild_everything(
    source: Engine, warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scopes: list[Any] = []
    original = checks.check

    def recorded(con: duckdb.DuckDBPyConnection, **kwargs: Any) -> None:
        scopes.append(kwargs.get("scope"))
        original(con, **kwargs)

    monkeypatch.setattr(checks, "check", recorded)
    run(source, warehouse, KEY, progress=False)  # the older generation catches up first
    amend(
        source,
        "prescription",
        f"""
        UPDATE prescription SET status = 'superseded', {WITHDRAWN}
        WHERE id = (SELECT min(id) FROM prescription WHERE status = 'active')
        RETURNING id, patient_id, organization_id""",
    )
    run(source, warehouse, KEY, progress=False)
    run(source, tmp_path / "rebuilt.duckdb", KEY, rebuild=True, progress=False)
    _catching_up, incremental, rebuild = scopes
    assert rebuild is None
    # The changed prescription's rows, the roll-ups of the dates it touched, today's inventory snapshot.
    assert incremental["fct_prescriptions"] == "prescription_id IN (SELECT k FROM etl_loaded_fct_prescriptions)"
    assert "agg_items_daily_region" in incremental and "agg_prescriptions_monthly" in incremental
    assert "snp_user_inventory" in incremental and "dim_drugs" not in incremental
    assert content_hash(tmp_path / "rebuilt.duckdb") == content_hash(warehouse)


def test_no_pinfl_or_patient_name_in_any_column(source: Engine, warehouse: Path) -> None:
    with source.connect() as conn:
        people = conn.execute(text("SELECT surname, given_name, pinfl FROM patient")).all()
        staff = conn.execute(text("SELECT surname, pinfl, document_number FROM cabinet")).all()
    surnames = {str(row[0]).lower() for row in (*people, *staff)}
    identifiers = {str(row[2]) for row in people} | {str(row[1]) for row in staff if row[1]}
    documents = {str(row[2]) for row in staff if row[2]}
    with read(warehouse) as con:
        varchar = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
        ).fetchall()
        assert len(varchar) > 20
        for table, column in varchar:
            values = {str(row[0]) for row in con.execute(f"SELECT DISTINCT {column} FROM {table}").fetchall() if row[0]}
            if column == "patient_key":  # a hex HMAC may hold 14 digits by chance: it must be exactly one
                assert all(re.fullmatch(r"[0-9a-f]{64}", value) for value in values), (table, column)
            else:
                assert not any(re.search(r"\d{14}", value) for value in values), (table, column)
            assert not {value.lower() for value in values} & surnames, (table, column)
            assert not values & identifiers and not values & documents, (table, column)
        assert checks.failures(con, forbidden_words=surnames) == []


def test_checks_find_pinfls_names_and_unexpected_values() -> None:
    con = duckdb.connect()
    schema.create(con)
    con.execute("INSERT INTO dim_regions VALUES (1726, 'UZ-TK', '12345678901234', 'x', 'Karimov')")
    con.execute(
        "INSERT INTO fct_user_events VALUES ('x', 1, 'renamed', NULL, TIMESTAMP '2026-01-01', DATE '2026-01-01')"
    )
    problems = checks.failures(con, forbidden_words=["karimov"])
    assert any("PINFL-shaped" in problem for problem in problems)
    assert any("person's name" in problem for problem in problems)
    assert any("fct_user_events.event: unexpected values ['renamed']" in problem for problem in problems)
    with pytest.raises(checks.WarehouseCheckFailed):
        checks.check(con)


def _reader(path: str, ready: EventType, stop: EventType, results: Any) -> None:
    """Query the published warehouse in a loop (in another process) and report what each query saw."""
    seen: list[tuple[int, int, int]] = []
    errors: list[str] = []
    while not stop.is_set():
        try:
            with read(Path(path)) as con:
                row = con.execute("""
                    SELECT (SELECT count(*) FROM fct_prescriptions), (SELECT count(*) FROM fct_prescription_items),
                           (SELECT count(*) FROM fct_prescription_items
                            WHERE prescription_id NOT IN (SELECT prescription_id FROM fct_prescriptions))
                """).fetchone()
                assert row is not None
                seen.append((int(row[0]), int(row[1]), int(row[2])))
            ready.set()
        except Exception as error:
            errors.append(repr(error))
    results.put((seen, errors))


def test_readers_in_other_processes_keep_a_consistent_view_while_the_etl_runs(source: Engine, warehouse: Path) -> None:
    def totals() -> tuple[int, int, int]:
        counts = published(warehouse)
        return counts["fct_prescriptions"], counts["fct_prescription_items"], 0

    for _ in range(2):  # both generations up to date, whatever the tests before left behind
        run(source, warehouse, KEY, progress=False)
    states = {totals()}
    context = multiprocessing.get_context("spawn")
    ready, stop, results = context.Event(), context.Event(), context.Queue()
    reader = context.Process(target=_reader, args=(str(warehouse), ready, stop, results))
    reader.start()
    try:
        assert ready.wait(timeout=60), "the reader process did not start querying"
        for _ in range(4):
            add_prescription(source)
            report: Report = run(source, warehouse, KEY, progress=False)
            # Each run builds in the older of the two snapshots: this run's prescription and the last run's.
            assert report.rows["fct_prescriptions"] in {1, 2}
            states.add(totals())
        stop.set()
        seen, errors = results.get(timeout=60)
    finally:
        stop.set()
        reader.join(timeout=60)
    assert errors == []
    assert seen, "the reader never ran a query"
    assert set(seen) <= states  # whole snapshots only: never a prescription without its items
    assert len(states) == 5


def test_command_line(source: Engine, warehouse: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = source.url.render_as_string(hide_password=False)
    assert main(["run", "--database-url", url, "--warehouse", str(warehouse), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "rows/s" in out and "fct_prescriptions" in out
    assert published(warehouse) == operational(source)
