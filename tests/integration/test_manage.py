"""`python -m ehealth.manage setup`: migrate, seed an empty database once, never seed twice."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db import make_engine
from ehealth.manage import main, setup
from ehealth.patients.models import Patient
from ehealth.prescription.models import Prescription, PrescriptionState
from settings import Settings


@pytest.mark.parametrize("scratch_url", ["sqlite", "postgresql"], indirect=True)
def test_setup_seeds_an_empty_database_once(scratch_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(database_url=scratch_url, demo_patients=40, demo_seed=3)
    setup(settings)
    assert "rows/s" in capsys.readouterr().out
    setup(settings)  # the second start only checks: no second seeding
    assert capsys.readouterr().out == ""
    engine = make_engine(scratch_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Patient)).scalar_one() == 40
    finally:
        engine.dispose()


def test_migrate_command(scratch_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EHEALTH_DATABASE_URL", scratch_url)
    assert main(["migrate"]) == 0
    engine = make_engine(scratch_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM region").scalar_one() == 14
    finally:
        engine.dispose()


def test_sweep_prescriptions_command(
    scratch_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    setup(Settings(database_url=scratch_url, demo_patients=60, demo_seed=5))
    capsys.readouterr()
    live = (PrescriptionState.ACTIVE, PrescriptionState.PARTIALLY_DISPENSED)
    engine = make_engine(scratch_url)
    try:
        with engine.connect() as conn:
            before = conn.execute(select(func.count()).where(Prescription.state.in_(live))).scalar_one()
        assert before > 0
        monkeypatch.setenv("EHEALTH_DATABASE_URL", scratch_url)
        assert main(["sweep-prescriptions", "--today", "2099-01-01"]) == 0  # every prescription is past valid-until
        assert f"Expired {before} prescription(s)" in capsys.readouterr().out
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).where(Prescription.state.in_(live))).scalar_one() == 0
    finally:
        engine.dispose()
