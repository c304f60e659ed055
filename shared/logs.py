"""Logging setup: one line per record, and a filter that keeps personal data out of every line.

A NIK-shaped number becomes [NIK] and a calendar date [TANGGAL] in messages, arguments, stack
traces and exception tracebacks. Exceptions that carry the data they failed on (a MongoDB write
error holds the documents, a pydantic ValidationError the input values) are described by their
codes and fields only.

Lines are text for people (`time LEVEL logger: message`) or, for Loki and Elasticsearch, one JSON
object per line (`EKTP_LOG_FORMAT=json`, the production default) with time, level, logger, message,
service and any extra fields, every value masked as the message is.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import traceback
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Literal

from pydantic import ValidationError
from pymongo.errors import BulkWriteError, OperationFailure
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

NIK_PATTERN = re.compile(r"(?<!\d)\d{16}(?!\d)")
DATE_PATTERN = re.compile(r"(?<!\d)(?:\d{4}-\d{2}-\d{2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{4})(?![\d])")
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def mask_personal(text: str) -> str:
    """`text` with NIK-shaped numbers and calendar dates (a birth date is one) masked."""
    return DATE_PATTERN.sub("[TANGGAL]", NIK_PATTERN.sub("[NIK]", text))


def describe_without_data(error: BaseException) -> str | None:
    """A description of `error` that leaves out the data it carries, or None when it carries none."""
    if isinstance(error, BulkWriteError):
        write_errors = error.details.get("writeErrors", []) if error.details else []
        codes = sorted({str(e.get("code")) for e in write_errors})
        return f"bulk write failed: {len(write_errors)} write errors, codes {', '.join(codes) or '-'} (documents left out)"
    if isinstance(error, OperationFailure):
        return f"database operation failed: code {error.code} (details left out)"
    if isinstance(error, ValidationError):
        fields = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(value)'}: {e['type']}"
                           for e in error.errors(include_input=False, include_url=False)[:10])
        return f"{error.error_count()} validation errors for {error.title}: {fields} (values left out)"
    return None


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def safe_traceback(exc_info: ExcInfo) -> str:
    """The traceback of `exc_info` as the logging module writes it, without personal data."""
    text = "".join(traceback.format_exception(*exc_info)).rstrip("\n")
    for error in _chain(exc_info[1]):
        described = describe_without_data(error)
        raw = str(error)
        if described is not None and raw:
            text = text.replace(raw, described)
    return mask_personal(text)


class MaskNik(logging.Filter):
    """Masks personal data in a log record (message, arguments, traceback, stack) before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            # Masked one by one, so formatters that read the arguments (uvicorn's access log) still can.
            record.args = tuple(mask_personal(a) if isinstance(a, str) else a for a in record.args)
        message = record.getMessage()
        masked = mask_personal(message)
        if masked != message:
            record.msg = masked
            record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = safe_traceback(record.exc_info)  # type: ignore[arg-type]
        if record.stack_info:
            record.stack_info = mask_personal(record.stack_info)
        return True


LogFormat = Literal["json", "text"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HANDLER_NAME = "ektp-masked"
# uvicorn's coloured copy of each message adds nothing a log store can use.
_LEFT_OUT = frozenset({*RESERVED_ATTRS, "color_message"})


def _masked(value: Any) -> Any:
    """`value` as JSON can hold it, with personal data masked in every string, key and number in it."""
    if isinstance(value, str):
        return mask_personal(value)
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        return value if len(str(abs(value))) < 16 else mask_personal(str(value))
    if isinstance(value, dict):
        return {mask_personal(str(k)): _masked(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_masked(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return mask_personal(value.isoformat())
    return mask_personal(str(value))


class MaskedJsonFormatter(JsonFormatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, service, then any extra
    fields and the traceback, each value masked like the message (an extra field is never filtered by
    MaskNik, which only sees the message, arguments and traceback)."""

    def __init__(self, service: str | None = None) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s", rename_fields={"levelname": "level", "name": "logger"},
            static_fields={"service": service} if service else {}, reserved_attrs=list(_LEFT_OUT),
            timestamp="time", json_ensure_ascii=False,
        )

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return safe_traceback(ei)

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        return mask_personal(stack_info)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        moment = log_data.pop("time", None)
        masked = {key: _masked(value) for key, value in log_data.items()}
        time = moment.isoformat(timespec="milliseconds") if isinstance(moment, dt.datetime) else moment
        return {"time": time, **masked}


def formatter(fmt: LogFormat, *, service: str | None = None) -> logging.Formatter:
    """The formatter of log lines in `fmt`: text for people, JSON for a log store."""
    return MaskedJsonFormatter(service) if fmt == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(level: str = "INFO", *, fmt: LogFormat | None = None, service: str | None = None) -> None:
    """Root logging to stderr with the personal-data mask, as text or JSON lines (`fmt`; None keeps what
    an earlier call chose, text at first). Called again, it changes the one handler it made."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == HANDLER_NAME), None) or next(
        (h for h in root.handlers if any(isinstance(f, MaskNik) for f in h.filters)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler.set_name(HANDLER_NAME)
        handler.addFilter(MaskNik())
        handler.setFormatter(formatter(fmt or "text", service=service))
        root.addHandler(handler)
    elif fmt is not None:
        handler.setFormatter(formatter(fmt, service=service))
    if fmt == "json":
        logging.captureWarnings(True)  # a library's warning is a JSON line too, not bare text on stderr
    root.setLevel(level)
    for noisy in ("aiokafka", "pymongo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
