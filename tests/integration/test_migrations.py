"""Alembic builds the whole schema from empty, on SQLite and PostgreSQL, and it matches the models."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

import ehealth.models  # noqa: F401
from db import Base, make_engine
from ehealth.audit.models import CHAINS
from ehealth.manage import alembic_config, migrate


@pytest.mark.parametrize("scratch_url", ["sqlite", "postgresql"], indirect=True)
def test_migrations_build_the_whole_schema_from_empty(scratch_url: str) -> None:
    migrate(scratch_url)
    engine = make_engine(scratch_url)
    try:
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        with engine.connect() as conn:
            # The migrated schema is exactly what the models declare: no drift hidden behind create_all.
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
            assert diff == []
            assert conn.execute(text("SELECT count(*) FROM region")).scalar_one() == 14
            assert conn.execute(text("SELECT count(*) FROM audit_chain_head")).scalar_one() == CHAINS
    finally:
        engine.dispose()


@pytest.mark.parametrize("scratch_url", ["sqlite", "postgresql"], indirect=True)
def test_migrations_go_down_to_empty_and_up_again(scratch_url: str) -> None:
    migrate(scratch_url)
    command.downgrade(alembic_config(scratch_url), "base")
    engine = make_engine(scratch_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
    migrate(scratch_url)
