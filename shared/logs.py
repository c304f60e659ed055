"""Logging setup: one line per record, and a filter that masks anything shaped like a NIK."""

from __future__ import annotations

import logging
import re

NIK_PATTERN = re.compile(r"(?<!\d)\d{16}(?!\d)")


class MaskNik(logging.Filter):
    """Replaces any 16-digit number in a log record with [NIK] before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            # Masked one by one, so formatters that read the arguments (uvicorn's access log) still can.
            record.args = tuple(NIK_PATTERN.sub("[NIK]", a) if isinstance(a, str) else a for a in record.args)
        message = record.getMessage()
        if NIK_PATTERN.search(message):
            record.msg = NIK_PATTERN.sub("[NIK]", message)
            record.args = None
        return True


def configure_logging(level: str = "INFO") -> None:
    """Root logging to stderr with the NIK mask on every handler."""
    root = logging.getLogger()
    if not any(isinstance(f, MaskNik) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(MaskNik())
        root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("aiokafka", "pymongo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
