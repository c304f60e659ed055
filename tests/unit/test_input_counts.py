"""Every count a request body carries is a whole number as JSON writes it: `true` is refused, not taken
as 1 (pydantic's lax mode would turn a boolean into an integer), with the reason in Indonesian."""

from __future__ import annotations

import importlib
import inspect
import typing
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from shared.messages_id import reason as problem_reason

INPUT_MODULES = ("services.intake.http", "services.recording.http", "services.recording.inputs",
                 "services.printing.http", "services.inventory.http", "services.coverage.http")


def _holds_int(annotation: object) -> bool:
    return annotation is int or any(_holds_int(arg) for arg in typing.get_args(annotation))


def _int_fields() -> list[tuple[str, str, Any]]:
    found = []
    for module_name in INPUT_MODULES:
        module = importlib.import_module(module_name)
        for name, model in inspect.getmembers(module, inspect.isclass):
            if not (issubclass(model, BaseModel) and model.__module__ == module_name and name.endswith("In")):
                continue
            for field_name, field in model.model_fields.items():
                annotation = field.annotation
                if _holds_int(annotation):
                    # The field as the model validates it: its type with its constraints (Strict among them).
                    checked = typing.Annotated.__class_getitem__(  # type: ignore[attr-defined]
                        (annotation, *field.metadata)) if field.metadata else annotation
                    found.append((f"{module_name}.{name}", field_name, checked))
    return found


INT_FIELDS = _int_fields()


def test_the_request_bodies_with_counts_are_found() -> None:
    assert any(model.endswith("ReceiptIn") for model, _, _ in INT_FIELDS)


@pytest.mark.parametrize(("model", "field", "annotation"), INT_FIELDS, ids=[f"{m}.{f}" for m, f, _ in INT_FIELDS])
def test_a_boolean_is_not_a_count(model: str, field: str, annotation: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(annotation).validate_python(True)
    assert "bilangan bulat" in problem_reason(refused.value.errors()[0])
    assert TypeAdapter(annotation).validate_python(210.0) == 210  # JSON Schema's integer
