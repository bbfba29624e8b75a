"""Shared fixtures: every database test runs on SQLite and on a scratch PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from db import make_engine
from ehealth.manage import migrate

# The machine's PostgreSQL (trust auth). Tests create and drop their own database and touch no other.
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("sqlite", "postgresql")


def _scratch_postgres() -> Iterator[str]:
    name = f"ehealth_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL of the backend the test is parametrized with (SQLite unless asked)."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'ehealth.sqlite3'}"
    else:
        yield from _scratch_postgres()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated scratch database on each backend in turn."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'ehealth.sqlite3'}"
        migrate(url)
        yield url
    else:
        for url in _scratch_postgres():
            migrate(url)
            yield url


@pytest.fixture(scope="module", params=BACKENDS)
def own_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database of the requesting module's own on each backend: for modules that commit rows (pages)
    which other modules' counts, sharing the session's database, must not see. Such a module overrides
    `database_url` and `engine` with `own_database_url` and `own_engine`."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('own') / 'ehealth.sqlite3'}"
        migrate(url)
        yield url
    else:
        for url in _scratch_postgres():
            migrate(url)
            yield url


@pytest.fixture(scope="module")
def own_engine(own_database_url: str) -> Iterator[Engine]:
    """An engine on the module's own database."""
    engine = make_engine(own_database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the migrated scratch database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test, so tests do not see each other's rows."""
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()
            outer.rollback()
