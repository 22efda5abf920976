"""Logging setup: request ids on every line, and no secrets in logs."""

from __future__ import annotations

import logging
import re
import sys

from nubes.core.context import current_request_id

_SECRET = re.compile(
    r'("?(?:password|secret|token|X-Auth-Token|X-Subject-Token|original_password)"?\s*[:=]\s*)("[^"]*"|\S+)',
    re.IGNORECASE,
)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return _SECRET.sub(r"\1***", super().format(record))


def setup(level: str = "INFO", stream=None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(RedactingFormatter(
        "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiosqlite", "alembic", "uvicorn.access", "aio_pika", "aiormq", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
