"""One ETL run: extract what changed, transform, load into the next snapshot generation, check, publish."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl
from sqlalchemy import Connection, Engine, select, union
from sqlalchemy.orm import InstrumentedAttribute
from tqdm import tqdm

from ehealth import calendar
from ehealth.access.models import Cabinet
from ehealth.emr.models import Encounter
from ehealth.hospital.models import Admission
from ehealth.patients.models import Patient
from ehealth.prescription.models import Dispense, Prescription, PrescriptionItem
from ehealth.reference.models import Organization
from etl import aggregate, extract, load, snapshots, transform
from warehouse import checks
from warehouse.publish import building

Transform = Callable[[pl.DataFrame, bytes], pl.DataFrame]


@dataclass(frozen=True)
class Fact:
    """How one fact table is read, transformed and keyed."""

    table: str
    key: str
    query: Callable[[], extract.Query]
    source_key: InstrumentedAttribute[int]  # the operational column the refreshed ids are matched on
    shape: Transform


FACTS: tuple[Fact, ...] = (
    Fact("fct_prescriptions", "prescription_id", extract.prescriptions, Prescription.id, transform.prescriptions),
    # Items are part of their prescription: refreshed by prescription id.
    Fact(
        "fct_prescription_items",
        "prescription_id",
        extract.prescription_items,
        PrescriptionItem.prescription_id,
        transform.prescription_items,
    ),
    Fact("fct_dispenses", "dispense_id", extract.dispenses, Dispense.id, transform.dispenses),
    Fact("fct_admissions", "admission_id", extract.admissions, Admission.id, transform.admissions),
    Fact("fct_visits", "encounter_id", extract.visits, Encounter.id, transform.visits),
)


@dataclass
class Report:
    """What a run did: rows loaded per table, how long it took."""

    mode: str
    first_event_id: int
    last_event_id: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        """Rows written in all tables."""
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        """Throughput of the run."""
        return self.total / self.seconds if self.seconds else 0.0

    def summary(self) -> str:
        """A few lines for the terminal."""
        events = (
            f"outbox events {self.first_event_id + 1:,} … {self.last_event_id:,}"
            if self.last_event_id > self.first_event_id
            else "no new outbox events"
        )
        lines = [f"ETL {self.mode}: {events}"]
        width = max((len(name) for name in self.rows), default=5)
        lines += [f"  {name:<{width}} {count:>12,}" for name, count in self.rows.items()]
        lines.append(f"  {'total':<{width}} {self.total:>12,}")
        lines.append(f"Done in {self.seconds:,.1f} s: {self.rows_per_second:,.0f} rows/s")
        return "\n".join(lines)


def _watermark(con: duckdb.DuckDBPyConnection) -> int | None:
    row = con.execute("SELECT last_event_id FROM etl_watermark").fetchone()
    return None if row is None else int(row[0])


def _fact_frames(conn: Connection, fact: Fact, ids: set[int] | None) -> Iterator[pl.DataFrame]:
    if ids is None:
        # A whole table, in no particular order: sorting it would make the database finish the join before the first
        # row comes (the warehouse is keyed, and the roll-ups are stored in their own order).
        yield from extract.frames(conn, fact.query().order_by(None))
    else:
        yield from extract.frames_for(conn, fact.query(), fact.source_key, sorted(ids))


def _refreshed(changes: extract.Changes, fact: Fact) -> set[int]:
    return {
        "fct_prescriptions": changes.prescriptions,
        "fct_prescription_items": changes.prescriptions,
        "fct_dispenses": changes.dispenses,
        "fct_admissions": changes.admissions,
        "fct_visits": changes.visits,
    }[fact.table]


def _note_touched(con: duckdb.DuckDBPyConnection, changes: extract.Changes) -> None:
    aggregate.note_touched(
        con, prescriptions=changes.prescriptions, dispenses=changes.dispenses, admissions=changes.admissions
    )


def _naive(value: object) -> datetime | None:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _surnames(conn: Connection) -> list[str]:
    """Every surname in the operational database: the checks refuse a warehouse value equal to one."""
    query = union(select(Patient.surname), select(Cabinet.surname))
    return [str(row[0]) for row in conn.execute(query) if row[0]]


def _load_dimensions(conn: Connection, con: duckdb.DuckDBPyConnection, report: Report) -> None:
    # Dimensions are small (thousands of rows): reloaded whole every run, so a renamed or moved one is never stale.
    report.rows["dim_regions"] = load.replace_all(con, "dim_regions", extract.whole(conn, extract.regions()))
    report.rows["dim_organizations"] = load.replace_all(
        con, "dim_organizations", extract.whole(conn, extract.organizations())
    )
    report.rows["dim_drugs"] = load.replace_all(
        con, "dim_drugs", transform.atc_levels(extract.whole(conn, extract.drugs()))
    )
    cabinets = extract.whole(conn, extract.cabinets())
    report.rows["dim_users"] = load.replace_all(con, "dim_users", transform.users(cabinets))
    events = transform.user_events(cabinets, extract.whole(conn, extract.reviews()))
    report.rows["fct_user_events"] = load.replace_all(con, "fct_user_events", events)
    # Notices and requests are few (thousands a year) and change state in place: reloaded whole, like the above.
    report.rows["fct_notices"] = load.replace_all(
        con, "fct_notices", transform.notices(extract.whole(conn, extract.notices()))
    )
    report.rows["fct_installation_requests"] = load.replace_all(
        con,
        "fct_installation_requests",
        transform.installation_requests(extract.whole(conn, extract.installation_requests())),
    )


def run(engine: Engine, warehouse_path: Path, key: bytes, *, rebuild: bool = False, progress: bool = True) -> Report:
    """Bring the warehouse at `warehouse_path` up to the operational database and publish it (or rebuild it)."""
    started = time.perf_counter()
    previous = snapshots.published_rows(warehouse_path)  # before building: the days only the published one holds
    with building(warehouse_path, fresh=rebuild) as con, engine.connect() as conn:
        after = _watermark(con)
        full = after is None
        # The run reads events up to here; later ones are the next run's, even if their rows are read now.
        upto = extract.last_event_id(conn)
        report = Report("rebuild" if full else "incremental", after or 0, upto)
        changes = None if full else extract.changes(conn, after or 0, upto)
        con.execute("BEGIN TRANSACTION")
        scope: dict[str, str] = {}  # what this run wrote, for the checks (an incremental run: its rows only)
        with tqdm(unit="rows", file=sys.stderr, disable=not progress, desc=f"ETL {report.mode}") as bar:
            dimensions = aggregate.dimensions_fingerprint(con)
            _load_dimensions(conn, con, report)
            bar.update(report.total)
            if changes is not None:
                _note_touched(con, changes)  # the dates the changed facts sit on before they are replaced
            for fact in FACTS:
                ids = None if changes is None else _refreshed(changes, fact)
                report.rows[fact.table] = 0
                if ids is not None:
                    if not ids:
                        continue
                    load.delete_keys(con, fact.table, fact.key, ids)
                    scope[fact.table] = load.keep_keys(con, f"etl_loaded_{fact.table}", fact.key, ids)
                for frame in _fact_frames(conn, fact, ids):
                    written = load.insert(con, fact.table, fact.shape(frame, key))
                    report.rows[fact.table] += written
                    bar.update(written)
                    bar.set_postfix_str(f"{report.total / (time.perf_counter() - started):,.0f} rows/s")
            codes = load.missing_diagnoses(con)
            report.rows["dim_diagnoses"] = load.insert(con, "dim_diagnoses", transform.diagnoses(codes))
            if changes is not None:
                _note_touched(con, changes)  # and the dates they sit on now
        con.execute(
            "INSERT OR REPLACE INTO etl_watermark VALUES (TRUE, ?, ?, ?, ?, ?)",
            [
                upto,
                _naive(extract.latest(conn, Organization.updated_at)),
                _naive(extract.latest(conn, Cabinet.updated_at)),
                _naive(extract.latest(conn, Patient.updated_at)),
                datetime.now(UTC).replace(tzinfo=None),
            ],
        )
        today = calendar.today()
        report.rows[snapshots.TABLE] = snapshots.carry_over(con, previous) + snapshots.take(con, today)
        # A moved organization or a re-coded drug changes rows of every date: then the roll-ups are rebuilt whole.
        whole = aggregate.refresh(con, full=full or aggregate.dimensions_fingerprint(con) != dimensions)
        # Dimensions and the user tables are reloaded whole and checked whole; carried-over snapshots were checked
        # when they were taken.
        scope |= aggregate.check_scope(whole) | {snapshots.TABLE: f"snapshot_date = DATE '{today.isoformat()}'"}
        checks.check(con, forbidden_words=_surnames(conn), scope=None if full else scope)
        con.execute("COMMIT")
    report.seconds = time.perf_counter() - started
    return report
