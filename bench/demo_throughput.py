"""Demo data throughput: generate N patients into a fresh SQLite file (and optionally PostgreSQL) and report.

    python bench/demo_throughput.py --patients 100000 [--postgres] [--seed S] [--batch B]

Prints rows written, seconds, rows/s and the peak resident memory of the process (getrusage), per backend.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # runnable as a plain script from any directory

from sqlalchemy import create_engine, text  # noqa: E402

from db import make_engine  # noqa: E402
from ehealth.demo import DemoReport, generate  # noqa: E402
from ehealth.manage import migrate  # noqa: E402

POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
# A fixed day so that runs are comparable (the data depend on it).
TODAY = date(2026, 3, 16)


def peak_rss_mib() -> float:
    """The process's peak resident set size so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def run(url: str, patients: int, seed: int, batch: int) -> DemoReport:
    """Migrate the database at `url` and generate into it."""
    migrate(url)
    engine = make_engine(url)
    try:
        return generate(engine, patients=patients, seed=seed, today=TODAY, batch=batch)
    finally:
        engine.dispose()


def show(backend: str, report: DemoReport, size_bytes: int | None) -> None:
    """Print one backend's figures."""
    print(report.summary())
    size = f", database {size_bytes / 1024**3:.2f} GiB" if size_bytes is not None else ""
    print(
        f"{backend}: {report.patients:,} patients, {report.total:,} rows in {report.seconds:,.1f} s = "
        f"{report.rows_per_second:,.0f} rows/s, peak RSS {peak_rss_mib():,.0f} MiB{size}",
        flush=True,
    )


def bench_sqlite(path: Path, patients: int, seed: int, batch: int) -> None:
    """Generate into a fresh SQLite file at `path`."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    report = run(f"sqlite:///{path}", patients, seed, batch)
    size = sum(Path(f"{path}{suffix}").stat().st_size for suffix in ("", "-wal") if Path(f"{path}{suffix}").exists())
    show("sqlite", report, size)


def bench_postgres(admin_url: str, patients: int, seed: int, batch: int, keep: bool) -> None:
    """Generate into a fresh PostgreSQL database created (and dropped unless `keep`) for the run."""
    name = f"ehealth_demo_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        report = run(admin_url.rsplit("/", 1)[0] + f"/{name}", patients, seed, batch)
        with admin.connect() as conn:
            size = int(conn.execute(text("SELECT pg_database_size(:name)"), {"name": name}).scalar_one())
        show("postgresql", report, size)
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--sqlite-path", type=Path, default=Path("/tmp/ehealth_demo_bench.sqlite3"))
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    parser.add_argument("--postgres", action="store_true", help="also run on a scratch PostgreSQL database")
    parser.add_argument("--postgres-admin-url", default=POSTGRES_ADMIN_URL)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database afterwards")
    args = parser.parse_args(argv)
    if not args.no_sqlite:
        bench_sqlite(args.sqlite_path, args.patients, args.seed, args.batch)
    if args.postgres:
        bench_postgres(args.postgres_admin_url, args.patients, args.seed, args.batch, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
