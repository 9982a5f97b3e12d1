"""Log output: plain text, or one JSON object per line (LOG_FORMAT=json) with the request id."""

import logging
from datetime import UTC, datetime

from flask import g, has_request_context
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(_JsonFormatter):
    """time, level, logger, message, request_id (inside a request), and any `extra` fields.

    Importable by name, so that gunicorn's logconfig_dict can use it too (gunicorn.conf.py).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )

    def formatTime(self, record, datefmt=None) -> str:  # noqa: N802 (logging's name)
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def add_fields(self, log_data, record, message_dict) -> None:
        super().add_fields(log_data, record, message_dict)
        if has_request_context() and "request_id" not in log_data:
            request_id = g.get("request_id")
            if request_id:
                log_data["request_id"] = request_id


def configure_logging(log_format: str) -> None:
    """Send the root logger's records to stderr as text or JSON, unless someone else handles them.

    A root logger that already has handlers (gunicorn's logconfig_dict, pytest) is left alone:
    whoever installed them chose their format.
    """
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if getattr(handler, "from_app", False)]
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.from_app = True
        root.addHandler(handler)
        ours = [handler]
    for handler in ours:
        handler.setFormatter(
            JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
        )
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    # At INFO/DEBUG SQLAlchemy logs bound parameters and rows: emails and password hashes.
    # A DEBUG root logger must not turn that on; SQLALCHEMY_ECHO still can, deliberately.
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
