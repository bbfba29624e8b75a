"""A driver-level columnar read of the ETL's SELECTs: Arrow batches from the driver straight into polars.

The SQLAlchemy path (`pl.read_database` on a Connection) turns every value into a Python object (every timestamp
through db.UTCDateTime) before polars turns them back into columns: most of a full rebuild's time. Here:

- PostgreSQL: ADBC (`adbc-driver-postgresql`), which streams `COPY (query) TO STDOUT (FORMAT binary)` into Arrow;
- SQLite: ADBC (`adbc-driver-sqlite`) on the database file, run in a reader process of its own (see _SQLITE_READER
  for why), or the connection's own `sqlite3` cursor for small tables (`whole`) and for a database only that
  connection sees (in memory). SQLite keeps text, dates and timestamps as text: they are parsed in polars.

Whatever the backend, a frame's columns have the polars dtypes of the selected columns' SQLAlchemy types (`dtypes`),
the ones the SQLAlchemy path gives them: Int64 for every integer, String for strings and enums, Date, Boolean,
Float64, aware `Datetime("us", "UTC")` for db.UTCDateTime. Where the SQLAlchemy path saw only NULLs in a batch it
made an untyped Null column; here such a column keeps its declared dtype.

The big reads (`frames`) run on a worker thread one frame ahead of the caller (the drivers release the GIL, the SQLite
reader is another process), so that reading overlaps with the caller's transform and load of the previous frame.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import queue
import sqlite3
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import IO, Any

import adbc_driver_manager
import adbc_driver_postgresql  # type: ignore[import-untyped]
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]
from sqlalchemy import Column, Connection, Dialect, Float, Join, Select, Text, cast, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.sql import sqltypes
from sqlalchemy.sql.elements import ColumnElement, Label
from sqlalchemy.sql.selectable import FromClause, NamedFromClause
from sqlalchemy.types import TypeDecorator, TypeEngine

from db import UTCDateTime

# Any SELECT the ETL reads (SQLAlchemy types a Select by its columns).
Query = Select[*tuple[Any, ...]]

# SQLAlchemy type → polars dtype, the first that matches (SmallInteger and BigInteger are Integers, Enum and Text
# Strings: an enum is read as its value). db.UTCDateTime and naive DateTime are decided before (see dtype).
_DTYPES: tuple[tuple[type[TypeEngine[Any]], pl.DataType], ...] = (
    (sqltypes.Boolean, pl.Boolean()),
    (sqltypes.Integer, pl.Int64()),
    (sqltypes.Float, pl.Float64()),
    (sqltypes.String, pl.String()),
    (sqltypes.Date, pl.Date()),
)
UTC_TIMESTAMP = pl.Datetime("us", "UTC")
# How SQLAlchemy writes timestamps and dates into SQLite (its DATETIME and DATE storage formats), parsed by polars'
# fixed-width fast path; anything else (a 'T', an offset, CURRENT_TIMESTAMP's whole seconds) goes value by value
# through the column's own SQLAlchemy result processor (see _slow_parse).
_SQLITE_TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%6f"
_SQLITE_DATE_FORMAT = "%Y-%m-%d"
# Bind values the compiled SQL may carry inline: the ETL's own constants ('outpatient', 'active', TRUE, ids).
_LITERAL_TYPES = (bool, int, str, Enum)
# Compiled for a dialect whose paramstyle is not pyformat: the psycopg dialect would double a '%' in a literal for
# a driver that undoubles it, and ADBC would not.
_POSTGRES_SQL = postgresql.base.PGDialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]
_SQLITE_SQL = sqlite.dialect()
_SQLITE_BUSY_MS = 10_000
# Frames read ahead of the caller: one waits in the queue while the next is read (three in memory at most).
_READ_AHEAD = 1
# Bytes per Arrow batch from PostgreSQL (the driver's default is 16 MiB): a frame's first rows reach the caller
# while the server still sends the rest, instead of after a whole table of a few hundred thousand rows.
_POSTGRES_BATCH_BYTES = 1 << 20
# ADBC PostgreSQL database handles by libpq URI (see _postgres_database).
_POSTGRES_DATABASES: dict[str, adbc_driver_manager.AdbcDatabase] = {}
_POSTGRES_DATABASES_LOCK = threading.Lock()


def dtype(type_: TypeEngine[Any]) -> pl.DataType:
    """The polars dtype the SQLAlchemy path gives a column of SQLAlchemy type `type_` (TypeError if none)."""
    if isinstance(type_, UTCDateTime):
        return UTC_TIMESTAMP
    # Another decorator may turn values into anything; a zone-aware DateTime comes back aware on PostgreSQL and
    # naive on SQLite; Numeric (Decimal), Time, Interval, JSON: none is read so far. Each needs a mapping of its own.
    if not isinstance(type_, TypeDecorator):
        if isinstance(type_, sqltypes.DateTime) and not type_.timezone:
            return pl.Datetime("us")
        for kind, found in _DTYPES:
            if isinstance(type_, kind):
                return found
    raise TypeError(f"no columnar dtype for {type_!r}")


def dtypes(query: Query) -> dict[str, pl.DataType]:
    """Column name → polars dtype of every column `query` selects, from its SQLAlchemy types."""
    found: dict[str, pl.DataType] = {}
    for column in query.selected_columns:
        if column.name in found:
            raise ValueError(f"column {column.name!r} selected twice")
        try:
            found[column.name] = dtype(column.type)
        except TypeError as error:
            raise TypeError(f"{column.name}: {error}") from None
    return found


def frames(conn: Connection, query: Query, batch_rows: int) -> Generator[pl.DataFrame]:
    """The rows of `query`, in frames of at most `batch_rows` rows typed by `dtypes(query)`, read column-wise.

    For the ETL's own SELECTs: their bind values (constants) are rendered into the SQL, after checking that they
    are plain ints, booleans, strings or enums; a query carrying user input must not come here.
    """
    yield from _frames(conn, query, batch_rows, small=False)


def whole(conn: Connection, query: Query, batch_rows: int) -> pl.DataFrame:
    """All rows of a small `query` in one frame (an empty result keeps the columns and their dtypes)."""
    parts = list(_frames(conn, query, batch_rows, small=True))
    return pl.concat(parts) if parts else pl.DataFrame(schema=dtypes(query))


def prepare(conn: Connection) -> None:
    """Start what reading `conn`'s database will need, so that it is ready by the first read (a SQLite reader)."""
    if conn.dialect.name == "sqlite" and sqlite_file(conn) is not None:
        _start_sqlite_reader()


def _frames(conn: Connection, query: Query, batch_rows: int, *, small: bool) -> Iterator[pl.DataFrame]:
    schema = dtypes(query)
    if conn.dialect.name == "postgresql":
        sql = _literal_sql(query, _POSTGRES_SQL)
        yield from _read_ahead(_rebatched(_postgres_frames(libpq_uri(conn.engine.url), sql, schema), batch_rows))
    elif conn.dialect.name == "sqlite":
        columns = _sqlite_columns(query, schema, conn.dialect)
        sql = _literal_sql(_sqlite_select(query, columns), _SQLITE_SQL)
        path = None if small else sqlite_file(conn)
        if path is None:
            # A small table, or a database only this connection sees (in memory): its own sqlite3 cursor.
            yield from _rebatched(_decoded(_sqlite3_batches(conn, sql, columns, batch_rows), columns), batch_rows)
        else:
            raw = _sqlite_reader_batches(path, sql, batch_rows)
            yield from _read_ahead(_rebatched(_decoded(raw, columns), batch_rows))
    else:
        raise NotImplementedError(f"no columnar read for {conn.dialect.name}")


def _rebatched(batches: Iterable[pl.DataFrame], rows: int) -> Generator[pl.DataFrame]:
    """The same rows in frames of exactly `rows` rows (the last one fewer), whatever sizes the driver sent."""
    pending: list[pl.DataFrame] = []
    held = 0
    for batch in batches:
        rest = batch
        while rest.height:
            take = min(rows - held, rest.height)
            pending.append(rest.slice(0, take))
            held += take
            rest = rest.slice(take)
            if held == rows:
                yield pl.concat(pending, rechunk=True)
                pending, held = [], 0
    if held:
        yield pl.concat(pending, rechunk=True)


def _read_ahead(frames_: Generator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """`frames_`, each produced on a worker thread while the caller works on the one before.

    The generator `frames_` runs entirely on the worker (the driver connection it opens is used and closed there);
    its error is raised here. When the caller stops early, the worker is told, unblocked, and waited for.
    """
    # A frame, the worker's error, or None at the end.
    handoff: queue.Queue[pl.DataFrame | BaseException | None] = queue.Queue(maxsize=_READ_AHEAD)
    stop = threading.Event()

    def produce() -> None:
        try:
            for frame in frames_:
                handoff.put(frame)
                if stop.is_set():
                    return
            handoff.put(None)
        except BaseException as error:  # handed over to the caller's thread, raised there
            handoff.put(error)
        finally:
            frames_.close()

    worker = threading.Thread(target=produce, name="etl-columnar-read", daemon=True)
    worker.start()
    try:
        while (item := handoff.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # drain, so that a worker blocked on a full queue sees `stop`
            with contextlib.suppress(queue.Empty):
                handoff.get(timeout=0.05)
        worker.join()


def _literal_sql(query: Query, dialect: Dialect) -> str:
    """`query` as SQL text with its bind values inlined (refused unless they are the ETL's plain constants)."""
    for name, value in query.compile(dialect=dialect).params.items():
        values = value if isinstance(value, list | tuple) else [value]  # an IN list is one bind of many values
        if not all(_inlinable(one) for one in values):
            raise TypeError(f"bind {name}={value!r} cannot be inlined into a columnar read")
    return str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _inlinable(value: object) -> bool:
    """Whether a bind value may be written into the SQL: None, an int, a boolean, a string or an enum."""
    # No backslash: PostgreSQL reads one in a literal according to standard_conforming_strings.
    return (value is None or isinstance(value, _LITERAL_TYPES)) and "\\" not in str(value)


# PostgreSQL


def libpq_uri(url: URL) -> str:
    """The libpq connection URI of a SQLAlchemy PostgreSQL URL (`postgresql+psycopg://…` → `postgresql://…`)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _postgres_database(uri: str) -> adbc_driver_manager.AdbcDatabase:
    """The process's ADBC database handle for `uri`.

    Opening one reads the server's type catalogue (~30 ms), so it is kept; it holds no server connection (each
    read opens and closes its own, ~3 ms).
    """
    with _POSTGRES_DATABASES_LOCK:
        database = _POSTGRES_DATABASES.get(uri)
        if database is None:
            database = _POSTGRES_DATABASES[uri] = adbc_driver_postgresql.connect(uri)
        return database


def _postgres_frames(uri: str, sql: str, schema: dict[str, pl.DataType]) -> Iterator[pl.DataFrame]:
    """The rows of `sql` from an ADBC connection of its own, typed by `schema`."""
    # A second connection, beside the caller's: it reads what is committed when its COPY starts, as the caller's
    # would for the same statement under READ COMMITTED. The run's bound is the watermark the caller read before
    # (see etl.pipeline.run): rows of later events already visible here are simply read again by the next run.
    # The `finally`s close it when the rows are exhausted, on an error, or when the reader is dropped.
    connection = adbc_driver_manager.AdbcConnection(_postgres_database(uri))
    try:
        statement = adbc_driver_manager.AdbcStatement(connection)
        try:
            statement.set_sql_query(sql)
            statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(_POSTGRES_BATCH_BYTES)})
            stream, _count = statement.execute_query()
            with pa.RecordBatchReader.from_stream(stream) as reader:
                for batch in reader:
                    if batch.num_rows:
                        yield _typed(pl.DataFrame(batch), schema)
        finally:
            statement.close()
    finally:
        connection.close()


def _typed(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """`frame` cast to `schema` (int16 and int32 to Int64 and the like; an impossible cast raises)."""
    if frame.columns != list(schema):
        raise ValueError(f"columns {frame.columns} are not the selected {list(schema)}")
    return frame.cast(schema)  # type: ignore[arg-type]


# SQLite


@dataclass(frozen=True)
class _SQLiteColumn:
    """One selected column as SQLite sends it: as is, or as text (a REAL) that is never NULL plus a NULL flag."""

    name: str
    dtype: pl.DataType
    # May the value be NULL (a nullable column, one of an outer-joined table, an expression)?
    nullable: bool
    # The column's own SQLAlchemy result processor, for a value in a shape the vectorized parse does not take.
    processor: Callable[[Any], Any] | None

    @property
    def integral(self) -> bool:
        """Read as an integer: ints and booleans (0/1); NULLs in a first batch make int64 too, which is right."""
        return isinstance(self.dtype, pl.Int64 | pl.Boolean)

    @property
    def flagged(self) -> bool:
        """Read as a value that is never NULL and a flag that says it was (see _sqlite_select)."""
        return self.nullable and not self.integral


def _nullable_tables(query: Query) -> set[str]:
    """Names of the tables whose columns an outer join may make NULL in `query`'s rows."""
    names: set[str] = set()

    def walk(element: FromClause, nullable: bool) -> None:
        if isinstance(element, Join):
            walk(element.left, nullable or element.full)
            walk(element.right, nullable or element.isouter)
        elif isinstance(element, NamedFromClause) and nullable:
            names.add(element.name)

    for from_ in query.get_final_froms():
        walk(from_, False)
    return names


def _sqlite_columns(query: Query, schema: dict[str, pl.DataType], dialect: Dialect) -> list[_SQLiteColumn]:
    nullable_tables = _nullable_tables(query)
    columns = []
    for (name, dtype_), column in zip(schema.items(), query.selected_columns, strict=True):
        expression = column.element if isinstance(column, Label) else column
        never_null = (
            isinstance(expression, Column)
            and not expression.nullable
            and isinstance(expression.table, NamedFromClause)
            and expression.table.name not in nullable_tables
        )
        processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
        columns.append(_SQLiteColumn(name, dtype_, not never_null, processor))
    return columns


def _sqlite_select(query: Query, columns: list[_SQLiteColumn]) -> Query:
    """`query` with its columns rewritten so that ADBC's type inference cannot fail; FROM, WHERE, ORDER BY stay.

    ADBC SQLite infers each column's Arrow type from the values of the first batch, and a column NULL all through
    it becomes int64: a text value in a later batch then fails the read. So a column that may be NULL and is not
    an integer (whose NULLs int64 takes) is read as `IFNULL(CAST(x AS TEXT), '')` (or REAL) and `x IS NULL`:
    a value that is never NULL and always of one storage class, and the flag that restores the NULLs.
    """
    selected: list[ColumnElement[Any]] = []
    for index, (column, spec) in enumerate(zip(query.selected_columns, columns, strict=True)):
        expression: ColumnElement[Any] = column.element if isinstance(column, Label) else column
        if spec.integral:
            selected.append(expression.label(f"v{index}"))
            continue
        kind = Float if isinstance(spec.dtype, pl.Float64) else Text
        if not spec.flagged:
            selected.append(cast(expression, kind).label(f"v{index}"))
            continue
        empty: float | str = 0.0 if kind is Float else ""
        selected.append(func.ifnull(cast(expression, kind), empty).label(f"v{index}"))
        selected.append(expression.is_(None).label(f"n{index}"))
    return query.with_only_columns(*selected, maintain_column_froms=True)


def sqlite_file(conn: Connection) -> Path | None:
    """The database file behind a SQLite connection, or None when ADBC cannot open it (in memory, a URI)."""
    url = conn.engine.url
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:") or "uri" in url.query:
        return None
    path = Path(database)
    return path if path.is_file() else None


# ADBC SQLite links a SQLite of its own (3.53 in adbc-driver-sqlite 1.13) beside the one Python's sqlite3 uses: two
# copies in one process break SQLite's locking (POSIX locks are per process, each copy tracks only its own; see
# https://www.sqlite.org/howtocorrupt.html, 2.2.1). Closing an ADBC connection then checkpoints and deletes the
# WAL under the caller's open connection, whose next write goes to a deleted file. So ADBC reads SQLite in a
# process of its own, where it is the only copy, and sends Arrow IPC batches back over a pipe: framed as a tag
# (S schema, B batch, E end, X error), a little-endian u64 length and the payload. The reader process opens and
# closes its ADBC connection per query and holds none between queries; it ends when its stdin closes.
_SQLITE_READER = """
import json, signal, struct, sys
import adbc_driver_sqlite, adbc_driver_sqlite.dbapi

# Ctrl-C is the ETL's to handle: the reader ends when the ETL closes its stdin or ends.
signal.signal(signal.SIGINT, signal.SIG_IGN)
requests, replies = sys.stdin.buffer, sys.stdout.buffer


def send(tag, payload=b""):
    replies.write(tag + struct.pack("<Q", len(payload)))
    replies.write(payload)


for line in requests:
    request = json.loads(line)
    try:
        with adbc_driver_sqlite.dbapi.connect(request["path"]) as connection, connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = %d" % request["busy_ms"])
            cursor.execute("PRAGMA query_only = ON")
            rows = {adbc_driver_sqlite.StatementOptions.BATCH_ROWS.value: str(request["rows"])}
            cursor.adbc_statement.set_options(**rows)
            cursor.execute(request["sql"])
            batches = cursor.fetch_record_batch()
            send(b"S", batches.schema.serialize())
            for batch in batches:
                send(b"B", batch.serialize())
    except Exception as error:
        send(b"X", f"{type(error).__name__}: {error}".encode())
    else:
        send(b"E")
    replies.flush()
"""
_FRAME_HEADER = struct.Struct("<cQ")
# Reader processes waiting for a query (one per concurrent read at most), ended at exit.
_IDLE_READERS: list[subprocess.Popen[bytes]] = []
_IDLE_READERS_LOCK = threading.Lock()


def _sqlite_reader() -> subprocess.Popen[bytes]:
    """An idle SQLite reader process, or a new one (~0.2 s to start: Python, pyarrow, the ADBC driver)."""
    with _IDLE_READERS_LOCK:
        while _IDLE_READERS:
            process = _IDLE_READERS.pop()
            if process.poll() is None:
                return process
    command = [sys.executable, "-I", "-c", _SQLITE_READER]  # this interpreter and this module's script, no input
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # noqa: S603


def _start_sqlite_reader() -> None:
    """Start a SQLite reader process now unless one is idle (it imports its modules while the caller works)."""
    with _IDLE_READERS_LOCK:
        if any(process.poll() is None for process in _IDLE_READERS):
            return
    process = _sqlite_reader()
    with _IDLE_READERS_LOCK:
        _IDLE_READERS.append(process)


@atexit.register
def _end_sqlite_readers() -> None:
    """Close the idle readers' stdin (they end) and wait for them."""
    with _IDLE_READERS_LOCK:
        readers, _IDLE_READERS[:] = list(_IDLE_READERS), []
    for process in readers:
        _end(process, kill=False)


def _end(process: subprocess.Popen[bytes], *, kill: bool) -> None:
    """End a reader process: at once (`kill`), or by closing its stdin, which ends its loop."""
    if kill:
        process.kill()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    process.wait()


def _received(stream: IO[bytes]) -> tuple[bytes, bytes]:
    """One (tag, payload) frame from a reader process."""
    header = stream.read(_FRAME_HEADER.size)
    if len(header) < _FRAME_HEADER.size:
        raise RuntimeError("the SQLite reader process ended")
    tag, size = _FRAME_HEADER.unpack(header)
    payload = stream.read(size)
    if len(payload) < size:
        raise RuntimeError("the SQLite reader process ended")
    return tag, payload


def _sqlite_reader_batches(path: Path, sql: str, batch_rows: int) -> Iterator[pl.DataFrame]:
    """The raw rows of `sql` from ADBC SQLite on the database file, in a reader process, `batch_rows` per batch."""
    # Another connection to the file, beside the caller's: in WAL mode it reads the last commit when the statement
    # starts, as the caller's would (the ETL never reads through a write transaction of its own).
    process = _sqlite_reader()
    if process.stdin is None or process.stdout is None:
        raise RuntimeError("the SQLite reader process has no pipes")
    request = {"path": str(path), "sql": sql, "rows": batch_rows, "busy_ms": _SQLITE_BUSY_MS}
    answered = False
    try:
        process.stdin.write(json.dumps(request).encode() + b"\n")
        process.stdin.flush()
        schema = None
        while True:
            tag, payload = _received(process.stdout)
            if tag == b"S":
                schema = pa.ipc.read_schema(pa.py_buffer(payload))
            elif tag == b"B":
                yield pl.DataFrame(pa.ipc.read_record_batch(pa.py_buffer(payload), schema))
            else:
                answered = True
                if tag == b"X":
                    raise RuntimeError(f"SQLite read failed: {payload.decode()}")
                return
    finally:
        # A reader that answered in full waits for the next query; one left mid-answer (the caller stopped early,
        # or the process died) is ended.
        if answered:
            with _IDLE_READERS_LOCK:
                _IDLE_READERS.append(process)
        else:
            _end(process, kill=True)


def _sqlite3_batches(
    conn: Connection, sql: str, columns: list[_SQLiteColumn], batch_rows: int
) -> Iterator[pl.DataFrame]:
    """The raw rows of `sql` from the connection's own sqlite3 cursor (small tables, a database only it sees)."""
    raw = conn.connection.driver_connection
    if not isinstance(raw, sqlite3.Connection):
        raise TypeError(f"not a sqlite3 connection: {raw!r}")
    schema: dict[str, pl.DataType] = {}
    for index, spec in enumerate(columns):
        if spec.integral:
            schema[f"v{index}"] = pl.Int64()
            continue
        schema[f"v{index}"] = pl.Float64() if isinstance(spec.dtype, pl.Float64) else pl.String()
        if spec.flagged:
            schema[f"n{index}"] = pl.Int64()
    cursor = raw.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch_rows):
            yield pl.DataFrame(rows, schema=schema, orient="row")
    finally:
        cursor.close()


def _decoded(batches: Iterable[pl.DataFrame], columns: list[_SQLiteColumn]) -> Iterator[pl.DataFrame]:
    """Typed frames from SQLite's raw ones: text parsed, 0/1 made booleans, NULLs restored from the flags."""
    expressions: list[pl.Expr] = []
    checks: list[pl.Expr] = []
    for index, spec in enumerate(columns):
        value = pl.col(f"v{index}")
        if spec.integral:
            expressions.append(value.cast(spec.dtype).alias(spec.name))
            continue
        missing = pl.col(f"n{index}").cast(pl.Boolean) if spec.flagged else value.is_null()
        parsed = _parse(value, spec.dtype)
        expressions.append(pl.when(missing).then(None).otherwise(parsed).alias(spec.name))
        if isinstance(spec.dtype, pl.Date | pl.Datetime):
            checks.append((parsed.is_null() & ~missing).alias(spec.name))
    for raw in batches:
        if not raw.height:
            continue
        frame = raw.select(expressions)
        if checks:
            unparsed = raw.select(checks)
            for name in unparsed.columns:
                if unparsed[name].any():
                    frame = _slow_parse(frame, raw, columns, name, unparsed[name])
        yield frame


def _parse(text: pl.Expr, dtype_: pl.DataType) -> pl.Expr:
    """The vectorized parse of SQLite text into `dtype_` (null where the text is not in SQLAlchemy's format)."""
    if isinstance(dtype_, pl.Datetime):
        naive = text.str.strptime(pl.Datetime("us"), _SQLITE_TIMESTAMP_FORMAT, strict=False, cache=False)
        # UTCDateTime stores naive UTC on SQLite and hands it back as UTC.
        return naive.dt.replace_time_zone(dtype_.time_zone) if dtype_.time_zone else naive
    if isinstance(dtype_, pl.Date):
        return text.str.strptime(pl.Date, _SQLITE_DATE_FORMAT, strict=False, cache=False)
    return text.cast(dtype_)


def _slow_parse(
    frame: pl.DataFrame, raw: pl.DataFrame, columns: list[_SQLiteColumn], name: str, unparsed: pl.Series
) -> pl.DataFrame:
    """The values of column `name` in another shape, converted one by one by the column's SQLAlchemy processor."""
    index, spec = next((index, spec) for index, spec in enumerate(columns) if spec.name == name)
    process = spec.processor or (lambda value: value)
    positions = unparsed.arg_true()
    values = [process(text) for text in raw[f"v{index}"].gather(positions).to_list()]
    return frame.with_columns(frame[name].scatter(positions, pl.Series(values, dtype=spec.dtype)))
