"""Timestamps are unambiguous UTC on both backends; refusals without a declared message still read clearly."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session

from db import flush, utcnow
from ehealth.emr.models import Encounter, EncounterKind
from ehealth.errors import ConstraintViolation
from ehealth.i18n import language
from tests import factories

TASHKENT = timezone(timedelta(hours=5))


def test_timestamps_come_back_aware_utc_whatever_zone_went_in(session: Session) -> None:
    org = factories.organization(session)
    doctor = factories.cabinet(session, org)
    local = datetime(2026, 3, 16, 9, 30, tzinfo=TASHKENT)
    visit = factories.encounter(session, org, doctor, factories.patient(session), local)
    session.expire(visit)
    assert visit.started_at == local
    assert visit.started_at.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(session: Session) -> None:
    org = factories.organization(session)
    doctor = factories.cabinet(session, org)
    with pytest.raises(StatementError, match="naive datetime"):
        factories.encounter(session, org, doctor, factories.patient(session), datetime(2026, 3, 16, 9, 30))


def test_foreign_key_refusal_has_a_plain_message(session: Session) -> None:
    org = factories.organization(session)
    doctor = factories.cabinet(session, org)
    session.add(
        Encounter(
            patient_id=987654321,
            organization_id=org.id,
            kind=EncounterKind.OUTPATIENT,
            practitioner_id=doctor.id,
            started_at=utcnow(),
            created_by=doctor.id,
        )
    )
    with pytest.raises(ConstraintViolation) as refused:
        flush(session)
    with language("en"):
        assert str(refused.value) == "This record refers to something that does not exist."
