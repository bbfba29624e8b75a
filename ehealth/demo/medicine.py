"""Clinical reference data of the demo: diagnoses and what goes with them, lab tests, studies, allergens."""

from __future__ import annotations

from dataclasses import dataclass

from ehealth.emr.models import Modality
from ehealth.prescription.rules import RULES

# Department profiles (Department.profile) that see patients.
THERAPY = "therapy"
PEDIATRICS = "pediatrics"
CARDIOLOGY = "cardiology"
NEUROLOGY = "neurology"
GYNECOLOGY = "gynecology"
ENDOCRINOLOGY = "endocrinology"
SURGERY = "surgery"
INTENSIVE_CARE = "intensive_care"

# ICD-10 prefixes for which medicines are reimbursed (hypertension, IHD, type 2 diabetes, asthma, COPD): the rules'.
REIMBURSED_PREFIXES: tuple[str, ...] = RULES.reimbursed_icd10_prefixes


@dataclass(frozen=True)
class Diagnosis:
    """An outpatient diagnosis and what a visit for it usually involves."""

    code: str
    name: str
    profile: str
    complaint: str
    drugs: tuple[str, ...] = ()  # ATC codes the doctor chooses from
    rx_chance: float = 0.5
    labs: tuple[str, ...] = ()  # lab tests ordered; those in `abnormal` come out of range
    abnormal: tuple[str, ...] = ()
    lab_chance: float = 0.15
    study: str | None = None
    study_chance: float = 0.0
    fever: bool = False
    respiratory: bool = False
    chronic: bool = False

    @property
    def reimbursable(self) -> bool:
        """True when the state reimburses medicines for this diagnosis."""
        return self.code.startswith(REIMBURSED_PREFIXES)


def _acute(code: str, name: str, profile: str, complaint: str, **kwargs: object) -> Diagnosis:
    return Diagnosis(code, name, profile, complaint, **kwargs)  # type: ignore[arg-type]


def _chronic(code: str, name: str, profile: str, complaint: str, **kwargs: object) -> Diagnosis:
    return Diagnosis(code, name, profile, complaint, chronic=True, **kwargs)  # type: ignore[arg-type]


CBC = ("HGB", "WBC", "ESR")

# --- Chronic diseases: a patient has them for the whole window and is followed up --------------------------------

HYPERTENSION = _chronic(
    "I10",
    "Essensial (birlamchi) gipertenziya",
    CARDIOLOGY,
    "Bosh og'rig'i, qon bosimining ko'tarilishi",
    drugs=("C08CA01", "C09AA02", "C09AA03", "C09CA01", "C07AB07", "C03BA11"),
    rx_chance=0.8,
    labs=("CHOL", "CREA", "GLU"),
    abnormal=("CHOL",),
    lab_chance=0.35,
    study="ecg",
    study_chance=0.35,
)
HYPERTENSIVE_HEART = _chronic(
    "I11.9",
    "Gipertonik yurak kasalligi",
    CARDIOLOGY,
    "Hansirash, yurak sohasida og'riq, qon bosimi yuqori",
    drugs=("C09AA03", "C07AB07", "C08CA01", "C03BA11", "C10AA05"),
    rx_chance=0.8,
    labs=("CHOL", "CREA"),
    abnormal=("CHOL",),
    lab_chance=0.35,
    study="ecg_lvh",
    study_chance=0.45,
)
DIABETES = _chronic(
    "E11.9",
    "2-tip qandli diabet, asoratlarsiz",
    ENDOCRINOLOGY,
    "Og'iz qurishi, tez-tez siyish, holsizlik",
    drugs=("A10BA02", "A10BB09", "A10BH01", "A10AE04"),
    rx_chance=0.85,
    labs=("GLU", "HBA1C", "CREA"),
    abnormal=("GLU", "HBA1C"),
    lab_chance=0.6,
    study="us_kidney",
    study_chance=0.1,
)
IHD = _chronic(
    "I25.1",
    "Aterosklerotik yurak kasalligi",
    CARDIOLOGY,
    "Jismoniy zo'riqishda ko'krak qafasida og'riq",
    drugs=("C10AA05", "B01AC06", "C07AB07", "C01EB15", "C01DA14", "B01AC04"),
    rx_chance=0.85,
    labs=("CHOL", "GLU"),
    abnormal=("CHOL",),
    lab_chance=0.4,
    study="ecg_ischemia",
    study_chance=0.5,
)
ASTHMA = _chronic(
    "J45.9",
    "Bronxial astma",
    THERAPY,
    "Bo'g'ilish xurujlari, yo'tal",
    drugs=("R03AC02", "R03AK06", "R03BA02"),
    rx_chance=0.75,
    study="xray_clear",
    study_chance=0.1,
    respiratory=True,
)
COPD = _chronic(
    "J44.9",
    "O'pkaning surunkali obstruktiv kasalligi",
    THERAPY,
    "Hansirash, balg'amli yo'tal",
    drugs=("R03AK06", "R03AC02", "R05CB01"),
    rx_chance=0.7,
    labs=CBC,
    study="xray_clear",
    study_chance=0.25,
    respiratory=True,
)
ANEMIA = _chronic(
    "D50.9",
    "Temir tanqisligi anemiyasi",
    THERAPY,
    "Holsizlik, bosh aylanishi, tez charchash",
    drugs=("B03AA07", "B03BB01"),
    rx_chance=0.8,
    labs=("HGB", "WBC"),
    abnormal=("HGB",),
    lab_chance=0.8,
)
HYPOTHYROIDISM = _chronic(
    "E03.9",
    "Gipotireoz",
    ENDOCRINOLOGY,
    "Holsizlik, vazn ortishi, uyquchanlik",
    drugs=("H03AA01",),
    rx_chance=0.85,
    labs=("TSH",),
    abnormal=("TSH",),
    lab_chance=0.6,
    study="us_thyroid",
    study_chance=0.3,
)
GONARTHROSIS = _chronic(
    "M17.9",
    "Gonartroz",
    SURGERY,
    "Tizza bo'g'imlarida og'riq",
    drugs=("M01AC06", "M01AB05", "N02AX02"),
    rx_chance=0.7,
    study="xray_knee",
    study_chance=0.3,
)
# Not chronic: prescriptions in pregnancy are regular ones; the onset is the conception date.
PREGNANCY = _acute(
    "Z34.9",
    "Normal homiladorlik nazorati",
    GYNECOLOGY,
    "Homiladorlik bo'yicha rejali ko'rik",
    drugs=("B03BB01", "B03AA07"),
    rx_chance=0.5,
    labs=("HGB", "GLU", "UA"),
    lab_chance=0.5,
    study="us_pregnancy",
    study_chance=0.35,
)

# --- Acute diagnoses with their weights for children (0-14), adults (15-59) and the elderly (60+) ------------------

ACUTE: tuple[tuple[Diagnosis, float, float, float], ...] = (
    (_acute("J06.9", "O'tkir respirator infeksiya", THERAPY, "Isitma, burun bitishi, tomoq og'rig'i",
            drugs=("N02BE01", "M01AE01", "R06AE07"), rx_chance=0.5, labs=CBC, lab_chance=0.1, fever=True, respiratory=True), 30, 18, 10),
    (_acute("J02.9", "O'tkir faringit", THERAPY, "Tomoq og'rig'i, yutinishda og'riq",
            drugs=("N02BE01", "J01CA04"), rx_chance=0.5, fever=True, respiratory=True), 8, 5, 2),
    (_acute("J03.9", "O'tkir tonzillit", THERAPY, "Tomoq og'rig'i, isitma 38,5 gacha",
            drugs=("J01CA04", "J01FA10", "N02BE01"), rx_chance=0.8, labs=CBC, abnormal=("WBC", "ESR"), lab_chance=0.3, fever=True), 8, 4, 1),
    (_acute("J20.9", "O'tkir bronxit", THERAPY, "Yo'tal, balg'am ajralishi, isitma",
            drugs=("R05CB06", "R05CB01", "J01FA10"), rx_chance=0.7, labs=CBC, abnormal=("WBC", "ESR"), lab_chance=0.3,
            study="xray_bronchitis", study_chance=0.3, fever=True, respiratory=True), 10, 7, 8),
    (_acute("J18.9", "Pnevmoniya, aniqlanmagan", THERAPY, "Yuqori isitma, yo'tal, hansirash",
            drugs=("J01CR02", "J01FA10", "J01MA12", "R05CB06"), rx_chance=0.95, labs=(*CBC, "CRP"), abnormal=("WBC", "ESR", "CRP"),
            lab_chance=0.9, study="xray_pneumonia", study_chance=0.9, fever=True, respiratory=True), 3, 2, 4),
    (_acute("H66.9", "O'rta otit", THERAPY, "Quloq og'rig'i, isitma",
            drugs=("J01CA04", "N02BE01"), rx_chance=0.8, fever=True), 6, 1, 0.5),
    (_acute("A09.9", "Gastroenterit va kolit", THERAPY, "Ich ketishi, qorin og'rig'i, ko'ngil aynishi",
            drugs=("A07DA03", "A09AA02"), rx_chance=0.5, labs=CBC, lab_chance=0.2), 8, 3, 2),
    (_acute("N39.0", "Siydik yo'llari infeksiyasi", THERAPY, "Tez-tez va og'riqli siyish",
            drugs=("J01XE01", "J01MA02", "J01EE01"), rx_chance=0.9, labs=("UA", "WBC"), abnormal=("UA",), lab_chance=0.8,
            study="us_kidney", study_chance=0.3), 2, 6, 6),
    (_acute("K29.7", "Gastrit, aniqlanmagan", THERAPY, "Epigastral sohada og'riq, jig'ildon qaynashi",
            drugs=("A02BC01", "A02BC02", "A03FA03", "A03AD02"), rx_chance=0.8, labs=("HGB", "ALT"), lab_chance=0.3,
            study="egds", study_chance=0.25), 1, 6, 4),
    (_acute("M54.5", "Bel og'rig'i", NEUROLOGY, "Bel sohasida og'riq, harakat cheklanishi",
            drugs=("M01AB05", "M01AC06", "M03BX02", "M01AE01", "N02AX02"), rx_chance=0.8, study="xray_spine", study_chance=0.2), 0, 7, 6),
    (_acute("R51", "Bosh og'rig'i", NEUROLOGY, "Bosh og'rig'i",
            drugs=("N02BE01", "M01AE01", "N02BB02"), rx_chance=0.4), 1, 4, 2),
    (_acute("L30.9", "Dermatit, aniqlanmagan", THERAPY, "Teri qichishishi va toshma",
            drugs=("R06AE07", "R06AX13"), rx_chance=0.6), 3, 2, 1),
    (_acute("H10.9", "Kon'yunktivit", THERAPY, "Ko'z qizarishi va yoshlanishi",
            drugs=("S01AA12",), rx_chance=0.7), 2, 1, 0.5),
    (_acute("F41.9", "Xavotirli buzilish", NEUROLOGY, "Xavotir, uyqusizlik, yurak o'ynashi",
            drugs=("N05BA01", "N06AB06", "N05CF01"), rx_chance=0.6), 0, 1.5, 1),
    (_acute("N40", "Prostata giperplaziyasi", SURGERY, "Siyishning qiyinlashuvi",
            drugs=("G04CA02",), rx_chance=0.8, labs=("UA",), lab_chance=0.4, study="us_kidney", study_chance=0.3), 0, 0.3, 3),
)  # fmt: skip

MALE_ONLY = frozenset({"N40"})
MORE_IN_WOMEN = frozenset({"N39.0", "D50.9", "E03.9"})


@dataclass(frozen=True)
class Stay:
    """An inpatient diagnosis: where it is treated, how long, and how it tends to end."""

    code: str
    name: str
    profile: str
    days: tuple[int, int]
    icu_first: float = 0.0  # chance the stay starts in intensive care and moves to `profile`
    death: float = 0.0
    planned: float = 0.0  # chance the admission is planned (with a referral) rather than an emergency
    labs: tuple[str, ...] = CBC
    abnormal: tuple[str, ...] = ()
    study: str | None = None
    treatments: tuple[tuple[str, str], ...] = ()  # (kind, title) entries of the course of treatment
    drugs: tuple[str, ...] = ()  # medicines prescribed at discharge


_IV = "medication"
_PROC = "procedure"

# (stay, weights for children, adults, elderly; "F"/"M" restricts the sex)
STAYS: tuple[tuple[Stay, float, float, float, str], ...] = (
    (Stay("J18.9", "Pnevmoniya", THERAPY, (7, 12), icu_first=0.04, death=0.01, labs=(*CBC, "CRP"), abnormal=("WBC", "ESR", "CRP"),
          study="xray_pneumonia", treatments=((_IV, "Seftriakson 1 g mushak ichiga, kuniga 2 marta"), (_PROC, "Nebulayzer ingalyatsiyasi")),
          drugs=("J01CR02", "R05CB06")), 20, 10, 15, ""),
    (Stay("J20.9", "O'tkir bronxit", PEDIATRICS, (4, 7), labs=CBC, abnormal=("WBC",), study="xray_bronchitis",
          treatments=((_PROC, "Nebulayzer ingalyatsiyasi"),), drugs=("R05CB06",)), 8, 0, 0, ""),
    (Stay("A09.9", "Gastroenterit, suvsizlanish", PEDIATRICS, (3, 5), labs=CBC,
          treatments=((_IV, "Ringer eritmasi 400 ml vena ichiga tomchilab"),), drugs=("A07DA03",)), 8, 0, 0, ""),
    (Stay("I10", "Gipertonik kriz", CARDIOLOGY, (5, 9), death=0.002, labs=("CHOL", "CREA", "GLU"), abnormal=("CHOL",), study="ecg_lvh",
          treatments=((_IV, "Magniy sulfat 25% 10 ml vena ichiga"),), drugs=("C08CA01", "C09AA03", "C07AB07")), 0, 6, 10, ""),
    (Stay("I20.0", "Nostabil stenokardiya", CARDIOLOGY, (7, 10), icu_first=0.3, death=0.01, labs=("CHOL", "GLU", "CREA"), abnormal=("CHOL",),
          study="ecg_ischemia", treatments=((_IV, "Geparin 5000 XB teri ostiga"),), drugs=("C10AA05", "B01AC06", "C07AB07", "C01DA14")), 0, 4, 8, ""),
    (Stay("I21.9", "O'tkir miokard infarkti", CARDIOLOGY, (10, 16), icu_first=0.9, death=0.08, labs=("CHOL", "GLU", "CREA", "WBC"),
          abnormal=("CHOL",), study="ecg_infarction", treatments=((_PROC, "Koronarografiya"), (_IV, "Geparin 5000 XB vena ichiga")),
          drugs=("B01AC06", "B01AC04", "C10AA05", "C07AB07")), 0, 1.5, 4, ""),
    (Stay("I63.9", "Bosh miya infarkti", NEUROLOGY, (10, 16), icu_first=0.5, death=0.1, labs=("CHOL", "GLU", "CREA"), study="ct_stroke",
          treatments=((_IV, "Sitikolin 1000 mg vena ichiga"), (_PROC, "Davolash badantarbiyasi")), drugs=("B01AC06", "C10AA05")), 0, 1, 5, ""),
    (Stay("E11.9", "2-tip qandli diabet, dekompensatsiya", THERAPY, (7, 12), labs=("GLU", "HBA1C", "CREA"), abnormal=("GLU", "HBA1C"),
          study="us_kidney", treatments=((_IV, "Insulin qisqa ta'sirli, sxema bo'yicha teri ostiga"),), drugs=("A10BA02", "A10AE04")), 0, 3, 4, ""),
    (Stay("J44.1", "O'SOK zo'riqishi", THERAPY, (7, 12), icu_first=0.05, death=0.02, abnormal=("WBC",), study="xray_clear",
          treatments=((_PROC, "Kislorod terapiyasi"), (_IV, "Prednizolon 60 mg vena ichiga")), drugs=("R03AK06", "R03AC02")), 0, 0.5, 4, "M"),
    (Stay("K35.8", "O'tkir appenditsit", SURGERY, (4, 7), labs=CBC, abnormal=("WBC",), study="us_appendix",
          treatments=((_PROC, "Operatsiya: laparoskopik appendektomiya"), (_IV, "Seftriakson 1 g vena ichiga")), drugs=("M01AE01",)), 5, 6, 1, ""),
    (Stay("K81.0", "O'tkir xoletsistit", SURGERY, (5, 9), planned=0.2, labs=(*CBC, "ALT"), abnormal=("WBC", "ALT"), study="us_gallbladder",
          treatments=((_PROC, "Operatsiya: laparoskopik xoletsistektomiya"),), drugs=("A03AD02", "A09AA02")), 0, 3, 3, "F"),
    (Stay("K40.9", "Chov churrasi", SURGERY, (3, 5), planned=0.9, study="us_hernia",
          treatments=((_PROC, "Operatsiya: churra plastikasi"),), drugs=("M01AE01",)), 0.5, 3, 3, "M"),
    (Stay("S72.0", "Son suyagi bo'yinchasining sinishi", SURGERY, (12, 18), death=0.03, study="xray_hip",
          treatments=((_PROC, "Operatsiya: osteosintez"),), drugs=("M01AC06", "N02AX02")), 0, 0.3, 2, ""),
    (Stay("N83.2", "Tuxumdon kistasi", GYNECOLOGY, (3, 6), planned=0.8, study="us_pelvis",
          treatments=((_PROC, "Operatsiya: laparoskopik kistektomiya"),), drugs=("M01AE01",)), 0, 2, 0.3, "F"),
)  # fmt: skip

DELIVERY = Stay("O80.9", "Bir homilali spontan tug'ruq", GYNECOLOGY, (3, 4), planned=0.6, labs=("HGB",), study="us_pregnancy",
                treatments=((_PROC, "Tug'ruq: bir homilali spontan tug'ruq"),), drugs=("B03AA07",))  # fmt: skip


@dataclass(frozen=True)
class LabTest:
    """A laboratory test with its unit, reference range and the values a disease shifts it to."""

    code: str
    name: str
    unit: str | None
    male: tuple[float, float]
    female: tuple[float, float]
    child: tuple[float, float]
    abnormal: tuple[float, float]  # where the value falls when the patient's disease affects it
    critical: tuple[float, float]  # below / above these the result is flagged critical
    decimals: int = 1


LAB_TESTS: dict[str, LabTest] = {
    test.code: test
    for test in (
        LabTest("HGB", "Gemoglobin", "g/L", (130, 170), (120, 150), (110, 140), (78, 108), (60, 200), 0),
        LabTest("WBC", "Leykotsitlar", "10^9/L", (4.0, 9.0), (4.0, 9.0), (4.5, 12.0), (10.5, 18.0), (2.0, 30.0)),
        LabTest("ESR", "EChT", "mm/soat", (2, 15), (2, 20), (2, 12), (24, 48), (0, 100), 0),
        LabTest("CRP", "C-reaktiv oqsil", "mg/L", (0, 5), (0, 5), (0, 5), (24, 140), (-1, 200), 0),
        LabTest("GLU", "Qondagi glyukoza", "mmol/L", (3.9, 6.1), (3.9, 6.1), (3.3, 5.6), (7.2, 13.5), (2.5, 20.0)),
        LabTest(
            "HBA1C", "Glikirlangan gemoglobin (HbA1c)", "%", (4.0, 6.0), (4.0, 6.0), (4.0, 6.0), (6.6, 10.4), (0, 14.0)
        ),
        LabTest("CHOL", "Umumiy xolesterin", "mmol/L", (3.0, 5.2), (3.0, 5.2), (2.9, 5.2), (5.5, 7.6), (0, 10.0)),
        LabTest("CREA", "Kreatinin", "µmol/L", (62, 106), (44, 80), (27, 62), (110, 180), (0, 400), 0),
        LabTest("ALT", "Alaninaminotransferaza (ALT)", "U/L", (0, 41), (0, 33), (0, 30), (48, 120), (-1, 400), 0),
        LabTest(
            "TSH", "Tireotrop gormon (TTG)", "mIU/L", (0.4, 4.0), (0.4, 4.0), (0.7, 5.0), (5.5, 14.0), (0.01, 50.0), 2
        ),
        LabTest("UA", "Siydik umumiy tahlili", None, (0, 5), (0, 5), (0, 5), (20, 40), (-1, 100), 0),
    )
}

URINE_NORMAL = "Leykotsitlar {value}-{upper} ko'rish maydonida, oqsil aniqlanmadi"
URINE_ABNORMAL = "Leykotsitlar {value}-{upper} ko'rish maydonida, bakteriyalar ++, oqsil izlari"


@dataclass(frozen=True)
class Study:
    """An instrumental study with the conclusions it may come to."""

    modality: Modality
    name: str
    conclusions: tuple[str, ...]


STUDIES: dict[str, Study] = {
    "ecg": Study(Modality.ECG, "Elektrokardiografiya (EKG)", (
        "Sinus ritmi, YuQS {pulse} marta/daqiqa. Yurakning elektr o'qi normal holatda.",
        "Sinus ritmi, YuQS {pulse} marta/daqiqa. Chap qorincha gipertrofiyasi belgilari.",
    )),
    "ecg_lvh": Study(Modality.ECG, "Elektrokardiografiya (EKG)", (
        "Sinus ritmi, YuQS {pulse} marta/daqiqa. Chap qorincha gipertrofiyasi, repolyarizatsiya buzilishi.",
    )),
    "ecg_ischemia": Study(Modality.ECG, "Elektrokardiografiya (EKG)", (
        "Sinus ritmi, YuQS {pulse} marta/daqiqa. Miokardda diffuz o'zgarishlar, oldingi devor ishemiyasi belgilari.",
        "Sinus ritmi. Chap qorincha gipertrofiyasi, ST segmenti depressiyasi.",
    )),
    "ecg_infarction": Study(Modality.ECG, "Elektrokardiografiya (EKG)", (
        "Sinus ritmi, YuQS {pulse} marta/daqiqa. Chap qorincha oldingi devorining o'tkir infarkti belgilari.",
        "Sinus ritmi. Pastki devor Q-infarkti, o'tkir davr.",
    )),
    "xray_pneumonia": Study(Modality.XRAY, "Ko'krak qafasi a'zolari rentgenografiyasi", (
        "O'ng o'pka pastki bo'lagida infiltrativ soya. Xulosa: o'ng tomonlama pastki bo'lak pnevmoniyasi.",
        "Chap o'pka pastki bo'lagida o'choqli infiltratsiya. Xulosa: chap tomonlama pnevmoniya.",
        "Ikki tomonlama o'choqli infiltratsiya. Xulosa: ikki tomonlama pnevmoniya.",
    )),
    "xray_bronchitis": Study(Modality.XRAY, "Ko'krak qafasi a'zolari rentgenografiyasi", (
        "O'pka maydonlari shaffof, bronx-tomir rasmi kuchaygan. Infiltrativ soyalar aniqlanmadi.",
    )),
    "xray_clear": Study(Modality.XRAY, "Ko'krak qafasi a'zolari rentgenografiyasi", (
        "O'pka maydonlari shaffof, o'pka rasmi deformatsiyalangan. Emfizema belgilari.",
        "O'pka maydonlari toza. Yurak-qon tomir soyasi o'zgarishsiz.",
    )),
    "xray_spine": Study(Modality.XRAY, "Bel-dumg'aza umurtqalari rentgenografiyasi", (
        "Osteoxondroz belgilari, L4-L5 umurtqalararo tirqishi torayishi.",
        "Umurtqalar tanasida osteofitlar. Xulosa: bel umurtqalari osteoxondrozi.",
    )),
    "xray_knee": Study(Modality.XRAY, "Tizza bo'g'imlari rentgenografiyasi", (
        "Bo'g'im tirqishi torayishi, osteofitlar. Xulosa: II bosqich gonartroz.",
    )),
    "xray_hip": Study(Modality.XRAY, "Chanoq-son bo'g'imi rentgenografiyasi", (
        "Son suyagi bo'yinchasining siljigan sinishi aniqlandi.",
    )),
    "us_kidney": Study(Modality.ULTRASOUND, "Buyraklar va siydik pufagi UTT", (
        "Buyraklar o'lchami normal, konkrementlar aniqlanmadi.",
        "O'ng buyrak jomchasi biroz kengaygan, mayda konkrementlar.",
    )),
    "us_thyroid": Study(Modality.ULTRASOUND, "Qalqonsimon bez UTT", (
        "Bez hajmi kichraygan, exostrukturasi diffuz o'zgargan.",
    )),
    "us_pregnancy": Study(Modality.ULTRASOUND, "Akusherlik UTT", (
        "Bachadonda bitta tirik homila. Homila rivojlanishi muddatga mos.",
    )),
    "us_appendix": Study(Modality.ULTRASOUND, "Qorin bo'shlig'i a'zolari UTT", (
        "O'ng yonbosh sohasida appendiks kattalashgan, devori qalinlashgan.",
    )),
    "us_gallbladder": Study(Modality.ULTRASOUND, "Qorin bo'shlig'i a'zolari UTT", (
        "O't pufagi devori qalinlashgan, bo'shlig'ida konkrementlar.",
    )),
    "us_hernia": Study(Modality.ULTRASOUND, "Chov sohasi UTT", (
        "O'ng chov kanalida churra qopi, tarkibida ichak qovuzlog'i.",
    )),
    "us_pelvis": Study(Modality.ULTRASOUND, "Kichik chanoq a'zolari UTT", (
        "O'ng tuxumdonda 45 mm gacha suyuqlikli hosila.",
    )),
    "egds": Study(Modality.ENDOSCOPY, "Ezofagogastroduodenoskopiya (EGDS)", (
        "Me'da shilliq qavati giperemiyalangan, shishgan. Xulosa: surunkali gastrit.",
        "Me'da antral qismida eroziyalar. Xulosa: eroziv gastrit.",
    )),
    "ct_stroke": Study(Modality.CT, "Bosh miya kompyuter tomografiyasi", (
        "Chap yarim sharda ishemik o'choq aniqlandi.",
        "O'ng chakka sohasida gipodens o'choq. Xulosa: ishemik insult.",
    )),
}  # fmt: skip


@dataclass(frozen=True)
class Allergen:
    """A substance a patient reacts to; `avoid` is the ATC prefix prescribing must keep away from."""

    substance: str
    inn: str | None
    atc: str | None
    avoid: str | None
    weight: float


ALLERGENS: tuple[Allergen, ...] = (
    Allergen("Penitsillin", "Benzilpenitsillin", "J01CE01", "J01C", 30),
    Allergen("Amoksitsillin", "Amoksitsillin", "J01CA04", "J01C", 20),
    Allergen("Seftriakson", "Seftriakson", "J01DD04", "J01DD", 8),
    Allergen("Ko-trimoksazol", "Ko-trimoksazol", "J01EE01", "J01EE", 6),
    Allergen("Metamizol natriy", "Metamizol natriy", "N02BB02", "N02BB", 8),
    Allergen("Ibuprofen", "Ibuprofen", "M01AE01", "M01AE", 5),
    Allergen("Lidokain", "Lidokain", "N01BB02", None, 6),
    Allergen("Gul changi", None, None, None, 10),
    Allergen("Yong'oq", None, None, None, 4),
    Allergen("Uy changi", None, None, None, 5),
)

REACTIONS: tuple[tuple[str, str, float], ...] = (
    ("Eshakemi", "mild", 40),
    ("Teri qichishishi va toshma", "mild", 30),
    ("Bronxospazm", "moderate", 10),
    ("Kvinke shishi", "severe", 8),
    ("Anafilaktik shok", "severe", 3),
)

OUTPATIENT_PROCEDURES: dict[str, tuple[str, str]] = {
    CARDIOLOGY: ("Magniy sulfat 25% 10 ml vena ichiga", "medication"),
    THERAPY: ("Nebulayzer ingalyatsiyasi", "procedure"),
    PEDIATRICS: ("Nebulayzer ingalyatsiyasi", "procedure"),
    NEUROLOGY: ("Diklofenak 75 mg mushak ichiga", "medication"),
    SURGERY: ("Yara bog'lami almashtirildi", "procedure"),
    GYNECOLOGY: ("Vaginal surtma olindi", "procedure"),
    ENDOCRINOLOGY: ("Glyukometriya, parhez bo'yicha maslahat", "procedure"),
}

VISIT_NOTE = "Ko'rik xulosasi"
VISIT_NOTES: tuple[str, ...] = (
    "Ahvoli qoniqarli. Davolash va parhez bo'yicha tavsiyalar berildi.",
    "Ahvoli o'rta og'irlikda. Davolash rejasi tuzildi, 5 kundan keyin qayta ko'rik.",
    "Ijobiy dinamika kuzatilmoqda. Davolashni davom ettirish tavsiya etildi.",
    "Shikoyatlar kamaygan. Dispanser nazoratida qoldirildi.",
)
WARD_NOTE = "Kundalik ko'rik"
WARD_NOTES: tuple[str, ...] = (
    "Ahvoli o'rta og'irlikda, ijobiy dinamika. Davolash davom ettirilmoqda.",
    "Ahvoli barqaror. Shikoyatlari kamaygan.",
    "Ahvoli og'ir, barqaror. Intensiv kuzatuv davom etmoqda.",
)
