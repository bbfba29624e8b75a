"""Every report the portal offers, registered by importing its module, listed in the order the page shows them."""

from __future__ import annotations

from ehealth.reports import completeness, hospital, pharmacy, polyclinic, prescriptions, staff
from ehealth.reports.base import REGISTRY

MODULES = (polyclinic, hospital, prescriptions, pharmacy, completeness, staff)
ORDER = ("polyclinic", "hospital", "prescriptions", "pharmacy", "completeness", "staff")
for _key in ORDER:  # re-insert in display order (the registry keeps insertion order)
    REGISTRY[_key] = REGISTRY.pop(_key)
KEYS: tuple[str, ...] = tuple(REGISTRY)
