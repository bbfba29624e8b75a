"""audit chains: one hash chain per group of organizations, so that audited saves do not queue for one lock

Every audited save took the single chain head's row lock and held it to its commit, so all saves in the country
waited for each other (bench/clinical_saves.py: the audit doubled a save's p50). Events now carry `chain`
(organization id mod 64; 0 without an organization) and each chain has its own head. Existing events are chain 0,
whose head is the old single row, so the existing chain verifies unchanged.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHAINS = 64
GENESIS_HASH = "0" * 64


def upgrade() -> None:
    """Add the chain column (existing rows: chain 0) and the heads of chains 1 .. 63."""
    # A plain ADD COLUMN: SQLite adds it in place, so the audit table's triggers are not rebuilt away.
    op.add_column("audit_event", sa.Column("chain", sa.SmallInteger(), server_default="0", nullable=False))
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_audit_chain_head_single_row"), type_="check")
        batch_op.create_check_constraint(op.f("ck_audit_chain_head_known_chain"), f"id BETWEEN 1 AND {CHAINS}")
    heads = sa.table(
        "audit_chain_head", sa.column("id", sa.Integer), sa.column("last_event_id"), sa.column("last_hash", sa.String)
    )
    op.bulk_insert(heads, [{"id": n, "last_event_id": None, "last_hash": GENESIS_HASH} for n in range(2, CHAINS + 1)])


def downgrade() -> None:
    """Back to one chain; refused once events were written to any other chain (they would no longer verify)."""
    bind = op.get_bind()
    others = bind.execute(sa.text("SELECT count(*) FROM audit_event WHERE chain <> 0")).scalar_one()
    if others:
        raise RuntimeError(f"cannot downgrade below 0006: {others} audit events belong to chains other than 0")
    op.execute("DELETE FROM audit_chain_head WHERE id <> 1")
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_audit_chain_head_known_chain"), type_="check")
        batch_op.create_check_constraint(op.f("ck_audit_chain_head_single_row"), "id = 1")
    # Natively on both (SQLite 3.35+): a batch rebuild of audit_event would lose its append-only triggers.
    op.execute("ALTER TABLE audit_event DROP COLUMN chain")
