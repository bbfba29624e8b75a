"""Uzbek given names, surnames and patronymics in the Latin alphabet (ASCII apostrophe, as registries store it)."""

from __future__ import annotations

from random import Random

MALE_NAMES: tuple[str, ...] = (
    "Abdulla", "Abdurahmon", "Abbos", "Akmal", "Alisher", "Anvar", "Asror", "Aziz", "Azizbek", "Bahodir",
    "Bahrom", "Baxtiyor", "Behruz", "Bekzod", "Bobur", "Botir", "Davron", "Dilshod", "Doniyor", "Elyor",
    "Eldor", "Ergash", "Erkin", "Farhod", "Farrux", "G'ayrat", "G'ulom", "G'olib", "Hamid", "Hamza",
    "Hasan", "Husan", "Ibrohim", "Ikrom", "Ilhom", "Islom", "Jahongir", "Jaloliddin", "Jamshid", "Jasur",
    "Javlon", "Javohir", "Kamol", "Karim", "Komil", "Laziz", "Mahmud", "Mansur", "Mirzo", "Muhammad",
    "Murod", "Muzaffar", "Nodir", "Normurod", "Nurali", "Odil", "Otabek", "Oybek", "O'ktam", "O'lmas",
    "O'tkir", "Po'lat", "Qahramon", "Qodir", "Rahim", "Ravshan", "Rustam", "Sanjar", "Sardor", "Sarvar",
    "Shavkat", "Sherzod", "Shohruh", "Shuhrat", "Sirojiddin", "Sobir", "Sodiq", "Sunnat", "Temur", "Tohir",
    "To'lqin", "Tursun", "Ulug'bek", "Umid", "Usmon", "Xurshid", "Yusuf", "Zafar", "Zokir", "Isroil",
)  # fmt: skip

FEMALE_NAMES: tuple[str, ...] = (
    "Asal", "Aziza", "Barno", "Charos", "Dildora", "Dilfuza", "Dilnoza", "Dilorom", "Durdona", "Feruza",
    "Fotima", "Gulbahor", "Gulchehra", "Gulnora", "Gulnoza", "Gulshan", "Go'zal", "Hilola", "Iroda", "Jasmina",
    "Kamola", "Komila", "Kumush", "Laylo", "Lola", "Madina", "Maftuna", "Mahliyo", "Malika", "Marjona",
    "Mastura", "Mavluda", "Mohinur", "Mohira", "Muborak", "Munisa", "Muqaddas", "Muxlisa", "Nafisa", "Nargiza",
    "Nasiba", "Nigora", "Nilufar", "Nodira", "Ozoda", "Oydin", "Oysha", "O'g'iloy", "Rano", "Robiya",
    "Ruxshona", "Sabina", "Sadoqat", "Saodat", "Sevara", "Shahnoza", "Shaxlo", "Shohista", "Shoira", "Sitora",
    "Surayyo", "Tursunoy", "Umida", "Xadicha", "Xurshida", "Yulduz", "Zarina", "Zebo", "Zilola", "Zuhra",
)  # fmt: skip

# Male forms; the female form adds "a" (Karimov → Karimova, Aliyev → Aliyeva).
SURNAMES: tuple[str, ...] = (
    "Abdullayev", "Abdurahmonov", "Ahmedov", "Akbarov", "Aliyev", "Aminov", "Azimov", "Boboyev", "Berdiyev",
    "Fayzullayev", "G'afurov", "G'aniyev", "Hamidov", "Hasanov", "Haydarov", "Husanov", "Ikromov", "Ismoilov",
    "Islomov", "Jalolov", "Jo'rayev", "Kamolov", "Karimov", "Mahmudov", "Mamatov", "Mirzayev", "Mo'minov",
    "Murodov", "Nabiyev", "Nazarov", "Ne'matov", "Normatov", "Nurmatov", "Olimov", "Otajonov", "O'rinov",
    "Po'latov", "Qodirov", "Qosimov", "Qurbonov", "Rahimov", "Rashidov", "Rustamov", "Safarov", "Saidov",
    "Salimov", "Sharipov", "Shermatov", "Sobirov", "Sodiqov", "Sultonov", "Tojiyev", "Toshmatov", "To'xtayev",
    "Tursunov", "Turg'unov", "Umarov", "Usmonov", "Valiyev", "Xolmatov", "Xo'jayev", "Yoqubov", "Yusupov",
    "Zaripov", "Zokirov", "Egamberdiyev",
)  # fmt: skip

# Surnames that do not change with sex (literary and nisba forms some families carry).
INDECLINABLE_SURNAMES: tuple[str, ...] = (
    "Qodiriy", "Navoiy", "Fitrat", "Cho'lpon", "Furqat", "Muqimiy", "Xorazmiy", "Buxoriy", "Termiziy",
    "Farg'oniy", "Samarqandiy", "Marg'iloniy",
)  # fmt: skip

_VOWELS = frozenset("aeiou")


def surname(rng: Random, sex: str) -> str:
    """A surname in the form for `sex` ("male" or "female")."""
    if rng.random() < 0.05:
        return rng.choice(INDECLINABLE_SURNAMES)
    male = rng.choice(SURNAMES)
    return male if sex == "male" else male + "a"


def given_name(rng: Random, sex: str) -> str:
    """A given name for `sex`."""
    return rng.choice(MALE_NAMES if sex == "male" else FEMALE_NAMES)


def patronymic(father: str, sex: str, *, uzbek_style: bool) -> str:
    """The patronymic from the father's given name: "Karimovich"/"Karimovna" or "Karim o'g'li"/"Karim qizi"."""
    if uzbek_style:
        return f"{father} o'g'li" if sex == "male" else f"{father} qizi"
    stem = father + ("yev" if father[-1] in _VOWELS else "ov")
    return stem + ("ich" if sex == "male" else "na")


def latin_login(name: str) -> str:
    """`name` folded to the ASCII letters an e-mail address or login can carry (O'ktam → oktam)."""
    return "".join(char for char in name.lower() if "a" <= char <= "z")
