"""The ETL's pure transformations: pseudonyms, age bands, local dates, ATC levels, diagnoses, user events."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime

import polars as pl
import pytest

from etl import transform

KEY = b"test-warehouse-key"


def test_patient_key_is_a_keyed_hash_of_the_id() -> None:
    expected = hmac.new(KEY, b"42", hashlib.sha256).hexdigest()
    assert transform.patient_key(KEY, 42) == expected
    assert transform.patient_key(b"other-key", 42) != expected
    assert len(expected) == 64


def test_patient_keys_hash_each_distinct_patient_once_with_the_same_keys() -> None:
    ids = pl.Series("patient_id", [3, 1, 3, 2, 1, 10**12, 3])
    keys = transform.patient_keys(KEY, ids)
    assert keys.name == "patient_key"
    assert keys.dtype == pl.String
    assert keys.to_list() == [transform.patient_key(KEY, int(value)) for value in ids]
    empty = transform.patient_keys(KEY, pl.Series("patient_id", [], dtype=pl.Int64))
    assert empty.dtype == pl.String
    assert empty.is_empty()


@pytest.mark.parametrize(
    ("age", "band"),
    [
        (0, "0-4"),
        (4, "0-4"),
        (5, "5-14"),
        (14, "5-14"),
        (15, "15-24"),
        (24, "15-24"),
        (25, "25-34"),
        (64, "55-64"),
        (65, "65+"),
        (101, "65+"),
    ],
)
def test_age_bands(age: int, band: str) -> None:
    assert transform.age_band(age) == band
    assert pl.select(transform.age_band_expr(pl.lit(age))).item() == band


def _prescriptions(issued: datetime, born: date) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "prescription_id": [1],
            "patient_id": [7],
            "birth_date": [born],
            "sex": ["female"],
            "patient_region_id": [1726],
            "organization_id": [3],
            "prescriber_key": [9],
            "icd10_code": ["J18.9"],
            "category": ["regular"],
            "state": ["active"],
            "record_status": ["active"],
            "confirmation": ["oneid"],
            "issued_at": [issued],
            "valid_until": [date(2026, 4, 1)],
            "repeats_allowed": [0],
            "cancelled_at": [None],
        }
    )


def test_prescriptions_drop_the_patient_id_and_birth_date_and_keep_local_dates() -> None:
    # 20:30 UTC on 31 December is already 1 January in Tashkent (UTC+5); the birthday is that day.
    issued = datetime(2025, 12, 31, 20, 30, tzinfo=UTC)
    row = transform.prescriptions(_prescriptions(issued, date(2011, 1, 1)), KEY).row(0, named=True)
    assert "patient_id" not in row and "birth_date" not in row
    assert row["patient_key"] == transform.patient_key(KEY, 7)
    assert row["issued_date"] == date(2026, 1, 1)
    assert (row["birth_year"], row["age_band"]) == (2011, "15-24")  # 15 on the local day, 14 the UTC day
    assert row["issued_at"] == datetime(2025, 12, 31, 20, 30)  # naive UTC
    assert row["cancelled_at"] is None


def test_age_counts_the_birthday_not_yet_reached() -> None:
    issued = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert transform.prescriptions(_prescriptions(issued, date(2021, 3, 2)), KEY)["age_band"].item() == "0-4"
    assert transform.prescriptions(_prescriptions(issued, date(2021, 3, 1)), KEY)["age_band"].item() == "5-14"


def test_naive_timestamps_from_sqlite_are_taken_as_utc() -> None:
    frame = _prescriptions(datetime(2026, 1, 10, 22, 0), date(1980, 1, 1))
    assert transform.prescriptions(frame, KEY)["issued_date"].item() == date(2026, 1, 11)


def test_admissions_length_of_stay_and_open_stays() -> None:
    frame = pl.DataFrame(
        {
            "admission_id": [1, 2],
            "patient_id": [1, 2],
            "birth_date": [date(1950, 6, 1), date(1990, 6, 1)],
            "sex": ["male", "female"],
            "patient_region_id": [1726, 1703],
            "admitted_at": [datetime(2026, 3, 1, 10, tzinfo=UTC), datetime(2026, 3, 5, 10, tzinfo=UTC)],
            "discharged_at": [datetime(2026, 3, 8, 9, tzinfo=UTC), None],
        }
    )
    out = transform.admissions(frame, KEY)
    assert out["length_of_stay_days"].to_list() == [7, None]
    assert out["discharge_date"].to_list() == [date(2026, 3, 8), None]
    assert out["age_band"].to_list() == ["65+", "35-44"]


def test_dispenses_hours_to_dispense() -> None:
    frame = pl.DataFrame(
        {
            "dispense_id": [1],
            "patient_id": [1],
            "birth_date": [date(1990, 1, 1)],
            "dispensed_at": [datetime(2026, 3, 2, 12, tzinfo=UTC)],
            "issued_at": [datetime(2026, 3, 1, 6, tzinfo=UTC)],
        }
    )
    out = transform.dispenses(frame, KEY)
    assert out["hours_to_dispense"].item() == pytest.approx(30.0)
    assert "issued_at" not in out.columns


def test_atc_levels() -> None:
    out = transform.atc_levels(pl.DataFrame({"atc_code": ["J01CA04"]})).row(0, named=True)
    assert [out[f"atc_level{level}"] for level in range(1, 6)] == ["J", "J01", "J01C", "J01CA", "J01CA04"]


def test_diagnoses_block_and_chapter() -> None:
    assert transform.diagnosis("E11.9") == ("E11.9", "E10-E14", "IV")
    assert transform.diagnosis("I10") == ("I10", "I10-I15", "IX")
    assert transform.diagnosis("Z99.99") == ("Z99.99", None, transform.UNKNOWN_CHAPTER)
    assert transform.diagnoses(["I10", "E11.9", "I10"])["icd10_code"].to_list() == ["E11.9", "I10"]


def test_user_events_one_per_timestamp_and_review() -> None:
    cabinets = pl.DataFrame(
        {
            "user_key": [1, 2],
            "created_at": [datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC)],
            "blocked_at": [None, datetime(2025, 6, 1, tzinfo=UTC)],
            "archived_at": [None, datetime(2025, 7, 1, tzinfo=UTC)],
        }
    )
    reviews = pl.DataFrame(
        {
            "review_id": [5],
            "user_key": [1],
            "decision": ["confirmed"],
            "reviewed_at": [datetime(2026, 1, 9, tzinfo=UTC)],
        }
    )
    events = transform.user_events(cabinets, reviews)
    assert sorted(events["event_key"].to_list()) == [
        "cabinet:1:created",
        "cabinet:2:archived",
        "cabinet:2:blocked",
        "cabinet:2:created",
        "review:5",
    ]
    review = events.filter(pl.col("event") == "reviewed").row(0, named=True)
    assert (review["user_key"], review["decision"], review["event_date"]) == (1, "confirmed", date(2026, 1, 9))


def test_patient_keys_remembered_from_earlier_batches_are_the_keyed_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transform, "_PSEUDONYMS", {})
    monkeypatch.setattr(transform, "PSEUDONYMS_KEPT", 4)
    long_key = b"k" * 100  # longer than SHA-256's block: hashed first, as HMAC does
    batches = [[1, 2, 3], [3, 4, 5, 6], [1, 6, 7], [2, 2, 8]]
    for ids in batches:
        for key in (KEY, long_key, KEY):
            keys = transform.patient_keys(key, pl.Series("patient_id", ids))
            assert keys.to_list() == [transform.patient_key(key, value) for value in ids]
    # Bounded: one key's pseudonyms at a time, emptied before a batch once the limit is reached.
    assert list(transform._PSEUDONYMS) == [KEY]
    assert len(transform._PSEUDONYMS[KEY]) < 4 + 3
