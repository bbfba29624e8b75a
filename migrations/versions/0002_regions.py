"""The 14 regions: reference data every installation needs, so a migration writes it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from ehealth.reference.regions import REGIONS

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

region = sa.table(
    "region",
    sa.column("id", sa.SmallInteger),
    sa.column("iso_code", sa.String),
    sa.column("name_uz", sa.String),
    sa.column("name_ru", sa.String),
    sa.column("name_en", sa.String),
)


def upgrade() -> None:
    """Insert the regions."""
    op.bulk_insert(region, [{"id": r.soato, "iso_code": r.iso_code, "name_uz": r.name_uz, "name_ru": r.name_ru, "name_en": r.name_en} for r in REGIONS], multiinsert=True)


def downgrade() -> None:
    """Remove the regions."""
    op.execute(region.delete())
