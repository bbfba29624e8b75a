"""For a test module that commits rows (pages, concurrency), which other modules' counts must not see: it binds

    database_url = own_database.database_url
    engine = own_database.engine

and every database fixture of the module then uses a migrated database of its own on each backend
(tests/conftest.py: own_database_url, own_engine)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine


@pytest.fixture(scope="module")
def database_url(own_database_url: str) -> str:
    """This module's own migrated database (SQLite, then PostgreSQL)."""
    return own_database_url


@pytest.fixture(scope="module")
def engine(own_engine: Engine) -> Engine:
    """An engine on this module's own database."""
    return own_engine
