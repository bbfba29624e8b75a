"""Elektron poliklinika: the outpatient day — appointments, the doctor's queue, visits."""
