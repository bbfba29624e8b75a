"""The operational database: declarative Base with a naming convention, engine, sessions, transactions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from flask import Flask, current_app
from sqlalchemy import (
    BigInteger,
    Constraint,
    DateTime,
    Dialect,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    UniqueConstraint,
    create_engine,
    event,
    func,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from ehealth.errors import ConstraintViolation
from ehealth.i18n import N_

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only kind of datetime the database accepts)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always returned timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes: a clinical record's time must be unambiguous."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use db.utcnow() or an aware datetime")
        value = value.astimezone(UTC)
        # SQLite has no time zones: store naive UTC there, aware UTC where the server keeps it.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Hand back an aware UTC datetime whatever the backend returned."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit keys for national volumes.
BigId = BigInteger().with_variant(Integer(), "sqlite")

IntPk = Annotated[int, mapped_column(BigId, primary_key=True, sort_order=-100)]
Timestamp = Annotated[datetime, mapped_column(UTCDateTime(), nullable=False, default=utcnow, server_default=func.now())]
# The ETL watermark column: bumped on every change by the ORM; raw SQL inserts get the server default.
UpdatedAt = Annotated[
    datetime, mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow, server_default=func.now())
]
OptTimestamp = Annotated[datetime | None, mapped_column(UTCDateTime(), nullable=True)]


def fk(target: str, *, nullable: bool = False, index: bool = True, ondelete: str | None = None) -> Any:
    """A foreign-key column to `target` ("table.id") with the project's id type, indexed by default."""
    return mapped_column(BigId, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index)


class Base(DeclarativeBase):
    """Declarative base of every operational table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every datetime column is a UTC timestamp; a naive datetime is refused at bind time.
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012  (SQLAlchemy reads it as a class attribute)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # SQLite ignores foreign keys unless asked; WAL lets the pages read while the ETL or a writer works.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url` with the per-backend settings the portal relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to `engine`; objects stay readable after commit so pages can render them."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error, database refusals as domain errors."""
    session = factory()
    try:
        yield session
        session.commit()
    except IntegrityError as error:
        session.rollback()
        raise constraint_violation(error) from error
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def flush(session: Session) -> None:
    """Flush inside a service so constraint refusals surface as domain errors at the point of the write."""
    try:
        session.flush()
    except IntegrityError as error:
        raise constraint_violation(error) from error


_GENERIC = {
    "unique": N_("This record conflicts with one that already exists."),
    "foreign_key": N_("This record refers to something that does not exist."),
    "check": N_("A value is outside what is allowed ({constraint})."),
    "not_null": N_("A required value is missing: {column}."),
}


def _find_constraint(name: str) -> Constraint | Index | None:
    for table in Base.metadata.tables.values():
        items: list[Constraint | Index] = [*table.constraints, *table.indexes]
        for item in items:
            if item.name == name:
                return item
    return None


def _unique_by_columns(table: str, columns: list[str]) -> Constraint | Index | None:
    candidate = Base.metadata.tables.get(table)
    if candidate is None:
        return None
    items: list[Constraint | Index] = [*candidate.constraints, *candidate.indexes]
    for item in items:
        is_unique = isinstance(item, UniqueConstraint) or (isinstance(item, Index) and item.unique)
        if is_unique and sorted(c.name for c in item.columns) == sorted(columns):  # type: ignore[union-attr]
            return item
    return None


def _classify(error: IntegrityError) -> tuple[str, str | None, str | None]:
    """(kind, constraint name, column) of a refusal, from PostgreSQL's diagnostics or SQLite's message."""
    orig = error.orig
    diag = getattr(orig, "diag", None)
    if diag is not None:
        kinds = {"23505": "unique", "23503": "foreign_key", "23514": "check", "23502": "not_null"}
        return kinds.get(getattr(orig, "sqlstate", "") or "", "check"), diag.constraint_name, diag.column_name
    text = str(orig)
    if match := re.search(r"UNIQUE constraint failed: index '([^']+)'", text):
        return "unique", match.group(1), None
    if match := re.search(r"UNIQUE constraint failed: ([\w.]+(?:, [\w.]+)*)", text):
        pairs = [part.split(".") for part in match.group(1).split(", ")]
        found = _unique_by_columns(pairs[0][0], [column for _table, column in pairs])
        return "unique", found.name if found is not None else None, None  # type: ignore[return-value]
    if match := re.search(r"CHECK constraint failed: (\w+)", text):
        return "check", match.group(1), None
    if match := re.search(r"NOT NULL constraint failed: [\w]+\.(\w+)", text):
        return "not_null", None, match.group(1)
    return "foreign_key" if "FOREIGN KEY" in text else "check", None, None


def constraint_violation(error: IntegrityError) -> ConstraintViolation:
    """Turn the database's refusal into a domain error with the message the constraint declares."""
    kind, name, column = _classify(error)
    found = _find_constraint(name) if name else None
    message = found.info.get("message") if found is not None else None
    if message:
        return ConstraintViolation(message, constraint=name)
    return ConstraintViolation(_GENERIC[kind], constraint=name or kind, column=column or "?")


def enum_column(enum: type[StrEnum], name: str, **kwargs: Any) -> Any:
    """A string column restricted by a named CHECK to the values of `enum` (portable, no native enum)."""
    kind = SAEnum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(member.value) for member in enum) + 8,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
    return mapped_column(kind, **kwargs)


SESSIONS_KEY = "ehealth.sessions"


def init_app(server: Flask, factory: sessionmaker[Session]) -> None:
    """Give the Flask server its session factory (one per app, so tests can run several)."""
    server.extensions[SESSIONS_KEY] = factory


def session_factory() -> sessionmaker[Session]:
    """The session factory of the app serving this request."""
    factory: sessionmaker[Session] = current_app.extensions[SESSIONS_KEY]
    return factory


def request_transaction() -> AbstractContextManager[Session]:
    """A transaction on the database of the app serving this request (pages, callbacks, views)."""
    return transaction(session_factory())
