"""Generate the demo data set into an empty, migrated database: deterministic, bulk, bounded in memory."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Engine, func, select, text
from tqdm import tqdm

from ehealth.demo.catalogue import DRUGS
from ehealth.demo.clinical import PatientWriter
from ehealth.demo.clock import Clock, DemoRandom, Ids
from ehealth.demo.env import Env
from ehealth.demo.hospital import HospitalWriter
from ehealth.demo.organizations import OrganizationBuilder
from ehealth.demo.people import People
from ehealth.demo.prescriptions import Prescriber
from ehealth.demo.sink import ID_TABLES, Sink
from ehealth.demo.staff import StaffBuilder
from ehealth.identifiers import TASHKENT
from ehealth.reference.models import District, Organization, Region
from settings import Settings

# Rows held in memory before they are written (inside the batch's transaction): bounds memory whatever `batch` is.
CHUNK_ROWS = 20_000
# SQLite's page cache for the load (KiB, negative per SQLite's convention): the indexes' hot pages stay in memory.
SQLITE_CACHE_KIB = 131_072


class DemoDataError(RuntimeError):
    """The database is not one the demo generator may fill."""


@dataclass
class DemoReport:
    """What a generation run wrote and how fast."""

    rows: dict[str, int]
    seconds: float
    patients: int = 0
    seed: int = 0
    today: date | None = None

    @property
    def total(self) -> int:
        """Rows written over all tables."""
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        """Throughput of the whole run (setup included)."""
        return self.total / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """A human-readable report: rows per table, total, time and rows/s."""
        width = max(len(name) for name in self.rows) if self.rows else 10
        lines = [f"Demo data: {self.patients:,} patients, seed {self.seed}, today {self.today}"]
        lines += [f"  {name:<{width}} {count:>12,}" for name, count in self.rows.items() if count]
        lines.append(f"  {'total':<{width}} {self.total:>12,}")
        lines.append(f"Written in {self.seconds:,.1f} s: {self.rows_per_second:,.0f} rows/s")
        return "\n".join(lines)


def generate(
    engine: Engine,
    *,
    patients: int,
    seed: int,
    today: date | None = None,
    batch: int = 5000,
    progress: bool = True,
    seal_key: bytes | None = None,
) -> DemoReport:
    """Fill an empty, migrated database with demo data for `patients` patients; same arguments, same data."""
    if patients < 0:
        raise ValueError(f"patients must be 0 or more, not {patients}")
    if batch < 1:
        raise ValueError(f"batch must be at least 1, not {batch}")
    # Prescriptions are sealed with the portal's confirmation key, so that its pharmacies accept them.
    seal_key = Settings().confirmation_key.encode() if seal_key is None else seal_key
    today = today or datetime.now(TASHKENT).date()  # today in Uzbekistan, whatever the server's zone
    started = time.perf_counter()
    # One random stream for the whole run: the data depend on (patients, seed, today) only, not on `batch`.
    rng = DemoRandom(seed)
    clock = Clock(today)
    with engine.connect() as conn:
        _check_empty(conn)
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        try:
            ids = Ids(_largest_ids(conn))
            sink = Sink(conn, ids)
            env = Env(rng, clock, ids, sink)
            people = People(rng, today)
            districts = _districts(conn)
            network = OrganizationBuilder(env, districts).build(patients)
            drug_ids = _drugs(ids, sink)
            StaffBuilder(env, people, network).build()
            sink.flush()
            conn.commit()
            prescriber = Prescriber(env, network, drug_ids, seal_key=seal_key)
            writer = PatientWriter(env, people, network, prescriber, districts)
            HospitalWriter(env, network, writer, prescriber, patients)
            with tqdm(total=patients, unit="patient", file=sys.stderr, disable=not progress, desc="Demo data") as bar:
                done = 0
                while done < patients:
                    size = min(batch, patients - done)
                    for _ in range(size):
                        writer.patient()
                        if sink.pending >= CHUNK_ROWS:
                            sink.flush()
                    sink.flush()
                    conn.commit()
                    done += size
                    bar.update(size)
                    elapsed = time.perf_counter() - started
                    bar.set_postfix_str(f"{sum(sink.counts.values()) / elapsed:,.0f} rows/s")
            _analyze(conn)
        finally:
            conn.rollback()  # an interrupted batch is dropped whole; committed batches stay
            _restore(conn)
    return DemoReport(dict(sink.counts), time.perf_counter() - started, patients, seed, today)


def _analyze(conn: Connection) -> None:
    """Refresh the planner's statistics after the bulk load (autovacuum may be off, or not yet have run): without
    them PostgreSQL plans the ETL's joins for empty tables and its sorts spill to disk."""
    conn.exec_driver_sql("ANALYZE")
    conn.commit()


def _restore(conn: Connection) -> None:
    """Leave the connection and the database as the portal expects them, after a completed or interrupted run."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA cache_size=-2000")  # the connection returns to the pool with the default
    else:
        # Even after an interruption, the sequences must pass every id already committed.
        _advance_sequences(conn)
    conn.commit()


def _check_empty(conn: Connection) -> None:
    """Refuse a database with organizations (demo data never mixes with real data) or without the regions."""
    if conn.execute(select(func.count()).select_from(Organization)).scalar_one():
        raise DemoDataError(
            "The database already has organizations; demo data is only generated into an empty database."
        )
    if conn.execute(select(func.count()).select_from(Region)).scalar_one() != 14:
        raise DemoDataError("The database has no regions; run `python -m ehealth.manage migrate` first.")


def _largest_ids(conn: Connection) -> dict[str, int]:
    """The largest id stored per table: generated ids continue after it."""
    largest: dict[str, int] = {}
    for name in ID_TABLES:
        largest[name] = conn.execute(text(f'SELECT coalesce(max(id), 0) FROM "{name}"')).scalar_one()  # noqa: S608  (fixed table names)
    conn.commit()
    return largest


def _districts(conn: Connection) -> dict[int, list[tuple[int, str]]]:
    """District reference rows by region, when the database has them (the migrations do not load any)."""
    found: dict[int, list[tuple[int, str]]] = {}
    for row in conn.execute(select(District.id, District.region_id, District.name_uz).order_by(District.id)):
        found.setdefault(row.region_id, []).append((row.id, row.name_uz))
    return found


def _drugs(ids: Ids, sink: Sink) -> dict[str, int]:
    """Write the drug catalogue; the id of each medicine by ATC code."""
    drug_ids: dict[str, int] = {}
    for drug in DRUGS:
        drug_ids[drug.atc] = ids.take("drug")
        sink.add("drug", {
            "id": drug_ids[drug.atc], "inn": drug.inn, "brand": drug.brand, "form": drug.form, "strength": drug.strength,
            "unit": drug.unit, "pack_size": drug.pack_size, "atc_code": drug.atc, "category": str(drug.category),
            "eprescription_only": drug.eprescription_only, "is_active": True, "dose_unit": drug.dose_unit,
            "doses_per_unit": drug.doses_per_unit, "usual_dose": float(drug.dose), "usual_intakes": drug.intakes,
            "usual_days": drug.days, "route": drug.route,
        })  # fmt: skip
    return drug_ids


def _advance_sequences(conn: Connection) -> None:
    """Move PostgreSQL's id sequences past the ids written explicitly, so the portal's own inserts do not collide."""
    for name in ID_TABLES:
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence(:table, 'id'), max(id)) FROM \"{name}\" HAVING max(id) IS NOT NULL"  # noqa: S608  (fixed table names)
            ),
            {"table": f'"{name}"'},
        )
