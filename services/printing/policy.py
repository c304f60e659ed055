"""The print queue's order: which priority class a job belongs to, and the configured order of the classes.

Classes are disjoint and decided in this precedence: a first card of a resident who is wajib
KTP (a voter) by the target date; otherwise an elderly or disabled resident; otherwise another
first card (turning 17 after the target date); otherwise a replacement. The order in which the
classes are served is a setting; within a class, jobs are served first come, first served.
"""

from __future__ import annotations

import datetime as dt

from shared.contracts.printing import PrintReason, PriorityClass

DEFAULT_ORDER: tuple[PriorityClass, ...] = (
    PriorityClass.PEMILIH_PEMULA,
    PriorityClass.LANSIA_DISABILITAS,
    PriorityClass.PERTAMA_LAINNYA,
    PriorityClass.CETAK_ULANG,
)


def classify(*, reason: PrintReason, wajib_ktp_from: dt.date | None, lansia: bool, disabilitas: bool,
             voter_target_date: dt.date) -> PriorityClass:
    first_card = reason == PrintReason.PERTAMA
    if first_card and (wajib_ktp_from is None or wajib_ktp_from <= voter_target_date):
        return PriorityClass.PEMILIH_PEMULA
    if lansia or disabilitas:
        return PriorityClass.LANSIA_DISABILITAS
    if first_card:
        return PriorityClass.PERTAMA_LAINNYA
    return PriorityClass.CETAK_ULANG


def rank(priority_class: PriorityClass, order: tuple[PriorityClass, ...]) -> int:
    """Position of the class in the order (0 is served first)."""
    return order.index(priority_class)


def check_order(order: tuple[PriorityClass, ...]) -> tuple[PriorityClass, ...]:
    """An order must name every class exactly once."""
    if sorted(order) != sorted(PriorityClass):
        names = ", ".join(c.value for c in PriorityClass)
        raise ValueError(f"the priority order must list each class exactly once: {names}")
    return order
