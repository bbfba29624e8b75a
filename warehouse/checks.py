"""Checks run on the snapshot before it is published; any failure aborts the publish."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import duckdb

from warehouse.schema import KEYS

# What each coded column may hold (the operational enums); a new value means the ETL or the enum changed.
ACCEPTED: dict[tuple[str, str], tuple[str, ...]] = {
    ("fct_prescriptions", "state"): ("active", "partially_dispensed", "dispensed", "cancelled", "expired"),
    ("fct_prescriptions", "category"): ("regular", "chronic", "reimbursed", "controlled"),
    ("fct_admissions", "admission_type"): ("emergency", "planned", "transfer"),
    ("fct_admissions", "outcome"): ("recovered", "improved", "unchanged", "worsened", "died", "transferred"),
    ("fct_visits", "state"): ("open", "closed", "cancelled"),
    ("dim_users", "role"): (
        "doctor",
        "nurse",
        "registrar",
        "pharmacist",
        "manager",
        "analyst",
        "admin",
        "integrator",
    ),
    ("dim_users", "status"): ("active", "blocked", "archived", "purged"),
    ("fct_user_events", "event"): ("created", "blocked", "archived", "reviewed"),
    ("fct_prescriptions", "sex"): ("male", "female"),
    ("fct_notices", "kind"): ("termination", "transfer"),
    ("fct_notices", "action"): ("rights_updated", "blocked_archived"),
    ("fct_installation_requests", "state"): ("received", "in_progress", "installed", "rejected"),
}
# Rules every row must keep, as (table, SQL condition): a decided notice or request has its date and its verdict.
CONSISTENT: tuple[tuple[str, str], ...] = (
    ("fct_notices", "(action IS NULL) = (action_date IS NULL) AND (action_date IS NULL) = (action_on_time IS NULL)"),
    (
        "fct_installation_requests",
        "(decided_date IS NULL) = (state IN ('received', 'in_progress'))"
        " AND (decided_date IS NULL) = (on_time IS NULL)",
    ),
)
RECORD_STATUSES = ("active", "entered_in_error", "superseded")
# A PINFL is 14 digits; no warehouse text may hold anything shaped like one.
PINFL_PATTERN = r"\d{14}"
# The patient pseudonym is a 64-digit hex HMAC: about one in fifteen holds 14 decimal digits in a row by chance, so
# it is held to its own exact shape instead (which a PINFL, a name or a document number can never pass).
PSEUDONYM_COLUMNS = frozenset({"patient_key"})
PSEUDONYM_PATTERN = r"^[0-9a-f]{64}$"


class WarehouseCheckFailed(RuntimeError):
    """The snapshot breaks a rule; it is not published."""


def _varchar_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    rows = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = 'main' AND data_type = 'VARCHAR' ORDER BY table_name, column_name"
    ).fetchall()
    return [(str(table), str(column)) for table, column in rows]


# Which rows of a table to check (a SQL condition on its columns), by table; a table not named is checked whole.
Scope = Mapping[str, str]


def _rows(scope: Scope, table: str) -> str:
    return scope.get(table, "TRUE")


def failures(
    con: duckdb.DuckDBPyConnection, *, forbidden_words: Iterable[str] = (), scope: Scope | None = None
) -> list[str]:
    """Every broken rule of the snapshot, described; empty when it may be published.

    `scope` limits a table's checks to the rows a run wrote (an incremental run at national scale would otherwise
    check a hundred million unchanged rows again): the rows outside it were checked when they were written.
    """
    rows = scope or {}
    return [
        *_key_failures(con, rows),
        *_value_failures(con, rows),
        *_consistency_failures(con, rows),
        *_identity_failures(con, forbidden_words, rows),
    ]


def _key_failures(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[str]:
    problems: list[str] = []
    for table, key in KEYS.items():
        # A roll-up's key is a column list: null if any of them is, distinct as a row.
        columns = [column.strip() for column in key.split(",")]
        null = " OR ".join(f"{column} IS NULL" for column in columns)
        distinct = f"({key})" if len(columns) > 1 else key
        nulls, duplicates = con.execute(
            f"SELECT count(*) FILTER (WHERE {null}), count(*) - count(DISTINCT {distinct}) FROM {table}"  # noqa: S608
            f" WHERE {_rows(scope, table)}"
        ).fetchone() or (0, 0)
        if nulls:
            problems.append(f"{table}.{key}: {nulls} null keys")
        if duplicates:
            problems.append(f"{table}.{key}: {duplicates} duplicate keys")
    return problems


def _value_failures(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[str]:
    problems: list[str] = []
    accepted = dict(ACCEPTED)
    for table in ("fct_prescriptions", "fct_dispenses", "fct_admissions", "fct_visits"):
        accepted[(table, "record_status")] = RECORD_STATUSES
    for (table, column), values in accepted.items():
        allowed = ", ".join(f"'{value}'" for value in values)
        found = con.execute(
            f"SELECT DISTINCT {column} FROM {table} WHERE {column} IS NOT NULL AND {column} NOT IN ({allowed})"  # noqa: S608
            f" AND {_rows(scope, table)}"
        ).fetchall()
        if found:
            problems.append(f"{table}.{column}: unexpected values {sorted(str(row[0]) for row in found)}")
    return problems


def _consistency_failures(con: duckdb.DuckDBPyConnection, scope: Scope) -> list[str]:
    problems: list[str] = []
    for table, condition in CONSISTENT:
        broken = con.execute(
            f"SELECT count(*) FROM {table} WHERE NOT ({condition}) AND {_rows(scope, table)}"  # noqa: S608
        ).fetchone()
        if broken and broken[0]:
            problems.append(f"{table}: {broken[0]} rows break {condition}")
    return problems


def _identity_failures(con: duckdb.DuckDBPyConnection, forbidden_words: Iterable[str], scope: Scope) -> list[str]:
    problems: list[str] = []
    words = [word for word in forbidden_words if word]
    columns = _varchar_columns(con)
    for table, column in _suspect_columns(con, columns, words, scope):
        rows = _rows(scope, table)
        if column in PSEUDONYM_COLUMNS:
            wrong = con.execute(
                f"SELECT count(*) FROM {table} WHERE NOT regexp_full_match({column}, ?) AND {rows}",  # noqa: S608
                [PSEUDONYM_PATTERN],
            ).fetchone()
            if wrong and wrong[0]:
                problems.append(f"{table}.{column}: {wrong[0]} values that are not a 64-hex pseudonym")
        else:
            shaped = con.execute(
                f"SELECT count(*) FROM {table} WHERE regexp_matches({column}, ?) AND {rows}",  # noqa: S608
                [PINFL_PATTERN],
            ).fetchone()
            if shaped and shaped[0]:
                problems.append(f"{table}.{column}: {shaped[0]} PINFL-shaped values")
        if words:
            named = con.execute(
                f"SELECT count(*) FROM {table} WHERE lower({column}) IN (SELECT lower(unnest(?))) AND {rows}",  # noqa: S608
                [words],
            ).fetchone()
            if named and named[0]:
                problems.append(f"{table}.{column}: {named[0]} values equal to a person's name")
    return problems


def _suspect_columns(
    con: duckdb.DuckDBPyConnection, columns: list[tuple[str, str]], words: list[str], scope: Scope
) -> list[tuple[str, str]]:
    """The columns with a value of the wrong shape or equal to a name, found on each column's distinct values.

    One query over all columns: most hold a few distinct values (codes, bands, states) however many rows, so the
    patterns and the name list are tried on far fewer values than rows; the pseudonym columns share their values
    (the same patients in every fact table) and are tried together. The suspects are counted row by row after.
    """
    pseudonyms = [index for index, (_table, column) in enumerate(columns) if column in PSEUDONYM_COLUMNS]
    others = [index for index in range(len(columns)) if index not in pseudonyms]
    named = "bool_or(lower(v) IN (SELECT word FROM words))"
    parts = [
        f"SELECT [{index}] AS i, bool_or(regexp_matches(v, $pinfl)) OR {named} AS suspect"  # noqa: S608
        f" FROM (SELECT DISTINCT {columns[index][1]} AS v FROM {columns[index][0]}"
        f" WHERE {_rows(scope, columns[index][0])})"
        for index in others
    ]
    if pseudonyms:
        values = " UNION ".join(
            f"SELECT {columns[index][1]} AS v FROM {columns[index][0]} WHERE {_rows(scope, columns[index][0])}"  # noqa: S608
            for index in pseudonyms
        )
        parts.append(
            f"SELECT {pseudonyms} AS i, bool_or(NOT regexp_full_match(v, $pseudonym)) OR {named} FROM ({values})"  # noqa: S608
        )
    if not parts:
        return []
    rows = con.execute(
        "WITH words AS (SELECT DISTINCT lower(unnest(CAST($words AS VARCHAR[]))) AS word) " + " UNION ALL ".join(parts),
        {"pseudonym": PSEUDONYM_PATTERN, "pinfl": PINFL_PATTERN, "words": words},
    ).fetchall()
    return [columns[int(index)] for indexes, suspect in rows if suspect for index in indexes]


def check(con: duckdb.DuckDBPyConnection, *, forbidden_words: Iterable[str] = (), scope: Scope | None = None) -> None:
    """Raise WarehouseCheckFailed listing every broken rule; return when the snapshot may be published."""
    problems = failures(con, forbidden_words=forbidden_words, scope=scope)
    if problems:
        raise WarehouseCheckFailed("warehouse checks failed: " + "; ".join(problems))
