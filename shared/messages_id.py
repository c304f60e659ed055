"""Request validation errors in Indonesian, for the clerk: the field as the clerk knows it and what to fix.

Pydantic reports each refused field with a type (`missing`, `literal_error`, ...) and an English
message. `field_path` names the field without pydantic's union tags (`events.13.FieldEventIn.kind`
becomes `events.13.kind`); `reason` says what is wrong in Indonesian. Messages the project wrote
itself (validators raising an Indonesian ValueError, refusals raised with their own text) are kept
as they are. The submitted value is never repeated: it may be a NIK, a name or a birth date.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic_core import PydanticKnownError

LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})
_CLASS_NAME = re.compile(r"^[A-Z][A-Za-z0-9_]*[a-z][A-Za-z0-9_]*$")
_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "none", "bytes"})
_QUOTED = re.compile(r"'([^']*)'")
_PREFIXES = ("Value error, ", "Assertion failed, ")

JSON_OBJECT = "harus berupa objek JSON"
JSON_BODY = "harus berupa objek JSON; kirim dengan Content-Type: application/json"
NOT_JSON = "isi permintaan bukan JSON yang sah (periksa tanda koma dan kutip)"
DATE = "harus tanggal berformat YYYY-MM-DD, mis. 2024-05-01"
DATETIME = "harus waktu berformat ISO 8601 dengan zona waktu, mis. 2024-05-01T09:30:00+07:00"

# Formats the APIs use, by their pattern: what the clerk is asked to type.
PATTERN_EXAMPLES: dict[str, str] = {
    r"^\d{2}\.\d{2}\.\d{2}$": "kode kecamatan, mis. 17.02.06",
    r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$": "kode desa, mis. 17.02.06.2001",
    r"^\d{16}$": "NIK 16 angka tanpa spasi atau titik",
    r"^\d{8}$": "8 angka, mis. NPSN 10700123",
    r"^\d{4}-\d{2}-\d{2}$": "tanggal YYYY-MM-DD, mis. 2024-05-01",
    r"^r[0-9a-f]{32}$": "id penduduk seperti yang diberikan saat pendaftaran (huruf r lalu 32 karakter 0-9 a-f)",
    r"^(\d{2}\.\d{2}(\.\d{2}(\.\d{4})?)?|\d{8})$":
        "kode wilayah (mis. 17.02, 17.02.06 atau 17.02.06.2001) atau NPSN 8 angka",
    r"^[a-z0-9][a-z0-9-]{1,47}$": "huruf kecil, angka dan tanda hubung, mis. pos-curup-1",
    r"^[a-z0-9][a-z0-9-]{0,63}$": "huruf kecil, angka dan tanda hubung, seperti id yang diberikan sistem",
    r"^[A-Za-z0-9._:\-]{1,100}$": "huruf, angka dan tanda . _ : - saja",
}

FIXED: dict[str, str] = {
    "missing": "wajib diisi",
    "extra_forbidden": "kolom ini tidak dikenal",
    "timezone_aware": "sertakan zona waktu, mis. +07:00",
    "timezone_naive": "tanpa zona waktu",
    "list_type": "harus berupa daftar",
    "tuple_type": "harus berupa daftar",
    "set_type": "harus berupa daftar",
    "string_type": "harus berupa teks",
    "string_unicode": "harus teks UTF-8",
    "bytes_type": "harus berupa teks",
    "int_type": "harus bilangan bulat",
    "int_parsing": "harus bilangan bulat",
    "int_from_float": "harus bilangan bulat, tanpa pecahan",
    "int_parsing_size": "angka terlalu besar",
    "float_type": "harus berupa angka",
    "float_parsing": "harus berupa angka",
    "finite_number": "harus angka yang terhingga",
    "decimal_type": "harus berupa angka",
    "decimal_parsing": "harus berupa angka",
    "bool_type": "harus true atau false",
    "bool_parsing": "harus true atau false",
    "date_type": DATE,
    "date_parsing": DATE,
    "date_from_datetime_parsing": DATE,
    "date_from_datetime_inexact": DATE,
    "date_past": "tanggal harus sebelum hari ini",
    "date_future": "tanggal harus sesudah hari ini",
    "datetime_type": DATETIME,
    "datetime_parsing": DATETIME,
    "datetime_from_date_parsing": DATETIME,
    "datetime_object_invalid": DATETIME,
    "datetime_past": "waktu harus sebelum sekarang",
    "datetime_future": "waktu harus sesudah sekarang",
    "time_type": "harus jam berformat HH:MM, mis. 09:30",
    "time_parsing": "harus jam berformat HH:MM, mis. 09:30",
    "uuid_type": "harus UUID, mis. 123e4567-e89b-12d3-a456-426614174000",
    "uuid_parsing": "harus UUID, mis. 123e4567-e89b-12d3-a456-426614174000",
    "uuid_version": "versi UUID tidak sesuai",
    "none_required": "harus kosong (null)",
    "url_parsing": "harus alamat URL yang sah",
    "url_type": "harus alamat URL yang sah",
}


def _choices(ctx: Mapping[str, Any]) -> str:
    expected = str(ctx.get("expected", ""))
    return "harus salah satu dari: " + (", ".join(_QUOTED.findall(expected)) or expected)


def _pattern(ctx: Mapping[str, Any]) -> str:
    example = PATTERN_EXAMPLES.get(str(ctx.get("pattern", "")))
    return f"format tidak sesuai: {example}" if example else "format tidak sesuai"


def _length(kind: str, unit: str) -> Callable[[Mapping[str, Any]], str]:
    key, words = ("min_length", "paling sedikit") if kind == "short" else ("max_length", "paling banyak")
    return lambda ctx: f"{words} {ctx.get(key)} {unit}"


def _bound(words: str, key: str) -> Callable[[Mapping[str, Any]], str]:
    return lambda ctx: f"{words} {ctx.get(key)}"


WITH_LIMIT: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "literal_error": _choices,
    "enum": _choices,
    "string_pattern_mismatch": _pattern,
    "string_too_short": _length("short", "karakter"),
    "string_too_long": _length("long", "karakter"),
    "too_short": _length("short", "butir"),
    "too_long": _length("long", "butir"),
    "greater_than": _bound("harus lebih dari", "gt"),
    "greater_than_equal": _bound("paling kecil", "ge"),
    "less_than": _bound("harus kurang dari", "lt"),
    "less_than_equal": _bound("paling besar", "le"),
    "multiple_of": _bound("harus kelipatan", "multiple_of"),
    "decimal_max_digits": _bound("paling banyak digit", "max_digits"),
    "decimal_max_places": _bound("paling banyak angka di belakang koma", "decimal_places"),
}


def is_union_tag(part: Any) -> bool:
    """A step pydantic adds to a path to say which member of a union it tried (`FieldEventIn`,
    `dict[str,any]`, `function-after[...]`), not a field the clerk filled in."""
    if not isinstance(part, str):
        return False
    return bool(_CLASS_NAME.match(part)) or "[" in part or part in _TYPE_TAGS


def field_path(loc: Sequence[Any]) -> str:
    """The field as the clerk knows it: `nik`, `events.13.kind`, `query.tanggal`; `(body)` for the whole body."""
    parts = list(loc)
    named: list[Any] = []
    if parts and parts[0] == "body":
        parts = parts[1:]
    elif parts and parts[0] in LOCATIONS:
        named, parts = parts[:2], parts[2:]
    named += [p for p in parts if not is_union_tag(p)]
    return ".".join(str(p) for p in named) or "(body)"


def _is_pydantic_text(kind: str, message: str, ctx: Mapping[str, Any] | None) -> bool:
    """True when the message is pydantic's own English one for this type (not a message the project wrote)."""
    try:
        return bool(PydanticKnownError(kind, dict(ctx) if ctx else None).message() == message)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):
        return False


def _json_invalid(loc: Sequence[Any]) -> str:
    position = loc[-1] if loc and isinstance(loc[-1], int) else None
    return NOT_JSON if position is None else f"{NOT_JSON}; kesalahan di sekitar karakter ke-{position + 1}"


def reason(error: Mapping[str, Any]) -> str:
    """What is wrong with one refused field, in Indonesian, without the value that was sent."""
    kind = str(error.get("type", ""))
    message = str(error.get("msg", ""))
    ctx = error.get("ctx") or {}
    loc = tuple(error.get("loc", ()))
    for prefix in _PREFIXES:
        if message.startswith(prefix):
            return message.removeprefix(prefix)
    if kind == "json_invalid":
        return _json_invalid(loc)
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return JSON_BODY if field_path(loc) == "(body)" else JSON_OBJECT
    if not _is_pydantic_text(kind, message, ctx):
        return message
    if kind in FIXED:
        return FIXED[kind]
    if kind in WITH_LIMIT:
        return WITH_LIMIT[kind](ctx)
    return "nilai tidak sah untuk kolom ini; lihat contoh di /docs"


def field_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """One `{field, reason}` per refused field, in order, each pair once (union members repeat them)."""
    answers: list[dict[str, str]] = []
    for error in errors:
        where = "(body)" if error.get("type") == "json_invalid" else field_path(error.get("loc", ()))
        answer = {"field": where, "reason": reason(error)}
        if answer not in answers:
            answers.append(answer)
    return answers


def in_one_line(errors: Sequence[Mapping[str, Any]], *, most: int = 10) -> str:
    """The refused fields of one item as one line (`kind: harus salah satu dari: ...; nik: wajib diisi`),
    for answers that give each item of an upload its own reason."""
    return "; ".join(f"{e['field']}: {e['reason']}" for e in field_errors(errors)[:most])


FILE_FIELD = "file"
MISSING_COLUMN = "kolom wajib ini tidak ada di baris judul file"


def file_refusal(reason: str, missing_columns: Sequence[str] = ()) -> dict[str, Any]:
    """The refusal of an uploaded file that cannot be read as a whole, in the shape of every refused
    field ({"detail": reason, "errors": [{"field", "reason"}]} once answered): each missing column is
    named as a field, any other problem names the file; `missing_columns` lists the columns to add."""
    errors = [{"field": column, "reason": MISSING_COLUMN} for column in missing_columns]
    return {"message": reason, "errors": errors or [{"field": FILE_FIELD, "reason": reason}],
            "missing_columns": list(missing_columns)}
