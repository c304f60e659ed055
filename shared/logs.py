"""Logging setup: one line per record, and a filter that keeps personal data out of every line.

A NIK-shaped number becomes [NIK] and a calendar date [TANGGAL] in messages, arguments, stack
traces and exception tracebacks. Exceptions that carry the data they failed on (a MongoDB write
error holds the documents, a pydantic ValidationError the input values) are described by their
codes and fields only.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterator
from types import TracebackType

from pydantic import ValidationError
from pymongo.errors import BulkWriteError, OperationFailure

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


def configure_logging(level: str = "INFO") -> None:
    """Root logging to stderr with the personal-data mask on every handler."""
    root = logging.getLogger()
    if not any(isinstance(f, MaskNik) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(MaskNik())
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("aiokafka", "pymongo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
