"""Elektron shifoxona: admissions, beds and transfers, discharges."""
