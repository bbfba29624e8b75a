"""Operational commands: migrate the database, seed demo data when empty (`python -m ehealth.manage setup`), purge
archived cabinets past their retention (`python -m ehealth.manage purge-archive [--dry-run]`), expire prescriptions
past valid-until and send pending SMS (`python -m ehealth.manage sweep-prescriptions`), register an organization's
API client (`python -m ehealth.manage register-api-client --organization ID --name NAME --scope "..."`)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, func, select

from db import make_engine, make_session_factory, transaction
from ehealth.calendar import today
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
            report = generate(
                engine,
                patients=settings.demo_patients,
                seed=settings.demo_seed,
                seal_key=settings.confirmation_key.encode(),
            )
            print(report.summary())
    finally:
        engine.dispose()


def purge_archive(url: str, today: date, *, dry_run: bool = False) -> list[int]:
    """Purge, in one transaction, the archived cabinets past their retention (R-10); with `dry_run`, only list them."""
    import ehealth.models  # noqa: F401, PLC0415  (every table, so the mapper can order the writes)
    from ehealth.access.archive import due_for_purge, purge  # noqa: PLC0415  (keeps `migrate` import-light)
    from ehealth.audit.trail import SYSTEM  # noqa: PLC0415

    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            if dry_run:
                due = due_for_purge(session, today)
                for cabinet in due:
                    print(f"would purge cabinet {cabinet.id} ({cabinet.id_number}), kept until {cabinet.retain_until}")
                ids = [cabinet.id for cabinet in due]
            else:
                ids = purge(session, today, actor=SYSTEM)
    finally:
        engine.dispose()
    if dry_run:
        print(f"{len(ids)} archived cabinet(s) past their retention on {today} would be purged (dry run).")
    else:
        print(f"Purged {len(ids)} archived cabinet(s) past their retention on {today}.")
    return ids


def sweep_prescriptions(url: str, today: date) -> None:
    """Expire the prescriptions past valid-until on `today` and send the pending SMS (the portal does it hourly)."""
    import ehealth.models  # noqa: F401, PLC0415  (every table, so the mapper can order the writes)
    from ehealth.prescription.notifications import LoggingGateway  # noqa: PLC0415
    from ehealth.prescription.sweep import sweep  # noqa: PLC0415

    engine = make_engine(url)
    try:
        report = sweep(make_session_factory(engine), today=today, gateway=LoggingGateway())
    finally:
        engine.dispose()
    print(f"Expired {report.expired} prescription(s) past valid-until on {today}; sent {report.sent} SMS.")


def register_api_client(url: str, organization_id: int, name: str, scope: str) -> str:
    """Register an organization's API client and print its client_id and secret (the secret is shown only now)."""
    import ehealth.models  # noqa: F401, PLC0415  (every table, so the mapper can order the writes)
    from api.access.tokens import register_client  # noqa: PLC0415
    from ehealth.audit.trail import SYSTEM  # noqa: PLC0415

    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            client, secret = register_client(
                session, organization_id=organization_id, name=name, scopes=scope, actor=SYSTEM
            )
            client_id = client.client_id
    finally:
        engine.dispose()
    print(f"client_id: {client_id}")
    print(f"client_secret: {secret}")
    print("The secret is shown only this once; only its hash is kept.")
    return client_id


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m ehealth.manage", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="bring the database to the newest schema")
    commands.add_parser("setup", help="migrate, then seed demo data into an empty database")
    purge_parser = commands.add_parser(
        "purge-archive",
        help="erase the identifiers of archived cabinets past their retention (R-10)",
        description="Erase the PINFL, identity document, e-mail and sign-in identities of archived cabinets whose "
        "retention ended before today; their rows, clinical records and audit events stay.",
    )
    purge_parser.add_argument("--dry-run", action="store_true", help="list the cabinets that would be purged")
    purge_parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="the date to judge retention on (default: today in Tashkent)",
    )
    sweep_parser = commands.add_parser(
        "sweep-prescriptions", help="expire prescriptions past valid-until and send pending SMS to patients"
    )
    sweep_parser.add_argument(
        "--today", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD", help="default: today in Tashkent"
    )
    client_parser = commands.add_parser(
        "register-api-client", help="register an organization's system as an API client (prints its secret once)"
    )
    client_parser.add_argument("--organization", type=int, required=True, help="the organization's id")
    client_parser.add_argument("--name", required=True, help="the system's name, e.g. the pharmacy software")
    client_parser.add_argument("--scope", required=True, help='space-separated scopes, e.g. "MedicationRequest.read"')
    args = parser.parse_args(argv)
    settings = from_env()
    if args.command == "migrate":
        migrate(settings.database_url)
    elif args.command == "setup":
        setup(settings)
    elif args.command == "register-api-client":
        from ehealth.errors import DomainError  # noqa: PLC0415

        try:
            register_api_client(settings.database_url, args.organization, args.name, args.scope)
        except DomainError as error:
            print(f"Refused: {error.msgid.format(**error.params)}", file=sys.stderr)
            return 1
    elif args.command == "sweep-prescriptions":
        sweep_prescriptions(settings.database_url, args.today or today())
    else:
        purge_archive(settings.database_url, args.today or today(), dry_run=args.dry_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
