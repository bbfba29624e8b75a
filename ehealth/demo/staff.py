"""Users: cabinets of every role, login identities, installation requests, employment notices and inventories."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from ehealth.calendar import access_update_due, installation_due, notice_due
from ehealth.demo.clock import DAY, HOUR, MINUTE, at, local_day, midnight, office_hours
from ehealth.demo.env import Env
from ehealth.demo.medicine import THERAPY
from ehealth.demo.organizations import (
    ADMINISTRATION,
    DEPTS_BY_KIND,
    MODULES_BY_KIND,
    PHARMACY,
    REGISTRY,
    Dept,
    Network,
    Org,
)
from ehealth.demo.people import People, Person
from ehealth.demo.places import TASHKENT_CITY


@dataclass(frozen=True)
class SignInIdentity:
    """A fixed person for the development sign-in page: the same name and PINFL whatever the seed."""

    role: str
    kind: str  # organization kind
    profile: str  # department profile
    position: str
    surname: str
    given_name: str
    patronymic: str
    sex: str
    birth_date: date
    document: str


# One per role, in Role order; they are the first cabinets written, in the first Tashkent city organizations.
SIGN_IN: tuple[SignInIdentity, ...] = (
    SignInIdentity("doctor", "polyclinic", THERAPY, "Terapevt shifokor", "Karimov", "Aziz", "Rustamovich", "male", date(1984, 3, 12), "AA1000001"),
    SignInIdentity("nurse", "polyclinic", THERAPY, "Hamshira", "Rahimova", "Dilnoza", "Anvarovna", "female", date(1990, 7, 5), "AA1000002"),
    SignInIdentity("registrar", "polyclinic", REGISTRY, "Registrator", "Yusupova", "Malika", "Bahodir qizi", "female", date(1996, 11, 23), "AD1000003"),
    SignInIdentity("pharmacist", "pharmacy", PHARMACY, "Farmatsevt", "Sobirov", "Jasur", "Ilhom o'g'li", "male", date(1993, 2, 17), "AB1000004"),
    SignInIdentity("manager", "pharmacy", PHARMACY, "Dorixona mudiri", "Nazarova", "Gulnora", "Akmalovna", "female", date(1978, 9, 30), "AA1000005"),
    SignInIdentity("analyst", "ministry", "statistics", "Bosh mutaxassis-tahlilchi", "Ismoilov", "Bekzod", "Farhodovich", "male", date(1988, 5, 14), "AC1000006"),
    SignInIdentity("admin", "ministry", ADMINISTRATION, "Tizim ma'muri", "Qodirova", "Nigora", "Shavkatovna", "female", date(1986, 12, 1), "AA1000007"),
    SignInIdentity("integrator", "integrator", "deployment", "Integratsiya muhandisi", "Tursunov", "Sardor", "Ulug'bekovich", "male", date(1991, 8, 19), "AB1000008"),
)  # fmt: skip

WORK_DOMAINS = {"ministry": "ssv.uz", "integrator": "uzinfocom.uz"}

# What happens to the extra staff who do not author clinical rows; cycled so every story appears even in small runs.
FATES: tuple[str, ...] = (
    "archived", "transfer_done", "stay", "termination_pending", "blocked_review", "archived", "termination_overdue",
    "transfer_pending", "blocked", "transfer_done", "archived", "stay", "transfer_overdue", "archived",
)  # fmt: skip

PROMOTIONS = {
    "doctor": "Bo'lim mudiri",
    "nurse": "Katta hamshira",
    "registrar": "Katta registrator",
    "pharmacist": "Provizor",
}

RECENT_SCENARIOS: tuple[str, ...] = (
    "installed", "in_progress", "overdue", "received", "installed", "rejected", "in_progress", "overdue", "installed", "received",
)  # fmt: skip
# How many days ago a recent request of each scenario arrived (15 working days are about 3 weeks).
RECENT_AGES = {
    "installed": (20, 70),
    "in_progress": (3, 10),
    "received": (0, 3),
    "overdue": (30, 60),
    "rejected": (10, 50),
}
REJECTIONS = (
    "Ariza ilovasidagi xodimlar ro'yxatida PINFL xato ko'rsatilgan",
    "Arizada tashkilot rahbarining imzosi yo'q",
    "So'ralgan modul tashkilot turiga mos emas",
)


@dataclass
class Member:
    """One cabinet (or requested person) being planned."""

    org: Org
    dept: Dept
    role: str
    position: str
    stable: bool  # stays active all along and authors clinical rows
    person: Person | None = None
    identity: SignInIdentity | None = None
    cabinet_id: int = 0
    created: int = 0
    fate: str = "stay"
    status: str = "active"
    blocked_at: int | None = None
    archived_at: int | None = None
    retain_until: date | None = None
    updated: int = 0
    document: tuple[str, str, str] = ("passport", "AA", "0000000")
    email: str = ""
    phone: str = ""
    reviews: list[tuple[int, int, str]] = field(default_factory=list)  # (campaign id, time, decision)


class StaffBuilder:
    """Plans and writes every user-related row; leaves the stable cabinets in the departments' pools."""

    def __init__(self, env: Env, people: People, network: Network) -> None:
        self.rng = env.rng
        self.clock = env.clock
        self.ids = env.ids
        self.sink = env.sink
        self.people = people
        self.network = network
        self._subjects: set[tuple[str, str]] = set()
        # Who registers requests, who acts on notices, who writes an organization's notices (set once planned).
        self._integrators: list[int] = []
        self._admins: list[int] = []
        self._managers: dict[int, Member] = {}

    def build(self) -> None:
        """Write cabinets, identities, requests, notices and inventories."""
        members = self._plan()
        self._identify(members)
        self._install_initial(members)
        recent = self._recent_requests()
        installed_recent = [member for member in recent if member.cabinet_id]
        self._fates([member for member in members if not member.stable])
        self._inventories([*members, *installed_recent])
        everyone = sorted([*members, *installed_recent], key=lambda member: member.cabinet_id)
        for member in everyone:
            self._cabinet(member)
        for member in everyone:
            self._identities(member)
        self._write_reviews(everyone)
        for member in members:
            if member.stable:
                member.dept.staff.setdefault(member.role, []).append(member.cabinet_id)

    # --- who works where ------------------------------------------------------------------------------------------

    def _plan(self) -> list[Member]:
        rng = self.rng
        members: list[Member] = []
        for org in self.network.all():
            stable: list[Member] = []
            clinical: list[tuple[Dept, str, str]] = []  # (department, role, position) a leaver may have held
            for plan in DEPTS_BY_KIND[org.kind]:
                dept = org.depts[plan.profile]
                for role, position, low, high in plan.staffing:
                    count = low if org.kind in ("ministry", "integrator") else rng.randint(low, high)
                    if role in PROMOTIONS and count:
                        clinical.append((dept, role, position))
                    for index in range(count):
                        # Heads of inpatient departments and senior nurses lead their department's list.
                        lead = dept.kind == "inpatient" and index == 0 and role in ("doctor", "nurse")
                        stable.append(Member(org, dept, role, PROMOTIONS[role] if lead else position, stable=True))
            members.extend(stable)
            # A few more people who will leave, move or be blocked; they never author clinical rows.
            if org.kind in ("polyclinic", "hospital", "pharmacy"):
                extra = max(1, round(len(stable) * 0.06)) if org.kind != "pharmacy" else int(rng.random() < 0.5)
                for _ in range(extra):
                    dept, role, position = rng.choice(clinical)
                    members.append(Member(org, dept, role, position, stable=False))
        return members

    def _identify(self, members: list[Member]) -> None:
        """Give people, documents and ids: the sign-in identities first so their ids and PINFLs never move."""
        first_org = {
            "polyclinic": self.network.polyclinics[TASHKENT_CITY][0],
            "pharmacy": self.network.pharmacies[TASHKENT_CITY][0],
            "ministry": self.network.ministry,
            "integrator": self.network.integrator,
        }
        for identity in SIGN_IN:
            org = first_org[identity.kind]
            member = next(
                m for m in members
                if m.org is org and m.role == identity.role and m.dept.profile == identity.profile and m.identity is None
            )  # fmt: skip
            member.identity = identity
            member.position = identity.position
            member.person = Person(
                identity.surname, identity.given_name, identity.patronymic, identity.sex, identity.birth_date,
                self.people.pinfls.make(identity.birth_date, identity.sex),
            )  # fmt: skip
            member.document = ("passport", identity.document[:2], identity.document[2:])
            self.people.register_document(identity.document)
            member.email = self.people.email(member.person, WORK_DOMAINS.get(identity.kind, "gmail.com"))
            member.phone = self.people.phone()
            member.cabinet_id = self.ids.take("cabinet")
        for member in members:
            if member.identity is None:
                self._person(member)

    def _person(self, member: Member) -> None:
        member.person = self.people.adult()
        member.document = self.people.document()
        member.email = self.people.email(member.person, WORK_DOMAINS.get(member.org.kind))
        member.phone = self.people.phone()
        member.cabinet_id = self.ids.take("cabinet")

    # --- installation requests ------------------------------------------------------------------------------------

    def _integrator(self) -> int:
        """A UZINFOCOM integrator's cabinet id (they register requests and run the inventory)."""
        return self.rng.choice(self._integrators)

    def _install_initial(self, members: list[Member]) -> None:
        rng = self.rng
        by_org: dict[int, list[Member]] = {}
        for member in members:
            by_org.setdefault(member.org.id, []).append(member)
        self._integrators = [m.cabinet_id for m in by_org[self.network.integrator.id] if m.role == "integrator"]
        self._admins = [m.cabinet_id for m in by_org[self.network.ministry.id] if m.role == "admin"]
        self._managers = {org_id: next(m for m in staff if m.role == "manager") for org_id, staff in by_org.items()}
        for org in self.network.all():
            staff = by_org[org.id]
            if org.kind in ("ministry", "integrator"):
                for member in staff:
                    member.created = org.created + rng.randrange(5 * MINUTE, 3 * HOUR)
                continue
            received = local_day(org.created) + timedelta(days=rng.randint(1, 10))
            due = installation_due(received)
            if rng.random() < 0.9:
                installed = received + timedelta(days=rng.randint(2, (due - received).days))
            else:
                installed = due + timedelta(days=rng.randint(1, 4))  # late: the deadline report shows these
            request_id = self._request(org, received, due, "installed", installed)
            for member in staff:
                member.created = midnight(installed) + rng.randrange(10 * HOUR, 17 * HOUR)
                self._requested(member, request_id)

    def _request(self, org: Org, received: date, due: date, status: str, installed: date | None) -> int:
        rng = self.rng
        request_id = self.ids.take("installation_request")
        manager = self._managers[org.id]
        assert manager.person is not None
        created = at(min(midnight(received) + rng.randrange(9 * HOUR, 17 * HOUR), self.clock.now - MINUTE))
        self.sink.add("installation_request", {
            "id": request_id, "number": f"IR-{received.year}-{request_id:06d}", "organization_id": org.id,
            "modules": list(MODULES_BY_KIND[org.kind]),
            "letter_number": f"{rng.randint(1, 12):02d}-{rng.randint(1, 40):02d}/{rng.randint(100, 9999)}",
            "received_on": received, "due_on": due, "status": status, "installed_on": installed,
            "rejection_reason": rng.choice(REJECTIONS) if status == "rejected" else None,
            "contact_name": manager.person.full_name, "contact_phone": manager.phone,
            "created_by": self._integrator(), "created_at": created, "updated_at": created,
        })  # fmt: skip
        return request_id

    def _requested(self, member: Member, request_id: int, cabinet: bool = True) -> None:
        person = member.person
        assert person is not None
        kind, series, number = member.document
        self.sink.add("requested_user", {
            "id": self.ids.take("requested_user"), "request_id": request_id, "organization_id": member.org.id,
            "surname": person.surname, "given_name": person.given_name, "patronymic": person.patronymic,
            "position": member.position, "department_name": member.dept.name, "document_type": kind,
            "document_series": series, "document_number": number, "pinfl": person.pinfl, "email": member.email,
            "role": member.role, "cabinet_id": member.cabinet_id if cabinet else None,
        })  # fmt: skip

    def _recent_requests(self) -> list[Member]:
        """Requests of the last two months in every state: installed, in progress, waiting, overdue, rejected."""
        rng, clock, today = self.rng, self.clock, self.clock.today
        candidates = [org for org in self.network.all() if org.kind in MODULES_BY_KIND]
        count = max(len(RECENT_SCENARIOS), round(len(candidates) * 0.15))
        orgs = sorted(rng.sample(candidates, min(count, len(candidates))), key=lambda org: org.id)
        newcomers: list[Member] = []
        for index, org in enumerate(orgs):
            scenario = RECENT_SCENARIOS[index % len(RECENT_SCENARIOS)]
            low, high = RECENT_AGES[scenario]
            received = today - timedelta(days=rng.randint(low, high))
            due = installation_due(received)
            installed = None
            status = scenario
            if scenario == "installed":
                installed = min(today, received + timedelta(days=rng.randint(3, max(3, (due - received).days))))
            elif scenario == "overdue":
                status = rng.choice(("received", "in_progress"))
            request_id = self._request(org, received, due, status, installed)
            roles = [
                (org.depts[plan.profile], role, position)
                for plan in DEPTS_BY_KIND[org.kind]
                for role, position, _low, _high in plan.staffing
                if role != "manager"
            ]
            for _ in range(rng.randint(1, 4)):
                dept, role, position = rng.choice(roles)
                member = Member(org, dept, role, position, stable=False)
                member.person = self.people.adult(23, 45)
                member.document = self.people.document()
                member.email = self.people.email(member.person)
                member.phone = self.people.phone()
                if installed is not None:
                    member.cabinet_id = self.ids.take("cabinet")
                    member.created = min(
                        midnight(installed) + rng.randrange(10 * HOUR, 17 * HOUR),
                        clock.now - rng.randrange(MINUTE, HOUR),
                    )
                self._requested(member, request_id, cabinet=installed is not None)
                newcomers.append(member)
        return newcomers

    # --- leavers ------------------------------------------------------------------------------------------------

    def _fates(self, leavers: list[Member]) -> None:
        for index, member in enumerate(leavers):
            member.fate = FATES[index % len(FATES)]
            if member.fate in ("archived", "transfer_done"):
                self._notice(member, acted=True)
            elif member.fate in ("termination_pending", "transfer_pending"):
                self._notice(member, acted=False, days_ago=(0, 1))
            elif member.fate in ("termination_overdue", "transfer_overdue"):
                self._notice(member, acted=False, days_ago=(18, 40))
            elif member.fate == "blocked":
                blocked = self.clock.now - self.rng.randrange(2 * DAY, 200 * DAY)
                member.status, member.blocked_at, member.updated = "blocked", blocked, blocked

    def _notice(self, member: Member, *, acted: bool, days_ago: tuple[int, int] = (20, 400)) -> None:
        rng, clock, today = self.rng, self.clock, self.clock.today
        transfer = member.fate.startswith("transfer")
        event = today - timedelta(days=rng.randint(*days_ago))
        notice_by = notice_due(event)
        if rng.random() < 0.9 or not acted:
            notified = event + timedelta(days=rng.randint(0, (min(notice_by, today) - event).days))
        else:
            notified = notice_by + timedelta(days=rng.randint(1, 5))  # the organization was late
        action_by = access_update_due(notified)
        action_at: int | None = None
        if acted:
            late = rng.random() >= 0.85
            action_day = (
                action_by + timedelta(days=rng.randint(1, 4))
                if late
                else notified + timedelta(days=rng.randint(0, (action_by - notified).days))
            )
            action_at = min(midnight(min(action_day, today)) + rng.randrange(10 * HOUR, 18 * HOUR), clock.now - MINUTE)
        new_position = PROMOTIONS[member.role] if transfer else None
        created = min(midnight(notified) + rng.randrange(9 * HOUR, 17 * HOUR), clock.now - MINUTE)
        if action_at is not None:
            action_at = max(action_at, created + 10 * MINUTE)
        self.sink.add("employment_notice", {
            "id": self.ids.take("employment_notice"), "cabinet_id": member.cabinet_id, "organization_id": member.org.id,
            "kind": "transfer" if transfer else "termination", "event_date": event, "notice_due_on": notice_by,
            "notified_on": notified, "action_due_on": action_by, "new_position": new_position,
            "action": None if action_at is None else ("rights_updated" if transfer else "blocked_archived"),
            "action_at": None if action_at is None else at(action_at),
            "action_by": None if action_at is None else rng.choice(self._admins),
            "created_by": self._managers[member.org.id].cabinet_id, "created_at": at(created),
        })  # fmt: skip
        if action_at is None:
            return
        member.updated = action_at
        if transfer:
            assert new_position is not None
            member.position = new_position
        else:
            archived_day = local_day(action_at)
            keep = (
                archived_day.replace(year=archived_day.year + 1)
                if (archived_day.month, archived_day.day) != (2, 29)
                else archived_day + timedelta(days=366)
            )
            member.status, member.blocked_at, member.archived_at = "archived", action_at, action_at
            member.retain_until = keep + timedelta(days=rng.randint(0, 30))

    # --- inventories (R-14) ---------------------------------------------------------------------------------------

    def _inventories(self, members: list[Member]) -> None:
        rng, clock, today = self.rng, self.clock, self.clock.today
        campaigns: list[tuple[int, int, int, bool]] = []  # (id, window start, window end, complete)
        for year in (today.year - 1, today.year):
            started = date(year, 1, 15) if year < today.year else max(date(year, 1, 1), min(date(year, 1, 15), today))
            due = date(year, 3, 31)
            closed = midnight(date(year, 4, 2)) + 16 * HOUR if year < today.year else None
            campaign_id = self.ids.take("inventory_campaign")
            self.sink.add("inventory_campaign", {
                "id": campaign_id, "year": year, "started_on": started, "due_on": due,
                "closed_at": None if closed is None else at(closed), "created_by": self._integrators[0],
            })  # fmt: skip
            end = min(clock.now - MINUTE, midnight(due) + 18 * HOUR)
            campaigns.append((campaign_id, midnight(started) + 9 * HOUR, end, closed is not None))
        last, current = campaigns
        for member in members:
            if member.fate == "blocked_review":
                # Blocked at a review: in this year's campaign once it has run a while, else in last year's.
                campaign_id, start, end, _complete = current if current[2] - current[1] > DAY else last
                moment = rng.randrange(max(start, member.created + HOUR), end)
                member.status, member.blocked_at, member.updated = "blocked", moment, moment
                member.reviews.append((campaign_id, moment, "blocked"))
            for campaign_id, start, end, complete in campaigns:
                if member.created >= start or any(review[0] == campaign_id for review in member.reviews):
                    continue
                if not complete and rng.random() < 0.15:
                    continue  # the current campaign has not reached everyone yet
                moment = rng.randrange(start, max(end, start + 1))
                if member.blocked_at is not None and moment >= member.blocked_at:
                    continue
                decision = "confirmed" if rng.random() < 0.95 else "rights_changed"
                member.reviews.append((campaign_id, moment, decision))

    def _write_reviews(self, members: list[Member]) -> None:
        for member in members:
            for campaign_id, moment, decision in member.reviews:
                self.sink.add("inventory_review", {
                    "id": self.ids.take("inventory_review"), "campaign_id": campaign_id, "cabinet_id": member.cabinet_id,
                    "reviewer_id": self._integrator(), "reviewed_at": at(moment), "decision": decision,
                    "note": {"blocked": "Xodim ishlamaydi; kabinet bloklandi",
                             "rights_changed": "Lavozimiga mos huquqlar yangilandi"}.get(decision),
                })  # fmt: skip

    # --- rows -----------------------------------------------------------------------------------------------------

    def _cabinet(self, member: Member) -> None:
        person = member.person
        assert person is not None
        kind, series, number = member.document
        created = at(member.created)
        self.sink.add("cabinet", {
            "id": member.cabinet_id, "id_number": f"U{member.cabinet_id:08d}", "organization_id": member.org.id,
            "department_id": member.dept.id, "status": member.status, "created_at": created,
            "blocked_at": None if member.blocked_at is None else at(member.blocked_at),
            "archived_at": None if member.archived_at is None else at(member.archived_at),
            "retain_until": member.retain_until, "updated_at": at(max(member.updated, member.created)),
            "surname": person.surname, "given_name": person.given_name, "patronymic": person.patronymic,
            "position": member.position, "department_name": member.dept.name, "document_type": kind,
            "document_series": series, "document_number": number, "pinfl": person.pinfl, "email": member.email,
            "role": member.role,
        })  # fmt: skip

    def _identities(self, member: Member) -> None:
        rng, clock = self.rng, self.clock
        person = member.person
        assert person is not None
        until = member.blocked_at if member.blocked_at is not None else clock.now
        kinds = ["oneid", "eimzo"] if member.identity is not None else []
        if not kinds:
            if rng.random() < 0.9:
                kinds.append("oneid")
            if member.role in ("doctor", "pharmacist", "manager", "admin") and rng.random() < 0.6:
                kinds.append("eimzo")
        for kind in kinds:
            first = min(office_hours(rng, member.created + rng.randrange(HOUR, 3 * DAY)), until - MINUTE)
            first = max(first, member.created)
            used = office_hours(rng, until - rng.randrange(MINUTE, 14 * DAY))
            last = None if rng.random() < 0.05 else min(until, max(first, used))
            while True:
                subject = f"{rng.getrandbits(64):016x}" if kind == "oneid" else f"{rng.getrandbits(40):010X}"
                if (kind, subject) not in self._subjects:
                    self._subjects.add((kind, subject))
                    break
            self.sink.add("login_identity", {
                "id": self.ids.take("login_identity"), "cabinet_id": member.cabinet_id, "kind": kind, "subject": subject,
                "pinfl": person.pinfl, "created_at": at(first), "last_used_at": None if last is None else at(last),
            })  # fmt: skip
