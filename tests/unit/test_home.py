"""Home-page figures against counts made another way, including the Tashkent day boundary."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from ehealth.access.models import Role
from ehealth.calendar import day_bounds
from ehealth.clinical import RecordStatus
from ehealth.home import Viewer, summary
from tests import factories

TODAY = date(2026, 3, 16)


def test_tashkent_day_starts_at_19_utc_the_evening_before() -> None:
    start, end = day_bounds(TODAY)
    assert start == datetime(2026, 3, 15, 19, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 16, 19, 0, tzinfo=UTC)


def test_doctor_figures_count_only_live_visits_of_the_tashkent_day(session: Session) -> None:
    org = factories.organization(session)
    me, colleague = factories.cabinet(session, org), factories.cabinet(session, org)
    other_org = factories.organization(session)
    stranger = factories.cabinet(session, other_org)
    at = {
        "early_today": datetime(2026, 3, 15, 19, 30, tzinfo=UTC),  # 00:30 in Tashkent: today
        "noon": datetime(2026, 3, 16, 7, 0, tzinfo=UTC),
        "late_yesterday": datetime(2026, 3, 15, 18, 59, tzinfo=UTC),  # 23:59 in Tashkent: yesterday
        "tomorrow": datetime(2026, 3, 16, 19, 0, tzinfo=UTC),
    }
    mine_today = [
        factories.encounter(session, org, me, factories.patient(session), at[k]) for k in ("early_today", "noon")
    ]
    factories.encounter(session, org, me, factories.patient(session), at["late_yesterday"])
    factories.encounter(session, org, me, factories.patient(session), at["tomorrow"])
    factories.encounter(session, org, colleague, factories.patient(session), at["noon"])
    factories.encounter(session, other_org, stranger, factories.patient(session), at["noon"])
    withdrawn = factories.encounter(session, org, me, factories.patient(session), at["noon"])
    withdrawn.status = RecordStatus.ENTERED_IN_ERROR
    withdrawn.status_reason, withdrawn.status_changed_at = "wrong patient", at["noon"]
    session.flush()

    figures = {f.label: f.value for f in summary(session, Viewer(me.id, Role.DOCTOR, org.id), TODAY)}
    assert figures["My visits today"] == len(mine_today) == 2
    assert figures["Visits today in my organization"] == 3
    assert figures["Patients in hospital beds now"] == 0


def test_every_role_has_its_home_figures(session: Session) -> None:
    org = factories.organization(session)
    for role in Role:
        who = factories.cabinet(session, org, role)
        figures = summary(session, Viewer(who.id, role, org.id), TODAY)
        assert figures and all(f.value >= 0 for f in figures), role
