"""People: sex, age from Uzbekistan's age pyramid, names, unique PINFLs, phones, identity documents, e-mails."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from random import Random

from ehealth.demo import names
from ehealth.demo.clock import Weighted
from ehealth.identifiers import make_pinfl

# Share of the population by 5-year age band (Statistics Agency, 2024): a young population.
AGE_PYRAMID: tuple[tuple[tuple[int, int], float], ...] = (
    ((0, 4), 10.5), ((5, 9), 10.0), ((10, 14), 9.0), ((15, 19), 7.8), ((20, 24), 7.3), ((25, 29), 8.0),
    ((30, 34), 8.5), ((35, 39), 7.8), ((40, 44), 6.6), ((45, 49), 5.5), ((50, 54), 5.0), ((55, 59), 4.7),
    ((60, 64), 3.9), ((65, 69), 2.8), ((70, 74), 1.6), ((75, 79), 0.8), ((80, 84), 0.4), ((85, 89), 0.15),
    ((90, 99), 0.05),
)  # fmt: skip
_BANDS = Weighted(AGE_PYRAMID)

# Mobile operator codes: Beeline 90/91, Ucell 93/94, Uzmobile 95/99, Mobiuz 97/88, Perfectum 98, Humans 33.
OPERATORS = Weighted(
    [("90", 16), ("91", 10), ("93", 14), ("94", 9), ("95", 6), ("97", 14), ("98", 5), ("99", 10), ("33", 8), ("88", 8)]
)
PASSPORT_SERIES = ("AA", "AB", "AC", "AD", "FA", "KA")
ID_CARD_SERIES = ("AD", "AE", "AF")
MAIL_DOMAINS = Weighted([("gmail.com", 45), ("mail.ru", 25), ("umail.uz", 12), ("inbox.uz", 8), ("yandex.ru", 10)])

_SERIALS = 999
# A fixed shuffle of district codes 1-999 so that consecutive PINFLs of one birth date do not all share a code.
_DISTRICT_CODES: tuple[int, ...] = tuple(Random(1991).sample(range(1, _SERIALS + 1), _SERIALS))  # noqa: S311  (a fixed table)


class PinflFactory:
    """Unique PINFLs: a counter per (birth date, sex) walks the 999 x 999 district and serial codes."""

    def __init__(self) -> None:
        # At most ~73,000 keys (100 years x 365 days x 2 sexes) whatever the number of people.
        self._issued: dict[int, int] = {}

    def make(self, birth: date, sex: str) -> str:
        """A valid PINFL for `birth` and `sex` that no earlier call returned."""
        key = birth.toordinal() * 2 + (sex == "female")
        count = self._issued.get(key, 0)
        if count >= _SERIALS * _SERIALS:
            raise OverflowError(f"more than {_SERIALS * _SERIALS} people born on {birth} of sex {sex}")
        self._issued[key] = count + 1
        block, offset = divmod(count, _SERIALS)
        # Both offsets are bijective for a fixed key, so (district, serial) never repeats for that key.
        district = _DISTRICT_CODES[(offset + key * 7919) % _SERIALS]
        serial = (block + key * 31) % _SERIALS + 1
        return make_pinfl(birth, sex, district, serial)


@dataclass(frozen=True)
class Person:
    """Who someone is, as the PINFL and documents say."""

    surname: str
    given_name: str
    patronymic: str
    sex: str
    birth_date: date
    pinfl: str

    @property
    def full_name(self) -> str:
        """Surname, given name and patronymic."""
        return f"{self.surname} {self.given_name} {self.patronymic}"


class People:
    """Makes people for one generation run (one random stream, one PINFL register)."""

    def __init__(self, rng: Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self.pinfls = PinflFactory()
        self._emails: set[str] = set()
        self._documents: set[str] = set()

    def age_days(self) -> int:
        """An age in days drawn from the age pyramid."""
        low, high = _BANDS.pick(self.rng)
        return self.rng.randrange(int(low * 365.25), int((high + 1) * 365.25))

    def person(self, sex: str, birth: date) -> Person:
        """A person of `sex` born on `birth`, with a name and a fresh PINFL."""
        rng = self.rng
        father = rng.choice(names.MALE_NAMES)
        # The Uzbek form ("Karim o'g'li") is more common among people registered after independence.
        uzbek_style = rng.random() < (0.45 if birth.year >= 1995 else 0.2)
        return Person(
            surname=names.surname(rng, sex),
            given_name=names.given_name(rng, sex),
            patronymic=names.patronymic(father, sex, uzbek_style=uzbek_style),
            sex=sex,
            birth_date=birth,
            pinfl=self.pinfls.make(birth, sex),
        )

    def patient(self) -> Person:
        """Someone from the general population."""
        sex = "male" if self.rng.random() < 0.497 else "female"
        return self.person(sex, self.today - timedelta(days=self.age_days()))

    def adult(self, youngest: int = 23, oldest: int = 62, sex: str | None = None) -> Person:
        """A working-age adult (staff)."""
        rng = self.rng
        chosen = sex or ("male" if rng.random() < 0.45 else "female")
        days = rng.randrange(int(youngest * 365.25), int(oldest * 365.25))
        return self.person(chosen, self.today - timedelta(days=days))

    def phone(self) -> str:
        """A mobile number: +998 XX XXX XX XX."""
        rng = self.rng
        number = rng.randrange(10_000_000)
        return f"+998 {OPERATORS.pick(rng)} {number // 10_000:03d} {number // 100 % 100:02d} {number % 100:02d}"

    def document(self) -> tuple[str, str, str]:
        """(document_type, series, number) of a passport or ID card no one else in this run holds."""
        rng = self.rng
        while True:
            if rng.random() < 0.35:
                kind, series = "id_card", rng.choice(ID_CARD_SERIES)
            else:
                kind, series = "passport", rng.choice(PASSPORT_SERIES)
            number = f"{rng.randrange(10**6, 10**7):07d}"
            if series + number not in self._documents:
                self._documents.add(series + number)
                return kind, series, number

    def register_document(self, document: str) -> None:
        """Reserve a fixed series and number so that no generated document repeats it."""
        self._documents.add(document)

    def email(self, person: Person, domain: str | None = None) -> str:
        """A unique e-mail address built from the name (work domain when given, else a personal one)."""
        rng = self.rng
        local = f"{names.latin_login(person.given_name)}.{names.latin_login(person.surname)}"
        host = domain or MAIL_DOMAINS.pick(rng)
        candidate = f"{local}@{host}"
        while candidate in self._emails:
            candidate = f"{local}{rng.randrange(1, 1000)}@{host}"
        self._emails.add(candidate)
        return candidate
