"""The ETL's columnar read (etl.columnar) gives the frames the SQLAlchemy path gives, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import DateTime, Engine, Numeric, func, select, text, update
from sqlalchemy.engine import make_url

from db import UTCDateTime
from ehealth.demo import generate
from ehealth.emr.models import Encounter, EncounterKind
from ehealth.hospital.models import Admission, Discharge
from ehealth.outbox import ClinicalEvent
from ehealth.prescription.models import Prescription
from etl import columnar, extract
from tests import own_database

# The demo rows are committed: a database of this module's own on each backend (tests/own_database.py).
database_url = own_database.database_url
engine = own_database.engine

QUERIES: dict[str, Callable[[], extract.Query]] = {
    name: getattr(extract, name)
    for name in (
        "prescriptions",
        "prescription_items",
        "dispenses",
        "admissions",
        "visits",
        "regions",
        "organizations",
        "drugs",
        "cabinets",
        "notices",
        "installation_requests",
        "reviews",
    )
}
# What extract.changes reads of the outbox (an IN list of constants).
QUERIES["outbox events"] = lambda: (
    select(ClinicalEvent.entity, ClinicalEvent.entity_id)
    .where(ClinicalEvent.id > 10, ClinicalEvent.entity.in_(extract._FOLLOWED))
    .order_by(ClinicalEvent.id)
)
# Batch sizes: tiny ones put a column's first non-NULL value in a later batch than its first NULLs; the ETL's own.
BATCHES = (5, 7, extract.BATCH_ROWS)


@pytest.fixture(scope="module")
def source(engine: Engine) -> Engine:
    """A demo database (150 patients) where some nullable columns are NULL in their first rows and set later."""
    generate(engine, patients=150, seed=7, today=date(2026, 3, 16), progress=False)
    with engine.begin() as conn:
        # The last visit gets an outcome: a text column NULL through many batches, then set.
        last_visit = select(func.max(Encounter.id)).where(Encounter.kind == EncounterKind.OUTPATIENT)
        conn.execute(update(Encounter).where(Encounter.id == last_visit.scalar_subquery()).values(outcome="recovered"))
        # The first stay's discharge is withdrawn: its outer-joined discharge columns are NULL in the first row.
        first_stay = select(func.min(Admission.id)).scalar_subquery()
        conn.execute(
            update(Discharge)
            .where(Discharge.admission_id == first_stay)
            .values(status="entered_in_error", status_reason="test", status_changed_at=datetime.now(UTC))
        )
    return engine


def sqlalchemy_frames(engine: Engine, query: extract.Query, rows: int) -> list[pl.DataFrame]:
    """The frames the ETL read before etl.columnar: pl.read_database through SQLAlchemy, `rows` per batch."""
    with engine.connect() as conn:
        batches = pl.read_database(query, conn, iter_batches=True, batch_size=rows, infer_schema_length=None)
        return list(batches)


def columnar_frames(
    engine: Engine, query: extract.Query, rows: int, monkeypatch: pytest.MonkeyPatch
) -> list[pl.DataFrame]:
    """The frames extract.frames gives now, BATCH_ROWS set to `rows`."""
    monkeypatch.setattr(extract, "BATCH_ROWS", rows)
    with engine.connect() as conn:
        return list(extract.frames(conn, query))


def assert_same_frames(got: list[pl.DataFrame], expected: list[pl.DataFrame], schema: dict[str, pl.DataType]) -> None:
    """Same batches, columns, values and dtypes; where the SQLAlchemy path saw only NULLs in a batch it made an
    untyped Null column, which the columnar read types as declared (its only difference)."""
    assert [frame.height for frame in got] == [frame.height for frame in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine.schema == schema
        untyped = [name for name, dtype in theirs.schema.items() if dtype == pl.Null]
        assert all(mine[name].null_count() == mine.height for name in untyped)
        assert_frame_equal(mine, theirs.with_columns(pl.col(name).cast(schema[name]) for name in untyped))


def readers() -> list[threading.Thread]:
    """The columnar read's worker threads still alive."""
    return [thread for thread in threading.enumerate() if thread.name == "etl-columnar-read"]


@pytest.mark.parametrize("rows", BATCHES)
@pytest.mark.parametrize("name", QUERIES)
def test_every_query_reads_as_the_sqlalchemy_path_does(
    source: Engine, name: str, rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = QUERIES[name]()
    expected = sqlalchemy_frames(source, query, rows)
    assert expected, f"the demo database has no {name}"
    assert_same_frames(columnar_frames(source, query, rows, monkeypatch), expected, columnar.dtypes(query))
    with source.connect() as conn:
        assert_frame_equal(extract.whole(conn, query), pl.concat(columnar_frames(source, query, rows, monkeypatch)))
    assert not readers()


@pytest.mark.parametrize(
    ("name", "column", "dtype"),
    [
        ("prescriptions", "cancelled_at", columnar.UTC_TIMESTAMP),
        ("admissions", "discharged_at", columnar.UTC_TIMESTAMP),
        ("admissions", "outcome", pl.String()),
        ("visits", "outcome", pl.String()),
        ("cabinets", "blocked_at", columnar.UTC_TIMESTAMP),
    ],
)
def test_a_column_null_all_through_the_first_batch_keeps_its_type(
    source: Engine, name: str, column: str, dtype: pl.DataType, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = QUERIES[name]()
    values = pl.concat(sqlalchemy_frames(source, query, 10**9))[column]
    first = int(values.is_not_null().arg_true()[0])
    assert first >= 1, f"{name}.{column}: the data must start with NULLs"
    # One batch of NULLs only, then the set value in the second (ADBC SQLite's inference would take int64).
    frames = columnar_frames(source, query, first, monkeypatch)
    assert frames[0][column].null_count() == frames[0].height
    assert frames[1][column][0] is not None
    assert all(frame.schema[column] == dtype for frame in frames)
    assert pl.concat(frames)[column].to_list() == values.cast(dtype).to_list()


def test_frames_are_bounded_and_hold_every_row(source: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with source.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(Prescription)).scalar_one())
    frames = columnar_frames(source, extract.prescriptions(), 30, monkeypatch)
    assert sum(frame.height for frame in frames) == total > 60
    assert all(frame.height == 30 for frame in frames[:-1]) and 0 < frames[-1].height <= 30
    assert pl.concat(frames)["prescription_id"].is_sorted()  # the query's order, across batches


def test_a_reader_dropped_early_is_closed(source: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract, "BATCH_ROWS", 5)
    with source.connect() as conn:
        frames = extract.frames(conn, extract.reviews())
        assert next(frames).height == 5
        frames.close()
    assert not readers()


def test_an_error_while_reading_reaches_the_caller(source: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    rebatched = columnar._rebatched

    def failing(batches: Iterator[pl.DataFrame], rows: int) -> Iterator[pl.DataFrame]:
        yield next(rebatched(batches, rows))
        raise RuntimeError("the driver failed")

    monkeypatch.setattr(columnar, "_rebatched", failing)
    monkeypatch.setattr(extract, "BATCH_ROWS", 5)
    with source.connect() as conn, pytest.raises(RuntimeError, match="the driver failed"):
        for _frame in extract.frames(conn, extract.reviews()):
            pass
    assert not readers()


def test_sqlite_timestamps_in_other_shapes_are_read_as_sqlalchemy_reads_them(
    source: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    if source.dialect.name != "sqlite":
        pytest.skip("PostgreSQL sends typed timestamps")
    with source.begin() as conn:
        ids = conn.execute(text("SELECT id FROM inventory_review ORDER BY id LIMIT 3")).scalars().all()
        # CURRENT_TIMESTAMP's whole seconds, an ISO 'T' with an offset, a date alone.
        for review_id, stored in zip(
            ids, ("2026-01-02 03:04:05", "2026-01-02T08:04:05+05:00", "2026-01-03"), strict=True
        ):
            conn.execute(
                text("UPDATE inventory_review SET reviewed_at = :at WHERE id = :id"), {"at": stored, "id": review_id}
            )
    query = extract.reviews()
    got = columnar_frames(source, query, 50, monkeypatch)
    assert_same_frames(got, sqlalchemy_frames(source, query, 50), columnar.dtypes(query))
    assert got[0]["reviewed_at"][:3].to_list() == [
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 1, 3, tzinfo=UTC),
    ]


@pytest.mark.parametrize("name", QUERIES)
def test_sqlite_through_the_connection_s_own_cursor_when_adbc_cannot_open_the_file(
    source: Engine, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if source.dialect.name != "sqlite":
        pytest.skip("only a SQLite database can be one ADBC cannot open (in memory)")
    monkeypatch.setattr(columnar, "sqlite_file", lambda _conn: None)
    query = QUERIES[name]()
    got = columnar_frames(source, query, 7, monkeypatch)
    assert_same_frames(got, sqlalchemy_frames(source, query, 7), columnar.dtypes(query))


def test_dtypes_follow_the_selected_columns_types() -> None:
    assert columnar.dtypes(extract.prescriptions()) == {
        "prescription_id": pl.Int64(),
        "patient_id": pl.Int64(),
        "birth_date": pl.Date(),
        "sex": pl.String(),
        "patient_region_id": pl.Int64(),
        "organization_id": pl.Int64(),
        "prescriber_key": pl.Int64(),
        "icd10_code": pl.String(),
        "category": pl.String(),
        "state": pl.String(),
        "record_status": pl.String(),
        "confirmation": pl.String(),
        "issued_at": columnar.UTC_TIMESTAMP,
        "valid_until": pl.Date(),
        "repeats_allowed": pl.Int64(),
        "cancelled_at": columnar.UTC_TIMESTAMP,
    }
    assert columnar.dtype(UTCDateTime()) == pl.Datetime("us", "UTC")
    assert columnar.dtype(DateTime()) == pl.Datetime("us")
    for unknown in (DateTime(timezone=True), Numeric(10, 2)):
        with pytest.raises(TypeError, match="no columnar dtype"):
            columnar.dtype(unknown)


def test_only_the_etl_s_constants_are_inlined(source: Engine) -> None:
    issued_after = select(Prescription.id).where(Prescription.issued_at > datetime(2026, 1, 1, tzinfo=UTC))
    with source.connect() as conn, pytest.raises(TypeError, match="cannot be inlined"):
        next(extract.frames(conn, issued_after))
    backslash = select(Prescription.id).where(Prescription.icd10_code == "A\\B")
    with source.connect() as conn, pytest.raises(TypeError, match="cannot be inlined"):
        next(extract.frames(conn, backslash))


def test_the_libpq_uri_of_an_engine_url() -> None:
    url = make_url("postgresql+psycopg://etl:p%40ss@db.example:5433/ehealth?sslmode=require")
    assert columnar.libpq_uri(url) == "postgresql://etl:p%40ss@db.example:5433/ehealth?sslmode=require"
