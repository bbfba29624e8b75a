"""The demo drug catalogue: real medicines sold in Uzbekistan with INN, brand, form, strength and ATC code."""

from __future__ import annotations

from dataclasses import dataclass

from ehealth.reference.models import DrugCategory

OTC = DrugCategory.OTC
RX = DrugCategory.PRESCRIPTION
CONTROLLED = DrugCategory.CONTROLLED

# Antibacterials for systemic use, systemic corticosteroids and thyroid therapy are sold on e-prescription only.
EPRESCRIPTION_ONLY_ATC = ("J01", "H02", "H03")

ORAL = "og'iz orqali"
INHALED = "ingalyatsiya"
IM = "mushak ichiga"
SUBCUTANEOUS = "teri osti"


@dataclass(frozen=True)
class DrugSpec:
    """A catalogue row plus how it is usually taken (for prescription items)."""

    atc: str
    inn: str
    brand: str
    form: str
    strength: str
    unit: str  # what the pack counts: tabletka, kapsula, flakon, doza, ml
    pack_size: int
    category: DrugCategory
    dose: float = 1.0
    dose_unit: str = "tabletka"
    intakes: int = 1
    route: str = ORAL
    days: int = 7  # the usual course when not taken for a chronic disease
    pack_doses: int = 0  # dose units in one pack when they are not the pack's items (inhaler doses, drops, XB)

    @property
    def eprescription_only(self) -> bool:
        """True for the ATC groups sold only against an e-prescription."""
        return self.atc.startswith(EPRESCRIPTION_ONLY_ATC)

    @property
    def doses_per_pack(self) -> int:
        """How many dose units (dose_unit) one pack holds."""
        return self.pack_doses or self.pack_size

    @property
    def doses_per_unit(self) -> int:
        """How many dose units one unit of the form (Drug.unit: a tablet, an inhaler, a pen) holds."""
        return self.doses_per_pack // self.pack_size

    @property
    def pack(self) -> str:
        """The pack as a dispense records it: "20 tabletka, blister"."""
        return f"{self.pack_size} {self.unit}"


DRUGS: tuple[DrugSpec, ...] = (
    # Antibacterials (J01): prescription only, e-prescription only.
    DrugSpec("J01CA04", "Amoksitsillin", "Amoksil", "kapsula", "500 mg", "kapsula", 20, RX, 1, "kapsula", 3, days=7),
    DrugSpec("J01CR02", "Amoksitsillin + klavulan kislotasi", "Augmentin", "tabletka", "875 mg/125 mg", "tabletka", 14, RX, 1, "tabletka", 2, days=7),
    DrugSpec("J01FA10", "Azitromitsin", "Sumamed", "tabletka", "500 mg", "tabletka", 3, RX, 1, "tabletka", 1, days=3),
    DrugSpec("J01FA09", "Klaritromitsin", "Klatsid", "tabletka", "500 mg", "tabletka", 14, RX, 1, "tabletka", 2, days=7),
    DrugSpec("J01DD04", "Seftriakson", "Rotseftin", "in'eksiya uchun kukun", "1 g", "flakon", 1, RX, 1, "flakon", 1, IM, days=7),
    DrugSpec("J01DC02", "Sefuroksim", "Zinnat", "tabletka", "500 mg", "tabletka", 10, RX, 1, "tabletka", 2, days=7),
    DrugSpec("J01MA02", "Siprofloksatsin", "Tsiprolet", "tabletka", "500 mg", "tabletka", 10, RX, 1, "tabletka", 2, days=7),
    DrugSpec("J01MA12", "Levofloksatsin", "Levoksimed", "tabletka", "500 mg", "tabletka", 10, RX, 1, "tabletka", 1, days=7),
    DrugSpec("J01AA02", "Doksitsiklin", "Unidoks Solutab", "tabletka", "100 mg", "tabletka", 10, RX, 1, "tabletka", 2, days=7),
    DrugSpec("J01XE01", "Nitrofurantoin", "Furadonin", "tabletka", "100 mg", "tabletka", 20, RX, 1, "tabletka", 3, days=7),
    DrugSpec("J01EE01", "Ko-trimoksazol", "Biseptol", "tabletka", "480 mg", "tabletka", 20, RX, 2, "tabletka", 2, days=5),
    # Cardiovascular system.
    DrugSpec("C08CA01", "Amlodipin", "Norvask", "tabletka", "5 mg", "tabletka", 30, RX, days=30),
    DrugSpec("C09AA02", "Enalapril", "Enap", "tabletka", "10 mg", "tabletka", 20, RX, 1, "tabletka", 2, days=30),
    DrugSpec("C09AA03", "Lizinopril", "Diroton", "tabletka", "10 mg", "tabletka", 28, RX, days=30),
    DrugSpec("C09CA01", "Lozartan", "Lozap", "tabletka", "50 mg", "tabletka", 30, RX, days=30),
    DrugSpec("C07AB07", "Bisoprolol", "Konkor", "tabletka", "5 mg", "tabletka", 30, RX, days=30),
    DrugSpec("C03BA11", "Indapamid", "Arifon retard", "tabletka", "1,5 mg", "tabletka", 30, RX, days=30),
    DrugSpec("C03CA01", "Furosemid", "Furosemid", "tabletka", "40 mg", "tabletka", 50, RX, days=14),
    DrugSpec("C10AA05", "Atorvastatin", "Atoris", "tabletka", "20 mg", "tabletka", 30, RX, days=30),
    DrugSpec("C10AA07", "Rozuvastatin", "Krestor", "tabletka", "10 mg", "tabletka", 28, RX, days=30),
    DrugSpec("B01AC06", "Atsetilsalitsil kislotasi", "Aspirin Kardio", "tabletka", "100 mg", "tabletka", 28, OTC, days=30),
    DrugSpec("B01AC04", "Klopidogrel", "Plaviks", "tabletka", "75 mg", "tabletka", 28, RX, days=30),
    DrugSpec("C01DA14", "Izosorbid mononitrat", "Monosan", "tabletka", "20 mg", "tabletka", 30, RX, 1, "tabletka", 2, days=30),
    DrugSpec("C01EB15", "Trimetazidin", "Preduktal MR", "tabletka", "35 mg", "tabletka", 60, RX, 1, "tabletka", 2, days=30),
    # Diabetes.
    DrugSpec("A10BA02", "Metformin", "Glyukofaj", "tabletka", "850 mg", "tabletka", 60, RX, 1, "tabletka", 2, days=30),
    DrugSpec("A10BB09", "Gliklazid", "Diabeton MV", "tabletka", "60 mg", "tabletka", 30, RX, days=30),
    DrugSpec("A10BH01", "Sitagliptin", "Yanuviya", "tabletka", "100 mg", "tabletka", 28, RX, days=30),
    DrugSpec("A10AE04", "Insulin glargin", "Lantus SoloStar", "in'eksiya uchun eritma", "100 XB/ml", "shprits-ruchka", 5, RX, 20, "XB", 1, SUBCUTANEOUS, days=30, pack_doses=1500),
    # Respiratory system and allergy.
    DrugSpec("R03AC02", "Salbutamol", "Ventolin", "dozalangan ingalyator", "100 mkg/doza", "ingalyator", 1, RX, 2, "doza", 3, INHALED, days=30, pack_doses=200),
    DrugSpec("R03AK06", "Salmeterol + flutikazon", "Seretid", "dozalangan ingalyator", "25/250 mkg/doza", "ingalyator", 1, RX, 2, "doza", 2, INHALED, days=30, pack_doses=60),
    DrugSpec("R03BA02", "Budesonid", "Pulmikort", "ingalyatsiya uchun suspenziya", "0,5 mg/ml", "ampula", 20, RX, 1, "ampula", 2, INHALED, days=10),
    DrugSpec("R05CB01", "Atsetiltsistein", "ATSTs", "shipuchi tabletka", "600 mg", "tabletka", 10, OTC, days=7),
    DrugSpec("R05CB06", "Ambroksol", "Lazolvan", "tabletka", "30 mg", "tabletka", 20, OTC, 1, "tabletka", 3, days=7),
    DrugSpec("R06AE07", "Setirizin", "Zodak", "tabletka", "10 mg", "tabletka", 10, OTC, days=7),
    DrugSpec("R06AX13", "Loratadin", "Klaritin", "tabletka", "10 mg", "tabletka", 10, OTC, days=7),
    # Pain, fever, inflammation.
    DrugSpec("N02BE01", "Paratsetamol", "Panadol", "tabletka", "500 mg", "tabletka", 12, OTC, 1, "tabletka", 3, days=3),
    DrugSpec("M01AE01", "Ibuprofen", "Nurofen", "tabletka", "400 mg", "tabletka", 20, OTC, 1, "tabletka", 3, days=5),
    DrugSpec("N02BB02", "Metamizol natriy", "Analgin", "tabletka", "500 mg", "tabletka", 10, OTC, 1, "tabletka", 2, days=3),
    DrugSpec("M01AB05", "Diklofenak", "Voltaren", "tabletka", "50 mg", "tabletka", 20, RX, 1, "tabletka", 2, days=7),
    DrugSpec("M01AC06", "Meloksikam", "Movalis", "tabletka", "15 mg", "tabletka", 20, RX, days=10),
    DrugSpec("M03BX02", "Tizanidin", "Sirdalud", "tabletka", "4 mg", "tabletka", 30, RX, 1, "tabletka", 2, days=10),
    DrugSpec("N02AX02", "Tramadol", "Tramal", "kapsula", "50 mg", "kapsula", 20, CONTROLLED, 1, "kapsula", 2, days=5),
    # Nervous system.
    DrugSpec("N05BA01", "Diazepam", "Relanium", "tabletka", "5 mg", "tabletka", 20, CONTROLLED, 1, "tabletka", 2, days=10),
    DrugSpec("N05CF01", "Zopiklon", "Imovan", "tabletka", "7,5 mg", "tabletka", 20, CONTROLLED, days=10),
    DrugSpec("N06AB06", "Sertralin", "Zoloft", "tabletka", "50 mg", "tabletka", 28, RX, days=30),
    # Digestive system.
    DrugSpec("A02BC01", "Omeprazol", "Omez", "kapsula", "20 mg", "kapsula", 30, OTC, 1, "kapsula", 2, days=14),
    DrugSpec("A02BC02", "Pantoprazol", "Nolpaza", "tabletka", "40 mg", "tabletka", 28, RX, days=14),
    DrugSpec("A03FA03", "Domperidon", "Motilium", "tabletka", "10 mg", "tabletka", 30, OTC, 1, "tabletka", 3, days=7),
    DrugSpec("A03AD02", "Drotaverin", "No-shpa", "tabletka", "40 mg", "tabletka", 24, OTC, 1, "tabletka", 3, days=5),
    DrugSpec("A07DA03", "Loperamid", "Imodium", "kapsula", "2 mg", "kapsula", 20, OTC, 1, "kapsula", 2, days=3),
    DrugSpec("A09AA02", "Pankreatin", "Kreon 10000", "kapsula", "150 mg", "kapsula", 20, OTC, 1, "kapsula", 3, days=10),
    DrugSpec("A11CC05", "Kolekalsiferol", "Akvadetrim", "og'iz orqali tomchi", "15000 XB/ml", "flakon", 1, OTC, 2, "tomchi", 1, days=30, pack_doses=300),
    # Blood and pregnancy.
    DrugSpec("B03AA07", "Temir (II) sulfat", "Sorbifer Durules", "tabletka", "100 mg", "tabletka", 50, OTC, 1, "tabletka", 2, days=30),
    DrugSpec("B03BB01", "Foliy kislotasi", "Foliy kislotasi", "tabletka", "1 mg", "tabletka", 50, OTC, days=30),
    # Hormones (H02, H03): e-prescription only.
    DrugSpec("H02AB06", "Prednizolon", "Prednizolon", "tabletka", "5 mg", "tabletka", 100, RX, 4, "tabletka", 1, days=7),
    DrugSpec("H02AB02", "Deksametazon", "Deksametazon", "in'eksiya uchun eritma", "4 mg/ml", "ampula", 25, RX, 1, "ampula", 1, IM, days=3),
    DrugSpec("H03AA01", "Levotiroksin natriy", "L-tiroksin", "tabletka", "50 mkg", "tabletka", 50, RX, days=30),
    DrugSpec("H03BB02", "Tiamazol", "Tirozol", "tabletka", "10 mg", "tabletka", 50, RX, days=30),
    # Urology and eyes.
    DrugSpec("G04CA02", "Tamsulozin", "Omnik", "kapsula", "0,4 mg", "kapsula", 30, RX, days=30),
    DrugSpec("S01AA12", "Tobramitsin", "Tobreks", "ko'z tomchisi", "0,3%", "flakon", 1, RX, 1, "tomchi", 4, "ko'zga", days=7, pack_doses=100),
)  # fmt: skip

DRUG_BY_ATC: dict[str, DrugSpec] = {drug.atc: drug for drug in DRUGS}
