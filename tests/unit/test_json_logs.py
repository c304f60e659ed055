"""Production log lines are JSON objects a log store can query, with no NIK in any field."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from typing import Any

from pydantic import BaseModel

from shared.logs import HANDLER_NAME, MaskedJsonFormatter, MaskNik, configure_logging
from shared.settings import InfraSettings

NIK = "1702064507070001"
OTHER_NIK = "1702061201080002"
SIXTEEN_DIGITS = re.compile(r"\d{16}")


class Resident(BaseModel):
    nik: str
    name: str


def _json_lines(emit: Any, *, service: str = "intake") -> list[dict[str, Any]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(MaskedJsonFormatter(service))
    handler.addFilter(MaskNik())
    log = logging.getLogger(f"ektp.test.json.{uuid.uuid4().hex[:6]}")
    log.propagate = False
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    emit(log)
    text = out.getvalue()
    assert not SIXTEEN_DIGITS.search(text), text
    return [json.loads(line) for line in text.splitlines()]


def test_a_record_with_a_nik_everywhere_is_one_json_object_without_the_nik() -> None:
    def emit(log: logging.Logger) -> None:
        try:
            raise ValueError(f"resident {NIK} refused")
        except ValueError:
            log.exception("import of %s failed for %s", NIK, "kecamatan Curup",
                          extra={"nik": NIK, "numbers": [int(OTHER_NIK), 3], "resident": Resident(nik=NIK, name="A"),
                                 "nested": {"row": {"nik": OTHER_NIK}}})

    [line] = _json_lines(emit)
    assert list(line)[:5] == ["time", "level", "logger", "message", "service"]
    assert line["level"] == "ERROR" and line["service"] == "intake" and line["logger"].startswith("ektp.test.json")
    assert line["message"] == "import of [NIK] failed for kecamatan Curup"
    assert line["nik"] == "[NIK]" and line["numbers"] == ["[NIK]", 3]
    assert line["nested"] == {"row": {"nik": "[NIK]"}} and "[NIK]" in line["resident"]
    assert "ValueError: resident [NIK] refused" in line["exc_info"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+00:00", line["time"]), line["time"]


def test_an_access_log_line_keeps_its_arguments_masked() -> None:
    def emit(log: logging.Logger) -> None:
        log.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/cek?nik={NIK}", "1.1", 200,
                 extra={"color_message": "\x1b[1m...", "status_code": 200})

    [line] = _json_lines(emit, service="coverage")
    assert line["message"] == '127.0.0.1:5000 - "GET /cek?nik=[NIK] HTTP/1.1" 200'
    assert line["status_code"] == 200 and "color_message" not in line


def test_json_is_the_production_default_and_a_second_call_switches_the_one_handler() -> None:
    assert InfraSettings().effective_log_format == "text"
    assert InfraSettings.model_construct(profile="production", log_format=None).effective_log_format == "json"
    assert InfraSettings.model_construct(profile="production", log_format="text").effective_log_format == "text"
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        configure_logging("INFO", fmt="text")
        configure_logging("INFO", fmt="json", service="coverage")
        configure_logging("INFO")  # a later call without a format keeps JSON
        ours = [h for h in root.handlers if h.get_name() == HANDLER_NAME or any(
            isinstance(f, MaskNik) for f in h.filters)]
        assert len(ours) == 1 and isinstance(ours[0].formatter, MaskedJsonFormatter)
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
        for handler in before:
            if handler.get_name() == HANDLER_NAME:
                handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.setLevel(level)
