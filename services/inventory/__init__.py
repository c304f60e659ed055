"""Blank-card inventory: the blangko ledger per location."""
