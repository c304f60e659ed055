"""What the HTTP APIs accept and document beyond FastAPI's defaults.

Dates and times are written, never numbers: Pydantic would read 0 or "1.5e9" as seconds since
1970, so a garbled cell or a typo would become a date in 1970 instead of a clear refusal.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field


def _refuse_numbers(message: str) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(message)
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                return value
            raise ValueError(message)
        return value

    return BeforeValidator(check)


def _refuse_booleans(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("harus bilangan bulat, bukan true atau false")
    return value


Date = Annotated[dt.date, _refuse_numbers("tanggal harus berformat YYYY-MM-DD, bukan angka")]
NOT_A_BOOLEAN = BeforeValidator(_refuse_booleans)
# A count in a request body: a whole number (210 or 210.0, as JSON Schema's integer); `true` is not 1.
# Bounds of an optional count go before NOT_A_BOOLEAN, or the API schema loses them.
Count = Annotated[int, NOT_A_BOOLEAN]
DateTime = Annotated[AwareDatetime, _refuse_numbers(
    "waktu harus berformat ISO 8601 dengan zona waktu (mis. 2024-05-01T09:30:00+07:00), bukan angka")]


class FieldProblem(BaseModel):
    field: str = Field(description="the field, e.g. body.nik or query.tanggal")
    reason: str = Field(description="why it was refused")


class ValidationProblem(BaseModel):
    """A 422 answer: a sentence (or an object with a message and details) and, per field, the reason."""

    detail: str | dict[str, Any] = Field(description="what is wrong, for the clerk")
    errors: list[FieldProblem] = Field(default_factory=list, description="one entry per field refused")


VALIDATION_ANSWER: dict[int | str, dict[str, Any]] = {
    422: {"model": ValidationProblem, "description": "data tidak valid"},
}


class Problem(BaseModel):
    """A refusal: a sentence for the clerk, or an object with a message and details."""

    detail: str | dict[str, Any] = Field(description="apa yang salah dan apa yang bisa dilakukan")


def problem(description: str) -> dict[str, Any]:
    """A documented refusal (for a route's `responses`): its body is a Problem."""
    return {"model": Problem, "description": description}
