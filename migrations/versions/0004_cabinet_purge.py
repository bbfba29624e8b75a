"""cabinet purge: an archived cabinet past its retention loses its owner's identifiers (R-10)

A purged cabinet keeps its row (clinical records and audit events point at it) but not the PINFL, identity
document or e-mail, on the cabinet and on the request rows that named its owner; so those columns allow NULL,
under CHECKs saying when, `status` gains 'purged' with `purged_at`, and the one-live-cabinet index leaves purged
cabinets out like archived ones.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IDENTIFIERS = (("document_series", 2), ("document_number", 7), ("pinfl", 14), ("email", 254))
IDENTIFIED = "pinfl IS NOT NULL AND document_series IS NOT NULL AND document_number IS NOT NULL AND email IS NOT NULL"
ERASED = "pinfl IS NULL AND document_series IS NULL AND document_number IS NULL AND email IS NULL"
STATUSES = ("active", "blocked", "archived")
LIVE_INDEX = "uq_cabinet_live_person_role"


def _status_check(statuses: Sequence[str]) -> str:
    """The CHECK that `enum_column` declares for CabinetStatus, as SQLAlchemy writes it."""
    return "status IN (" + ", ".join(f"'{status}'" for status in statuses) + ")"


def _live_index(where: str) -> None:
    op.create_index(
        LIVE_INDEX,
        "cabinet",
        ["organization_id", "pinfl", "role"],
        unique=True,
        sqlite_where=sa.text(where),
        postgresql_where=sa.text(where),
    )


def _is_sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _sqlite_foreign_keys_off() -> None:
    """SQLite alters a table by rebuilding it: dropping the old `cabinet` while foreign keys are enforced would
    refuse (every clinical row refers to it). Alembic runs each SQLite migration in its own transaction, so this is
    before that transaction starts, where the PRAGMA takes effect."""
    op.execute("PRAGMA foreign_keys=OFF")


def _sqlite_foreign_keys_checked() -> None:
    """Prove that the rebuild kept every reference whole, then ask for enforcement again (SQLite applies it on
    the next connection when a transaction is open; Alembic's connection is closed after migrating)."""
    broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"foreign keys broken by rebuilding cabinet / requested_user: {broken[:5]}")
    op.execute("PRAGMA foreign_keys=ON")


def upgrade() -> None:
    """Allow erased identifiers on purged cabinets and their request rows; add the purged status and time."""
    sqlite = _is_sqlite()
    if sqlite:
        _sqlite_foreign_keys_off()
    op.drop_index(LIVE_INDEX, table_name="cabinet")
    with op.batch_alter_table("cabinet", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purged_at", db.UTCDateTime(timezone=True), nullable=True))
        for name, length in IDENTIFIERS:
            batch_op.alter_column(name, existing_type=sa.String(length=length), nullable=True)
        batch_op.drop_constraint(op.f("ck_cabinet_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_cabinet_status"), _status_check((*STATUSES, "purged")))
        batch_op.create_check_constraint(
            op.f("ck_cabinet_identified_unless_purged"), f"status = 'purged' OR ({IDENTIFIED})"
        )
        batch_op.create_check_constraint(
            op.f("ck_cabinet_purge_erases_identifiers"),
            f"status <> 'purged' OR (purged_at IS NOT NULL AND {ERASED})",
        )
    _live_index("status NOT IN ('archived', 'purged')")
    with op.batch_alter_table("requested_user", schema=None) as batch_op:
        for name, length in IDENTIFIERS:
            batch_op.alter_column(name, existing_type=sa.String(length=length), nullable=True)
        batch_op.create_check_constraint(
            op.f("ck_requested_user_identified_unless_purged"), f"cabinet_id IS NOT NULL OR ({IDENTIFIED})"
        )
    if sqlite:
        _sqlite_foreign_keys_checked()


def downgrade() -> None:
    """Back to identifiers required everywhere; refused while any cabinet is purged (its identifiers are gone)."""
    bind = op.get_bind()
    purged = bind.execute(sa.text("SELECT count(*) FROM cabinet WHERE status = 'purged'")).scalar_one()
    erased = bind.execute(sa.text(f"SELECT count(*) FROM requested_user WHERE NOT ({IDENTIFIED})")).scalar_one()
    if purged or erased:
        raise RuntimeError(
            f"cannot downgrade below 0004: {purged} purged cabinets and {erased} request rows have erased identifiers"
        )
    sqlite = _is_sqlite()
    if sqlite:
        _sqlite_foreign_keys_off()
    with op.batch_alter_table("requested_user", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_requested_user_identified_unless_purged"), type_="check")
        for name, length in reversed(IDENTIFIERS):
            batch_op.alter_column(name, existing_type=sa.String(length=length), nullable=False)
    op.drop_index(LIVE_INDEX, table_name="cabinet")
    with op.batch_alter_table("cabinet", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_cabinet_purge_erases_identifiers"), type_="check")
        batch_op.drop_constraint(op.f("ck_cabinet_identified_unless_purged"), type_="check")
        batch_op.drop_constraint(op.f("ck_cabinet_status"), type_="check")
        batch_op.create_check_constraint(op.f("ck_cabinet_status"), _status_check(STATUSES))
        for name, length in reversed(IDENTIFIERS):
            batch_op.alter_column(name, existing_type=sa.String(length=length), nullable=False)
        batch_op.drop_column("purged_at")
    _live_index("status <> 'archived'")
    if sqlite:
        _sqlite_foreign_keys_checked()
