"""The identity checks of the snapshot: every text column, values of the wrong shape or equal to a name, counted."""

from __future__ import annotations

import duckdb
import pytest

from warehouse import checks, schema

PSEUDONYM = "0123456789abcdef" * 4


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    """An empty snapshot with two more tables of text columns (the checks take every VARCHAR column)."""
    con = duckdb.connect()
    schema.create(con)
    con.execute("CREATE TABLE extra (patient_key VARCHAR, note VARCHAR)")
    con.execute("CREATE TABLE other (patient_key VARCHAR)")
    return con


def test_clean_text_passes(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("INSERT INTO extra VALUES (?, 'chronic'), (?, NULL), (NULL, '1234567890123')", [PSEUDONYM, PSEUDONYM])
    con.execute("INSERT INTO other VALUES (?), (NULL)", [PSEUDONYM[::-1]])
    assert checks.failures(con, forbidden_words=["Karimov", ""]) == []
    assert checks.failures(con) == []


def test_each_broken_column_is_reported_with_its_rows(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "INSERT INTO extra VALUES (?, 'Karimov'), (?, 'karimov'), ('XYZ', NULL), ('XYZ', 'id 12345678901234'),"
        " (NULL, 'ok'), (upper(?), 'ok')",
        [PSEUDONYM, PSEUDONYM, PSEUDONYM],
    )
    con.execute("INSERT INTO other VALUES (?), (?), ('Karimov')", [PSEUDONYM, PSEUDONYM[::-1]])
    con.execute("INSERT INTO dim_regions VALUES (1726, 'UZ-TK', 'Toshkent', 'Ташкент', 'KARIMOV')")
    problems = checks.failures(con, forbidden_words=["KARIMOV", ""])
    # Rows, not distinct values: 'XYZ' twice; the upper-case hex is not a pseudonym either.
    assert sorted(problems) == sorted(
        [
            "extra.patient_key: 3 values that are not a 64-hex pseudonym",
            "extra.note: 1 PINFL-shaped values",
            "extra.note: 2 values equal to a person's name",
            "other.patient_key: 1 values that are not a 64-hex pseudonym",
            "other.patient_key: 1 values equal to a person's name",
            "dim_regions.name_en: 1 values equal to a person's name",
        ]
    )
    # Without names, only the shapes.
    assert sorted(checks.failures(con)) == sorted(problem for problem in problems if "name" not in problem)


def test_a_scope_checks_only_the_rows_a_run_wrote(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE TABLE run (id INTEGER, note VARCHAR)")
    con.execute("INSERT INTO run VALUES (1, 'id 12345678901234'), (2, 'fine')")
    con.execute(
        "INSERT INTO fct_user_events VALUES ('a', 1, 'renamed', NULL, TIMESTAMP '2026-01-01', DATE '2026-01-01')"
    )
    assert sorted(checks.failures(con)) == [
        "fct_user_events.event: unexpected values ['renamed']",
        "run.note: 1 PINFL-shaped values",
    ]
    # Rows outside the scope were checked when they were written; the rest of the snapshot is still checked whole.
    assert checks.failures(con, scope={"run": "id = 2"}) == ["fct_user_events.event: unexpected values ['renamed']"]
    assert checks.failures(con, scope={"run": "id = 2", "fct_user_events": "user_key = 2"}) == []
    assert checks.failures(con, scope={"run": "id = 1", "fct_user_events": "user_key = 2"}) == [
        "run.note: 1 PINFL-shaped values"
    ]


def test_a_fact_key_loaded_twice_is_reported(con: duckdb.DuckDBPyConnection) -> None:
    """The fact tables declare no primary key (its index is costly to keep): the checks are what catches a repeat."""
    row = (
        f"(7, '{PSEUDONYM}', 'male', 1980, '45-54', 1726, 1, 1, 'J18', 'regular', 'active', 'active', 'none',"
        " TIMESTAMP '2026-03-02 08:00', DATE '2026-03-02', DATE '2026-04-01', 0, NULL)"
    )
    con.execute(f"INSERT INTO fct_prescriptions VALUES {row}, {row}")
    assert checks.failures(con) == ["fct_prescriptions.prescription_id: 1 duplicate keys"]
    assert checks.failures(con, scope={"fct_prescriptions": "prescription_id = 7"}) == [
        "fct_prescriptions.prescription_id: 1 duplicate keys"
    ]
