"""Elektron retsept: prescriptions, their items and the dispenses against them (R-12)."""
