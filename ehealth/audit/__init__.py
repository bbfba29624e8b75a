"""The audit trail: append-only, hash-chained, no clinical content (R-4, R-18)."""
