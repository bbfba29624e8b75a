"""Buffered bulk writing: rows per table, the clinical_event of every clinical row, driver-level inserts in FK order."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Column, Connection, Date, Table

import ehealth.models  # noqa: F401  (registers every table in Base.metadata)
from db import Base, UTCDateTime
from ehealth.clinical import ClinicalRecord
from ehealth.demo.clock import Ids

Row = dict[str, Any]

# Parents before children, so every foreign key points at a row already written (SQLite checks immediately).
TABLE_ORDER: tuple[str, ...] = (
    "organization",
    "organization_module",
    "department",
    "ward",
    "bed",
    "drug",
    "cabinet",
    "login_identity",
    "installation_request",
    "requested_user",
    "employment_notice",
    "inventory_campaign",
    "inventory_review",
    "patient",
    "encounter",
    "referral",
    "condition",
    "observation",
    "lab_result",
    "instrumental_result",
    "treatment_record",
    "allergy",
    "admission",
    "bed_assignment",
    "discharge",
    "prescription",
    "prescription_item",
    "dispense",
    "clinical_event",
)

# Tables with the ClinicalRecord mixin: the ORM listener writes a clinical_event for each of their rows.
CLINICAL_TABLES: frozenset[str] = frozenset(
    str(mapper.local_table.description) for mapper in Base.registry.mappers if issubclass(mapper.class_, ClinicalRecord)
)

# Tables whose ids the generator assigns (all but the association table organization_module).
ID_TABLES: tuple[str, ...] = tuple(name for name in TABLE_ORDER if name != "organization_module")


class Sink:
    """Collects rows in memory and writes them table by table; counts what it wrote."""

    def __init__(self, conn: Connection, ids: Ids) -> None:
        self.conn = conn
        self.ids = ids
        self.buffers: dict[str, list[Row]] = {name: [] for name in TABLE_ORDER}
        self.counts: dict[str, int] = dict.fromkeys(TABLE_ORDER, 0)
        self.pending = 0
        self._events = self.buffers["clinical_event"]
        self._kinds = {name: f"{name}.created" for name in CLINICAL_TABLES}
        self._sqlite = conn.dialect.name == "sqlite"
        self._tables: dict[str, Table] = {name: Base.metadata.tables[name] for name in TABLE_ORDER}

    def add(self, table: str, row: Row) -> None:
        """Queue a row of `table`."""
        self.buffers[table].append(row)
        self.pending += 1

    def clinical(self, table: str, row: Row) -> None:
        """Queue a clinical row and its `<table>.created` event, as ehealth.outbox would write it."""
        self.buffers[table].append(row)
        self._events.append(
            {
                "id": self.ids.take("clinical_event"),
                # The event happened when the row was entered, not when the demo was loaded.
                "occurred_at": row["created_at"],
                "kind": self._kinds[table],
                "patient_id": row["patient_id"],
                "organization_id": row["organization_id"],
                "entity": table,
                "entity_id": row["id"],
            }
        )
        self.pending += 2

    def flush(self) -> int:
        """Write every queued row (parents first) in the connection's transaction; the number written."""
        written = 0
        for name in TABLE_ORDER:
            rows = self.buffers[name]
            if rows:
                self._write(self._tables[name], rows)
                self.counts[name] += len(rows)
                written += len(rows)
                rows.clear()
        self.pending = 0
        return written

    def _write(self, table: Table, rows: list[Row]) -> None:
        """Insert at driver level: SQLAlchemy's per-value processing cost more than SQLite's insert itself.

        The values are converted here exactly as the column types would store them (see `_converter`).
        """
        groups: dict[tuple[str, ...], list[Row]] = {}
        for row in rows:
            groups.setdefault(tuple(row), []).append(row)
        for columns, members in groups.items():
            take = itemgetter(*columns)
            converted = [
                (position, convert)
                for position, column in enumerate(columns)
                if (convert := _converter(table.c[column], self._sqlite)) is not None
            ]
            values: list[tuple[Any, ...]] = []
            for row in members:
                value = take(row)  # a tuple: every table has more than one column
                if converted:
                    items = list(value)
                    for position, convert in converted:
                        if items[position] is not None:
                            items[position] = convert(items[position])
                    value = tuple(items)
                values.append(value)
            names = ", ".join(f'"{column}"' for column in columns)
            if self._sqlite:
                markers = ", ".join(["?"] * len(columns))
                self.conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({markers})', values)  # noqa: S608  (names from our metadata)
            else:
                # COPY is PostgreSQL's bulk path, several times faster than INSERT; same transaction as the rest.
                driver = self.conn.connection.driver_connection
                with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:  # type: ignore[union-attr]
                    for value in values:
                        copy.write_row(value)


@lru_cache(maxsize=65_536)  # a row's created_at, updated_at and event time are often the same instant
def _sqlite_timestamp(value: datetime) -> str:
    """A UTC timestamp as UTCDateTime stores it on SQLite (naive UTC, SQLAlchemy's text format)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _aware(value: datetime) -> datetime:
    """Refuse a naive datetime, as UTCDateTime does."""
    if value.tzinfo is None:
        raise ValueError("naive datetime in demo data")
    return value


def _sqlite_date(value: date) -> str:
    return value.isoformat()


def _converter(column: Column[Any], sqlite: bool) -> Callable[[Any], Any] | None:
    """How one column's Python value becomes the driver's parameter (None: passed through as it is)."""
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return _sqlite_timestamp if sqlite else _aware
    if isinstance(kind, JSON):
        return json.dumps
    if isinstance(kind, Date) and sqlite:
        return _sqlite_date
    return None
