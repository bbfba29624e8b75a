"""Two portable SQL expressions the reports need, rendered for SQLite and PostgreSQL: the Tashkent day of a UTC
timestamp, and the milliseconds between two timestamps (SQLAlchemy has neither across both dialects)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Date, Float
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ehealth.identifiers import TASHKENT

_OFFSET_HOURS = int((TASHKENT.utcoffset(None) or timedelta()).total_seconds()) // 3600


class TashkentDay(FunctionElement[date]):
    """The Tashkent calendar day of a UTC timestamp, computed by the database so that visits are grouped there."""

    type = Date()
    inherit_cache = True
    name = "tashkent_day"


@compiles(TashkentDay)
def _tashkent_day_default(element: TashkentDay, compiler: SQLCompiler, **kw: Any) -> str:
    raise CompileError(f"tashkent_day has no rendering for {compiler.dialect.name}")


@compiles(TashkentDay, "sqlite")
def _tashkent_day_sqlite(element: TashkentDay, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC timestamps as naive ISO text; date() with a modifier shifts and truncates it.
    return f"date({compiler.process(element.clauses, **kw)}, '+{_OFFSET_HOURS} hours')"


@compiles(TashkentDay, "postgresql")
def _tashkent_day_postgresql(element: TashkentDay, compiler: SQLCompiler, **kw: Any) -> str:
    # A fixed offset, not the server's tz database or session zone: timezone('UTC', …) gives the UTC wall time.
    return (
        f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) + INTERVAL '{_OFFSET_HOURS} hours' AS DATE)"
    )


class MillisecondsBetween(FunctionElement[float]):
    """How many milliseconds the first UTC timestamp is after the second, computed by the database."""

    type = Float()
    inherit_cache = True
    name = "milliseconds_between"


@compiles(MillisecondsBetween)
def _between_default(element: MillisecondsBetween, compiler: SQLCompiler, **kw: Any) -> str:
    raise CompileError(f"milliseconds_between has no rendering for {compiler.dialect.name}")


@compiles(MillisecondsBetween, "sqlite")
def _between_sqlite(element: MillisecondsBetween, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    # julianday() reads the ISO text SQLite keeps; rounding to whole milliseconds (SQLite's own precision) keeps an
    # entry saved exactly LATE_HOURS later on the right side of the line despite floating point.
    return f"round((julianday({later}) - julianday({earlier})) * 86400000.0)"


@compiles(MillisecondsBetween, "postgresql")
def _between_postgresql(element: MillisecondsBetween, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) * 1000)"
