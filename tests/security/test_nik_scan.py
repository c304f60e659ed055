"""The log scanner finds a NIK planted in a log and leaves other long numbers alone."""

from __future__ import annotations

import random
from pathlib import Path

from tests.integration.helpers import synthetic_resident
from tests.support.nik_scan import nik_like_columns, nik_shaped, scan_files

PLANTED = "1702064507070001"  # synthetic: Kota Padang, Rejang Lebong; a woman born 5 July 2007


def test_a_planted_nik_is_found_by_file_line_and_column(tmp_path: Path) -> None:
    clean = tmp_path / "clean.log"
    clean.write_text("2026-11-23 10:00:00,123 INFO intake: resident r0123456789abcdef0123456789abcdef registered\n")
    leaky = tmp_path / "leaky.log"
    second = f"2026-11-23 10:00:01,456 WARNING intake: could not register nik={PLANTED} (409)\n"
    leaky.write_text(f"first line\n{second}third line\n")
    result = scan_files([clean, leaky, tmp_path / "missing.log"])
    assert (result.files, result.lines) == (2, 4)
    assert [(hit.path, hit.line, hit.column) for hit in result.hits] == [(leaky, 2, second.index(PLANTED) + 1)]
    assert PLANTED not in str(result.hits[0])


def test_niks_of_the_synthetic_residents_used_by_tests_are_nik_shaped() -> None:
    rng = random.Random(7)
    residents = [synthetic_resident(rng) for _ in range(200)]
    assert all(nik_shaped(resident["nik"]) for resident in residents)
    for text in (f'{{"nik": "{PLANTED}"}}', f"NIK:{PLANTED}.", f"/x/{PLANTED}?a=1", f"nik{PLANTED}"):
        assert nik_like_columns(text)[0], text


def test_numbers_that_are_not_niks_are_ignored() -> None:
    not_niks = [
        "17020645070700012",                # 17 digits: part of a longer number
        "11702064507070001",                # likewise, the NIK shape in its last 16 digits
        "1702064507070000",                 # serial 0000
        "9902064507070001",                 # no such province
        "1702994507070001",                 # no such kecamatan in Rejang Lebong
        "1702067207070001",                 # day 72
        "1702060513070001",                 # month 13
        "1702063102070001",                 # 31 February
        "1763912345678901",                 # an epoch time in microseconds (November 2025)
        "r1702064507070001abcdef0123456789ab",  # inside a pseudonym (hex digest)
        "ektp_1234567890123456",            # 16 digits, not NIK-shaped
        "offset 1702064 partition 7, took 0.0001702064507 s",
    ]
    for text in not_niks:
        assert nik_like_columns(text)[0] == [], text
    assert nik_like_columns("ektp_1234567890123456 and 9902064507070001") == ([], 2)
