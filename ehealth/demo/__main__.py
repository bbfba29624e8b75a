"""Command line: `python -m ehealth.demo --patients N --seed S [--today YYYY-MM-DD] [--database-url URL] [--batch B]`."""

from __future__ import annotations

import argparse
import sys
from datetime import date

from db import make_engine
from ehealth.demo.generate import DemoDataError, generate
from ehealth.manage import migrate
from settings import from_env


def main(argv: list[str] | None = None) -> int:
    """Migrate the database, generate the demo data into it and print the report."""
    # Defaults come from EHEALTH_* like `python -m ehealth.manage setup`; the options override them.
    settings = from_env()
    parser = argparse.ArgumentParser(prog="python -m ehealth.demo", description=__doc__)
    parser.add_argument("--patients", type=int, default=settings.demo_patients, help="number of patients")
    parser.add_argument("--seed", type=int, default=settings.demo_seed, help="random seed")
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="the day the data ends (default: today)")
    parser.add_argument("--database-url", default=settings.database_url, help="SQLAlchemy URL of the database")
    parser.add_argument("--batch", type=int, default=5000, help="patients per transaction")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    migrate(args.database_url)
    engine = make_engine(args.database_url)
    try:
        report = generate(
            engine,
            patients=args.patients,
            seed=args.seed,
            today=args.today,
            batch=args.batch,
            progress=not args.quiet,
            seal_key=settings.confirmation_key.encode(),  # the portal's key, so that its pharmacies accept them
        )
    except DemoDataError as error:
        print(error, file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
