"""JSON logs: one object per line, carrying the request id of the request being served."""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Shaped like a Tandem API key or a webhook signing secret (shared/keys, shared/webhooks).
_SECRET = re.compile(r"\b(tdm|whsec)_[A-Za-z0-9+/=_-]{6,}")


def redact(text: str) -> str:
    """`text` with anything shaped like an API key or a webhook secret masked."""
    if "tdm_" not in text and "whsec_" not in text:
        return text
    return _SECRET.sub(r"\1_[redacted]", text)


class RedactSecrets(logging.Filter):
    """The last defence: masks keys and webhook secrets in a record's message, its extra
    fields and its traceback before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS and isinstance(value, str):
                setattr(record, key, redact(value))
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object; extra attributes become fields."""

    def __init__(self, process_name: str) -> None:
        super().__init__()
        self.process_name = process_name

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "process": self.process_name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str, process_name: str) -> None:
    """Send every logger's records to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(process_name))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "arq", "arq.worker", "alembic"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # The worker logs each job once itself (services/worker/main.py), in fields; arq's own
    # lines say the same in prose. Its warnings and errors (failed jobs) still come through.
    logging.getLogger("arq.worker").setLevel(max(root.level, logging.WARNING))
    # Alembic speaks only while it migrates (shared.migrate raises it to INFO then).
    logging.getLogger("alembic").setLevel(max(root.level, logging.WARNING))
    # Requests are logged once, by the API's own middleware, with their request id.
    logging.getLogger("uvicorn.access").disabled = True
