"""`python -m ehealth.audit verify`: walk the audit chain and report the first broken link (R-18)."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy.orm import Session

from db import make_engine
from ehealth.audit.trail import verify
from settings import from_env


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when every audit row is intact, 1 (naming the first broken row) when not."""
    parser = argparse.ArgumentParser(prog="python -m ehealth.audit", description=__doc__)
    parser.add_argument("command", choices=["verify"])
    parser.add_argument("--database-url", default=None, help="SQLAlchemy URL (default: the settings' database)")
    args = parser.parse_args(argv)
    engine = make_engine(args.database_url or from_env().database_url)
    try:
        with Session(engine) as session:
            broken = list(verify(session))
    finally:
        engine.dispose()
    if broken:
        print(f"audit chain broken: first broken link at audit_event id {broken[0]} ({len(broken)} rows affected)")
        return 1
    print("audit chain intact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
