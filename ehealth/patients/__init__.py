"""The patient registry (R-13.1)."""
