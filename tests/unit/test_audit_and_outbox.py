"""Every clinical write leaves its outbox event; the audit trail is append-only and detects tampering."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from db import flush, make_engine, utcnow
from ehealth.audit.models import CHAINS, AuditEvent, Outcome, chain_of
from ehealth.audit.trail import Actor, record, verify
from ehealth.clinical import RecordStatus
from ehealth.emr.models import ConditionKind
from ehealth.outbox import ClinicalEvent
from tests import factories


def _events(session: Session, entity: str, entity_id: int) -> list[str]:
    rows = session.execute(
        select(ClinicalEvent.kind).where(ClinicalEvent.entity == entity, ClinicalEvent.entity_id == entity_id)
    )
    return [kind for (kind,) in rows]


def test_clinical_writes_append_outbox_events_in_the_same_transaction(session: Session) -> None:
    org = factories.organization(session)
    doctor = factories.cabinet(session, org)
    who = factories.patient(session)
    visit = factories.encounter(session, org, doctor, who)
    diagnosis = factories.diagnosis(session, visit, "E11.9", ConditionKind.PRELIMINARY)
    assert _events(session, "encounter", visit.id) == ["encounter.created"]
    assert _events(session, "condition", diagnosis.id) == ["condition.created"]

    diagnosis.status = RecordStatus.SUPERSEDED
    diagnosis.status_reason = "final diagnosis made"
    diagnosis.status_changed_at = utcnow()
    flush(session)
    assert _events(session, "condition", diagnosis.id) == ["condition.created", "condition.superseded"]
    event = session.execute(select(ClinicalEvent).where(ClinicalEvent.entity_id == diagnosis.id)).scalars().first()
    assert event is not None and event.patient_id == who.id and event.organization_id == org.id


def test_rollback_takes_the_event_with_it(session: Session) -> None:
    org = factories.organization(session)
    doctor = factories.cabinet(session, org)
    who = factories.patient(session)
    savepoint = session.begin_nested()
    visit = factories.encounter(session, org, doctor, who)
    visit_id = visit.id
    savepoint.rollback()
    assert _events(session, "encounter", visit_id) == []


def test_audit_chain_verifies_and_detects_an_edited_row(session: Session) -> None:
    org = factories.organization(session)
    doctor = factories.cabinet(session, org)
    who = factories.patient(session)
    actor = Actor(doctor.id, "doctor", org.id, "127.0.0.1")
    rows = [
        record(session, actor, "patient.read", patient_id=who.id, object_type="patient", object_id=who.id)
        for _ in range(3)
    ]
    record(session, actor, "page.denied", outcome=Outcome.DENIED)
    assert list(verify(session)) == []
    assert rows[1].prev_hash == rows[0].hash

    # A privileged attacker bypassing the trigger: the chain still tells.
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.execute(text("DROP TRIGGER audit_event_no_update"))
    else:
        session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    session.execute(text("UPDATE audit_event SET action = 'patient.list' WHERE id = :id"), {"id": rows[1].id})
    session.expire_all()
    assert rows[1].id in list(verify(session))


@pytest.mark.parametrize("statement", ["UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"])
def test_audit_rows_cannot_be_changed_or_removed(session: Session, statement: str) -> None:
    record(session, Actor(None, "system", None), "test.append")
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(text(statement))
    assert session.execute(select(AuditEvent.action).order_by(AuditEvent.id.desc())).scalars().first() == "test.append"


def test_verify_command_names_the_first_broken_link(scratch_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from ehealth.audit.__main__ import main
    from ehealth.manage import migrate

    migrate(scratch_url)
    engine = make_engine(scratch_url)
    with Session(engine) as session:
        rows = [record(session, Actor(None, "system", None), f"test.{n}") for n in range(3)]
        session.commit()
        ids = [row.id for row in rows]
    assert main(["verify", "--database-url", scratch_url]) == 0
    assert "intact" in capsys.readouterr().out
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_event_no_update"))
        conn.execute(text("UPDATE audit_event SET detail = 'edited' WHERE id = :id"), {"id": ids[1]})
    engine.dispose()
    assert main(["verify", "--database-url", scratch_url]) == 1
    assert f"id {ids[1]}" in capsys.readouterr().out


def test_organizations_append_to_their_own_chains_and_each_chain_verifies(session: Session) -> None:
    first, second = factories.organization(session), factories.organization(session)
    actors = [Actor(None, "doctor", org.id, "127.0.0.1") for org in (first, second)]
    rows = [record(session, actors[n % 2], f"test.{n}") for n in range(6)]
    assert {row.chain for row in rows} == {chain_of(first.id), chain_of(second.id)}
    assert chain_of(first.id) != chain_of(second.id)
    # Each row links to the previous row of its own chain, not to the row before it in the table.
    assert rows[2].prev_hash == rows[0].hash and rows[3].prev_hash == rows[1].hash
    assert list(verify(session)) == []
    assert chain_of(None) == 0 and 0 <= chain_of(10**12) < CHAINS


def test_a_removed_newest_row_of_one_chain_is_detected(session: Session) -> None:
    org = factories.organization(session)
    actor = Actor(None, "doctor", org.id, "127.0.0.1")
    record(session, actor, "test.kept")
    removed = record(session, actor, "test.removed").id
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.execute(text("DROP TRIGGER audit_event_no_delete"))
    else:
        session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": removed})
    session.expire_all()
    assert removed in list(verify(session))


@pytest.mark.parametrize("scratch_url", ["sqlite", "postgresql"], indirect=True)
def test_the_chains_migration_refuses_to_go_down_over_other_chains(scratch_url: str) -> None:
    from alembic import command

    from ehealth.manage import alembic_config, migrate

    migrate(scratch_url)
    engine = make_engine(scratch_url)
    with Session(engine) as session:
        org = factories.organization(session)
        assert chain_of(org.id) != 0  # the first organization of a fresh database
        record(session, Actor(None, "doctor", org.id), "test.chain")
        session.commit()
    engine.dispose()
    with pytest.raises(RuntimeError, match="other than 0"):
        command.downgrade(alembic_config(scratch_url), "0005")
