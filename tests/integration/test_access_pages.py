"""The access pages through their layouts and through Dash's HTTP callback endpoint, as a browser would call them:
employment notices (R-10) from the manager and the ministry, and the integrator's annual inventory (R-14)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import dash
import pytest
from dash import Dash
from flask.testing import FlaskClient
from flask_login import login_user
from plotly.io.json import to_json_plotly
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import create_app
from auth.user import PortalUser
from ehealth.access.inventory import campaign_of, coverage, open_campaign
from ehealth.access.models import (
    Cabinet,
    CabinetStatus,
    EmploymentNotice,
    InventoryCampaign,
    InventoryReview,
    NoticeAction,
    NoticeKind,
    Role,
)
from ehealth.access.notices import record_notice
from ehealth.calendar import is_working_day, today
from ehealth.reference.models import Organization, OrganizationKind, Region
from settings import Settings
from tests import factories, own_database
from tests.signin_checks import sign_in_as

# This module commits rows: its fixtures use a database of its own (tests/own_database.py).
database_url = own_database.database_url
engine = own_database.engine

UPDATE = "/_dash-update-component"
# The callbacks, by the output key Dash files them under (the browser posts it back as "output").
STAFF_KIND = "staff-notice-position.disabled"
STAFF_SUBMIT = "..staff-notice-result.children...staff-notices-box.children.."
NOTICES_PICK = (
    "..notices-detail.children...notices-position.value...notices-role.value"
    "...notices-update.disabled...notices-archive.disabled.."
)
NOTICES_ACT = "..notices-result.children...notices-list-box.children...notices-pick.options...notices-pick.value.."
INVENTORY_DECISION = "inventory-review-role.disabled"
INVENTORY_ACT = (
    "..inventory-result.children...inventory-campaign-box.children...inventory-open.disabled"
    "...inventory-coverage-box.children...inventory-pending-box.children"
    "...inventory-review-cabinet.options...inventory-review-cabinet.value.."
)

# What a fuzzer posts instead of a value.
GARBAGE: list[Any] = [None, 123, 1.5, True, [], ["x"], {"a": 1}, "", "nonsense", "9" * 40, "-1", "\x00", "x" * 5000]
# Of those, what no text field accepts (the others are a plain, if odd, text or an empty one).
BAD_TEXT: list[Any] = ["\x00", "x" * 5000, "ok\x00"]

# Thursday 19 March 2026: Friday 20 is Ramadan Hayit, Saturday 21 Navruz, Monday 23 the day off for it.
EVENT = date(2026, 3, 19)
NOTICE_DUE = date(2026, 3, 26)
ON_TIME = date(2026, 3, 24)
ACTION_DUE = date(2026, 3, 27)
LATE = date(2026, 3, 27)
LATE_ACTION_DUE = date(2026, 4, 1)


# This module's own databases: it commits this year's inventory campaign, of which a database holds one, and
@dataclass(frozen=True)
class People:
    """Cabinet ids: a polyclinic with its manager and staff, another polyclinic, the ministry, the integrator, and a
    hospital whose three cabinets the inventory reviews."""

    manager: int
    doctor: int
    nurse: int
    pharmacist: int
    registrar: int
    other: int
    admin: int
    integrator: int
    hospital: int
    to_confirm: int
    to_change: int
    to_block: int


@pytest.fixture(scope="module")
def people(engine: Engine) -> People:
    with Session(engine) as session:
        clinic = factories.organization(session)
        other = factories.organization(session)
        ministry = factories.organization(session, OrganizationKind.MINISTRY)
        uzinfocom = factories.organization(session, OrganizationKind.INTEGRATOR)
        hospital = factories.organization(session, OrganizationKind.HOSPITAL)
        staff = {role: factories.cabinet(session, clinic, role) for role in CLINIC_ROLES}
        reviewed = [factories.cabinet(session, hospital, role) for role in (Role.DOCTOR, Role.NURSE, Role.REGISTRAR)]
        found = People(
            manager=staff[Role.MANAGER].id,
            doctor=staff[Role.DOCTOR].id,
            nurse=staff[Role.NURSE].id,
            pharmacist=staff[Role.PHARMACIST].id,
            registrar=staff[Role.REGISTRAR].id,
            other=factories.cabinet(session, other, Role.DOCTOR).id,
            admin=factories.cabinet(session, ministry, Role.ADMIN).id,
            integrator=factories.cabinet(session, uzinfocom, Role.INTEGRATOR).id,
            hospital=hospital.id,
            to_confirm=reviewed[0].id,
            to_change=reviewed[1].id,
            to_block=reviewed[2].id,
        )
        session.commit()
    return found


CLINIC_ROLES = (Role.MANAGER, Role.DOCTOR, Role.NURSE, Role.PHARMACIST, Role.REGISTRAR)


@pytest.fixture(scope="module")
def portal(database_url: str, people: People) -> Dash:
    app = create_app(Settings(environment="test", database_url=database_url, secret_key="w" * 40))
    # Dash moves the pages' callbacks into the app's callback map on the first request it serves.
    assert app.server.test_client().get("/healthz").status_code == 200
    return app


def _user(engine: Engine, cabinet_id: int) -> PortalUser:
    with Session(engine) as session:
        who = PortalUser.of(session.get_one(Cabinet, cabinet_id))
    assert who is not None
    return who


@dataclass
class Browser:
    """A signed-in browser (English interface) that calls the page callbacks the way Dash's renderer does."""

    portal: Dash
    client: FlaskClient

    def call(self, output: str, changed: list[Any], values: dict[str, Any]) -> TestResponse:
        """POST one callback: `values` by "id.property" (absent ones are None), `changed` its changedPropIds."""
        entry = self.portal.callback_map[output]

        def spec(item: dict[str, str]) -> dict[str, Any]:
            return {**item, "value": values.get(f"{item['id']}.{item['property']}")}

        parts = [part.rsplit(".", 1) for part in output.strip(".").split("...")]
        outputs = [{"id": component, "property": prop} for component, prop in parts]
        body = {
            "output": output,
            "outputs": outputs if output.startswith("..") else outputs[0],
            "inputs": [spec(item) for item in entry["inputs"]],
            "state": [spec(item) for item in entry["state"]],
            "changedPropIds": changed,
        }
        return self.client.post(UPDATE, json=body)

    def answer(self, output: str, changed: list[Any], values: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The updated properties by component id (a refused or malformed call fails the test)."""
        response = self.call(output, changed, values)
        assert response.status_code == 200, (response.status_code, response.get_data(as_text=True)[:500])
        answer: dict[str, dict[str, Any]] = response.get_json()["response"]
        return answer


SignIn = Callable[[int], Browser]


@pytest.fixture(scope="module")
def browser(portal: Dash) -> SignIn:
    def sign_in(cabinet_id: int) -> Browser:
        client = portal.server.test_client()
        client.set_cookie("lang", "en")
        sign_in_as(client, cabinet_id)
        return Browser(portal, client)

    return sign_in


def _render(portal: Dash, engine: Engine, path: str, cabinet_id: int) -> dict[str, Any]:
    page = next(page for page in dash.page_registry.values() if page["path"] == path)
    with portal.server.test_request_context(path):
        login_user(_user(engine, cabinet_id))
        layout = page["layout"]()
    tree: dict[str, Any] = json.loads(to_json_plotly(layout))
    return tree


def _find(tree: Any, component_id: str) -> dict[str, Any] | None:
    """The component with `component_id` anywhere in a JSON layout (or answer), or None."""
    if isinstance(tree, dict):
        if tree.get("props", {}).get("id") == component_id:
            return tree
        children = tree.get("props", {}).get("children") if "props" in tree else list(tree.values())
        return _find(children, component_id)
    if isinstance(tree, list):
        for item in tree:
            found = _find(item, component_id)
            if found is not None:
                return found
    return None


def _text(tree: Any) -> str:
    return json.dumps(tree, ensure_ascii=False)


@dataclass(frozen=True)
class Snapshot:
    """What the callbacks may change: notices, campaigns, reviews, and every cabinet's status, role and position."""

    notices: list[tuple[Any, ...]]
    campaigns: int
    reviews: int
    cabinets: list[tuple[Any, ...]]


def _snapshot(engine: Engine) -> Snapshot:
    with Session(engine) as session:
        notices = session.execute(
            select(EmploymentNotice.id, EmploymentNotice.action).order_by(EmploymentNotice.id)
        ).all()
        cabinets = session.execute(
            select(Cabinet.id, Cabinet.status, Cabinet.role, Cabinet.position).order_by(Cabinet.id)
        ).all()
        return Snapshot(
            [tuple(row) for row in notices],
            session.scalar(select(func.count()).select_from(InventoryCampaign)) or 0,
            session.scalar(select(func.count()).select_from(InventoryReview)) or 0,
            [tuple(row) for row in cabinets],
        )


def _notice(engine: Engine, people: People, cabinet_id: int, kind: NoticeKind, position: str | None = None) -> int:
    """A notice the manager gave (through the service), for the ministry's side to act on."""
    with Session(engine) as session:
        notice = record_notice(
            session,
            cabinet_id=cabinet_id,
            kind=kind,
            event_date=EVENT,
            notified_on=LATE,
            new_position=position,
            author=_user(engine, people.manager).actor("127.0.0.1"),
        )
        session.commit()
        return notice.id


def _notices_of(engine: Engine, cabinet_id: int) -> list[EmploymentNotice]:
    with Session(engine) as session:
        query = select(EmploymentNotice).where(EmploymentNotice.cabinet_id == cabinet_id).order_by(EmploymentNotice.id)
        return list(session.execute(query).scalars())


# --- The manager: staff and notices -------------------------------------------------------------------------------


def _staff_values(**changes: Any) -> dict[str, Any]:
    values = {
        "staff-notice-submit.n_clicks": 1,
        "staff-notice-cabinet.value": None,
        "staff-notice-kind.value": "termination",
        "staff-notice-event.value": EVENT.isoformat(),
        "staff-notice-notified.value": ON_TIME.isoformat(),
        "staff-notice-position.value": None,
    }
    return values | {f"staff-notice-{name}.value": value for name, value in changes.items()}


SUBMIT = ["staff-notice-submit.n_clicks"]


def test_the_manager_sees_only_the_organizations_own_staff(portal: Dash, engine: Engine, people: People) -> None:
    tree = _render(portal, engine, "/staff", people.manager)
    with Session(engine) as session:
        own = session.get_one(Cabinet, people.doctor).id_number
        foreign = session.get_one(Cabinet, people.other).id_number
    staff = _text(_find(tree, "staff-people"))
    assert own in staff and foreign not in staff
    choices = _find(tree, "staff-notice-cabinet")
    assert choices is not None
    offered = {option["value"] for option in choices["props"]["options"]}
    assert str(people.doctor) in offered and str(people.other) not in offered
    notified = _find(tree, "staff-notice-notified")
    assert notified is not None and notified["props"]["value"] == today().isoformat()
    for component in ("staff-notice-kind", "staff-notice-event", "staff-notice-position", "staff-notice-submit"):
        assert _find(tree, component) is not None, component


def test_a_manager_records_notices_with_deadlines_around_navruz(
    browser: SignIn, engine: Engine, people: People
) -> None:
    assert [is_working_day(EVENT + timedelta(days=n)) for n in range(1, 5)] == [False] * 4  # 20-23 March off
    manager = browser(people.manager)
    assert manager.answer(STAFF_KIND, ["staff-notice-kind.value"], {"staff-notice-kind.value": "transfer"}) == {
        "staff-notice-position": {"disabled": False}
    }

    answer = manager.answer(STAFF_SUBMIT, SUBMIT, _staff_values(cabinet=str(people.doctor)))
    (notice,) = _notices_of(engine, people.doctor)
    assert (notice.kind, notice.event_date, notice.notified_on) == (NoticeKind.TERMINATION, EVENT, ON_TIME)
    assert (notice.notice_due_on, notice.action_due_on, notice.action) == (NOTICE_DUE, ACTION_DUE, None)
    assert notice.organization_id == _user(engine, people.manager).organization_id
    assert ACTION_DUE.isoformat() in _text(answer["staff-notice-result"])
    row = _find(answer["staff-notices-box"], f"staff-notices-row-{notice.id}")
    assert row is not None and row["props"]["className"] == "table-danger"  # the ministry's 3 days have passed

    # Notified after its 3 working days: recorded as late, with the ministry's deadline counted from the notice.
    answer = manager.answer(
        STAFF_SUBMIT,
        SUBMIT,
        _staff_values(
            cabinet=str(people.nurse), kind="transfer", notified=LATE.isoformat(), position=" Katta  hamshira "
        ),
    )
    (transfer,) = _notices_of(engine, people.nurse)
    assert (transfer.notice_due_on, transfer.action_due_on) == (NOTICE_DUE, LATE_ACTION_DUE)
    assert transfer.new_position == "Katta hamshira"
    assert "It was due by 2026-03-26" in _text(answer["staff-notice-result"])

    # Late, but the ministry still has time: highlighted as late, not as overdue.
    day = today()
    answer = manager.answer(
        STAFF_SUBMIT,
        SUBMIT,
        _staff_values(
            cabinet=str(people.pharmacist), event=(day - timedelta(days=30)).isoformat(), notified=day.isoformat()
        ),
    )
    (late,) = _notices_of(engine, people.pharmacist)
    row = _find(answer["staff-notices-box"], f"staff-notices-row-{late.id}")
    assert row is not None and row["props"]["className"] == "table-warning"
    assert "Overdue" not in _text(row) and "Late" in _text(row)


def test_a_manager_cannot_report_another_organizations_staff(browser: SignIn, engine: Engine, people: People) -> None:
    before = _snapshot(engine)
    answer = browser(people.manager).answer(STAFF_SUBMIT, SUBMIT, _staff_values(cabinet=str(people.other)))
    error = _find(answer["staff-notice-result"], "staff-notice-error")
    assert error is not None and "Choose an employee from the list." in _text(error)
    assert "staff-notices-box" not in answer  # the list is left as it was
    assert _notices_of(engine, people.other) == [] and _snapshot(engine) == before


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("cabinet", GARBAGE),
        ("kind", GARBAGE),
        ("event", [*GARBAGE, "2026-02-30", "2026-13-01", "19.03.2026"]),
        ("notified", [*GARBAGE, "2026-02-30", "2999-01-01", "2026-03-18"]),
        ("position", [None, 123, [], {"a": 1}, "", "   ", *BAD_TEXT]),
    ],
)
def test_garbage_notices_are_refused_and_change_nothing(
    browser: SignIn, engine: Engine, people: People, field: str, values: list[Any]
) -> None:
    manager = browser(people.manager)
    valid = {"cabinet": str(people.registrar), "kind": "transfer", "position": "Bosh registrator"}
    before = _snapshot(engine)
    for value in values:
        answer = manager.answer(STAFF_SUBMIT, SUBMIT, _staff_values(**(valid | {field: value})))
        assert _find(answer["staff-notice-result"], "staff-notice-error") is not None, (field, value)
        assert (
            manager.call(STAFF_KIND, ["staff-notice-kind.value"], {"staff-notice-kind.value": value}).status_code == 200
        )
    assert _snapshot(engine) == before


@pytest.mark.parametrize(
    ("changed", "status"),
    [
        ([], 204),  # PreventUpdate
        (["nonsense"], 204),
        (["{bad.n_clicks"], 204),
        (["staff-notice-kind.value"], 204),
        ([123], 400),  # not the shape Dash sends: refused before any callback runs
    ],
)
def test_a_notice_is_recorded_only_on_the_button(
    browser: SignIn, engine: Engine, people: People, changed: list[Any], status: int
) -> None:
    before = _snapshot(engine)
    response = browser(people.manager).call(STAFF_SUBMIT, changed, _staff_values(cabinet=str(people.registrar)))
    assert response.status_code == status
    assert _snapshot(engine) == before


# --- The ministry: employment notices ------------------------------------------------------------------------------


PICK = ["notices-pick.value"]


def _act(button: str, notice_id: Any, position: Any = None, role: Any = "") -> tuple[list[str], dict[str, Any]]:
    values = {
        f"{button}.n_clicks": 1,
        "notices-pick.value": notice_id,
        "notices-position.value": position,
        "notices-role.value": role,
    }
    return [f"{button}.n_clicks"], values


def test_the_admin_blocks_and_archives_a_termination(
    portal: Dash, browser: SignIn, engine: Engine, people: People
) -> None:
    with Session(engine) as session:
        victim = factories.cabinet(
            session, session.get_one(Organization, _user(engine, people.manager).organization_id)
        )
        session.commit()
        victim_id = victim.id
    notice_id = _notice(engine, people, victim_id, NoticeKind.TERMINATION)
    tree = _render(portal, engine, "/access/notices", people.admin)
    row = _find(tree, f"notices-row-{notice_id}")
    assert row is not None and row["props"]["className"] == "table-danger"  # notified late and overdue
    admin = browser(people.admin)

    picked = admin.answer(NOTICES_PICK, PICK, {"notices-pick.value": str(notice_id)})
    assert picked["notices-update"] == {"disabled": True} and picked["notices-archive"] == {"disabled": False}

    before = _snapshot(engine)
    refused = admin.answer(NOTICES_ACT, *_act("notices-update", str(notice_id), "Bosh shifokor"))
    assert "block and archive the cabinet" in _text(refused["notices-result"])
    assert _snapshot(engine) == before

    done = admin.answer(NOTICES_ACT, *_act("notices-archive", str(notice_id)))
    assert _find(done["notices-result"], "notices-done") is not None
    assert _find(done["notices-list-box"], f"notices-row-{notice_id}") is None
    assert str(notice_id) not in {option["value"] for option in done["notices-pick"]["options"]}
    with Session(engine) as session:
        cabinet = session.get_one(Cabinet, victim_id)
        notice = session.get_one(EmploymentNotice, notice_id)
        assert cabinet.status == CabinetStatus.ARCHIVED and cabinet.archived_at is not None
        archived = cabinet.archived_at.date()
        assert cabinet.retain_until is not None and cabinet.retain_until >= archived.replace(year=archived.year + 1)
        assert notice.action == NoticeAction.BLOCKED_ARCHIVED and notice.action_by == people.admin

    # Acted on once only; and the manager can no longer report the archived cabinet.
    again = admin.answer(NOTICES_ACT, *_act("notices-archive", str(notice_id)))
    assert _find(again["notices-result"], "notices-error") is not None
    before = _snapshot(engine)
    answer = browser(people.manager).answer(STAFF_SUBMIT, SUBMIT, _staff_values(cabinet=str(victim_id)))
    assert _find(answer["staff-notice-result"], "staff-notice-error") is not None
    assert _snapshot(engine) == before


def test_the_admin_updates_the_rights_after_a_transfer(browser: SignIn, engine: Engine, people: People) -> None:
    with Session(engine) as session:
        mover = factories.cabinet(
            session, session.get_one(Organization, _user(engine, people.manager).organization_id), Role.NURSE
        )
        session.commit()
        mover_id = mover.id
    notice_id = _notice(engine, people, mover_id, NoticeKind.TRANSFER, "Katta hamshira")
    admin = browser(people.admin)

    picked = admin.answer(NOTICES_PICK, PICK, {"notices-pick.value": str(notice_id)})
    assert picked["notices-position"] == {"value": "Katta hamshira"}  # prefilled from the notice
    assert picked["notices-update"] == {"disabled": False} and picked["notices-archive"] == {"disabled": True}

    before = _snapshot(engine)
    refused = admin.answer(NOTICES_ACT, *_act("notices-archive", str(notice_id)))
    assert "update the rights" in _text(refused["notices-result"])
    for role in ("admin", "integrator", "nonsense", 7, ["doctor"]):  # only the roles an organization's staff may have
        refused = admin.answer(NOTICES_ACT, *_act("notices-update", str(notice_id), "Katta hamshira", role))
        assert _find(refused["notices-result"], "notices-error") is not None, role
    assert _snapshot(engine) == before

    done = admin.answer(NOTICES_ACT, *_act("notices-update", str(notice_id), "Katta hamshira", "doctor"))
    assert "Katta hamshira" in _text(done["notices-result"])
    with Session(engine) as session:
        cabinet = session.get_one(Cabinet, mover_id)
        assert (cabinet.position, cabinet.role, cabinet.status) == ("Katta hamshira", Role.DOCTOR, CabinetStatus.ACTIVE)
        notice = session.get_one(EmploymentNotice, notice_id)
        assert notice.action == NoticeAction.RIGHTS_UPDATED and notice.action_at is not None


@pytest.mark.parametrize("button", ["notices-update", "notices-archive"])
def test_garbage_actions_on_notices_change_nothing(
    browser: SignIn, engine: Engine, people: People, button: str
) -> None:
    with Session(engine) as session:
        org = session.get_one(Organization, _user(engine, people.manager).organization_id)
        moving, leaving = factories.cabinet(session, org, Role.NURSE), factories.cabinet(session, org, Role.DOCTOR)
        session.commit()
        moving_id, leaving_id = moving.id, leaving.id
    transfer = _notice(engine, people, moving_id, NoticeKind.TRANSFER, "Hamshira")
    _notice(engine, people, leaving_id, NoticeKind.TERMINATION)
    admin = browser(people.admin)
    before = _snapshot(engine)
    # An empty position or role is not garbage: the notice's position and the current role are kept.
    cases = [_act(button, value) for value in GARBAGE]
    cases += [_act("notices-update", str(transfer), value, "") for value in BAD_TEXT]
    cases += [_act("notices-update", str(transfer), "Hamshira", value) for value in GARBAGE if value not in (None, "")]
    for changed, values in cases:
        answer = admin.answer(NOTICES_ACT, changed, values)
        assert _find(answer["notices-result"], "notices-error") is not None, values
        assert set(answer) == {"notices-result"}  # nothing else is redrawn
    for value in GARBAGE:
        assert admin.call(NOTICES_PICK, PICK, {"notices-pick.value": value}).status_code == 200
    assert _snapshot(engine) == before
    not_a_button: list[list[Any]] = [[], ["nonsense"], ["{bad.n_clicks"], ["notices-pick.value"]]
    for changed in not_a_button:
        assert admin.call(NOTICES_ACT, changed, _act(button, str(transfer))[1]).status_code == 204
    assert _snapshot(engine) == before


# --- The integrator: the annual inventory ----------------------------------------------------------------------


def _review(cabinet: Any, decision: Any = "confirmed", role: Any = None, note: Any = None) -> dict[str, Any]:
    return {
        "inventory-review-submit.n_clicks": 1,
        "inventory-review-cabinet.value": cabinet,
        "inventory-review-decision.value": decision,
        "inventory-review-role.value": role,
        "inventory-review-note.value": note,
    }


REVIEW = ["inventory-review-submit.n_clicks"]
OPEN = ["inventory-open.n_clicks"]


def _hospital_coverage(engine: Engine, people: People) -> tuple[int, int]:
    with Session(engine) as session:
        campaign = campaign_of(session, today().year)
        assert campaign is not None
        (row,) = [row for row in coverage(session, campaign.id) if row.organization_id == people.hospital]
        return row.reviewed, row.active


def test_the_integrator_opens_the_inventory_and_reviews_cabinets(
    portal: Dash, browser: SignIn, engine: Engine, people: People
) -> None:
    tree = _render(portal, engine, "/inventory", people.integrator)
    button = _find(tree, "inventory-open")
    assert button is not None and button["props"]["disabled"] is False
    integrator = browser(people.integrator)

    # Reviewing before the year's inventory is open is refused.
    early = integrator.answer(INVENTORY_ACT, REVIEW, _review(str(people.to_confirm)))
    assert "Open this year's inventory first." in _text(early["inventory-result"])

    opened = integrator.answer(INVENTORY_ACT, OPEN, {"inventory-open.n_clicks": 1})
    assert _find(opened["inventory-result"], "inventory-done") is not None
    assert opened["inventory-open"] == {"disabled": True}
    assert _find(opened["inventory-coverage-box"], "inventory-organizations") is not None
    with Session(engine) as session:
        campaign = campaign_of(session, today().year)
        assert campaign is not None and campaign.started_on == today() and campaign.due_on > today()
        tashkent = session.get_one(Region, factories.TASHKENT_CITY).name_en
    assert tashkent in _text(_find(opened["inventory-coverage-box"], "inventory-regions"))
    # A second campaign for the year is refused (the button is disabled; a forged call gets the message).
    before = _snapshot(engine)
    again = integrator.answer(INVENTORY_ACT, OPEN, {"inventory-open.n_clicks": 2})
    assert "already exists" in _text(again["inventory-result"]) and _snapshot(engine) == before

    assert _hospital_coverage(engine, people) == (0, 3)
    confirmed = integrator.answer(INVENTORY_ACT, REVIEW, _review(str(people.to_confirm), note=" Tekshirildi "))
    assert _find(confirmed["inventory-result"], "inventory-done") is not None
    assert _hospital_coverage(engine, people) == (1, 3)
    assert str(people.to_confirm) not in {
        option["value"] for option in confirmed["inventory-review-cabinet"]["options"]
    }
    assert str(people.to_change) in {option["value"] for option in confirmed["inventory-review-cabinet"]["options"]}

    assert integrator.answer(
        INVENTORY_DECISION, ["inventory-review-decision.value"], {"inventory-review-decision.value": "rights_changed"}
    ) == {"inventory-review-role": {"disabled": False}}
    integrator.answer(INVENTORY_ACT, REVIEW, _review(str(people.to_change), "rights_changed", "pharmacist"))
    assert _hospital_coverage(engine, people) == (2, 3)
    blocked = integrator.answer(INVENTORY_ACT, REVIEW, _review(str(people.to_block), "blocked"))
    assert _hospital_coverage(engine, people) == (2, 2)  # a blocked cabinet is no longer active
    with Session(engine) as session:
        assert session.get_one(Cabinet, people.to_change).role == Role.PHARMACIST
        assert session.get_one(Cabinet, people.to_block).status == CabinetStatus.BLOCKED
        hospital = session.get_one(Organization, people.hospital).name
        other_id_number = session.get_one(Cabinet, people.other).id_number
        reviewed_id_number = session.get_one(Cabinet, people.to_confirm).id_number
        notes = session.execute(select(InventoryReview.note).where(InventoryReview.cabinet_id == people.to_confirm))
        assert notes.scalars().all() == ["Tekshirildi"]
    organizations = _find(blocked["inventory-coverage-box"], "inventory-organizations")
    assert hospital in _text(organizations) and "100%" in _text(organizations)
    pending = _text(blocked["inventory-pending-box"])
    assert other_id_number in pending and reviewed_id_number not in pending

    # Once per campaign, and only active cabinets.
    before = _snapshot(engine)
    twice = integrator.answer(INVENTORY_ACT, REVIEW, _review(str(people.to_confirm)))
    assert "already reviewed in this campaign" in _text(twice["inventory-result"])
    inactive = integrator.answer(INVENTORY_ACT, REVIEW, _review(str(people.to_block)))
    assert "Only active cabinets are reviewed." in _text(inactive["inventory-result"])
    assert _snapshot(engine) == before


def _ensure_campaign(engine: Engine, people: People) -> None:
    with Session(engine) as session:
        if campaign_of(session, today().year) is None:
            integrator = _user(engine, people.integrator).actor(None)
            open_campaign(session, year=today().year, today=today(), integrator=integrator)
            session.commit()


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("cabinet", GARBAGE),
        ("decision", GARBAGE),
        ("role", [*GARBAGE, "doctor"]),  # the cabinet already is a doctor: not a change
        ("note", BAD_TEXT),
    ],
)
def test_garbage_reviews_change_nothing(
    browser: SignIn, engine: Engine, people: People, field: str, values: list[Any]
) -> None:
    _ensure_campaign(engine, people)
    integrator = browser(people.integrator)
    valid = {"cabinet": str(people.other), "decision": "rights_changed" if field == "role" else "confirmed"}
    before = _snapshot(engine)
    for value in values:
        answer = integrator.answer(INVENTORY_ACT, REVIEW, _review(**(valid | {field: value})))
        assert _find(answer["inventory-result"], "inventory-error") is not None, (field, value)
        assert set(answer) == {"inventory-result"}  # nothing else is redrawn
        decision = {"inventory-review-decision.value": value}
        assert integrator.call(INVENTORY_DECISION, ["inventory-review-decision.value"], decision).status_code == 200
    not_a_button: list[list[Any]] = [[], ["nonsense"], ["{bad.n_clicks"], ["inventory-review-cabinet.value"]]
    for changed in not_a_button:
        assert integrator.call(INVENTORY_ACT, changed, _review(str(people.other))).status_code == 204
    assert _snapshot(engine) == before


# --- Deny by default ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "output"),
    [
        ("admin", STAFF_SUBMIT),
        ("integrator", STAFF_SUBMIT),
        ("manager", NOTICES_ACT),
        ("integrator", NOTICES_PICK),
        ("manager", INVENTORY_ACT),
        ("admin", INVENTORY_ACT),
        ("doctor", STAFF_KIND),
    ],
)
def test_each_callback_refuses_the_other_roles(
    browser: SignIn, engine: Engine, people: People, role: str, output: str
) -> None:
    before = _snapshot(engine)
    values = _staff_values(cabinet=str(people.registrar)) | _review(str(people.other)) | _act("notices-archive", "1")[1]
    response = browser(getattr(people, role)).call(output, ["staff-notice-submit.n_clicks"], values)
    assert response.status_code == 403
    assert _snapshot(engine) == before


def test_pages_open_only_for_their_role(portal: Dash, engine: Engine, people: People) -> None:
    for path, allowed in (
        ("/staff", people.manager),
        ("/access/notices", people.admin),
        ("/inventory", people.integrator),
    ):
        assert _find(_render(portal, engine, path, allowed), "guard-denied") is None, path
        for other in (people.doctor, people.manager, people.admin, people.integrator):
            if other != allowed:
                assert _render(portal, engine, path, other)["props"]["id"] == "guard-denied", (path, other)
