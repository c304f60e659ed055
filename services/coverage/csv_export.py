"""Tables as CSV that spreadsheet programs open safely: `;`-separated, UTF-8 with BOM.

A text cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return would be read as a
formula (OWASP's CSV injection): it is written with a leading apostrophe, so a name such as
`=HYPERLINK(...)` stays text. A NIK is written as `="1702..."`, the one form Excel and
LibreOffice keep as 16 digits (as a plain number the last digits become zeros). Written for a
spreadsheet set to Indonesian: a decimal with a comma (97,5: with a dot it is read as a date or as
text), yes and no as `ya` and `tidak`, a list as its items joined by commas.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_NUMBER_COLUMNS = frozenset({"nik"})


def cell(column: str, value: Any) -> Any:
    """The value as written: text kept text, numbers as numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, float):
        return repr(value).replace(".", ",")
    if isinstance(value, list | tuple):
        return cell(column, ", ".join(str(item) for item in value))
    if not isinstance(value, str):
        return value
    if column in TEXT_NUMBER_COLUMNS and value.isdigit():
        return f'="{value}"'
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested objects become columns `outer_inner`."""
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}_"))
        else:
            flat[name] = value
    return flat


def table_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """The rows as CSV text (with the BOM), columns in the order they first appear."""
    flat = [flatten(row) for row in rows]
    columns: list[str] = []
    for row in flat:
        columns += [c for c in row if c not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, delimiter=";", extrasaction="ignore")
    writer.writeheader()
    writer.writerows({column: cell(column, value) for column, value in row.items()} for row in flat)
    return "\ufeff" + buffer.getvalue()
