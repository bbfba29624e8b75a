"""Elektron tibbiy karta: the one medical record per patient (R-11, R-13)."""
