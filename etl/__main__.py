"""`python -m etl run` brings the warehouse up to date; `python -m etl rebuild` builds it from scratch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from db import make_engine
from etl.pipeline import run
from etl.schedule import exclusive
from settings import from_env


def main(argv: list[str] | None = None) -> int:
    """Run the ETL once and print its summary; 0 on success, 1 when the run failed and nothing was published."""
    parser = argparse.ArgumentParser(prog="python -m etl", description=__doc__)
    parser.add_argument("command", choices=("run", "rebuild"))
    parser.add_argument("--database-url", help="the operational database (default: EHEALTH_DATABASE_URL)")
    parser.add_argument("--warehouse", type=Path, help="the warehouse file (default: EHEALTH_WAREHOUSE_PATH)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    settings = from_env()
    engine = make_engine(args.database_url or settings.database_url)
    path = args.warehouse or settings.warehouse_path
    try:
        # After the portal's scheduled run, if one is building (one builder at a time).
        with exclusive(path, wait=True):
            report = run(
                engine,
                path,
                settings.warehouse_key.encode(),
                rebuild=args.command == "rebuild",
                progress=not args.quiet,
            )
    except Exception as error:
        print(f"ETL failed, the published warehouse is unchanged: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(report.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
