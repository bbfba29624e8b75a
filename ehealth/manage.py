"""Operational commands: migrate the database, seed demo data when empty (`python -m ehealth.manage setup`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, func, select

from db import make_engine
from settings import ROOT, Settings, from_env


def alembic_config(url: str) -> Config:
    """Alembic configured for the database at `url`."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database at `url` to the newest schema (creating a SQLite file's folder if needed)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), "head")


def is_empty(engine: Engine) -> bool:
    """True when no organization has been registered yet (a fresh database)."""
    from ehealth.reference.models import Organization  # noqa: PLC0415  (keeps `migrate` import-light)

    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Organization)).scalar_one() == 0


def setup(settings: Settings) -> None:
    """Migrate, then seed the demo data set when the database is empty."""
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        if is_empty(engine):
            from ehealth.demo import generate  # noqa: PLC0415

            print(f"Seeding demo data: {settings.demo_patients} patients (seed {settings.demo_seed}) …")
            report = generate(engine, patients=settings.demo_patients, seed=settings.demo_seed)
            print(report.summary())
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m ehealth.manage", description=__doc__)
    parser.add_argument("command", choices=["migrate", "setup"])
    args = parser.parse_args(argv)
    settings = from_env()
    if args.command == "migrate":
        migrate(settings.database_url)
    else:
        setup(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
